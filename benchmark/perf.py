"""Speed claims measured side by side in one run (``grbench perf``; STYLE.md habit 10).

The command-line wrapper is ``benchmark.commands.perf``; this module holds the measurements and returns their
reports (the dicts ``--json`` writes); the command prints them.

``grbench perf decode``  our batched KV-cache beam search vs ``transformers`` ``generate`` (same model, same
                         prompts, same token rules, B = 128), unconstrained and trie-constrained: speed-up,
                         whether the outputs are identical, queries/s and per-query latency; and our search
                         at fp32 vs bf16 autocast (``benchmark.precision``): speed-up and beam agreement.
``grbench perf train``   (a) packed candidates vs one sequence per candidate, forward + backward, 1 prompt +
                         16 candidates; (b) training throughput (forward + backward + AdamW on packed batches)
                         in tokens/s and achieved FLOP/s as a fraction of a dense matmul peak of the same
                         precision measured in the same process on the same threads; (a) and (b) at fp32 and
                         bf16 side by side, interleaved.
``grbench perf calibrate`` the per-step costs of ``benchmark.costmodel`` (``run_calibration``): seconds per
                         training example of each cost class and per beam-searched query, per model size.

All use a randomly initialised model of the size ladder and a synthetic vocabulary / SID catalog of
realistic shape (speed does not depend on what the weights have learned); the output says so.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from benchmark import threads
from benchmark.decoding import beam_search
from benchmark.errors import ConfigError
from benchmark.model import (
    ModelConfig,
    SidTokenizer,
    build_model,
    candidate_logps,
    count_parameters,
    pack_candidates,
    separate_candidate_logps,
    training_flops,
)
from benchmark.precision import PRECISIONS, autocast
from benchmark.sids.catalog import SidCatalog

DECODE_TARGET = 5.0
PACKING_TARGET = 5.0  # issue #17 (3.0 before); where it is missed, the report says why (``packing_limit``)
MFU_TARGET = 0.40
ROLLOUT_STEP_TARGET = 3.0  # a GRPO step at G = 8 vs a RAD-DPO step, size s (issue #15)


# ---------------------------------------------------------------------------------------------- setup
def synthetic_setup(
    *, size: str, seed: int, words: int, levels: int, codebook: int, catalog_size: int, device: str
) -> tuple[SidTokenizer, Any, SidCatalog, np.random.Generator]:
    """A vocabulary of ``words`` query words + ``levels`` x ``codebook`` code tokens, a catalog of
    ``catalog_size`` distinct random SIDs (one item each), and a randomly initialised model."""
    rng = np.random.default_rng(seed)
    vocabulary = [f"w{i}" for i in range(words)]
    sizes = (codebook,) * levels
    tokenizer = SidTokenizer.build([" ".join(vocabulary)], sizes)
    codes = np.unique(rng.integers(0, codebook, size=(catalog_size * 2, levels)), axis=0)
    codes = codes[rng.permutation(len(codes))[:catalog_size]]
    catalog = SidCatalog(codes, sizes, np.zeros(len(codes)), split_hash="synthetic", name="synthetic")
    model = build_model(ModelConfig(size=size), tokenizer, seed=seed).to(device)
    return tokenizer, model, catalog, rng


def synthetic_prompts(
    tokenizer: SidTokenizer, catalog: SidCatalog, rng: np.random.Generator, n: int, history: int, n_words: int
) -> list[list[int]]:
    """Queries of 1-4 of the ``n_words`` words and ``history`` catalog SIDs (the dataset's default length 10)."""
    sids = catalog.sids()
    prompts = []
    for _ in range(n):
        words = " ".join(f"w{int(i)}" for i in rng.integers(0, n_words, size=rng.integers(1, 5)))
        past = [sids[int(i)] for i in rng.integers(0, len(sids), size=history)]
        prompts.append(tokenizer.encode_prompt(words, past))
    return prompts


def _set_threads(requested: int | str | None) -> int:
    """Threads for the measurement: ``requested`` (an int from ``--threads``) or, by default, this process's
    share of the CPUs re-counted now (processes started together have all registered by the time a
    measurement starts; see ``benchmark.threads``). Both sides of a comparison run on the same count."""
    if isinstance(requested, int):
        torch.set_num_threads(requested)
    else:
        threads.refresh()
    return torch.get_num_threads()


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _timed(fn: Callable[[], Any], device: str) -> tuple[float, Any]:
    _sync(device)
    start = time.perf_counter()
    result = fn()
    _sync(device)
    return time.perf_counter() - start, result


# ---------------------------------------------------------------------------------------------- decode
def hf_beam_search(
    model: Any,
    tokenizer: SidTokenizer,
    prompts: list[list[int]],
    width: int,
    catalog: SidCatalog | None,
    batch_size: int,
) -> list[list[tuple[tuple[int, ...], float]]]:
    """The same search through ``model.generate``: the settings that make it comparable.

    ``length_penalty=0`` (score = summed log-probs), ``suppress_tokens`` = pad/bos/eos/sep (no beam can end
    early, so exactly L tokens are generated), ``prefix_allowed_tokens_fn`` = the same trie. Both apply
    their -inf masks after the log-softmax. Beams ``generate`` pads with (score <= -1e9) are dropped.
    """
    levels = tokenizer.levels
    starts = [tokenizer.level_token_ids(level)[0] for level in range(levels)]
    sizes = tokenizer.codebook_sizes
    results = []
    for first in range(0, len(prompts), batch_size):
        chunk = prompts[first : first + batch_size]
        longest = max(len(p) for p in chunk)
        ids = torch.tensor([[tokenizer.pad_id] * (longest - len(p)) + list(p) for p in chunk])
        mask = torch.tensor([[0] * (longest - len(p)) + [1] * len(p) for p in chunk])

        def allowed(_: int, sequence: torch.Tensor, longest: int = longest) -> list[int]:
            generated = sequence[longest:].tolist()
            prefix = tuple(t - starts[i] for i, t in enumerate(generated))
            if any(not 0 <= c < sizes[i] for i, c in enumerate(prefix)):
                return [tokenizer.pad_id]  # a padding beam of generate (-1e9); pad is suppressed anyway
            return [starts[len(prefix)] + c for c in catalog.allowed_next(prefix)] or [tokenizer.pad_id]

        out = model.generate(
            input_ids=ids.to(model.device),
            attention_mask=mask.to(model.device),
            num_beams=width,
            num_return_sequences=width,
            max_new_tokens=levels,
            do_sample=False,
            length_penalty=0.0,
            early_stopping=False,
            suppress_tokens=[tokenizer.pad_id, tokenizer.bos_id, tokenizer.eos_id, tokenizer.sep_id],
            prefix_allowed_tokens_fn=allowed if catalog is not None else None,
            pad_token_id=tokenizer.pad_id,
            eos_token_id=tokenizer.eos_id,
            bos_token_id=tokenizer.bos_id,
            output_scores=True,
            return_dict_in_generate=True,
        )
        seqs = out.sequences[:, longest:].reshape(len(chunk), width, -1).tolist()
        scores = out.sequences_scores.reshape(len(chunk), width).tolist()
        for q in range(len(chunk)):
            results.append([(tuple(s), float(v)) for s, v in zip(seqs[q], scores[q]) if v > -1e8])
    return results


def compare_beams(ours: list, theirs: list, tol: float = 1e-4) -> dict[str, Any]:
    """Identical = same sequences in the same order with scores within ``tol``, for every query.

    Two implementations can order two beams differently when their scores differ by float rounding only
    (likely with a randomly initialised model, whose next-token distributions are nearly uniform), so we also
    count queries that are identical *up to near-ties*: the same set of sequences, each sequence's score
    within ``tol``, and the score at every rank within ``tol`` (any swap is between beams closer than ``tol``).
    """
    same_order = up_to_ties = 0
    max_diff = 0.0
    for mine, hf in zip(ours, theirs):
        mine_seq = [b.token_ids for b in mine]
        hf_seq = [seq for seq, _ in hf]
        hf_score = dict(hf)
        diffs = [abs(b.score - hf_score[b.token_ids]) for b in mine if b.token_ids in hf_score]
        max_diff = max([max_diff, *diffs])
        scores_close = len(diffs) == len(mine) and all(d <= tol for d in diffs)
        ranks_close = len(mine) == len(hf) and all(abs(b.score - v) <= tol for b, (_, v) in zip(mine, hf))
        same_set = set(mine_seq) == set(hf_seq)
        same_order += mine_seq == hf_seq and scores_close
        up_to_ties += same_set and scores_close and ranks_close
    n = len(ours)
    return {
        "identical": same_order == n,
        "identical_up_to_near_ties": up_to_ties == n,
        "queries_same_order": same_order,
        "queries_same_up_to_near_ties": up_to_ties,
        "queries": n,
        "max_abs_score_diff": max_diff,
        "tolerance": tol,
    }


def run_decode(
    *,
    size: str,
    seed: int,
    words: int,
    levels: int,
    codebook: int,
    catalog_size: int,
    history: int,
    device: str,
    beam_width: int,
    queries: int,
    batch_size: int,
    repeats: int,
    threads: int | str | None = None,
    precisions: Sequence[str] = ("fp32",),
) -> dict[str, Any]:
    """Our beam search vs ``generate`` on a synthetic setup, unconstrained and constrained (both in fp32: the
    reference), and with two or more ``precisions`` our unconstrained search at each of them side by side
    (``decode_precisions``); the report that ``grbench perf decode`` prints (or writes as JSON).
    ``threads``: see ``_set_threads``."""
    precisions = check_precisions(precisions)
    n_threads = _set_threads(threads)
    tokenizer, model, catalog, rng = synthetic_setup(
        size=size, seed=seed, words=words, levels=levels, codebook=codebook, catalog_size=catalog_size,
        device=device,
    )
    prompts = synthetic_prompts(tokenizer, catalog, rng, queries, history, words)
    report: dict[str, Any] = {
        "setup": {
            "model_size": size,
            "parameters": count_parameters(model),
            "weights": f"random init (seed {seed}); speed does not depend on trained weights",
            "vocab_size": tokenizer.vocab_size,
            "codebook_sizes": list(tokenizer.codebook_sizes),
            "catalog_sids": len(catalog),
            "queries": len(prompts),
            "mean_prompt_tokens": float(np.mean([len(p) for p in prompts])),
            "beam_width": beam_width,
            "batch_size": batch_size,
            "repeats": repeats,
            "threads": n_threads,
            "device": device,
        },
        "modes": {},
    }
    # warm-up both paths on one query so one-off allocations are not charged to either side
    beam_search(model, tokenizer, prompts[:1], beam_width, None, batch_size)
    hf_beam_search(model, tokenizer, prompts[:1], beam_width, None, batch_size)
    for mode, cat in (("unconstrained", None), ("constrained", catalog)):
        t_ours, t_hf = float("inf"), float("inf")
        for _ in range(repeats):  # alternated; the fastest run of each side counts
            seconds, ours = _timed(
                lambda cat=cat: beam_search(model, tokenizer, prompts, beam_width, cat, batch_size),
                device,
            )
            t_ours = min(t_ours, seconds)
            seconds, theirs = _timed(
                lambda cat=cat: hf_beam_search(
                    model, tokenizer, prompts, beam_width, cat, batch_size
                ),
                device,
            )
            t_hf = min(t_hf, seconds)
        n = len(prompts)
        report["modes"][mode] = {
            "ours_seconds": t_ours,
            "generate_seconds": t_hf,
            "speedup": t_hf / t_ours,
            "target_speedup": DECODE_TARGET,
            "ours_queries_per_second": n / t_ours,
            "ours_ms_per_query": 1000 * t_ours / n,
            "generate_queries_per_second": n / t_hf,
            "generate_ms_per_query": 1000 * t_hf / n,
            **compare_beams(ours, theirs),
        }
    if len(precisions) > 1:
        report["setup"]["precisions"] = list(precisions)
        report["precision"] = decode_precisions(model, tokenizer, prompts, beam_width=beam_width,
                                                batch_size=batch_size, repeats=repeats, device=device,
                                                precisions=precisions)
    return report


def beam_agreement(base: list, other: list) -> dict[str, Any]:
    """How far two searches' beams agree, per query: the same best beam, the share of ``base``'s beams that
    ``other`` also returns (any rank), and the largest score difference of a sequence both return."""
    top1 = overlap = 0.0
    max_diff = 0.0
    for mine, theirs in zip(base, other, strict=True):
        scores = {b.token_ids: b.score for b in theirs}
        top1 += bool(mine) and bool(theirs) and mine[0].token_ids == theirs[0].token_ids
        shared = [b for b in mine if b.token_ids in scores]
        overlap += len(shared) / max(len(mine), 1)
        max_diff = max([max_diff, *(abs(b.score - scores[b.token_ids]) for b in shared)])
    n = max(len(base), 1)
    return {"top1_agreement": top1 / n, "beam_overlap": overlap / n, "max_abs_score_diff": max_diff}


def decode_precisions(model: Any, tokenizer: SidTokenizer, prompts: list[list[int]], *, beam_width: int,
                      batch_size: int, repeats: int, device: str, precisions: Sequence[str]) -> dict[str, Any]:
    """Our unconstrained beam search (as the evaluation runs it) at each of ``precisions``, interleaved over
    ``repeats`` runs (the fastest of each counts); speed-ups and beam agreement relative to the first."""

    def search(precision: str) -> list:
        with autocast(precision, device):
            return beam_search(model, tokenizer, prompts, beam_width, None, batch_size)

    for p in precisions:  # warm-up: one-off allocations and each precision's kernels
        with autocast(p, device):
            beam_search(model, tokenizer, prompts[:1], beam_width, None, batch_size)
    best = dict.fromkeys(precisions, float("inf"))
    beams: dict[str, list] = {}
    for _ in range(repeats):
        for p in precisions:
            seconds, beams[p] = _timed(lambda p=p: search(p), device)
            best[p] = min(best[p], seconds)
    base, n = precisions[0], len(prompts)
    return {
        "baseline": base,
        "mode": "unconstrained",
        "by_precision": {
            p: {"seconds": best[p], "ms_per_query": 1000 * best[p] / n, "queries_per_second": n / best[p],
                "speedup_vs_baseline": best[base] / best[p], **beam_agreement(beams[base], beams[p])}
            for p in precisions
        },
    }


# ---------------------------------------------------------------------------------------------- train
class MatmulPeak:
    """Best dense ``A @ B`` rate (fp32, or bf16 operands with ``dtype``) over a few square sizes on the current
    threads.

    ``sample()`` is called between the timed training steps, so the peak and the steps are measured under
    the same conditions (on a shared machine, load changes from second to second); the best rate counts.
    """

    def __init__(self, device: str, sizes: Sequence[int] = (512, 1024, 2048),
                 dtype: torch.dtype = torch.float32) -> None:
        self.device = device
        self.operands = [(torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype))
                         for n in sizes]
        self.best, self.best_size = 0.0, 0
        for a, b in self.operands:
            a @ b  # warm-up

    def sample(self) -> None:
        for a, b in self.operands:
            seconds, _ = _timed(lambda a=a, b=b: a @ b, self.device)
            rate = 2.0 * a.shape[0] ** 3 / seconds
            if rate > self.best:
                self.best, self.best_size = rate, a.shape[0]


def check_precisions(precisions: Sequence[str]) -> tuple[str, ...]:
    """``precisions`` as a tuple of distinct names of ``benchmark.precision.PRECISIONS``, the first the
    baseline the others' speed-ups are relative to."""
    chosen = tuple(precisions)
    unknown = [p for p in chosen if p not in PRECISIONS]
    if not chosen or unknown or len(set(chosen)) != len(chosen):
        raise ConfigError(f"The 'precisions' must be distinct names out of {list(PRECISIONS)}, at least one. "
                          f"Got {list(chosen)} instead.")
    return chosen


def run_train(
    *,
    size: str,
    seed: int,
    words: int,
    levels: int,
    codebook: int,
    catalog_size: int,
    history: int,
    device: str,
    candidates: int,
    batch: int,
    batch_candidates: int,
    steps: int,
    reps: int,
    threads: int | str | None = None,
    precisions: Sequence[str] = ("fp32",),
) -> dict[str, Any]:
    """(a) packed vs per-candidate forward+backward and (b) training throughput against a matmul peak of the
    same precision, for each of ``precisions`` side by side (interleaved; the first is the baseline of the
    ``precision`` section's speed-ups); the report that ``grbench perf train`` prints (or writes as JSON).
    ``packing`` and ``throughput`` are the first precision's. ``threads``: see ``_set_threads``."""
    precisions = check_precisions(precisions)
    n_threads = _set_threads(threads)
    tokenizer, model, catalog, rng = synthetic_setup(
        size=size, seed=seed, words=words, levels=levels, codebook=codebook, catalog_size=catalog_size,
        device=device,
    )
    model.train()
    sids = catalog.sids()
    if max(candidates, batch_candidates) > len(sids):
        raise ConfigError(
            f"--candidates/--batch-candidates ({candidates}/{batch_candidates}) cannot exceed the "
            f"{len(sids)} SIDs of the synthetic catalog (--catalog-size)."
        )

    def impression(n_candidates: int) -> tuple[list[int], list[list[int]]]:
        prompt = synthetic_prompts(tokenizer, catalog, rng, 1, history, words)[0]
        picks = rng.choice(len(sids), size=n_candidates, replace=False)
        return prompt, [tokenizer.target_ids(sids[int(i)]) for i in picks]

    # (a) packed vs one sequence per candidate, forward + backward, one impression
    prompt, cands = impression(candidates)

    def packed_step(precision: str, n_cands: int | None = None) -> torch.Tensor:
        # packing is inside the timed step, as building the per-candidate batch is in the baseline
        model.zero_grad(set_to_none=True)
        packed = pack_candidates([prompt], [cands[:n_cands]], tokenizer.pad_id)
        with autocast(precision, device):  # the forward only: backward runs outside autocast, as in the trainer
            logps = candidate_logps(model, packed, with_hidden=True)[0]
        logps.sum().backward()
        return logps.detach()

    def separate_step(precision: str) -> torch.Tensor:
        model.zero_grad(set_to_none=True)
        with autocast(precision, device):
            logps = separate_candidate_logps(model, [prompt], [cands], tokenizer.pad_id)
        logps.sum().backward()
        return logps.detach()

    packed_logps = {p: packed_step(p) for p in precisions}  # also the warm-up of each precision's kernels
    diff = {p: (packed_logps[p] - separate_step(p)).abs().max().item() for p in precisions}
    t_packed: dict[str, list[float]] = {p: [] for p in precisions}
    t_separate: dict[str, list[float]] = {p: [] for p in precisions}
    t_single: dict[str, list[float]] = {p: [] for p in precisions}  # prompt + 1 candidate: the fixed-cost probe
    for _ in range(reps):  # interleaved, so load changes on a shared machine hit every side alike
        for p in precisions:
            t_packed[p].append(_timed(lambda p=p: packed_step(p), device)[0])
            t_separate[p].append(_timed(lambda p=p: separate_step(p), device)[0])
            t_single[p].append(_timed(lambda p=p: packed_step(p, 1), device)[0])

    # (b) training throughput on packed batches: forward + backward + AdamW step
    impressions = [impression(batch_candidates) for _ in range(batch)]
    packed_b = pack_candidates([p for p, _ in impressions], [c for _, c in impressions], tokenizer.pad_id)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def train_step(precision: str) -> None:
        optimizer.zero_grad(set_to_none=True)
        with autocast(precision, device):
            logps, _ = candidate_logps(model, packed_b, with_hidden=False)
        loss = -(logps.sum() / packed_b.token_mask.sum())
        loss.backward()
        optimizer.step()

    for p in precisions:
        train_step(p)  # warm-up (allocates AdamW state, each precision's kernels)
    peaks = {p: MatmulPeak(device, dtype=torch.bfloat16 if p == "bf16" else torch.float32) for p in precisions}
    step_times: dict[str, list[float]] = {p: [] for p in precisions}
    for _ in range(steps):  # interleaved with the peak measurements, the fastest of each counts
        for p in precisions:
            step_times[p].append(_timed(lambda p=p: train_step(p), device)[0])
            peaks[p].sample()
    n_tokens, seq_len = packed_b.n_tokens, packed_b.seq_len
    head_tokens = int(packed_b.token_mask.sum())
    flops = training_flops(model, n_tokens, seq_len, head_tokens=head_tokens)

    def packing(p: str) -> dict[str, Any]:
        packed_s, separate_s = min(t_packed[p]), min(t_separate[p])
        limit = packing_limit(1000 * min(t_single[p]), 1000 * packed_s, 1000 * separate_s,
                              len(prompt) + len(cands[0]), len(prompt) + sum(len(c) for c in cands),
                              sum(len(prompt) + len(c) for c in cands))
        return {
            "prompt_tokens": len(prompt),
            "candidates": len(cands),
            "candidate_tokens": len(cands[0]),
            "packed_tokens": len(prompt) + sum(len(c) for c in cands),
            "separate_tokens": sum(len(prompt) + len(c) for c in cands),
            "packed_ms": 1000 * packed_s,
            "separate_ms": 1000 * separate_s,
            "speedup": separate_s / packed_s,
            "target_speedup": PACKING_TARGET,
            "max_abs_logp_diff": diff[p],
            "baseline": "one batched forward+backward over the C sequences prompt+candidate (standard causal mask)",
            "limit": limit,
        }

    def throughput(p: str) -> dict[str, Any]:
        t_step = min(step_times[p])
        achieved = flops / t_step
        return {
            "impressions_per_batch": batch,
            "candidates_per_impression": batch_candidates,
            "tokens_per_batch": n_tokens,
            "packed_length": seq_len,
            "step_seconds": t_step,
            "tokens_per_second": n_tokens / t_step,
            "impressions_per_second": batch / t_step,
            "flops_per_step": flops,
            "achieved_flops_per_second": achieved,
            "matmul_peak_flops_per_second": peaks[p].best,
            "matmul_peak_size": peaks[p].best_size,
            "matmul_peak_dtype": p,
            "fraction_of_peak": achieved / peaks[p].best,
            "target_fraction": MFU_TARGET,
        }

    base = precisions[0]
    by_precision = {}
    for p in precisions:
        a, b = packing(p), throughput(p)
        by_precision[p] = {
            "packed_ms": a["packed_ms"],
            "separate_ms": a["separate_ms"],
            "packing_speedup": a["speedup"],
            "packing_max_abs_logp_diff": a["max_abs_logp_diff"],
            "step_seconds": b["step_seconds"],
            "tokens_per_second": b["tokens_per_second"],
            "achieved_flops_per_second": b["achieved_flops_per_second"],
            "matmul_peak_flops_per_second": b["matmul_peak_flops_per_second"],
            "matmul_peak_size": b["matmul_peak_size"],
            "fraction_of_peak": b["fraction_of_peak"],
            # relative to the baseline precision: > 1 is faster
            "packed_speedup_vs_baseline": min(t_packed[base]) / min(t_packed[p]),
            "separate_speedup_vs_baseline": min(t_separate[base]) / min(t_separate[p]),
            "step_speedup_vs_baseline": min(step_times[base]) / min(step_times[p]),
            "peak_ratio_vs_baseline": peaks[p].best / peaks[base].best,
            # the same packed forward's candidate log-probs against the baseline precision's
            "max_abs_logp_diff_vs_baseline": (packed_logps[p] - packed_logps[base]).abs().max().item(),
        }
    return {
        "setup": {
            "model_size": size,
            "parameters": count_parameters(model),
            "weights": f"random init (seed {seed}); speed does not depend on trained weights",
            "vocab_size": tokenizer.vocab_size,
            "threads": n_threads,
            "device": device,
            "precisions": list(precisions),
        },
        "packing": packing(base),
        "throughput": throughput(base),
        "precision": {"baseline": base, "by_precision": by_precision},
    }


def packing_limit(single_ms: float, packed_ms: float, separate_ms: float, single_tokens: int, packed_tokens: int,
                  separate_tokens: int) -> dict[str, float]:
    """Why packing's speed-up stops short of the token ratio: a line through the packed step's time at one
    candidate and at all of them, ``t(n) = fixed + per_token * n`` over its n tokens, splits the step into a
    cost paid once per forward+backward whatever its length (dispatch of every op, the mask, autograd) and a
    cost per token. The baseline pays that fixed cost once too (one batched call), so packing removes only
    per-token work: with the fitted line the speed-up would be
    ``(fixed + per_token * separate_tokens) / (fixed + per_token * packed_tokens)``, not the token ratio. The
    rest is the per-token cost itself: the baseline's, ``(separate_ms - fixed) / separate_tokens``, is lower
    (its matrices have separate_tokens rows, the packed step's packed_tokens, and it attends with the model's
    causal path instead of an explicit T x T mask), and exactly
    ``speed-up = (fixed + separate_per_token * separate_tokens) / (fixed + per_token * packed_tokens)``.

    By hand: single 10 ms at 40 tokens, packed 30 ms at 100 tokens -> per_token 20 / 60 = 0.333 ms, fixed
    10 - 13.33 = -3.33 -> clamped to 0 (no fixed cost measurable); single 40 ms at 38 tokens, packed 67 ms at 98
    -> per_token 0.45, fixed 22.9 ms (34% of the packed step), line-model speed-up at 640 tokens
    (22.9 + 288) / 67 = 4.64x against the token ratio 6.53x. A single candidate timed slower than the packed
    step (a busy machine: 50 ms against 30 ms) has no line through it: per_token 0, and the fixed cost is
    capped at the packed step's 30 ms, all of it (a cost paid once cannot exceed a whole step)."""
    per_token = max(0.0, (packed_ms - single_ms) / max(1, packed_tokens - single_tokens))
    fixed = min(max(0.0, single_ms - per_token * single_tokens), packed_ms)
    return {
        "single_candidate_ms": single_ms,
        "fixed_ms": fixed,
        "per_token_ms": per_token,
        "fixed_share_of_packed": fixed / packed_ms if packed_ms > 0 else 0.0,
        "token_ratio": separate_tokens / packed_tokens,
        "line_model_speedup": (fixed + per_token * separate_tokens) / (fixed + per_token * packed_tokens)
        if fixed + per_token * packed_tokens > 0 else 0.0,
        "speedup_without_fixed_cost": (separate_ms - fixed) / (packed_ms - fixed) if packed_ms > fixed else 0.0,
        "separate_per_token_ms": max(0.0, separate_ms - fixed) / max(1, separate_tokens),
        # > 1: a packed token costs more than a token of the baseline
        "per_token_cost_ratio": per_token * max(1, separate_tokens) / max(1e-12, separate_ms - fixed),
    }


def run_rollout_cost(
    *, size: str = "s", seed: int = 0, words: int = 2000, levels: int = 3, codebook: int = 256,
    catalog_size: int = 20_000, history: int = 10, device: str = "cpu", batch: int = 32, candidates: int = 16,
    group_size: int = 8, steps: int = 3, threads: int | str | None = None,
) -> dict[str, Any]:
    """One GRPO step (G rollouts by beam search + scoring + packed forward/backward with the reference + AdamW)
    against one RAD-DPO step (``candidates`` logged candidates), side by side on the same model and prompts:
    the rollout share of the GRPO step and the GRPO / RAD-DPO step-time ratio (issue #15: at most 3x at G = 8,
    size s). The fastest of ``steps`` interleaved repetitions counts."""
    import copy

    from benchmark.config import check_number
    from benchmark.methods import get_method
    from benchmark.training.batching import collate, forward_candidates
    from benchmark.training.examples import Example
    from benchmark.training.rollouts import RolloutConfig, catalog_validity, roll_out

    check_number("run_rollout_cost", "candidates", candidates, low=2, integer=True)
    n_threads = _set_threads(threads)
    tokenizer, model, catalog, rng = synthetic_setup(
        size=size, seed=seed, words=words, levels=levels, codebook=codebook, catalog_size=catalog_size,
        device=device,
    )
    reference = copy.deepcopy(model).eval().requires_grad_(False)
    sids = catalog.sids()
    examples = [
        Example(prompt_ids=tuple(prompt), candidate_ids=tuple(
            tuple(tokenizer.target_ids(sids[int(i)])) for i in rng.choice(len(sids), candidates, replace=False)),
            is_positive=tuple(c < min(3, candidates - 1) for c in range(candidates)))
        for prompt in synthetic_prompts(tokenizer, catalog, rng, batch, history, words)
    ]
    grpo, raddpo = get_method("grpo"), get_method("raddpo")
    grpo_config = grpo.config_cls(rollouts=RolloutConfig(group_size=group_size))
    raddpo_config = raddpo.config_cls()
    raddpo_state = raddpo.make_state(raddpo_config)
    valid = catalog_validity(catalog, tokenizer)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-6)
    rollout_seconds: list[float] = []

    def update(method: Any, config: Any, state: Any, train_batch: Any) -> None:
        optimizer.zero_grad(set_to_none=True)
        cand = forward_candidates(model.train(), train_batch.to(device), needs_reference=method.needs_reference,
                                  needs_hidden=method.needs_hidden, reference_model=reference)
        losses, _ = method.objective(cand, config, state)
        losses.mean().backward()
        optimizer.step()

    def grpo_step() -> None:
        seconds, rolled = _timed(lambda: roll_out(model, tokenizer, examples, grpo_config.rollouts, valid, (seed,)),
                                 device)
        rollout_seconds.append(seconds)
        update(grpo, grpo_config, None, collate(rolled.examples, tokenizer.pad_id).with_rollouts(rolled.rewards))

    def raddpo_step() -> None:
        update(raddpo, raddpo_config, raddpo_state, collate(examples, tokenizer.pad_id))

    grpo_step(), raddpo_step()  # warm-up (AdamW state, caches)
    rollout_seconds.clear()
    t_grpo, t_raddpo = [], []
    for _ in range(steps):  # interleaved, so load changes on a shared machine hit both sides alike
        t_grpo.append(_timed(grpo_step, device)[0])
        t_raddpo.append(_timed(raddpo_step, device)[0])
    best = int(np.argmin(t_grpo))
    return {
        "setup": {"model_size": size, "parameters": count_parameters(model), "threads": n_threads,
                  "device": device, "batch": batch, "raddpo_candidates": candidates, "group_size": group_size},
        "grpo_step_seconds": t_grpo[best],
        "grpo_rollout_seconds": rollout_seconds[best],
        "rollout_share": rollout_seconds[best] / t_grpo[best],
        "raddpo_step_seconds": min(t_raddpo),
        "grpo_over_raddpo": t_grpo[best] / min(t_raddpo),
        "target_ratio": ROLLOUT_STEP_TARGET,
    }


# ---------------------------------------------------------------------------------------------- calibrate
# The representative method of each cost class of ``benchmark.costmodel`` (the classes differ in what a step
# computes: positives only, a reference forward or not, G beam rollouts), timed by ``run_calibration``.
CALIBRATION_METHODS = {"sft": "sft", "plain": "simpo", "reference": "dpo", "rollout": "grpo"}


def _synthetic_examples(tokenizer: SidTokenizer, catalog: SidCatalog, rng: np.random.Generator, *, n: int,
                        candidates: int, positives: int, history: int, words: int) -> list:
    """``n`` impressions of ``candidates`` distinct catalog SIDs, the first ``positives`` of them clicked."""
    from benchmark.training.examples import Example

    sids = catalog.sids()
    return [
        Example(prompt_ids=tuple(prompt), candidate_ids=tuple(
            tuple(tokenizer.target_ids(sids[int(i)])) for i in rng.choice(len(sids), candidates, replace=False)),
            is_positive=tuple(c < positives for c in range(candidates)))
        for prompt in synthetic_prompts(tokenizer, catalog, rng, n, history, words)
    ]


def method_step(*, method_name: str, model: Any, reference: Any, tokenizer: SidTokenizer, catalog: SidCatalog,
                examples: list, seed: int, device: str) -> Callable[[], None]:
    """One optimizer step of ``method_name`` with its default config on ``examples`` (one batch): forward
    (+ reference forward) + objective + backward + AdamW, and for a rollout method the G rollouts before it:
    the work of one step of ``benchmark.training.trainer``."""
    from benchmark.methods import get_method
    from benchmark.training.batching import collate, forward_candidates
    from benchmark.training.rollouts import catalog_validity, roll_out

    method = get_method(method_name)
    config = method.config_cls()
    state = method.make_state(config) if method.make_state is not None else None
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-6)
    valid = catalog_validity(catalog, tokenizer) if method.needs_rollouts else None

    def step() -> None:
        if method.needs_rollouts:
            rolled = roll_out(model, tokenizer, examples, config.rollouts, valid, (seed,))
            batch = collate(rolled.examples, tokenizer.pad_id).with_rollouts(rolled.rewards)
        else:
            batch = collate(examples, tokenizer.pad_id)
        optimizer.zero_grad(set_to_none=True)
        cand = forward_candidates(model.train(), batch.to(device), needs_reference=method.needs_reference,
                                  needs_hidden=method.needs_hidden, reference_model=reference)
        losses, _ = method.objective(cand, config, state)
        losses.mean().backward()
        optimizer.step()

    return step


def _wall_and_cpu(fn: Callable[[], Any], device: str) -> tuple[float, float]:
    """Wall seconds of ``fn`` and the CPU seconds this process used meanwhile (all its threads)."""
    cpu = time.process_time()
    wall, _ = _timed(fn, device)
    return wall, time.process_time() - cpu


def _idle_seconds(wall: float, cpu: float, device: str) -> float:
    """The time a CPU step would take on an idle machine, bounded by what was measured: a compute-bound step
    whose wall time exceeds the CPU time it used waited for cores other processes held (a shared machine), and
    alone it would have kept at least one core busy, so it takes at most its CPU time. On a GPU: the wall."""
    return wall if device.startswith("cuda") else min(wall, cpu)


def time_decode(*, model: Any, tokenizer: SidTokenizer, prompts: list[list[int]], beam_width: int,
                batch_size: int, device: str) -> tuple[float, float]:
    """Wall and CPU seconds per query of our beam search (unconstrained, as the evaluation runs it by default)
    at ``beam_width``, ``batch_size`` queries decoded together, after a one-batch warm-up."""
    beam_search(model, tokenizer, prompts[:batch_size], beam_width, None, batch_size)
    wall, cpu = _wall_and_cpu(lambda: beam_search(model, tokenizer, prompts, beam_width, None, batch_size), device)
    return wall / len(prompts), cpu / len(prompts)


def run_calibration(
    *, sizes: Sequence[str], seed: int = 0, words: int = 800, levels: int = 3, codebook: int = 142,
    catalog_size: int = 4000, history: int = 10, device: str = "cpu", batch: int = 8, candidates: int = 10,
    sft_candidates: int = 3, steps: int = 2, beam_widths: Sequence[int] = (128,), decode_queries: int = 16,
    decode_batch_size: int = 8, threads: int | str | None = None, progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The per-step costs ``benchmark.costmodel`` needs, measured on this machine: for each model size, the
    seconds per training example of one optimizer step of each cost class (``CALIBRATION_METHODS``, on
    ``batch`` synthetic impressions of ``candidates`` candidates; SFT on ``sft_candidates`` positives; the
    fastest of ``steps`` interleaved repetitions after a warm-up), and
    the seconds per query of beam search at each of ``beam_widths``. Costs are per example and per query: the
    model scales them linearly to a profile's batch size and query count. Each cost is the smaller of the wall
    and the CPU time measured (``_idle_seconds``), so that a calibration on a busy machine is not inflated by
    the time spent waiting for cores; both are in the report's ``measured``."""
    import copy

    from benchmark.methods import get_method

    n_threads = _set_threads(threads)
    load_before = os.getloadavg()[0]  # other work on the machine slows the steps: recorded, and warned about
    train: dict[str, dict[str, float]] = {}
    decode: dict[str, dict[str, float]] = {}
    measured: dict[str, dict[str, Any]] = {}  # the wall and CPU times the costs were taken from
    rollout_group = get_method(CALIBRATION_METHODS["rollout"]).config_cls().rollouts.group_size
    for size in sizes:
        tokenizer, model, catalog, rng = synthetic_setup(
            size=size, seed=seed, words=words, levels=levels, codebook=codebook, catalog_size=catalog_size,
            device=device,
        )
        reference = copy.deepcopy(model).eval().requires_grad_(False)
        common = {"history": history, "words": words, "n": batch}
        pref = _synthetic_examples(tokenizer, catalog, rng, candidates=candidates, positives=2, **common)
        sft = _synthetic_examples(tokenizer, catalog, rng, candidates=sft_candidates, positives=sft_candidates,
                                  **common)
        step_of = {
            cost_class: method_step(method_name=name, model=model, reference=reference, tokenizer=tokenizer,
                                    catalog=catalog, examples=sft if cost_class == "sft" else pref, seed=seed,
                                    device=device)
            for cost_class, name in CALIBRATION_METHODS.items()
        }
        for step in step_of.values():
            step()  # warm-up (AdamW state, caches)
        best_wall = dict.fromkeys(step_of, float("inf"))
        best_cpu = dict.fromkeys(step_of, float("inf"))
        for repetition in range(steps):  # interleaved, so load changes on a shared machine hit every class alike
            if progress is not None:
                progress(f"size {size}: training steps {', '.join(step_of)} ({repetition + 1}/{steps})")
            for cost_class, step in step_of.items():
                wall, cpu = _wall_and_cpu(step, device)
                best_wall[cost_class] = min(best_wall[cost_class], wall)
                best_cpu[cost_class] = min(best_cpu[cost_class], cpu)
        measured[size] = {"wall": {c: v / batch for c, v in best_wall.items()},
                          "cpu": {c: v / batch for c, v in best_cpu.items()}, "decode_wall": {}, "decode_cpu": {}}
        train[size] = {c: _idle_seconds(best_wall[c], best_cpu[c], device) / batch for c in step_of}
        model.eval()
        prompts = synthetic_prompts(tokenizer, catalog, rng, decode_queries, history, words)
        decode[size] = {}
        for width in beam_widths:
            if progress is not None:
                progress(f"size {size}: beam search B={width}")
            with torch.no_grad():
                wall, cpu = time_decode(model=model, tokenizer=tokenizer, prompts=prompts, beam_width=width,
                                        batch_size=decode_batch_size, device=device)
            measured[size]["decode_wall"][str(width)] = wall
            measured[size]["decode_cpu"][str(width)] = cpu
            decode[size][str(width)] = _idle_seconds(wall, cpu, device)
    return {
        "train_seconds_per_example": train,
        "decode_seconds_per_query": decode,
        "measured": measured,
        "setup": {
            "device": device, "threads": n_threads, "batch": batch, "candidates": candidates,
            "sft_candidates": sft_candidates, "steps": steps, "methods": dict(CALIBRATION_METHODS),
            "rollout_group_size": rollout_group, "decode_queries": decode_queries,
            "decode_batch_size": decode_batch_size, "words": words, "codebook": codebook, "levels": levels,
            "catalog_size": catalog_size, "history": history, "seed": seed,
            "weights": f"random init (seed {seed}); speed does not depend on trained weights",
            "load_average_before": load_before, "cpus": os.cpu_count() or 1,
        },
    }

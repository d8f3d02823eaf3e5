"""The one trainer. Nothing in it is specific to a method: it reads only a ``Method``'s flags.

Every method compared gets this loop, unchanged: the same data order (a function of the seed and the examples),
the same optimizer (AdamW), schedule, gradient clipping and budget in optimizer steps. Per step:

    global batch (B examples) -> this rank's shard -> grad_accum micro-batches
      -> (if needs_rollouts: G rollouts per prompt from the current policy, scored: training.rollouts)
      -> packed forward (+ frozen reference log-probs if needs_reference, EOS hidden states if needs_hidden)
      -> method.objective(batch, config, state) -> (b,) losses
      -> backward of sum(losses) / B          (the gradient of the global-batch mean)
    all-reduce gradients over ranks -> clip -> AdamW step -> schedule step

The loss of a step is the mean of the objective's per-example losses over the global batch, so a step's
result does not depend on how the batch is split over ranks or micro-batches (tested: 2 processes == 1).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
import math
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from benchmark import faults, precision
from benchmark.artifacts import atomic_write_json, atomic_write_text, hash_json
from benchmark.config import to_dict
from benchmark.errors import ArtifactMismatchError, BenchmarkError, ConfigError
from benchmark.model.flops import forward_flops, training_flops
from benchmark.training import checkpoint as ckpt
from benchmark.training import distributed, rollouts
from benchmark.training.batching import batch_indices, collate, forward_candidates
from benchmark.training.config import TrainConfig
from benchmark.training.examples import Example, examples_fingerprint
from benchmark.training.schedule import build_scheduler

log = logging.getLogger(__name__)

BASE_COLUMNS = ("step", "loss", "lr", "grad_norm", "examples", "tokens")


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """What a finished run produced and what it cost."""

    checkpoint_dir: Path  # the final save_pretrained directory (model + tokenizer + grbench.json)
    loss_curve: Path  # loss_curve.csv
    summary: Path  # train_summary.json
    steps: int
    examples_seen: int
    tokens: int  # tokens through the policy model (prompts + all candidates)
    flops: float  # policy forward + backward, plus the reference forward when the method has one
    wall_seconds: float  # summed over resumed sessions
    final_loss: float
    resumed_from: int  # the step this session started from (0: fresh)
    # step -> model directory: the kept snapshots (``snapshot_steps``) and the final model at the last step
    snapshots: dict[int, Path] = dataclasses.field(default_factory=dict)
    rollout_tokens: int = 0  # SID tokens generated for rollouts (needs_rollouts methods; 0 otherwise)
    rollout_seconds: float = 0.0  # wall time of rollout decoding, included in wall_seconds


@dataclasses.dataclass
class _Progress:
    """Counters a checkpoint carries so a resumed run reports the totals of the whole run."""

    step: int = 0
    examples_seen: int = 0
    tokens: int = 0
    flops: float = 0.0
    wall_seconds: float = 0.0
    rollout_tokens: int = 0  # SID tokens generated for rollouts (needs_rollouts methods only)
    rollout_seconds: float = 0.0
    rows: list[dict[str, float]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class _Run:
    """What every helper of one ``train`` call shares: the method and its settings, the run's identity (hashed
    into ``key``: a checkpoint of another run is never resumed), where it writes and which rank this is."""

    method: Any  # benchmark.methods.Method
    method_config: Any
    config: TrainConfig
    identity: dict[str, Any]  # method, method config, train config, examples fingerprint
    key: str  # hash_json(identity)
    out_dir: Path
    metadata: dict[str, Any]  # provenance for every checkpoint's grbench.json
    ctx: distributed.DistContext
    valid_sid: Any = None  # target ids -> bool, for methods with rollouts (training.rollouts)
    variable_sids: bool = False  # rollouts may end a SID before level L (rollouts.variable_length)
    tokenizer: Any = None


def train(
    method: Any,
    method_config: Any,
    model: torch.nn.Module,
    tokenizer: Any,
    examples: Sequence[Example],
    config: TrainConfig,
    out_dir: Path | str,
    reference_model: torch.nn.Module | None = None,
    resume: bool = True,
    metadata: dict[str, Any] | None = None,
    catalog: Any = None,
    snapshot_steps: Sequence[int] = (),
) -> TrainResult:
    """Train ``model`` with ``method`` on ``examples`` for ``config.steps`` optimizer steps.

    method: a ``benchmark.methods.Method``; method_config: an instance of ``method.config_cls``.
    model: a transformers causal LM (trained in place, moved to this rank's device).
    tokenizer: saved beside every checkpoint (``save_pretrained``); its ``pad_id`` pads packed batches.
    reference_model: the frozen SFT checkpoint, required when ``method.needs_reference``.
    resume: continue from the last checkpoint in ``out_dir`` (a finished run is returned as is);
        False discards what ``out_dir`` holds and starts again.
    metadata: provenance stored in every checkpoint's ``grbench.json`` (e.g. split_hash, catalog_hash).
    catalog: the SidCatalog whose SIDs count as valid rollouts (``needs_rollouts`` methods; default: the SIDs
        of the examples' candidates).
    snapshot_steps: optimizer steps after which the model is also saved under ``out_dir/snapshots/`` and kept
        (a validation curve evaluates them). Saving changes nothing in training, so they are not part of the
        run's identity; the last step's snapshot is the final model.

    Raises BenchmarkError when the loss or gradient norm becomes NaN/inf (naming the method and step; the
    last good checkpoint is kept), ConfigError for examples/flags that do not fit the method,
    ArtifactMismatchError when ``out_dir`` holds another run.
    """
    out_dir = Path(out_dir)
    ctx = distributed.context()
    examples = [ex.capped(config.max_candidates) for ex in examples]
    _validate(method, examples, reference_model=reference_model, config=config, ctx=ctx)
    snapshot_steps = _check_snapshot_steps(snapshot_steps, config)
    identity = {
        "method": method.name,
        "method_config": to_dict(method_config),
        "train_config": to_dict(config),
        "examples": examples_fingerprint(examples),
        "n_examples": len(examples),
    }
    valid_sid, variable_sids = None, False
    if method.needs_rollouts:
        rollouts.rollout_config(method, method_config)  # a config without rollout settings fails before training
        valid_sid = (rollouts.catalog_validity(catalog, tokenizer) if catalog is not None
                     else rollouts.example_validity(examples))
        variable_sids = rollouts.variable_length(catalog, tokenizer, examples)
    run = _Run(method=method, method_config=method_config, config=config, identity=identity,
               key=hash_json(identity), out_dir=out_dir, metadata=dict(metadata or {}), ctx=ctx,
               valid_sid=valid_sid, variable_sids=variable_sids, tokenizer=tokenizer)

    finished = _finished_result(out_dir, run.key) if resume else None
    if finished is not None:
        missing = sorted(set(snapshot_steps) - set(finished.snapshots))
        if missing:
            raise ArtifactMismatchError(
                f"{out_dir} holds a finished run without the snapshots at steps {missing} that were asked for. "
                f"Train into a fresh output directory, or pass resume=False to train it again.")
        log.info("%s: already trained (%s), nothing to do", out_dir, finished.checkpoint_dir)
        return finished
    if not resume and ctx.is_main:
        ckpt.remove_checkpoints(out_dir)
        ckpt.remove_snapshots(out_dir)
        (out_dir / ckpt.SUMMARY_FILE).unlink(missing_ok=True)
    distributed.barrier()

    device = ctx.device()
    model.to(device)
    model.train()
    if reference_model is not None and method.needs_reference:
        reference_model.to(device)
        reference_model.eval()
        reference_model.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = _build_optimizer(model, config)
    scheduler = build_scheduler(optimizer, config)
    state = method.make_state(method_config) if method.make_state is not None else None
    progress = _Progress()
    torch.manual_seed(config.seed)  # dropout, if a backbone has any; restored from the checkpoint on resume

    latest = ckpt.latest_checkpoint(out_dir) if resume else None
    if latest is not None:
        state = _restore(run, latest, model=model, optimizer=optimizer, scheduler=scheduler, state=state,
                         progress=progress)
        log.info("resuming %s from %s (step %d)", method.name, latest, progress.step)
    else:
        distributed.broadcast_parameters([p for p in model.parameters()])
    resumed_from = progress.step

    autocast = _autocast(config, device)
    session_start = time.perf_counter()
    wall_before = progress.wall_seconds
    bar = tqdm(total=config.steps, initial=progress.step, desc=f"train {method.name}", disable=not ctx.is_main,
               dynamic_ncols=True)
    try:
        while progress.step < config.steps:
            step = progress.step + 1  # 1-based number of the update being computed
            lr = optimizer.param_groups[0]["lr"]
            loss, tokens, flops, diagnostics = _accumulate(
                run, state=state, model=model, reference_model=reference_model, examples=examples,
                device=device, autocast=autocast, step_index=progress.step, pad_id=tokenizer.pad_id,
            )
            distributed.all_reduce_gradients(params)
            max_norm = config.max_grad_norm if config.max_grad_norm > 0 else math.inf
            grad_norm = float(torch.nn.utils.clip_grad_norm_(params, max_norm))
            if not (math.isfinite(loss) and math.isfinite(grad_norm)):
                if ctx.is_main:  # the curve up to the failure, for the post-mortem
                    _write_curve(out_dir, progress.rows)
                what = f"loss {loss}" if not math.isfinite(loss) else f"gradient norm {grad_norm} (loss {loss})"
                last = ckpt.latest_checkpoint(out_dir)
                raise BenchmarkError(
                    f"Method {method.name!r} produced a non-finite {what} at step {step} of {config.steps}; "
                    f"training stopped before the update. Last good checkpoint: "
                    f"{last if last is not None else 'none (no checkpoint was written yet)'}. "
                    f"Lower the learning rate or check the method's configuration."
                )
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)

            progress.step = step
            progress.examples_seen += config.batch_size
            progress.tokens += tokens
            progress.flops += flops
            progress.rollout_tokens += int(diagnostics.get("rollout_tokens", 0))
            progress.rollout_seconds += float(diagnostics.get("rollout_seconds", 0.0))
            row = {"step": step, "loss": loss, "lr": lr, "grad_norm": grad_norm,
                   "examples": progress.examples_seen, "tokens": progress.tokens}
            row.update({(k if k not in BASE_COLUMNS else f"method_{k}"): v for k, v in diagnostics.items()})
            progress.rows.append(row)
            bar.update(1)
            faults.reached("train_step")
            if step % config.log_every == 0 or step == config.steps:
                elapsed = time.perf_counter() - session_start
                rate = (progress.tokens - _tokens_at(progress.rows, resumed_from)) / max(elapsed, 1e-9)
                bar.set_postfix(loss=f"{loss:.4f}", lr=f"{lr:.2e}", tok_s=f"{rate:,.0f}")
                log.info("%s step %d/%d loss %.5f lr %.3e grad_norm %.3f tokens/s %.0f %s",
                         method.name, step, config.steps, loss, lr, grad_norm, rate,
                         " ".join(f"{k}={v:.4g}" for k, v in diagnostics.items()))
            if step in snapshot_steps and step < config.steps and ctx.is_main:
                ckpt.save_model_dir(ckpt.snapshot_path(out_dir, step), model, tokenizer, _meta(run, progress))
            if config.checkpoint_every and step % config.checkpoint_every == 0 and step < config.steps:
                progress.wall_seconds = wall_before + time.perf_counter() - session_start
                _save(run, model=model, tokenizer=tokenizer, optimizer=optimizer, scheduler=scheduler, state=state,
                      progress=progress)
                faults.reached("checkpoint")
    finally:
        bar.close()

    progress.wall_seconds = wall_before + time.perf_counter() - session_start
    return _finish(run, model=model, tokenizer=tokenizer, progress=progress, resumed_from=resumed_from)


# ------------------------------------------------------------------------------------------------ one step
def _accumulate(
    run: _Run, *, state: Any, model: torch.nn.Module, reference_model: torch.nn.Module | None,
    examples: Sequence[Example], device: torch.device, autocast: Any, step_index: int, pad_id: int,
) -> tuple[float, int, float, dict[str, float]]:
    """Forward + backward of this rank's share of step ``step_index`` (0-based); gradients accumulate.

    Returns the global-batch mean loss, token count, FLOPs and example-weighted mean diagnostics.
    """
    method, method_config, config, ctx = run.method, run.method_config, run.config, run.ctx
    indices = batch_indices(step_index, config.batch_size, len(examples), config.seed)
    mine = distributed.shard(indices, ctx.rank, ctx.world_size)
    loss_sum = torch.zeros((), dtype=torch.float64)
    tokens = 0
    flops = 0.0
    diag_sums: dict[str, float] = {}
    step_sums: dict[str, float] = {}  # rollout cost: step totals, not per-example means
    for part in distributed.split_micro_batches(mine, config.grad_accum):
        chosen = [examples[i] for i in part]
        rollout_rewards = None
        if method.needs_rollouts:
            with autocast:  # the rollouts' beam search decodes at the run's precision too
                rolled = rollouts.roll_out(model, run.tokenizer, chosen, rollouts.rollout_config(method, method_config),
                                           run.valid_sid, seed=(config.seed, step_index), keys=part,
                                           variable=run.variable_sids)
            chosen, rollout_rewards = rolled.examples, rolled.rewards
            _add_rollout_stats(rolled.stats, diag_sums, step_sums, len(part))
        batch = collate(chosen, pad_id)
        if rollout_rewards is not None:
            batch = batch.with_rollouts(rollout_rewards)
        batch = batch.to(device)
        with autocast:
            cand = forward_candidates(model, batch, needs_reference=method.needs_reference,
                                      needs_hidden=method.needs_hidden, reference_model=reference_model)
            losses, diagnostics = method.objective(cand, method_config, state)
        if losses.dim() != 1 or losses.shape[0] != len(part):
            raise ValueError(f"Method {method.name!r}: objective must return per-example losses of shape "
                             f"({len(part)},); got {tuple(losses.shape)}")
        # sum / B (global), not a per-micro-batch mean: micro-batches and ranks may differ in size.
        (losses.float().sum() / config.batch_size).backward()
        loss_sum += losses.detach().double().sum().cpu()
        tokens += batch.n_tokens
        flops += _batch_flops(model, reference_model if method.needs_reference else None, batch)
        for key, value in diagnostics.items():
            diag_sums[key] = diag_sums.get(key, 0.0) + float(value) * len(part)
    totals = torch.tensor([float(loss_sum), float(tokens), flops], dtype=torch.float64)
    if ctx.enabled:
        totals = distributed.all_reduce_sum(totals.to(device)).cpu()
        merged: dict[str, float] = {}
        merged_steps: dict[str, float] = {}
        for sums, steps in distributed.all_gather_objects((diag_sums, step_sums)):
            for key, value in sums.items():
                merged[key] = merged.get(key, 0.0) + value
            for key, value in steps.items():
                merged_steps[key] = merged_steps.get(key, 0.0) + value
        diag_sums, step_sums = merged, merged_steps
    diagnostics = {k: v / config.batch_size for k, v in sorted(diag_sums.items())}
    diagnostics.update(step_sums)
    if step_sums.get("reward_pairs"):  # the reward model's pairwise accuracy against the clean truth
        diagnostics["reward_accuracy"] = step_sums["reward_pairs_agreeing"] / step_sums["reward_pairs"]
    return float(totals[0]) / config.batch_size, int(totals[1]), float(totals[2]), diagnostics


def _add_rollout_stats(stats: rollouts.RolloutStats, diag_sums: dict[str, float], step_sums: dict[str, float],
                      n: int) -> None:
    """Rollout cost and reward-pair counts as step totals (tokens, seconds, pairs); the invalid share as an
    example-weighted mean."""
    totals = {"rollout_tokens": stats.tokens, "rollout_seconds": stats.seconds,
              "reward_pairs_agreeing": stats.agreeing_pairs, "reward_pairs": stats.ordered_pairs}
    for key, value in totals.items():
        step_sums[key] = step_sums.get(key, 0.0) + value
    diag_sums["rollout_invalid_share"] = diag_sums.get("rollout_invalid_share", 0.0) + stats.invalid / max(
        stats.rollouts, 1) * n


def _batch_flops(model: torch.nn.Module, reference_model: torch.nn.Module | None, batch: Any) -> float:
    """Policy forward + backward, plus the reference forward, over the micro-batch's real tokens
    (``benchmark.model.flops``: attention over the padded packed length, the LM head only where a
    candidate token is predicted)."""
    packed = batch.packed
    head = int(packed.token_mask.sum())
    total = training_flops(model, batch.n_tokens, packed.seq_len, head_tokens=head)
    if reference_model is not None:
        total += forward_flops(reference_model, batch.n_tokens, packed.seq_len, head_tokens=head)
    return total


# ------------------------------------------------------------------------------------------------ helpers
def _validate(method: Any, examples: Sequence[Example], *, reference_model: Any, config: TrainConfig,
              ctx: distributed.DistContext) -> None:
    if not examples:
        raise ConfigError(f"Method {method.name!r}: there are no training examples.")
    if method.needs_reference and reference_model is None:
        raise ConfigError(
            f"Method {method.name!r} needs a frozen reference model (the SFT checkpoint); pass reference_model "
            f"(grbench train --init CHECKPOINT)."
        )
    if method.needs_negatives:
        missing = sum(1 for ex in examples if ex.n_negatives == 0)
        if missing:
            raise ConfigError(
                f"Method {method.name!r} needs negatives, but {missing} of {len(examples)} examples have none; "
                f"build them with build_examples(..., stage='preference')."
            )
    if config.batch_size < ctx.world_size * config.grad_accum:
        raise ConfigError(
            f"The 'batch_size' parameter of TrainConfig must be an int in the range [world_size * grad_accum = "
            f"{ctx.world_size * config.grad_accum}, inf) so that every rank's micro-batches are non-empty. "
            f"Got {config.batch_size} instead."
        )


def _check_snapshot_steps(steps: Sequence[int], config: TrainConfig) -> frozenset[int]:
    for step in steps:
        if isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= config.steps:
            raise ConfigError(f"snapshot_steps must hold optimizer steps in [1, steps={config.steps}]. "
                              f"Got {step!r} in {list(steps)!r} instead.")
    return frozenset(steps)


def _build_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    # Weight decay on matrices (embeddings included) only, not on norms/biases (nanoGPT's grouping).
    seen: set[int] = set()
    decay, no_decay = [], []
    for param in model.parameters():
        if not param.requires_grad or id(param) in seen:
            continue
        seen.add(id(param))
        (decay if param.dim() >= 2 else no_decay).append(param)
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.lr, betas=(config.adam_beta1, config.adam_beta2),
                             eps=config.adam_eps)


def _autocast(config: TrainConfig, device: torch.device) -> Any:
    # bf16 autocast on the CPU and on CUDA (benchmark.precision): the forwards (policy, reference, rollouts'
    # beam search) and the objective run under it; backward, clipping and AdamW act on fp32 parameters.
    return precision.autocast(config.precision, device)


def _tokens_at(rows: list[dict[str, float]], step: int) -> int:
    return int(rows[step - 1]["tokens"]) if step > 0 and len(rows) >= step else 0


def _rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _method_state_dict(state: Any) -> Any:
    return state.state_dict() if hasattr(state, "state_dict") else state


def _save(run: _Run, *, model: torch.nn.Module, tokenizer: Any, optimizer: torch.optim.Optimizer,
          scheduler: Any, state: Any, progress: _Progress) -> None:
    """Write an intermediate checkpoint (rank 0), keep the newest ``keep_checkpoints``, sync ranks."""
    rng = distributed.all_gather_objects(_rng_state())  # every rank's, so dropout resumes per rank
    if run.ctx.is_main:
        trainer_state = {
            "run_key": run.key,
            "progress": dataclasses.asdict(progress),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": rng,
            "method_state": _method_state_dict(state),
        }
        path = ckpt.checkpoint_path(run.out_dir, progress.step)
        ckpt.save_model_dir(path, model, tokenizer, _meta(run, progress), trainer_state)
        ckpt.prune_checkpoints(run.out_dir, run.config.keep_checkpoints)
        _write_curve(run.out_dir, progress.rows)
        log.info("checkpoint %s", path)
    distributed.barrier()


def _restore(run: _Run, path: Path, *, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any,
             state: Any, progress: _Progress) -> Any:
    saved = ckpt.load_trainer_state(path)
    if saved.get("run_key") != run.key:
        raise ArtifactMismatchError(
            f"{path} belongs to another run (method, method config, train config or examples differ). "
            f"Train into a fresh output directory, or pass resume=False (grbench train --no-resume) to discard it."
        )
    loaded = ckpt.load_checkpoint(path)
    device = next(model.parameters()).device
    model.load_state_dict({k: v.to(device) for k, v in loaded.state_dict().items()})
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    rng = saved["rng"]
    _set_rng_state(rng[run.ctx.rank] if run.ctx.rank < len(rng) else rng[0])
    for key, value in saved["progress"].items():
        setattr(progress, key, value)
    method_state = saved["method_state"]
    if state is not None and hasattr(state, "load_state_dict"):
        state.load_state_dict(method_state)
        return state
    return method_state


def _meta(run: _Run, progress: _Progress) -> dict[str, Any]:
    return {
        **run.metadata,
        "training": {**run.identity, "run_key": run.key, "step": progress.step, "method": run.method.name,
                     "examples_seen": progress.examples_seen, "tokens": progress.tokens},
    }


def _write_curve(out_dir: Path, rows: list[dict[str, float]]) -> Path:
    columns = list(BASE_COLUMNS) + sorted({k for row in rows for k in row} - set(BASE_COLUMNS))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in row.items()})
    return atomic_write_text(out_dir / ckpt.CURVE_FILE, buffer.getvalue())


def _finish(run: _Run, *, model: torch.nn.Module, tokenizer: Any, progress: _Progress,
            resumed_from: int) -> TrainResult:
    """Final model, loss curve, then the summary (its presence marks the run finished); drop intermediates."""
    out_dir, ctx = run.out_dir, run.ctx
    final_loss = float(progress.rows[-1]["loss"]) if progress.rows else float("nan")
    result = TrainResult(
        checkpoint_dir=out_dir / ckpt.FINAL_DIR,
        loss_curve=out_dir / ckpt.CURVE_FILE,
        summary=out_dir / ckpt.SUMMARY_FILE,
        steps=progress.step,
        examples_seen=progress.examples_seen,
        tokens=progress.tokens,
        flops=progress.flops,
        wall_seconds=progress.wall_seconds,
        final_loss=final_loss,
        resumed_from=resumed_from,
        snapshots={**ckpt.list_snapshots(out_dir), progress.step: out_dir / ckpt.FINAL_DIR},
        rollout_tokens=progress.rollout_tokens,
        rollout_seconds=progress.rollout_seconds,
    )
    if ctx.is_main:
        ckpt.save_model_dir(result.checkpoint_dir, model, tokenizer, _meta(run, progress))
        _write_curve(out_dir, progress.rows)
        summary = {
            "run_key": run.key,
            **run.identity,
            "metadata": run.metadata,
            "steps": result.steps,
            "examples_seen": result.examples_seen,
            "tokens": result.tokens,
            "flops": result.flops,
            "wall_seconds": result.wall_seconds,
            "tokens_per_second": result.tokens / max(result.wall_seconds, 1e-9),
            "final_loss": final_loss,
            "resumed_from": resumed_from,
            **({"rollout_tokens": progress.rollout_tokens, "rollout_seconds": progress.rollout_seconds}
               if run.method.needs_rollouts else {}),
            "world_size": ctx.world_size,
            "device": str(ctx.device()),
            "checkpoint_dir": ckpt.FINAL_DIR,
            "loss_curve": ckpt.CURVE_FILE,
            "versions": _versions(),
            # the CPU dispatch level (and thread count) moves the floats of a run: two builds of one key can differ
            "environment": _environment(),
        }
        atomic_write_json(result.summary, summary)
        ckpt.remove_checkpoints(out_dir)
        faults.reached("train_done")
    distributed.barrier()
    return result


def _finished_result(out_dir: Path, run_key: str) -> TrainResult | None:
    """The stored result of a finished run with the same key; a different finished run is an error."""
    path = out_dir / ckpt.SUMMARY_FILE
    if not path.is_file():
        return None
    summary = json.loads(path.read_text(encoding="utf-8"))
    if summary.get("run_key") != run_key:
        raise ArtifactMismatchError(
            f"{out_dir} holds a finished run of {summary.get('method')!r} with other settings or examples. "
            f"Train into a fresh output directory, or pass resume=False (grbench train --no-resume) to replace it."
        )
    if not (out_dir / ckpt.FINAL_DIR / "config.json").is_file():
        return None
    return TrainResult(
        checkpoint_dir=out_dir / ckpt.FINAL_DIR,
        loss_curve=out_dir / ckpt.CURVE_FILE,
        summary=path,
        steps=int(summary["steps"]),
        examples_seen=int(summary["examples_seen"]),
        tokens=int(summary["tokens"]),
        flops=float(summary["flops"]),
        wall_seconds=float(summary["wall_seconds"]),
        final_loss=float(summary["final_loss"]),
        resumed_from=int(summary["resumed_from"]),
        snapshots={**ckpt.list_snapshots(out_dir), int(summary["steps"]): out_dir / ckpt.FINAL_DIR},
        rollout_tokens=int(summary.get("rollout_tokens", 0)),
        rollout_seconds=float(summary.get("rollout_seconds", 0.0)),
    )


def _environment() -> dict[str, Any]:
    """The numerical environment of the session that finished the run (threads, CPU dispatch, BLAS)."""
    from benchmark.results.provenance import environment

    return environment()


def _versions() -> dict[str, str]:
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__, "numpy": np.__version__}

"""``grbench perf determinism``: which determinism mode makes results independent of the CPU and the threads.

One physical CPU stands in for several: an *emulated machine* caps the ISA every library may use (ATen's
``ATEN_CPU_CAPABILITY``, oneDNN's ``ONEDNN_MAX_CPU_ISA``, MKL's ``MKL_ENABLE_INSTRUCTIONS``), so an AVX-512
host runs as an AVX2-only one too, and runs on 1 or 2 threads. For each mode of ``benchmark.determinism``
and each (machine, threads) point, a fresh process (the variables act only when torch loads) runs a short
real workload and hashes its bits:

    sft     the parameters and loss curve after a few SFT steps of a seeded model on seeded synthetic
            impressions (the real trainer and method, ``benchmark.training.train``)
    dpo     the same after a few DPO steps from that SFT model (policy and frozen reference)
    decode  the beams (token ids and float scores, bitwise) of a trie-constrained beam search of the
            seeded, untrained model (so a difference here comes from decoding, not from training)

A mode's ISA pin acts within the machine's cap (a mode asking for AVX2 on an AVX2 machine gets AVX2; the
cap is never raised), and its fixed thread count replaces the machine's. The report gives each point's
hash, whether all points agree, and the workload's time relative to the first mode (``off`` by default) at
the same point; every mode runs at one point before the next point starts, so load changes on a shared
machine hit the modes alike (``rounds`` repeats the grid with the order rotated).

What this cannot emulate: a CPU *vendor*. MKL chooses kernels and blocking by vendor and cache sizes as
well as by ISA (its CNR mode, ``MKL_CBWR``, fixes both); that part of a mode's claim is checked only by
running the same command on the other machine and comparing the hashes, which are portable: they hash the
bits of the results, nothing of the host.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmark import determinism
from benchmark.errors import ConfigError

# ISA caps per emulated machine: what a CPU without the higher ISA would run.
MACHINES: dict[str, dict[str, str]] = {
    "avx512": {},  # the host itself (the CPU must have AVX-512)
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"},
    "sse": {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2"},
}
# Levels, lowest first, to keep a mode's pin within a machine's cap.
_ATEN_LEVELS = ("default", "avx2", "avx512")
_ONEDNN_LEVELS = ("SSE41", "AVX", "AVX2", "AVX512_CORE")
_HOST_FLAG = {"avx512": "avx512f", "avx2": "avx2", "sse": "sse4_2"}
PARTS = ("sft", "dpo", "decode")


def host_supports(machine: str) -> bool:
    """Whether this CPU can run as ``machine`` (it has that machine's ISA); True where flags are unknown."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return True
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), None)
    return flags is None or _HOST_FLAG[machine] in flags


def point_environment(mode: determinism.Mode, machine: str, threads: int,
                      base: dict[str, str] | os._Environ | None = None) -> dict[str, str]:
    """The environment of one run: ``base`` + the machine's caps + the mode's settings within those caps."""
    env = determinism.unpinned_environment(base)
    caps = MACHINES[machine]
    env.update(caps)
    for key, value in mode.env:
        if key == "ATEN_CPU_CAPABILITY" and key in caps:
            value = min(value, caps[key], key=_ATEN_LEVELS.index)
        elif key == "ONEDNN_MAX_CPU_ISA" and key in caps:
            value = min(value, caps[key], key=_ONEDNN_LEVELS.index)
        env[key] = value
    count = mode.threads if mode.threads is not None else threads
    env["OMP_NUM_THREADS"] = env[determinism.THREADS_ENV] = str(count)
    env["OMP_WAIT_POLICY"] = env.get("OMP_WAIT_POLICY", "PASSIVE")
    return env


# ---------------------------------------------------------------------------------------------- the workload
def _synthetic_impressions(n: int, n_items: int, n_words: int, seed: int) -> Any:
    """Impressions in the BuiltDataset.train schema over ``n_items`` items and words ``w0 .. w{n_words-1}``."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        exposed = [int(x) for x in rng.choice(n_items, size=8, replace=False)]
        clicks = [0] * 8
        for position in rng.choice(4, size=int(rng.integers(1, 3)), replace=False):
            clicks[int(position)] = 1
        rows.append({
            "impression_id": i,
            "query": " ".join(f"w{int(w)}" for w in rng.integers(0, n_words, size=int(rng.integers(1, 4)))),
            "history": [int(x) for x in rng.choice(n_items, size=10, replace=False)],
            "exposed": exposed,
            "clicks": clicks,
            "target": exposed[clicks.index(1)],
        })
    return pd.DataFrame(rows)


def _digest(*chunks: bytes) -> str:
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()


def _model_digest(model: Any, curve: Path) -> str:
    """Every parameter's bytes (by name) and the loss curve as written (floats by ``repr``)."""
    state = model.state_dict()
    chunks = [name.encode() + state[name].detach().contiguous().numpy().tobytes() for name in sorted(state)]
    with open(curve, newline="") as handle:
        rows = [(row["loss"], row["grad_norm"]) for row in csv.DictReader(handle)]
    return _digest(*chunks, json.dumps(rows).encode())


def _one_pass(*, size: str, sft_steps: int, dpo_steps: int, batch_size: int, queries: int, beam_width: int,
              seed: int) -> tuple[dict[str, str], dict[str, float]]:
    """Beam-search the seeded model, then train it with SFT and DPO; per part, its hash and seconds."""
    from benchmark.decoding import beam_search
    from benchmark.methods import get_method
    from benchmark.perf import synthetic_prompts, synthetic_setup
    from benchmark.training import TrainConfig, build_examples, load_checkpoint, train

    words = 200
    tokenizer, model, catalog, rng = synthetic_setup(size=size, seed=seed, words=words, levels=3, codebook=64,
                                                     catalog_size=300, device="cpu")
    frame = _synthetic_impressions(n=8 * batch_size, n_items=len(catalog), n_words=words, seed=seed)
    config = dict(batch_size=batch_size, warmup_steps=1, checkpoint_every=0, log_every=1000, seed=seed)
    hashes, seconds = {}, {}
    prompts = synthetic_prompts(tokenizer, catalog, rng, queries, 10, words)
    start = time.perf_counter()
    beams = beam_search(model, tokenizer, prompts, beam_width, catalog, batch_size=queries)
    seconds["decode"] = time.perf_counter() - start
    hashes["decode"] = _digest(json.dumps([[(b.token_ids, float(b.score).hex()) for b in q] for q in beams]).encode())

    with tempfile.TemporaryDirectory() as tmp:
        sft, dpo = get_method("sft"), get_method("dpo")
        start = time.perf_counter()
        result = train(sft, sft.config_cls(), model, tokenizer, build_examples(frame, catalog, tokenizer, "sft"),
                       TrainConfig(steps=sft_steps, lr=2e-3, **config), Path(tmp) / "sft")
        seconds["sft"] = time.perf_counter() - start
        hashes["sft"] = _model_digest(model, result.loss_curve)

        policy, reference = load_checkpoint(result.checkpoint_dir), load_checkpoint(result.checkpoint_dir)
        start = time.perf_counter()
        result = train(dpo, dpo.config_cls(), policy, tokenizer,
                       build_examples(frame, catalog, tokenizer, "preference"),
                       TrainConfig(steps=dpo_steps, lr=2e-4, **config), Path(tmp) / "dpo", reference_model=reference)
        seconds["dpo"] = time.perf_counter() - start
        hashes["dpo"] = _model_digest(policy, result.loss_curve)
    return hashes, seconds


def workload(*, size: str = "s", sft_steps: int = 3, dpo_steps: int = 2, batch_size: int = 4, queries: int = 4,
             beam_width: int = 32, repeats: int = 2, seed: int = 0) -> dict[str, Any]:
    """``repeats`` passes in this process (each from the seeded model): their hashes (which must agree) and,
    per part, the fastest pass's seconds (the first pass pays one-off costs: allocations, kernel JIT)."""
    import torch

    passes = [_one_pass(size=size, sft_steps=sft_steps, dpo_steps=dpo_steps, batch_size=batch_size,
                        queries=queries, beam_width=beam_width, seed=seed) for _ in range(repeats)]
    hashes = passes[0][0]
    return {
        "hashes": hashes,
        "rerun_identical": all(h == hashes for h, _ in passes),
        "seconds": {part: min(s[part] for _, s in passes) for part in PARTS},
        "threads": torch.get_num_threads(),
        "settings": determinism.active_settings(),
    }


def run_point(mode: str, machine: str, threads: int, workload_args: dict[str, Any],
              python: str = sys.executable) -> dict[str, Any]:
    """The workload under ``mode`` on an emulated ``machine`` with ``threads``, in a fresh process."""
    env = point_environment(determinism.get_mode(mode), machine, threads)
    command = [python, "-m", "benchmark.determinism_study", "--mode", mode,
               "--workload", json.dumps(workload_args)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"determinism workload ({mode}, {machine}, {threads} threads) failed with status "
                           f"{done.returncode}:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _merge_rounds(previous: dict[str, Any] | None, result: dict[str, Any]) -> dict[str, Any]:
    """One point's result over rounds: the first round's, each part's fastest time, reruns compared."""
    if previous is None:
        return result
    return {
        **previous,
        "rerun_identical": previous["rerun_identical"] and result["rerun_identical"]
        and previous["hashes"] == result["hashes"],
        "seconds": {part: min(previous["seconds"][part], result["seconds"][part]) for part in PARTS},
    }


def combined_hash(result: dict[str, Any]) -> str:
    return _digest(*(result["hashes"][part].encode() for part in PARTS))


# ---------------------------------------------------------------------------------------------- the study
def run_study(*, modes: Sequence[str], machines: Sequence[str], thread_counts: Sequence[int],
              workload_args: dict[str, Any], rounds: int = 1) -> dict[str, Any]:
    """Every mode at every (machine, threads) point; the report that ``grbench perf determinism`` prints.

    The first mode is the baseline of the time ratios (per point: the mode's workload seconds over the
    baseline's; over points: their geometric mean). Machines this CPU cannot run as are skipped (listed).
    ``rounds`` > 1 runs the grid again with the modes' order rotated (on a shared machine the load drifts
    within a point's runs); each part's time is its fastest round, and every round must give the same bits."""
    from tqdm.auto import tqdm

    for name in modes:
        determinism.get_mode(name)  # an unknown name fails before any run
    unknown = [m for m in machines if m not in MACHINES]
    if unknown:
        raise ConfigError(f"Unknown emulated machine(s) {unknown}; available: {', '.join(MACHINES)}.")
    skipped = [m for m in machines if not host_supports(m)]
    machines = [m for m in machines if m not in skipped]
    points = [(machine, threads) for machine in machines for threads in thread_counts]
    results: dict[str, dict[str, Any]] = {name: {} for name in modes}
    with tqdm(total=rounds * len(points) * len(modes), desc="perf determinism", unit="run") as bar:
        for round_index in range(rounds):
            for point_index, (machine, threads) in enumerate(points):
                shift = (round_index + point_index * (rounds > 1)) % len(modes)
                for name in [*modes[shift:], *modes[:shift]]:
                    key = f"{machine}/{threads}t"
                    bar.set_postfix_str(f"{name} @ {key}")
                    result = run_point(name, machine, threads, workload_args)
                    results[name][key] = _merge_rounds(results[name].get(key), result)
                    bar.update(1)
    baseline = modes[0]
    baseline_hashes = {key: combined_hash(r) for key, r in results[baseline].items()}
    report_modes = {}
    for name in modes:
        per_point = results[name]
        combined = {key: combined_hash(r) for key, r in per_point.items()}
        parts_equal = {part: len({r["hashes"][part] for r in per_point.values()}) == 1 for part in PARTS}
        ratios = [sum(r["seconds"].values()) / sum(results[baseline][key]["seconds"].values())
                  for key, r in per_point.items()]
        report_modes[name] = {
            "summary": determinism.get_mode(name).summary,
            "hashes": combined,
            "parts": {key: r["hashes"] for key, r in per_point.items()},
            "seconds": {key: r["seconds"] for key, r in per_point.items()},
            "threads_used": {key: r["threads"] for key, r in per_point.items()},
            "settings": {key: r["settings"] for key, r in per_point.items()},
            "all_equal": len(set(combined.values())) == 1,
            "parts_equal": parts_equal,
            "distinct_results": len(set(combined.values())),
            # the baseline's points whose bits this mode reproduces (e.g. a mode pinned to AVX2 = off on AVX2)
            "same_as_baseline_at": [key for key, h in baseline_hashes.items() if h in combined.values()],
            "rerun_identical": all(r["rerun_identical"] for r in per_point.values()),
            "time_ratio_vs_baseline": math.exp(sum(math.log(x) for x in ratios) / len(ratios)),
            "time_ratio_per_point": dict(zip(per_point, ratios)),
        }
    return {
        "setup": {
            "modes": list(modes),  # the table's order (JSON sorts the keys of "modes")
            "points": [f"{machine}/{threads}t" for machine, threads in points],
            "machines": {m: MACHINES[m] for m in machines},
            "machines_skipped": skipped,
            "baseline": baseline,
            "rounds": rounds,
            "workload": workload_args,
            "python": sys.executable,
        },
        "modes": report_modes,
    }


def _worker(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="one workload run (started by run_point)")
    parser.add_argument("--mode", required=True)
    parser.add_argument("--workload", required=True, help="workload() keyword arguments as JSON")
    args = parser.parse_args(argv)
    # The parent exported the environment (the machine's caps, the mode's pins within them); only the
    # in-process part of the mode is left to do here, before anything runs.
    determinism.apply(args.mode, export=False)
    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    sys.stdout.write(json.dumps(workload(**json.loads(args.workload))) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(_worker())

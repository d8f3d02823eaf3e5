"""Replay the per-step training losses of every registered method, and regenerate their stored values.

From a tiny SFT checkpoint (trained here, as the ``sft_checkpoint`` fixture does), each method trains 6 steps on
the tiny preference examples and its loss curve is read back. The replay runs in a fresh process under the
``portable`` determinism mode (``benchmark.determinism``: ATen, oneDNN and MKL pinned to AVX2, one intra-op
thread), because the environment variables that pin the kernels act only when torch loads. Under the default
mode the curves depend on the CPU's vector ISA: eg-grpo's moved by up to 6.5% between an AVX-512 and an AVX2
AMD EPYC, far beyond any thread-count spread, so values stored on one CPU failed on the other.

``regression_losses.json`` stores the portable curves, the environment they were made in (the versions of
requirements/lock.txt, the CPU, the settings in force) and, per step, the largest relative difference between
them and the same replay under the ``avx2`` mode (ISA pinned, thread count free) at 2 and 4 threads: the
test's tolerance is derived from that measured spread, not guessed. Regenerate after a deliberate change to a
loss, the trainer, the model or the lock file with

    tox -e regen-losses

(it runs this module as ``python -m tests.training.loss_replay --write``), and review the diff like code.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

STORED = Path(__file__).with_name("regression_losses.json")
THREAD_COUNTS = (1, 2, 4)
REPLAY_MODE = "portable"  # the stored curves: AVX2 kernels on one thread, the same bits on every x86 CPU with AVX2
SPREAD_MODE = "avx2"  # the same kernels with the thread count free: the spread the tolerances are derived from
# A step's tolerance is this many times the largest spread measured there across thread counts, never below the
# floor: float32 sums reordered by a different thread split differ by a few ulps per step, and training
# compounds them; a real change to a loss or the trainer moves the curves by orders of magnitude more.
SPREAD_FACTOR = 10.0
TOLERANCE_FLOOR = 1e-6
LR = 3e-3


def replay(methods: list[str], pref_examples, tokenizer, sft_checkpoint: Path, out: Path,
           lr: float = LR) -> dict[str, list[float]]:
    """Loss curve (one value per step) of each method, each training 6 steps from ``sft_checkpoint``."""
    from benchmark.methods import get_method
    from benchmark.training import load_checkpoint, train
    from tests.training.conftest import quick_config

    curves = {}
    for name in methods:
        method = get_method(name)
        reference = load_checkpoint(sft_checkpoint) if method.needs_reference else None
        result = train(method, method.config_cls(), load_checkpoint(sft_checkpoint), tokenizer, pref_examples,
                       quick_config(steps=6, batch_size=4, lr=lr), out / name, reference_model=reference)
        with open(result.loss_curve, newline="") as handle:
            curves[name] = [float(row["loss"]) for row in csv.DictReader(handle)]
    return curves


def replay_from_scratch(threads: int, lr: float = LR) -> dict[str, list[float]]:
    """The whole replay, fixtures included, on ``threads`` intra-op threads (one process per thread count)."""
    import faiss
    import torch

    from benchmark.methods import get_method, method_names
    from benchmark.model import SidTokenizer
    from benchmark.training import build_examples, train
    from tests.training.conftest import (
        CODEBOOK,
        WORDS,
        quick_config,
        tiny_catalog,
        tiny_impressions,
        xs_model,
    )

    torch.set_num_threads(threads)
    faiss.omp_set_num_threads(threads)
    frame, catalog = tiny_impressions(), tiny_catalog()
    tokenizer = SidTokenizer.build(WORDS, CODEBOOK)
    sft = get_method("sft")
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = train(sft, sft.config_cls(), xs_model(tokenizer), tokenizer,
                           build_examples(frame, catalog, tokenizer, stage="sft"),
                           quick_config(steps=30, batch_size=8, lr=1e-2, warmup_steps=3), Path(tmp) / "base")
        return replay(method_names(), build_examples(frame, catalog, tokenizer, stage="preference"), tokenizer,
                      checkpoint.checkpoint_dir, Path(tmp) / "methods", lr=lr)


def relative_spread(curves: list[dict[str, list[float]]]) -> list[float]:
    """Per step, the largest |a - b| / |b| over methods between the first set of curves and every other one."""
    base = curves[0]
    steps = len(next(iter(base.values())))
    return [
        max(abs(other[name][step] - base[name][step]) / max(abs(base[name][step]), TOLERANCE_FLOOR)
            for other in curves[1:] for name in base)
        for step in range(steps)
    ]


def tolerances(stored: dict) -> list[float]:
    """Relative tolerance per step: differences compound over training steps, so each step has its own."""
    return [max(SPREAD_FACTOR * spread, TOLERANCE_FLOOR) for spread in stored["spread"]["max_relative_per_step"]]


def replay_in_subprocess(threads: int = 1, mode: str = REPLAY_MODE, lr: float = LR) -> dict:
    """``{"curves": {method: losses}, "settings": what was in force, "versions": package versions}`` of a whole
    replay in a fresh process."""
    from benchmark import determinism

    # the child applies the mode itself (before torch loads); nothing of this process's pins may leak in
    command = [sys.executable, "-m", "tests.training.loss_replay", "--threads", str(threads), "--mode", mode,
               "--lr", repr(lr)]
    done = subprocess.run(command, check=False, capture_output=True, text=True, env=determinism.unpinned_environment())
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def write(path: Path = STORED) -> dict:
    from benchmark.results.provenance import cpu_model, package_versions

    runs = {threads: replay_in_subprocess(threads, REPLAY_MODE if threads == 1 else SPREAD_MODE)
            for threads in THREAD_COUNTS}
    environment = {**package_versions(), "machine": platform.machine(), "cpu": cpu_model(), "threads": 1,
                   "settings": runs[1]["settings"]}
    stored = {"environment": environment, "losses": runs[1]["curves"],
              "spread": {"thread_counts": list(THREAD_COUNTS), "mode": SPREAD_MODE,
                         "max_relative_per_step": relative_spread([runs[t]["curves"] for t in THREAD_COUNTS])}}
    text = json.dumps(stored, indent=1, sort_keys=True) + "\n"
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    partial.replace(path)  # atomic: an interrupted regeneration leaves the stored values as they were
    return stored


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, help="print the replayed curves (JSON) at this thread count")
    parser.add_argument("--mode", default=REPLAY_MODE, help=f"determinism mode of --threads (default {REPLAY_MODE})")
    parser.add_argument("--lr", type=float, default=LR, help=f"learning rate of the replayed methods (default {LR})")
    parser.add_argument("--write", action="store_true",
                        help=f"replay in {REPLAY_MODE} mode, and at {THREAD_COUNTS[1:]} threads in {SPREAD_MODE} "
                             f"mode for the spread; write {STORED.name}")
    args = parser.parse_args(argv)
    if args.threads:
        from benchmark import determinism

        mode = determinism.apply(args.mode)  # before torch loads: its variables act only then
        if mode.threads is not None and mode.threads != args.threads:
            parser.error(f"--mode {mode.name} runs on {mode.threads} thread(s), not --threads {args.threads}")
        curves = replay_from_scratch(args.threads, lr=args.lr)
        from benchmark.results.provenance import package_versions

        report = {"curves": curves, "settings": determinism.active_settings(), "versions": package_versions()}
        sys.stdout.write(json.dumps(report) + "\n")
    elif args.write:
        stored = write()
        spread = ", ".join(f"{value:.2g}" for value in stored["spread"]["max_relative_per_step"])
        bounds = ", ".join(f"{value:.2g}" for value in tolerances(stored))
        sys.stdout.write(f"wrote {STORED}\nspread across threads {THREAD_COUNTS} ({SPREAD_MODE} mode) per step: "
                         f"{spread}\nrelative tolerance per step: {bounds}\n")
    else:
        parser.error("give --write or --threads N")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

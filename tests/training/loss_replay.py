"""Replay the per-step training losses of every registered method, and regenerate their stored values.

From a tiny SFT checkpoint (trained here, as the ``sft_checkpoint`` fixture does), each method trains 6 steps on
the tiny preference examples and its loss curve is read back. ``regression_losses.json`` stores the curves at
1 thread, the environment they were made in (the versions of requirements/lock.txt), and the largest relative
difference measured between 1, 2 and 4 threads: the test's tolerance is derived from that measured spread, not
guessed. Regenerate after a deliberate change to a loss, the trainer, the model or the lock file with

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


def replay_from_scratch(threads: int) -> dict[str, list[float]]:
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
                      checkpoint.checkpoint_dir, Path(tmp) / "methods")


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


def _in_subprocess(threads: int) -> dict[str, list[float]]:
    done = subprocess.run([sys.executable, "-m", "tests.training.loss_replay", "--threads", str(threads)],
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def write(path: Path = STORED) -> dict:
    from benchmark.results.provenance import cpu_model, package_versions

    curves = {threads: _in_subprocess(threads) for threads in THREAD_COUNTS}
    environment = {**package_versions(), "machine": platform.machine(), "cpu": cpu_model(), "threads": 1}
    stored = {"environment": environment, "losses": curves[1],
              "spread": {"thread_counts": list(THREAD_COUNTS),
                         "max_relative_per_step": relative_spread([curves[t] for t in THREAD_COUNTS])}}
    path.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n")
    return stored


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, help="print the replayed curves (JSON) at this thread count")
    parser.add_argument("--write", action="store_true", help=f"measure at {THREAD_COUNTS} threads, write {STORED.name}")
    args = parser.parse_args(argv)
    if args.threads:
        sys.stdout.write(json.dumps(replay_from_scratch(args.threads)) + "\n")
    elif args.write:
        stored = write()
        spread = ", ".join(f"{value:.2g}" for value in stored["spread"]["max_relative_per_step"])
        bounds = ", ".join(f"{value:.2g}" for value in tolerances(stored))
        sys.stdout.write(f"wrote {STORED}\nspread across threads {THREAD_COUNTS} per step: {spread}\n"
                         f"relative tolerance per step: {bounds}\n")
    else:
        parser.error("give --write or --threads N")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

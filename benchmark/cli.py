"""The ``grbench`` command line.

Each command group lives in its own module under ``benchmark/commands`` and exposes
``register(subparsers)``; a group whose module is not present yet is simply not offered, so ``--help`` lists
only commands that exist.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import signal
import sys
from collections.abc import Sequence

from benchmark import __version__, determinism, device, threads
from benchmark.errors import BenchmarkError

# Order here is the order in --help: the data flow of DESIGN.md section 1.
COMMAND_MODULES = [
    "data",
    "sids",
    "train",
    "eval",
    "run",
    "tune",
    "reproduce",
    "parity",
    "publish",
    "tables",
    "submit",
    "validate",
    "leaderboard",
    "site",
    "perf",
]

DESCRIPTION = """\
grbench: a reproducible benchmark for preference alignment of generative retrieval.

Public Amazon review logs become query -> clicked-item impressions with simulated position-biased click
noise; items get Semantic IDs by RQ-KMeans; a small causal LM is trained with SFT and aligned with DPO,
SimPO, ORPO, S-DPO, RAD-DPO and the GRPO family under identical budgets; beam search is scored with per-query Recall@K, MRR and
hallucination rate, and compared with paired significance tests.

Typical flow:
  grbench data build amazon18-scientific --data-dir ../shared/data
  grbench run --profile quick          # a short real run, about 45 minutes on 2 CPU cores
  grbench tables                       # re-render tables from stored results, no training
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grbench", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"grbench {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    threads.add_option(parser)
    device.add_option(parser)
    parser.add_argument(
        "--determinism", default=None, metavar="MODE",
        help=f"what to pin so that numbers do not depend on the CPU's ISA or the thread count: "
             f"{', '.join(determinism.mode_names())}. Default: ${determinism.MODE_ENV}, else "
             f"'{determinism.DEFAULT_MODE}'. Recorded in every run.json; README, 'Reproducing on another machine'",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module_name = f"benchmark.commands.{name}"
        if importlib.util.find_spec(module_name) is None:
            continue
        importlib.import_module(module_name).register(subparsers)
    return parser


def _quiet_transformers() -> None:
    """transformers' own per-file progress bars (weight loading/saving) drown the suite's bars.

    Set through the environment (read when transformers is first imported) so commands that never touch
    transformers do not pay for importing it.
    """
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C: ``finally`` blocks run and atomic writes remove their temporary files."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated()


def main(argv: Sequence[str] | None = None) -> int:
    # Only the main thread may set handlers (an embedding caller may run main elsewhere: keep its handling).
    try:
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:
        return _main(argv)
    try:
        return _main(argv)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Default: warnings plus our progress bars; -v adds per-stage INFO logs, -vv debug.
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    _quiet_transformers()
    if getattr(args, "cache_dir", None):
        os.environ["GRBENCH_CACHE"] = args.cache_dir
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        # before any command imports torch: both export variables that torch, MKL and oneDNN read at load time
        determinism.apply(args.determinism or os.environ.get(determinism.MODE_ENV) or determinism.DEFAULT_MODE)
        threads.configure(args.threads)
        device.configure(args.device)
        return int(args.func(args) or 0)
    except BenchmarkError as exc:
        sys.stderr.write(f"grbench {args.command}: error: {exc}\n")
        return 2
    except KeyboardInterrupt as exc:
        # 128 + signal number, as a shell reports a process the signal ended
        if isinstance(exc, Terminated):
            sys.stderr.write("terminated (SIGTERM); finished results are kept and a rerun resumes\n")
            return 128 + signal.SIGTERM
        sys.stderr.write("interrupted; finished results are kept and a rerun resumes\n")
        return 128 + signal.SIGINT

"""``grbench perf``: speed claims measured side by side in one run (see ``benchmark.perf``).

The measurements import torch and transformers; they are imported only when a perf command runs, so the rest
of the CLI starts fast.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from benchmark.threads import add_option as add_thread_option

# The size ladder's names, spelled out so that --help does not import torch; a test keeps them equal to
# benchmark.model.MODEL_SIZES.
SIZES = ("xs", "s", "m", "l")

def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an int >= 1, got {text!r}")
    return value


def _common(parser: argparse.ArgumentParser, size: str) -> None:
    parser.add_argument(
        "--size", default=size, choices=SIZES, help=f"model size (default {size})"
    )
    # also accepted before the command name (grbench --threads N perf ...); SUPPRESS keeps that value
    add_thread_option(parser, default=argparse.SUPPRESS)
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--levels", type=_positive_int, default=3, help="SID levels (default 3, as in the paper)"
    )
    parser.add_argument("--codebook", type=_positive_int, default=256, help="codes per level (default 256)")
    parser.add_argument(
        "--words", type=_positive_int, default=2000, help="query-word vocabulary size (default 2000)"
    )
    parser.add_argument(
        "--catalog-size", type=_positive_int, default=4000, help="SIDs in the synthetic catalog"
    )
    parser.add_argument(
        "--history", type=_positive_int, default=10, help="history SIDs per prompt (default 10)"
    )
    parser.add_argument("--json", action="store_true", help="print the measurements as JSON")


def _emit(report: dict[str, Any], args: argparse.Namespace, printer: Callable[[dict[str, Any]], None]) -> int:
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        printer(report)
    return 0


def _perf():
    import benchmark.perf

    return benchmark.perf


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "perf", help="speed benchmarks side by side (decode, train); a kill campaign (faults)"
    )
    sub = parser.add_subparsers(dest="perf_command", metavar="WHAT", required=True)

    decode = sub.add_parser("decode", help="our beam search vs transformers generate (B=128, size s)")
    _common(decode, "s")
    decode.add_argument("--beam-width", type=_positive_int, default=128)
    decode.add_argument("--queries", type=_positive_int, default=8)
    decode.add_argument("--batch-size", type=_positive_int, default=8, help="queries decoded together")
    decode.add_argument(
        "--repeats", type=_positive_int, default=1, help="timed runs per side (the fastest counts)"
    )
    decode.set_defaults(func=lambda args: _emit(_perf().run_decode(args), args, _perf().print_decode))

    train = sub.add_parser("train", help="packed vs per-candidate forward+backward; training FLOP/s vs peak")
    _common(train, "s")
    train.add_argument("--candidates", type=_positive_int, default=16, help="candidates in (a) (default 16)")
    train.add_argument(
        "--batch",
        type=_positive_int,
        default=32,
        help="impressions per training batch in (b) (default 32, as in the profiles)",
    )
    train.add_argument(
        "--batch-candidates",
        type=_positive_int,
        default=10,
        help="candidates per impression in (b) (default 10: the exposed list of the click model)",
    )
    train.add_argument(
        "--steps", type=_positive_int, default=8, help="timed training steps (the fastest counts)"
    )
    train.add_argument(
        "--reps", type=_positive_int, default=7, help="timed repetitions for (a) (the fastest counts)"
    )
    train.set_defaults(func=lambda args: _emit(_perf().run_train(args), args, _perf().print_train))

    faults = sub.add_parser(
        "faults",
        help="kill the smoke suite at random fault points, resume, and check nothing is lost or recomputed",
        description="Run the suite once uninterrupted (reference, with a fault trace), then start it again "
        "and again on one results dir + cache, each time killed at a seeded random event of the trace "
        "(benchmark.faults), and finally let it finish. Reports kills done, runs lost, half-written files, "
        "runs recomputed and whether the final per-query files and rankings are byte-identical to the "
        "reference; exits 1 when a check fails.",
    )
    faults.add_argument("--kills", type=_positive_int, default=20, help="kills before the final resume")
    faults.add_argument("--seed", type=int, default=0, help="seed of the kill points (default 0)")
    faults.add_argument(
        "--results",
        default=None,
        help="work dir: reference/ (reused when complete) and killed/ (default: a new temporary directory)",
    )
    faults.add_argument("--signal", default="KILL", choices=("KILL", "INT", "TERM"), help="default KILL")
    faults.add_argument("--profile", default="smoke", help="suite profile (default smoke)")
    faults.add_argument("--only", default="", help="as grbench run --only")
    faults.add_argument("--methods", default="", help="as grbench run --methods")
    faults.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="as grbench run")
    faults.add_argument("--data-dir", default=None, help="as grbench run --data-dir")
    faults.add_argument("--json", action="store_true", help="print the report as JSON")
    faults.set_defaults(func=_faults)


def _faults(args: argparse.Namespace) -> int:
    from benchmark import faultcampaign

    report = faultcampaign.run_campaign(args)
    _emit(report, args, faultcampaign.print_campaign)
    return 0 if report["passed"] else 1

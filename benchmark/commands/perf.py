"""``grbench perf``: speed claims measured side by side in one run (see ``benchmark.perf``).

The measurements (``benchmark.perf``, ``benchmark.faultcampaign``) return reports; printing them, as text or
JSON, happens here. They import torch and transformers; they are imported only when a perf command runs, so
the rest of the CLI starts fast.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from benchmark.device import option_type as device_option
from benchmark.threads import add_option as add_thread_option

# The size ladder's names, spelled out so that --help does not import torch; a test keeps them equal to
# benchmark.model.MODEL_SIZES.
SIZES = ("xs", "s", "m", "l")
PRECISIONS = ("fp32", "bf16")

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
    # the global option (grbench --device D perf ...), also accepted here; SUPPRESS keeps a value given before
    parser.add_argument("--device", type=device_option, default=argparse.SUPPRESS, metavar="DEVICE",
                        help="auto, cpu, cuda or cuda:N (default: grbench --device, $GRBENCH_DEVICE, else auto: a "
                             "GPU when torch sees one)")
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


def _precision_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--precisions", type=_precision_list, default=["fp32", "bf16"],
        help="comma-separated precisions measured side by side, the first the baseline of the speed-ups: fp32, "
             "bf16 (autocast; benchmark.precision). Default fp32,bf16",
    )


def _precision_list(text: str) -> list[str]:
    # spelled out (not imported from benchmark.precision) for the same reason as SIZES; a test keeps them equal
    chosen = _names(text)
    unknown = [p for p in chosen if p not in PRECISIONS]
    if unknown or len(set(chosen)) != len(chosen):
        raise argparse.ArgumentTypeError(f"must be distinct precisions out of {list(PRECISIONS)}, got {text!r}")
    return chosen


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
        "perf", help="speed benchmarks side by side (decode, train, determinism); a kill campaign (faults)"
    )
    sub = parser.add_subparsers(dest="perf_command", metavar="WHAT", required=True)

    decode = sub.add_parser("decode", help="our beam search vs transformers generate (B=128, size s); fp32 vs bf16")
    _common(decode, "s")
    decode.add_argument("--beam-width", type=_positive_int, default=128)
    decode.add_argument("--queries", type=_positive_int, default=8)
    decode.add_argument("--batch-size", type=_positive_int, default=8, help="queries decoded together")
    decode.add_argument(
        "--repeats", type=_positive_int, default=1, help="timed runs per side (the fastest counts)"
    )
    _precision_option(decode)
    decode.set_defaults(func=_decode)

    train = sub.add_parser(
        "train", help="packed vs per-candidate forward+backward; training FLOP/s vs peak; fp32 vs bf16"
    )
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
    _precision_option(train)
    train.set_defaults(func=_train)

    cal = sub.add_parser(
        "calibrate",
        help="measure the per-step costs of the cost model once on this machine and cache them",
        description="Time a few optimizer steps of each cost class (SFT, preference without and with a "
        "reference model, GRPO-style rollouts) and beam search per query, for each model size, on a synthetic "
        "setup (default: the vocabulary size of amazon18-scientific, 800 words + 3 x 142 codes); cache them under the cache root, keyed by CPU model, threads, torch version and device "
        "(benchmark.costmodel). grbench run --dry-run then estimates a profile's hours from them. With --check "
        "DIR, measure nothing: print the cached calibration's estimate beside the stored runs' wall times.",
    )
    _common(cal, "s")
    cal.add_argument("--sizes", type=_size_list, default=list(SIZES),
                     help="comma-separated model sizes to calibrate (default xs,s,m,l); others already cached stay")
    cal.add_argument("--beam-widths", type=_int_list, default=[128], help="beam widths (default 128)")
    cal.add_argument("--batch", type=_positive_int, default=8, help="impressions per timed step (default 8)")
    cal.add_argument("--candidates", type=_positive_int, default=10,
                     help="candidates per preference impression (default 10: the exposed list)")
    cal.add_argument("--steps", type=_positive_int, default=3, help="timed steps per cost class (fastest counts)")
    cal.add_argument("--decode-queries", type=_positive_int, default=16, help="queries beam-searched per size")
    cal.add_argument("--decode-batch-size", type=_positive_int, default=8, help="queries decoded together")
    cal.add_argument("--prepare-seconds", type=float, default=None,
                     help="fixed cost of preparing a dataset (default: the longest build recorded in the cache)")
    cal.add_argument("--check", metavar="RESULTS_DIR", default=None,
                     help="measure nothing: estimate vs measured wall time of the runs stored in RESULTS_DIR "
                          "(a profile directory holding runs/, e.g. results/quick)")
    # The vocabulary of amazon18-scientific's tokenizer (~1,200 tokens: ~800 words + 242/121/61 codes), not
    # perf decode's 2,000 words x 256 codes: the LM head over the vocabulary is much of a small model's cost.
    cal.set_defaults(func=_calibrate, words=800, codebook=142, catalog_size=4000)

    det = sub.add_parser(
        "determinism",
        help="which determinism mode makes training and decoding bitwise-identical across CPUs and threads",
        description="For each determinism mode (benchmark.determinism) and each emulated machine (the ISA "
        "capped for ATen, oneDNN and MKL) and thread count, a fresh process trains a seeded model a few SFT and "
        "DPO steps and beam-searches; prints each point's result hash, whether all agree, and the time "
        "relative to the first mode (benchmark.determinism_study).",
    )
    det.add_argument("--modes", type=_names, default=None,
                     help="comma-separated modes, the first is the time baseline (default: all, 'off' first)")
    det.add_argument("--machines", type=_names, default=["avx512", "avx2"],
                     help="comma-separated emulated machines: avx512, avx2, sse (default avx512,avx2)")
    det.add_argument("--thread-counts", type=_int_list, default=[1, 2],
                     help="comma-separated thread counts of the emulated machines (default 1,2)")
    det.add_argument("--size", default="s", choices=SIZES, help="model size (default s)")
    det.add_argument("--sft-steps", type=_positive_int, default=3)
    det.add_argument("--dpo-steps", type=_positive_int, default=2)
    det.add_argument("--batch-size", type=_positive_int, default=4, help="impressions per step (default 4)")
    det.add_argument("--queries", type=_positive_int, default=4, help="queries beam-searched (default 4)")
    det.add_argument("--beam-width", type=_positive_int, default=32)
    det.add_argument("--repeats", type=_positive_int, default=2,
                     help="workload passes per process: their hashes must agree; the fastest is timed (default 2)")
    det.add_argument("--rounds", type=_positive_int, default=1,
                     help="run the grid this many times, the modes' order rotated; the fastest round is timed")
    det.add_argument("--seed", type=int, default=0)
    det.add_argument("--json", action="store_true", help="print the measurements as JSON")
    det.set_defaults(func=_determinism)

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


def _setup_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The synthetic setup options of ``_common``, as keyword arguments of the measurements."""
    return {
        "size": args.size,
        "seed": args.seed,
        "words": args.words,
        "levels": args.levels,
        "codebook": args.codebook,
        "catalog_size": args.catalog_size,
        "history": args.history,
        "device": _device(args),
        # --threads before the command name or after it; absent: this process's share of the CPUs
        "threads": getattr(args, "threads", None),
    }


def _device(args: argparse.Namespace) -> str:
    """The concrete device the benchmark runs on ("cpu", "cuda:0"): ``--device``, before or after the command
    name, was validated and exported at start-up (``benchmark.device.configure``)."""
    from benchmark.device import resolve

    return str(resolve())


def _decode(args: argparse.Namespace) -> int:
    report = _perf().run_decode(
        **_setup_kwargs(args),
        beam_width=args.beam_width,
        queries=args.queries,
        batch_size=args.batch_size,
        repeats=args.repeats,
        precisions=args.precisions,
    )
    return _emit(report, args, _print_decode)


def _train(args: argparse.Namespace) -> int:
    report = _perf().run_train(
        **_setup_kwargs(args),
        candidates=args.candidates,
        batch=args.batch,
        batch_candidates=args.batch_candidates,
        steps=args.steps,
        reps=args.reps,
        precisions=args.precisions,
    )
    report["rollouts"] = _rollout_cost(args)
    return _emit(report, args, _print_train)


def _rollout_cost(args: argparse.Namespace) -> dict[str, Any]:
    """(c) a GRPO step at G = 8 (rollouts included) against a RAD-DPO step on (b)'s batch (issue #15)."""
    return _perf().run_rollout_cost(**_setup_kwargs(args), batch=args.batch, candidates=args.batch_candidates,
                                    steps=min(args.steps, 3))


def _print_rollouts(report: dict[str, Any]) -> None:
    r = report["rollouts"]
    flag = "" if r["grpo_over_raddpo"] <= r["target_ratio"] else f"  [above the {r['target_ratio']:g}x target]"
    print(
        f"(c) GRPO step (G = {r['setup']['group_size']} beam rollouts + forward/backward with the reference) vs "
        f"RAD-DPO step ({r['setup']['raddpo_candidates']} candidates): {r['grpo_step_seconds'] * 1000:.0f} ms vs "
        f"{r['raddpo_step_seconds'] * 1000:.0f} ms = {r['grpo_over_raddpo']:.2f}x{flag}; rollouts "
        f"{100 * r['rollout_share']:.0f}% of the GRPO step"
    )


def _size_list(text: str) -> list[str]:
    sizes = _names(text)
    unknown = [size for size in sizes if size not in SIZES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown model size(s) {unknown}; the sizes are {list(SIZES)}")
    return sizes


def _calibrate(args: argparse.Namespace) -> int:
    from benchmark import costmodel

    if args.check is not None:
        return _check_calibration(args)
    report = _perf().run_calibration(
        sizes=args.sizes, seed=args.seed, words=args.words, levels=args.levels, codebook=args.codebook,
        catalog_size=args.catalog_size, history=args.history, device=_device(args), batch=args.batch,
        candidates=args.candidates, steps=args.steps, beam_widths=args.beam_widths,
        decode_queries=args.decode_queries, decode_batch_size=args.decode_batch_size,
        threads=getattr(args, "threads", None), progress=None if args.json else lambda line: print(line, flush=True),
    )
    prepare = args.prepare_seconds
    if prepare is None:
        prepare = costmodel.recorded_prepare_seconds()
    calibration = costmodel.Calibration(
        fingerprint=costmodel.fingerprint(threads=report["setup"]["threads"], device=_device(args)),
        train=report["train_seconds_per_example"],
        decode={s: {int(w): v for w, v in d.items()} for s, d in report["decode_seconds_per_query"].items()},
        rollout_group_size=report["setup"]["rollout_group_size"],
        prepare_seconds=costmodel.DEFAULT_PREPARE_SECONDS if prepare is None else float(prepare),
        setup={**report["setup"], "measured": report["measured"]},
    )
    path = costmodel.save_calibration(calibration)
    report["prepare_seconds"] = calibration.prepare_seconds
    report["fingerprint"] = calibration.fingerprint
    report["path"] = str(path)
    return _emit(report, args, _print_calibration)


def _check_calibration(args: argparse.Namespace) -> int:
    import dataclasses
    from pathlib import Path

    from benchmark import costmodel
    from benchmark.errors import ConfigError
    from benchmark.results import load_run, run_dirs_in

    threads = getattr(args, "threads", None)
    wanted = costmodel.fingerprint(threads=threads if isinstance(threads, int) else costmodel.current_threads(),
                                   device=_device(args))
    calibration = costmodel.load_calibration(wanted)
    if calibration is None:
        raise ConfigError(_no_calibration_message(wanted))
    root = Path(args.check)
    runs_dir = root / "runs" if (root / "runs").is_dir() else root
    records = []
    for path in run_dirs_in(runs_dir):
        result = load_run(path).result
        budget = result.budget
        budget = dataclasses.asdict(budget) if dataclasses.is_dataclass(budget) else dict(budget)
        records.append((result.run_id, result.config, budget, result.n_queries))
    if not records:
        raise ConfigError(f"no stored runs under {runs_dir}")
    rows = costmodel.check_rows(calibration, records)
    if args.json:
        print(json.dumps([{"run_id": r.run_id, "estimated_seconds": r.estimated.total,
                           "measured_seconds": r.measured.total} for r in rows], indent=2))
        return 0
    print(f"estimated (calibration {', '.join(f'{k} {v}' for k, v in calibration.fingerprint.items())}) vs measured "
          f"(run.json train_seconds + eval_seconds; the shared SFT checkpoint and data preparation are not recorded "
          f"per run) for {len(rows)} runs in {runs_dir}")
    for line in costmodel.format_check(rows):
        print(line)
    warning = costmodel.load_warning(calibration)
    if warning:
        print(f"warning: {warning}")
    return 0


def _no_calibration_message(wanted: dict[str, Any]) -> str:
    from benchmark import costmodel

    described = ", ".join(f"{k} {v}" for k, v in wanted.items())
    others = costmodel.cached_fingerprints()
    hint = (" Cached calibrations exist for: " + "; ".join(", ".join(f"{k} {v}" for k, v in f.items()) for f in others)
            + " (pass --threads N to pick one).") if others else ""
    threads = f"--threads {wanted['threads']} "
    return (f"no cost calibration is cached for this machine ({described}). Make one with: grbench {threads}perf "
            f"calibrate --sizes xs,s,m,l (about a minute per size; l takes longest).{hint}")


def _names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"must be a comma-separated list of names, got {text!r}")
    return names


def _int_list(text: str) -> list[int]:
    return [_positive_int(part) for part in _names(text)]


def _determinism(args: argparse.Namespace) -> int:
    from benchmark import determinism, determinism_study

    modes = args.modes or determinism.mode_names()
    report = determinism_study.run_study(
        modes=modes,
        machines=args.machines,
        thread_counts=args.thread_counts,
        workload_args={
            "size": args.size, "sft_steps": args.sft_steps, "dpo_steps": args.dpo_steps,
            "batch_size": args.batch_size, "queries": args.queries, "beam_width": args.beam_width,
            "repeats": args.repeats, "seed": args.seed,
        },
        rounds=args.rounds,
    )
    return _emit(report, args, _print_determinism)


def _faults(args: argparse.Namespace) -> int:
    from benchmark import faultcampaign

    suite_args = faultcampaign.suite_args_from(
        profile=args.profile, only=args.only, methods=args.methods, overrides=args.set, data_dir=args.data_dir
    )
    report = faultcampaign.run_campaign(
        suite_args=suite_args, kills=args.kills, seed=args.seed, signal_name=args.signal, results=args.results
    )
    _emit(report, args, _print_campaign)
    return 0 if report["passed"] else 1


# ---------------------------------------------------------------------------------------------- reports
def _print_decode(report: dict[str, Any]) -> None:
    s = report["setup"]
    print(
        f"grbench perf decode: size {s['model_size']} ({s['parameters']:,} params, {s['weights']}), vocab "
        f"{s['vocab_size']}, SIDs {s['codebook_sizes']}, catalog {s['catalog_sids']} SIDs, {s['queries']} queries "
        f"(~{s['mean_prompt_tokens']:.0f} prompt tokens), B={s['beam_width']}, {s['batch_size']} queries/batch, "
        f"{s['threads']} threads on {s['device']}"
    )
    header = f"{'mode':<14}{'ours s':>9}{'generate s':>12}{'speed-up':>10}{'ours q/s':>10}{'ours ms/q':>11}  identical"
    print(header)
    for mode, r in report["modes"].items():
        if r["identical"]:
            verdict = "yes"
        elif r["identical_up_to_near_ties"]:
            verdict = (
                f"up to near-ties (exact order in {r['queries_same_order']}/{r['queries']} queries; the others "
                f"swap beams whose scores differ by < {r['tolerance']:g})"
            )
        else:
            verdict = (
                f"NO (exact order in {r['queries_same_order']}/{r['queries']}, equal up to near-ties in "
                f"{r['queries_same_up_to_near_ties']}/{r['queries']})"
            )
        flag = "" if r["speedup"] >= r["target_speedup"] else f"  [below the {r['target_speedup']:g}x target]"
        print(
            f"{mode:<14}{r['ours_seconds']:>9.2f}{r['generate_seconds']:>12.2f}{r['speedup']:>9.1f}x"
            f"{r['ours_queries_per_second']:>10.2f}{r['ours_ms_per_query']:>11.1f}  {verdict} "
            f"(max |score diff| {r['max_abs_score_diff']:.1e}){flag}"
        )
    if "precision" in report:
        _print_decode_precisions(report["precision"], s["repeats"])


def _baseline_first(section: dict[str, Any]) -> list[str]:
    """The precisions of a report section, its baseline first (``--json`` sorts keys; text keeps the order)."""
    base = section["baseline"]
    return [base, *(name for name in section["by_precision"] if name != base)]


def _print_decode_precisions(section: dict[str, Any], repeats: int) -> None:
    base = section["baseline"]
    print(f"precision, our {section['mode']} search side by side (interleaved, fastest of {repeats}); "
          f"agreement with {base}'s beams:")
    print(f"{'precision':<11}{'s':>8}{'ms/query':>10}{'q/s':>8}{'speed-up':>10}{'top-1 same':>12}"
          f"{'beams shared':>14}{'max |score diff|':>18}")
    for name in _baseline_first(section):
        r = section["by_precision"][name]
        print(f"{name:<11}{r['seconds']:>8.2f}{r['ms_per_query']:>10.1f}{r['queries_per_second']:>8.2f}"
              f"{r['speedup_vs_baseline']:>9.2f}x{100 * r['top1_agreement']:>11.0f}%"
              f"{100 * r['beam_overlap']:>13.1f}%{r['max_abs_score_diff']:>18.1e}")



def _print_train(report: dict[str, Any]) -> None:
    s, a, b = report["setup"], report["packing"], report["throughput"]
    precisions = s.get("precisions", ["fp32"])
    print(
        f"grbench perf train: size {s['model_size']} ({s['parameters']:,} params, {s['weights']}), vocab "
        f"{s['vocab_size']}, {s['threads']} threads on {s['device']}; (a) and (b) at {precisions[0]}"
    )
    flag = "" if a["speedup"] >= a["target_speedup"] else f"  [below the {a['target_speedup']:g}x target]"
    print(
        f"(a) packed vs one sequence per candidate, forward+backward, 1 prompt ({a['prompt_tokens']} tokens) + "
        f"{a['candidates']} candidates ({a['candidate_tokens']} tokens each): {a['packed_tokens']} vs "
        f"{a['separate_tokens']} tokens; {a['packed_ms']:.1f} ms vs {a['separate_ms']:.1f} ms = "
        f"{a['speedup']:.1f}x faster{flag}; max |log-prob diff| {a['max_abs_logp_diff']:.1e}"
    )
    if "limit" in a:
        lim = a["limit"]
        print(
            f"    why not the {lim['token_ratio']:.1f}x token ratio: with one candidate the packed step takes "
            f"{lim['single_candidate_ms']:.1f} ms, so of its {a['packed_ms']:.1f} ms about {lim['fixed_ms']:.1f} ms "
            f"({100 * lim['fixed_share_of_packed']:.0f}%) is paid once per forward+backward whatever its length, "
            f"{lim['per_token_ms']:.3f} ms per token (that line alone predicts {lim['line_model_speedup']:.1f}x); "
            f"and a packed token costs {lim['per_token_cost_ratio']:.2f}x a token of the baseline "
            f"({lim['separate_per_token_ms']:.3f} ms: larger matrices, the causal path instead of an explicit "
            f"mask). Without the fixed cost the speed-up would be {lim['speedup_without_fixed_cost']:.1f}x"
        )
    flag = (
        ""
        if b["fraction_of_peak"] >= b["target_fraction"]
        else (f"  [below the {100 * b['target_fraction']:.0f}% target]")
    )
    print(
        f"(b) training (forward+backward+AdamW), {b['impressions_per_batch']} impressions x "
        f"{b['candidates_per_impression']} candidates packed ({b['tokens_per_batch']} tokens, length "
        f"{b['packed_length']}): {b['step_seconds'] * 1000:.0f} ms/step, {b['tokens_per_second']:,.0f} tokens/s, "
        f"{b['achieved_flops_per_second'] / 1e9:.1f} GFLOP/s = {100 * b['fraction_of_peak']:.0f}% of the "
        f"{b['matmul_peak_flops_per_second'] / 1e9:.1f} GFLOP/s {b.get('matmul_peak_dtype', 'fp32')} matmul peak "
        f"({b['matmul_peak_size']}^3){flag}"
    )
    if "precision" in report and len(report["precision"]["by_precision"]) > 1:
        _print_train_precisions(report["precision"])
    if "rollouts" in report:
        _print_rollouts(report)


def _print_train_precisions(section: dict[str, Any]) -> None:
    base = section["baseline"]
    print(f"precision side by side (interleaved; speed-ups vs {base}; % of the matmul peak of the same precision):")
    print(f"{'precision':<11}{'(a) packed ms':>14}{'separate ms':>13}{'packing':>9}{'speed-up':>10}"
          f"{'(b) ms/step':>13}{'tokens/s':>10}{'speed-up':>10}{'GFLOP/s':>9}{'peak':>8}{'% peak':>8}"
          f"{'peak ratio':>12}{'max |logp diff|':>17}")
    for name in _baseline_first(section):
        r = section["by_precision"][name]
        print(f"{name:<11}{r['packed_ms']:>14.1f}{r['separate_ms']:>13.1f}{r['packing_speedup']:>8.1f}x"
              f"{r['packed_speedup_vs_baseline']:>9.2f}x{1000 * r['step_seconds']:>13.0f}"
              f"{r['tokens_per_second']:>10,.0f}{r['step_speedup_vs_baseline']:>9.2f}x"
              f"{r['achieved_flops_per_second'] / 1e9:>9.1f}{r['matmul_peak_flops_per_second'] / 1e9:>8.0f}"
              f"{100 * r['fraction_of_peak']:>7.0f}%{r['peak_ratio_vs_baseline']:>11.2f}x"
              f"{r['max_abs_logp_diff_vs_baseline']:>17.1e}")


def _print_calibration(report: dict[str, Any]) -> None:
    s = report["setup"]
    print(f"grbench perf calibrate: {s['threads']} threads on {s['device']}; steps of {s['batch']} synthetic "
          f"impressions ({s['candidates']} candidates; SFT {s['sft_candidates']} positives), fastest of "
          f"{s['steps']}; beam search over {s['decode_queries']} queries, {s['decode_batch_size']} at a time; "
          f"{s['weights']}")
    classes = list(s["methods"])
    print(f"{'size':<6}" + "".join(f"{c + ' ms/ex':>16}" for c in classes) + "  beam search ms/query")
    for size, costs in report["train_seconds_per_example"].items():
        decode = ", ".join(f"B={w}: {1000 * v:.1f}" for w, v in report["decode_seconds_per_query"][size].items())
        print(f"{size:<6}" + "".join(f"{1000 * costs[c]:>16.2f}" for c in classes) + f"  {decode}")
        m = report["measured"][size]
        pairs = [f"{1000 * m['wall'][c]:.1f}/{1000 * m['cpu'][c]:.1f}" for c in classes]
        decoded = ", ".join(f"{1000 * m['decode_wall'][w]:.1f}/{1000 * m['decode_cpu'][w]:.1f}" for w in m["decode_wall"])
        print(f"{'':<6}" + "".join(f"{pair:>16}" for pair in pairs) + f"  {decoded}  (wall/CPU)")
    print("each cost is the smaller of the wall and the CPU time measured: time spent waiting for cores other "
          "processes held is not counted")
    print(f"classes measured with: {', '.join(f'{c} = {m}' for c, m in s['methods'].items())} (rollout at "
          f"G = {s['rollout_group_size']}); fixed cost of preparing a dataset: {report['prepare_seconds']:.0f} s")
    print(f"cached: {report['path']}")
    load, cpus = s.get("load_average_before"), s.get("cpus")
    if load is not None and cpus and load >= 0.5 * cpus:
        print(f"warning: the machine was busy (load average {load:.1f} on {cpus} CPUs before calibrating): waiting "
              "for cores is not counted, but shared caches and memory bandwidth still slow the steps; calibrate "
              "again on an idle machine for the best estimate.")


def _print_determinism(report: dict[str, Any]) -> None:
    s, w = report["setup"], report["setup"]["workload"]
    caps = "; ".join(f"{m}: {', '.join(f'{k}={v}' for k, v in env.items()) or 'the host'}"
                     for m, env in s["machines"].items())
    print(f"grbench perf determinism: size {w['size']}, {w['sft_steps']} SFT + {w['dpo_steps']} DPO steps of "
          f"{w['batch_size']} impressions, beam search B={w['beam_width']} over {w['queries']} queries (untrained "
          f"model); one fresh process per cell and round ({s['rounds']}), {w['repeats']} pass(es) each; time: the "
          f"fastest pass and round")
    print(f"emulated machines ({caps})" + (f"; skipped (CPU lacks the ISA): {', '.join(s['machines_skipped'])}"
                                           if s["machines_skipped"] else ""))
    points = s["points"]
    header = f"{'mode':<15}" + "".join(f"{p:>11}" for p in points)
    print(header + f"  {'all equal':<10}{'differs in':<17}{'time vs ' + s['baseline']:>12}  same bits as "
          f"{s['baseline']} at")
    for name in s["modes"]:
        r = report["modes"][name]
        differs = ",".join(part for part, same in r["parts_equal"].items() if not same) or "-"
        equal = "yes" if r["all_equal"] else f"no ({r['distinct_results']})"
        rerun = "" if r["rerun_identical"] else "  [a rerun in one process differed]"
        print(f"{name:<15}" + "".join(f"{r['hashes'][p][:8]:>11}" for p in points)
              + f"  {equal:<10}{differs:<17}{r['time_ratio_vs_baseline']:>11.2f}x  "
              + (", ".join(r["same_as_baseline_at"]) or "-") + rerun)
    print("modes: " + "; ".join(f"{name}: {report['modes'][name]['summary']}" for name in s["modes"]))


def _print_campaign(report: dict[str, Any]) -> None:
    s = report["setup"]
    counts = ", ".join(f"{e} {n}" for e, n in s["trace_counts"].items())
    print(f"grbench perf faults: {' '.join(s['suite_args'])}, SIG{s['signal']}, seed {s['seed']}; reference "
          f"trace {s['trace_events']} events ({counts}); work dir {s['root']}")
    print(f"kills done: {report['kills_done']}/{report['kills_requested']} "
          f"({', '.join(k['fault'] for k in report['kills'])})")
    print(f"runs lost: {len(report['runs_lost'])} of {report['reference_runs']}"
          + (f" ({', '.join(report['runs_lost'])})" if report["runs_lost"] else ""))
    print(f"half-written files: {report['incomplete_runs_after_kills']} incomplete run dirs after kills, "
          f"{len(report['incomplete_runs_at_end'])} at the end; {report['temp_entries_after_kills']} hidden "
          f"temporaries found after kills ({report['kills_leaving_temp_entries']} of {len(report['kills'])} kills "
          f"left some; readers ignore them), {len(report['temp_entries_at_end'])} left at the end")
    print(f"runs recomputed: {len(report['runs_recomputed'])}"
          + (f" ({', '.join(report['runs_recomputed'])})" if report["runs_recomputed"] else ""))
    identical = "yes" if report["checks"]["byte-identical to the reference"] else "NO"
    print(f"final per-query files and rankings byte-identical to the reference: {identical} "
          f"({report['files_compared'] - len(report['files_differing'])}/{report['files_compared']} files)"
          + (f"; differing: {', '.join(report['files_differing'])}" if report["files_differing"] else ""))
    for problem in report["problems"]:
        print(f"problem: {problem}")
    failed = [name for name, ok in report["checks"].items() if not ok]
    print("PASS" if not failed else f"FAIL: {', '.join(failed)}")

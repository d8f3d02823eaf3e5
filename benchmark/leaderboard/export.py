"""Export the suite's own runs as a leaderboard submission (``grbench submit``).

The runs of one method and configuration, one per seed, become a submission directory: their stored
rankings as ``rankings-seed<N>.parquet`` and a card filled from run.json (method, hyperparameters, budget,
hardware, data and SID configs, evaluation settings, hashes, and the stored means as claimed metrics). The
export goes through the same readers the validator uses, so an exported submission validates unchanged.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from benchmark import __version__
from benchmark.artifacts import atomic_dir, atomic_write_text, hash_json
from benchmark.errors import BenchmarkError
from benchmark.leaderboard.card import RunCard, card_from_dict, dump_card
from benchmark.leaderboard.errors import SubmissionError
from benchmark.leaderboard.submission import CARD_FILE, RankingTable, write_rankings
from benchmark.results import StoredRun, find_run_dirs, load_run, load_runs

log = logging.getLogger(__name__)

# run.json config sections that are not hyperparameters: data and evaluation settings (training_data /
# evaluation on the card), the seed (seeds) and the method's name (method.name / method.code).
_DATA_SECTIONS = ("seed", "dataset", "data", "sids", "eval", "method")


def find_runs(results_root: Path | str, experiment: str, method: str, profile: str | None = None) -> list[StoredRun]:
    """Runs of ``method`` in ``experiment`` under ``results_root/<profile>`` (every profile when None)."""
    root = Path(results_root)
    profiles = [root / profile] if profile else sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    runs = [r for p in profiles for r in load_runs(p, experiment) if r.result.method == method]
    if not runs:
        where = f"{root}/{profile}" if profile else str(root)
        raise BenchmarkError(f"No stored runs of method {method!r} in experiment {experiment!r} under {where}.")
    found = sorted({r.result.profile for r in runs})
    if len(found) > 1:
        raise BenchmarkError(f"Runs of {method!r} ({experiment}) exist in several profiles {found}; pick one "
                             f"with --profile.")
    return runs


def methods_in(results_root: Path | str, experiment: str, profile: str) -> list[str]:
    """The methods stored for ``experiment`` in one profile, in first-seen (stable) order."""
    runs = load_runs(Path(results_root) / profile, experiment)
    return list(dict.fromkeys(r.result.method for r in runs))


def load_run_dirs(paths: Sequence[Path | str]) -> list[StoredRun]:
    """``--run-dir`` arguments: each a run directory, or a profile directory (all its runs)."""
    runs: list[StoredRun] = []
    for path in map(Path, paths):
        runs.extend(load_run(p) for p in ([path] if (path / "run.json").is_file() else find_run_dirs(path)))
    if not runs:
        raise BenchmarkError(f"No finished run directories (with run.json) in {', '.join(map(str, paths))}.")
    return runs


def _one_config(runs: list[StoredRun]) -> list[StoredRun]:
    """One run per seed of a single configuration; configs filed twice (two experiments) count once."""
    keys = {hash_json({k: v for k, v in r.result.config.items() if k != "seed"}) for r in runs}
    first = runs[0].result
    if len(keys) > 1 or any(r.result.method != first.method or r.result.dataset != first.dataset for r in runs):
        raise BenchmarkError(
            "The runs to export differ in method, dataset or configuration (beyond the seed); a submission "
            "holds the seeds of one configuration. Select them with --experiment/--method/--profile."
        )
    by_seed: dict[int, StoredRun] = {}
    for run in runs:
        by_seed.setdefault(run.result.seed, run)
    return [by_seed[s] for s in sorted(by_seed)]


def card_for_runs(runs: list[StoredRun], name: str | None = None, description: str | None = None) -> RunCard:
    """A run card describing ``runs`` (one configuration, one run per seed)."""
    first = runs[0].result
    for run in runs[1:]:
        r = run.result
        if (r.hashes.test_hash, r.hashes.catalog_hash) != (first.hashes.test_hash, first.hashes.catalog_hash):
            raise BenchmarkError(f"Run {r.run_id} was scored on another test split or SID catalog than "
                                 f"{first.run_id}; they cannot form one submission.")
    budgets = [dataclasses.asdict(run.result.budget) for run in runs]
    hw = first.hardware
    split_hashes = {run.result.hashes.split_hash for run in runs}
    data = {
        "schema_version": 1,
        "benchmark_version": __version__,
        "method": {
            "name": name or first.method,
            "description": description or _method_description(first.method),
            "code": f"grbench:{first.method}",
            "hyperparameters": {k: v for k, v in first.config.items() if k not in _DATA_SECTIONS},
        },
        "seeds": [run.result.seed for run in runs],
        "budget": {
            "optimizer_steps": max(b["optimizer_steps"] for b in budgets),
            "batch_size": max(b["batch_size"] for b in budgets),
            "tokens": max(b["tokens"] for b in budgets),
            "flops": float(max(b["flops"] for b in budgets)),
            "examples_seen": max(b["examples_seen"] for b in budgets),
            "details": {f"seed{run.result.seed}": b for run, b in zip(runs, budgets)},
        },
        "hardware": f"{hw.cpu} ({hw.cores} cores)" + (f", {hw.gpu}" if hw.gpu else "") + f"; {hw.platform}",
        "training_data": {
            "dataset": first.dataset,
            "data": first.config.get("data", {}),
            "sids": first.config.get("sids", {}),
            "other": "none: the benchmark's own training and preference splits only",
        },
        "evaluation": first.config.get("eval", {}),
        "hashes": {
            "test_hash": first.hashes.test_hash,
            "catalog_hash": first.hashes.catalog_hash,
            # one split per seed would be a seed-dependent split; only a shared one is a claim about all seeds
            **({"split_hash": first.hashes.split_hash} if len(split_hashes) == 1 else {}),
        },
        "claimed_metrics": {run.result.seed: dict(run.result.metrics) for run in runs},
        "submitter": f"grbench reference runs ({first.profile}: {', '.join(r.result.run_id for r in runs)})",
    }
    return card_from_dict(data, "exported card")


def _method_description(method: str) -> str:
    try:
        from benchmark.methods import get_method

        return get_method(method).description
    except (ImportError, BenchmarkError, KeyError):
        return f"grbench's {method} method, trained by the benchmark's own trainer and budget."


def _table_from_frame(frame, source: str) -> RankingTable:
    return RankingTable(
        source=source,
        query_id=frame["query_id"].to_numpy(dtype=np.int64),
        rank=frame["rank"].to_numpy(dtype=np.int64),
        sid=pa.array(frame["sid"].tolist(), pa.string()),
        score=frame["score"].to_numpy(dtype=np.float64) if "score" in frame else None,
        item=None,
    )


def export_submission(
    runs: list[StoredRun], out: Path | str, *, name: str | None = None, description: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the submission of ``runs`` (one configuration) to ``out`` atomically; return ``out``."""
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise SubmissionError(f"{out} exists and is not empty; pass --force to replace it.")
    runs = _one_config(runs)
    card = card_for_runs(runs, name, description)
    with atomic_dir(out) as tmp:
        for run in runs:
            frame = run.rankings()
            if frame is None:
                raise SubmissionError(
                    f"Run {run.result.run_id} stored no rankings.parquet, so it cannot be submitted; rerun it "
                    f"with rankings kept."
                )
            write_rankings(tmp / f"rankings-seed{run.result.seed}.parquet",
                           _table_from_frame(frame, f"{run.result.run_id}/rankings.parquet"))
        atomic_write_text(tmp / CARD_FILE, dump_card(card))
    log.info("exported %s (%d seeds) to %s", card.method.name, len(runs), out)
    return out

"""Reference systems (the suite's stored runs) and the paired significance tests against them.

A *track* is what makes two sets of numbers comparable: the same dataset, test split (test_hash), SID catalog
(catalog_hash), beam width and the very same evaluated query ids. Submissions are tested only against
reference systems on their own track, and the leaderboard renders one table per track.

A reference system is one (method, configuration) of the suite's ``table1`` / ``games`` experiments, its
seeds pooled: per query, the metric is averaged over seeds before the paired test (the same is done for a
submission), so the test compares systems on the same queries, not seeds. A run filed under two experiments
(same compute config) counts once.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from benchmark.artifacts import hash_json
from benchmark.metrics.registry import TABLE1_METRICS, lower_is_better
from benchmark.results import REFERENCE_EXPERIMENTS, StoredRun, load_runs
from benchmark.stats import align_labels, compare_family, pool_seeds

log = logging.getLogger(__name__)

# The paper's Table 1 columns: tested against every reference system, Holm-corrected per metric.
SIGNIFICANCE_METRICS = TABLE1_METRICS
BASELINE_METHOD = "sft"
ALPHA = 0.05


@dataclasses.dataclass(frozen=True)
class Track:
    dataset: str
    test_hash: str
    catalog_hash: str
    beam_width: int
    queries_hash: str
    n_queries: int

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def queries_hash(query_ids: Iterable[int]) -> str:
    """Identity of an evaluated query set (order-free)."""
    return hash_json(sorted(int(q) for q in query_ids))


@dataclasses.dataclass(frozen=True)
class ReferenceSystem:
    """A suite method on one track. ``per_query[m]`` is (Q,) aligned with ``query_ids`` (sorted), averaged
    over seeds; ``seed_means[m]`` is (S,) the per-seed mean."""

    label: str
    method: str
    profile: str
    track: Track
    seeds: tuple[int, ...]
    run_ids: tuple[str, ...]
    query_ids: np.ndarray
    per_query: dict[str, np.ndarray]
    seed_means: dict[str, np.ndarray]
    budget: dict
    hardware: str
    # (Q,) query text of each id (the cluster of a clustered test), None for runs that stored no texts
    clusters: np.ndarray | None = None


def _beam_width(run: StoredRun) -> int:
    return int(run.result.config.get("eval", {}).get("beam_width", 128))


def _group_key(run: StoredRun) -> tuple:
    r = run.result
    config = {k: v for k, v in r.config.items() if k != "seed"}
    return (r.dataset, r.hashes.test_hash, r.hashes.catalog_hash, _beam_width(run), r.method, hash_json(config))


def load_references(
    results_root: Path | str | None, experiments: Sequence[str] = REFERENCE_EXPERIMENTS
) -> list[ReferenceSystem]:
    """Every reference system under ``results_root/<profile>/runs`` (profiles in name order)."""
    if results_root is None or not Path(results_root).is_dir():
        return []
    systems: list[ReferenceSystem] = []
    for profile in sorted(p for p in Path(results_root).iterdir() if p.is_dir() and (p / "runs").is_dir()):
        groups: dict[tuple, dict[int, StoredRun]] = {}
        for run in load_runs(profile):
            if run.result.experiment not in experiments:
                continue
            seeds = groups.setdefault(_group_key(run), {})
            seeds.setdefault(run.result.seed, run)   # load_runs order is stable: first filing wins
        for key in sorted(groups, key=repr):
            system = _system(profile.name, groups[key])
            if system is not None:
                systems.append(system)
    return _disambiguate(systems)


def _system(profile: str, runs_by_seed: Mapping[int, StoredRun]) -> ReferenceSystem | None:
    seeds = tuple(sorted(runs_by_seed))
    runs = [runs_by_seed[s] for s in seeds]
    frames = [run.per_query() for run in runs]
    seed_ids = [f["query_id"].to_numpy(dtype=np.int64) for f in frames]
    ids = np.sort(seed_ids[0])
    if any(not np.array_equal(np.sort(i), ids) for i in seed_ids[1:]):
        log.warning("reference %s/%s: seeds were scored on different queries; skipped",
                    profile, runs[0].result.method)
        return None
    metrics = [m for m in frames[0].columns if m in runs[0].result.metrics and all(m in f.columns for f in frames)]
    per_query = {m: pool_seeds(seed_ids, [f[m].to_numpy(dtype=np.float64) for f in frames])[1] for m in metrics}
    seed_means = {m: np.array([run.result.metrics[m] for run in runs], dtype=np.float64) for m in metrics}
    first = runs[0].result
    variant = ", ".join(f"{k}={v}" for k, v in sorted(first.variant.items()))
    hw = first.hardware
    return ReferenceSystem(
        label=first.method + (f" [{variant}]" if variant else ""),
        method=first.method,
        profile=profile,
        track=Track(first.dataset, first.hashes.test_hash, first.hashes.catalog_hash, _beam_width(runs[0]),
                    queries_hash(ids), int(ids.size)),
        seeds=seeds,
        run_ids=tuple(run.result.run_id for run in runs),
        query_ids=ids,
        per_query=per_query,
        seed_means=seed_means,
        budget=dataclasses.asdict(first.budget),
        hardware=f"{hw.cpu} ({hw.cores} cores)" + (f", {hw.gpu}" if hw.gpu else ""),
        clusters=(align_labels(ids, frames[0]["query_id"], frames[0]["query"].astype(str))
                  if "query" in frames[0].columns else None),
    )


def _disambiguate(systems: list[ReferenceSystem]) -> list[ReferenceSystem]:
    """Two systems with one label on one track (e.g. two profiles scoring the same queries) get the profile."""
    seen: dict[tuple, int] = {}
    for s in systems:
        seen[(s.track, s.label)] = seen.get((s.track, s.label), 0) + 1
    return [
        dataclasses.replace(s, label=f"{s.label} ({s.profile})") if seen[(s.track, s.label)] > 1 else s
        for s in systems
    ]


def on_track(systems: Iterable[ReferenceSystem], track: Track) -> list[ReferenceSystem]:
    return [s for s in systems if s.track == track]


@dataclasses.dataclass(frozen=True)
class Comparison:
    """System A (the submission) vs reference B on one metric: delta = mean_q(a_q - b_q); p two-sided,
    p_holm adjusted across the references compared on this metric."""

    reference: str
    metric: str
    delta: float
    pvalue: float
    pvalue_holm: float

    def verdict(self, alpha: float = ALPHA) -> str:
        """"better" / "worse" when significant at ``alpha`` after Holm (direction aware), else "n.s."."""
        if self.pvalue_holm > alpha or self.delta == 0:
            return "n.s."
        improved = self.delta < 0 if lower_is_better(self.metric) else self.delta > 0
        return "better" if improved else "worse"

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "verdict": self.verdict()}


def compare_to_references(
    per_query: Mapping[str, np.ndarray],
    references: Sequence[ReferenceSystem],
    metrics: Sequence[str] = SIGNIFICANCE_METRICS,
    n_resamples: int = 10_000,
    seed: int = 0,
    clusters: np.ndarray | None = None,
) -> list[Comparison]:
    """Paired permutation tests of ``per_query`` (aligned with the references' sorted query ids) against
    each reference, Holm-corrected across the references for each metric (``benchmark.stats.compare``).

    ``clusters``: the query text of each of those ids; signs are then flipped per query cluster (rows sharing
    a query are not independent). None falls back to a reference's own stored texts, else to per-row flips.
    """
    comparisons: list[Comparison] = []
    planned = [(m, [r for r in references if m in r.per_query]) for m in metrics if m in per_query]
    bar = tqdm(total=sum(len(refs) for _, refs in planned), desc="significance tests", unit="test",
               disable=None, leave=False)
    for metric, refs in planned:
        a = np.asarray(per_query[metric], dtype=np.float64)
        labels = [clusters if clusters is not None else r.clusters for r in refs]
        tested = compare_family([(a, r.per_query[metric]) for r in refs], n_resamples, seed, progress=bar.update,
                                clusters=labels)
        comparisons.extend(Comparison(r.label, metric, t.test.statistic, t.test.pvalue, t.pvalue_holm) for r, t in zip(refs, tested))
    bar.close()
    return comparisons

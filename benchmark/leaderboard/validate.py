"""The validator: recompute a submission's metrics from its rankings and accept it, or reject it.

Steps (the first failure rejects the submission and nothing is written):

1. layout: only the allowed plain files, no links, bounded sizes (``submission.scan_submission``);
2. card: safe YAML, schema, one rankings file per seed (``card``, ``submission.read_submission``);
3. rankings: typed, bounded parquet/CSV reads (``submission.read_rankings``);
4. provenance: rebuild the card's test split and SID catalog and compare test_hash / split_hash /
   catalog_hash (``target.resolve_target``);
5. per seed: ids, ranks, SIDs, scores, items (``checks.check_rankings``), then every metric recomputed with
   the benchmark's own ``benchmark.evaluation.score_rankings``;
6. claims: each claimed mean must equal the recomputed one within ``tolerance`` (1e-6);
7. significance: paired permutation tests against the reference systems on the same track, Holm-corrected;
8. the acceptance record ``validated.json`` is written atomically, fingerprinting the files it accepted and
   sealed with a content hash per field (``seal_record``): the board renders a record only if the files still
   match the fingerprints and every field still matches its hash (``record_mismatches``), and the CI gate
   (tests/leaderboard/test_submissions_ci.py) recomputes the whole record from the data and compares.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from benchmark import __version__
from benchmark.artifacts import atomic_write_json, canonical_json, sha256_file
from benchmark.config import check_number
from benchmark.evaluation import score_rankings
from benchmark.leaderboard.card import RunCard, card_to_dict
from benchmark.leaderboard.checks import check_rankings
from benchmark.leaderboard.errors import SubmissionError
from benchmark.leaderboard.references import (
    REFERENCE_EXPERIMENTS,
    SIGNIFICANCE_METRICS,
    Track,
    compare_to_references,
    load_references,
    on_track,
    queries_hash,
)
from benchmark.leaderboard.submission import (
    RECORD_FILE,
    Limits,
    SubmissionFiles,
    read_rankings,
    read_submission,
)
from benchmark.leaderboard.target import BenchmarkSource, EvaluationTarget, TargetSource, resolve_target
from benchmark.stats import align_labels, pool_seeds

log = logging.getLogger(__name__)

# 2: the record carries ``content_hashes`` (version 1 records had none and are not rendered any more).
RECORD_SCHEMA_VERSION = 2
HASHES_FIELD = "content_hashes"
CLAIM_TOLERANCE = 1e-6


@dataclasses.dataclass(frozen=True)
class ValidationOptions:
    """tolerance: largest |claimed - recomputed| accepted per metric; n_resamples / seed: the permutation
    test's; reference_experiments: which suite experiments provide reference systems."""

    tolerance: float = CLAIM_TOLERANCE
    n_resamples: int = 10_000
    seed: int = 0
    reference_experiments: tuple[str, ...] = REFERENCE_EXPERIMENTS
    limits: Limits = Limits()

    def __post_init__(self) -> None:
        check_number("ValidationOptions", "tolerance", self.tolerance, low=0.0)
        check_number("ValidationOptions", "n_resamples", self.n_resamples, low=1, integer=True)
        check_number("ValidationOptions", "seed", self.seed, low=0, integer=True)


def fingerprint(files: SubmissionFiles) -> dict[str, str]:
    """sha256 of every input file the record vouches for (the board refuses a record whose files changed)."""
    return {path.name: sha256_file(path) for path in files.inputs()}


def field_hash(value: Any) -> str:
    """sha256 of the canonical JSON of one record field (identical before writing and after reading back)."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def seal_record(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` plus ``content_hashes``: the hash of every other top-level field. With ``files`` (the sha256
    of the card and every rankings file) among them, the seal covers card + rankings + the validator's output."""
    body = {k: v for k, v in record.items() if k != HASHES_FIELD}
    return {**body, HASHES_FIELD: {k: field_hash(v) for k, v in sorted(body.items())}}


def record_mismatches(record: dict[str, Any]) -> list[str]:
    """Names of the record's fields that do not match its seal (changed, added or removed since validation);
    empty for an intact record. A missing or malformed seal is reported as ``content_hashes``."""
    hashes = record.get(HASHES_FIELD)
    if not isinstance(hashes, dict) or not all(isinstance(v, str) for v in hashes.values()):
        return [HASHES_FIELD]
    body = {k: v for k, v in record.items() if k != HASHES_FIELD}
    return sorted(k for k in set(body) | set(hashes) if k not in body or hashes.get(k) != field_hash(body[k]))


def validate_submission(
    directory: Path | str,
    *,
    source: TargetSource | None = None,
    data_dir: str | Path | None = None,
    results_root: Path | str | None = None,
    write: bool = True,
    options: ValidationOptions = ValidationOptions(),
) -> dict[str, Any]:
    """Validate the submission in ``directory``; on success return the acceptance record (and, if ``write``,
    store it as ``directory/validated.json``).

    Args:
        source: builds the card's split and catalog (default: ``BenchmarkSource(data_dir)``).
        results_root: where the suite's reference runs live (``results``); None = no significance tests.

    Raises:
        SubmissionError / ArtifactMismatchError / BenchmarkError naming the problem; nothing is written then.
    """
    files, card = read_submission(directory, options.limits)
    digests = fingerprint(files)
    tables = {seed: read_rankings(path, options.limits) for seed, path in files.rankings.items()}
    target = resolve_target(card, source or BenchmarkSource(data_dir))

    relevant = [set(map(int, r)) for r in target.queries["relevant"]]
    per_seed: dict[int, dict[str, np.ndarray]] = {}
    for seed, table in tables.items():
        beams = check_rankings(table, target, card.beam_width)
        per_seed[seed] = score_rankings(beams, relevant, target.catalog, target.eval_config)
        log.info("seed %d: %d queries scored from %s", seed, len(beams), table.source)
    check_claims(card, per_seed, options.tolerance)

    ids = [np.asarray(target.query_ids, dtype=np.int64)] * len(per_seed)   # pooled values come sorted by query id
    metric_names = list(next(iter(per_seed.values())))
    pooled = {m: pool_seeds(ids, [per_seed[s][m] for s in per_seed])[1] for m in metric_names}
    track = track_of(card, target)
    references = on_track(load_references(results_root, options.reference_experiments), track)
    # Test rows that share a query are not independent: signs flip per query text (the test split's own).
    clusters = (align_labels(ids[0], target.queries["query_id"], target.queries["query"].astype(str))
                if "query" in target.queries.columns else None)
    comparisons = compare_to_references(pooled, references, SIGNIFICANCE_METRICS, options.n_resamples,
                                        options.seed, clusters=clusters)
    record = acceptance_record(card, target, track, per_seed, digests, references, comparisons, options)
    if write:
        if fingerprint(files) != digests:
            raise SubmissionError("The submission's files changed while it was being validated; run it again.")
        atomic_write_json(files.root / RECORD_FILE, record)
        log.info("accepted: wrote %s", files.root / RECORD_FILE)
    return record


def track_of(card: RunCard, target: EvaluationTarget) -> Track:
    return Track(
        dataset=target.dataset,
        test_hash=target.test_hash,
        catalog_hash=target.catalog_hash,
        beam_width=card.beam_width,
        queries_hash=queries_hash(target.query_ids),
        n_queries=len(target.query_ids),
    )


def check_claims(card: RunCard, per_seed: dict[int, dict[str, np.ndarray]], tolerance: float) -> None:
    """Reject when a claimed mean differs from the recomputed mean by more than ``tolerance`` (all listed)."""
    problems: list[str] = []
    for seed, claims in card.claimed_metrics.items():
        recomputed = per_seed[seed]
        for name, claimed in claims.items():
            if name not in recomputed:
                problems.append(f"seed {seed}: {name!r} is not a benchmark metric (known: {', '.join(recomputed)})")
                continue
            actual = float(np.mean(recomputed[name]))
            if not abs(claimed - actual) <= tolerance:
                problems.append(
                    f"seed {seed}: {name} claimed {claimed:.6f}, recomputed {actual:.6f}, "
                    f"difference {claimed - actual:+.6f}"
                )
    if problems:
        raise SubmissionError(
            f"Claimed metrics do not match the metrics recomputed from the rankings (tolerance {tolerance:g}):\n  "
            + "\n  ".join(problems)
        )


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def acceptance_record(
    card: RunCard,
    target: EvaluationTarget,
    track: Track,
    per_seed: dict[int, dict[str, np.ndarray]],
    digests: dict[str, str],
    references: list,
    comparisons: list,
    options: ValidationOptions,
) -> dict[str, Any]:
    """The JSON written to validated.json: deterministic (no timestamps) for identical inputs, sealed."""
    seeds = sorted(per_seed)
    names = list(per_seed[seeds[0]])
    seed_means = {m: [float(np.mean(per_seed[s][m])) for s in seeds] for m in names}
    std = {m: float(np.std(v, ddof=1)) if len(v) > 1 else math.nan for m, v in seed_means.items()}
    notes = []
    if card.benchmark_version != __version__:
        notes.append(f"card made with grbench {card.benchmark_version}, validated with {__version__}; "
                     f"the hashes matched, so the split and catalog are the same")
    if not references:
        notes.append("no reference runs on this track were found; no significance tests were run")
    return seal_record({
        "schema_version": RECORD_SCHEMA_VERSION,
        "status": "accepted",
        "validator": f"grbench {__version__}",
        "method": card.method.name,
        "card": card_to_dict(card),
        "track": track.to_dict(),
        "split_hash": target.split_hash,
        "files": digests,
        "seeds": seeds,
        "metrics": {
            "mean": {m: float(np.mean(v)) for m, v in seed_means.items()},
            "std": {m: _finite_or_none(v) for m, v in std.items()},
            "per_seed": {str(s): {m: seed_means[m][i] for m in names} for i, s in enumerate(seeds)},
        },
        "claims_checked": {str(s): sorted(c) for s, c in card.claimed_metrics.items()},
        "claim_tolerance": options.tolerance,
        "significance": {
            "test": "paired sign-flip permutation test, two-sided, on per-query metrics averaged over seeds",
            "n_resamples": options.n_resamples,
            "seed": options.seed,
            "correction": "Holm across the reference systems, per metric",
            "references": [
                {"label": r.label, "method": r.method, "profile": r.profile, "seeds": list(r.seeds),
                 "run_ids": list(r.run_ids)}
                for r in references
            ],
            "comparisons": [c.to_dict() for c in comparisons],
        },
        "notes": notes,
    })

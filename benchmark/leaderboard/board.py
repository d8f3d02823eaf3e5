"""The rendered leaderboard: accepted submissions plus the suite's reference systems, one table per track.

A pure function of stored files: ``results/submissions/*/validated.json`` and the reference runs under
``results/<profile>/runs``. A record is rendered only when it re-verifies: its file fingerprints match the
submission's card and rankings, every field matches the content hash the validator sealed it with (so a hand
edit of the method, metrics or verdict is refused, naming the directory and the changed fields), and it
agrees with the card (re-read and re-checked here: the row's name and code come from the card). Recomputing
the metrics themselves needs the dataset, so that is the CI gate's job (test_submissions_ci.py), not the
board's. Every text that comes from a submission is escaped on render (``escape``).
Rows are sorted by the primary metric, item-level Recall@100 (the paper's headline retrieval metric, at the
item level so that SID schemes with different collision rates stay comparable), descending, then by name;
output is byte-identical for identical inputs (no timestamps, fixed float formatting).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmark.artifacts import atomic_write_text
from benchmark.errors import BenchmarkError
from benchmark.leaderboard.card import MAX_CARD_BYTES, RunCard, card_to_dict
from benchmark.leaderboard.escape import csv_text, markdown_code, markdown_text
from benchmark.leaderboard.references import (
    ALPHA,
    BASELINE_METHOD,
    REFERENCE_EXPERIMENTS,
    Comparison,
    ReferenceSystem,
    Track,
    compare_to_references,
    load_references,
)
from benchmark.leaderboard.submission import RECORD_FILE, read_submission
from benchmark.leaderboard.validate import (
    RECORD_SCHEMA_VERSION,
    field_hash,
    fingerprint,
    record_mismatches,
)
from benchmark.metrics.registry import TABLE1_METRICS, board_header, lower_is_better

log = logging.getLogger(__name__)

PRIMARY_METRIC = "item_recall@100"
# Table 1 of the paper, in its column order; the primary metric is shown first.
BOARD_METRICS = (PRIMARY_METRIC, *(m for m in TABLE1_METRICS if m != PRIMARY_METRIC))

MAX_RECORD_BYTES = 4 * MAX_CARD_BYTES


@dataclasses.dataclass(frozen=True)
class BoardEntry:
    """One row. ``vs_sft`` is the Holm-adjusted comparison with the SFT reference on the primary metric."""

    track: Track
    name: str
    kind: str                         # "reference" or "submission"
    source: str                       # profile (reference) or submission directory name
    seeds: int
    mean: dict[str, float]
    std: dict[str, float | None]
    vs_sft: Comparison | None
    code: str


# ------------------------------------------------------------------------------------------------ inputs
def reference_entries(systems: Sequence[ReferenceSystem], primary: str = PRIMARY_METRIC) -> list[BoardEntry]:
    """Reference rows; each non-SFT system is tested against its track's SFT system (raw p-values: the
    Holm correction is applied over the whole track by ``adjust_per_track``)."""
    entries: list[BoardEntry] = []
    for track in sorted({s.track for s in systems}, key=_track_order):
        members = [s for s in systems if s.track == track]
        baseline = _baseline(members)
        for s in members:
            test = None
            if baseline is not None and s is not baseline and primary in s.per_query and primary in baseline.per_query:
                [test] = compare_to_references({primary: s.per_query[primary]}, [baseline], [primary],
                                               clusters=s.clusters)
            entries.append(BoardEntry(
                track=track, name=s.label, kind="reference", source=s.profile, seeds=len(s.seeds),
                mean={m: float(np.mean(v)) for m, v in s.seed_means.items()},
                std={m: float(np.std(v, ddof=1)) if v.size > 1 else None for m, v in s.seed_means.items()},
                vs_sft=test, code=f"grbench:{s.method}",
            ))
    return entries


def _baseline(members: Sequence[ReferenceSystem]) -> ReferenceSystem | None:
    return next((s for s in members if s.method == BASELINE_METHOD and s.label == BASELINE_METHOD), None)


def adjust_per_track(entries: Sequence[BoardEntry]) -> list[BoardEntry]:
    """Holm over every row of a track that has a test against SFT (references and submissions together:
    one family per rendered table, so one system gets one p-value however it entered the board)."""
    from benchmark.stats import holm

    out = list(entries)
    for track in {e.track for e in entries}:
        tested = [i for i, e in enumerate(out) if e.track == track and e.vs_sft is not None]
        if not tested:
            continue
        adjusted = holm([out[i].vs_sft.pvalue for i in tested])
        for i, p in zip(tested, adjusted):
            out[i] = dataclasses.replace(out[i], vs_sft=dataclasses.replace(out[i].vs_sft, pvalue_holm=float(p)))
    return out


def submission_entries(
    root: Path | str, systems: Sequence[ReferenceSystem], primary: str = PRIMARY_METRIC
) -> tuple[list[BoardEntry], list[tuple[str, str]]]:
    """Rows of accepted submissions under ``root`` and (name, reason) for every directory left out."""
    root = Path(root)
    entries: list[BoardEntry] = []
    skipped: list[tuple[str, str]] = []
    if not root.is_dir():
        return entries, skipped
    for path in sorted(root.iterdir(), key=lambda p: p.name):
        if path.name.startswith(".") or (path.is_file() and not path.is_symlink()):
            continue                                  # README.md and the like, and hidden entries
        try:
            entries.append(_submission_entry(path, systems, primary))
        # a hostile record is JSON of any shape: a wrong type anywhere leaves that submission out, not the board
        except (BenchmarkError, OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            reason = str(exc).splitlines()[0]
            log.warning("leaderboard: %s left out: %s", path.name, reason)
            skipped.append((path.name, reason))
    return entries, skipped


def _submission_entry(path: Path, systems: Sequence[ReferenceSystem], primary: str) -> BoardEntry:
    files, card = read_submission(path)               # refuses links, unknown/oversized files; re-checks the card
    if not files.has_record:
        raise BenchmarkError("not validated (no validated.json): run `grbench validate` on it")
    record = _read_record(path)
    if record.get("files") != fingerprint(files):
        raise BenchmarkError("files changed since validation (fingerprints differ): validate it again")
    changed = record_mismatches(record)
    if changed:
        raise BenchmarkError(
            f"{path.name}/{RECORD_FILE} does not match its content hashes (changed since validation: "
            f"{', '.join(changed)}); a record edited by hand is not rendered: run `grbench validate` on it"
        )
    _check_record_against_card(path, record, card)
    track = Track(**record["track"])
    metrics = record["metrics"]
    return BoardEntry(
        track=track, name=card.method.name, kind="submission", source=path.name,
        seeds=len(record["seeds"]), mean={k: float(v) for k, v in metrics["mean"].items()},
        std={k: (None if v is None else float(v)) for k, v in metrics["std"].items()},
        vs_sft=_recorded_vs_sft(record, systems, track, primary), code=card.method.code,
    )


def _read_record(path: Path) -> dict:
    record_path = path / RECORD_FILE
    if os.lstat(record_path).st_size > MAX_RECORD_BYTES:
        raise BenchmarkError("validated.json is too large to be an acceptance record")
    record = json.loads(record_path.read_text(encoding="utf-8"))
    if not isinstance(record, dict) or record.get("status") != "accepted":
        raise BenchmarkError("validated.json does not record an acceptance")
    if record.get("schema_version") != RECORD_SCHEMA_VERSION:
        raise BenchmarkError(
            f"{path.name}/{RECORD_FILE} has record schema_version {record.get('schema_version')!r}; this grbench "
            f"renders version {RECORD_SCHEMA_VERSION} (sealed with content hashes): run `grbench validate` on it"
        )
    return record


def _check_record_against_card(path: Path, record: dict, card: RunCard) -> None:
    """What the board can recompute without the dataset: the record must describe the card it vouches for."""
    track = record["track"]
    expected = {
        "method": card.method.name,
        "card": card_to_dict(card),
        "seeds": sorted(card.seeds),
        "track.dataset": card.training_data.dataset,
        "track.test_hash": card.hashes.test_hash,
        "track.catalog_hash": card.hashes.catalog_hash,
        "track.beam_width": card.beam_width,
    }
    found = {k: track.get(k.split(".", 1)[1]) if k.startswith("track.") else record.get(k) for k in expected}
    differ = [k for k in expected if field_hash(found[k]) != field_hash(expected[k])]   # tuples == lists in JSON
    if differ:
        raise BenchmarkError(
            f"{path.name}/{RECORD_FILE} does not describe its card.yaml (field(s) {', '.join(differ)} differ); "
            f"run `grbench validate` on it"
        )


def _recorded_vs_sft(record: dict, systems: Sequence[ReferenceSystem], track: Track, primary: str) -> Comparison | None:
    """The validator's raw test against SFT, used only if it was run against the SFT runs stored now."""
    baseline = _baseline([s for s in systems if s.track == track])
    if baseline is None:
        return None
    significance = record["significance"]
    used = {r["label"]: r["run_ids"] for r in significance["references"]}
    if used.get(BASELINE_METHOD) != list(baseline.run_ids):
        return None
    for c in significance["comparisons"]:
        if c["reference"] == BASELINE_METHOD and c["metric"] == primary:
            return Comparison(c["reference"], c["metric"], float(c["delta"]), float(c["pvalue"]), float(c["pvalue"]))
    return None


# ------------------------------------------------------------------------------------------------ render
def _track_order(track: Track) -> tuple:
    return (track.dataset, -track.n_queries, track.beam_width, track.test_hash, track.catalog_hash,
            track.queries_hash)


def _row_order(entry: BoardEntry, primary: str) -> tuple:
    value = entry.mean.get(primary, math.nan)
    sign = 1.0 if lower_is_better(primary) else -1.0
    return (math.isnan(value), sign * value if not math.isnan(value) else 0.0, entry.name, entry.kind, entry.source)


def _marker(entry: BoardEntry) -> str:
    if entry.kind == "reference" and entry.name == BASELINE_METHOD:
        return "baseline"
    if entry.vs_sft is None:
        return "n/a"
    return {"better": "▲", "worse": "▼"}.get(entry.vs_sft.verdict(), "")


def _verdict(entry: BoardEntry) -> str:
    """The CSV's words for the Markdown markers: baseline, n/a, better, worse, n.s."""
    marker = _marker(entry)
    return marker if marker in ("baseline", "n/a") else entry.vs_sft.verdict()


def _cell(entry: BoardEntry, metric: str) -> str:
    if metric not in entry.mean:
        return "—"
    std = entry.std.get(metric)
    return f"{entry.mean[metric]:.4f}" + (f" ± {std:.4f}" if std is not None else "")


def render_markdown(entries: Sequence[BoardEntry], skipped: Sequence[tuple[str, str]] = (),
                    primary: str = PRIMARY_METRIC) -> str:
    metrics = [primary] + [m for m in BOARD_METRICS if m != primary]
    lines = [
        "# Leaderboard",
        "",
        "Generated by `grbench leaderboard` from accepted submissions (`results/submissions/`, each validated by "
        "`grbench validate`, which recomputes every metric from the submitted rankings) and the suite's "
        "reference runs (`results/<profile>/runs/`). Do not edit by hand.",
        "",
        f"Sorted by **{board_header(primary)}** ({primary}, mean over seeds ± std across seeds). "
        f"Column *vs SFT*: ▲ / ▼ = significantly better / worse than the SFT reference on {primary} "
        f"(paired sign-flip permutation test on per-query values averaged over seeds, two-sided, Holm-corrected, "
        f"α = {ALPHA}); blank = not significant; n/a = no test available. Halluc. = hallucination rate "
        "(lower is better). Each table is one track: the same dataset, test split, SID catalog, beam width and "
        "evaluated queries.",
        "",
    ]
    tracks = sorted({e.track for e in entries}, key=_track_order)
    if not tracks:
        lines += ["No accepted submissions or reference runs yet.", ""]
    for track in tracks:
        rows = sorted((e for e in entries if e.track == track), key=lambda e: _row_order(e, primary))
        lines += [
            f"## {markdown_text(track.dataset)} · {track.n_queries} test queries · beam width {track.beam_width}",
            "",
            f"test_hash {markdown_code(track.test_hash)} · catalog_hash {markdown_code(track.catalog_hash)} · "
            f"queries {markdown_code(track.queries_hash)}",
            "",
            "| # | Method | Type | Seeds | " + " | ".join(board_header(m) for m in metrics) + " | vs SFT |",
            "|---:|---|---|---:|" + "---:|" * len(metrics) + ":---:|",
        ]
        for i, e in enumerate(rows, 1):
            kind = "reference" if e.kind == "reference" else f"submission ({markdown_code(e.source)})"
            cells = " | ".join(_cell(e, m) for m in metrics)
            lines.append(f"| {i} | {markdown_text(e.name)} | {kind} | {e.seeds} | {cells} | {_marker(e)} |")
        lines.append("")
    if skipped:
        lines += ["## Not shown", ""]
        lines += [f"- {markdown_code(name)}: {markdown_text(reason)}" for name, reason in skipped]
        lines.append("")
    return "\n".join(lines)


def render_csv(entries: Sequence[BoardEntry], primary: str = PRIMARY_METRIC) -> str:
    metrics = [primary] + [m for m in BOARD_METRICS if m != primary]
    buffer = io.StringIO()
    # QUOTE_MINIMAL quotes "," and '"'; text cells go through csv_text (no control characters, no formulas)
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(["dataset", "n_queries", "beam_width", "test_hash", "catalog_hash", "queries_hash", "rank",
                     "method", "type", "source", "seeds"]
                    + [f"{m}{suffix}" for m in metrics for suffix in ("", "_std")]
                    + ["vs_sft", "vs_sft_delta", "vs_sft_pvalue_holm"])
    for track in sorted({e.track for e in entries}, key=_track_order):
        rows = sorted((e for e in entries if e.track == track), key=lambda e: _row_order(e, primary))
        for i, e in enumerate(rows, 1):
            values = []
            for m in metrics:
                std = e.std.get(m)
                values += [f"{e.mean[m]:.6f}" if m in e.mean else "", f"{std:.6f}" if std is not None else ""]
            c = e.vs_sft
            hashes = [csv_text(h) for h in (track.test_hash, track.catalog_hash, track.queries_hash)]
            writer.writerow(
                [csv_text(track.dataset), track.n_queries, track.beam_width, *hashes, i,
                 csv_text(e.name), csv_text(e.kind), csv_text(e.source), e.seeds, *values,
                 csv_text(_verdict(e)), "" if c is None else f"{c.delta:.6f}",
                 "" if c is None else f"{c.pvalue_holm:.6g}"]
            )
    return buffer.getvalue()


def build_leaderboard(
    submissions_root: Path | str, results_root: Path | str | None, primary: str = PRIMARY_METRIC,
    reference_experiments: Sequence[str] = REFERENCE_EXPERIMENTS,
) -> tuple[list[BoardEntry], list[tuple[str, str]]]:
    systems = load_references(results_root, tuple(reference_experiments))
    entries, skipped = submission_entries(submissions_root, systems, primary)
    return adjust_per_track(reference_entries(systems, primary) + entries), skipped


def write_leaderboard(
    out: Path | str, submissions_root: Path | str, results_root: Path | str | None,
    primary: str = PRIMARY_METRIC, reference_experiments: Sequence[str] = REFERENCE_EXPERIMENTS,
) -> tuple[Path, Path]:
    """Render ``out`` (Markdown) and ``out`` with suffix .csv, atomically; return both paths."""
    entries, skipped = build_leaderboard(submissions_root, results_root, primary, reference_experiments)
    out = Path(out)
    csv_path = out.with_suffix(".csv")
    atomic_write_text(out, render_markdown(entries, skipped, primary))
    atomic_write_text(csv_path, render_csv(entries, primary))
    return out, csv_path

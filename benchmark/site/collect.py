"""What the site shows, read from a results root: boards, runs per method, submissions, rendered tables.

A board is one track (dataset, data protocol, test split, SID catalog, beam width, evaluated queries) and is
read from what ``grbench tables`` stored for it: ``<profile>/tables/table1.csv`` (and ``-seen`` / ``-unseen``),
whose cells carry the mean, the seed spread and the Holm-adjusted significance marks (``benchmark.tables``).
The site recomputes no statistic: a mark on a board is the mark in the committed table. Accepted leaderboard
submissions on the same track join the board through the leaderboard's own reader, which re-verifies each
record (``benchmark.leaderboard.board.submission_entries``); their marks are the validator's sealed tests.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import logging
from pathlib import Path

from benchmark.leaderboard.board import BoardEntry, submission_entries
from benchmark.leaderboard.references import load_references
from benchmark.metrics.registry import lower_is_better
from benchmark.results import StoredRun, load_runs
from benchmark.site.families import family_of
from benchmark.tables.markers import LOOKUP_MARK, SFT_MARK

log = logging.getLogger(__name__)

BOARD_EXPERIMENTS = ("table1", "games")
VIEWS = ("all", "seen", "unseen")           # table1.csv, table1-seen.csv, table1-unseen.csv
SFT_KEY = "sft"                             # the budget-matched SFT row the † marks compare with
LOOKUP_KEY = "query-lookup"                 # the non-learned lookup row the § marks compare with
PAPER_ROW = "paper:"                        # row keys of the paper's reported numbers (not comparable in level)
REFERENCES = {"sft": (SFT_KEY, SFT_MARK), "lookup": (LOOKUP_KEY, LOOKUP_MARK)}


@dataclasses.dataclass(frozen=True)
class Track:
    dataset: str
    protocol: int
    test_hash: str
    catalog_hash: str
    beam_width: int
    n_queries: int


@dataclasses.dataclass(frozen=True)
class Column:
    key: str
    title: str
    group: str
    lower_is_better: bool


@dataclasses.dataclass(frozen=True)
class Cell:
    value: float | None
    text: str
    marks: str = ""
    # reference ("sft" / "lookup") -> "better" / "worse" / "n.s." / "reference"; absent = no test
    verdicts: dict[str, str] = dataclasses.field(default_factory=dict)
    pvalues: str = ""


@dataclasses.dataclass
class Row:
    key: str
    label: str
    family: str
    kind: str                                  # "reference" or "submission"
    source: str                                # profile, or the submission's directory name
    seeds: int
    cells: dict[str, dict[str, Cell]]          # view -> column key -> cell
    page: str                                  # site-relative page of the method or submission


@dataclasses.dataclass
class Board:
    slug: str
    profile: str
    experiment: str
    title: str
    track: Track
    columns: list[Column]
    rows: list[Row]
    notes: list[str]
    primary: str


@dataclasses.dataclass(frozen=True)
class Submission:
    """An accepted leaderboard submission (``entry``) and its files; ``slug`` names its pages and files, so
    nothing the submitter chose (the directory name included) becomes a path or a URL."""

    slug: str
    path: Path
    entry: BoardEntry
    record: dict
    card_text: str


@dataclasses.dataclass
class Site:
    root: Path
    boards: list[Board]
    runs: dict[str, list[StoredRun]]           # profile -> runs
    submissions: list[Submission]
    skipped: list[tuple[str, str]]             # submissions left out: (directory name, reason)
    profiles: list[str]


def slug_of(name: str, prefix: str = "sub") -> str:
    return f"{prefix}-{hashlib.sha256(name.encode('utf-8', 'surrogateescape')).hexdigest()[:12]}"


def profile_dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / "runs").is_dir()) if root.is_dir() else []


def collect(root: Path | str) -> Site:
    root = Path(root)
    profiles = profile_dirs(root)
    runs = {p.name: load_runs(p) for p in profiles}
    systems = load_references(root)
    entries, skipped = submission_entries(root / "submissions", systems)
    submissions = [_submission(root / "submissions" / e.source, e) for e in entries]
    boards = []
    for profile in profiles:
        for experiment in BOARD_EXPERIMENTS:
            board = _board(profile, experiment, [r for r in runs[profile.name] if r.result.experiment == experiment],
                           submissions)
            if board is not None:
                boards.append(board)
    return Site(root, boards, runs, submissions, skipped, [p.name for p in profiles])


def _submission(path: Path, entry: BoardEntry) -> Submission:
    record = json.loads((path / "validated.json").read_text(encoding="utf-8"))
    card = (path / "card.yaml").read_text(encoding="utf-8")
    return Submission(slug_of(path.name), path, entry, record, card)


def track_of(run: StoredRun) -> Track:
    r = run.result
    return Track(r.dataset, r.protocol, r.hashes.test_hash,
                 r.hashes.catalog_hash, int(r.config.get("eval", {}).get("beam_width", 128)), r.n_queries)


def read_table_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _board(profile: Path, experiment: str, runs: list[StoredRun], submissions: list[Submission]) -> Board | None:
    tables = profile / "tables"
    if not runs or not (tables / f"{experiment}.csv").is_file():
        return None
    tracks = sorted({track_of(r) for r in runs}, key=repr)
    if len(tracks) != 1:
        log.warning("site: %s/%s spans %d tracks; no board rendered", profile.name, experiment, len(tracks))
        return None
    [track] = tracks
    views = {v: read_table_csv(tables / f"{experiment}{'' if v == 'all' else '-' + v}.csv") for v in VIEWS
             if (tables / f"{experiment}{'' if v == 'all' else '-' + v}.csv").is_file()}
    columns = _columns(views["all"])
    rows = _reference_rows(views, profile.name)
    primary = _primary(columns)
    reference_runs = {key: sorted(r.result.run_id for r in runs if r.result.method == key and not r.result.variant)
                      for key, _ in REFERENCES.values()}
    rows += [_submission_row(s, columns, reference_runs) for s in submissions if _on_track(s.entry, track)]
    title = (f"{track.dataset} · protocol {track.protocol} · {track.n_queries:,} test queries · "
             f"beam {track.beam_width} ({profile.name})")
    notes = _notes(tables / f"{experiment}.md")
    slug = f"board-{profile.name}-{experiment}"
    return Board(slug, profile.name, experiment, title, track, columns, rows, notes, primary)


def _on_track(entry: BoardEntry, track: Track) -> bool:
    t = entry.track
    return (t.dataset, t.test_hash, t.catalog_hash, t.beam_width, t.n_queries) == (
        track.dataset, track.test_hash, track.catalog_hash, track.beam_width, track.n_queries)


def _columns(cells: list[dict[str, str]]) -> list[Column]:
    seen: dict[str, Column] = {}
    for c in cells:
        if c["column_key"] not in seen:
            seen[c["column_key"]] = Column(c["column_key"], c["column"], c["group"], _lower(c["column_key"]))
    return list(seen.values())


def _lower(metric: str) -> bool:
    try:
        return lower_is_better(metric)
    except Exception:        # a column that is not a registered metric sorts high-first
        return False


def _primary(columns: list[Column]) -> str:
    """The headline column: the leaderboard's primary metric when the table has it, else the first column
    where higher is better (protocol 2: the ordered item's HR@10)."""
    from benchmark.leaderboard import PRIMARY_METRIC

    keys = [c.key for c in columns]
    if PRIMARY_METRIC in keys:
        return PRIMARY_METRIC
    return next((c.key for c in columns if not c.lower_is_better), keys[0])


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _reference_rows(views: dict[str, list[dict[str, str]]], profile: str) -> list[Row]:
    rows: dict[str, Row] = {}
    for view, cells in views.items():
        by_key = {(c["row_key"], c["column_key"]): c for c in cells}
        for c in cells:
            key = c["row_key"]
            if key.startswith(PAPER_ROW):
                continue                       # the paper's reported rows: on the paper-table pages only
            row = rows.setdefault(key, Row(key, c["row"], family_of(key), "reference", profile,
                                           int(c["n_seeds"] or 0), {}, f"methods/{key}.html"))
            value = _number(c["value"])
            verdicts = {}
            for name, (ref_key, mark) in REFERENCES.items():
                ref = by_key.get((ref_key, c["column_key"]))
                if ref is None:
                    continue
                if key == ref_key:
                    verdicts[name] = "reference"
                elif f"{mark}=" in c["p_adjusted"]:
                    verdicts[name] = _direction(value, _number(ref["value"]), c["column_key"], mark in c["marks"])
            row.cells.setdefault(view, {})[c["column_key"]] = Cell(value, c["text"], c["marks"], verdicts,
                                                                    c["p_adjusted"])
    return list(rows.values())


def _direction(value: float | None, reference: float | None, metric: str, significant: bool) -> str:
    """A significant mark's direction, read from the means as the tables' legend says."""
    if not significant or value is None or reference is None or value == reference:
        return "n.s."
    improved = value < reference if _lower(metric) else value > reference
    return "better" if improved else "worse"


def _submission_row(sub: Submission, columns: list[Column], reference_runs: dict[str, list[str]]) -> Row:
    """A submission's cells; a mark only from a test the validator ran against the reference runs stored now
    (as the leaderboard does for its vs-SFT column)."""
    e = sub.entry
    significance = sub.record.get("significance", {})
    used = {r.get("label"): sorted(r.get("run_ids", [])) for r in significance.get("references", [])}
    current = {key for key, runs in reference_runs.items() if runs and used.get(key) == runs}
    comparisons = [c for c in significance.get("comparisons", []) if c.get("reference") in current]
    cells = {}
    for column in columns:
        if column.key not in e.mean:
            continue
        std = e.std.get(column.key)
        text = f"{e.mean[column.key]:.4f}" + (f" ± {std:.4f}" if std is not None else "")
        verdicts, pvalues = {}, []
        for c in comparisons:
            if c.get("metric") != column.key:
                continue
            for name, (ref_key, mark) in REFERENCES.items():
                if c.get("reference") == ref_key and c.get("verdict") in ("better", "worse", "n.s."):
                    verdicts[name] = str(c["verdict"])
                    pvalues.append(f"{mark}={float(c['pvalue_holm']):.6g}")
        marks = "".join(REFERENCES[n][1] for n in REFERENCES if verdicts.get(n) in ("better", "worse"))
        cells[column.key] = Cell(float(e.mean[column.key]), text, marks, verdicts, ";".join(pvalues))
    return Row(e.name, e.name, "submission", "submission", e.source, e.seeds, {"all": cells},
               f"submissions/{sub.slug}.html")


def _notes(markdown_table: Path) -> list[str]:
    """The bullet notes under the table in its Markdown file (legend, protocol, paper rows)."""
    if not markdown_table.is_file():
        return []
    notes: list[str] = []
    for line in markdown_table.read_text(encoding="utf-8").splitlines():
        if line.startswith("### ") and notes:
            break                                   # the first table's notes only
        if line.startswith("- "):
            notes.append(line[2:])
    return notes

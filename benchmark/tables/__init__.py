"""The paper's tables and figures as pure functions of stored results (DESIGN.md section 8).

``render_all(results_dir, out_dir)`` reads every finished run of one profile directory
(``<results_root>/<profile>``, holding ``runs/``), builds each table whose experiment has runs and writes
``<out_dir>/<name>.md``, ``.tex``, ``.csv`` (and ``fig2.png``) plus an index ``<out_dir>/README.md``. Nothing
else is read: no training, no clock, no machine state, so a rerun on the same runs is byte-identical.

    table1  methods + RAD-DPO ablations (experiment table1), with the paper's Table 1 alongside
    table2  model-size ladder x {SFT, DPO, RAD-DPO} (table2), with the paper's Table 2 alongside
    fig2    preference-data fraction -> relative improvement over SFT (fig2), PNG + table
    noise   click-noise sweep (noise), beyond the paper
    games   Table 1 layout on amazon18-games (games)
    rl      reward-guided alignment: the GRPO family vs continued SFT and RAD-DPO (rl), beyond the paper

The tables are the registered experiments (``benchmark.experiments``), in registration order: each
experiment's ``build_table`` builds its table, and its optional ``figure`` renders ``<name>.png``.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from benchmark.artifacts import atomic_write_bytes, atomic_write_text
from benchmark.results import load_runs
from benchmark.tables.collect import ExperimentRuns
from benchmark.tables.markers import SignificanceConfig
from benchmark.tables.render import Cell, Column, Row, Table, to_csv, to_latex, to_markdown

log = logging.getLogger(__name__)

OUTPUT_SUFFIXES = (".md", ".tex", ".csv", ".png")
CURVE_FILES = ("{name}-curves.csv", "{name}-curves.png", "{name}-frontier.png")
SUBSET_TITLES = {"-seen": "test queries seen in training", "-unseen": "test queries held out of training"}
INDEX = "README.md"

__all__ = [
    "Cell",
    "Column",
    "Rendered",
    "RenderSummary",
    "Row",
    "SignificanceConfig",
    "Table",
    "build_table",
    "experiment_tables",
    "render_all",
    "table_names",
    "to_csv",
    "to_latex",
    "to_markdown",
]


@dataclasses.dataclass(frozen=True)
class Rendered:
    name: str
    title: str
    files: tuple[str, ...]
    runs: int
    methods: tuple[str, ...]
    seeds: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class RenderSummary:
    out_dir: Path
    rendered: tuple[Rendered, ...]
    skipped: tuple[tuple[str, str], ...]  # (table, reason)
    n_runs: int

    @property
    def files(self) -> tuple[str, ...]:
        """Every file written, relative to ``out_dir`` (the index README.md last; none when nothing rendered)."""
        names = tuple(f for item in self.rendered for f in item.files)
        return (*names, INDEX) if names else ()

    def __len__(self) -> int:
        return len(self.files)


def table_names() -> tuple[str, ...]:
    """One table per registered experiment, in registration order."""
    from benchmark.experiments import experiment_names

    return experiment_names()


def build_table(
    name: str, experiment: ExperimentRuns, significance: SignificanceConfig, paper_dir: Path | None = None
) -> Table:
    """Build table ``name`` from the runs of its experiment (an unknown name fails with suggestions)."""
    from benchmark.experiments import get_experiment

    return get_experiment(name).build_table(experiment, significance, paper_dir)


def render_all(
    results_dir: Path | str,
    out_dir: Path | str,
    *,
    paper_dir: Path | str | None = None,
    significance: SignificanceConfig | None = None,
) -> RenderSummary:
    """Render every table whose experiment has runs under ``results_dir`` (a profile directory) to ``out_dir``.

    Missing experiments are skipped with a logged note (and their stale outputs in ``out_dir`` removed); with
    no runs at all nothing is written.
    """
    results_dir, out_dir = Path(results_dir), Path(out_dir)
    significance = significance or SignificanceConfig()
    paper = Path(paper_dir) if paper_dir is not None else None
    from benchmark.experiments import get_experiment

    names = table_names()
    runs = load_runs(results_dir)
    if not runs:
        log.warning("no finished runs under %s: nothing rendered", results_dir)
        return RenderSummary(out_dir, (), tuple((n, "no runs") for n in names), 0)

    rendered: list[Rendered] = []
    skipped: list[tuple[str, str]] = []
    sections: list[str] = []
    for name in names:
        experiment = ExperimentRuns(name, [r for r in runs if r.result.experiment == name])
        if not len(experiment):
            reason = f"no runs of experiment {name!r}"
            log.info("skipping %s: %s under %s", name, reason, results_dir)
            skipped.append((name, reason))
            _remove_stale(out_dir, name)
            continue
        log.info("rendering %s from %d runs", name, len(experiment))
        registered = get_experiment(name)
        for suffix, table in experiment_tables(experiment, significance, paper):
            stem = table.name
            markdown = to_markdown(table)
            files = [f"{stem}.md", f"{stem}.tex", f"{stem}.csv"]
            atomic_write_text(out_dir / files[0], markdown)
            atomic_write_text(out_dir / files[1], to_latex(table))
            atomic_write_text(out_dir / files[2], to_csv(table))
            if registered.figure is not None and not suffix:
                files.append(f"{name}.png")
                atomic_write_bytes(out_dir / f"{name}.png", registered.figure(table))
            rendered.append(
                Rendered(stem, table.title, tuple(files), len(experiment), tuple(experiment.methods()),
                         tuple(experiment.seeds()))
            )
            figure_link = (f"\n![{registered.figure_alt}]({name}.png)\n"
                           if registered.figure is not None and not suffix else "")
            if not suffix:
                figure_link += _write_curves(out_dir, experiment, rendered)
            sections.append(markdown + figure_link)
    other = sorted({r.result.experiment for r in runs} - set(names))
    atomic_write_text(out_dir / INDEX, _index(results_dir.name, len(runs), rendered, skipped, other, sections))
    return RenderSummary(out_dir, tuple(rendered), tuple(skipped), len(runs))


def experiment_tables(
    experiment: ExperimentRuns, significance: SignificanceConfig, paper_dir: Path | None = None
) -> list[tuple[str, Table]]:
    """The tables of one experiment's runs: ("", the table) and, for experiments that split their queries
    and runs that stored which were seen, ("-seen", ...) and ("-unseen", ...), each named by its file stem."""
    from benchmark.experiments import get_experiment

    name = experiment.name
    subsets = [("", experiment)]
    if get_experiment(name).query_subsets and experiment.has_seen_flags():
        subsets += [(f"-{subset}", experiment.subset(subset)) for subset in ("seen", "unseen")]
    tables = []
    for suffix, runs_of in subsets:
        table = build_table(name, runs_of, significance, paper_dir)
        if suffix:
            table = dataclasses.replace(table, name=f"{name}{suffix}", title=f"{table.title}: {SUBSET_TITLES[suffix]}")
        tables.append((suffix, table))
    return tables


def _remove_stale(out_dir: Path, name: str) -> None:
    for stem in (name, *(f"{name}{s}" for s in SUBSET_TITLES)):
        for suffix in OUTPUT_SUFFIXES:
            _remove_file(out_dir / f"{stem}{suffix}")
    for file in CURVE_FILES:
        _remove_file(out_dir / file.format(name=name))


def _write_curves(out_dir: Path, experiment: ExperimentRuns, rendered: list[Rendered]) -> str:
    """Write the experiment's validation-curve CSV and figures (``benchmark.tables.curves``), remove stale ones;
    add them to the experiment's rendered files; return the markdown that links the figures."""
    from benchmark.tables.curves import curve_outputs

    outputs = curve_outputs(experiment)
    for file in CURVE_FILES:
        if file.format(name=experiment.name) not in outputs:
            _remove_file(out_dir / file.format(name=experiment.name))
    for file, content in outputs.items():
        atomic_write_bytes(out_dir / file, content)
    if outputs and rendered:
        last = rendered[-1]
        rendered[-1] = dataclasses.replace(last, files=(*last.files, *outputs))
    return "".join(f"\n![{file}]({file})\n" for file in outputs if file.endswith(".png"))


def _remove_file(stale: Path) -> None:
    if stale.is_file():
        log.info("removing stale %s (its experiment has no runs now)", stale)
        stale.unlink()


def _index(
    profile: str,
    n_runs: int,
    rendered: list[Rendered],
    skipped: list[tuple[str, str]],
    other: list[str],
    sections: list[str],
) -> str:
    lines = [
        f"# Tables: profile `{profile}`",
        "",
        f"Rendered by `grbench tables` from the {n_runs} finished runs in `{profile}/runs/`; every number traces "
        "to a run's `run.json` (means) or `per_query.parquet` (significance tests). Rerunning `grbench tables` "
        "on the same runs reproduces these files byte for byte.",
        "",
        "| Table | Files | Runs | Methods | Seeds |",
        "|:---|:---|---:|:---|:---|",
    ]
    for item in rendered:
        links = ", ".join(f"[{f.rsplit('.', 1)[1]}]({f})" for f in item.files)
        lines.append(
            f"| {item.title} | {links} | {item.runs} | {', '.join(item.methods)} | "
            f"{', '.join(map(str, item.seeds))} |"
        )
    if skipped:
        lines += ["", "Not rendered: " + "; ".join(f"{name} ({reason})" for name, reason in skipped) + "."]
    if other:
        lines += ["", f"Runs of other experiments, not in any table: {', '.join(other)}."]
    for section in sections:
        lines += ["", section.rstrip("\n")]
    return "\n".join(lines) + "\n"

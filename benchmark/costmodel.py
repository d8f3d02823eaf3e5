"""The cost model: how long a profile's runs take on this machine, from per-step costs measured once.

``grbench perf calibrate`` measures (``benchmark.perf.run_calibration``) and caches a ``Calibration``: for each
model size, the seconds per training example of one optimizer step of each cost class, and the seconds per
query of beam search at a beam width. The estimate is then arithmetic on a run's budget (``RunBudget``)::

    train   = steps * batch_size * c[size][class]          (* G / G_cal for a rollout method)
    eval    = queries * d[size][B]                          (* B / B_cal when B was not calibrated)
    curves  = points * valid queries * d[size][B]           validation curves, once per trained checkpoint
    SFT     = sft.steps * sft.batch_size * c[size]["sft"]   once per shared SFT checkpoint
    prepare = prepare_seconds                               once per (dataset, data, SID settings)

The cost class of a step follows from what it computes (``cost_class``): ``sft`` (the shared SFT checkpoint's
steps, on positives only), ``plain`` (one policy forward+backward over the logged candidates: continued SFT,
SimPO, ORPO, RAD-DPO), ``reference`` (plus a frozen reference forward: DPO, S-DPO), ``rollout`` (G beam-search
rollouts of the policy before the update: the GRPO family). Costs are linear in batch size
and query count: on a CPU a step's time grows with the tokens it processes, and the measured per-example cost
already includes a batch's fixed overhead at the calibration batch size. Each measured cost is the smaller of
the step's wall and CPU time (``benchmark.perf._idle_seconds``): a calibration on a shared machine does not
count the time spent waiting for cores.

Everything above ``# ---- storage`` is pure (no timing, no files), unit-tested with hand-made calibrations;
``grbench run --dry-run`` and ``grbench perf calibrate --check`` are its users.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmark.errors import ConfigError

COST_CLASSES = ("sft", "plain", "reference", "rollout")
CALIBRATION_FORMAT = 1
# Fixed cost of preparing one (dataset, data, SID settings) when the calibration recorded none: the split
# build and RQ-k-means from cached encoder embeddings took ~5 s here; a first encoder pass takes minutes.
DEFAULT_PREPARE_SECONDS = 60.0


@dataclasses.dataclass(frozen=True)
class Calibration:
    """Per-step costs measured on one machine (``fingerprint``: CPU model, threads, torch version, device).

    train: size -> cost class -> seconds per training example of one optimizer step.
    decode: size -> beam width -> seconds per query of beam search.
    rollout_group_size: the G at which the ``rollout`` class was measured.
    prepare_seconds: fixed cost of preparing one dataset's split and SIDs.
    """

    fingerprint: dict[str, Any]
    train: dict[str, dict[str, float]]
    decode: dict[str, dict[int, float]]
    rollout_group_size: int = 8
    prepare_seconds: float = DEFAULT_PREPARE_SECONDS
    setup: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def device(self) -> str:
        return str(self.fingerprint.get("device", "cpu"))

    @property
    def threads(self) -> int:
        return int(self.fingerprint.get("threads", 1))

    @property
    def sizes(self) -> list[str]:
        return sorted(self.train, key=_size_order)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": CALIBRATION_FORMAT,
            "fingerprint": self.fingerprint,
            "train_seconds_per_example": self.train,
            "decode_seconds_per_query": {s: {str(w): v for w, v in d.items()} for s, d in self.decode.items()},
            "rollout_group_size": self.rollout_group_size,
            "prepare_seconds": self.prepare_seconds,
            "setup": self.setup,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibration:
        if data.get("format") != CALIBRATION_FORMAT:
            raise ConfigError(f"calibration format {data.get('format')!r} is not {CALIBRATION_FORMAT}; "
                              "run grbench perf calibrate again.")
        return cls(
            fingerprint=dict(data["fingerprint"]),
            train={s: {k: float(v) for k, v in d.items()} for s, d in data["train_seconds_per_example"].items()},
            decode={s: {int(w): float(v) for w, v in d.items()} for s, d in data["decode_seconds_per_query"].items()},
            rollout_group_size=int(data.get("rollout_group_size", 8)),
            prepare_seconds=float(data.get("prepare_seconds", DEFAULT_PREPARE_SECONDS)),
            setup=dict(data.get("setup", {})),
        )

    def merged(self, other: Calibration) -> Calibration:
        """This calibration with ``other``'s sizes added or replaced (calibrating ``--sizes m`` later)."""
        return dataclasses.replace(
            other, train={**self.train, **other.train}, decode={**self.decode, **other.decode})


def _size_order(size: str) -> tuple[int, str]:
    ladder = ("xs", "s", "m", "l")
    return (ladder.index(size) if size in ladder else len(ladder), size)


@dataclasses.dataclass(frozen=True)
class RunBudget:
    """What one run's cost depends on. ``cost_class`` None: no preference training (a non-learned baseline or
    the SFT start); ``eval_queries`` 0: no beam search (a non-learned retriever); ``group_size``: G of a
    rollout method; ``curve_points`` checkpoints each beam-searched over ``curve_queries`` validation queries
    (``benchmark.suite.curves``; 0 = no validation curve)."""

    size: str
    cost_class: str | None
    steps: int
    batch_size: int
    eval_queries: int
    beam_width: int
    group_size: int | None = None
    curve_points: int = 0
    curve_queries: int = 0


@dataclasses.dataclass(frozen=True)
class RunCost:
    train: float
    eval: float
    curve: float = 0.0  # validation curve of the trained checkpoint

    @property
    def total(self) -> float:
        return self.train + self.eval + self.curve


def _per_example(calibration: Calibration, size: str, cost_class: str) -> float:
    if size not in calibration.train:
        raise ConfigError(f"the calibration has no model size {size!r} (it has {calibration.sizes}); run "
                          f"grbench perf calibrate --sizes {size}")
    table = calibration.train[size]
    if cost_class not in table:
        raise ConfigError(f"the calibration of size {size!r} has no cost class {cost_class!r} "
                          f"(it has {sorted(table)}); run grbench perf calibrate --sizes {size}")
    return table[cost_class]


def train_seconds(calibration: Calibration, budget: RunBudget) -> float:
    """steps * batch_size * seconds per example of the run's cost class (a rollout method's scaled by G)."""
    if budget.cost_class is None or budget.steps == 0:
        return 0.0
    per = _per_example(calibration, budget.size, budget.cost_class)
    if budget.cost_class == "rollout" and budget.group_size:
        per *= budget.group_size / calibration.rollout_group_size
    return budget.steps * budget.batch_size * per


def decode_seconds(calibration: Calibration, size: str, beam_width: int, queries: int) -> float:
    """queries * seconds per query at ``beam_width``; an uncalibrated width scales the nearest calibrated one
    linearly (beam search's work per step is proportional to the number of beams)."""
    if queries == 0:
        return 0.0
    if size not in calibration.decode or not calibration.decode[size]:
        raise ConfigError(f"the calibration has no beam-search cost for model size {size!r}; run "
                          f"grbench perf calibrate --sizes {size}")
    table = calibration.decode[size]
    if beam_width in table:
        return queries * table[beam_width]
    nearest = min(table, key=lambda w: (abs(w - beam_width), w))
    return queries * table[nearest] * beam_width / nearest


def run_cost(calibration: Calibration, budget: RunBudget) -> RunCost:
    """Training + evaluation seconds of one run (the shared SFT checkpoint and data preparation excluded:
    ``plan_cost`` charges them once)."""
    return RunCost(train=train_seconds(calibration, budget),
                   eval=decode_seconds(calibration, budget.size, budget.beam_width, budget.eval_queries),
                   curve=budget.curve_points * decode_seconds(calibration, budget.size, budget.beam_width,
                                                              budget.curve_queries))


def sft_seconds(calibration: Calibration, size: str, steps: int, batch_size: int) -> float:
    """One shared SFT checkpoint: steps * batch_size * the ``sft`` class's seconds per example."""
    return steps * batch_size * _per_example(calibration, size, "sft")


def load_warning(calibration: Calibration) -> str | None:
    """A warning when the calibration was measured on a busy machine (1-minute load average at least half the
    CPUs before it started): the steps then ran slower than on an idle machine, and so would the estimate."""
    load, cpus = calibration.setup.get("load_average_before"), calibration.setup.get("cpus")
    if load is None or not cpus or load < 0.5 * cpus:
        return None
    return (f"calibrated while the machine was busy (load average {load:.1f} on {cpus} CPUs before it started): "
            "waiting for cores is not counted, but shared caches and memory bandwidth slowed the steps, so the "
            "estimates may be high for an idle machine; calibrate again when it is idle.")


# ---------------------------------------------------------------------------------------------- plans
@dataclasses.dataclass(frozen=True)
class PlannedRun:
    """One run of a plan, reduced to what the estimate needs. ``sft`` is None for a run that starts from no SFT
    checkpoint; otherwise (key, size, steps, batch_size) of the checkpoint it starts from. ``prepare_key``
    names the prepared data it needs; ``train_key`` its trained checkpoint ("" = its own)."""

    experiment: str
    run_id: str
    compute_key: str
    budget: RunBudget
    prepare_key: str
    sft: tuple[str, str, int, int] | None
    # Runs differing in evaluation settings only share one trained checkpoint (the suite caches it by this key).
    train_key: str = ""


@dataclasses.dataclass
class ExperimentCost:
    """One experiment's share of a plan: runs planned, already stored (or copies of a stored or earlier
    identical run), to compute, and the estimated seconds of each part."""

    experiment: str
    planned: int = 0
    stored: int = 0
    reused: int = 0
    to_compute: int = 0
    prepare: float = 0.0
    sft: float = 0.0
    train: float = 0.0
    eval: float = 0.0
    curve: float = 0.0

    @property
    def seconds(self) -> float:
        return self.prepare + self.sft + self.train + self.eval + self.curve

    def add(self, other: ExperimentCost) -> None:
        for field in ("planned", "stored", "reused", "to_compute", "prepare", "sft", "train", "eval", "curve"):
            setattr(self, field, getattr(self, field) + getattr(other, field))


def plan_cost(calibration: Calibration, runs: Sequence[PlannedRun], stored: Mapping[str, str],
              cached_sft: Iterable[str] = (), prepared: Iterable[str] = ()) -> list[ExperimentCost]:
    """Per experiment (in plan order), what remains to do and its estimated seconds.

    stored: run_id -> compute_key of the finished runs. A run whose id is stored costs nothing; one whose
    compute key is stored (or computed earlier in the plan) is a copy and costs nothing. Each SFT checkpoint
    and each prepared dataset needed by a computed run is charged once, to the first experiment needing it,
    unless its key is in ``cached_sft`` / ``prepared``; a trained checkpoint (``train_key``) and its validation
    curve are charged once among the computed runs, the curve's SFT point (step 0) once per SFT checkpoint.
    """
    done_keys = set(stored.values())
    sft_done, prep_done, trained, sft_points = set(cached_sft), set(prepared), set(), set()
    rows: dict[str, ExperimentCost] = {}
    for run in runs:
        row = rows.setdefault(run.experiment, ExperimentCost(run.experiment))
        row.planned += 1
        if run.run_id in stored:
            row.stored += 1
            continue
        if run.compute_key in done_keys:
            row.reused += 1
            continue
        done_keys.add(run.compute_key)
        row.to_compute += 1
        cost = run_cost(calibration, run.budget)
        if not run.train_key or run.train_key not in trained:
            trained.add(run.train_key)
            row.train += cost.train
            row.curve += cost.curve
        row.eval += cost.eval
        if run.budget.curve_points and run.sft is not None and run.sft[0] not in sft_points:
            sft_points.add(run.sft[0])
            row.curve += decode_seconds(calibration, run.budget.size, run.budget.beam_width, run.budget.curve_queries)
        if run.prepare_key not in prep_done:
            prep_done.add(run.prepare_key)
            row.prepare += calibration.prepare_seconds
        if run.sft is not None and run.sft[0] not in sft_done:
            key, size, steps, batch_size = run.sft
            sft_done.add(key)
            row.sft += sft_seconds(calibration, size, steps, batch_size)
    return list(rows.values())


def plan_total(rows: Sequence[ExperimentCost]) -> ExperimentCost:
    total = ExperimentCost("total")
    for row in rows:
        total.add(row)
    return total


def format_plan(calibration: Calibration, rows: Sequence[ExperimentCost], label: str = "experiment") -> list[str]:
    """The dry-run table: per experiment (or other ``label``) and in total, runs planned / stored / reused / to
    compute, estimated wall hours on this machine and CPU-hours (wall x threads) or GPU-hours (on a CUDA
    calibration)."""
    gpu = calibration.device.startswith("cuda")
    unit = "GPU-h" if gpu else "CPU-h"
    width = max([12, len(label) + 1, *(len(row.experiment) + 1 for row in rows)])
    lines = [f"{label:<{width}}{'planned':>8}{'stored':>8}{'reused':>8}{'to do':>7}{'prep+SFT h':>12}"
             f"{'train h':>9}{'valid h':>9}{'test h':>8}{'wall h':>8}{unit:>8}"]
    for row in [*rows, plan_total(rows)]:
        hours = row.seconds / 3600
        resource = hours if gpu else hours * calibration.threads
        lines.append(f"{row.experiment:<{width}}{row.planned:>8}{row.stored:>8}{row.reused:>8}{row.to_compute:>7}"
                     f"{(row.prepare + row.sft) / 3600:>12.2f}{row.train / 3600:>9.2f}{row.curve / 3600:>9.2f}"
                     f"{row.eval / 3600:>8.2f}"
                     f"{hours:>8.2f}{resource:>8.2f}")
    return lines


# ---------------------------------------------------------------------------------------------- from configs
def cost_class(method: str) -> str | None:
    """The cost class of a registered method (None for a run without a preference stage)."""
    from benchmark.suite.untrained import is_untrained

    if is_untrained(method):
        return None
    from benchmark.methods import get_method

    registered = get_method(method)
    if registered.needs_rollouts:
        return "rollout"
    # Continued SFT in the preference stage forwards the same logged candidates as a preference loss without
    # a reference; the "sft" class (positives only) is the shared SFT checkpoint's.
    return "reference" if registered.needs_reference else "plain"


def budget_from_config(config: Mapping[str, Any], test_rows: int | None,
                       curve: Mapping[str, Any] | None = None) -> RunBudget:
    """The budget of a run from its resolved compute config (``RunSpec.compute_config()`` or run.json's
    ``config``). ``test_rows``: the dataset's test split size, needed when ``eval.max_queries`` is null (the
    evaluation is counted as 0 queries when both are unknown: ``dry_run_report`` says so). ``curve``: the
    validation-curve settings (``points``, ``max_queries``) of a trained run, None or points 0 for none."""
    from benchmark.suite.untrained import is_retriever

    method = str(config["method"])
    evaluation = config["eval"]
    limit = evaluation.get("max_queries")
    if test_rows is None:
        queries = int(limit or 0)
    else:
        queries = min(int(limit or test_rows), int(test_rows))
    rollouts = config.get("method_config", {}).get("rollouts")
    klass = cost_class(method)
    steps = int(config["preference"]["steps"])
    # benchmark.suite.curves.curve_steps: at most one point per optimizer step
    points = min(int(curve.get("points", 0)), steps) if curve and klass is not None else 0
    return RunBudget(
        size=str(config["model"]["size"]),
        cost_class=klass,
        steps=steps,
        batch_size=int(config["preference"]["batch_size"]),
        eval_queries=0 if is_retriever(method) else queries,
        beam_width=int(evaluation["beam_width"]),
        group_size=int(rollouts["group_size"]) if isinstance(rollouts, Mapping) else None,
        curve_points=points,
        curve_queries=int(curve.get("max_queries") or 0) if points else 0,
    )


def planned_runs(specs: Sequence[Any], test_rows: Mapping[str, int]) -> list[PlannedRun]:
    """``PlannedRun``s of ``RunSpec``s (``benchmark.suite.matrix``)."""
    from benchmark.artifacts import hash_json
    from benchmark.suite.untrained import is_retriever

    out = []
    for spec in specs:
        config = spec.compute_config()
        curve = spec.curve_settings() if getattr(spec, "curve", None) else None
        sft = None
        if not is_retriever(spec.method):
            sft = (hash_json(spec.sft_config()), str(config["model"]["size"]), int(config["sft"]["steps"]),
                   int(config["sft"]["batch_size"]))
        out.append(PlannedRun(
            experiment=spec.experiment, run_id=spec.run_id, compute_key=spec.compute_key,
            budget=budget_from_config(config, test_rows.get(spec.dataset), curve),
            prepare_key=hash_json([config["dataset"], config["data"], config["sids"]]), sft=sft,
            # a best-checkpoint run reports another snapshot of its final twin's training
            train_key=hash_json({k: v for k, v in spec.training_config().items() if k != "checkpoint"}),
        ))
    return out


def cached_calibration(sizes: Iterable[str], device: str = "cpu") -> tuple[Calibration | None, str]:
    """The cached calibration of this machine at the current thread count, and "" when it covers ``sizes``;
    otherwise (the calibration or None, the line saying which ``grbench perf calibrate`` makes what is missing).
    Nothing is calibrated implicitly: a calibration takes minutes and should run on an idle machine."""
    wanted = fingerprint(threads=current_threads(), device=device)
    calibration = load_calibration(wanted)
    ordered = sorted(set(sizes), key=_size_order)
    suffix = f" --device {device}" if device != "cpu" else ""
    if calibration is None:
        described = ", ".join(f"{k} {v}" for k, v in wanted.items())
        return None, (f"no cost calibration is cached for this machine ({described}), so no time estimate; make "
                      f"one with: grbench --threads {wanted['threads']} perf calibrate --sizes {','.join(ordered)}"
                      + suffix)
    missing = [size for size in ordered if size not in calibration.train]
    if missing:
        return calibration, (f"the cached calibration has no model size {missing} (it has {calibration.sizes}); "
                             f"make it with: grbench --threads {calibration.threads} perf calibrate --sizes "
                             f"{','.join(missing)}" + suffix)
    return calibration, ""


def dry_run_report(specs: Sequence[Any], runs_dir: Path, results_root: Path | None = None,
                   device: str = "cpu") -> list[str]:
    """The lines ``grbench run --dry-run`` prints after the run list: per experiment and in total, runs
    planned, stored and to do, and the estimated hours from the cached calibration of this machine (or how to
    make one: nothing is calibrated implicitly)."""
    from benchmark.results import finished_runs

    stored = finished_runs(runs_dir) if Path(runs_dir).is_dir() else {}
    datasets = {spec.dataset for spec in specs}
    calibration, missing = cached_calibration({spec.model_size for spec in specs}, device)
    if calibration is None:
        stored_keys = set(stored.values())
        rows: dict[str, ExperimentCost] = {}
        for spec in specs:
            row = rows.setdefault(spec.experiment, ExperimentCost(spec.experiment))
            row.planned += 1
            row.stored += spec.run_id in stored
            row.to_compute += spec.run_id not in stored and spec.compute_key not in stored_keys
        total = plan_total(list(rows.values()))
        lines = [f"{r.experiment}: {r.planned} runs planned, {r.stored} stored in {runs_dir}, {r.to_compute} to "
                 f"compute" for r in [*rows.values(), total]]
        return [*lines, missing]
    if missing:
        return [missing]
    sizes_found = test_split_sizes(datasets, results_root)
    runs = planned_runs(specs, sizes_found)
    unknown = sorted(spec.dataset for spec in specs if spec.dataset not in sizes_found
                     and spec.eval.get("max_queries") is None and spec.dataset)
    rows_list = plan_cost(calibration, runs, stored)
    lines = [f"estimated cost on this machine ({calibration.threads} threads on {calibration.device}; calibration "
             f"{calibration_path(calibration.fingerprint)}; SFT checkpoints and data preparation counted once each "
             "for the runs to compute, even where already cached):", *format_plan(calibration, rows_list)]
    for name in sorted(set(unknown)):
        lines.append(f"note: the test split size of {name} is unknown (not built yet, no full-test run stored): "
                     "its evaluation is not counted")
    warning = load_warning(calibration)
    if warning:
        lines.append(f"warning: {warning}")
    return lines


# ---------------------------------------------------------------------------------------------- check
@dataclasses.dataclass(frozen=True)
class CheckRow:
    run_id: str
    estimated: RunCost
    measured: RunCost


def check_rows(calibration: Calibration, records: Iterable[tuple[str, Mapping[str, Any], Mapping[str, Any],
                                                               int]]) -> list[CheckRow]:
    """Estimate vs measurement for stored runs: ``records`` yields (run_id, config, budget, n_queries) of
    run.json files; measured = the recorded ``train_seconds`` and ``eval_seconds`` (run.json records neither
    the shared SFT checkpoint nor data preparation, so the comparison is over training + evaluation)."""
    rows = []
    for run_id, config, budget, n_queries in records:
        estimate = run_cost(calibration, budget_from_config(config, n_queries))
        measured = RunCost(train=float(budget.get("train_seconds", 0.0)), eval=float(budget.get("eval_seconds", 0.0)))
        rows.append(CheckRow(run_id, estimate, measured))
    return rows


def format_check(rows: Sequence[CheckRow]) -> list[str]:
    """Per run and overall: estimated and measured train / eval / total seconds and estimate / measured."""
    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}" if b > 0 else "-"

    width = max([len(r.run_id) for r in rows] + [len("total")])
    lines = [f"{'run':<{width}}{'est train':>10}{'meas train':>11}{'est eval':>9}{'meas eval':>10}"
             f"{'est s':>8}{'meas s':>8}{'ratio':>7}"]
    for r in [*rows, CheckRow("total", RunCost(sum(r.estimated.train for r in rows),
                                               sum(r.estimated.eval for r in rows)),
                              RunCost(sum(r.measured.train for r in rows), sum(r.measured.eval for r in rows)))]:
        lines.append(f"{r.run_id:<{width}}{r.estimated.train:>10.1f}{r.measured.train:>11.1f}"
                     f"{r.estimated.eval:>9.1f}{r.measured.eval:>10.1f}{r.estimated.total:>8.1f}"
                     f"{r.measured.total:>8.1f}{ratio(r.estimated.total, r.measured.total):>7}")
    return lines


# ---------------------------------------------------------------------------------------------- storage
def fingerprint(*, threads: int, device: str = "cpu") -> dict[str, Any]:
    """What a calibration is valid for: the CPU model, the thread count, the torch version and the device."""
    from importlib import metadata

    from benchmark.results.provenance import cpu_model

    try:
        torch_version = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch_version = "not installed"
    return {"cpu_model": cpu_model(), "threads": int(threads), "torch": torch_version, "device": device}


def calibration_dir() -> Path:
    from benchmark.artifacts import cache_root

    return cache_root() / "perf"


def calibration_path(print_: Mapping[str, Any], directory: Path | None = None) -> Path:
    from benchmark.artifacts import hash_json

    return (directory or calibration_dir()) / f"calibration-{hash_json(dict(print_))}.json"


def save_calibration(calibration: Calibration, directory: Path | None = None) -> Path:
    """Write (atomically) the calibration under its fingerprint, merged with the sizes already cached there."""
    from benchmark.artifacts import atomic_write_json

    path = calibration_path(calibration.fingerprint, directory)
    previous = load_calibration(calibration.fingerprint, directory)
    if previous is not None:
        calibration = previous.merged(calibration)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, calibration.to_dict())
    return path


def load_calibration(print_: Mapping[str, Any], directory: Path | None = None) -> Calibration | None:
    path = calibration_path(print_, directory)
    if not path.is_file():
        return None
    return Calibration.from_dict(json.loads(path.read_text()))


def cached_fingerprints(directory: Path | None = None) -> list[dict[str, Any]]:
    """The fingerprints of every cached calibration (to say which exist when none matches)."""
    folder = directory or calibration_dir()
    out = []
    for path in sorted(folder.glob("calibration-*.json")) if folder.is_dir() else []:
        try:
            out.append(json.loads(path.read_text())["fingerprint"])
        except (OSError, ValueError, KeyError):
            continue
    return out


def current_threads() -> int:
    """The thread count a run started now would use (what ``benchmark.threads`` chose and exported)."""
    import os
    import sys

    torch = sys.modules.get("torch")
    if torch is not None:
        return int(torch.get_num_threads())
    from benchmark import threads

    return int(os.environ.get("OMP_NUM_THREADS") or threads.available_cpus())


def test_split_sizes(datasets: Iterable[str], results_root: Path | None = None, split: str = "test") -> dict[str, int]:
    """Split sizes (rows of ``split``): from the built-dataset cache's manifests (``stats.<split>_rows``), else,
    for the test split, from stored runs evaluated on all of it (``n_queries`` with ``eval.max_queries`` null)
    under ``results_root``."""
    from benchmark.artifacts import cache_root

    wanted = set(datasets)
    found: dict[str, int] = {}
    for name in wanted:
        for manifest in sorted((cache_root() / "datasets" / name).glob("*/manifest.json")):
            try:
                rows = json.loads(manifest.read_text()).get("stats", {}).get(f"{split}_rows")
            except (OSError, ValueError):
                continue
            if rows:
                found[name] = max(found.get(name, 0), int(rows))
    if split == "test" and results_root is not None and wanted - set(found):
        for path in sorted(Path(results_root).glob("*/runs/*/run.json")):
            try:
                run = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            name = run.get("dataset")
            if name in wanted and name not in found and run.get("config", {}).get("eval", {}).get(
                    "max_queries", 0) is None:
                found[name] = int(run["n_queries"])
    return found


def recorded_prepare_seconds(datasets: Iterable[str] | None = None) -> float | None:
    """The longest recorded build of a real dataset's split plus SIDs in the cache (the data manifests'
    ``stats.build_seconds`` and the default SID builder's ``build_info.seconds``, a first encoder pass included
    where the cache recorded one), or None when nothing is recorded."""
    from benchmark.artifacts import cache_root

    root = cache_root()
    best: float | None = None
    names = list(datasets) if datasets is not None else [p.name for p in (root / "datasets").glob("*")]
    for name in names:
        if name in ("synthetic", "tiny"):
            continue
        data = [json.loads(p.read_text()).get("stats", {}).get("build_seconds", 0.0)
                for p in (root / "datasets" / name).glob("*/manifest.json")]
        catalogs = [json.loads(p.read_text()) for p in (root / "sids" / name).glob("*/catalog.json")]
        # the default builder's (RQ-k-means on encoder embeddings) builds; other builders are studies
        sids = [sum(c.get("build_info", {}).get("seconds", {}).values()) for c in catalogs
                if c.get("config", {}).get("builder") in (None, "rqkmeans")]
        if data or sids:
            total = max(data, default=0.0) + max(sids, default=0.0)
            best = total if best is None else max(best, total)
    return best

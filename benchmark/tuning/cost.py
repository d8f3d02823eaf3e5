"""How long the studies of ``grbench tune`` still take here: the cost model (``benchmark.costmodel``) applied to
the trials not yet stored.

A trial trains the method with its full preference budget from the shared SFT checkpoint of the profile's
first seed (no validation curve) and beam-searches the validation split (``eval.max_queries`` of it), so::

    study = trials left * (train(method budget) + decode(validation queries))
    + one SFT checkpoint and one data preparation per dataset, charged to its first study with trials left

The SFT checkpoint and the preparation are charged even where already cached, as ``grbench run --dry-run``
does: the estimate is what the studies cost on a fresh cache.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from benchmark import costmodel
from benchmark.costmodel import Calibration, ExperimentCost


def trial_run(spec, valid_rows: int | None) -> costmodel.PlannedRun:
    """One trial of ``spec`` as the cost model plans a run (``costmodel.planned_runs``: its budget, prepared data
    and SFT checkpoint), beam-searching the validation queries and keeping no validation curve."""
    (run,) = costmodel.planned_runs([spec], {} if valid_rows is None else {spec.dataset: valid_rows})
    return dataclasses.replace(run, budget=dataclasses.replace(run.budget, curve_points=0, curve_queries=0))


def trial_budget(spec, valid_rows: int | None) -> costmodel.RunBudget:
    """The budget of one trial of ``spec`` (its training, and beam search over the validation queries)."""
    return trial_run(spec, valid_rows).budget


def study_costs(calibration: Calibration, studies: Sequence[tuple[Any, int, int]],
                valid_rows: Mapping[str, int]) -> list[ExperimentCost]:
    """One row per study: ``studies`` holds (base spec, trials of the study, trials stored). The validation
    scoring is counted under ``curve`` (the table's "valid h" column), so "test h" stays 0: a study never
    touches the test split."""
    rows, charged_sft, charged_data = [], set(), set()
    for spec, trials, stored in studies:
        left = max(trials - stored, 0)
        row = ExperimentCost(f"{spec.dataset}/{spec.method}", planned=trials, stored=min(stored, trials),
                             to_compute=left)
        if left:
            run = trial_run(spec, valid_rows.get(spec.dataset))
            cost = costmodel.run_cost(calibration, run.budget)
            row.train, row.curve = left * cost.train, left * cost.eval
            if run.prepare_key not in charged_data:
                charged_data.add(run.prepare_key)
                row.prepare = calibration.prepare_seconds
            if run.sft is not None and run.sft[0] not in charged_sft:
                key, size, steps, batch_size = run.sft
                charged_sft.add(key)
                row.sft = costmodel.sft_seconds(calibration, size, steps, batch_size)
        rows.append(row)
    return rows


def timing_checks(calibration: Calibration, studies: Sequence[tuple[Any, Sequence[Mapping[str, Any]]]],
                  valid_rows: Mapping[str, int]) -> list[str]:
    """Estimate against measurement: for each study whose stored trials recorded their wall ``seconds``, the
    median measured trial beside the estimated one (the median, because a study's first trial on a fresh
    cache also trains the SFT checkpoint)."""
    import statistics

    lines = []
    for spec, stored in studies:
        seconds = [float(t["seconds"]) for t in stored if isinstance(t.get("seconds"), (int, float))]
        if not seconds:
            continue
        estimate = costmodel.run_cost(calibration, trial_budget(spec, valid_rows.get(spec.dataset))).total
        measured = statistics.median(seconds)
        lines.append(f"check {spec.dataset}/{spec.method}: {len(seconds)} stored trials timed, median {measured:.0f} "
                     f"s per trial against {estimate:.0f} s estimated (estimate / measured "
                     f"{estimate / measured:.2f})")
    return lines


def tuning_report(studies: Sequence[tuple[Any, int, Sequence[Mapping[str, Any]]]], device: str = "cpu") -> list[str]:
    """The lines ``grbench tune --dry-run`` prints after the study list: per study and in total, trials
    planned, stored and left, and the estimated hours from the cached calibration of this machine (or the
    command that makes one); then, where stored trials were timed, the estimate beside their measured time.
    ``studies``: (base spec, trials of the study, the stored trials)."""
    calibration, missing = costmodel.cached_calibration({spec.model_size for spec, _, _ in studies}, device)
    if calibration is None or missing:
        return [missing]
    datasets = {spec.dataset for spec, _, _ in studies}
    valid_rows = costmodel.test_split_sizes(datasets, split="valid")
    rows = study_costs(calibration, [(spec, n, len(stored)) for spec, n, stored in studies], valid_rows)
    lines = [f"estimated cost of the trials left on this machine ({calibration.threads} threads on "
             f"{calibration.device}; calibration {costmodel.calibration_path(calibration.fingerprint)}; one SFT "
             "checkpoint and one data preparation per dataset counted even where cached; 'runs' are trials):",
             *costmodel.format_plan(calibration, rows, label="study")]
    for name in sorted(datasets - set(valid_rows)):
        if any(spec.dataset == name and spec.eval.get("max_queries") is None for spec, _, _ in studies):
            lines.append(f"note: the validation split size of {name} is unknown (not built yet): its scoring is "
                         "not counted")
    lines += timing_checks(calibration, [(spec, stored) for spec, _, stored in studies], valid_rows)
    warning = costmodel.load_warning(calibration)
    if warning:
        lines.append(f"warning: {warning}")
    return lines

"""Reward-guided alignment (issue #15, beyond the paper): GRPO, EG-GRPO, AdaGRPO and the fixed NLL-GRPO mixtures
beside continued SFT and RAD-DPO, on the retrieval-validity trade-off: HR@10, MRR, NDCG@10 of the ordered item
and the hallucination rate at rank 1 and over all beams (mean ± std over seeds). † against continued SFT, ‡ against
RAD-DPO. One row per method and, for the mixtures, per lam (``nll-grpo`` runs carry the variant {"lam": lam}).
"""

from __future__ import annotations

from benchmark.tables.collect import CELL_NOTE, ExperimentRuns, MethodRuns, describe_runs
from benchmark.tables.markers import (
    BASELINE_MARK,
    SFT_MARK,
    Comparison,
    SignificanceConfig,
    rank_emphasis,
    run_comparisons,
    significance_legend,
)
from benchmark.tables.render import Cell, Row, Table, metric_column
from benchmark.tables.table1 import method_label

METRICS = ("target_hit@10", "target_mrr", "target_ndcg@10", "halluc@1", "halluc")
ORDER = ("sft", "raddpo", "grpo", "nll-grpo", "eg-grpo", "adagrpo")
REFERENCE, RIVAL = "sft", "raddpo"  # † and ‡
LABELS = {"grpo": "GRPO", "nll-grpo": "NLL-GRPO", "eg-grpo": "EG-GRPO", "adagrpo": "AdaGRPO"}


def _rows(experiment: ExperimentRuns) -> list[tuple[str, str, MethodRuns]]:
    """(row key, label, runs) in table order: the rows without a preference stage, ORDER, then other methods by name; a method's
    variants by lam, each final checkpoint before its best-validation one."""
    order = {m: i for i, m in enumerate(ORDER)}
    keyed = []
    for variant in experiment.variants():
        for method in experiment.methods():
            group = experiment.get(method, variant)
            if group is not None:
                lam, best = variant.get("lam"), variant.get("checkpoint") == "best"
                key, label = method, LABELS.get(method) or method_label(method)
                if lam is not None:
                    key, label = f"{method}@{lam:g}", f"{label} (λ = {lam:g})"
                if best:
                    key, label = f"{key}@best", f"{label}, best val."
                rank = -1 if not _trained(group) else order.get(method, len(ORDER))
                keyed.append(((rank, method, -1.0 if lam is None else lam, best), key, label, group))
    return [(key, label, group) for _, key, label, group in sorted(keyed, key=lambda t: t[0])]


def _trained(group: MethodRuns) -> bool:
    return any(run.result.budget.optimizer_steps > 0 for run in group.runs)


def _lookup_note(rows: list[tuple[str, str, MethodRuns]]) -> str:
    """Read first: the strongest row without a preference stage against the best trained row on the primary metric."""
    metric = METRICS[0]
    untrained = [(label, group) for _, label, group in rows if not _trained(group) and group.has(metric)]
    trained = [(label, group) for _, label, group in rows if _trained(group) and group.has(metric)]
    if not untrained or not trained:
        return ""
    best_untrained = max(untrained, key=lambda t: _mean(t[1], metric))
    best_trained = max(trained, key=lambda t: _mean(t[1], metric))
    word = "above" if _mean(best_untrained[1], metric) > _mean(best_trained[1], metric) else "below"
    return (f"Read first: on {metric_column(metric).header} the strongest row without a preference stage ({best_untrained[0]}, "
            f"{_mean(best_untrained[1], metric):.4f}) is {word} the best trained row ({best_trained[0]}, "
            f"{_mean(best_trained[1], metric):.4f}).")


def build_rl(experiment: ExperimentRuns, significance: SignificanceConfig) -> Table:
    columns = tuple(metric_column(m) for m in METRICS)
    dataset = experiment.single("dataset")
    model_size = experiment.single("model_size")
    rows = _rows(experiment)
    groups = {key: group for key, _, group in rows}
    anchors = {SFT_MARK: groups.get(REFERENCE), BASELINE_MARK: groups.get(RIVAL)}
    comparisons = [
        Comparison(key, column.key, mark, group, anchor, column.key)
        for key, _, group in rows
        for mark, anchor in anchors.items()
        for column in columns
        # the reference row carries no mark (RAD-DPO's † already says they differ)
        if anchor is not None and key != REFERENCE and group is not anchor and group.has(column.key)
        and anchor.has(column.key) and _trained(group)
    ]
    tests = run_comparisons(comparisons, significance)
    emphasis = {}
    for column in columns:
        means = [_mean(group, column.key) for _, _, group in rows]
        for (key, _, _), mark in zip(rows, rank_emphasis(means, column.decimals, column.lower_is_better)):
            emphasis[(key, column.key)] = mark
    table_rows = []
    for key, label, group in rows:
        cells = []
        for column in columns:
            summary = group.summary(column.key)
            marks, pvalues = tests.cell(key, column.key)
            cells.append(Cell(value=None if summary is None else summary.mean,
                              std=None if summary is None else summary.std,
                              n_seeds=0 if summary is None else summary.n_seeds,
                              emphasis=emphasis[(key, column.key)], marks=marks, pvalues=pvalues))
        table_rows.append(Row(label, tuple(cells), key=key))
    notes = [note for note in [_lookup_note(rows)] if note] + [
        f"Dataset {dataset}, model size {model_size}. {describe_runs(experiment)} {CELL_NOTE}",
        "Every row starts from the same SFT checkpoint with the same preference budget (steps, batch, examples); "
        "the reward-guided rows also decode G rollouts per prompt at every step (their cost is in each run's "
        "run.json budget: rollout_tokens, rollout_seconds). Rewards: the production-ranker proxy (exposure-"
        "biased); invalid SIDs stay in the group with the invalid-SID reward. Rows marked \"best val.\" report the "
        "checkpoint with the best validation score of the same training run (its step is marked in curve.csv); "
        "the others the final checkpoint. The rows above continued SFT train nothing (Table 1's baselines).",
        "Bold: best, underline: second best per column (lowest for hallucination), compared as printed.",
        significance_legend(significance, "continued SFT (sft)", "RAD-DPO (raddpo)"),
        "Beyond the paper: AdaGRPO (gate thresholds are this benchmark's choices), EG-GRPO (CQ-SID) and GRPO.",
    ]
    if tests.skipped:
        notes.append(f"Not tested ({len(tests.skipped)}): " + "; ".join(tests.skipped) + ".")
    return Table(name="rl", title=f"Reward-guided alignment on {dataset}", stub_header="Method", columns=columns,
                 rows=tuple(table_rows), notes=tuple(notes))


def _mean(group: MethodRuns, metric: str) -> float | None:
    summary = group.summary(metric)
    return None if summary is None else summary.mean

"""Table 1: every method and the RAD-DPO ablations on one dataset (the paper's Table 1 layout).

Protocol 2 (the held-out ordered item is the target): rows start with the non-learned baselines (popularity,
the query lookup table, zero-shot dense retrieval) and the SFT checkpoint every method starts from, then the
budget-matched control (continued SFT), DPO, SimPO, ORPO, S-DPO, RAD-DPO in its two readings ("as printed",
"as cited (S-DPO form)", labelled when both are present) and the ablations; columns lead with rank-1
hallucination, then the ordered item's HR/NDCG/MRR at the item and SID level, then the category-level hit rate.
Marks: † against continued SFT, ‡ (RAD-DPO, its ablations and other methods) against the best of
DPO/SimPO/ORPO in that column, § against the query lookup; tests flip signs per query cluster. Bold and
underline mark only significant differences: the best row and every row not significantly different from it
are bold (a tie is printed as a tie), the next group underlined. The paper's numbers are not printed beside
protocol-2 rows: they score a relevant set on internal JD.com data, so their levels are not comparable.

Protocol 1 (every item of the query's category is the truth; results stored before protocol 2): the paper's
columns (hallucination, item R@10/100/500 + MRR, SID R@8/64/128 + MRR), emphasis by printed rank, per-row
tests, and the paper's rows as a labelled block. Cells are mean ± std over seeds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from benchmark.errors import DataError
from benchmark.metrics.registry import TABLE1_METRICS, TARGET_METRICS, get_metric, lower_is_better
from benchmark.retrieval import get_retriever, is_retriever
from benchmark.stats import compare_family, seed_level_test
from benchmark.suite.untrained import SFT_START
from benchmark.tables.collect import CELL_NOTE, ExperimentRuns, MethodRuns, describe_runs, paired_clusters
from benchmark.tables.markers import (
    BASELINE_MARK,
    LOOKUP_MARK,
    SFT_MARK,
    Comparison,
    SignificanceConfig,
    rank_emphasis,
    run_comparisons,
    significance_legend,
)
from benchmark.tables.paper import PaperRow
from benchmark.tables.render import Cell, Row, Table, metric_column

MAIN_METHODS = ("sft", "dpo", "simpo", "orpo", "sdpo", "raddpo", "raddpo-sdpo")
# The display order of the built-in retrieval baselines (``benchmark.retrieval``): rows without a generative
# model, every trained row is read beside them. Any other registered retriever follows them (``retrieval_rows``);
# membership and labels come from the retriever registry, never from this tuple.
RETRIEVAL_BASELINES = ("popularity", "query-lookup", "dense-zeroshot", "dense-dualtower")
LOOKUP = "query-lookup"
PRIMARY_METRIC = "target_hit@10"  # the protocol-2 headline: was the ordered item in the top 10 items?
ABLATIONS = ("raddpo-no-tlgd", "raddpo-no-rdrw", "raddpo-no-mlsft",
             "raddpo-sdpo-no-tlgd", "raddpo-sdpo-no-rdrw", "raddpo-sdpo-no-mlsft")
# The two readings of RAD-DPO's L_PL (raddpo.loss): rows of the cited reading always say so; the printed rows
# say so too when a cited row is in the same table (a table of the printed reading alone stays as it was).
PRINTED_READING = ("raddpo", "raddpo-no-tlgd", "raddpo-no-rdrw", "raddpo-no-mlsft")
CITED_READING = ("raddpo-sdpo", "raddpo-sdpo-no-tlgd", "raddpo-sdpo-no-rdrw", "raddpo-sdpo-no-mlsft")
PRINTED_LABEL = "as printed"
CITED_LABEL = "as cited (S-DPO form)"
PREFERENCE_BASELINES = ("dpo", "simpo", "orpo")
METHOD_LABELS = {
    "sft": "SFT",
    "dpo": "DPO",
    "simpo": "SimPO",
    "orpo": "ORPO",
    "sdpo": "S-DPO",
    "raddpo": "RAD-DPO",
    "raddpo-no-tlgd": "w/o TLGD",
    "raddpo-no-rdrw": "w/o RDRW",
    "raddpo-no-mlsft": "w/o multi-label SFT",
}
METHOD_LABELS.update({cited: f"{METHOD_LABELS[printed]}, {CITED_LABEL}"
                      for printed, cited in zip(PRINTED_READING, CITED_READING)})
METHOD_LABELS.update({
    "sft-start": "SFT checkpoint (start)",
})
# Protocol 2 names the budget-matched control for what it is.
PROTOCOL2_LABELS = {**METHOD_LABELS, "sft": "Continued SFT"}
ABLATION_SECTION = "Ablation studies"
OTHER_SECTION = "Other methods"
BASELINE_SECTION = "Retrieval baselines (no generative model)"
QUERY_SUBSET_NOTES = {
    "all": "",
    "seen": ", test queries seen in training only",
    "unseen": ", test queries held out of training only (unseen)",
}
PROTOCOL2_NOTE = (
    "Data protocol 2: the held-out ordered item is the target (Target HR@K, MRR, graded NDCG@K with 2 = ordered "
    "item, 1 = another item of the query's category, 0 = other); the category-level HR counts any item of the "
    "query's category (semantic hit rate). A share of query nodes is held out of all training: see the seen/unseen tables. "
    "Continued SFT is the budget-matched control (the same preference impressions, steps and batch as every "
    "method); the SFT checkpoint (start) row is where every method begins. Reachable ceilings, the baselines' "
    "construction and the share of the SID code space that is valid are in the dataset's data card "
    "(results/data/)."
)
READINGS_NOTE = (
    "RAD-DPO is shown in two readings of its global contrast L_PL: as printed (paper eqs. 2 and 7, "
    "-log sigmoid(beta log sum_j w_j exp(r_w - r_j))) and as cited (S-DPO form, the paper's reference [4]: "
    "-log sigmoid(-log sum_j w_j exp(beta (r_j - r_w)))); everything else (multi-label SFT, TLGD, RDRW) is shared."
)
PAPER_NOTE_PROTOCOL2 = (
    "The paper's Table 1 (results/paper/table1.csv) is reported on internal JD.com data with a relevant-set "
    "recall; its levels are not comparable with these rows and it is not printed beside them."
)

def method_label(method: str) -> str:
    """A method's row label; a retrieval baseline's is its registered ``Retriever.label``."""
    if is_retriever(method):
        return get_retriever(method).label
    return METHOD_LABELS.get(method, method)


def retrieval_rows(present: Iterable[str]) -> list[str]:
    """The retrieval baselines among ``present``, in table order: the built-ins in ``RETRIEVAL_BASELINES``
    order, then any other registered retriever by name."""
    found = {m for m in present if is_retriever(m)}
    return [m for m in RETRIEVAL_BASELINES if m in found] + sorted(found - set(RETRIEVAL_BASELINES))


def row_labels(present: Iterable[str], protocol: int) -> dict[str, str]:
    """The row label of each method in a table holding ``present``: protocol 2 names continued SFT, and when
    both readings of RAD-DPO are present the printed rows are labelled too."""
    present = list(present)
    labels = {**METHOD_LABELS, **(PROTOCOL2_LABELS if protocol >= 2 else {})}
    labels.update({m: method_label(m) for m in present if is_retriever(m)})
    if any(m in CITED_READING for m in present):
        labels.update({m: f"{labels[m]}, {PRINTED_LABEL}" for m in PRINTED_READING})
    return labels


def best_group(groups: Sequence[MethodRuns | None], metric: str) -> MethodRuns | None:
    """The group with the best seed-mean on ``metric`` (lower for hallucination); ties go to the first."""
    best: MethodRuns | None = None
    best_value = 0.0
    sign = -1.0 if lower_is_better(metric) else 1.0
    for group in groups:
        summary = group.summary(metric) if group is not None else None
        if summary is None:
            continue
        if best is None or sign * summary.mean > sign * best_value:
            best, best_value = group, summary.mean
    return best


def build_methods_table(
    experiment: ExperimentRuns,
    *,
    name: str,
    title: str,
    significance: SignificanceConfig,
    paper: dict[str, PaperRow] | None = None,
    paper_section: str = "",
    paper_note: str = "",
    metrics: Sequence[str] | None = None,
) -> Table:
    """The Table-1 layout for the runs of ``experiment`` (one dataset, one model size, one variant, one
    protocol), one column per registered metric of ``metrics`` (default: the protocol's Table 1 columns)."""
    protocol = experiment.protocol()
    metrics = metrics or (TARGET_METRICS if protocol >= 2 else TABLE1_METRICS)
    columns = tuple(metric_column(m) for m in metrics)
    dataset = experiment.single("dataset")
    model_size = experiment.single("model_size")
    variants = experiment.variants()
    if len(variants) != 1:
        raise DataError(f"Experiment {experiment.name!r} has several variants {variants}; its table expects one.")
    variant = variants[0]
    present = set(experiment.methods())
    retrievers = retrieval_rows(present)
    known = {*MAIN_METHODS, *ABLATIONS, *retrievers, SFT_START}
    layout = (
        [(BASELINE_SECTION, m) for m in retrievers]
        + [("", m) for m in (SFT_START, *MAIN_METHODS) if m in present]
        + [(ABLATION_SECTION, m) for m in ABLATIONS if m in present]
        + [(OTHER_SECTION, m) for m in sorted(present - known)]
    )
    groups = {m: experiment.get(m, variant) for _, m in layout}
    sft, lookup = groups.get("sft"), groups.get(LOOKUP)
    clustered = all(g.clusters() is not None for g in groups.values())

    comparisons = []
    for column in columns:
        metric = column.key
        baseline = best_group([groups.get(m) for m in PREFERENCE_BASELINES], metric)
        for _, method in layout:
            group = groups[method]
            if method == "sft" or is_retriever(method) or not group.has(metric):
                continue
            if sft is not None and sft.has(metric):
                comparisons.append(Comparison(method, metric, SFT_MARK, group, sft, metric))
            if baseline is not None and method not in PREFERENCE_BASELINES and method != SFT_START:
                comparisons.append(Comparison(method, metric, BASELINE_MARK, group, baseline, metric))
        for method in ("sft", SFT_START) if protocol >= 2 else ():
            group = groups.get(method)
            if group is not None and lookup is not None and group.has(metric):
                comparisons.append(Comparison(method, metric, LOOKUP_MARK, group, lookup, metric))
        for _, method in layout if protocol >= 2 else ():
            if method in ("sft", SFT_START) or is_retriever(method) or lookup is None or not groups[method].has(metric):
                continue
            comparisons.append(Comparison(method, metric, LOOKUP_MARK, groups[method], lookup, metric))
    tests = run_comparisons(comparisons, significance)

    ranked = [m for section, m in layout if section in ("", BASELINE_SECTION)]
    emphasis = {}
    for column in columns:
        if clustered:  # protocol 2: only significant differences are emphasised
            marks = tie_emphasis([groups[m] for m in ranked], column.key, significance)
        else:
            marks = rank_emphasis([_mean(groups[m], column.key) for m in ranked], column.decimals,
                                  column.lower_is_better)
        for method, mark in zip(ranked, marks):
            emphasis[(method, column.key)] = mark

    labels = row_labels(present, protocol)
    rows = []
    for section, method in layout:
        cells = []
        for column in columns:
            summary = groups[method].summary(column.key)
            marks, pvalues = tests.cell(method, column.key)
            cells.append(
                Cell(
                    value=None if summary is None else summary.mean,
                    std=None if summary is None else summary.std,
                    n_seeds=0 if summary is None else summary.n_seeds,
                    emphasis=emphasis.get((method, column.key), ""),
                    marks=marks,
                    pvalues=pvalues,
                )
            )
        rows.append(Row(labels.get(method, method), tuple(cells), key=method, section=section))
    if paper and protocol < 2:
        for method in [*MAIN_METHODS, *ABLATIONS]:
            if method in paper:
                values = paper[method].values
                cells = tuple(Cell(value=values.get(c.key)) for c in columns)
                rows.append(Row(paper[method].label, cells, key=f"paper:{method}", section=paper_section))

    notes = []
    if protocol >= 2:
        verdict = lookup_verdict(groups, layout, tests, significance)
        if verdict:
            notes.append(verdict)
    notes.append(f"Dataset {dataset}, model size {model_size}, data protocol {protocol}"
                 f"{QUERY_SUBSET_NOTES[experiment.queries]}. {describe_runs(experiment)} {CELL_NOTE}")
    notes.append(PROTOCOL2_NOTE if protocol >= 2 else
                 "Data protocol 1: every item of the query's category counts as relevant (results computed before "
                 "protocol 2; see the README).")
    if clustered:
        notes.append("Bold: the best row of a column and every row not significantly different from it (a tie is "
                     "printed as a tie); underline: the best of the remaining rows and its ties (among the "
                     f"{'baselines and ' if protocol >= 2 else ''}main rows; clustered permutation tests against "
                     "that row, Holm-adjusted within the column). Lower is better for Halluc.")
    else:
        notes.append("Bold: best, underline: second best per column among the main rows (SFT, DPO, SimPO, ORPO, "
                     "RAD-DPO), compared as printed; lower is better for Halluc.")
    notes.append(significance_legend(
        significance,
        "continued SFT" if protocol >= 2 else "SFT",
        "the best of DPO, SimPO and ORPO in that column (marked on RAD-DPO, its ablations and other methods)",
        "the query lookup table (marked on every trained row and the SFT start)" if protocol >= 2 else None,
        clustered=clustered,
    ))
    seeds_note = seed_level_note(groups, layout, PRIMARY_METRIC if protocol >= 2 else columns[1].key)
    if seeds_note:
        notes.append(seeds_note)
    if tests.skipped:
        notes.append(f"Not tested ({len(tests.skipped)}): " + "; ".join(tests.skipped) + ".")
    if present & set(CITED_READING):
        notes.append(READINGS_NOTE)
    if paper and paper_note:
        notes.append(paper_note if protocol < 2 else PAPER_NOTE_PROTOCOL2)
    return Table(name=name, title=title, stub_header="Method", columns=columns, rows=tuple(rows), notes=tuple(notes))


def lookup_verdict(groups: dict[str, MethodRuns], layout: list[tuple[str, str]], tests,
                   significance: SignificanceConfig, metric: str = PRIMARY_METRIC) -> str:
    """The sentence a reader needs first: is the best trained row significantly better than the query lookup
    table on the primary metric, or does a parameter-free table tie it?"""
    lookup = groups.get(LOOKUP)
    trained = [m for section, m in layout if m != SFT_START and not is_retriever(m)]
    if lookup is None or not lookup.has(metric) or not trained:
        return ""
    best = best_group([groups[m] for m in trained], metric)
    if best is None:
        return ""
    ours, theirs = best.summary(metric), lookup.summary(metric)
    tested = dict(tests.cell(best.method, metric)[1]).get(LOOKUP_MARK)
    label = get_metric(metric).long_label
    labels = row_labels(groups, 2)
    head = (f"Read first: on {label} the best trained row ({labels.get(best.method, best.method)}, "
            f"{ours.mean:.4f}) against the query lookup table ({theirs.mean:.4f}): ")
    if tested is None:
        verdict = head + "not tested."
    elif tested >= significance.alpha:
        verdict = head + f"no significant difference (Holm-adjusted p = {tested:.3g}); a parameter-free table ties it."
    else:
        word = "better" if (ours.mean > theirs.mean) != lower_is_better(metric) else "worse"
        verdict = head + f"significantly {word} (Holm-adjusted p = {tested:.3g})."
    # The lookup is the strongest memoriser, not always the strongest row that trains nothing (unseen queries).
    strongest = best_group([groups[m] for m in retrieval_rows(groups)], metric)
    if strongest is not None and strongest.method != LOOKUP and strongest.summary(metric).mean != theirs.mean:
        sign = -1.0 if lower_is_better(metric) else 1.0
        if sign * strongest.summary(metric).mean > sign * max(theirs.mean, ours.mean, key=lambda v: sign * v):
            verdict += (f" The strongest retrieval baseline here is {method_label(strongest.method)} "
                        f"({strongest.summary(metric).mean:.4f}).")
    return verdict


def seed_level_note(groups: dict[str, MethodRuns], layout: list[tuple[str, str]], metric: str) -> str:
    """With several seeds, each trained row against continued SFT over seeds (each seed one unit: the
    training run is what varies): mean difference ± its spread, paired t and exact sign-flip p-values. The
    query-level marks above do not see seed variance; this does."""
    sft = groups.get("sft")
    if sft is None or len(sft.seeds) < 2 or not sft.has(metric):
        return ""
    parts = []
    labels = row_labels(groups, 2)
    for _, method in layout:
        group = groups[method]
        if method == "sft" or is_retriever(method) or group.seeds != sft.seeds or not group.has(metric):
            continue
        mine = [r.result.metrics[metric] for r in group.runs]
        theirs = [r.result.metrics[metric] for r in sft.runs]
        test = seed_level_test(mine, theirs)
        parts.append(f"{labels.get(method, method)} {test.mean_diff:+.4f} ± "
                     f"{test.std_diff:.4f} (t p = {test.pvalue_t:.3g}, sign-flip p = {test.pvalue_sign_flip:.3g})")
    if not parts:
        return ""
    return (f"Over seeds ({len(sft.seeds)}), {get_metric(metric).long_label} minus continued SFT, mean ± std of "
            "the per-seed differences: " + "; ".join(parts) + ". With few seeds the sign-flip p cannot go "
            f"below {2 / 2 ** len(sft.seeds):.3g}.")


def tie_emphasis(groups: Sequence[MethodRuns], metric: str, significance: SignificanceConfig) -> list[str]:
    """"best" / "second" / "" per group: the best mean and every group not significantly different from it
    (clustered paired permutation tests against the leader, Holm-adjusted within the column) are "best"; the
    same rule on the remaining groups gives "second". Groups lacking the metric get ""."""
    out = [""] * len(groups)
    remaining = [i for i, g in enumerate(groups) if g.has(metric)]
    sign = -1.0 if lower_is_better(metric) else 1.0
    for mark in ("best", "second"):
        if len(remaining) < 2 and mark == "best":
            return out
        if not remaining:
            break
        leader = max(remaining, key=lambda i: (sign * groups[i].summary(metric).mean, -i))
        others = [i for i in remaining if i != leader]
        pairs, clusters = [], []
        for i in others:
            a, b, labels = paired_clusters(groups[i], groups[leader], metric)
            pairs.append((a, b))
            clusters.append(labels)
        tested = compare_family(pairs, n_resamples=significance.n_resamples, seed=significance.seed,
                                clusters=clusters)
        ties = [i for i, t in zip(others, tested) if t.pvalue_holm >= significance.alpha]
        for i in (leader, *ties):
            out[i] = mark
        remaining = [i for i in others if i not in ties]
    return out


def _mean(group: MethodRuns, metric: str) -> float | None:
    summary = group.summary(metric)
    return None if summary is None else summary.mean


def build_table1(
    experiment: ExperimentRuns, significance: SignificanceConfig, paper: dict[str, PaperRow] | None
) -> Table:
    dataset = experiment.single("dataset")
    return build_methods_table(
        experiment,
        name="table1",
        title=f"Table 1: preference-alignment methods and RAD-DPO ablations on {dataset}",
        significance=significance,
        paper=paper,
        paper_section="Paper, Table 1 (reported on internal JD.com data, Qwen 1.7B; levels not comparable)",
        paper_note=(
            "Paper rows: the RAD-DPO paper's Table 1 as printed (results/paper/table1.csv): industrial JD.com "
            "data and a 1.7B backbone, single numbers without std or significance. Compare directions of "
            "effects, not absolute values."
        ),
    )

"""The metric registry: every metric's name, family, direction, labels and kernel, registered once.

The evaluator (``benchmark.evaluation.score_rankings`` computes every registered metric that has a kernel),
results validation (``benchmark.results``), the tables' columns, the leaderboard's columns and headers and the
significance comparisons all read metrics from here, so adding a metric is one kernel module in
``benchmark/metrics/`` plus one ``register_metric`` call (README, "Adding a metric").

A metric with a cutoff (``item_recall@10``) may declare ``any_cutoff``: its name stem then accepts every
cutoff K >= 1 (``item_recall@20``), because K values are evaluation configuration (``EvalConfig.item_ks``);
such a name resolves to a copy of the registered entry with the cutoff and labels changed.

Protocol 2 scores the held-out ordered item (the split's ``target``): families "target" (item level) and
"target_sid" (SID level). Their metrics ``needs_target``; the evaluator computes them only when given targets,
and they take their cutoffs from the item / SID level (``CUTOFF_LEVEL``). The relevant-set families "item" and
"sid" stay as the secondary, category-level columns.

Metric sets, e.g. ``TABLE1_METRICS``, are tuples of registered names defined once, at the end of this module.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from benchmark.errors import BenchmarkError
from benchmark.metrics._ranks import HitRanks
from benchmark.metrics.hallucination import hallucination_rate
from benchmark.metrics.hit_rate import hit_rate_from_hits
from benchmark.metrics.mrr import mrr_from_hits
from benchmark.metrics.ndcg import ndcg_from_hits
from benchmark.metrics.recall import recall_from_hits
from benchmark.registry import Registry, UnknownNameError, unknown_name_message

FAMILIES = ("validity", "target", "target_sid", "item", "sid")
# Families scored against the ordered item: computed only when the evaluator is given targets.
TARGET_FAMILIES = ("target", "target_sid")
# Which EvalConfig cutoff set a family's any-cutoff stems expand to: the ordered item is ranked in the same item
# and SID rankings as the relevant set, so it shares their cutoffs (``evaluated_names``).
CUTOFF_LEVEL = {"target": "item", "target_sid": "sid", "item": "item", "sid": "sid"}
# Heading of a family's columns in the paper's tables (validity has none: "Halluc." stands alone).
FAMILY_GROUPS = {
    "validity": "",
    "target": "Ordered item (item level)",
    "target_sid": "Ordered item (SID level)",
    "item": "Category level (item)",
    "sid": "Category level (SID)",
}
_CUTOFF = re.compile(r"^(?P<stem>.+)@(?P<k>[1-9][0-9]*)$")


@dataclasses.dataclass(frozen=True)
class EvalInputs:
    """What a metric kernel reads for Q queries, built once per ``score_rankings`` call.

    beam_valid: Q lists, per returned beam (duplicates included) whether its SID maps to an item.
    item_hits / sid_hits: first-occurrence ranks of the relevant items in the item ranking / of the relevant
        SIDs in the SID ranking (``benchmark.metrics.HitRanks``).
    item_target / sid_target: rank of the ordered item in the item ranking / of its SID in the SID ranking
        (``benchmark.metrics.target_hit_ranks``); None when the evaluator was given no targets.
    """

    beam_valid: Sequence[Sequence[bool]]
    item_hits: HitRanks
    sid_hits: HitRanks
    item_target: HitRanks | None = None
    sid_target: HitRanks | None = None

    def hits(self, family: str) -> HitRanks:
        """The ranks a family's metrics read: the relevant set's ("item", "sid") or the target's."""
        hits = {"item": self.item_hits, "sid": self.sid_hits,
                "target": self.item_target, "target_sid": self.sid_target}[family]
        if hits is None:
            raise BenchmarkError(
                f"Metrics of family {family!r} score the ordered item: pass 'targets' to score_rankings."
            )
        return hits


@dataclasses.dataclass(frozen=True)
class Metric:
    """One per-query metric.

    name: the key in per_query.parquet / run.json ("item_recall@10"); ``stem@K`` when it has a cutoff.
    family: "validity" (hallucination), "target" / "target_sid" (the ordered item in the item / SID ranking),
        "item" / "sid" (the relevant set in the item / SID ranking).
    higher_is_better: direction for best/second emphasis, "better"/"worse" verdicts and board sorting.
    label: short column header in the paper's tables ("R@10"), under the family's group heading.
    long_label: self-contained header for the leaderboard ("Item R@10").
    cutoff: K of "@K" names, else None.
    any_cutoff: the stem accepts every cutoff K >= 1 (labels are rewritten from "@cutoff" to "@K").
    kernel: (inputs, metric) -> (Q,) float64 per-query values; the evaluator computes every registered metric
        that has one. None: stored by whoever writes the runs, never computed by the evaluator.
    """

    name: str
    family: str
    higher_is_better: bool
    label: str
    long_label: str
    cutoff: int | None = None
    any_cutoff: bool = False
    kernel: Callable[[EvalInputs, Metric], np.ndarray] | None = dataclasses.field(
        default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(
                f"The 'family' parameter of Metric must be one of {', '.join(FAMILIES)}. Got {self.family!r} instead."
            )
        match = _CUTOFF.match(self.name)
        cutoff = int(match["k"]) if match else None
        if self.cutoff != cutoff:
            raise ValueError(
                f"The 'cutoff' parameter of Metric {self.name!r} must be {cutoff!r} (the K of its name). "
                f"Got {self.cutoff!r} instead."
            )
        if self.any_cutoff and cutoff is None:
            raise ValueError(f"Metric {self.name!r}: 'any_cutoff' needs a name of the form stem@K.")

    @property
    def stem(self) -> str:
        return self.name.partition("@")[0] if self.cutoff is not None else self.name

    @property
    def needs_target(self) -> bool:
        """Scored against the ordered item, so computable only when the evaluator is given targets."""
        return self.family in TARGET_FAMILIES

    @property
    def lower_is_better(self) -> bool:
        return not self.higher_is_better

    def at(self, k: int) -> Metric:
        """This metric at cutoff ``k`` (only for ``any_cutoff`` metrics)."""
        old, new = f"@{self.cutoff}", f"@{k}"
        return dataclasses.replace(self, name=f"{self.stem}{new}", cutoff=k, label=self.label.replace(old, new),
                                   long_label=self.long_label.replace(old, new))


_METRICS: Registry[Metric] = Registry("metric")


def register_metric(metric: Metric) -> Metric:
    """Add ``metric``; a name already registered is an error. Registration order is report order."""
    return _METRICS.register(metric.name, metric)


def unregister_metric(name: str) -> None:
    """Remove a registered metric (for tests that register a temporary one)."""
    _METRICS.unregister(name)


def metric_names() -> tuple[str, ...]:
    """Registered names in registration (report) order."""
    return tuple(_METRICS.names())


def _open_stems() -> dict[str, Metric]:
    stems: dict[str, Metric] = {}
    for name in _METRICS:
        metric = _METRICS.get(name)
        if metric.any_cutoff:
            stems.setdefault(metric.stem, metric)
    return stems


def find_metric(name: object) -> Metric | None:
    """The metric called ``name`` (a registered name, or ``stem@K`` of an any-cutoff stem), else None."""
    if not isinstance(name, str):
        return None
    if name in _METRICS:
        return _METRICS.get(name)
    match = _CUTOFF.match(name)
    template = _open_stems().get(match["stem"]) if match else None
    return template.at(int(match["k"])) if template is not None else None


def get_metric(name: str) -> Metric:
    """Like ``find_metric``, but an unknown name raises with "did you mean" and the available names."""
    metric = find_metric(name)
    if metric is None:
        raise UnknownNameError(unknown_metric_message(name))
    return metric


def unknown_metric_message(name: object) -> str:
    available = [*metric_names(), *(f"{stem}@K" for stem in _open_stems())]
    return unknown_name_message("metric name", str(name), available)


def evaluated_names(cutoffs: Mapping[str, Sequence[int]], *, with_targets: bool = True) -> list[str]:
    """Names the evaluator computes, in report order: registered metrics with a kernel, each any-cutoff stem
    expanded (where it is first registered) to ``cutoffs[CUTOFF_LEVEL[family]]`` ("item" / "sid") instead of
    its registered cutoffs. ``with_targets=False`` leaves out the metrics that need the ordered item."""
    names: list[str] = []
    stems: set[str] = set()
    for name in metric_names():
        metric = _METRICS.get(name)
        if metric.kernel is None or (metric.needs_target and not with_targets):
            continue
        if not metric.any_cutoff:
            names.append(name)
        elif metric.stem not in stems:
            stems.add(metric.stem)
            level = CUTOFF_LEVEL.get(metric.family, metric.family)
            names += [f"{metric.stem}@{k}" for k in cutoffs.get(level, ())]
    return names


def compute_metric(name: str, inputs: EvalInputs) -> np.ndarray:
    """(Q,) per-query values of metric ``name`` from its registered kernel."""
    metric = get_metric(name)
    if metric.kernel is None:
        raise UnknownNameError(f"Metric {name!r} has no kernel: the evaluator cannot compute it.")
    return metric.kernel(inputs, metric)


def is_metric_name(name: object) -> bool:
    return find_metric(name) is not None


def lower_is_better(name: str) -> bool:
    return get_metric(name).lower_is_better


def metric_sort_key(name: str) -> tuple[int, str, int]:
    """Report order: registered names in registration order, then other cutoffs by stem and K."""
    names = metric_names()
    if name in names:
        return (0, "", names.index(name))
    stem, _, k = name.partition("@")
    return (1, stem, int(k) if k.isdigit() else 0)


def board_header(name: str) -> str:
    """The leaderboard's column header: the long label, with an arrow when lower is better."""
    metric = get_metric(name)
    return metric.long_label + (" ↓" if metric.lower_is_better else "")


# ------------------------------------------------------------------------------------ the standard set
# Computed by benchmark.evaluation.score_rankings (its EvalConfig defaults give exactly these cutoffs; the target
# families only when it is given targets), in report order: this order is the column order of every
# per_query.parquet.
def _halluc(inputs: EvalInputs, metric: Metric) -> np.ndarray:
    return hallucination_rate(inputs.beam_valid, at=metric.cutoff)


def _recall(inputs: EvalInputs, metric: Metric) -> np.ndarray:
    return recall_from_hits(inputs.hits(metric.family), metric.cutoff)


def _hit_rate(inputs: EvalInputs, metric: Metric) -> np.ndarray:
    return hit_rate_from_hits(inputs.hits(metric.family), metric.cutoff)


def _mrr(inputs: EvalInputs, metric: Metric) -> np.ndarray:
    return mrr_from_hits(inputs.hits(metric.family))


def _ndcg(inputs: EvalInputs, metric: Metric) -> np.ndarray:
    return ndcg_from_hits(inputs.item_hits, inputs.hits("target"), metric.cutoff)


def _target_metrics(family: str, long_level: str, cutoffs: tuple[int, ...], ndcg: bool) -> list[Metric]:
    out = [Metric(f"{family}_hit@{k}", family, True, f"HR@{k}", f"{long_level} HR@{k}", k, any_cutoff=True,
                  kernel=_hit_rate) for k in cutoffs]
    # Graded by the item's relation to the query (2 = the ordered item, 1 = another relevant item), which only
    # the item level knows; the "g" says so, because a graded NDCG can exceed the HR of the same cutoff.
    if ndcg:
        out += [Metric(f"{family}_ndcg@{k}", family, True, f"gNDCG@{k}", f"{long_level} graded NDCG@{k}", k,
                       any_cutoff=True, kernel=_ndcg) for k in cutoffs]
    out.append(Metric(f"{family}_mrr", family, True, "MRR", f"{long_level} MRR", kernel=_mrr))
    return out


def _ranking_metrics(level: str, long_level: str, cutoffs: tuple[int, ...]) -> list[Metric]:
    out = [Metric(f"{level}_recall@{k}", level, True, f"R@{k}", f"{long_level} R@{k}", k, any_cutoff=True,
                  kernel=_recall) for k in cutoffs]
    out += [Metric(f"{level}_hit@{k}", level, True, f"HR@{k}", f"{long_level} HR@{k}", k, any_cutoff=True,
                   kernel=_hit_rate) for k in cutoffs]
    out.append(Metric(f"{level}_mrr", level, True, "MRR", f"{long_level} MRR", kernel=_mrr))
    return out


for _metric in (
    Metric("halluc@1", "validity", False, "Halluc.@1", "Halluc.@1", 1, kernel=_halluc),
    Metric("halluc", "validity", False, "Halluc.", "Halluc.", kernel=_halluc),
    *_target_metrics("target", "Target", (10, 100, 500), ndcg=True),
    *_target_metrics("target_sid", "Target SID", (8, 64, 128), ndcg=False),
    *_ranking_metrics("item", "Item", (10, 100, 500)),
    *_ranking_metrics("sid", "SID", (8, 64, 128)),
):
    register_metric(_metric)

# ------------------------------------------------------------------------------------------ metric sets
# The paper's Table 1 columns (protocol 1, the relevant set): also the leaderboard's columns and the metrics
# submissions are tested on.
TABLE1_METRICS = (
    "halluc",
    "item_recall@10",
    "item_recall@100",
    "item_recall@500",
    "item_mrr",
    "sid_recall@8",
    "sid_recall@64",
    "sid_recall@128",
    "sid_mrr",
)
# The paper's Table 2 and Figure 2: SID level only.
SID_METRICS = ("sid_recall@8", "sid_recall@64", "sid_recall@128", "sid_mrr")
# The noise-robustness table (beyond the paper).
NOISE_METRICS = ("sid_recall@64", "sid_mrr", "item_recall@100")
# `grbench compare`'s default.
COMPARE_METRICS = ("sid_recall@64", "sid_mrr", "item_recall@100", "item_mrr", "halluc")
# `grbench compare`'s default on protocol-2 runs: the ordered item's headline metrics and both hallucination rates
# (protocol 1's category-level recalls above say little about the ordered item).
TARGET_COMPARE_METRICS = ("target_hit@10", "target_ndcg@10", "target_mrr", "halluc@1", "halluc")
# Protocol 2's Table 1 columns: the ordered item first, then the category-level hit rate as the secondary column.
TARGET_METRICS = (
    "halluc@1",
    "halluc",
    "target_hit@10",
    "target_hit@100",
    "target_ndcg@10",
    "target_mrr",
    "target_sid_hit@8",
    "target_sid_hit@64",
    "target_sid_mrr",
    "item_hit@10",
)

__all__ = [
    "COMPARE_METRICS",
    "CUTOFF_LEVEL",
    "EvalInputs",
    "FAMILIES",
    "FAMILY_GROUPS",
    "NOISE_METRICS",
    "SID_METRICS",
    "TABLE1_METRICS",
    "TARGET_COMPARE_METRICS",
    "TARGET_FAMILIES",
    "TARGET_METRICS",
    "Metric",
    "UnknownNameError",
    "board_header",
    "compute_metric",
    "evaluated_names",
    "find_metric",
    "get_metric",
    "is_metric_name",
    "lower_is_better",
    "metric_names",
    "metric_sort_key",
    "register_metric",
    "unknown_metric_message",
    "unregister_metric",
]

"""Per-query retrieval metrics (DESIGN.md section 6): every function returns an np.ndarray of shape (Q,).

Means are taken only in reports. One metric per module, each with its formula in the docstring, a per-query
kernel and a batched function (ranx style). The ``*_from_hits`` kernels let evaluation compute the
first-occurrence ranks once and derive every cutoff from them.
"""

from benchmark.metrics._ranks import HitRanks, hit_ranks
from benchmark.metrics.hallucination import hallucination_rate
from benchmark.metrics.hit_rate import hit_rate_at_k, hit_rate_from_hits
from benchmark.metrics.mrr import mrr, mrr_from_hits
from benchmark.metrics.ndcg import ndcg_from_hits, target_ndcg_at_k
from benchmark.metrics.recall import recall_at_k, recall_from_hits
from benchmark.metrics.target import check_targets, target_hit_ranks

__all__ = [
    "HitRanks",
    "check_targets",
    "hallucination_rate",
    "hit_rate_at_k",
    "hit_rate_from_hits",
    "hit_ranks",
    "mrr",
    "mrr_from_hits",
    "ndcg_from_hits",
    "recall_at_k",
    "recall_from_hits",
    "target_hit_ranks",
    "target_ndcg_at_k",
]

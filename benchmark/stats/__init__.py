"""Significance statistics over per-query metric arrays (DESIGN.md section 7).

Paired tests compare two systems on the same test queries; randomness comes only from an explicit
``numpy.random.Generator`` seeded by the caller, so identical inputs and seed give identical p-values.
"""

from benchmark.stats.bootstrap import ConfidenceInterval, bootstrap_ci
from benchmark.stats.compare import PairedComparison, align_labels, compare_family, pair_by_query, pool_seeds
from benchmark.stats.multiple import holm
from benchmark.stats.parametric import PairedTestResult, paired_t_test, wilcoxon_test
from benchmark.stats.permutation import PermutationResult, paired_permutation_test
from benchmark.stats.seeds import SeedLevelTest, SeedSummary, seed_level_test, seed_summary

__all__ = [
    "ConfidenceInterval",
    "PairedComparison",
    "PairedTestResult",
    "PermutationResult",
    "SeedLevelTest",
    "SeedSummary",
    "align_labels",
    "bootstrap_ci",
    "compare_family",
    "holm",
    "pair_by_query",
    "paired_permutation_test",
    "paired_t_test",
    "pool_seeds",
    "seed_level_test",
    "seed_summary",
    "wilcoxon_test",
]

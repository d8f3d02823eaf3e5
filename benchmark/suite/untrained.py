"""Runs that train nothing in the preference stage, evaluated like any method.

Two kinds, both rows of Table 1 (``table1.baselines``) and stored as ordinary runs (run.json, per-query file,
rankings), so every claim about a trained method is made beside them:

- the non-learned baselines of ``benchmark.retrieval`` (popularity, the query lookup table, zero-shot dense
  retrieval): fitted on the training split in seconds, ranked into SIDs, scored by the one evaluator;
- ``sft-start``: the SFT checkpoint every method of the seed starts from, evaluated as it is. The ``sft`` row is
  the budget-matched control (continued SFT on the preference impressions); the start row shows what the
  preference stage itself changed.

Their budget records zero preference steps, examples and tokens: the numbers a reader compares against the
trained rows' budgets.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchmark.suite.matrix import RunSpec
    from benchmark.suite.stages import Evaluation, Prepared

SFT_START = "sft-start"


@dataclasses.dataclass(frozen=True)
class NoConfig:
    """The (empty) method configuration of a run that trains nothing: its run key hashes ``{}``."""


def is_untrained(method: str) -> bool:
    """Whether ``method`` names a run without a preference stage (a non-learned baseline or ``sft-start``)."""
    from benchmark.retrieval import is_retriever

    return method == SFT_START or is_retriever(method)


def is_retriever(method: str) -> bool:
    """Whether ``method`` is a non-learned baseline (it uses no checkpoint at all)."""
    from benchmark.retrieval import is_retriever as registered

    return registered(method)


def untrained_names() -> tuple[str, ...]:
    from benchmark.retrieval import retriever_names

    return (*retriever_names(), SFT_START)


def evaluate_untrained(spec: RunSpec, prepared: Prepared) -> tuple[Evaluation, dict]:
    """Rank and score the test queries of ``spec`` without a preference stage; return the evaluation and the
    budget (zero preference compute; ``train_seconds`` is the baseline's fitting time)."""
    from benchmark.inference import score_frame
    from benchmark.suite.matrix import resolve
    from benchmark.suite.stages import Evaluation, eval_queries, evaluate, sft_checkpoint

    resolved = resolve(spec)
    start = time.perf_counter()
    if spec.method == SFT_START:
        evaluation = evaluate(sft_checkpoint(spec, prepared), prepared, resolved.eval)
        fit_seconds = 0.0
    else:
        from benchmark.retrieval import get_retriever

        ranker = get_retriever(spec.method).fit(prepared.dataset, prepared.catalog, resolved.sids)
        fit_seconds = time.perf_counter() - start
        frame = eval_queries(prepared, "test", resolved.eval.max_queries)
        rankings = ranker.rank(frame, resolved.eval.beam_width)
        evaluation = Evaluation(frame, rankings, score_frame(rankings, frame, prepared.catalog, resolved.eval))
    budget = {
        "optimizer_steps": 0,
        "batch_size": 0,
        "examples_seen": 0,
        "tokens": 0,
        "flops": 0.0,
        "train_seconds": round(fit_seconds, 3),
        "eval_seconds": evaluation.rankings.seconds,
    }
    return evaluation, budget

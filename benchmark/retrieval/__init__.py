"""Retrieval baselines that anchor every table: popularity, query lookup and zero-shot dense (non-learned), and
the trained dual tower (no generative model).

Each baseline produces rankings in exactly the form a trained model's beam search does: per query a ranked
list of at most ``beam_width`` distinct SIDs with descending scores, held in ``benchmark.inference.Rankings``,
so the one evaluator (``benchmark.evaluation.score_rankings``) scores them exactly like a model:

    retriever = get_retriever("query-lookup")
    ranker = retriever.fit(dataset, catalog, sid_config)      # every retriever takes the same three arguments
    rankings = ranker.rank(dataset.test, beam_width=128)
    metrics = score_rankings(rankings.sids, dataset.test["relevant"], catalog, EvalConfig())

Modules: ``registry`` (Retriever, Ranker, the registry), ``ranking`` (items -> SIDs at first occurrence,
the popularity order), ``popularity``, ``lookup`` (query-lookup), ``dense`` (dense-zeroshot), ``dualtower``
(dense-dualtower). The baselines do not depend on the run's seed (the dual tower has its own fixed
``DualTowerConfig.seed``): the suite runs them per seed only because the SID catalog depends on the seed.
"""

from benchmark.retrieval.registry import (
    Ranker,
    Retriever,
    get_retriever,
    is_retriever,
    register_retriever,
    retriever_names,
)

__all__ = ["Ranker", "Retriever", "get_retriever", "is_retriever", "register_retriever", "retriever_names"]

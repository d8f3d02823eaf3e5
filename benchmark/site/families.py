"""Method families, the board's filter: SFT, the DPO family, reward-guided, non-learned baselines.

The method registry records a loss and its flags, not a family, so the grouping of the paper's rows is kept
here: SFT (the multi-positive NLL, and the checkpoint every method starts from), the DPO family (pairwise
preference losses: DPO, SimPO, ORPO), reward-guided (RAD-DPO and its ablations: the representation-based
reward weighting of the paper) and the non-learned baselines (the registered retrievers). A method outside
these is "other"; a leaderboard submission is "submission" (its card declares no family).
"""

from __future__ import annotations

FAMILIES = {
    "sft": "SFT",
    "dpo": "DPO family",
    "reward": "reward-guided",
    "baseline": "baselines",
    "other": "other",
    "submission": "submissions",
}

_BY_METHOD = {
    "sft": "sft",
    "sft-start": "sft",
    "dpo": "dpo",
    "simpo": "dpo",
    "orpo": "dpo",
    "raddpo": "reward",
}


def family_of(method: str) -> str:
    """Family key of a method name (a key of ``FAMILIES``)."""
    if method in _BY_METHOD:
        return _BY_METHOD[method]
    if method.startswith("raddpo-"):
        return "reward"
    from benchmark.retrieval import is_retriever

    return "baseline" if is_retriever(method) else "other"

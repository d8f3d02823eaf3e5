"""Method families, the board's filter: SFT, the DPO family, reward-guided, non-learned baselines.

The method registry records a loss and its flags, not a family, so the grouping of the paper's rows is kept
here: SFT (the multi-positive NLL, and the checkpoint every method starts from), the DPO family (offline
preference losses on logged candidates: DPO, SimPO, ORPO, S-DPO, RAD-DPO in both readings and its
ablations), reward-guided (on-policy methods that score their own rollouts with a reward model: the GRPO
family) and the non-learned baselines (the registered retrievers). A method outside these is "other"; a
leaderboard submission is "submission" (its card declares no family).
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
    "sdpo": "dpo",
    "raddpo": "dpo",
}
# Name prefixes of method families with several registered variants.
_BY_PREFIX = (("raddpo-", "dpo"), ("grpo", "reward"), ("nll-grpo", "reward"), ("eg-grpo", "reward"),
              ("adagrpo", "reward"))


def family_of(method: str) -> str:
    """Family key of a method name (a key of ``FAMILIES``)."""
    if method in _BY_METHOD:
        return _BY_METHOD[method]
    for prefix, family in _BY_PREFIX:
        if method.startswith(prefix):
            return family
    from benchmark.retrieval import is_retriever

    return "baseline" if is_retriever(method) else "other"

"""Method families, the board's filter: SFT, the DPO family, reward-guided, non-learned baselines.

Each registered method declares its family (``Method.family``: SFT, the DPO family of offline preference
losses, or reward-guided: the GRPO family); the SFT start belongs with SFT, the registered retrievers are the
non-learned baselines. A name outside these is "other"; a leaderboard submission is "submission" (its card
declares no family).
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


def family_of(method: str) -> str:
    """Family key of a method name (a key of ``FAMILIES``): the registered method's own ``family``, the SFT
    start with SFT, a registered retriever a baseline, anything else (a method no longer registered) other."""
    from benchmark.methods import get_method, method_names
    from benchmark.retrieval import is_retriever
    from benchmark.suite.untrained import SFT_START

    if method in method_names():
        return get_method(method).family
    if method == SFT_START:
        return "sft"
    return "baseline" if is_retriever(method) else "other"

"""RAD-DPO (paper section 2): multi-label global contrast (``loss``), token-level gradient detachment
(``tlgd``), representation-based dynamic reward weighting (``weighting``). Importing this package registers
``raddpo`` and its ablations ``raddpo-no-tlgd``, ``raddpo-no-rdrw``, ``raddpo-no-mlsft``."""

from raddpo.loss import global_contrast_loss
from raddpo.method import (
    RadDpoConfig,
    RadDpoNoMlsftConfig,
    RadDpoNoRdrwConfig,
    RadDpoNoTlgdConfig,
    make_tracker,
    raddpo_objective,
)
from raddpo.tlgd import detach_shared_prefix
from raddpo.weighting import QuartileTracker, pair_similarity, reward_weight

__all__ = [
    "QuartileTracker",
    "RadDpoConfig",
    "RadDpoNoMlsftConfig",
    "RadDpoNoRdrwConfig",
    "RadDpoNoTlgdConfig",
    "detach_shared_prefix",
    "global_contrast_loss",
    "make_tracker",
    "pair_similarity",
    "raddpo_objective",
    "reward_weight",
]

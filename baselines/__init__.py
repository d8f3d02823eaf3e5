"""Baseline methods: SFT, DPO, SimPO, ORPO. Each module holds a pure loss, its config and its
registration; importing this package registers all four with ``benchmark.methods``."""

from baselines import dpo, orpo, sft, simpo  # noqa: F401  (imported for their registration)
from baselines.dpo import DpoConfig, dpo_loss
from baselines.orpo import OrpoConfig, log_odds, orpo_loss
from baselines.sft import SftConfig, sft_loss
from baselines.simpo import SimPoConfig, simpo_loss

__all__ = [
    "DpoConfig",
    "OrpoConfig",
    "SftConfig",
    "SimPoConfig",
    "dpo_loss",
    "log_odds",
    "orpo_loss",
    "sft_loss",
    "simpo_loss",
]

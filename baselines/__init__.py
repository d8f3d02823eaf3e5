"""Baseline methods: SFT, DPO, SimPO, ORPO, S-DPO, and the reward-guided GRPO family (``grpo``, ``nll-grpo``,
``eg-grpo``, ``adagrpo``). Each module holds a pure loss, its config and its registration; importing this package
registers them all with ``benchmark.methods``."""

from baselines import dpo, grpo, orpo, sdpo, sft, simpo  # noqa: F401  (imported for their registration)
from baselines.dpo import DpoConfig, dpo_loss
from baselines.grpo import AdaGrpoConfig, EgGrpoConfig, GrpoConfig, NllGrpoConfig, group_advantages, grpo_loss
from baselines.orpo import OrpoConfig, log_odds, orpo_loss
from baselines.sdpo import SdpoConfig, sdpo_loss
from baselines.sft import SftConfig, sft_loss
from baselines.simpo import SimPoConfig, simpo_loss

__all__ = [
    "AdaGrpoConfig",
    "EgGrpoConfig",
    "GrpoConfig",
    "NllGrpoConfig",
    "group_advantages",
    "grpo_loss",
    "DpoConfig",
    "OrpoConfig",
    "SdpoConfig",
    "SftConfig",
    "SimPoConfig",
    "dpo_loss",
    "log_odds",
    "orpo_loss",
    "sdpo_loss",
    "sft_loss",
    "simpo_loss",
]

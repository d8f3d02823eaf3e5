"""RAD-DPO as a registered method: L = L_SFT (eq. 1) + L_PL (eq. 7), with TLGD (eqs. 3-4) and RDRW
(eqs. 5-6), and its three ablations as config flags of the same objective.

L_PL has two readings (``raddpo.loss``): as printed (eqs. 2 and 7, ``raddpo`` and its ablations) and as
cited, the softmax form of S-DPO (the paper's reference [4], ``raddpo-sdpo`` and its ablations). The reading is
a class attribute of the config (``CONTRAST``), fixed by the registered name like the ablation flags, so every
variant runs the one objective and the printed variants' resolved configs (and run ids) are unchanged."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar

from baselines.sft import sft_loss
from benchmark.config import check_choice, check_number
from benchmark.errors import ConfigError
from benchmark.methods import (
    CandidateBatch,
    Method,
    average_logps,
    masked_mean,
    negative_mask,
    positive_token_mask,
    register_method,
    require,
    scalar,
    take_top,
    top_token_mask,
)
from benchmark.tuning.space import LEARNING_RATE, PREFERENCE_LR, Range
from raddpo.loss import global_contrast_loss, softmax_contrast_loss
from raddpo.tlgd import detach_shared_prefix
from raddpo.weighting import (
    DEFAULT_UPDATE_EVERY,
    PAPER_CACHE_SIZE,
    PAPER_LAMBDA,
    QuartileTracker,
    pair_similarity,
)

if TYPE_CHECKING:  # torch loads with the first loss computed, not with the config classes
    from torch import Tensor


PAPER_CITATION = "Chen, Sun, Qiu et al. 2025, RAD-DPO: Robust Adaptive Denoising DPO for Generative Retrieval in E-commerce"
SDPO_CITATION = "Chen, Tan, Zhang et al. 2024, On Softmax Direct Preference Optimization for Recommendation, NeurIPS"

# The two readings of L_PL: the paper's eqs. 2 and 7 as printed, and the S-DPO form its reference [4] uses.
PRINTED, CITED = "printed", "cited"
CONTRASTS = {PRINTED: global_contrast_loss, CITED: softmax_contrast_loss}


def _check_flag(owner: str, name: str, value: Any, allowed: tuple[bool, ...]) -> None:
    # check_choice would accept 0/1 for False/True (0 == False); flags must be real bools.
    if not isinstance(value, bool) or value not in allowed:
        choices = [a for a in (True, False) if a in allowed]
        raise ConfigError(
            f"The {name!r} parameter of {owner} must be one of {choices}. Got {value!r} instead."
        )


@dataclasses.dataclass(frozen=True)
class RadDpoConfig:
    """RAD-DPO hyper-parameters.

    beta = 1.0 is OUR choice: the paper does not report beta. The rewards are length-normalised
    log-likelihoods (the scale SimPO uses beta = 2 on), but the log-sum-exp over |Y_neg| negatives already
    starts at about log|Y_neg| (~2.2 for 9 negatives) when all margins are 0, so beta = 2 would start
    L_PL nearly saturated (~0.01); beta = 1 keeps it in the sigmoid's working range (~0.1). Sweep it with
    a config override when tuning.

    lam = 12 (eq. 6) and cache_size = N = 4096 (section 2.3) are the paper's. update_every = 50 training
    steps is OUR choice (the paper only says the anchors are "dynamically updated as training progresses").

    The flags are the paper's ablations (Table 1): tlgd (token-level gradient detachment), rdrw (dynamic
    reward weighting; off means w = 1 and no hidden states) and multi_label_sft (SFT over all positives;
    off means SFT on y_w* only).
    """

    beta: float = 1.0
    tlgd: bool = True
    rdrw: bool = True
    multi_label_sft: bool = True
    lam: float = PAPER_LAMBDA
    cache_size: int = PAPER_CACHE_SIZE
    update_every: int = DEFAULT_UPDATE_EVERY

    # An ablation's registered name promises its flag: overriding it would run another method under it.
    FIXED_FLAGS: ClassVar[dict[str, bool]] = {}
    # Which reading of L_PL (a key of CONTRASTS). A class attribute, not a field: the registered name fixes it,
    # and the resolved configs (hence the run ids) of the printed variants stay what they were.
    CONTRAST: ClassVar[str] = PRINTED
    # What ``grbench tune`` varies (benchmark.tuning), for both readings and every ablation: beta over two
    # decades around our 1.0, and the learning rate.
    SEARCH_SPACE: ClassVar[dict[str, Range]] = {"beta": Range(0.1, 10.0, log=True), LEARNING_RATE: PREFERENCE_LR}

    def __post_init__(self) -> None:
        owner = type(self).__name__
        check_choice(owner, "CONTRAST", self.CONTRAST, CONTRASTS)
        check_number(owner, "beta", self.beta, low=0.0, low_open=True)
        for flag in ("tlgd", "rdrw", "multi_label_sft"):
            fixed = self.FIXED_FLAGS.get(flag)
            _check_flag(owner, flag, getattr(self, flag), (True, False) if fixed is None else (fixed,))
        check_number(owner, "lam", self.lam, low=0.0)
        check_number(owner, "cache_size", self.cache_size, low=1, integer=True)
        check_number(owner, "update_every", self.update_every, low=1, integer=True)


@dataclasses.dataclass(frozen=True)
class RadDpoNoTlgdConfig(RadDpoConfig):
    """Ablation "w/o TLGD": the negatives' shared-prefix tokens keep their gradient."""

    tlgd: bool = False
    FIXED_FLAGS: ClassVar[dict[str, bool]] = {"tlgd": False}


@dataclasses.dataclass(frozen=True)
class RadDpoNoRdrwConfig(RadDpoConfig):
    """Ablation "w/o RDRW": every negative has weight 1; no hidden states are needed."""

    rdrw: bool = False
    FIXED_FLAGS: ClassVar[dict[str, bool]] = {"rdrw": False}


@dataclasses.dataclass(frozen=True)
class RadDpoNoMlsftConfig(RadDpoConfig):
    """Ablation "w/o multi-label SFT": the SFT term covers y_w* only."""

    multi_label_sft: bool = False
    FIXED_FLAGS: ClassVar[dict[str, bool]] = {"multi_label_sft": False}


@dataclasses.dataclass(frozen=True)
class RadDpoSdpoConfig(RadDpoConfig):
    """RAD-DPO as cited: L_PL in the S-DPO form (``softmax_contrast_loss``), everything else as ``raddpo``.

    beta = 1.0 is OUR choice, as for the printed reading (the paper does not report beta). In this form beta
    scales the margins inside the log-sum-exp, and with all margins 0 the loss starts at log(1 + |Y_neg|)
    (~2.3 for 9 negatives), in the sigmoid's working range.
    """

    CONTRAST: ClassVar[str] = CITED


@dataclasses.dataclass(frozen=True)
class RadDpoSdpoNoTlgdConfig(RadDpoNoTlgdConfig):
    """Ablation "w/o TLGD" of RAD-DPO as cited (S-DPO form)."""

    CONTRAST: ClassVar[str] = CITED


@dataclasses.dataclass(frozen=True)
class RadDpoSdpoNoRdrwConfig(RadDpoNoRdrwConfig):
    """Ablation "w/o RDRW" of RAD-DPO as cited (S-DPO form)."""

    CONTRAST: ClassVar[str] = CITED


@dataclasses.dataclass(frozen=True)
class RadDpoSdpoNoMlsftConfig(RadDpoNoMlsftConfig):
    """Ablation "w/o multi-label SFT" of RAD-DPO as cited (S-DPO form)."""

    CONTRAST: ClassVar[str] = CITED


def make_tracker(config: RadDpoConfig) -> QuartileTracker | None:
    """RAD-DPO's state: the RDRW quartile tracker, or None when RDRW is off."""
    if not config.rdrw:
        return None
    return QuartileTracker(capacity=config.cache_size, update_every=config.update_every, lam=config.lam)


def raddpo_objective(
    batch: CandidateBatch, config: RadDpoConfig, state: QuartileTracker | None
) -> tuple[Tensor, dict[str, float]]:
    """Per-impression RAD-DPO loss L_SFT + L_PL (paper eqs. 1 and 7). Returns (B,) and diagnostics.

    L_PL is the reading ``config.CONTRAST`` names: as printed (``global_contrast_loss``) or as cited, the S-DPO
    form (``softmax_contrast_loss``).

    r(y) = log pi(y|x) / |y| (reference-free). For the negatives, log pi is TLGD's log pi-hat (eq. 4)
    when ``config.tlgd``. w_j = eq. 6 of the cosine similarity between y_w*'s and y_j's EOS hidden states
    (eq. 5, no gradient) when ``config.rdrw``, else 1. The tracker learns only from training batches
    (log-probs with gradient), so an evaluation pass does not move the anchors.
    """
    import torch

    neg = negative_mask(batch)  # (B, C)
    policy = batch.token_logps
    pos_reward = take_top(average_logps(policy, batch.token_mask), batch.top_positive)  # (B,)
    neg_token_logps = detach_shared_prefix(policy, batch.shared_prefix) if config.tlgd else policy
    neg_rewards = average_logps(neg_token_logps, batch.token_mask)  # (B, C)

    if config.rdrw:
        if not isinstance(state, QuartileTracker):
            raise ValueError(
                "RAD-DPO with rdrw=True needs the QuartileTracker returned by make_state(config)."
            )
        sims = pair_similarity(require(batch, "eos_hidden", "raddpo"), batch.top_positive)  # (B, C)
        weights = state.weights(sims).to(pos_reward.dtype)
        if batch.is_training:
            state.observe(sims[neg])
    else:
        weights = torch.ones_like(neg_rewards)

    pl = CONTRASTS[config.CONTRAST](pos_reward, neg_rewards, weights, neg, config.beta)  # (B,)
    sft_mask = positive_token_mask(batch) if config.multi_label_sft else top_token_mask(batch)
    sft = sft_loss(policy, sft_mask)  # (B,)

    detached = batch.shared_prefix & batch.token_mask & neg.unsqueeze(-1)
    diagnostics = {
        "sft": scalar(sft),
        "pl": scalar(pl),
        "reward_margin": scalar(masked_mean(pos_reward.unsqueeze(-1) - neg_rewards, neg)),
        "weight_mean": float(weights[neg].mean().item()) if bool(neg.any()) else 1.0,
        "rdrw_ready": float(isinstance(state, QuartileTracker) and state.ready),
        "detached_token_share": (
            float(detached.sum().item()) / max(1, int((batch.token_mask & neg.unsqueeze(-1)).sum().item()))
            if config.tlgd
            else 0.0
        ),
    }
    return sft + pl, diagnostics


def _register(name: str, config_cls: type[RadDpoConfig], description: str, needs_hidden: bool) -> Method:
    cited = config_cls.CONTRAST == CITED
    return register_method(
        Method(
            name=name,
            description=description,
            citation=f"{PAPER_CITATION}; L_PL in the form of {SDPO_CITATION}" if cited else PAPER_CITATION,
            config_cls=config_cls,
            objective=raddpo_objective,
            needs_hidden=needs_hidden,
            make_state=make_tracker,
        )
    )


RADDPO = _register(
    "raddpo",
    RadDpoConfig,
    "Multi-label SFT + weighted global contrast of y_w* vs all negatives, with TLGD and RDRW (eqs. 1-7).",
    needs_hidden=True,
)
RADDPO_NO_TLGD = _register(
    "raddpo-no-tlgd", RadDpoNoTlgdConfig, "RAD-DPO ablation without token-level gradient detachment.", True
)
RADDPO_NO_RDRW = _register(
    "raddpo-no-rdrw", RadDpoNoRdrwConfig, "RAD-DPO ablation without dynamic reward weighting (w = 1).", False
)
RADDPO_NO_MLSFT = _register(
    "raddpo-no-mlsft", RadDpoNoMlsftConfig, "RAD-DPO ablation with the SFT term on y_w* only.", True
)

# RAD-DPO as cited (S-DPO form): each printed variant again, under its name with "-sdpo", with the cited L_PL.
CITED_VARIANTS = {
    cited.name: cited
    for printed, config_cls in (
        (RADDPO, RadDpoSdpoConfig),
        (RADDPO_NO_TLGD, RadDpoSdpoNoTlgdConfig),
        (RADDPO_NO_RDRW, RadDpoSdpoNoRdrwConfig),
        (RADDPO_NO_MLSFT, RadDpoSdpoNoMlsftConfig),
    )
    for cited in [_register(printed.name.replace("raddpo", "raddpo-sdpo", 1), config_cls,
                            f"As cited (S-DPO form L_PL): {printed.description}", printed.needs_hidden)]
}

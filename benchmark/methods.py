"""The method contract: a candidate batch, a method record, and the registry of methods by name.

A method is a registered ``(objective, config class, needs_* flags)`` record. The one trainer builds a
``CandidateBatch`` for every step (packed forward pass, reference log-probs when ``needs_reference``, EOS
hidden states when ``needs_hidden``, scored rollouts of the current policy when ``needs_rollouts``,
shared-prefix masks always) and calls
``objective(batch, config, state) -> ((B,) losses, diagnostics)``. It never branches on a method's name.

The built-in methods (``sft``, ``dpo``, ``simpo``, ``orpo``, ``raddpo`` and its ablations) register
themselves when ``baselines`` and ``raddpo`` are imported; ``get_method`` and ``method_names`` import them
lazily, so every built-in is available without this module importing them at load time (they import us).

The small tensor views below (sequence log-probs, per-token averages, the top positive, negatives) are
shared by every objective so that "the sequence log-probability" means the same thing in every method.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from benchmark.errors import BenchmarkError
from benchmark.registry import Registry

if TYPE_CHECKING:  # torch loads with the first loss computed, not with the config classes
    import torch
    from torch import Tensor


BUILTIN_METHOD_PACKAGES = ("baselines", "raddpo")
# A researcher's own methods live in their own modules: list them (comma-separated) in this variable and
# every command (train, run, validate, ...) imports them after the built-ins.
PLUGIN_ENV = "GRBENCH_METHOD_MODULES"

Objective = Callable[["CandidateBatch", Any, Any], tuple["Tensor", dict[str, float]]]


@dataclasses.dataclass
class CandidateBatch:
    """One training step's impressions, each a prompt with C candidates of S tokens (SID codes + EOS).

    Shapes: B impressions, C candidate slots (padded), S = L + 1 target tokens, H hidden size.
    Padded candidates and tokens carry log-prob 0 and are excluded by ``cand_mask`` / ``token_mask``.
    """

    token_logps: Tensor  # (B, C, S) policy log pi(y_s | y_<s, x), with grad
    token_mask: Tensor  # (B, C, S) bool, real tokens
    cand_mask: Tensor  # (B, C) bool, real candidates
    is_positive: Tensor  # (B, C) bool, clicked (the ordered item included)
    top_positive: Tensor  # (B,) long, index of y_w* (the ordered item)
    shared_prefix: Tensor  # (B, C, S) bool, token inside the candidate's longest common prefix with y_w*
    ref_token_logps: Tensor | None = None  # (B, C, S) frozen reference (SFT checkpoint), when needs_reference
    eos_hidden: Tensor | None = None  # (B, C, H) final-layer state at each candidate's EOS, when needs_hidden
    # When needs_rollouts (benchmark.training.rollouts): slot top_positive holds y_w*, the other real slots the
    # G rollouts of the current policy; rewards score every real slot, y_w* included.
    rollout_mask: Tensor | None = None  # (B, C) bool, the slot holds a rollout
    rewards: Tensor | None = None  # (B, C) float, the reward model's score of each slot
    old_token_logps: Tensor | None = None  # (B, C, S) the rollout policy's log-probs (no grad)

    def __post_init__(self) -> None:
        # Shape mismatches are bugs in the batch builder; catching them here names the field instead of
        # failing later inside a broadcast with an anonymous size error.
        if self.token_logps.dim() != 3:
            raise ValueError(f"token_logps must have shape (B, C, S); got {tuple(self.token_logps.shape)}")
        bcs = tuple(self.token_logps.shape)
        expected = {
            "token_mask": bcs,
            "shared_prefix": bcs,
            "cand_mask": bcs[:2],
            "is_positive": bcs[:2],
            "top_positive": bcs[:1],
        }
        for optional, shape in (("ref_token_logps", bcs), ("old_token_logps", bcs), ("rollout_mask", bcs[:2]),
                                ("rewards", bcs[:2])):
            if getattr(self, optional) is not None:
                expected[optional] = shape
        for name, shape in expected.items():
            got = tuple(getattr(self, name).shape)
            if got != shape:
                raise ValueError(f"CandidateBatch.{name} must have shape {shape}; got {got}")
        if self.eos_hidden is not None and (
            self.eos_hidden.dim() != 3 or tuple(self.eos_hidden.shape[:2]) != bcs[:2]
        ):
            raise ValueError(
                f"CandidateBatch.eos_hidden must have shape {bcs[:2] + ('H',)}; got {tuple(self.eos_hidden.shape)}"
            )

    @property
    def is_training(self) -> bool:
        """True when the policy log-probs carry gradient: stateful methods learn only from training steps."""
        return bool(self.token_logps.requires_grad)


METHOD_FAMILIES = ("sft", "dpo", "reward")


@dataclasses.dataclass(frozen=True)
class Method:
    """A registered method: its objective, its config class and what the trainer must compute for it."""

    name: str
    description: str
    citation: str
    config_cls: type  # frozen dataclass, validated in __post_init__; defaults cite their source
    objective: Objective  # (batch, config, state) -> ((B,) losses, diagnostics of floats)
    needs_reference: bool = False  # batch.ref_token_logps from the frozen SFT checkpoint
    needs_hidden: bool = False  # batch.eos_hidden
    needs_negatives: bool = True  # False: may train on positive-only impressions (sft)
    # batch.rollout_mask / rewards / old_token_logps: G rollouts of the current policy per prompt, scored by the
    # reward model (benchmark.training.rollouts); the config must have a ``rollouts`` RolloutConfig
    needs_rollouts: bool = False
    make_state: Callable[[Any], Any] | None = None  # config -> state kept across steps, outside the loss
    # How boards group it: "sft" (likelihood training), "dpo" (offline preference losses on logged candidates,
    # the DPO family: DPO, SimPO, ORPO, S-DPO, RAD-DPO) or "reward" (on-policy, rewarded rollouts: GRPO family).
    family: str = "dpo"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip() or self.name != self.name.strip():
            raise ValueError(
                f"A method name must be a non-empty string without surrounding spaces; got {self.name!r}"
            )
        if not dataclasses.is_dataclass(self.config_cls) or not isinstance(self.config_cls, type):
            raise ValueError(
                f"Method {self.name!r}: config_cls must be a dataclass type; got {self.config_cls!r}"
            )
        if not callable(self.objective):
            raise ValueError(f"Method {self.name!r}: objective must be callable; got {self.objective!r}")
        if self.make_state is not None and not callable(self.make_state):
            raise ValueError(
                f"Method {self.name!r}: make_state must be callable or None; got {self.make_state!r}"
            )
        if self.family not in METHOD_FAMILIES:
            raise ValueError(f"Method {self.name!r}: family must be one of {list(METHOD_FAMILIES)}; "
                             f"got {self.family!r}")
        for flag in ("needs_reference", "needs_hidden", "needs_negatives", "needs_rollouts"):
            if not isinstance(getattr(self, flag), bool):
                raise ValueError(f"Method {self.name!r}: {flag} must be a bool; got {getattr(self, flag)!r}")


_METHODS: Registry[Method] = Registry("method")
_builtins_loaded = False


def register_method(method: Method) -> Method:
    """Add ``method`` under ``method.name``; a name already registered is a ValueError."""
    if not isinstance(method, Method):
        raise TypeError(f"register_method expects a Method; got {type(method).__name__}")
    return _METHODS.register(method.name, method)


def _load_builtins() -> None:
    # Imported here, not at module load: baselines/ and raddpo/ import this module to register themselves.
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True
        plugins = [m.strip() for m in os.environ.get(PLUGIN_ENV, "").split(",") if m.strip()]
        for package in (*BUILTIN_METHOD_PACKAGES, *plugins):
            try:
                importlib.import_module(package)
            except ModuleNotFoundError as exc:
                _builtins_loaded = False
                raise BenchmarkError(
                    f"Cannot import method module {package!r} (listed in ${PLUGIN_ENV}): {exc}. "
                    f"It must be importable from the current Python environment."
                ) from exc


def get_method(name: str) -> Method:
    """The method registered as ``name``; an unknown name raises UnknownNameError with suggestions."""
    _load_builtins()
    return _METHODS.get(name)


def method_names() -> list[str]:
    """Every registered method name, sorted (deterministic whatever the import order)."""
    _load_builtins()
    return sorted(_METHODS.names())


# ------------------------------------------------------------------------------------------ tensor views
def _compute_dtype(x: Tensor) -> torch.dtype:
    # Sums over tokens in bf16/fp16 lose the differences that preference losses live on.
    import torch

    return torch.promote_types(x.dtype, torch.float32)


def sequence_logps(token_logps: Tensor, token_mask: Tensor) -> Tensor:
    """log pi(y|x) = sum_s log pi(y_s | y_<s, x) over real tokens. (B, C, S) -> (B, C)."""
    import torch

    x = token_logps.to(_compute_dtype(token_logps))
    return torch.where(token_mask, x, torch.zeros((), dtype=x.dtype, device=x.device)).sum(-1)


def average_logps(token_logps: Tensor, token_mask: Tensor) -> Tensor:
    """Length-normalised log-likelihood log pi(y|x) / |y| (paper eq. 2's r-hat). (B, C, S) -> (B, C).

    A candidate with no real token gets 0 (it is masked out wherever it is used).
    """
    lengths = token_mask.sum(-1).clamp(min=1)
    return sequence_logps(token_logps, token_mask) / lengths


def take_top(values: Tensor, top_positive: Tensor) -> Tensor:
    """values[b, top_positive[b]]: (B, C, ...) -> (B, ...)."""
    index = top_positive.long().view(-1, *([1] * (values.dim() - 1))).expand(-1, 1, *values.shape[2:])
    return values.gather(1, index).squeeze(1)


def negative_mask(batch: CandidateBatch) -> Tensor:
    """Real, unclicked candidates: the negative pool Y_neg of each impression. (B, C) bool."""
    return batch.cand_mask & ~batch.is_positive


def positive_token_mask(batch: CandidateBatch) -> Tensor:
    """Tokens of every real positive candidate (Y_pos of eq. 1). (B, C, S) bool."""
    return batch.token_mask & (batch.cand_mask & batch.is_positive).unsqueeze(-1)


def top_token_mask(batch: CandidateBatch) -> Tensor:
    """Tokens of the top positive y_w* only. (B, C, S) bool."""
    import torch

    C = batch.cand_mask.shape[1]
    is_top = torch.arange(C, device=batch.cand_mask.device).unsqueeze(
        0
    ) == batch.top_positive.long().unsqueeze(1)
    return batch.token_mask & (is_top & batch.cand_mask).unsqueeze(-1)


def masked_mean(values: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``values`` over ``mask`` along the last dim; 0 where a row has no selected entry. (..., N) -> (...)."""
    import torch

    total = torch.where(mask, values, torch.zeros((), dtype=values.dtype, device=values.device)).sum(-1)
    return total / mask.sum(-1).clamp(min=1)


def shared_prefix_mask(candidate_ids: Tensor, token_mask: Tensor, top_positive: Tensor) -> Tensor:
    """Tokens inside each candidate's longest common prefix with y_w* (paper eq. 3's t <= k).

    candidate_ids (B, C, S) long, token_mask (B, C, S) bool, top_positive (B,) -> (B, C, S) bool.
    Token t is shared when tokens 1..t of the candidate equal those of y_w*; y_w* itself is all shared.
    The batch builder fills ``CandidateBatch.shared_prefix`` with this, once, for every method.
    """
    import torch

    top_ids = take_top(candidate_ids, top_positive).unsqueeze(1)  # (B, 1, S)
    top_mask = take_top(token_mask, top_positive).unsqueeze(1)
    equal = (candidate_ids == top_ids) & token_mask & top_mask
    return torch.cumprod(equal.to(torch.int32), dim=-1).bool()


def require(batch: CandidateBatch, field: str, method: str) -> Tensor:
    """``batch.<field>``, or a clear error when the trainer did not compute it for this method."""
    value = getattr(batch, field)
    if value is None:
        raise ValueError(
            f"Method {method!r} needs CandidateBatch.{field}, but the batch has none: the trainer must "
            f"honour the method's needs_* flags."
        )
    return value


def scalar(x: Tensor) -> float:
    """A diagnostic as a plain float (detached)."""
    return float(x.detach().float().mean().item()) if x.numel() else 0.0

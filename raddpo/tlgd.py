"""Token-level gradient detachment (TLGD, paper eqs. 3-4): a negative's tokens inside its longest common
prefix with y_w* keep their value but carry no gradient, so shared category prefixes are not pushed down
by the negative while being pulled up by the positive."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch loads with the first loss computed, not with the config classes
    from torch import Tensor


def detach_shared_prefix(token_logps: Tensor, shared_prefix: Tensor) -> Tensor:
    """log pi-hat of eq. 4, per token: SG[log pi(y_t | y_<t, x)] for t <= k, log pi(y_t | y_<t, x) after.

    token_logps: (B, C, S); shared_prefix: (B, C, S) bool, True for tokens inside the candidate's longest
    common prefix with y_w* (``benchmark.methods.shared_prefix_mask``). Returns (B, C, S) with the same
    values; gradient flows only through the tokens from the divergence point on. Apply it to negatives
    only (y_w* is entirely its own prefix).
    """
    import torch

    return torch.where(shared_prefix, token_logps.detach(), token_logps)

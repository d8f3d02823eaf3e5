"""RAD-DPO's multi-label global contrast: y_w* against the whole negative pool in one log-sum-exp
(paper eqs. 2 and 7)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch loads with the first loss computed, not with the config classes
    from torch import Tensor


def global_contrast_loss(
    pos_reward: Tensor,
    neg_rewards: Tensor,
    neg_weights: Tensor,
    neg_mask: Tensor,
    beta: float,
) -> Tensor:
    """L_PL = -log sigmoid(beta * log sum_j mask_j * w_j * exp(r(y_w*) - r(y_j)))   (paper eqs. 2 and 7)

    pos_reward: (B,) reward of the top positive y_w*; neg_rewards, neg_weights: (B, N); neg_mask: (B, N)
    bool, the real negatives. Returns (B,). In RAD-DPO r is the length-normalised log-likelihood
    log pi(y|x) / |y|, reference-free, and the negatives' log-likelihoods carry TLGD (eq. 4).

    Computed stably as logsumexp_j(r_w - r_j + log w_j) over the unmasked terms; a term with w_j = 0 is
    excluded like a masked one, and an impression with no negative term gets loss 0 (and zero gradient).
    Weights are used as given: pass them detached when they must not be trained (RDRW's are).

    This is the paper's formula as printed. Because the margins r_w - r_j enter the log-sum-exp with a
    plus sign, the sum is dominated by the *easiest* negative (lowest r_j), which also receives most of
    the gradient. It differs from S-DPO (Chen et al. 2024, the paper's reference [4]),
    -log sigmoid(-log sum_j exp(beta * (r_j - r_w))), whose log-sum-exp is dominated by the hardest
    negative. We implement the paper's.
    """
    import torch
    import torch.nn.functional as F

    mask = neg_mask & (neg_weights > 0)
    tiny = torch.finfo(neg_weights.dtype if neg_weights.is_floating_point() else torch.float32).tiny
    logits = pos_reward.unsqueeze(-1) - neg_rewards + torch.log(neg_weights.clamp(min=tiny))  # (B, N)
    has_term = mask.any(-1, keepdim=True)  # (B, 1)
    # Rows with no term are filled with zeros (not -inf) so that logsumexp and its backward stay finite;
    # their loss is replaced by 0 below.
    neg_inf = torch.full((), float("-inf"), dtype=logits.dtype, device=logits.device)
    filled = torch.where(mask, logits, torch.where(has_term, neg_inf, torch.zeros_like(neg_inf)))
    lse = torch.logsumexp(filled, dim=-1)  # (B,)
    loss = -F.logsigmoid(beta * lse)
    return torch.where(has_term.squeeze(-1), loss, torch.zeros_like(loss))

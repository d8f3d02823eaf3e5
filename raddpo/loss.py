"""RAD-DPO's multi-label global contrast: y_w* against the whole negative pool in one log-sum-exp
(paper eqs. 2 and 7), in two readings: as printed (``global_contrast_loss``) and as cited, the softmax form of
the paper's reference [4], S-DPO (``softmax_contrast_loss``)."""

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
    negative. That reading is ``softmax_contrast_loss``; this one is the paper's as printed.
    """
    import torch.nn.functional as F

    lse, has_term = _masked_logsumexp(pos_reward.unsqueeze(-1) - neg_rewards, neg_weights, neg_mask)
    loss = -F.logsigmoid(beta * lse)
    return _zero_without_term(has_term, loss)


def softmax_contrast_loss(
    pos_reward: Tensor,
    neg_rewards: Tensor,
    neg_weights: Tensor,
    neg_mask: Tensor,
    beta: float,
) -> Tensor:
    """L_PL = -log sigmoid(-log sum_j mask_j * w_j * exp(beta * (r(y_j) - r(y_w*))))   (S-DPO form)

    The paper says its global contrast follows S-DPO (Chen et al. 2024, its reference [4]), whose softmax
    loss is this one: the margins enter the log-sum-exp as r_j - r_w, scaled by beta inside it, and the sum
    is negated. Same shapes and conventions as ``global_contrast_loss``: pos_reward (B,); neg_rewards,
    neg_weights (B, N); neg_mask (B, N) bool. Returns (B,).

    Computed stably as -logsigmoid(-logsumexp_j(beta * (r_j - r_w) + log w_j)) over the unmasked terms; a
    term with w_j = 0 is excluded like a masked one, and an impression with no negative term gets loss 0 (and
    zero gradient). With equal rewards and unit weights it is log(1 + |Y_neg|) (about 2.3 for 9 negatives),
    not saturated like the printed reading, and its log-sum-exp (and gradient) is dominated by the *hardest*
    negative (highest r_j). With w = 1 and rewards log pi - log pi_ref it is S-DPO itself
    (``baselines.sdpo.sdpo_loss``).
    """
    import torch.nn.functional as F

    lse, has_term = _masked_logsumexp(beta * (neg_rewards - pos_reward.unsqueeze(-1)), neg_weights, neg_mask)
    loss = -F.logsigmoid(-lse)
    return _zero_without_term(has_term, loss)


def _masked_logsumexp(logits: Tensor, weights: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """log sum_j mask_j * w_j * exp(logits_j) over the last dim, and whether a row has any term.

    logits, weights (B, N); mask (B, N) bool -> ((B,), (B,) bool). Terms with w_j = 0 are excluded like
    masked ones. Rows with no term get 0 (not -inf) so that logsumexp and its backward stay finite; callers
    replace their loss with 0 (``_zero_without_term``).
    """
    import torch

    mask = mask & (weights > 0)
    tiny = torch.finfo(weights.dtype if weights.is_floating_point() else torch.float32).tiny
    logits = logits + torch.log(weights.clamp(min=tiny))  # (B, N)
    has_term = mask.any(-1, keepdim=True)  # (B, 1)
    neg_inf = torch.full((), float("-inf"), dtype=logits.dtype, device=logits.device)
    filled = torch.where(mask, logits, torch.where(has_term, neg_inf, torch.zeros_like(neg_inf)))
    return torch.logsumexp(filled, dim=-1), has_term.squeeze(-1)


def _zero_without_term(has_term: Tensor, loss: Tensor) -> Tensor:
    """``loss`` where a row has a negative term, 0 elsewhere. (B,) -> (B,)."""
    import torch

    return torch.where(has_term, loss, torch.zeros_like(loss))

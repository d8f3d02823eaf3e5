"""Representation-based dynamic reward weighting (RDRW, paper section 2.3, eqs. 5-6).

A negative that looks like y_w* to the model itself (cosine of final hidden states at EOS, eq. 5) is a
likely pseudo-negative (relevant but unclicked), so its penalty is softened by a weight in [0.5, 1] that
falls with the similarity, piecewise on the quartiles Q25/Q50/Q75 of recent similarities (eq. 6).

The quartiles are state that lives outside the pure loss: ``QuartileTracker`` is RAD-DPO's ``make_state``
object. Its schedule:

- warm-up: the first ``capacity`` (paper: N = 4096) (y_w*, y_j) similarities fill a cache; until the cache
  is full there are no anchors and every weight is 1 (our choice: the paper does not say what w is during
  warm-up; 1 is plain global contrast, i.e. no softening before the distribution is known);
- the anchors are the 25/50/75% quantiles (numpy's default linear interpolation) of exactly the first
  ``capacity`` pairs;
- "dynamically updated as training progresses": the cache then works as a ring buffer of the most recent
  ``capacity`` similarities, and the anchors are recomputed from it every ``update_every`` training steps
  (the paper gives no period). A step is one call of ``observe``, i.e. one training call of the objective:
  one optimizer step without gradient accumulation, one micro-batch with it.

Weights for a batch always use the anchors from before that batch, so a batch never sets its own weights.
Under torch.distributed the similarities of all ranks are gathered (rank order) before entering the
cache, so every rank holds the same anchors as a single process seeing the whole global batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmark.config import check_number
from benchmark.errors import ConfigError
from benchmark.methods import take_top

if TYPE_CHECKING:  # torch loads with the first loss computed, not with the config classes
    from torch import Tensor

PAPER_CACHE_SIZE = 4096  # N of paper section 2.3
PAPER_LAMBDA = 12.0  # lambda of eq. 6
DEFAULT_UPDATE_EVERY = 50  # not given by the paper


def reward_weight(
    sim: Tensor | float, q25: float, q50: float, q75: float, lam: float = PAPER_LAMBDA
) -> Tensor:
    """Penalty weight w(sim) of paper eq. 6, elementwise.

        w = 1.0                                         sim < Q25
            0.5 + 0.5 / (1 + exp(lam * (sim - Q50)))    Q25 <= sim <= Q75
            0.5                                         sim > Q75

    Non-increasing in sim (the jumps at Q25 and Q75 are downward), values in [0.5, 1]. Returns a tensor
    shaped like ``sim``.
    """
    import torch

    if not q25 <= q50 <= q75:
        raise ConfigError(
            f"The quartile anchors must satisfy q25 <= q50 <= q75. Got {q25!r}, {q50!r}, {q75!r} instead."
        )
    check_number("reward_weight", "lam", lam, low=0.0)
    sim = torch.as_tensor(sim)
    if not sim.is_floating_point():
        sim = sim.float()
    # 0.5 / (1 + exp(x)) == 0.5 * sigmoid(-x), which cannot overflow for large x.
    middle = 0.5 + 0.5 * torch.sigmoid(-lam * (sim - q50))
    return torch.where(
        sim < q25, torch.ones_like(sim), torch.where(sim > q75, torch.full_like(sim, 0.5), middle)
    )


def pair_similarity(eos_hidden: Tensor, top_positive: Tensor) -> Tensor:
    """Cosine similarity (paper eq. 5) of every candidate's EOS hidden state with y_w*'s, no gradient.

    eos_hidden: (B, C, H); top_positive: (B,) -> (B, C) float32 (y_w* with itself gives 1).
    """
    import torch
    import torch.nn.functional as F

    with torch.no_grad():
        hidden = eos_hidden.detach().float()
        top = take_top(hidden, top_positive).unsqueeze(1)  # (B, 1, H)
        return F.cosine_similarity(hidden, top, dim=-1, eps=1e-8)


def _gather_across_ranks(values: np.ndarray) -> np.ndarray:
    """Concatenate ``values`` of every rank in rank order (identity outside torch.distributed)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return values
    parts: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(parts, values)
    return np.concatenate(parts)


class QuartileTracker:
    """RDRW state: a warm-up cache, then a ring buffer of the most recent similarities and their quartiles.

    ``weights(sims)`` gives eq. 6 weights with the current anchors (all ones until the warm-up ends);
    ``observe(sims)`` adds one training step's (y_w*, y_j) similarities and refreshes the anchors on
    schedule (see the module docstring). ``state_dict`` / ``load_state_dict`` make it resumable.
    """

    def __init__(
        self,
        capacity: int = PAPER_CACHE_SIZE,
        update_every: int = DEFAULT_UPDATE_EVERY,
        lam: float = PAPER_LAMBDA,
        gather: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        check_number("QuartileTracker", "capacity", capacity, low=1, integer=True)
        check_number("QuartileTracker", "update_every", update_every, low=1, integer=True)
        check_number("QuartileTracker", "lam", lam, low=0.0)
        self.capacity = capacity
        self.update_every = update_every
        self.lam = float(lam)
        self._gather = gather or _gather_across_ranks
        self._buffer = np.zeros(capacity, dtype=np.float64)
        self._size = 0  # number of valid entries (<= capacity)
        self._cursor = 0  # next slot to overwrite once full
        self.steps = 0  # observe() calls
        self.last_refresh: int | None = None  # step of the last anchor refresh
        self.anchors: tuple[float, float, float] | None = None  # (Q25, Q50, Q75)
        self.pairs_seen = 0

    @property
    def ready(self) -> bool:
        """True once the warm-up cache has been filled and anchors exist."""
        return self.anchors is not None

    def cache(self) -> np.ndarray:
        """The cached similarities, oldest first. (<= capacity,)"""
        if self._size < self.capacity:
            return self._buffer[: self._size].copy()
        return np.concatenate([self._buffer[self._cursor :], self._buffer[: self._cursor]])

    def weights(self, sims: Tensor) -> Tensor:
        """Eq. 6 weights for ``sims`` (any shape) with the current anchors; ones during warm-up."""
        import torch

        if self.anchors is None:
            return torch.ones_like(sims, dtype=torch.float32)
        return reward_weight(sims.float(), *self.anchors, lam=self.lam)

    def observe(self, sims: Tensor | np.ndarray) -> None:
        """Add one training step's similarities (any shape, flattened) and refresh anchors on schedule."""
        from torch import Tensor

        if isinstance(sims, Tensor):
            sims = sims.detach().float().cpu().numpy()
        values = self._gather(np.asarray(sims, dtype=np.float64).ravel())
        self.steps += 1
        self.pairs_seen += int(values.size)
        if self.anchors is None:
            # Warm-up: the first anchors come from exactly the first `capacity` pairs; the rest of the
            # batch that completes the cache enters the ring buffer afterwards.
            take = min(self.capacity - self._size, values.size)
            self._push(values[:take])
            values = values[take:]
            if self._size == self.capacity:
                self.refresh()
        self._push(values)
        if (
            self.anchors is not None
            and self.last_refresh is not None
            and self.steps - self.last_refresh >= self.update_every
        ):
            self.refresh()

    def refresh(self) -> None:
        """Recompute (Q25, Q50, Q75) from the cache now."""
        if self._size == 0:
            return
        q25, q50, q75 = np.quantile(self.cache(), [0.25, 0.5, 0.75])
        self.anchors = (float(q25), float(q50), float(q75))
        self.last_refresh = self.steps

    def _push(self, values: np.ndarray) -> None:
        if values.size == 0:
            return
        if values.size >= self.capacity:  # only the most recent `capacity` can survive
            self._buffer[:] = values[-self.capacity :]
            self._size, self._cursor = self.capacity, 0
            return
        end = self._cursor + values.size
        if end <= self.capacity:
            self._buffer[self._cursor : end] = values
        else:
            split = self.capacity - self._cursor
            self._buffer[self._cursor :] = values[:split]
            self._buffer[: end - self.capacity] = values[split:]
        self._cursor = end % self.capacity
        self._size = min(self.capacity, self._size + values.size)

    def state_dict(self) -> dict[str, Any]:
        """Plain, picklable/JSON-able state for checkpoints."""
        return {
            "capacity": self.capacity,
            "update_every": self.update_every,
            "lam": self.lam,
            "cache": self.cache().tolist(),
            "steps": self.steps,
            "last_refresh": self.last_refresh,
            "anchors": list(self.anchors) if self.anchors is not None else None,
            "pairs_seen": self.pairs_seen,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if int(state["capacity"]) != self.capacity:
            raise ConfigError(
                f"The 'capacity' of the saved QuartileTracker is {state['capacity']}, but this one has "
                f"{self.capacity}: resume with the same RAD-DPO config."
            )
        cache = np.asarray(state["cache"], dtype=np.float64)
        self._buffer[:] = 0.0
        self._buffer[: cache.size] = cache
        self._size = int(cache.size)
        self._cursor = self._size % self.capacity
        self.steps = int(state["steps"])
        self.last_refresh = None if state["last_refresh"] is None else int(state["last_refresh"])
        self.anchors = None if state["anchors"] is None else tuple(float(a) for a in state["anchors"])
        self.pairs_seen = int(state["pairs_seen"])

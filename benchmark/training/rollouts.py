"""Rollouts of the current policy, scored by a reward model, for the methods that set ``needs_rollouts``.

Per micro-batch the trainer calls ``roll_out``: for each example it asks the policy for G SIDs (the batched beam
search of ``benchmark.decoding``, unconstrained, or seeded ancestral sampling: ``RolloutConfig.decoding``),
scores each, and returns new examples whose candidates are

    slot 0           y_w*, the ordered item (``top_positive = 0``), scored like a rollout
    slots 1 .. G     the rollouts, in decoding order (best beam first); duplicates kept (a sampled group)

``collate`` packs them as it packs preference candidates; ``TrainBatch.with_rollouts`` adds the rewards and the
rollout mask, and ``forward_candidates`` the rollout policy's log-probs (one policy update per rollout batch,
as TRL's GRPOTrainer with ``num_iterations = 1``: they equal the policy's own, detached).

Rewards (``RolloutConfig.reward``), from what the impression's log recorded about each candidate:

    ranker   the production-ranker proxy (benchmark/data/ranker.py): an item the ranker exposed at position k
             (1-based) scores 1 / log2(1 + k); an item it did not expose scores 0. Exposure-biased by
             construction: the ranker's order mixes relevance with popularity and noise.
    truth    the clean graded truth of the impression / 2: 1 for the ordered item, 0.5 for another relevant
             exposed item, 0 otherwise (relevance of an unexposed item is unknown to the log: 0).

A SID that is not in the catalog (a hallucination) stays in the group and gets ``invalid_reward`` under both.
Without a catalog the valid SIDs are those of the training examples' candidates.

Variable-length catalogs (``variable_length``): a rollout may end with ``<eos>`` after any code, as the beam
search of ``benchmark.decoding`` allows unconstrained (sampling: ``<eos>`` is blocked at the first step and the
only choice at step L + 1); every candidate is codes + ``<eos>`` either way, as training encodes targets.

Cost: tokens generated (G x L per prompt; under variable length, codes + ``<eos>`` per rollout) and seconds are
returned in ``RolloutStats``; the trainer adds them to the run's totals (``train_summary.json``:
``rollout_tokens``, ``rollout_seconds``) and to each step's row.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmark.config import check_choice, check_number
from benchmark.errors import ConfigError
from benchmark.training.examples import Example

if TYPE_CHECKING:  # the method configs import RolloutConfig; torch loads with the first rollout
    import torch

DECODINGS = ("beam", "sample")
REWARDS = ("ranker", "truth")


@dataclasses.dataclass(frozen=True)
class RolloutConfig:
    """How rollouts are drawn and scored. group_size G = 8: the group of the fair-comparison issue (#15)."""

    group_size: int = 8
    decoding: str = "beam"  # beam: the G best beams (deterministic); sample: seeded ancestral sampling
    temperature: float = 1.0  # sampling only
    reward: str = "ranker"  # ranker: the exposure-biased production-ranker proxy; truth: clean graded truth
    invalid_reward: float = -1.0  # a SID outside the catalog (below every valid SID's reward, which is >= 0)

    def __post_init__(self) -> None:
        check_number("RolloutConfig", "group_size", self.group_size, low=2, integer=True)
        check_choice("RolloutConfig", "decoding", self.decoding, DECODINGS)
        check_number("RolloutConfig", "temperature", self.temperature, low=0.0, low_open=True)
        check_choice("RolloutConfig", "reward", self.reward, REWARDS)
        check_number("RolloutConfig", "invalid_reward", self.invalid_reward)


@dataclasses.dataclass(frozen=True)
class Rollouts:
    """Examples with y_w* + G rollouts each, and the reward of every candidate slot."""

    examples: list[Example]
    rewards: list[tuple[float, ...]]  # per example, one per candidate (slot 0 = y_w*)
    stats: RolloutStats


@dataclasses.dataclass(frozen=True)
class RolloutStats:
    tokens: int  # SID tokens generated
    seconds: float  # decoding + scoring wall time
    invalid: int  # rollouts whose SID is not in the catalog
    rollouts: int
    agreeing_pairs: int  # pairs (within a group) whose truth order the reward reproduces
    ordered_pairs: int  # pairs with different truth

    @property
    def reward_accuracy(self) -> float:
        """The reward model's pairwise accuracy against the clean truth on this batch's rollout groups."""
        return self.agreeing_pairs / self.ordered_pairs if self.ordered_pairs else math.nan


def rollout_config(method: Any, method_config: Any) -> RolloutConfig:
    """The ``rollouts`` RolloutConfig of a method that needs rollouts, or a ConfigError naming the method."""
    settings = getattr(method_config, "rollouts", None)
    if not isinstance(settings, RolloutConfig):
        raise ConfigError(
            f"Method {method.name!r} needs rollouts, so its config {type(method_config).__name__} must have a "
            f"'rollouts' attribute of type RolloutConfig; got {settings!r}."
        )
    return settings


def example_validity(examples: Sequence[Example]) -> Callable[[tuple[int, ...]], bool]:
    """Validity without a catalog: a target-id sequence is valid when some example has it as a candidate."""
    known = frozenset(c for ex in examples for c in ex.candidate_ids)
    return known.__contains__


def catalog_validity(catalog: Any, tokenizer: Any) -> Callable[[tuple[int, ...]], bool]:
    """Validity from a SidCatalog: the target ids decode to a SID the catalog holds."""

    def valid(target_ids: tuple[int, ...]) -> bool:
        sid = tokenizer.decode_sid(list(target_ids))
        return sid is not None and bool(catalog.is_valid(sid))

    return valid


def candidate_reward(example: Example, target_ids: tuple[int, ...], kind: str, valid: bool,
                     invalid_reward: float) -> float:
    """The reward of one candidate for ``example`` (module docstring: ranker / truth / invalid)."""
    if not valid:
        return float(invalid_reward)
    try:
        slot = example.candidate_ids.index(target_ids)
    except ValueError:
        return 0.0
    if kind == "truth":
        return example.grade_of(slot) / 2.0
    rank = example.exposure_rank_of(slot)
    return 1.0 / math.log2(1.0 + rank) if rank > 0 else 0.0


def variable_length(catalog: Any, tokenizer: Any, examples: Sequence[Example]) -> bool:
    """Whether rollouts may end a SID early: the catalog's own flag, or (no catalog) whether some candidate of
    the training examples is shorter than L codes + ``<eos>``."""
    if catalog is not None:
        return bool(getattr(catalog, "variable_length", False))
    return any(len(c) != tokenizer.levels + 1 for ex in examples for c in ex.candidate_ids)


def roll_out(model: torch.nn.Module, tokenizer: Any, examples: Sequence[Example], config: RolloutConfig,
             valid: Callable[[tuple[int, ...]], bool], seed: Sequence[int],
             keys: Sequence[int] | None = None, variable: bool = False) -> Rollouts:
    """G rollouts per example from ``model``, scored; deterministic given ``seed`` (an entropy tuple).
    ``variable``: SIDs may end before level L (``variable_length``).

    Sampling draws example i's group from a generator seeded with ``(*seed, keys[i])`` (default key: i), so
    the trainer (keys = the examples' indices in the data) gets the same rollouts however a step is split over
    ranks and micro-batches, and on resume.
    """
    start = time.perf_counter()
    prompts = [list(ex.prompt_ids) for ex in examples]
    if config.decoding == "beam":
        from benchmark.decoding import beam_search

        beams = beam_search(model, tokenizer, prompts, config.group_size, catalog=None,
                            batch_size=max(1, len(prompts)), variable_length=variable)
        # variable length: the beams end with <eos> already; fixed: L codes, <eos> appended below
        groups = [[tuple(b.token_ids[:-1] if variable else b.token_ids) for b in per_prompt] for per_prompt in beams]
    else:
        keys = range(len(examples)) if keys is None else keys
        groups = sample_sids(model, tokenizer, prompts, config.group_size, config.temperature,
                             [(*seed, int(k)) for k in keys], variable=variable)
    eos = tokenizer.eos_id
    out, rewards = [], []
    invalid = agreeing = ordered = tokens = 0
    for ex, group in zip(examples, groups, strict=True):
        truth = ex.candidate_ids[ex.top_positive]
        cands = (truth, *(tuple(g) + (eos,) for g in group))
        flags = [valid(c) for c in cands]
        invalid += flags[1:].count(False)
        tokens += sum(len(g) + variable for g in group)  # the <eos> step is decoded only under variable length
        scored = [candidate_reward(ex, c, config.reward, ok, config.invalid_reward) for c, ok in zip(cands, flags)]
        clean = [candidate_reward(ex, c, "truth", ok, config.invalid_reward) for c, ok in zip(cands, flags)]
        a, n = _pair_agreement(np.asarray(scored), np.asarray(clean))
        agreeing, ordered = agreeing + a, ordered + n
        out.append(Example(prompt_ids=ex.prompt_ids, candidate_ids=cands,
                           is_positive=tuple(c == truth for c in cands), top_positive=0,
                           impression_id=ex.impression_id))
        rewards.append(tuple(scored))
    stats = RolloutStats(tokens=tokens, seconds=time.perf_counter() - start, invalid=invalid,
                         rollouts=sum(len(g) for g in groups), agreeing_pairs=agreeing, ordered_pairs=ordered)
    return Rollouts(examples=out, rewards=rewards, stats=stats)


def _pair_agreement(reward: np.ndarray, truth: np.ndarray) -> tuple[int, int]:
    """Pairs (i, j) of one group with truth_i > truth_j, and how many of them have reward_i > reward_j."""
    higher = truth[:, None] > truth[None, :]
    return int((higher & (reward[:, None] > reward[None, :])).sum()), int(higher.sum())


def sample_sids(model: torch.nn.Module, tokenizer: Any, prompts: list[list[int]], group_size: int,
                temperature: float, seeds: Sequence[Sequence[int]],
                variable: bool = False) -> list[list[tuple[int, ...]]]:
    """``group_size`` SIDs of L codes per prompt by ancestral sampling at ``temperature``, unconstrained like
    the beam search (special tokens excluded); prompt i's from a generator seeded with ``seeds[i]``.

    ``variable``: ``<eos>`` may be drawn from the second step on and is the only token at step L + 1; a SID ends
    at its ``<eos>``, which is not returned (1 to L codes). The fixed-length draws are unchanged by the flag.
    """
    import torch

    device = next(model.parameters()).device
    vocab = model.get_output_embeddings().weight.shape[0]
    blocked = torch.zeros(vocab, dtype=torch.bool)
    blocked[[tokenizer.pad_id, tokenizer.bos_id, tokenizer.eos_id, tokenizer.sep_id]] = True
    eos, levels = tokenizer.eos_id, tokenizer.levels
    step_masks = [blocked] * levels  # the tokens each step may not draw
    if variable:
        code_or_end, end_only = blocked.clone(), torch.ones_like(blocked)
        code_or_end[eos] = end_only[eos] = False
        step_masks = [blocked, *[code_or_end] * (levels - 1), end_only]
    was_training = model.training
    model.eval()
    groups = []
    try:
        with torch.inference_mode():
            for prompt, seed in zip(prompts, seeds, strict=True):
                state = np.random.SeedSequence([int(x) for x in seed]).generate_state(1)[0]
                generator = torch.Generator(device="cpu").manual_seed(int(state))
                ids = torch.tensor([prompt] * group_size, dtype=torch.long, device=device)  # (G, P)
                for mask in step_masks:
                    logits = model(input_ids=ids).logits[:, -1, :].float().cpu() / temperature  # (G, V)
                    logits[:, mask] = -math.inf
                    nxt = torch.multinomial(torch.softmax(logits, -1), 1, generator=generator)  # (G, 1)
                    ids = torch.cat([ids, nxt.to(device)], dim=1)
                # variable length: a row that drew <eos> kept drawing (one rectangular forward per step); its
                # SID ends at the <eos>, later draws dropped
                rows = ids[:, len(prompt):].tolist()
                groups.append([tuple(int(t) for t in (row[:row.index(eos)] if variable else row)) for row in rows])
    finally:
        model.train(was_training)
    return groups

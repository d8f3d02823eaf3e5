"""Impressions -> token-id training examples: one prompt and its candidate SIDs per impression.

An ``Example`` holds the prompt ``<bos> query <sep> history SIDs <sep>`` and the target ids (SID codes +
``<eos>``) of its candidates, in a fixed order the losses rely on:

    index 0          y_w*, the ordered item (``target``): the top-tier positive of RAD-DPO (paper sec. 2.2)
    1 .. P-1         the other clicked items, in exposure order
    P .. C-1         ``preference`` stage only: the exposed, unclicked items (negatives), in exposure order

Stages:
    ``sft``         candidates = the clicked items (multi-positive NLL, paper eq. 1); negatives are not used.
    ``preference``  positives then negatives; impressions left without a negative are dropped (below).

SID collisions (two items, one SID; DESIGN.md section 4) make some candidates indistinguishable to the model.
Within an impression a SID is kept once (its first occurrence), and a negative whose SID equals a positive's
is dropped: a model cannot raise one copy of a sequence and lower the other. The cap keeps y_w* and at least
one negative when there is one (a preference example without a negative teaches no contrast).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from benchmark.errors import ConfigError, DataError

log = logging.getLogger(__name__)

STAGES = ("sft", "preference")
DEFAULT_MAX_CANDIDATES = 16


@dataclasses.dataclass(frozen=True)
class Example:
    """One impression as token ids. ``candidate_ids[c]`` is ``tokenizer.target_ids(sid)`` (L codes + eos)."""

    prompt_ids: tuple[int, ...]
    candidate_ids: tuple[tuple[int, ...], ...]
    is_positive: tuple[bool, ...]
    top_positive: int = 0  # index of y_w* in candidate_ids (0 by construction)
    impression_id: int = -1
    item_ids: tuple[int, ...] = ()  # the item behind each candidate (one representative per SID)
    # What the log recorded about each candidate (the rewards of benchmark.training.rollouts read them):
    grades: tuple[int, ...] = ()  # graded truth: 2 ordered item, 1 other relevant, 0 other
    exposure_ranks: tuple[int, ...] = ()  # 1-based position in the production ranker's exposed list; 0: not shown

    def grade_of(self, slot: int) -> int:
        """Graded truth of candidate ``slot``; without recorded grades 2 / 1 / 0 for y_w* / clicked / other."""
        if self.grades:
            return self.grades[slot]
        return 2 if slot == self.top_positive else int(self.is_positive[slot])

    def exposure_rank_of(self, slot: int) -> int:
        """Exposure position of candidate ``slot`` (0: not exposed); without recorded ranks, ``slot + 1``."""
        return self.exposure_ranks[slot] if self.exposure_ranks else slot + 1

    @property
    def n_positives(self) -> int:
        return sum(self.is_positive)

    @property
    def n_negatives(self) -> int:
        return len(self.is_positive) - self.n_positives

    @property
    def n_tokens(self) -> int:
        """Tokens this example puts through the model: the prompt plus every candidate."""
        return len(self.prompt_ids) + sum(len(c) for c in self.candidate_ids)

    def capped(self, max_candidates: int) -> Example:
        """At most ``max_candidates`` candidates: y_w* and at least one negative (if any) survive."""
        if len(self.candidate_ids) <= max_candidates:
            return self
        keep = _capped_indices(self.is_positive, self.top_positive, max_candidates)
        return dataclasses.replace(
            self,
            candidate_ids=tuple(self.candidate_ids[i] for i in keep),
            is_positive=tuple(self.is_positive[i] for i in keep),
            top_positive=keep.index(self.top_positive),
            item_ids=tuple(self.item_ids[i] for i in keep) if self.item_ids else (),
            grades=tuple(self.grades[i] for i in keep) if self.grades else (),
            exposure_ranks=tuple(self.exposure_ranks[i] for i in keep) if self.exposure_ranks else (),
        )


def _capped_indices(is_positive: Sequence[bool], top: int, max_candidates: int) -> list[int]:
    if max_candidates < 2:
        raise ConfigError(
            f"The 'max_candidates' parameter of Example.capped must be an int in the range [2, inf). "
            f"Got {max_candidates} instead."
        )
    positives = [i for i, p in enumerate(is_positive) if p]
    negatives = [i for i, p in enumerate(is_positive) if not p]
    n_neg = min(len(negatives), max(1, max_candidates - len(positives)))
    n_pos = max_candidates - n_neg
    # y_w* first, then the other positives in their order; negatives in their order.
    kept_pos = [top] + [i for i in positives if i != top][: n_pos - 1]
    return sorted(kept_pos, key=lambda i: (i != top, i)) + negatives[:n_neg]


def build_examples(
    frame: pd.DataFrame,
    catalog: Any,
    tokenizer: Any,
    stage: str,
    max_candidates: int = DEFAULT_MAX_CANDIDATES,
) -> list[Example]:
    """Examples of every impression of ``frame`` (a ``BuiltDataset.train`` / ``.preference`` frame).

    ``catalog`` is a ``SidCatalog`` (``sid_of``), ``tokenizer`` a ``SidTokenizer`` (``encode_prompt``,
    ``target_ids``). The order of ``frame`` is kept: the data order of training is the trainer's business.
    """
    if stage not in STAGES:
        raise ConfigError(f"The 'stage' parameter of build_examples must be one of {list(STAGES)}. Got {stage!r} instead.")
    missing = [c for c in ("query", "history", "exposed", "clicks", "target") if c not in frame.columns]
    if missing:
        raise DataError(f"build_examples needs impression columns {missing} (got {list(frame.columns)}).")
    targets: dict[int, tuple[int, ...]] = {}

    def target_of(item: int) -> tuple[int, ...]:
        if item not in targets:
            targets[item] = tuple(int(t) for t in tokenizer.target_ids(catalog.sid_of(item)))
        return targets[item]

    ids = frame["impression_id"].to_numpy() if "impression_id" in frame.columns else np.arange(len(frame))
    relevance = frame["relevance"] if "relevance" in frame.columns else [None] * len(frame)
    examples: list[Example] = []
    dropped = 0
    for impression_id, query, history, exposed, clicks, target, grades in zip(
        ids, frame["query"], frame["history"], frame["exposed"], frame["clicks"], frame["target"], relevance
    ):
        example = _impression_example(
            int(impression_id), str(query), history, exposed, clicks, int(target), stage, target_of, tokenizer, catalog
        )
        if example is not None:
            example = _with_log(example, [int(i) for i in exposed], grades)
        if example is None:
            dropped += 1
            continue
        examples.append(example.capped(max_candidates))
    if dropped:
        log.info("%s examples: dropped %d of %d impressions left without a negative after SID de-duplication",
                 stage, dropped, len(frame))
    return examples


def _impression_example(
    impression_id: int,
    query: str,
    history: Sequence[int],
    exposed: Sequence[int],
    clicks: Sequence[int],
    target: int,
    stage: str,
    target_of: Any,
    tokenizer: Any,
    catalog: Any,
) -> Example | None:
    exposed = [int(i) for i in exposed]
    clicks = [int(c) for c in clicks]
    if len(exposed) != len(clicks):
        raise DataError(f"Impression {impression_id}: 'exposed' and 'clicks' differ in length "
                        f"({len(exposed)} vs {len(clicks)}).")
    positives = [target] + [i for i, c in zip(exposed, clicks) if c and i != target]
    negatives = [i for i, c in zip(exposed, clicks) if not c] if stage == "preference" else []
    seen: set[tuple[int, ...]] = set()
    candidates: list[tuple[int, ...]] = []
    labels: list[bool] = []
    items: list[int] = []
    for item, positive in [(i, True) for i in positives] + [(i, False) for i in negatives]:
        ids = target_of(item)
        if ids in seen:
            continue
        seen.add(ids)
        candidates.append(ids)
        labels.append(positive)
        items.append(item)
    if stage == "preference" and all(labels):
        return None
    prompt = tokenizer.encode_prompt(query, [catalog.sid_of(int(h)) for h in history])
    return Example(
        prompt_ids=tuple(int(t) for t in prompt),
        candidate_ids=tuple(candidates),
        is_positive=tuple(labels),
        top_positive=0,
        impression_id=impression_id,
        item_ids=tuple(items),
    )


def _with_log(example: Example, exposed: list[int], relevance: Sequence[int] | None) -> Example:
    """``example`` with each candidate's exposure position and graded truth (relevance column, when the frame has
    one; otherwise 2 / 1 / 0 for the ordered item / clicked / unclicked)."""
    position = {item: k + 1 for k, item in reversed(list(enumerate(exposed)))}
    grade_of = {item: int(g) for item, g in zip(exposed, relevance)} if relevance is not None else {}
    grades = tuple(2 if c == example.top_positive else grade_of.get(item, int(example.is_positive[c]))
                   for c, item in enumerate(example.item_ids))
    ranks = tuple(position.get(item, 0) for item in example.item_ids)
    return dataclasses.replace(example, grades=grades, exposure_ranks=ranks)


def examples_fingerprint(examples: Sequence[Example]) -> str:
    """A content hash of the examples and their order (a resumed run must see the same data)."""
    digest = hashlib.sha256()
    for ex in examples:
        digest.update(np.asarray(ex.prompt_ids, dtype=np.int64).tobytes())
        digest.update(b"|")
        for cand, pos in zip(ex.candidate_ids, ex.is_positive):
            digest.update(np.asarray(cand, dtype=np.int64).tobytes())
            digest.update(b"+" if pos else b"-")
        digest.update(str(ex.top_positive).encode() + b";")
    return digest.hexdigest()[:16]

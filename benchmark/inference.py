"""Checkpoint -> ranked SIDs for a split's queries -> per-query metrics.

Shared by ``grbench eval``, the experiment suite and the leaderboard export, so every model is decoded and
scored by the same code: prompts from the query and the user's history SIDs, beam search (unconstrained by
default, trie-constrained on request), SIDs decoded from the beams, metrics from ``benchmark.evaluation``.
A checkpoint is decoded at the precision it was trained at (``rank_checkpoint``; ``benchmark.precision``) and on
the GPU where there is one.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from benchmark.decoding import beam_search
from benchmark.evaluation import EvalConfig, score_rankings
from benchmark.precision import autocast, checkpoint_precision

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Rankings:
    """Decoded beams of every query, best first. ``sids[q][r]`` is None when beam r is ill-formed."""

    query_ids: np.ndarray  # (Q,)
    sids: list[list[tuple[int, ...] | None]]
    scores: list[list[float]]
    seconds: float

    def to_frame(self) -> pd.DataFrame:
        """Long format: query_id, rank (1-based), sid ("a-b-c", "" when ill-formed), score."""
        rows = [
            (int(qid), rank + 1, "-".join(map(str, sid)) if sid is not None else "", float(score))
            for qid, sids, scores in zip(self.query_ids, self.sids, self.scores)
            for rank, (sid, score) in enumerate(zip(sids, scores))
        ]
        return pd.DataFrame(rows, columns=["query_id", "rank", "sid", "score"])


def prompts_for(frame: pd.DataFrame, tokenizer, catalog) -> list[list[int]]:
    return [
        tokenizer.encode_prompt(query, [catalog.sid_of(int(item)) for item in history])
        for query, history in zip(frame["query"], frame["history"])
    ]


def decode_device() -> torch.device:
    """Where checkpoints are decoded: this process's CUDA device when CUDA is available, else the CPU (the
    trainer's rule, ``benchmark.training.distributed.DistContext.device``), so a GPU run decodes on the GPU."""
    from benchmark.training.distributed import context

    return context().device()


def rank_queries(model, tokenizer, catalog, frame: pd.DataFrame, config: EvalConfig, *, precision: str = "fp32",
                 device: torch.device | str | None = None) -> Rankings:
    """Beam-search every query of ``frame``; constrained decoding uses the catalog's prefix trie.

    precision: ``fp32`` or ``bf16`` (autocast around the model's forward passes: ``benchmark.precision``; the
    beam scores are fp32 log-probabilities either way). device: where to decode (the model is moved there);
    None leaves the model where it is.
    """
    if device is not None:
        model.to(device)
    start = time.perf_counter()
    with autocast(precision, next(model.parameters()).device):
        beams = beam_search(
            model,
            tokenizer,
            prompts_for(frame, tokenizer, catalog),
            beam_width=config.beam_width,
            catalog=catalog if config.constrained else None,
            batch_size=config.batch_size,
            # unconstrained decoding of a variable-length catalog's model may end a SID early too
            variable_length=catalog.variable_length,
        )
    sids = [[tokenizer.decode_sid(b.token_ids) for b in query_beams] for query_beams in beams]
    scores = [[float(b.score) for b in query_beams] for query_beams in beams]
    return Rankings(frame["query_id"].to_numpy(), sids, scores, time.perf_counter() - start)


def rank_checkpoint(checkpoint_dir: Path | str, tokenizer, catalog, frame: pd.DataFrame,
                    config: EvalConfig) -> Rankings:
    """``rank_queries`` of a stored checkpoint, decoded at the precision it was trained at
    (``checkpoint_precision``: a bf16 run is bf16 end to end) on ``decode_device()``."""
    from benchmark.training import load_checkpoint

    return rank_queries(load_checkpoint(checkpoint_dir), tokenizer, catalog, frame, config,
                        precision=checkpoint_precision(checkpoint_dir), device=decode_device())


def score_frame(rankings: Rankings, frame: pd.DataFrame, catalog, config: EvalConfig) -> dict[str, np.ndarray]:
    """Per-query metrics of ``rankings`` against the frame's relevant sets and, where the split has a "target"
    column (the held-out ordered item, protocol 2), against its targets too."""
    relevant: Sequence[set[int]] = [set(map(int, r)) for r in frame["relevant"]]
    targets = frame["target"].to_numpy() if "target" in frame.columns else None
    return score_rankings(rankings.sids, relevant, catalog, config, targets=targets)

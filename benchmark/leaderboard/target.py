"""What a submission is scored against: the benchmark's own test queries and SID catalog, with provenance.

The card names a dataset and the data / SID configs it used; the validator rebuilds (or loads from the
cache) exactly that split and catalog with the benchmark's own code and refuses the submission when the
rebuilt hashes differ from the card's: rankings produced against another split or another SID assignment
cannot be scored against this one.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from benchmark.config import ConfigError, from_dict, to_dict
from benchmark.errors import ArtifactMismatchError
from benchmark.evaluation import EvalConfig, select_queries
from benchmark.leaderboard.card import RunCard, TrainingData
from benchmark.leaderboard.errors import SubmissionError

log = logging.getLogger(__name__)

# Fields of EvalConfig that change what a metric means; a submission must use the benchmark's values so its
# numbers sit in the same columns as everyone else's. beam_width / max_queries define the track instead, and
# constrained / batch_size describe how the submitter decoded.
FIXED_EVAL_FIELDS = ("sid_ks", "item_ks")


@dataclasses.dataclass(frozen=True)
class EvaluationTarget:
    """The evaluated test queries (first ``eval_config.max_queries`` rows of the test split, in the split's
    seeded order) with their clean relevant items, and the SID catalog that expands SIDs to items.

    ``catalog`` needs ``items_for(sid)``, ``sid_of(item)``, ``codes`` (n_items, L) and ``codebook_sizes``.
    """

    dataset: str
    test_hash: str
    catalog_hash: str
    split_hash: str | None
    queries: pd.DataFrame          # (Q rows) columns query_id, relevant, ...
    catalog: Any
    eval_config: EvalConfig

    @property
    def query_ids(self) -> list[int]:
        return [int(q) for q in self.queries["query_id"]]


class TargetSource(Protocol):
    """Builds the dataset split and SID catalog a card names (the real one is ``BenchmarkSource``)."""

    def dataset(self, training_data: TrainingData) -> Any: ...

    def catalog(self, dataset: Any, training_data: TrainingData) -> Any: ...


class BenchmarkSource:
    """The benchmark's own builders (``benchmark.data``, ``benchmark.sids``): cached, content-addressed."""

    def __init__(self, data_dir: str | Path | None = None) -> None:
        self.data_dir = data_dir

    def dataset(self, training_data: TrainingData) -> Any:
        from benchmark.data import DataConfig, build_dataset

        # A card that names no data protocol predates protocol 2: its split was built, and is rebuilt, under
        # protocol 1 (cards exported from protocol-2 runs carry the resolved config, protocol included).
        data = {"protocol": 1, **training_data.data}
        config = _config(DataConfig, data, "training_data.data")
        log.info("building/loading dataset %s", training_data.dataset)
        return build_dataset(training_data.dataset, config, data_dir=self.data_dir)

    def catalog(self, dataset: Any, training_data: TrainingData) -> Any:
        from benchmark.sids import SidConfig, build_sids

        config = _config(SidConfig, training_data.sids, "training_data.sids")
        log.info("building/loading the SID catalog of %s", training_data.dataset)
        return build_sids(dataset, config)


def _config(cls: type, data: dict, where: str) -> Any:
    try:
        return from_dict(cls, data)
    except ConfigError as exc:
        raise SubmissionError(f"card.yaml {where}: {exc}") from exc


def eval_config_of(card: RunCard) -> EvalConfig:
    """The card's evaluation settings as the benchmark's EvalConfig (metric cutoffs must be the standard ones)."""
    config = _config(EvalConfig, dict(card.evaluation), "evaluation")
    standard = to_dict(EvalConfig())
    for name in FIXED_EVAL_FIELDS:
        if to_dict(config)[name] != standard[name]:
            raise SubmissionError(
                f"card.yaml evaluation.{name} is {list(getattr(config, name))}; the leaderboard scores every "
                f"submission at the benchmark's cutoffs {standard[name]} (leave the key out)."
            )
    return config


def _mismatch(what: str, card_value: str, actual: str, dataset: str, hint: str) -> ArtifactMismatchError:
    return ArtifactMismatchError(
        f"{what} mismatch for {dataset}: the card says {card_value!r} but the benchmark's rebuilt one is "
        f"{actual!r}. {hint}"
    )


def resolve_target(card: RunCard, source: TargetSource) -> EvaluationTarget:
    """Build the card's split and catalog through ``source`` and check the card's hashes against them."""
    eval_config = eval_config_of(card)
    data = card.training_data
    dataset = source.dataset(data)
    if str(dataset.test_hash) != card.hashes.test_hash:
        raise _mismatch(
            "Test-split hash (test_hash)", card.hashes.test_hash, str(dataset.test_hash), data.dataset,
            "The rankings were produced for another test split (another dataset version, data config or "
            "benchmark version); rank this benchmark's test queries and resubmit.",
        )
    if card.hashes.split_hash is not None and str(dataset.split_hash) != card.hashes.split_hash:
        raise _mismatch(
            "Split hash (split_hash)", card.hashes.split_hash, str(dataset.split_hash), data.dataset,
            "The method was trained on another split than the one the card's data config builds.",
        )
    catalog = source.catalog(dataset, data)
    if str(catalog.catalog_hash) != card.hashes.catalog_hash:
        raise _mismatch(
            "SID catalog hash (catalog_hash)", card.hashes.catalog_hash, str(catalog.catalog_hash), data.dataset,
            "The SIDs were assigned by another catalog (another SID config, encoder or split); SIDs from it do "
            "not name the same items here.",
        )
    # the suite's selection rule (benchmark.inference.select_queries: the first N rows of the seeded test
    # order), restated here so validation does not import the decoder and torch
    test = dataset.test
    queries = select_queries(test, eval_config.max_queries)
    return EvaluationTarget(
        dataset=data.dataset,
        test_hash=str(dataset.test_hash),
        catalog_hash=str(catalog.catalog_hash),
        split_hash=None if getattr(dataset, "split_hash", None) is None else str(dataset.split_hash),
        queries=queries.reset_index(drop=True),
        catalog=catalog,
        eval_config=eval_config,
    )

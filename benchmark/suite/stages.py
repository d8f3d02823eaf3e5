"""The stages of one run: prepared data -> shared SFT checkpoint -> method checkpoint -> evaluation.

Every stage is cached under a key hashing its inputs, so an interrupted suite resumes at the first unfinished
stage, and the SFT checkpoint of a seed is trained once and shared by every method of that seed (identical
starting point and budget for every method: DESIGN.md section 5). Each cached stage is built under an
advisory lock of its key (``benchmark.locks``), so suites running side by side never build one twice.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from functools import lru_cache
from pathlib import Path

from benchmark.artifacts import cache_root, hash_json
from benchmark.config import from_dict
from benchmark.data import DataConfig, build_dataset
from benchmark.locks import key_lock
from benchmark.methods import get_method
from benchmark.model import ModelConfig, SidTokenizer, build_model
from benchmark.sids import SidConfig, build_sids
from benchmark.suite.matrix import RunSpec
from benchmark.training import TrainConfig, build_examples, load_checkpoint, train

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Prepared:
    dataset: object
    catalog: object
    tokenizer: SidTokenizer

    @property
    def hashes(self) -> dict[str, str]:
        return {
            "split_hash": self.dataset.split_hash,
            "test_hash": self.dataset.test_hash,
            "catalog_hash": self.catalog.catalog_hash,
        }


@lru_cache(maxsize=4)
def _prepare_cached(dataset: str, data_json: str, sids_json: str, data_dir: str | None) -> Prepared:
    # One process builds a split and its SIDs; a concurrent suite waits, then loads them from the cache.
    with key_lock(cache_root(), "prepare-" + hash_json([dataset, data_json, sids_json, data_dir])):
        return _build_prepared(dataset, data_json, sids_json, data_dir)


def _build_prepared(dataset: str, data_json: str, sids_json: str, data_dir: str | None) -> Prepared:
    data = build_dataset(dataset, from_dict(DataConfig, json.loads(data_json)), data_dir=data_dir)
    catalog = build_sids(data, from_dict(SidConfig, json.loads(sids_json)))
    queries = [q for frame in (data.train, data.valid, data.test) for q in frame["query"]]
    tokenizer = SidTokenizer.build(queries, catalog.codebook_sizes)
    return Prepared(data, catalog, tokenizer)


def prepare(spec: RunSpec, data_dir: str | None) -> Prepared:
    """Dataset split, SID catalog and tokenizer of a run (all content-addressed and cached)."""
    return _prepare_cached(
        spec.dataset, json.dumps(spec.data, sort_keys=True), json.dumps(spec.sids, sort_keys=True), data_dir
    )


def _metadata(spec: RunSpec, prepared: Prepared) -> dict:
    """Provenance stored beside each checkpoint: what `grbench eval` checks and reports."""
    return {**prepared.hashes, "dataset": spec.dataset, "model_size": spec.model_size,
            "data": spec.data, "sids": spec.sids}


def _train_config(settings: dict, seed: int, steps_scale: float = 1.0) -> TrainConfig:
    settings = dict(settings)
    if steps_scale != 1.0:
        settings["steps"] = max(1, round(settings["steps"] * steps_scale))
    return from_dict(TrainConfig, {**settings, "seed": seed})


def sft_checkpoint(spec: RunSpec, prepared: Prepared) -> Path:
    """Train (or reuse) the SFT checkpoint every method of ``spec.seed`` starts from."""
    key = hash_json({**spec.sft_config(), **prepared.hashes})
    out = cache_root() / "checkpoints" / "sft" / key
    model_config = from_dict(ModelConfig, spec.model)
    model = build_model(model_config, prepared.tokenizer, seed=spec.seed)
    examples = build_examples(prepared.dataset.train, prepared.catalog, prepared.tokenizer, stage="sft")
    method = get_method("sft")
    # Trained once even by concurrent suites: the second waits here, then train() finds it finished.
    with key_lock(cache_root(), f"sft-{key}"):
        result = train(
            method=method,
            method_config=method.config_cls(),
            model=model,
            tokenizer=prepared.tokenizer,
            examples=examples,
            config=_train_config(spec.sft, spec.seed),
            out_dir=out,
            metadata=_metadata(spec, prepared),
        )
    return result.checkpoint_dir


def method_checkpoint(spec: RunSpec, prepared: Prepared, sft_dir: Path):
    """Align the SFT checkpoint with ``spec.method`` under the profile's preference budget.

    Every method, ``sft`` included (continued SFT on the same impressions), gets the same examples in the same
    order and the same optimizer steps; the data-scale experiment takes the first ``preference_fraction`` of the
    seeded preference order and scales the steps with it (one fixed number of passes over the data).
    """
    method = get_method(spec.method)
    frame = prepared.dataset.preference
    n = max(1, round(len(frame) * spec.preference_fraction))
    examples = build_examples(frame.iloc[:n], prepared.catalog, prepared.tokenizer, stage="preference")
    key = hash_json({**spec.training_config(), **prepared.hashes, "sft": sft_dir.parent.name})
    out = cache_root() / "checkpoints" / "runs" / key
    reference = load_checkpoint(sft_dir) if method.needs_reference else None
    with key_lock(cache_root(), f"method-{key}"):
        return train(
            method=method,
            method_config=from_dict(method.config_cls, spec.method_config),
            model=load_checkpoint(sft_dir),
            tokenizer=prepared.tokenizer,
            examples=examples,
            config=_train_config(spec.preference, spec.seed, spec.preference_fraction),
            out_dir=out,
            reference_model=reference,
            metadata=_metadata(spec, prepared),
        )

"""The stages of one run: prepared data -> shared SFT checkpoint -> method checkpoint -> evaluation -> record.

This is the one pipeline: the suite runs every stage, ``grbench train`` runs ``prepare_data`` and
``train_stage``, ``grbench eval`` runs ``prepare_data``, ``evaluate`` and ``record``, so the same settings give
the same split, tokenizer (and its metadata), examples (and ``max_candidates``) and evaluation in every path.

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

import pandas as pd

from benchmark.artifacts import cache_root, hash_json
from benchmark.config import from_dict
from benchmark.data import DataConfig, build_dataset
from benchmark.evaluation import EvalConfig, select_queries
from benchmark.inference import Rankings, rank_queries, score_frame
from benchmark.locks import key_lock
from benchmark.methods import get_method
from benchmark.model import SidTokenizer, build_model
from benchmark.results import RunRecord, write_run
from benchmark.sids import SidConfig, build_sids
from benchmark.suite.matrix import RunSpec, resolve
from benchmark.training import TrainConfig, TrainResult, build_examples, load_checkpoint, train

log = logging.getLogger(__name__)


def _checked_hashes(dataset, catalog) -> dict[str, str]:
    """What a checkpoint must match to be used with a split and catalog (``check_metadata``)."""
    return {"split_hash": dataset.split_hash, "catalog_hash": catalog.catalog_hash}


@dataclasses.dataclass
class Prepared:
    dataset: object
    catalog: object
    tokenizer: SidTokenizer
    data: dict  # the data and SID settings it was built with (stored in checkpoint metadata)
    sids: dict

    @property
    def checked_hashes(self) -> dict[str, str]:
        return _checked_hashes(self.dataset, self.catalog)

    @property
    def hashes(self) -> dict[str, str]:
        return {**self.checked_hashes, "test_hash": self.dataset.test_hash}

    def metadata(self, model_size: str, **extra) -> dict:
        """Provenance stored beside each checkpoint: what `grbench eval` checks and reports."""
        return {**self.hashes, "dataset": self.dataset.name, "model_size": model_size,
                "data": self.data, "sids": self.sids, **extra}

    def examples(self, stage: str, max_candidates: int, fraction: float = 1.0,
                 tokenizer: SidTokenizer | None = None) -> list:
        """Training examples of ``stage``: ``sft`` on the ``train`` impressions, ``preference`` on the first
        ``fraction`` of the seeded preference order, each capped at ``max_candidates`` candidates."""
        frame = self.dataset.preference if stage == "preference" else self.dataset.train
        n = max(1, round(len(frame) * fraction))
        return build_examples(frame.iloc[:n], self.catalog, tokenizer or self.tokenizer, stage=stage,
                              max_candidates=max_candidates)


@lru_cache(maxsize=4)
def _prepare_cached(dataset: str, data_json: str, sids_json: str, data_dir: str | None) -> Prepared:
    # One process builds a split and its SIDs; a concurrent suite waits, then loads them from the cache.
    with key_lock(cache_root(), "prepare-" + hash_json([dataset, data_json, sids_json, data_dir])):
        return _build_prepared(dataset, data_json, sids_json, data_dir)


def _build_prepared(dataset: str, data_json: str, sids_json: str, data_dir: str | None) -> Prepared:
    settings = json.loads(data_json), json.loads(sids_json)
    data = build_dataset(dataset, from_dict(DataConfig, settings[0]), data_dir=data_dir)
    catalog = build_sids(data, from_dict(SidConfig, settings[1]))
    # Protocol 2: training queries only (unseen words map to <unk>); protocol 1: train + valid + test, as its
    # tokenizers were built, so protocol-1 results reproduce (BuiltDataset.vocabulary_queries).
    queries = data.vocabulary_queries()
    tokenizer = SidTokenizer.build(queries, catalog.codebook_sizes, metadata=_checked_hashes(data, catalog))
    return Prepared(data, catalog, tokenizer, *settings)


def prepare_data(dataset: str, data: dict, sids: dict, data_dir: str | None) -> Prepared:
    """Dataset split, SID catalog and tokenizer (all content-addressed and cached; built once under a lock)."""
    return _prepare_cached(dataset, json.dumps(data, sort_keys=True), json.dumps(sids, sort_keys=True), data_dir)


def prepare(spec: RunSpec, data_dir: str | None) -> Prepared:
    """Dataset split, SID catalog and tokenizer of a run."""
    return prepare_data(spec.dataset, spec.data, spec.sids, data_dir)


def train_stage(method, method_config, model, prepared: Prepared, stage: str, config: TrainConfig, out_dir: Path,
                *, metadata: dict, fraction: float = 1.0, tokenizer: SidTokenizer | None = None,
                reference_model=None, resume: bool = True) -> TrainResult:
    """Train ``method`` on the examples of ``stage`` (``Prepared.examples`` with ``config.max_candidates``)."""
    tokenizer = tokenizer or prepared.tokenizer
    examples = prepared.examples(stage, config.max_candidates, fraction, tokenizer)
    log.info("%s: %d %s examples from %s", method.name, len(examples), stage, prepared.dataset.name)
    return train(method=method, method_config=method_config, model=model, tokenizer=tokenizer, examples=examples,
                 config=config, out_dir=out_dir, reference_model=reference_model, resume=resume, metadata=metadata,
                 catalog=prepared.catalog)  # the valid SIDs of rollouts (methods with needs_rollouts)


def sft_key(spec: RunSpec, prepared: Prepared) -> str:
    """The cache key of the SFT checkpoint ``spec`` starts from: its resolved SFT settings and the split and
    catalog hashes. Derived from the spec wherever it is needed, never read back from a directory name."""
    return hash_json({**spec.sft_config(), **prepared.hashes})


def sft_checkpoint(spec: RunSpec, prepared: Prepared) -> Path:
    """Train (or reuse) the SFT checkpoint every method of ``spec.seed`` starts from."""
    key = sft_key(spec, prepared)
    out = cache_root() / "checkpoints" / "sft" / key
    resolved = resolve(spec)  # the configs the run key hashes: what is hashed is what is trained
    model = build_model(resolved.model, prepared.tokenizer, seed=spec.seed)
    method = get_method("sft")
    # Trained once even by concurrent suites: the second waits here, then train() finds it finished.
    with key_lock(cache_root(), f"sft-{key}"):
        result = train_stage(method, method.config_cls(), model, prepared, "sft", resolved.sft, out,
                             metadata=prepared.metadata(spec.model_size))
    return result.checkpoint_dir


def method_checkpoint(spec: RunSpec, prepared: Prepared, sft_dir: Path):
    """Align the SFT checkpoint with ``spec.method`` under the profile's preference budget.

    Every method, ``sft`` included (continued SFT on the same impressions), gets the same examples in the same
    order and the same optimizer steps; the data-scale experiment takes the first ``preference_fraction`` of the
    seeded preference order and scales the steps with it (one fixed number of passes over the data).
    """
    method = get_method(spec.method)
    resolved = resolve(spec)  # preference steps already scaled by the fraction
    key = hash_json({**spec.training_config(), **prepared.hashes, "sft": sft_key(spec, prepared)})
    out = cache_root() / "checkpoints" / "runs" / key
    reference = load_checkpoint(sft_dir) if method.needs_reference else None
    with key_lock(cache_root(), f"method-{key}"):
        return train_stage(
            method, resolved.method, load_checkpoint(sft_dir), prepared, "preference", resolved.preference, out,
            metadata=prepared.metadata(spec.model_size), fraction=spec.preference_fraction,
            reference_model=reference,
        )


@dataclasses.dataclass
class Evaluation:
    frame: pd.DataFrame  # the evaluated queries (``select_queries`` of the split)
    rankings: Rankings
    per_query: dict  # metric name -> (Q,) array


def evaluate(checkpoint_dir: Path, prepared: Prepared, config: EvalConfig, *, split: str = "test",
             tokenizer: SidTokenizer | None = None) -> Evaluation:
    """Beam-search a checkpoint over the first ``config.max_queries`` queries of ``split`` and score them."""
    frame = select_queries(getattr(prepared.dataset, split), config.max_queries)
    rankings = rank_queries(load_checkpoint(checkpoint_dir), tokenizer or prepared.tokenizer, prepared.catalog,
                            frame, config)
    return Evaluation(frame, rankings, score_frame(rankings, frame, prepared.catalog, config))


def record(out: Path, run: RunRecord, evaluation: Evaluation, *, rankings: bool = True,
           overwrite: bool = False) -> Path:
    """File an evaluated run (run.json, per_query.parquet and, with ``rankings``, rankings.parquet)."""
    stored = evaluation.rankings.to_frame() if rankings else None
    return write_run(out, run, evaluation.frame["query_id"].to_numpy(), evaluation.per_query, stored,
                     queries=query_descriptors(evaluation.frame), overwrite=overwrite)


def query_descriptors(frame: pd.DataFrame) -> dict:
    """What tables need beside the metrics: each query's text (the cluster of a clustered significance test)
    and, under protocol 2, whether it was seen in training (the seen/unseen tables)."""
    out = {"query": frame["query"].astype(str).to_numpy()}
    if "query_seen" in frame.columns:
        out["query_seen"] = frame["query_seen"].to_numpy()
    return out

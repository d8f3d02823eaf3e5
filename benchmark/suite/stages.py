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

import numpy as np
import pandas as pd

from benchmark.artifacts import cache_root, hash_json
from benchmark.config import from_dict
from benchmark.data import DataConfig, build_dataset
from benchmark.evaluation import EvalConfig, select_queries
from benchmark.inference import Rankings, rank_checkpoint, score_frame
from benchmark.locks import key_lock
from benchmark.methods import get_method
from benchmark.model import SidTokenizer, build_model
from benchmark.results import RunRecord, write_run
from benchmark.sids import SidConfig, build_sids
from benchmark.suite import curves
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
        stats = getattr(self.dataset, "stats", None)
        cold = stats.get("cold_start") if isinstance(stats, dict) else None
        return {**self.hashes, "dataset": self.dataset.name, "model_size": model_size,
                "data": self.data, "sids": self.sids, **({"cold_start": cold} if cold else {}), **extra}

    def examples(self, stage: str, max_candidates: int, fraction: float = 1.0,
                 tokenizer: SidTokenizer | None = None) -> list:
        """Training examples of ``stage``: ``sft`` on the ``train`` impressions, ``preference`` on the first
        ``fraction`` of the seeded preference order, each capped at ``max_candidates`` candidates."""
        frame = self.dataset.preference if stage == "preference" else self.dataset.train
        n = max(1, round(len(frame) * fraction))
        return build_examples(frame.iloc[:n], self.catalog, tokenizer or self.tokenizer, stage=stage,
                              max_candidates=max_candidates)


@lru_cache(maxsize=4)
def _prepare_cached(dataset: str, data_json: str, sids_json: str, data_dir: str | None,
                    cold_start: float = 0.0) -> Prepared:
    # One process builds a split and its SIDs; a concurrent suite waits, then loads them from the cache.
    # (A cold-start share joins the lock key only when set, so every other lock keeps its name.)
    parts = [dataset, data_json, sids_json, data_dir, *([cold_start] if cold_start else [])]
    with key_lock(cache_root(), "prepare-" + hash_json(parts)):
        return _build_prepared(dataset, data_json, sids_json, data_dir, cold_start)


def _build_prepared(dataset: str, data_json: str, sids_json: str, data_dir: str | None,
                    cold_start: float = 0.0) -> Prepared:
    from benchmark.sids.coldstart import hold_out_cold

    settings = json.loads(data_json), json.loads(sids_json)
    data = build_dataset(dataset, from_dict(DataConfig, settings[0]), data_dir=data_dir)
    # Cold-start items erased from every training signal before the SIDs, tokenizer and examples see the split.
    data = hold_out_cold(data, cold_start)
    catalog = build_sids(data, from_dict(SidConfig, settings[1]))
    # Protocol 2: training queries only (unseen words map to <unk>); protocol 1: train + valid + test, as its
    # tokenizers were built, so protocol-1 results reproduce (BuiltDataset.vocabulary_queries).
    queries = data.vocabulary_queries()
    tokenizer = SidTokenizer.build(queries, catalog.codebook_sizes, metadata=_checked_hashes(data, catalog))
    return Prepared(data, catalog, tokenizer, *settings)


def prepare_data(dataset: str, data: dict, sids: dict, data_dir: str | None, cold_start: float = 0.0) -> Prepared:
    """Dataset split, SID catalog and tokenizer (all content-addressed and cached; built once under a lock).
    ``cold_start`` > 0: that share of items held out of training (``benchmark.sids.coldstart.hold_out_cold``)."""
    return _prepare_cached(dataset, json.dumps(data, sort_keys=True), json.dumps(sids, sort_keys=True), data_dir,
                           float(cold_start))


def prepare(spec: RunSpec, data_dir: str | None) -> Prepared:
    """Dataset split, SID catalog and tokenizer of a run."""
    return prepare_data(spec.dataset, spec.data, spec.sids, data_dir, spec.cold_start)


def train_stage(method, method_config, model, prepared: Prepared, stage: str, config: TrainConfig, out_dir: Path,
                *, metadata: dict, fraction: float = 1.0, tokenizer: SidTokenizer | None = None,
                reference_model=None, resume: bool = True, snapshot_steps: tuple[int, ...] = ()) -> TrainResult:
    """Train ``method`` on the examples of ``stage`` (``Prepared.examples`` with ``config.max_candidates``)."""
    tokenizer = tokenizer or prepared.tokenizer
    examples = prepared.examples(stage, config.max_candidates, fraction, tokenizer)
    log.info("%s: %d %s examples from %s", method.name, len(examples), stage, prepared.dataset.name)
    return train(method=method, method_config=method_config, model=model, tokenizer=tokenizer, examples=examples,
                 config=config, out_dir=out_dir, reference_model=reference_model, resume=resume, metadata=metadata,
                 catalog=prepared.catalog,  # the valid SIDs of rollouts (methods with needs_rollouts)
                 snapshot_steps=snapshot_steps)


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


def method_key(spec: RunSpec, prepared: Prepared, snapshot_steps: tuple[int, ...] = ()) -> str:
    """The cache key of the aligned checkpoint of ``spec``: its training settings, the data hashes, its SFT
    checkpoint, and the steps it keeps snapshots at (a run without snapshots keeps the key it always had)."""
    snapshots = {"snapshots": list(snapshot_steps)} if snapshot_steps else {}
    return hash_json({**spec.training_config(), **prepared.hashes, "sft": sft_key(spec, prepared), **snapshots})


def snapshot_steps(spec: RunSpec) -> tuple[int, ...]:
    """The steps a run of ``spec`` keeps snapshots at for its validation curve (``curves.points`` evenly spaced
    steps of its preference budget; none without a curve). Part of the checkpoint's cache key: a tuning trial
    keeps the same ones, so the run of the chosen configuration reuses the trial's training."""
    return curves.curve_steps(resolve(spec).preference.steps, spec.curve_settings()["points"])


def method_checkpoint(spec: RunSpec, prepared: Prepared, sft_dir: Path, snapshot_steps: tuple[int, ...] = ()):
    """Align the SFT checkpoint with ``spec.method`` under the profile's preference budget.

    Every method, ``sft`` included (continued SFT on the same impressions), gets the same examples in the same
    order and the same optimizer steps; the data-scale experiment takes the first ``preference_fraction`` of the
    seeded preference order and scales the steps with it (one fixed number of passes over the data).
    ``snapshot_steps``: steps whose model is kept for a validation curve (``benchmark.suite.curves``).
    """
    method = get_method(spec.method)
    resolved = resolve(spec)  # preference steps already scaled by the fraction
    key = method_key(spec, prepared, snapshot_steps)
    out = cache_root() / "checkpoints" / "runs" / key
    reference = load_checkpoint(sft_dir) if method.needs_reference else None
    with key_lock(cache_root(), f"method-{key}"):
        return train_stage(
            method, resolved.method, load_checkpoint(sft_dir), prepared, "preference", resolved.preference, out,
            metadata=prepared.metadata(spec.model_size), fraction=spec.preference_fraction,
            reference_model=reference, snapshot_steps=snapshot_steps,
        )


@dataclasses.dataclass
class Evaluation:
    frame: pd.DataFrame  # the evaluated queries (``select_queries`` of the split)
    rankings: Rankings
    per_query: dict  # metric name -> (Q,) array


def eval_queries(prepared: Prepared, split: str, max_queries: int | None) -> pd.DataFrame:
    """The evaluated queries of ``split`` (``select_queries``); under protocol 2 with a ``target_bucket``
    column: the popularity bucket (head / torso / tail, ``benchmark.sids.buckets``) of each row's ordered item,
    from the training clicks (``item_popularity``), or ``cold`` when it is a held-out cold-start item
    (``benchmark.sids.coldstart``), so per-bucket tables need nothing but the stored run."""
    dataset = prepared.dataset
    frame = select_queries(getattr(dataset, split), max_queries)
    if dataset.config.protocol != 2 or "target" not in frame.columns:
        return frame
    from benchmark.sids.buckets import item_buckets
    from benchmark.sids.coldstart import cold_mask

    buckets = item_buckets(np.asarray(dataset.item_popularity), cold_mask(dataset))
    return frame.assign(target_bucket=buckets[frame["target"].to_numpy(dtype=np.int64)])


def evaluate(checkpoint_dir: Path, prepared: Prepared, config: EvalConfig, *, split: str = "test",
             tokenizer: SidTokenizer | None = None) -> Evaluation:
    """Beam-search a checkpoint over the first ``config.max_queries`` queries of ``split`` and score them."""
    frame = eval_queries(prepared, split, config.max_queries)
    # decoded at the checkpoint's training precision (benchmark.precision), on the GPU where there is one
    rankings = rank_checkpoint(checkpoint_dir, tokenizer or prepared.tokenizer, prepared.catalog, frame, config)
    return Evaluation(frame, rankings, score_frame(rankings, frame, prepared.catalog, config))


def evaluate_trained(spec: RunSpec, prepared: Prepared) -> tuple[Evaluation, dict, pd.DataFrame | None]:
    """Train ``spec`` (SFT checkpoint, then its method) and beam-search the checkpoint it reports over the test
    split: the final model, or with ``spec.checkpoint == "best"`` the best-validation snapshot. Returns the
    evaluation, the run's budget and its validation curve (None when the profile asks for no curve)."""
    from benchmark.metrics.registry import lower_is_better

    resolved = resolve(spec)
    settings = spec.curve_settings()
    steps = snapshot_steps(spec)
    sft_dir = sft_checkpoint(spec, prepared)
    trained = method_checkpoint(spec, prepared, sft_dir, steps)
    curve, reported = None, trained.checkpoint_dir
    if steps:
        curve = curves.validation_curve(
            sft_dir=sft_dir, sft_identity=sft_key(spec, prepared), run_identity=method_key(spec, prepared, steps),
            snapshots=trained.snapshots, loss_curve=trained.loss_curve, prepared=prepared, eval_config=resolved.eval,
            settings=settings)
        step = trained.steps
        if spec.checkpoint == "best":
            step = curves.best_step(curve, settings["metric"], lower_is_better(settings["metric"]))
            reported = trained.snapshots[step]
        curve["reported"] = (curve["step"] == step).astype(int)
    evaluation = evaluate(reported, prepared, resolved.eval)
    budget = {
        "optimizer_steps": trained.steps,
        "batch_size": resolved.preference.batch_size,
        "examples_seen": trained.examples_seen,
        "tokens": trained.tokens,
        "flops": trained.flops,
        "train_seconds": trained.wall_seconds,
        "eval_seconds": evaluation.rankings.seconds,
    }
    if get_method(spec.method).needs_rollouts:  # rollout decoding is part of the training budget: say how much
        budget.update(rollout_tokens=trained.rollout_tokens, rollout_seconds=trained.rollout_seconds)
    return evaluation, budget, curve


def record(out: Path, run: RunRecord, evaluation: Evaluation, *, rankings: bool = True,
           overwrite: bool = False, curve: pd.DataFrame | None = None) -> Path:
    """File an evaluated run (run.json, per_query.parquet and, with ``rankings``, rankings.parquet; with
    ``curve``, its validation curve as curve.csv)."""
    stored = evaluation.rankings.to_frame() if rankings else None
    return write_run(out, run, evaluation.frame["query_id"].to_numpy(), evaluation.per_query, stored,
                     queries=query_descriptors(evaluation.frame), overwrite=overwrite, curve=curve)


def query_descriptors(frame: pd.DataFrame) -> dict:
    """What tables need beside the metrics: each query's text (the cluster of a clustered significance test)
    and, under protocol 2, whether it was seen in training (the seen/unseen tables) and the popularity bucket
    of its ordered item (``eval_queries``; the per-bucket columns of the ``sids`` table)."""
    out = {"query": frame["query"].astype(str).to_numpy()}
    if "query_seen" in frame.columns:
        out["query_seen"] = frame["query_seen"].to_numpy()
    if "target_bucket" in frame.columns:
        out["target_bucket"] = frame["target_bucket"].astype(str).to_numpy()
    return out


def catalog_summary(catalog) -> dict:
    """The SID catalog's size and collision statistics (``benchmark.sids.stats.code_stats``), stored in run.json
    (``catalog``) so a table can set each run's ID scheme beside its retrieval numbers."""
    from benchmark.sids.stats import code_stats

    stats = code_stats(catalog.codes, catalog.codebook_sizes)
    keys = ("n_items", "levels", "distinct_sids", "collision_rate", "items_per_sid_mean", "items_per_sid_max")
    return {key: stats[key] for key in keys}

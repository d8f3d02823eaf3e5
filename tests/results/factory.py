"""Hand-made runs for the results and tables tests: known per-query values, real writer."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.artifacts import hash_json
from benchmark.results import Budget, Hardware, Hashes, RunRecord, run_dir, write_run

HASHES = Hashes(split_hash="a" * 16, test_hash="b" * 16, catalog_hash="c" * 16, sft_checkpoint_hash=None)
HARDWARE = Hardware(cpu="test cpu", cores=2, gpu=None, platform="test-platform")
PACKAGES = {"python": "3.11", "torch": "2.13", "transformers": "5.23", "faiss": "1.15", "numpy": "2.4"}


def make_record(
    method: str = "sft",
    seed: int = 0,
    experiment: str = "table1",
    variant: Mapping[str, Any] | None = None,
    dataset: str = "synthetic",
    model_size: str = "s",
    profile: str = "smoke",
    **changes: Any,
) -> RunRecord:
    """A complete, valid record with fixed provenance (so reruns are byte-identical)."""
    variant = dict(variant or {})
    config = {
        "data": {"seed": seed},
        "sids": {"levels": 3},
        "model": {"size": model_size},
        "eval": {"beam_width": 16},
        "method": method,
        "seed": seed,
        "dataset": dataset,
        "variant": variant,
    }
    key = hash_json(config)
    fields: dict[str, Any] = dict(
        run_id=f"{experiment}-{method}-seed{seed}-{hash_json([experiment, key], 10)}",
        compute_key=key,
        experiment=experiment,
        profile=profile,
        method=method,
        seed=seed,
        dataset=dataset,
        model_size=model_size,
        variant=variant,
        config=config,
        hashes=HASHES,
        budget=Budget(optimizer_steps=10, batch_size=4, examples_seen=40, tokens=400, flops=1.5e9,
                      train_seconds=1.25, eval_seconds=0.5),
        code_revision="unknown",
        packages=dict(PACKAGES),
        hardware=HARDWARE,
    )
    fields.update(changes)
    return RunRecord(**fields)


def store_run(root: Path, record: RunRecord, per_query: Mapping[str, Any], query_ids: Any = None,
              rankings: Any = None) -> Path:
    """Write ``record`` with ``per_query`` (metric -> values) through the real writer."""
    ids = np.arange(len(next(iter(per_query.values())))) if query_ids is None else query_ids
    return write_run(run_dir(root, record.profile, record.run_id), record, ids, per_query, rankings)

"""A tiny, hand-inspectable benchmark for the leaderboard tests: a duck-typed dataset split and SID catalog,
seeded "systems" that rank SIDs, reference runs stored through the real results writer, and submissions.

The catalog has 2 levels with codebooks (4, 4): 16 possible SIDs for 20 items, so some SIDs hold several
items (collisions) and some hold none (a well-formed SID that hallucinates).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from benchmark.artifacts import hash_json
from benchmark.config import to_dict
from benchmark.evaluation import EvalConfig, score_rankings
from benchmark.leaderboard.card import card_from_dict, dump_card
from benchmark.leaderboard.submission import RankingTable, write_rankings
from benchmark.results import Budget, Hardware, Hashes, RunRecord, run_dir, write_run

N_ITEMS = 20
CODEBOOKS = (4, 4)
N_QUERIES = 30
BEAM = 8
DATASET = "tiny"
DATA_CONFIG = {"seed": 0}
SID_CONFIG = {"levels": 2}
EVAL = {"beam_width": BEAM, "max_queries": None}


class TinyCatalog:
    """The SidCatalog surface the leaderboard uses: codes, codebook_sizes, items_for, sid_of, catalog_hash."""

    def __init__(self, codes: np.ndarray, popularity: np.ndarray, catalog_hash: str) -> None:
        self.codes = codes                                   # (n_items, 2)
        self.codebook_sizes = CODEBOOKS
        self.levels = len(CODEBOOKS)
        self.catalog_hash = catalog_hash
        self._items: dict[tuple[int, ...], list[int]] = {}
        for item in sorted(range(len(codes)), key=lambda i: (-popularity[i], i)):
            self._items.setdefault(tuple(int(c) for c in codes[item]), []).append(item)

    def items_for(self, sid: tuple[int, ...]) -> list[int]:
        return list(self._items.get(tuple(sid), []))

    def sid_of(self, item: int) -> tuple[int, ...]:
        return tuple(int(c) for c in self.codes[item])

    def is_valid(self, sid: tuple[int, ...]) -> bool:
        return tuple(sid) in self._items

    @property
    def valid_sids(self) -> list[tuple[int, ...]]:
        return sorted(self._items)


@dataclasses.dataclass
class TinyDataset:
    test: pd.DataFrame
    test_hash: str
    split_hash: str


def tiny_benchmark(seed: int = 0) -> tuple[TinyDataset, TinyCatalog]:
    rng = np.random.default_rng(seed)
    codes = np.stack([rng.integers(0, CODEBOOKS[0], N_ITEMS), rng.integers(0, CODEBOOKS[1], N_ITEMS)], axis=1)
    popularity = rng.integers(0, 50, N_ITEMS)
    relevant = [sorted(rng.choice(N_ITEMS, size=3, replace=False).tolist()) for _ in range(N_QUERIES)]
    query_ids = rng.permutation(1000 + np.arange(N_QUERIES))           # seeded order, ids not 0..Q-1
    test = pd.DataFrame({
        "query_id": query_ids.astype(np.int64),
        "user": np.arange(N_QUERIES),
        "query": [f"q{i}" for i in range(N_QUERIES)],
        "history": [[] for _ in range(N_QUERIES)],
        "relevant": relevant,
        "target": [r[0] for r in relevant],
    })
    test_hash = hash_json(test.to_dict(orient="list"))
    catalog = TinyCatalog(codes, popularity, hash_json([codes, popularity]))
    return TinyDataset(test, test_hash, hash_json(["split", test_hash])), catalog


class TinySource:
    """A TargetSource serving the tiny split and catalog (the validator's hash checks run unchanged)."""

    def __init__(self, seed: int = 0) -> None:
        self.dataset_obj, self.catalog_obj = tiny_benchmark(seed)
        self.calls: list[str] = []

    def dataset(self, training_data: Any) -> TinyDataset:
        self.calls.append("dataset")
        return self.dataset_obj

    def catalog(self, dataset: Any, training_data: Any) -> TinyCatalog:
        self.calls.append("catalog")
        return self.catalog_obj


def system_rankings(source: TinySource, skill: float, seed: int, beam: int = BEAM) -> pd.DataFrame:
    """A seeded system: per query, relevant SIDs first with probability ``skill``, then random SIDs (some
    ill-formed, some hallucinated), ``beam`` distinct beams with decreasing scores."""
    rng = np.random.default_rng([seed, int(skill * 1000)])
    catalog = source.catalog_obj
    all_sids = [(a, b) for a in range(CODEBOOKS[0]) for b in range(CODEBOOKS[1])]
    rows = []
    for qid, relevant in zip(source.dataset_obj.test["query_id"], source.dataset_obj.test["relevant"]):
        wanted = [catalog.sid_of(i) for i in relevant if rng.random() < skill]
        pool = [s for s in rng.permutation(len(all_sids)).tolist()]
        ranked: list[tuple[int, ...] | None] = list(dict.fromkeys(wanted))
        for index in pool:
            if len(ranked) >= beam:
                break
            if all_sids[index] not in ranked:
                ranked.append(all_sids[index])
        if rng.random() < 0.3:
            ranked[-1] = None                                          # an ill-formed beam
        scores = np.sort(rng.normal(size=len(ranked)))[::-1]
        for rank, (sid, score) in enumerate(zip(ranked, scores), 1):
            rows.append((int(qid), rank, "" if sid is None else "-".join(map(str, sid)), float(score)))
    return pd.DataFrame(rows, columns=["query_id", "rank", "sid", "score"])


def beams_of(frame: pd.DataFrame, query_ids: list[int]) -> list[list[tuple[int, ...] | None]]:
    """Direct conversion (no validator code) used as the independent oracle in tests."""
    out = []
    for qid in query_ids:
        rows = frame[frame["query_id"] == qid].sort_values("rank")
        out.append([tuple(int(c) for c in s.split("-")) if s else None for s in rows["sid"]])
    return out


def score(source: TinySource, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per-query metrics in test order, straight from score_rankings (the oracle)."""
    test = source.dataset_obj.test
    beams = beams_of(frame, test["query_id"].tolist())
    return score_rankings(beams, [set(r) for r in test["relevant"]], source.catalog_obj, EvalConfig(**EVAL))


def store_reference(root: Path, source: TinySource, method: str, skill: float, seed: int,
                    experiment: str = "table1", profile: str = "smoke") -> Path:
    """Score a seeded system and store it as a suite run through the real results writer."""
    frame = system_rankings(source, skill, seed)
    per_query = score(source, frame)
    config = {"seed": seed, "dataset": DATASET, "data": DATA_CONFIG, "sids": SID_CONFIG, "model": {"size": "xs"},
              "sft": {"steps": 10}, "preference": {"steps": 4}, "preference_fraction": 1.0,
              "method": method, "eval": to_dict(EvalConfig(**EVAL))}
    key = hash_json(config)
    run_id = f"{experiment}-{method}-seed{seed}-{hash_json([experiment, key], 10)}"
    record = RunRecord(
        run_id=run_id, compute_key=key, experiment=experiment, profile=profile, method=method, seed=seed,
        dataset=DATASET, model_size="xs", variant={}, config=config,
        hashes=Hashes(split_hash=source.dataset_obj.split_hash, test_hash=source.dataset_obj.test_hash,
                      catalog_hash=source.catalog_obj.catalog_hash, sft_checkpoint_hash=f"sft{seed}"),
        budget=Budget(optimizer_steps=4, batch_size=2, examples_seen=8, tokens=120, flops=1.0e6,
                      train_seconds=0.5, eval_seconds=0.1),
        code_revision="unknown",
        packages={"python": "3", "torch": "2", "transformers": "5", "faiss": "1", "numpy": "2"},
        hardware=Hardware(cpu="test cpu", cores=2, gpu=None, platform="test"),
    )
    ids = source.dataset_obj.test["query_id"].to_numpy()
    return write_run(run_dir(root, profile, run_id), record, ids, per_query, frame)


def card_dict(source: TinySource, seeds: list[int], **changes: Any) -> dict:
    data = {
        "schema_version": 1,
        "benchmark_version": "0.1.0",
        "method": {"name": "my-method", "description": "A test method.", "code": "https://example.org/code",
                   "hyperparameters": {"lr": 1.0e-4, "beta": 2}},
        "seeds": list(seeds),
        "budget": {"optimizer_steps": 4, "batch_size": 2, "tokens": 120},
        "hardware": "test cpu",
        "training_data": {"dataset": DATASET, "data": DATA_CONFIG, "sids": SID_CONFIG},
        "evaluation": dict(EVAL),
        "hashes": {"test_hash": source.dataset_obj.test_hash, "catalog_hash": source.catalog_obj.catalog_hash},
    }
    for key, value in changes.items():
        data[key] = value
    return data


def table_of(frame: pd.DataFrame, source: str = "x") -> RankingTable:
    return RankingTable(
        source=source,
        query_id=frame["query_id"].to_numpy(dtype=np.int64),
        rank=frame["rank"].to_numpy(dtype=np.int64),
        sid=pa.array(frame["sid"].tolist(), pa.string()),
        score=frame["score"].to_numpy(dtype=np.float64) if "score" in frame else None,
        item=frame["item"].fillna(-1).to_numpy(dtype=np.int64) if "item" in frame else None,
    )


def write_submission(directory: Path, source: TinySource, skill: float = 0.7, seeds: tuple[int, ...] = (0, 1),
                     claims: bool = True, fmt: str = "parquet", frames: dict | None = None, **card_changes: Any) -> Path:
    """A valid submission: seeded rankings per seed, and (optionally) honest claimed means."""
    directory.mkdir(parents=True, exist_ok=True)
    frames = frames or {s: system_rankings(source, skill, 100 + s) for s in seeds}
    for seed, frame in frames.items():
        if fmt == "parquet":
            write_rankings(directory / f"rankings-seed{seed}.parquet", table_of(frame))
        else:
            frame.to_csv(directory / f"rankings-seed{seed}.csv", index=False)
    data = card_dict(source, list(seeds), **card_changes)
    if claims and "claimed_metrics" not in card_changes:
        data["claimed_metrics"] = {s: {k: float(np.mean(v)) for k, v in score(source, frames[s]).items()}
                                   for s in seeds}
    (directory / "card.yaml").write_text(dump_card(card_from_dict(data)))
    return directory

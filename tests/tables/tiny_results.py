"""A hand-made results directory with known per-query values, written through the real writer.

Per-query value of every metric for (method, seed, query q): BASE[q] + OFFSET[method] + 0.02 * seed, with
BASE = [0.1, 0.2, 0.3, 0.4] * 4 (mean 0.25). So a method's per-run means are 0.25 + offset (+ 0.02 for seed
1), its cell is "mean ± 0.0141" with two seeds (sample std of two values 0.02 apart = 0.02 / sqrt(2)), and
the seed-averaged per-query difference between two methods is the constant difference of their offsets:
zero (no mark possible) or at least 0.1 on all 16 queries (p ~ 1e-4 before Holm).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from benchmark.metrics.registry import TABLE1_METRICS
from tests.results.factory import make_record, store_run

BASE = np.array([0.1, 0.2, 0.3, 0.4] * 4)
TABLE_METRICS = TABLE1_METRICS
TABLE1_OFFSETS = {
    "sft": 0.0,
    "dpo": 0.0,  # identical to SFT on every query: never significant
    "simpo": 0.1,
    "orpo": 0.2,  # best preference baseline on recall/MRR
    "raddpo": 0.3,  # best overall
    "raddpo-no-tlgd": 0.35,  # above RAD-DPO, but ablation rows are not ranked
    "raddpo-no-rdrw": 0.2,  # equal to ORPO: no ‡
    "raddpo-no-mlsft": 0.25,
}


def per_query(offset: float, seed: int, metrics: Iterable[str] = TABLE_METRICS) -> dict[str, np.ndarray]:
    return {m: BASE + offset + 0.02 * seed for m in metrics}


def write_table1(root: Path, experiment: str = "table1", dataset: str = "synthetic", seeds=(0, 1)) -> None:
    for method, offset in TABLE1_OFFSETS.items():
        # one ablation has a single seed: its cells print no ± spread
        for seed in (0,) if method == "raddpo-no-mlsft" else seeds:
            store_run(root, make_record(method=method, seed=seed, experiment=experiment, dataset=dataset),
                      per_query(offset, seed))


def write_table2(root: Path) -> None:
    offsets = {"xs": {"sft": 0.0, "dpo": 0.05, "raddpo": 0.2}, "s": {"sft": 0.1, "dpo": 0.1, "raddpo": 0.3}}
    for size, methods in offsets.items():
        for method, offset in methods.items():
            for seed in (0, 1):
                record = make_record(method=method, seed=seed, experiment="table2", model_size=size,
                                     variant={"model_size": size})
                store_run(root, record, per_query(offset, seed))


def write_fig2(root: Path) -> None:
    # SFT at each fraction: per-run mean 0.25; RAD-DPO +0.05 / +0.1 (+20% / +40%); DPO -0.025 (-10%)
    offsets = {0.5: {"sft": 0.0, "dpo": -0.025, "raddpo": 0.05}, 1.0: {"sft": 0.0, "dpo": -0.025, "raddpo": 0.1}}
    for fraction, methods in offsets.items():
        for method, offset in methods.items():
            record = make_record(method=method, seed=0, experiment="fig2", variant={"preference_fraction": fraction})
            store_run(root, record, per_query(offset, 0))


def write_noise(root: Path) -> None:
    # low noise: RAD-DPO +0.1 over the best baseline (ORPO); high noise: RAD-DPO ties SFT, the best baseline
    offsets = {
        (0.5, 0.02): {"sft": 0.0, "dpo": 0.0, "simpo": 0.05, "orpo": 0.1, "raddpo": 0.2},
        (2.0, 0.2): {"sft": 0.1, "dpo": 0.0, "simpo": 0.0, "orpo": 0.05, "raddpo": 0.1},
    }
    for (eta, floor), methods in offsets.items():
        for method, offset in methods.items():
            for seed in (0, 1):
                record = make_record(method=method, seed=seed, experiment="noise",
                                     variant={"eta": eta, "noise_floor": floor})
                store_run(root, record, per_query(offset, seed))


# rl: AdaGRPO best, GRPO ties SFT, the lam = 0.1 mixture ties RAD-DPO (tests/tables/test_rl_table.py)
RL_OFFSETS = {("sft", None): 0.0, ("raddpo", None): 0.1, ("grpo", None): 0.0, ("eg-grpo", None): 0.2,
              ("adagrpo", None): 0.3, ("nll-grpo", 0.1): 0.1, ("nll-grpo", 1.0): 0.15}


def write_rl(root: Path) -> None:
    from benchmark.tables.rl import METRICS

    for (method, lam), offset in RL_OFFSETS.items():
        for seed in (0, 1):
            record = make_record(method=method, seed=seed, experiment="rl", variant={} if lam is None else {"lam": lam})
            store_run(root, record, per_query(offset, seed, METRICS))


def write_all(root: Path) -> Path:
    """Every experiment; returns the profile directory."""
    write_table1(root)
    write_table2(root)
    write_fig2(root)
    write_noise(root)
    write_table1(root, experiment="games", dataset="synthetic-games")
    write_rl(root)
    return root / "smoke"

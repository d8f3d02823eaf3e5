"""Tiny, fast fixtures for the trainer tests: a hand-made impression table over a 3-level SID catalog, the
real SidTokenizer and xs model. ``TinyCatalog`` is a test double of ``SidCatalog`` (only ``sid_of``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from benchmark.model import ModelConfig, SidTokenizer, build_model
from benchmark.training import TrainConfig, build_examples

CODEBOOK = (4, 4, 4)
WORDS = ["lab", "glass", "beaker", "steel", "clamp", "tape", "glove", "mask"]


class TinyCatalog:
    """The part of SidCatalog the example builder and ``rank_queries`` read: item id -> SID tuple, fixed length."""

    variable_length = False

    def __init__(self, codes: np.ndarray) -> None:
        self.codes = np.asarray(codes, dtype=np.int64)
        self.codebook_sizes = CODEBOOK
        self.levels = self.codes.shape[1]

    def sid_of(self, item_id: int) -> tuple[int, ...]:
        return tuple(int(c) for c in self.codes[int(item_id)])


def tiny_catalog(n_items: int = 24, seed: int = 0) -> TinyCatalog:
    """Items with distinct SIDs drawn from the 64 possible ones (a hierarchy: item i's first code = i % 4)."""
    rng = np.random.default_rng(seed)
    sids = rng.choice(64, size=n_items, replace=False)
    return TinyCatalog(np.stack([sids // 16, (sids // 4) % 4, sids % 4], axis=1))


def tiny_impressions(n: int = 24, n_items: int = 24, seed: int = 0) -> pd.DataFrame:
    """Impressions in the BuiltDataset.train schema: 6 exposed items, the target and 1-2 more clicked."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        exposed = [int(x) for x in rng.choice(n_items, size=6, replace=False)]
        target_pos = int(rng.integers(0, 3))
        clicks = [0] * 6
        clicks[target_pos] = 1
        for extra in rng.choice([p for p in range(6) if p != target_pos], size=int(rng.integers(1, 3)), replace=False):
            clicks[int(extra)] = 1
        relevance = [2 if p == target_pos else int(c) for p, c in enumerate(clicks)]
        words = rng.choice(WORDS, size=2, replace=False)
        rows.append({
            "impression_id": i,
            "user": i % 5,
            "query": " ".join(words),
            "history": [int(x) for x in rng.choice(n_items, size=2, replace=False)],
            "exposed": exposed,
            "clicks": clicks,
            "relevance": relevance,
            "target": exposed[target_pos],
        })
    return pd.DataFrame(rows)


@pytest.fixture(scope="package", autouse=True)
def _one_thread():
    """One intra-op thread for this package: the CI machine has 2 cores shared by several jobs, where
    OpenMP threads spinning against each other make tiny models 50x slower; also the same thread count
    in every run (bitwise determinism). Restored when the package's tests are done."""
    import faiss

    torch_threads, faiss_threads = torch.get_num_threads(), faiss.omp_get_max_threads()
    torch.set_num_threads(1)
    faiss.omp_set_num_threads(1)
    yield
    torch.set_num_threads(torch_threads)
    faiss.omp_set_num_threads(faiss_threads)


@pytest.fixture(scope="session")
def catalog() -> TinyCatalog:
    return tiny_catalog()


@pytest.fixture(scope="session")
def frame() -> pd.DataFrame:
    return tiny_impressions()


@pytest.fixture(scope="session")
def tokenizer() -> SidTokenizer:
    return SidTokenizer.build(WORDS, CODEBOOK)


@pytest.fixture(scope="session")
def sft_examples(frame, catalog, tokenizer):
    return build_examples(frame, catalog, tokenizer, stage="sft")


@pytest.fixture(scope="session")
def pref_examples(frame, catalog, tokenizer):
    return build_examples(frame, catalog, tokenizer, stage="preference")


def xs_model(tokenizer: SidTokenizer, seed: int = 0) -> torch.nn.Module:
    return build_model(ModelConfig(size="xs"), tokenizer, seed=seed)


def quick_config(**changes) -> TrainConfig:
    base = dict(steps=4, batch_size=4, lr=3e-3, warmup_steps=1, checkpoint_every=0, log_every=2, seed=0)
    base.update(changes)
    return TrainConfig(**base)


@pytest.fixture(scope="session")
def sft_checkpoint(tmp_path_factory, tokenizer, sft_examples) -> Path:
    """A tiny SFT-trained xs model every preference-method test starts from (trained once per session)."""
    from benchmark.methods import get_method
    from benchmark.training import train

    method = get_method("sft")
    result = train(method, method.config_cls(), xs_model(tokenizer), tokenizer, sft_examples,
                   quick_config(steps=30, batch_size=8, lr=1e-2, warmup_steps=3),
                   tmp_path_factory.mktemp("sft"))
    return result.checkpoint_dir


def state_dict_of(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}

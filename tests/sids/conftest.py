"""Small duck-typed datasets with the fields of ``benchmark.data.BuiltDataset`` that ``build_sids`` reads."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest


@dataclasses.dataclass
class TinyDataset:
    name: str
    items: pd.DataFrame
    train: pd.DataFrame
    preference: pd.DataFrame
    item_popularity: np.ndarray
    split_hash: str


TOPICS = {
    "microscope": ["compound microscope {} objective lens", "stereo microscope {} led illuminator"],
    "solder": ["lead free solder wire {} flux core", "soldering iron tip {} chisel"],
    "gloves": ["nitrile examination gloves {} powder free", "latex disposable gloves {} medium"],
    "tape": ["electrical insulation tape {} vinyl", "double sided mounting tape {} foam"],
}


def make_dataset(
    n_per_topic: int = 6,
    seed: int = 0,
    name: str = "tiny",
    split_hash: str = "split-a",
    empty_text: bool = False,
) -> TinyDataset:
    """A catalog of 4 topics x 2 sub-topics with texts, co-occurring training histories within a topic, and
    preference impressions whose clicks favour the target's topic."""
    rng = np.random.default_rng(seed)
    texts, topic_of = [], []
    for t, templates in enumerate(TOPICS.values()):
        for i in range(n_per_topic):
            texts.append(templates[i % 2].format(f"model {i}"))
            topic_of.append(t)
    n = len(texts)
    topic_of = np.array(topic_of)
    items = pd.DataFrame({"item_id": np.arange(n), "text": ["" if empty_text else x for x in texts]})
    train_rows, pref_rows = [], []
    for r in range(40):
        topic = r % len(TOPICS)
        pool = np.flatnonzero(topic_of == topic)
        seq = rng.choice(pool, size=4, replace=False)
        target = int(seq[-1])
        others = rng.choice(np.flatnonzero(topic_of != topic), size=3, replace=False)
        exposed = [target, int(seq[0]), *map(int, others)]
        clicks = [1, int(rng.random() < 0.5), 0, 0, 0]
        train_rows.append(
            {"history": [int(x) for x in seq[:-1]], "target": target, "exposed": exposed, "clicks": clicks}
        )
        pref_rows.append({"exposed": exposed, "clicks": clicks, "target": target})
    train = pd.DataFrame(train_rows)
    popularity = np.bincount(
        np.concatenate(
            [np.asarray(e)[np.asarray(c) == 1] for e, c in zip(train["exposed"], train["clicks"])]
        ),
        minlength=n,
    )
    return TinyDataset(name, items, train, pd.DataFrame(pref_rows), popularity, split_hash)


@pytest.fixture
def tiny_dataset() -> TinyDataset:
    return make_dataset()

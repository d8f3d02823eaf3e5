from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmark.sids.cooccurrence import cooccurrence_counts, cooccurrence_embeddings, ppmi, training_sequences


def test_counts_hand_computed() -> None:
    train = pd.DataFrame({"history": [[0, 1], [1], []], "target": [2, 2, 3]})
    seqs = training_sequences(train)
    np.testing.assert_array_equal(seqs, [[0, 1, 2], [1, 2, -1], [3, -1, -1]])
    counts = cooccurrence_counts(seqs, 5).toarray()
    expected = np.zeros((5, 5))
    for a, b in [(0, 1), (0, 2), (1, 2), (1, 2)]:
        expected[a, b] += 1
        expected[b, a] += 1
    np.testing.assert_array_equal(counts, expected)
    # PPMI: total 8, marginals (2, 3, 3, 0, 0); log(1*8/(2*3)) > 0, log(2*8/(3*3)) > 0
    weights = ppmi(cooccurrence_counts(seqs, 5)).toarray()
    assert weights[0, 1] == pytest.approx(np.log(8 / 6)) and weights[1, 2] == pytest.approx(np.log(16 / 9))


def test_items_that_cooccur_embed_closer(tiny_dataset) -> None:
    emb = cooccurrence_embeddings(tiny_dataset.train, 24, dim=8, seed=0)
    assert emb.shape == (24, 8) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    topic = np.repeat(np.arange(4), 6)  # histories of the tiny dataset stay within one topic
    cos = emb @ emb.T
    same = cos[topic[:, None] == topic[None, :]].mean()
    other = cos[topic[:, None] != topic[None, :]].mean()
    assert same > other + 0.3
    np.testing.assert_array_equal(emb, cooccurrence_embeddings(tiny_dataset.train, 24, dim=8, seed=0))


def test_cold_items_get_distinct_unit_vectors() -> None:
    train = pd.DataFrame({"history": [[0], [1]], "target": [1, 0]})
    emb = cooccurrence_embeddings(train, 5, dim=3, seed=1)  # items 2, 3, 4 never appear
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert len({tuple(np.round(row, 5)) for row in emb[2:]}) == 3

"""Text encoder sanity on a handful of texts (loads the bundled all-MiniLM-L6-v2 once, a few seconds)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.errors import BenchmarkError, ConfigError
from benchmark.sids import SidConfig
from benchmark.sids.embed import TextEncoder, embed_items, embedding_key, pool

TEXTS = ["stainless steel screwdriver set", "screwdriver set with steel bits", "organic green tea leaves"]


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return TextEncoder("all-MiniLM-L6-v2")


def test_matches_the_sentence_transformers_reference(encoder: TextEncoder) -> None:
    emb = encoder.encode(TEXTS, batch_size=2, progress=False)
    assert emb.shape == (3, 384) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    # Golden values from sentence_transformers.SentenceTransformer(<bundled dir>).encode(TEXTS)
    # (Transformer -> mean Pooling -> Normalize), sentence-transformers' own pipeline for this model.
    np.testing.assert_allclose(
        emb[0, :6], [-0.1011452, 0.0398151, -0.0002652, 0.0830558, -0.1216549, 0.0242089], atol=2e-5
    )
    cos = emb @ emb.T
    np.testing.assert_allclose(cos[0, 1], 0.8141383, atol=2e-5)
    np.testing.assert_allclose(cos[0, 2], -0.0165818, atol=2e-5)
    assert cos[0, 1] > cos[0, 2] and cos[0, 1] > cos[1, 2]  # similar texts closer than unrelated ones


def test_batching_and_padding_do_not_change_embeddings(encoder: TextEncoder) -> None:
    one_by_one = encoder.encode(TEXTS, batch_size=1, progress=False)
    together = encoder.encode(TEXTS, batch_size=3, progress=False)
    np.testing.assert_allclose(one_by_one, together, atol=1e-5)
    assert encoder.encode([], progress=False).shape == (0, 384)


def test_pooling_hand_computed() -> None:
    hidden = torch.tensor([[[3.0, 0.0], [1.0, 4.0], [100.0, 100.0]]])  # (B=1, T=3, D=2); token 2 is padding
    mask = torch.tensor([[1, 1, 0]])
    mean = pool(hidden, mask, "mean")  # mean of tokens 0, 1 = (2, 2) -> unit norm
    np.testing.assert_allclose(mean.numpy(), [[2**-0.5, 2**-0.5]], atol=1e-6)
    np.testing.assert_allclose(pool(hidden, mask, "cls").numpy(), [[1.0, 0.0]], atol=1e-6)


def test_unavailable_encoder_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # never touch the network in tests
    with pytest.raises(BenchmarkError, match="Only the default 'all-MiniLM-L6-v2' is bundled"):
        TextEncoder("grbench-tests/no-such-encoder")


def test_empty_text_suggests_the_cooccurrence_encoder(tiny_dataset) -> None:
    tiny_dataset.items.loc[[3, 7], "text"] = ["", "   "]
    with pytest.raises(ConfigError) as info:
        embed_items(tiny_dataset, SidConfig())
    message = str(info.value)
    assert "2 of 24 items" in message and "item ids 3, 7" in message and "encoder=cooccurrence" in message


def test_embedding_key_hashes_texts_and_encoder_settings_only(tiny_dataset) -> None:
    base = embedding_key(tiny_dataset, SidConfig())
    assert embedding_key(tiny_dataset, SidConfig(batch_size=7, seed=5, levels=2)) == base
    assert embedding_key(tiny_dataset, SidConfig(pooling="cls")) != base
    assert embedding_key(tiny_dataset, SidConfig(encoder="BAAI/bge-small-en-v1.5")) != base
    tiny_dataset.items.loc[0, "text"] = "something else"
    assert embedding_key(tiny_dataset, SidConfig()) != base

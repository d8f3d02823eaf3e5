"""SARQ: per-item code lengths from popularity-weighted path entropy under a mean-length budget."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.config import load_config
from benchmark.errors import ConfigError
from benchmark.sids import SidConfig, build_key, build_sids
from benchmark.sids.config import hashed_settings
from benchmark.sids.sarq import (
    SarqConfig,
    branch_entropies,
    choose_lengths,
    lengths_for_threshold,
    remaining_information,
    sarq_codes,
)

from .conftest import make_dataset

# item 0 (0,0,0) 3 clicks; item 1 (0,0,1) 1 click; item 2 (0,1,0) 0; item 3 (1,0,0) 0. Weights clicks + 1.
CODES = np.array([[0, 0, 0], [0, 0, 1], [0, 1, 0], [1, 0, 0]])
CLICKS = np.array([3, 1, 0, 0])


def h(*masses: float) -> float:
    p = np.array(masses) / sum(masses)
    return float(-(p * np.log2(p)).sum())


def test_branch_entropies_hand_computed() -> None:
    # depth 1: branch (0,) holds items 0, 1, 2 (masses 4, 2, 1): next codes 0 (mass 6) and 1 (mass 1);
    # branch (1,) holds item 3 alone. Depth 2: branch (0, 0) holds items 0, 1: next codes 0 (4), 1 (2).
    h1, h2 = h(6, 1), h(4, 2)
    expected = np.array([[h1, h2], [h1, h2], [h1, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(branch_entropies(CODES, CLICKS + 1.0), expected, atol=1e-12)


def test_remaining_information_hand_computed() -> None:
    h1, h2 = h(6, 1), h(4, 2)
    expected = np.array([[4 * (h1 + h2), 4 * h2, 0], [2 * (h1 + h2), 2 * h2, 0], [h1, 0, 0], [0, 0, 0]])
    np.testing.assert_allclose(remaining_information(CODES, CLICKS), expected, atol=1e-12)
    log_w = 1 + np.log2(1 + CLICKS)
    np.testing.assert_allclose(
        remaining_information(CODES, CLICKS, "log_clicks"), expected / (1 + CLICKS)[:, None] * log_w[:, None]
    )


def test_lengths_under_budgets_golden() -> None:
    remaining = remaining_information(CODES, CLICKS)
    # budget 3: nothing truncated (tau = 0)
    lengths, tau = choose_lengths(remaining, 3.0, 1)
    assert lengths.tolist() == [3, 3, 3, 3] and tau == 0.0
    # budget 2.25: only the lossless cuts, where the rest of the path tells nobody apart (R = 0): item 3 is alone
    # under (1,), item 2 alone under (0, 1)
    lengths, tau = choose_lengths(remaining, 2.25, 1)
    assert lengths.tolist() == [3, 3, 2, 1] and 0 < tau < remaining[2, 0]
    # budget 1.5: the head item keeps all 3 codes; item 1 (R_1 = 2 (h1 + h2) = 3.02) is cut to (0,), where it
    # collides with item 2; the next threshold above R_1 of item 1 is the smallest that fits 6 codes
    lengths, tau = choose_lengths(remaining, 1.5, 1)
    assert lengths.tolist() == [3, 1, 1, 1]
    assert tau == np.nextafter(remaining[1, 0], np.inf)
    # min_length 2 wins over the budget
    lengths, _ = choose_lengths(remaining, 1.0, 2)
    assert lengths.tolist() == [2, 2, 2, 2]


def test_sarq_codes_pads_truncated_levels() -> None:
    codes, info = sarq_codes(CODES, CLICKS, SarqConfig(length_budget=0.5))
    assert codes.tolist() == [[0, 0, 0], [0, -1, -1], [0, -1, -1], [1, -1, -1]]
    assert info["sarq_mean_length"] == 1.5 and info["sarq_length_counts"] == [3, 0, 1]
    with pytest.raises(ConfigError, match="'min_length' parameter of SarqConfig must be at most"):
        sarq_codes(CODES, CLICKS, SarqConfig(min_length=4))


cases = st.integers(1, 4).flatmap(
    lambda levels: st.tuples(
        st.lists(st.tuples(*[st.integers(0, 2)] * levels), min_size=1, max_size=40),
        st.data(),
    )
)


@settings(max_examples=60, deadline=None)
@given(cases, st.floats(0.05, 1.0), st.integers(1, 3))
def test_budget_is_met_with_the_smallest_threshold(case, share: float, min_length: int) -> None:
    rows, data = case
    codes = np.array(rows)
    levels = codes.shape[1]
    clicks = np.array(data.draw(st.lists(st.integers(0, 50), min_size=len(rows), max_size=len(rows))))
    remaining = remaining_information(codes, clicks)
    assert (np.diff(remaining, axis=1) <= 1e-9).all()  # R never grows along a path: truncation keeps prefixes
    budget = share * levels
    lengths, tau = choose_lengths(remaining, budget, min_length)
    floor = min(min_length, levels)
    assert ((lengths >= floor) & (lengths <= levels)).all()
    if floor <= budget:
        assert lengths.mean() <= budget + 1e-12
        # minimal: the largest R value below tau (the previous candidate) would exceed the budget
        below = remaining[remaining < tau]
        if len(below):
            assert lengths_for_threshold(remaining, float(below.max()), min_length).mean() > budget
    # more clicks on the same path never gives a shorter code
    for i in range(len(rows)):
        for j in range(len(rows)):
            if rows[i] == rows[j] and clicks[i] >= clicks[j]:
                assert lengths[i] >= lengths[j]


def test_config_keys_and_overrides() -> None:
    dataset = make_dataset()
    assert "sarq" not in hashed_settings(SidConfig())  # other builders' keys are unchanged
    assert hashed_settings(SidConfig(builder="sarq"))["sarq"] == {
        "length_budget": 0.8, "min_length": 1, "weight": "clicks"
    }
    assert build_key(dataset, SidConfig(sarq=SarqConfig(length_budget=0.5))) == build_key(dataset, SidConfig())
    keys = {build_key(dataset, SidConfig(builder="sarq", sarq=SarqConfig(length_budget=b))) for b in (0.5, 0.8)}
    assert len(keys) == 2 and build_key(dataset, SidConfig()) not in keys
    config = load_config(SidConfig, None, ["builder=sarq", "sarq.length_budget=0.6", "sarq.weight=log_clicks"])
    assert config.sarq == SarqConfig(length_budget=0.6, weight="log_clicks")
    with pytest.raises(ConfigError, match="sarq.length_budget"):
        load_config(SidConfig, None, ["sarq.length_budget=1.5"])
    with pytest.raises(ConfigError, match="sarq.weight"):
        load_config(SidConfig, None, ["sarq.weight=linear"])


def test_sarq_build_truncates_the_rqkmeans_codes(tiny_dataset) -> None:
    """End to end on the tiny text catalog (real MiniLM embeddings, real faiss k-means): every SARQ SID is a
    prefix of the item's RQ-KMeans SID, the mean length meets the budget, and the catalog is variable-length."""
    sizes = (4, 3, 3)
    full = build_sids(tiny_dataset, SidConfig(codebook_sizes=sizes))
    sarq = build_sids(tiny_dataset, SidConfig(codebook_sizes=sizes, builder="sarq", sarq=SarqConfig(0.7)))
    assert sarq.variable_length and sarq.levels == 3
    for item in range(sarq.n_items):
        sid = sarq.sid_of(item)
        assert sid == full.sid_of(item)[: len(sid)]
        assert sarq.is_valid(sid) and item in sarq.items_for(sid)
    assert sarq.lengths.mean() <= 0.7 * 3 + 1e-12
    stats = sarq.stats()
    assert stats["code_length_mean"] == pytest.approx(sarq.lengths.mean())
    assert sum(stats["code_length_counts"]) == sarq.n_items
    assert sarq.build_info["builder"] == "sarq" and "sarq" in sarq.build_info["seconds"]
    again = build_sids(tiny_dataset, SidConfig(codebook_sizes=sizes, builder="sarq", sarq=SarqConfig(0.7)))
    assert again.catalog_hash == sarq.catalog_hash

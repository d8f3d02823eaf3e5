from __future__ import annotations

import json

import numpy as np
import pytest

from benchmark.errors import ArtifactMismatchError, DataError
from benchmark.sids import SidCatalog, load_catalog

# 6 items: items 0, 2, 5 collide on (1, 0); items 1 and 4 collide on (0, 1); item 3 alone on (2, 1).
CODES = np.array([[1, 0], [0, 1], [1, 0], [2, 1], [0, 1], [1, 0]])
POPULARITY = np.array([3, 0, 7, 1, 0, 7])


@pytest.fixture
def catalog() -> SidCatalog:
    return SidCatalog(CODES, (3, 2), POPULARITY, "split-a", name="hand", config={"seed": 0})


def test_collisions_expand_by_popularity_then_item_id(catalog: SidCatalog) -> None:
    assert catalog.items_for((1, 0)) == [2, 5, 0]  # popularity 7, 7 (tie -> id), 3
    assert catalog.items_for([0, 1]) == [1, 4]  # both 0 clicks -> by id
    assert catalog.items_for((2, 1)) == [3]
    assert catalog.items_for((2, 0)) == [] and catalog.items_for((9, 9, 9)) == []
    assert catalog.sid_of(5) == (1, 0) and catalog.sid_of(3) == (2, 1)
    assert catalog.is_valid((0, 1)) and not catalog.is_valid((0, 0)) and not catalog.is_valid((1,))
    assert catalog.sids() == [(0, 1), (1, 0), (2, 1)]
    assert catalog.allowed_next(()) == [0, 1, 2] and catalog.allowed_next((1,)) == [0]
    with pytest.raises(IndexError):
        catalog.sid_of(6)


def test_items_for_returns_a_copy(catalog: SidCatalog) -> None:
    catalog.items_for((1, 0)).clear()
    assert catalog.items_for((1, 0)) == [2, 5, 0]


def test_stats_hand_computed(catalog: SidCatalog) -> None:
    stats = catalog.stats()
    assert stats["distinct_sids"] == 3
    assert stats["collision_rate"] == pytest.approx(5 / 6)  # all but item 3 share their SID
    assert stats["colliding_sids"] == 2
    assert stats["items_per_sid_mean"] == pytest.approx(2.0) and stats["items_per_sid_max"] == 3
    assert stats["codebook_used"] == [3, 2] and stats["codebook_usage"] == [1.0, 1.0]
    unique = SidCatalog(np.array([[0, 0], [0, 1], [3, 0]]), (4, 4), np.zeros(3), "s").stats()
    assert unique["collision_rate"] == 0.0 and unique["codebook_usage"] == [0.5, 0.5]


def test_save_load_roundtrip_is_exact(catalog: SidCatalog, tmp_path) -> None:
    codebooks = [np.eye(3, 4, dtype=np.float32), np.ones((2, 4), dtype=np.float32)]
    original = SidCatalog(
        CODES,
        (3, 2),
        POPULARITY,
        "split-a",
        name="hand",
        codebooks=codebooks,
        build_info={"residual_mse": [0.5, 0.25]},
    )
    original.save(tmp_path / "cat")
    loaded = load_catalog(tmp_path / "cat", expected_split_hash="split-a")
    assert loaded.catalog_hash == original.catalog_hash
    np.testing.assert_array_equal(loaded.codes, CODES)
    np.testing.assert_array_equal(loaded.codebooks[1], codebooks[1])
    assert loaded.items_for((1, 0)) == [2, 5, 0]
    assert loaded.stats() == original.stats() and loaded.stats()["residual_mse"] == [0.5, 0.25]
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())  # nothing half-written left behind


def test_loading_against_another_split_names_both_hashes(catalog: SidCatalog, tmp_path) -> None:
    catalog.save(tmp_path / "cat")
    with pytest.raises(ArtifactMismatchError) as info:
        load_catalog(tmp_path / "cat", expected_split_hash="split-b")
    assert "split-a" in str(info.value) and "split-b" in str(info.value)


def test_corrupt_or_missing_catalogs_are_data_errors(catalog: SidCatalog, tmp_path) -> None:
    with pytest.raises(DataError, match="catalog.json is missing"):
        load_catalog(tmp_path / "nothing")
    catalog.save(tmp_path / "cat")
    np.save(tmp_path / "cat" / "codes.npy", CODES[::-1].copy())  # tampered content
    with pytest.raises(DataError, match="corrupt"):
        load_catalog(tmp_path / "cat")
    meta = json.loads((tmp_path / "cat" / "catalog.json").read_text())
    (tmp_path / "cat" / "catalog.json").write_text(json.dumps({**meta, "format": 99}))
    with pytest.raises(DataError, match="format 99"):
        load_catalog(tmp_path / "cat")


def test_hash_depends_on_codes_popularity_and_split(catalog: SidCatalog) -> None:
    same = SidCatalog(CODES.copy(), (3, 2), POPULARITY.copy(), "split-a")
    assert same.catalog_hash == catalog.catalog_hash
    assert SidCatalog(CODES, (3, 2), POPULARITY, "split-b").catalog_hash != catalog.catalog_hash
    assert SidCatalog(CODES, (3, 2), POPULARITY[::-1].copy(), "split-a").catalog_hash != catalog.catalog_hash
    assert SidCatalog(CODES[::-1].copy(), (3, 2), POPULARITY, "split-a").catalog_hash != catalog.catalog_hash


@pytest.mark.parametrize(
    ("codes", "sizes", "popularity", "message"),
    [
        (np.array([[0, 2]]), (3, 2), np.zeros(1), "must be in"),
        (np.array([[-1, 0]]), (3, 2), np.zeros(1), "must be in"),  # -1 pads the end only
        (np.array([[-1, -1]]), (3, 2), np.zeros(1), "must be in"),  # a SID has at least one code
        (np.array([[0, -2]]), (3, 2), np.zeros(1), "must be in"),
        (np.array([[0, -1, 1]]), (3, 2, 2), np.zeros(1), "must be in"),  # no gap inside a SID
        (np.array([[0, 1]]), (3,), np.zeros(1), "codebook sizes"),
        (np.array([[0, 1]]), (3, 2), np.zeros(2), "item_popularity"),
        (np.zeros((0, 2)), (3, 2), np.zeros(0), "non-empty"),
    ],
)
def test_invalid_tables_are_rejected(codes, sizes, popularity, message) -> None:
    with pytest.raises(DataError, match=message):
        SidCatalog(codes, sizes, popularity, "s")


def test_fixed_length_hash_and_stats_golden(catalog: SidCatalog) -> None:
    """The hash of a fixed-length catalog, computed by the code before variable-length SIDs existed: padding
    support must not change it (cached catalogs and run ids stay valid), nor add keys to its stats."""
    assert catalog.catalog_hash == "4c3fa4b8bf346a70"
    assert not catalog.variable_length and catalog.lengths.tolist() == [2] * 6
    assert "code_length_mean" not in catalog.stats()


# Variable length: items 0, 3 on (1,); item 1 on (1, 0) (so (1,) is complete and extendable); item 2 on (2, 1).
VAR_CODES = np.array([[1, -1], [1, 0], [2, 1], [1, -1]])
VAR_POPULARITY = np.array([1, 5, 0, 4])


def test_variable_length_catalog_lookups_and_stats() -> None:
    cat = SidCatalog(VAR_CODES, (3, 2), VAR_POPULARITY, "split-v")
    assert cat.variable_length and cat.levels == 2 and cat.lengths.tolist() == [1, 2, 2, 1]
    assert [cat.sid_of(i) for i in range(4)] == [(1,), (1, 0), (2, 1), (1,)]
    assert cat.items_for((1,)) == [3, 0] and cat.items_for((1, 0)) == [1] and cat.items_for((1, -1)) == []
    assert cat.is_valid((1,)) and cat.is_valid((1, 0)) and not cat.is_valid((2,))
    assert cat.sids() == [(1,), (1, 0), (2, 1)]
    assert cat.allowed_next(()) == [1, 2] and cat.allowed_next((1,)) == [0] and cat.end_allowed((1,))
    assert not cat.end_allowed((2,)) and cat.end_allowed((2, 1)) and cat.allowed_next((2, 1)) == []
    stats = cat.stats()
    assert stats["distinct_sids"] == 3 and stats["colliding_sids"] == 1
    assert stats["collision_rate"] == pytest.approx(0.5)  # items 0 and 3; (1,) and (1, 0) do not collide
    assert stats["codebook_used"] == [2, 2]  # the -1 padding is not a code
    assert stats["code_length_mean"] == pytest.approx(1.5) and stats["code_length_counts"] == [2, 2]
    assert (stats["code_length_min"], stats["code_length_max"]) == (1, 2)


def test_variable_length_save_load_roundtrip(tmp_path) -> None:
    cat = SidCatalog(VAR_CODES, (3, 2), VAR_POPULARITY, "split-v", name="var")
    cat.save(tmp_path / "cat")
    loaded = load_catalog(tmp_path / "cat", expected_split_hash="split-v")
    np.testing.assert_array_equal(loaded.codes, VAR_CODES)
    assert loaded.catalog_hash == cat.catalog_hash and loaded.items_for((1,)) == [3, 0]
    # the padding is part of the content: a truncated SID hashes differently from its full code
    full = SidCatalog(np.array([[1, 0], [1, 0], [2, 1], [1, 0]]), (3, 2), VAR_POPULARITY, "split-v")
    assert full.catalog_hash != cat.catalog_hash

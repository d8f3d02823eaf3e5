"""Golden cases of the query protocol (docs/DATA.md "Queries") and its building blocks."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.data import DataConfig
from benchmark.data.canonical import make_items
from benchmark.data.categories import build_tree, segment_word_paths
from benchmark.data.queries import KIND_CATEGORY, KIND_FALLBACK, KIND_TITLE, build_queries
from benchmark.data.sources import amazon18_scientific
from benchmark.data.text import content_words

from .helpers import FIXTURES


def _candidates(table, item: int) -> tuple[list[str], list[str]]:
    return ([table.texts[q] for q in table.single.row(item)], [table.texts[q] for q in table.pair.row(item)])


def test_content_words() -> None:
    assert content_words("Pokémon Sword - Nintendo Switch, Pack of 2 & 1/2-Inch 75mm") == [
        "pokemon", "sword", "nintendo", "switch", "inch", "75mm"]
    assert content_words("the and of") == []


def test_segment_word_paths_recovers_levels_at_branch_points() -> None:
    paths = ["Lab Supplies Glass Beakers", "Lab Supplies Glass Flasks", "Lab Supplies Pipettes", "", "Tools",
             "Fasteners Screws", "Fasteners Screws Wood Screws"]
    assert segment_word_paths(paths) == [
        ("Lab Supplies", "Glass", "Beakers"), ("Lab Supplies", "Glass", "Flasks"), ("Lab Supplies", "Pipettes"),
        (), ("Tools",), ("Fasteners Screws",), ("Fasteners Screws", "Wood Screws"),
    ]


def test_tree_root_is_the_shared_department() -> None:
    tree = build_tree(["Store > A > B", "Store > A", "", "Store > C"])
    assert tree.names[tree.root] == "Store"
    assert [tree.names[v] for v in tree.item_nodes[0]] == ["Store", "A", "B"]
    assert tree.node_items[tree.item_nodes[0][1]].tolist() == [0, 1]
    assert build_tree(["A > B", "C"]).root == -1  # two top-level nodes: no root to exclude


def test_category_protocol_on_the_scientific_fixture() -> None:
    files = {p.name: p for p in (FIXTURES / "scientific").iterdir()}
    data, _, _ = amazon18_scientific(files, DataConfig())
    assert data.items["category"].tolist()[:6] == (
        ["Industrial & Scientific > Lab Supplies > Glass > Beakers"] * 3
        + ["Industrial & Scientific > Lab Supplies > Glass > Flasks"] * 2
        + ["Industrial & Scientific > Lab Supplies > Pipettes"])
    assert data.items.loc[2, "brand"] == "J.T. Baker"
    table = build_queries(data.items, min_positives=3, max_query_words=4, max_term_items=100, seed=0)
    # Beakers (3 items) is deep enough; its one-word name takes the parent's words.
    assert _candidates(table, 0) == (["glass beakers"], [])
    # Flasks holds 2 < 3 items -> the query node is Glass (5 items), completed with "Lab Supplies".
    assert _candidates(table, 3) == (["lab supplies glass"], [])
    # Pipettes holds 1 item -> Lab Supplies (6 items); never the root "Industrial & Scientific".
    assert _candidates(table, 5) == (["lab supplies"], [])
    # Uncategorised items: no title term matches >= 3 items -> fallback to the most frequent title term.
    assert _candidates(table, 6) == (["duct"], []) and _candidates(table, 7) == (["duct"], [])
    q = {table.texts[i]: i for i in range(table.n_queries)}
    assert table.relevant.row(q["glass beakers"]).tolist() == [0, 1, 2]
    assert table.relevant.row(q["lab supplies glass"]).tolist() == [0, 1, 2, 3, 4]
    assert table.relevant.row(q["lab supplies"]).tolist() == [0, 1, 2, 3, 4, 5]
    assert table.relevant.row(q["duct"]).tolist() == [6, 7]
    assert table.kinds[q["glass beakers"]] == KIND_CATEGORY and table.kinds[q["duct"]] == KIND_FALLBACK
    # Near misses of a Beakers item: the rest of Glass (the Flasks).
    group = table.near.row(0)
    assert len(group) == 1 and table.groups.row(int(group[0])).tolist() == [3, 4]


def test_title_term_protocol_golden() -> None:
    titles = ["Mario Kart Racing", "Mario Party", "Mario Tennis", "Kart Racing Deluxe", "Kart Racing Pro", "Zelda"]
    items = make_items([str(i) for i in range(6)], titles=titles, texts=titles)
    table = build_queries(items, min_positives=2, max_query_words=4, max_term_items=3, seed=0)
    # Singles: terms in 2..3 titles; pairs: co-occurring in 2..3 titles ("mario kart" only in item 0: no).
    assert _candidates(table, 0) == (["mario", "kart", "racing"], ["kart racing"])
    assert _candidates(table, 1) == (["mario"], [])
    assert _candidates(table, 3) == (["kart", "racing"], ["kart racing"])
    assert _candidates(table, 5) == (["zelda"], [])  # fallback: a single-item query
    q = {table.texts[i]: i for i in range(table.n_queries)}
    assert table.relevant.row(q["kart racing"]).tolist() == [0, 3, 4]
    assert table.relevant.row(q["mario"]).tolist() == [0, 1, 2]
    assert table.kinds[q["kart racing"]] == KIND_TITLE and table.kinds[q["zelda"]] == KIND_FALLBACK
    # Graded truth: 2 = ordered item, 1 = relevant, 0 = other, -1 = padding.
    grades = table.grades(np.array([q["kart racing"]]), np.array([3]), np.array([[3, 0, 4, 1, -1]]))
    assert grades.tolist() == [[2, 1, 1, 0, -1]]
    # With a cap of 2 titles, no term or pair of item 3 qualifies: the fallback is its rarest term that still
    # has >= min_positives items ("kart" and "racing" tie at 3; the term met first in the catalog wins).
    capped = build_queries(items, min_positives=2, max_query_words=4, max_term_items=2, seed=0)
    assert _candidates(capped, 3) == (["kart"], [])
    assert capped.kinds[capped.single.row(3)[0]] == KIND_FALLBACK


def test_colliding_node_names_get_ancestor_words() -> None:
    categories = ["Store > Tools > Power Drills"] * 3 + ["Store > Garden > Power Drills"] * 3
    items = make_items([str(i) for i in range(6)], categories=categories)
    table = build_queries(items, min_positives=3, max_query_words=4, max_term_items=100, seed=0)
    assert _candidates(table, 0)[0] == ["tools power drills"]
    assert _candidates(table, 3)[0] == ["garden power drills"]


def test_long_node_names_keep_a_seeded_subset_in_order() -> None:
    name = "Alpha Beta Gamma Delta Epsilon Zeta"
    items = make_items([str(i) for i in range(3)], categories=[f"Store > {name}"] * 3)
    texts = {seed: build_queries(items, 3, 4, 100, seed).texts[0] for seed in range(12)}
    words = content_words(name)
    for text in texts.values():
        chosen = text.split()
        assert len(chosen) == 4 and chosen == [w for w in words if w in chosen]
    assert texts[0] == build_queries(items, 3, 4, 100, 0).texts[0]
    assert len(set(texts.values())) > 1


@pytest.mark.parametrize("seed", [0, 1])
def test_choose_draws_only_candidates_of_the_ordered_item(seed: int) -> None:
    titles = ["Mario Kart Racing", "Mario Party", "Mario Tennis", "Kart Racing Deluxe", "Kart Racing Pro", "Zelda"]
    items = make_items([str(i) for i in range(6)], titles=titles, texts=titles)
    table = build_queries(items, 2, 4, 3, seed)
    targets = np.repeat(np.arange(6), 200)
    chosen = table.choose(targets, np.random.default_rng(seed))
    for target, q in zip(targets, chosen):
        assert q in set(table.single.row(target)) | set(table.pair.row(target))
        assert table.contains(np.array([q]), np.array([target]))[0]  # the ordered item is always relevant
    # Item 0 has 1- and 2-word candidates: both are drawn.
    assert {len(table.texts[q].split()) for q in chosen[targets == 0]} == {1, 2}

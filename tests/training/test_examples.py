"""Examples and batches: a hand-built golden impression (candidate order, SID collisions, the cap, the
shared-prefix masks, top_positive) and properties of the cap."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.errors import ConfigError, DataError
from benchmark.training import Example, build_examples, collate
from tests.training.conftest import TinyCatalog

# item: SID             target ids (code token id = 5 + 4 * level + code; eos = 2)
#  0: (0, 1, 2)          (5, 10, 15, 2)   the ordered item y_w*
#  1: (0, 1, 3)          (5, 10, 16, 2)   shares 2 tokens with y_w*
#  2: (0, 2, 1)          (5, 11, 14, 2)   shares 1
#  3: (1, 0, 0)          (6,  9, 13, 2)   shares 0
#  4: (0, 1, 2)          collides with item 0
#  5: (2, 2, 2)          (7, 11, 15, 2)
#  6: (0, 1, 0)          (5, 10, 13, 2)   shares 2
CODES = [(0, 1, 2), (0, 1, 3), (0, 2, 1), (1, 0, 0), (0, 1, 2), (2, 2, 2), (0, 1, 0)]
Y = {0: (5, 10, 15, 2), 1: (5, 10, 16, 2), 2: (5, 11, 14, 2), 3: (6, 9, 13, 2), 5: (7, 11, 15, 2), 6: (5, 10, 13, 2)}


@pytest.fixture
def golden_frame() -> pd.DataFrame:
    return pd.DataFrame([
        {"impression_id": 7, "user": 0, "query": "Lab glass", "history": [3, 5],
         "exposed": [6, 0, 3, 1, 4, 2, 5], "clicks": [1, 1, 0, 0, 0, 1, 0],
         "relevance": [1, 2, 0, 0, 0, 1, 0], "target": 0},
        # its only negative collides with y_w*: no contrast left, dropped from the preference stage
        {"impression_id": 8, "user": 1, "query": "tape", "history": [],
         "exposed": [0, 4], "clicks": [1, 0], "relevance": [2, 0], "target": 0},
    ])


@pytest.fixture
def golden_catalog() -> TinyCatalog:
    return TinyCatalog(CODES)


def test_prompt_is_bos_query_sep_history_sep(golden_frame, golden_catalog, tokenizer):
    ex = build_examples(golden_frame, golden_catalog, tokenizer, stage="sft")[0]
    # vocabulary: 0-4 specials, 5-16 codes, then sorted words beaker clamp glass glove lab mask steel tape (17-24)
    assert ex.prompt_ids == (1, 21, 19, 3, 6, 9, 13, 7, 11, 15, 3)


def test_sft_stage_candidates_are_the_clicked_items_target_first(golden_frame, golden_catalog, tokenizer):
    examples = build_examples(golden_frame, golden_catalog, tokenizer, stage="sft")
    assert len(examples) == 2
    ex = examples[0]
    assert ex.item_ids == (0, 6, 2)  # y_w* first, then the other clicks in exposure order
    assert ex.candidate_ids == (Y[0], Y[6], Y[2])
    assert ex.is_positive == (True, True, True) and ex.top_positive == 0 and ex.impression_id == 7
    assert examples[1].item_ids == (0,) and examples[1].n_negatives == 0


def test_preference_stage_order_collisions_and_dropped_impressions(golden_frame, golden_catalog, tokenizer):
    examples = build_examples(golden_frame, golden_catalog, tokenizer, stage="preference")
    assert len(examples) == 1  # impression 8 has no negative left after de-duplication
    ex = examples[0]
    # negatives in exposure order 3, 1, (4 collides with positive 0: dropped), 5
    assert ex.item_ids == (0, 6, 2, 3, 1, 5)
    assert ex.candidate_ids == tuple(Y[i] for i in (0, 6, 2, 3, 1, 5))
    assert ex.is_positive == (True, True, True, False, False, False)
    assert ex.n_tokens == 11 + 6 * 4


@pytest.mark.parametrize(
    ("cap", "items"),
    [(6, (0, 6, 2, 3, 1, 5)), (5, (0, 6, 2, 3, 1)), (4, (0, 6, 2, 3)), (3, (0, 6, 3)), (2, (0, 3))],
)
def test_cap_keeps_top_positive_and_one_negative(golden_frame, golden_catalog, tokenizer, cap, items):
    ex = build_examples(golden_frame, golden_catalog, tokenizer, stage="preference", max_candidates=cap)[0]
    assert ex.item_ids == items
    assert ex.candidate_ids == tuple(Y[i] for i in items)
    assert ex.top_positive == 0 and ex.candidate_ids[0] == Y[0]


def test_collate_labels_and_shared_prefix(golden_frame, golden_catalog, tokenizer):
    pref = build_examples(golden_frame, golden_catalog, tokenizer, stage="preference")[0]
    sft = build_examples(golden_frame, golden_catalog, tokenizer, stage="sft")[1]  # one candidate
    batch = collate([pref, sft], tokenizer.pad_id)
    assert tuple(batch.shared_prefix.shape) == (2, 6, 4)
    T, F = True, False
    expected = torch.tensor([
        [[T, T, T, T], [T, T, F, F], [T, F, F, F], [F, F, F, F], [T, T, F, F], [F, F, F, F]],
        [[T, T, T, T]] + [[F, F, F, F]] * 5,  # padded candidate slots share nothing
    ])
    assert torch.equal(batch.shared_prefix, expected)
    assert torch.equal(batch.is_positive, torch.tensor([[T, T, T, F, F, F], [T, F, F, F, F, F]]))
    assert torch.equal(batch.top_positive, torch.tensor([0, 0]))
    assert torch.equal(batch.packed.cand_mask, torch.tensor([[T] * 6, [T] + [F] * 5]))
    assert batch.n_tokens == (11 + 24) + (len(sft.prompt_ids) + 4) and batch.n_examples == 2


def test_top_positive_index_drives_shared_prefix():
    # y_w* need not be slot 0 for the batch code: prefixes are taken against the candidate top_positive names.
    ex = Example(prompt_ids=(1, 3), candidate_ids=((5, 10, 16, 2), (5, 10, 15, 2)), is_positive=(False, True),
                 top_positive=1)
    batch = collate([ex], pad_id=0)
    assert batch.shared_prefix[0].tolist() == [[True, True, False, False], [True, True, True, True]]
    assert batch.top_positive.tolist() == [1]


def test_build_examples_rejects_bad_input(golden_frame, golden_catalog, tokenizer):
    with pytest.raises(ConfigError, match="'stage'.*Got 'dpo'"):
        build_examples(golden_frame, golden_catalog, tokenizer, stage="dpo")
    with pytest.raises(DataError, match="'clicks'"):
        build_examples(golden_frame.drop(columns=["clicks"]), golden_catalog, tokenizer, stage="sft")
    bad = golden_frame.copy()
    bad.at[0, "clicks"] = [1, 0]
    with pytest.raises(DataError, match="Impression 7"):
        build_examples(bad, golden_catalog, tokenizer, stage="sft")


@settings(max_examples=200, deadline=None)
@given(n_pos=st.integers(1, 20), n_neg=st.integers(0, 20), cap=st.integers(2, 20))
def test_cap_properties(n_pos, n_neg, cap):
    labels = [True] * n_pos + [False] * n_neg  # build_examples' order; slot 0 is y_w*
    ex = Example(prompt_ids=(1,), candidate_ids=tuple((i, 2) for i in range(len(labels))),
                 is_positive=tuple(labels))
    out = ex.capped(cap)
    kept = [c[0] for c in out.candidate_ids]
    assert len(kept) == min(cap, len(labels))
    assert kept[0] == 0 and out.top_positive == 0  # y_w* survives, first
    pos = [i for i in kept if labels[i]]
    neg = [i for i in kept if not labels[i]]
    assert kept == pos + neg and pos == sorted(pos) and neg == sorted(neg)  # order kept: positives, negatives
    if ex.n_negatives:
        assert neg, "a negative survives when there is one"
        # what is dropped is dropped from the end of each group
        assert neg == [i for i, p in enumerate(labels) if not p][: len(neg)]
    assert pos == [i for i, p in enumerate(labels) if p][: len(pos)]

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmark.sids.stats import preference_pair_shares

#            item:  0          1          2          3          4
CODES = np.array([[0, 0, 0], [0, 0, 1], [0, 1, 0], [1, 0, 0], [0, 0, 1]])


def test_pair_shares_hand_computed() -> None:
    preference = pd.DataFrame(
        {
            # row 0: positives {0, 2}, negatives {1, 3} -> pairs (0,1) (0,3) (2,1) (2,3)
            # row 1: positives {3}, negatives {4, 2, 1}  -> pairs (3,4) (3,2) (3,1)
            # row 2: positives {1}, negatives {4}        -> pair (1,4): same SID
            "exposed": [[0, 1, 2, 3], [3, 4, 2, 1], [1, 4]],
            "clicks": [[1, 0, 1, 0], [1, 0, 0, 0], [1, 0]],
            "target": [0, 3, 1],
        }
    )
    shares = preference_pair_shares(CODES, preference)
    pairs = shares["preference_pairs"]
    assert pairs["n_pairs"] == 8
    # first token shared: (0,1) (2,1) (1,4) -> 3 of 8; first two: (0,1) (1,4) -> 2 of 8; full SID: (1,4)
    assert pairs["share_first_token"] == pytest.approx(3 / 8)
    assert pairs["share_first_two_tokens"] == pytest.approx(2 / 8)
    assert pairs["share_same_sid"] == pytest.approx(1 / 8)
    target = shares["target_pairs"]
    # target x negatives: (0,1) (0,3) | (3,4) (3,2) (3,1) | (1,4)
    assert target["n_pairs"] == 6
    assert target["share_first_token"] == pytest.approx(2 / 6)
    assert target["share_first_two_tokens"] == pytest.approx(2 / 6)
    assert target["share_same_sid"] == pytest.approx(1 / 6)


def test_single_level_sids_have_no_two_token_share() -> None:
    preference = pd.DataFrame({"exposed": [[0, 1]], "clicks": [[1, 0]], "target": [0]})
    shares = preference_pair_shares(np.array([[0], [0]]), preference)
    assert shares["preference_pairs"]["share_first_token"] == 1.0
    assert shares["preference_pairs"]["share_first_two_tokens"] is None

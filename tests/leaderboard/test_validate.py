"""The validator recomputes every metric from the rankings and rejects tampered submissions, writing nothing."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.errors import ArtifactMismatchError, BenchmarkError
from benchmark.leaderboard.card import card_from_dict, dump_card, load_card
from benchmark.leaderboard.checks import check_rankings
from benchmark.leaderboard.errors import SubmissionError
from benchmark.leaderboard.references import SIGNIFICANCE_METRICS
from benchmark.leaderboard.submission import RECORD_FILE, Limits
from benchmark.leaderboard.target import resolve_target
from benchmark.leaderboard.validate import ValidationOptions, validate_submission
from tests.leaderboard.tiny import (
    TinyCatalog,
    TinyDataset,
    TinySource,
    beams_of,
    card_dict,
    score,
    store_reference,
    system_rankings,
    table_of,
    write_submission,
)

FAST = ValidationOptions(n_resamples=2000)


@pytest.fixture(scope="module")
def source() -> TinySource:
    return TinySource()


@pytest.fixture(scope="module")
def frames(source: TinySource) -> dict[int, pd.DataFrame]:
    return {s: system_rankings(source, 0.7, 100 + s) for s in (0, 1)}


def _validate(path: Path, source: TinySource, **kwargs) -> dict:
    return validate_submission(path, source=source, options=kwargs.pop("options", FAST), **kwargs)


# ------------------------------------------------------------------------------------------------ golden
class _MicroSource:
    """Two queries, four items, hand-computable metrics (see the test below)."""

    def __init__(self) -> None:
        codes = np.array([[0, 0], [0, 0], [1, 2], [2, 1]])
        self.catalog_obj = TinyCatalog(codes, np.array([1, 5, 0, 0]), "cat0")  # item 1 more popular than 0
        self.catalog_obj.codebook_sizes = (3, 3)
        test = pd.DataFrame({"query_id": [10, 11], "relevant": [[0, 3], [2]]})
        self.dataset_obj = TinyDataset(test, "test0", "split0")

    def dataset(self, training_data):
        return self.dataset_obj

    def catalog(self, dataset, training_data):
        return self.catalog_obj


def test_golden_metrics_from_a_hand_computed_submission(tmp_path: Path) -> None:
    # query 10 (relevant items {0, 3}; their SIDs {0-0, 2-1}): beams 1-2 (item 2), ill-formed, 0-0 (items 1, 0
    #   by popularity), 2-2 (no item: hallucinated). Item ranking [2, 1, 0]: item 0 at rank 3 -> recall 1/2,
    #   MRR 1/3. SID ranking [1-2, 0-0, 2-2]: 0-0 at rank 2 -> recall 1/2, MRR 1/2. halluc 2/4, halluc@1 0.
    # query 11 (relevant {2}, SID 1-2): beam 1-2 -> every recall 1, MRR 1, halluc 0.
    rows = [(10, 1, "1-2"), (10, 2, ""), (10, 3, "0-0"), (10, 4, "2-2"), (11, 1, "1-2")]
    sub = tmp_path / "micro"
    sub.mkdir()
    pd.DataFrame(rows, columns=["query_id", "rank", "sid"]).to_csv(sub / "rankings-seed0.csv", index=False)
    data = card_dict(TinySource(), [0], hashes={"test_hash": "test0", "catalog_hash": "cat0"},
                     evaluation={"beam_width": 4})
    (sub / "card.yaml").write_text(dump_card(card_from_dict(data)))
    record = validate_submission(sub, source=_MicroSource(), options=FAST)
    mean = record["metrics"]["mean"]
    expected = {"halluc": 0.25, "halluc@1": 0.0, "item_recall@10": 0.75, "item_hit@10": 1.0,
                "item_mrr": (1 / 3 + 1) / 2, "sid_recall@8": 0.75, "sid_hit@8": 1.0, "sid_mrr": 0.75}
    for name, value in expected.items():
        assert mean[name] == pytest.approx(value, abs=1e-12), name
    assert record["track"]["n_queries"] == 2 and record["track"]["beam_width"] == 4
    assert record["metrics"]["std"]["sid_mrr"] is None                          # one seed: no spread


# ------------------------------------------------------------------------------------------------ accept
def test_accepted_submission_matches_direct_scoring_and_is_deterministic(
    tmp_path: Path, source: TinySource, frames: dict
) -> None:
    sub = write_submission(tmp_path / "sub", source, frames=frames, seeds=(0, 1))
    record = _validate(sub, source)
    stored = (sub / RECORD_FILE).read_bytes()
    assert json.loads(stored) == record
    for seed in (0, 1):
        direct = {k: float(np.mean(v)) for k, v in score(source, frames[seed]).items()}
        assert record["metrics"]["per_seed"][str(seed)] == pytest.approx(direct, abs=1e-15)
    both = [record["metrics"]["per_seed"][s]["item_recall@100"] for s in ("0", "1")]
    assert record["metrics"]["mean"]["item_recall@100"] == pytest.approx(np.mean(both))
    assert record["metrics"]["std"]["item_recall@100"] == pytest.approx(np.std(both, ddof=1))
    assert record["claims_checked"] == {"0": sorted(record["metrics"]["mean"]), "1": sorted(record["metrics"]["mean"])}
    assert set(record["files"]) == {"card.yaml", "rankings-seed0.parquet", "rankings-seed1.parquet"}
    _validate(sub, source)
    assert (sub / RECORD_FILE).read_bytes() == stored                            # byte-identical rerun


def test_csv_submission_without_claims_or_scores_is_accepted(tmp_path: Path, source: TinySource, frames: dict) -> None:
    frame = frames[0].drop(columns=["score"])
    sub = write_submission(tmp_path / "csv", source, frames={0: frame}, seeds=(0,), claims=False, fmt="csv")
    record = _validate(sub, source, write=False)
    assert not (sub / RECORD_FILE).exists()
    assert record["metrics"]["per_seed"]["0"]["sid_mrr"] == pytest.approx(float(np.mean(score(source, frame)["sid_mrr"])))


def test_claims_within_tolerance_pass_and_beyond_fail(tmp_path: Path, source: TinySource, frames: dict) -> None:
    true = float(np.mean(score(source, frames[0])["item_mrr"]))
    ok = write_submission(tmp_path / "ok", source, frames={0: frames[0]}, seeds=(0,),
                          claimed_metrics={0: {"item_mrr": true + 5e-7}})
    _validate(ok, source)
    bad = write_submission(tmp_path / "bad", source, frames={0: frames[0]}, seeds=(0,),
                           claimed_metrics={0: {"item_mrr": true + 2e-6}})
    with pytest.raises(SubmissionError, match=r"item_mrr claimed .*difference \+0\.000002"):
        _validate(bad, source)


# ------------------------------------------------------------------------------------------------ tampered
def _tamper_frame(frames: dict, how: str) -> pd.DataFrame:
    frame = frames[0].copy()
    first = int(frame["query_id"].iloc[0])
    rows = frame.index[frame["query_id"] == first]
    if how == "duplicate_query":
        return pd.concat([frame, frame.loc[rows]], ignore_index=True)
    if how == "unknown_query":
        frame.loc[rows, "query_id"] = 999_999
        return pd.concat([frame, frames[0].loc[rows]], ignore_index=True)
    if how == "missing_query":
        return frame.drop(index=rows)
    if how == "rank_gap":
        frame.loc[rows[-1], "rank"] = 50
        return frame
    if how == "rank_zero":
        frame.loc[rows[0], "rank"] = 0
        return frame
    if how == "malformed_sid":
        frame.loc[rows[0], "sid"] = "1-2-3"
        return frame
    if how == "code_out_of_range":
        frame.loc[rows[0], "sid"] = "9-0"
        return frame
    if how == "repeated_sid":
        good = [r for r in rows if frame.loc[r, "sid"]]
        frame.loc[good[1], "sid"] = frame.loc[good[0], "sid"]
        return frame
    if how == "rising_scores":
        frame.loc[rows[1], "score"] = frame.loc[rows[0], "score"] + 1.0
        return frame
    if how == "too_long":
        extra = frame.loc[rows[:1]].assign(rank=len(rows) + 1, sid="")
        return pd.concat([frame, extra], ignore_index=True)
    raise ValueError(how)


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("duplicate_query", r"duplicate \(query_id, rank\) pair\(s\), e\.g\. \(query \d+, rank 1\)"),
        ("unknown_query", r"1 unknown query id\(s\) \(8 rows\), e\.g\. 999999"),
        ("missing_query", r"1 of 30 evaluated test queries have no ranking, e\.g\. query_id \d+"),
        ("rank_gap", r"query \d+ has ranks 1, 2, 3, 4, 5, \.\.\.; ranks must be 1\.\.n without gaps"),
        ("rank_zero", r"ranks start at 1; found rank 0"),
        ("malformed_sid", r"1 malformed SID\(s\) \(e\.g\. '1-2-3'\)"),
        ("code_out_of_range", r"SID\(s\) with a code outside the catalog's codebooks \[4, 4\], e\.g\. 9-0"),
        ("repeated_sid", r"ranked twice within one query"),
        ("rising_scores", r"scores must not increase with rank"),
        ("too_long", r"ranks 9 SIDs; at most beam_width = 8 per query"),
    ],
)
def test_tampered_rankings_are_rejected_and_nothing_is_written(
    tmp_path: Path, source: TinySource, frames: dict, how: str, message: str
) -> None:
    sub = write_submission(tmp_path / how, source, frames={0: _tamper_frame(frames, how)}, seeds=(0,), claims=False)
    with pytest.raises(SubmissionError, match=message):
        _validate(sub, source)
    assert not (sub / RECORD_FILE).exists()


def test_inflated_claims_are_rejected_with_every_difference_shown(tmp_path: Path, source: TinySource,
                                                                  frames: dict) -> None:
    true = {k: float(np.mean(v)) for k, v in score(source, frames[0]).items()}
    claims = {0: {**true, "item_recall@100": true["item_recall@100"] + 0.05, "sid_mrr": true["sid_mrr"] + 0.01}}
    sub = write_submission(tmp_path / "inflated", source, frames={0: frames[0]}, seeds=(0,), claimed_metrics=claims)
    with pytest.raises(SubmissionError) as info:
        _validate(sub, source)
    text = str(info.value)
    assert "Claimed metrics do not match the metrics recomputed from the rankings (tolerance 1e-06)" in text
    assert (f"seed 0: item_recall@100 claimed {true['item_recall@100'] + 0.05:.6f}, recomputed "
            f"{true['item_recall@100']:.6f}, difference +0.050000") in text
    assert "seed 0: sid_mrr claimed" in text and "difference +0.010000" in text
    assert "item_mrr" not in text                                                # honest claims not listed
    assert not (sub / RECORD_FILE).exists()


def test_unknown_claimed_metric_is_rejected(tmp_path: Path, source: TinySource, frames: dict) -> None:
    sub = write_submission(tmp_path / "u", source, frames={0: frames[0]}, seeds=(0,),
                           claimed_metrics={0: {"ndcg@10": 0.9}})
    with pytest.raises(SubmissionError, match=r"'ndcg@10' is not a benchmark metric"):
        _validate(sub, source)


@pytest.mark.parametrize("which", ["test_hash", "catalog_hash", "split_hash"])
def test_wrong_provenance_hash_is_rejected_naming_both_hashes(tmp_path: Path, source: TinySource, frames: dict,
                                                              which: str) -> None:
    hashes = {"test_hash": source.dataset_obj.test_hash, "catalog_hash": source.catalog_obj.catalog_hash,
              "split_hash": source.dataset_obj.split_hash}
    actual = hashes[which]
    hashes[which] = "deadbeefdeadbeef"
    sub = write_submission(tmp_path / which, source, frames={0: frames[0]}, seeds=(0,), hashes=hashes)
    with pytest.raises(ArtifactMismatchError, match=rf"\({which}\) mismatch for tiny: the card says "
                                                    rf"'deadbeefdeadbeef' but the benchmark's rebuilt one is '{actual}'"):
        _validate(sub, source)
    assert not (sub / RECORD_FILE).exists()


def test_nonstandard_metric_cutoffs_are_rejected(tmp_path: Path, source: TinySource, frames: dict) -> None:
    sub = write_submission(tmp_path / "ks", source, frames={0: frames[0]}, seeds=(0,), claims=False,
                           evaluation={"beam_width": 8, "item_ks": [5]})
    with pytest.raises(SubmissionError, match=r"evaluation.item_ks is \[5\]; the leaderboard scores every submission "
                                              r"at the benchmark's cutoffs \[10, 100, 500\]"):
        _validate(sub, source)


def test_item_column_must_agree_with_the_sid(tmp_path: Path, source: TinySource, frames: dict) -> None:
    catalog = source.catalog_obj
    frame = frames[0].copy()
    frame["item"] = [catalog.items_for(tuple(map(int, s.split("-"))))[0] if s and catalog.items_for(
        tuple(map(int, s.split("-")))) else None for s in frame["sid"]]
    frame["item"] = frame["item"].astype("Int64")
    good = write_submission(tmp_path / "good", source, frames={0: frame}, seeds=(0,), claims=False)
    _validate(good, source)
    row = frame.index[frame["item"].notna()][0]
    sid = tuple(map(int, frame.loc[row, "sid"].split("-")))
    frame.loc[row, "item"] = next(i for i in range(20) if catalog.sid_of(i) != sid)
    bad = write_submission(tmp_path / "bad", source, frames={0: frame}, seeds=(0,), claims=False)
    with pytest.raises(SubmissionError, match=r"give an item whose SID is not the row's SID"):
        _validate(bad, source)


def test_cheap_problems_fail_before_the_dataset_is_built(tmp_path: Path, frames: dict) -> None:
    source = TinySource()
    sub = write_submission(tmp_path / "sub", source, frames={0: frames[0]}, seeds=(0,))
    data = (sub / "rankings-seed0.parquet").read_bytes()
    (sub / "rankings-seed0.parquet").write_bytes(data[:-20])                          # truncated
    with pytest.raises(SubmissionError, match="not a readable parquet file"):
        _validate(sub, source)
    (sub / "rankings-seed0.parquet").write_bytes(data)
    with pytest.raises(SubmissionError, match="over the per-file limit"):
        _validate(sub, source, options=dataclasses.replace(FAST, limits=Limits(max_file_bytes=1500)))
    os.symlink("/etc/hostname", sub / "notes.txt")
    with pytest.raises(SubmissionError, match="notes.txt is a symbolic link"):
        _validate(sub, source)
    assert source.calls == [] and not (sub / RECORD_FILE).exists()


def test_a_failed_revalidation_leaves_the_old_record_untouched(tmp_path: Path, source: TinySource,
                                                               frames: dict) -> None:
    sub = write_submission(tmp_path / "sub", source, frames={0: frames[0]}, seeds=(0,))
    _validate(sub, source)
    before = (sub / RECORD_FILE).read_bytes()
    write_submission(sub, source, frames={0: _tamper_frame(frames, "missing_query")}, seeds=(0,), claims=False)
    with pytest.raises(SubmissionError):
        _validate(sub, source)
    assert (sub / RECORD_FILE).read_bytes() == before
    assert [p.name for p in sub.iterdir() if p.name.startswith(".")] == []            # no temporary left behind


@settings(max_examples=15, deadline=None)
@given(order_seed=st.integers(0, 2**32 - 1))
def test_row_order_does_not_matter(order_seed: int) -> None:
    source = _SOURCE
    frame = _FRAME
    target = resolve_target(card_from_dict(card_dict(source, [0])), source)
    shuffled = frame.sample(frac=1.0, random_state=np.random.RandomState(order_seed % 2**32))
    assert check_rankings(table_of(shuffled), target, 8) == beams_of(frame, target.query_ids)


_SOURCE = TinySource()
_FRAME = system_rankings(_SOURCE, 0.5, 7)


# ------------------------------------------------------------------------------------------------ significance
def test_significance_against_references_on_the_same_track(tmp_path: Path, source: TinySource, frames: dict) -> None:
    results = tmp_path / "results"
    for method, skill in (("sft", 0.5), ("raddpo", 0.7)):
        for seed in (0, 1):
            store_reference(results, source, method, skill, seed)
    store_reference(results, source, "dpo", 0.6, 0, experiment="fig2")              # not a reference experiment
    sub = write_submission(tmp_path / "sub", source, frames=frames, seeds=(0, 1))
    record = _validate(sub, source, results_root=results)
    sig = record["significance"]
    assert [r["label"] for r in sig["references"]] == ["raddpo", "sft"]
    assert len(sig["comparisons"]) == 2 * len(SIGNIFICANCE_METRICS)
    for c in sig["comparisons"]:
        assert 0 < c["pvalue"] <= c["pvalue_holm"] <= 1
    again = _validate(sub, source, results_root=results, write=False)
    assert again["significance"] == sig                                             # seeded: same p-values
    # a track with other queries (max_queries) finds no references and says so
    first20 = set(source.dataset_obj.test["query_id"].iloc[:20])
    short = write_submission(tmp_path / "short", source, frames={0: frames[0][frames[0]["query_id"].isin(first20)]},
                             seeds=(0,), claims=False, evaluation={"beam_width": 8, "max_queries": 20})
    record = _validate(short, source, results_root=results)
    assert record["track"]["n_queries"] == 20 and record["significance"]["comparisons"] == []
    assert "no reference runs on this track were found" in record["notes"][0]


def test_reference_rankings_exported_compare_equal_to_themselves(tmp_path: Path, source: TinySource) -> None:
    from benchmark.leaderboard.export import export_submission, find_runs

    results = tmp_path / "results"
    for method, skill in (("sft", 0.5), ("raddpo", 0.7)):
        for seed in (0, 1):
            store_reference(results, source, method, skill, seed)
    out = export_submission(find_runs(results, "table1", "raddpo"), tmp_path / "subs" / "raddpo")
    card = load_card(out / "card.yaml")
    assert card.method.code == "grbench:raddpo" and card.seeds == (0, 1) and card.claimed_metrics[1]
    record = _validate(out, source, results_root=results)
    self_tests = [c for c in record["significance"]["comparisons"] if c["reference"] == "raddpo"]
    assert self_tests and all(c["delta"] == 0.0 and c["pvalue"] == 1.0 for c in self_tests)
    with pytest.raises(SubmissionError, match="exists and is not empty"):
        export_submission(find_runs(results, "table1", "raddpo"), out)
    with pytest.raises(BenchmarkError, match="No stored runs of method 'orpo'"):
        find_runs(results, "table1", "orpo")

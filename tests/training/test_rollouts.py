"""Rollouts inside the one trainer (benchmark.training.rollouts): what the log records per candidate, the
rewards, invalid SIDs kept in the group, determinism under a seed, and the rollout cost in the run's totals."""

from __future__ import annotations

import csv
import json
import math

import pytest

from benchmark.methods import get_method
from benchmark.training import collate, forward_candidates, load_checkpoint, train
from benchmark.training.examples import Example
from benchmark.training.rollouts import (
    RolloutConfig,
    candidate_reward,
    catalog_validity,
    example_validity,
    roll_out,
)
from tests.training.conftest import quick_config
from tests.training.test_trainer import _interrupting


def test_examples_record_exposure_positions_and_graded_truth(frame, pref_examples) -> None:
    row, example = frame.iloc[0], pref_examples[0]
    exposed, relevance = list(row["exposed"]), list(row["relevance"])
    for slot, item in enumerate(example.item_ids):
        assert example.exposure_ranks[slot] == exposed.index(item) + 1
        assert example.grades[slot] == relevance[exposed.index(item)]
    assert example.grades[example.top_positive] == 2


def test_candidate_rewards_golden() -> None:
    # Candidates (A, B, C) exposed at positions 3, 1 and not at all; grades 2, 1, 0.
    ex = Example(prompt_ids=(1,), candidate_ids=((5, 2), (6, 2), (7, 2)), is_positive=(True, True, False),
                 grades=(2, 1, 0), exposure_ranks=(3, 1, 0))
    # ranker: 1 / log2(1 + k): A 1 / log2(4) = 0.5, B 1 / log2(2) = 1, C not exposed 0, unseen valid SID 0
    assert candidate_reward(ex, (5, 2), "ranker", True, -1.0) == 0.5
    assert candidate_reward(ex, (6, 2), "ranker", True, -1.0) == 1.0
    assert candidate_reward(ex, (7, 2), "ranker", True, -1.0) == 0.0
    assert candidate_reward(ex, (8, 2), "ranker", True, -1.0) == 0.0
    # truth: grade / 2 -> 1, 0.5, 0; the exposure-biased ranker prefers B over the ordered item A
    assert [candidate_reward(ex, c, "truth", True, -1.0) for c in ex.candidate_ids] == [1.0, 0.5, 0.0]
    # an invalid SID gets invalid_reward whatever it is
    assert candidate_reward(ex, (5, 2), "truth", False, -0.7) == -0.7
    # without a recorded log: grades 2 / 1 / 0 and exposure in slot order
    bare = Example(prompt_ids=(1,), candidate_ids=((5, 2), (6, 2)), is_positive=(True, False))
    assert (bare.grade_of(0), bare.grade_of(1), bare.exposure_rank_of(1)) == (2, 0, 2)


@pytest.mark.parametrize("decoding", ["beam", "sample"])
def test_rollouts_are_deterministic_under_a_seed(decoding, tokenizer, pref_examples, sft_checkpoint) -> None:
    config = RolloutConfig(group_size=4, decoding=decoding)
    valid = example_validity(pref_examples)
    model = load_checkpoint(sft_checkpoint)
    first = roll_out(model, tokenizer, pref_examples[:6], config, valid, seed=(3, 1))
    again = roll_out(load_checkpoint(sft_checkpoint), tokenizer, pref_examples[:6], config, valid, seed=(3, 1))
    assert first.examples == again.examples and first.rewards == again.rewards
    for ex, original, rewards in zip(first.examples, pref_examples[:6], first.rewards, strict=True):
        assert len(ex.candidate_ids) == 1 + 4 == len(rewards) and ex.top_positive == 0
        assert ex.candidate_ids[0] == original.candidate_ids[original.top_positive]
        assert all(len(c) == tokenizer.levels + 1 and c[-1] == tokenizer.eos_id for c in ex.candidate_ids)
    assert first.stats.tokens == 6 * 4 * tokenizer.levels
    if decoding == "sample":
        other = roll_out(model, tokenizer, pref_examples[:6], config, valid, seed=(4, 1))
        assert other.examples != first.examples


def test_invalid_sids_stay_in_the_group_with_the_invalid_reward(tokenizer, pref_examples, sft_checkpoint) -> None:
    truths = {ex.candidate_ids[ex.top_positive] for ex in pref_examples}
    config = RolloutConfig(group_size=4, invalid_reward=-2.0, reward="truth")
    rolled = roll_out(load_checkpoint(sft_checkpoint), tokenizer, pref_examples[:5], config, truths.__contains__,
                      seed=(0,))
    for ex, rewards in zip(rolled.examples, rolled.rewards, strict=True):
        assert len(ex.candidate_ids) == 5
        for cand, reward in zip(ex.candidate_ids[1:], rewards[1:], strict=True):
            if cand not in truths:
                assert reward == -2.0
    assert rolled.stats.invalid == sum(c not in truths for ex in rolled.examples for c in ex.candidate_ids[1:])


def test_catalog_validity_decodes_the_sid(tokenizer, catalog) -> None:
    class Catalog:
        def is_valid(self, sid):
            return tuple(sid) == catalog.sid_of(0)

    valid = catalog_validity(Catalog(), tokenizer)
    assert valid(tuple(tokenizer.target_ids(catalog.sid_of(0))))
    assert not valid(tuple(tokenizer.target_ids(catalog.sid_of(1))))
    assert not valid((tokenizer.bos_id,) * (tokenizer.levels + 1))  # not a SID at all


def test_rollout_batches_carry_rewards_and_the_rollout_policy(tokenizer, pref_examples, sft_checkpoint) -> None:
    model = load_checkpoint(sft_checkpoint)
    rolled = roll_out(model, tokenizer, pref_examples[:3], RolloutConfig(group_size=3), example_validity(pref_examples),
                      seed=(0,))
    batch = collate(rolled.examples, tokenizer.pad_id).with_rollouts(rolled.rewards)
    cand = forward_candidates(model, batch, needs_reference=False, needs_hidden=False)
    assert cand.rollout_mask.tolist() == [[False, True, True, True]] * 3
    assert cand.rewards.tolist() == [pytest.approx(list(r)) for r in rolled.rewards]
    assert not cand.old_token_logps.requires_grad
    assert cand.old_token_logps.equal(cand.token_logps.detach())


@pytest.mark.parametrize("decoding", ["beam", "sample"])
def test_a_rollout_run_is_reproducible_and_counts_its_decoding_cost(decoding, tmp_path, tokenizer, pref_examples,
                                                                   sft_checkpoint) -> None:
    method = get_method("grpo")
    config = method.config_cls(rollouts=RolloutConfig(group_size=4, decoding=decoding))
    curves, summaries = [], []
    for run in ("a", "b"):
        result = train(method, config, load_checkpoint(sft_checkpoint), tokenizer, pref_examples,
                       quick_config(steps=3, batch_size=4), tmp_path / run,
                       reference_model=load_checkpoint(sft_checkpoint))
        with open(result.loss_curve, newline="") as handle:
            rows = list(csv.DictReader(handle))
        curves.append([(row["loss"], row["grpo"], row["reward_mean"]) for row in rows])
        summaries.append(json.loads(result.summary.read_text()))
    assert curves[0] == curves[1]  # bitwise: same rollouts, same rewards, same updates
    tokens = 3 * 4 * 4 * tokenizer.levels  # steps x batch x G x L
    assert summaries[0]["rollout_tokens"] == tokens and summaries[0]["rollout_seconds"] > 0
    assert [float(row) for row in (r["rollout_tokens"] for r in rows)] == [4 * 4 * tokenizer.levels] * 3
    assert all(0.0 <= float(r["rollout_invalid_share"]) <= 1.0 for r in rows)
    assert all(math.isnan(float(r["reward_accuracy"])) or 0 <= float(r["reward_accuracy"]) <= 1 for r in rows)


def test_methods_without_rollouts_record_no_rollout_cost(tmp_path, tokenizer, pref_examples, sft_checkpoint) -> None:
    method = get_method("simpo")
    result = train(method, method.config_cls(), load_checkpoint(sft_checkpoint), tokenizer, pref_examples,
                   quick_config(steps=1, batch_size=4), tmp_path)
    assert "rollout_tokens" not in json.loads(result.summary.read_text())


def test_grpo_raises_the_reward_of_its_own_rollouts(tmp_path, tokenizer, pref_examples, sft_checkpoint) -> None:
    method = get_method("grpo")
    config = method.config_cls()
    valid = example_validity(pref_examples)
    policy = load_checkpoint(sft_checkpoint)

    def mean_reward() -> float:
        rolled = roll_out(policy, tokenizer, pref_examples, config.rollouts, valid, seed=(0,))
        return sum(sum(r[1:]) / len(r[1:]) for r in rolled.rewards) / len(rolled.rewards)

    before = mean_reward()
    train(method, config, policy, tokenizer, pref_examples,
          quick_config(steps=8, batch_size=len(pref_examples), lr=2e-3, warmup_steps=0, schedule="constant"),
          tmp_path, reference_model=load_checkpoint(sft_checkpoint))
    assert mean_reward() > before + 0.05


def test_sampled_rollouts_survive_resume_and_micro_batching(tmp_path, tokenizer, pref_examples, sft_checkpoint):
    method = get_method("eg-grpo")
    config = method.config_cls(rollouts=RolloutConfig(group_size=3, decoding="sample"))

    def run(out, m, **changes):
        settings = dict(steps=5, batch_size=4, checkpoint_every=2, lr=1e-3) | changes
        result = train(m, config, load_checkpoint(sft_checkpoint), tokenizer, pref_examples,
                       quick_config(**settings), out, reference_model=load_checkpoint(sft_checkpoint))
        with open(result.loss_curve, newline="") as handle:
            return result, list(csv.DictReader(handle))

    full, full_rows = run(tmp_path / "full", method)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run(tmp_path / "resumed", _interrupting(method, at_call=4))
    resumed, rows = run(tmp_path / "resumed", method)
    assert resumed.resumed_from == 2
    columns = ("loss", "reward_mean", "rollout_invalid_share", "rollout_tokens")
    assert [[r[c] for c in columns] for r in rows] == [[r[c] for c in columns] for r in full_rows]
    summary = json.loads(resumed.summary.read_text())
    assert summary["rollout_tokens"] == json.loads(full.summary.read_text())["rollout_tokens"]
    # two micro-batches of 2: the same rollouts (seeded per example), the same losses up to summation order
    _, accumulated = run(tmp_path / "accum", method, grad_accum=2)
    assert [r["reward_mean"] for r in accumulated][:1] == [r["reward_mean"] for r in full_rows][:1]
    assert [float(r["loss"]) for r in accumulated] == pytest.approx([float(r["loss"]) for r in full_rows],
                                                                   rel=1e-4, abs=1e-6)

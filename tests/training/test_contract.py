"""The method contract, run over every registered method: from a tiny SFT-trained model, a few steps of the
method on tiny preference examples lower its own loss on a fixed batch and change the parameters, and the
objective honours the interface (per-example (B,) losses, float diagnostics, the flags it declares)."""

from __future__ import annotations

import csv
import dataclasses
import math

import pytest
import torch

from benchmark.methods import get_method, method_names
from benchmark.training import collate, forward_candidates, load_checkpoint, train
from benchmark.training.rollouts import example_validity, roll_out, rollout_config
from tests.training.conftest import quick_config, state_dict_of

METHODS = method_names()


def test_every_paper_method_is_registered():
    expected = {"sft", "dpo", "simpo", "orpo", "raddpo", "raddpo-no-tlgd", "raddpo-no-rdrw", "raddpo-no-mlsft"}
    assert expected <= set(METHODS)


def _fixed_batch_loss(method, model, reference, examples, tokenizer, rolled=None,
                      old=None) -> tuple[float, torch.Tensor, dict, torch.Tensor | None]:
    """The method's mean loss on all examples as one batch, with a fresh state, without gradient.

    Methods with rollouts are scored on one fixed set of rollouts (``rolled``), against the log-probs of the
    policy that drew them (``old``; default: this policy's): their PPO-style objective then falls as training
    moves probability towards the rollouts with positive advantage. Also returns the rollout log-probs used.
    """
    state = method.make_state(method.config_cls()) if method.make_state else None
    batch = collate(examples, tokenizer.pad_id)
    if rolled is not None:
        batch = collate(rolled.examples, tokenizer.pad_id).with_rollouts(rolled.rewards)
    with torch.no_grad():
        cand = forward_candidates(model, batch, needs_reference=method.needs_reference,
                                  needs_hidden=method.needs_hidden, reference_model=reference)
        if old is not None:
            cand = dataclasses.replace(cand, old_token_logps=old)
        losses, diagnostics = method.objective(cand, method.config_cls(), state)
    return float(losses.mean()), losses, diagnostics, cand.old_token_logps


def _rollouts(method, policy, tokenizer, examples):
    return roll_out(policy, tokenizer, examples, rollout_config(method, method.config_cls()),
                    example_validity(examples), seed=(0,))


def _mean_reward(rolled) -> float:
    return sum(sum(r[1:]) / len(r[1:]) for r in rolled.rewards) / len(rolled.rewards)


@pytest.mark.parametrize("name", METHODS)
def test_method_contract(name, tmp_path, tokenizer, pref_examples, sft_checkpoint):
    method = get_method(name)
    policy = load_checkpoint(sft_checkpoint)
    reference = load_checkpoint(sft_checkpoint) if method.needs_reference else None
    rolled = None
    if method.needs_rollouts:
        rolled = _rollouts(method, policy, tokenizer, pref_examples)
    before, losses, diagnostics, old = _fixed_batch_loss(method, policy, reference, pref_examples, tokenizer,
                                                         rolled)
    assert losses.shape == (len(pref_examples),) and torch.isfinite(losses).all()
    assert all(isinstance(v, float) and math.isfinite(v) for v in diagnostics.values())
    start = state_dict_of(policy)

    steps = 8
    result = train(method, method.config_cls(), policy, tokenizer, pref_examples,
                   quick_config(steps=steps, batch_size=len(pref_examples), lr=2e-3, warmup_steps=0,
                                schedule="constant"),
                   tmp_path, reference_model=reference)
    after, _, _, _ = _fixed_batch_loss(method, policy.eval(), reference, pref_examples, tokenizer, rolled, old)

    if method.needs_rollouts:
        # A reward-guided objective on fixed rollouts is off-policy after a few steps; what it optimises is the
        # reward of the policy's own rollouts: one of the two must improve.
        gain = _mean_reward(_rollouts(method, policy, tokenizer, pref_examples)) - _mean_reward(rolled)
        assert after < before - 1e-3 or gain > 1e-3, (
            f"{name}: neither the fixed-batch loss fell ({before:.5f} -> {after:.5f}) nor the reward of its "
            f"rollouts rose (gain {gain:.5f})")
    else:
        assert after < before - 1e-3, f"{name}: fixed-batch loss did not fall ({before:.5f} -> {after:.5f})"
    with open(result.loss_curve, newline="") as handle:
        curve = [float(row["loss"]) for row in csv.DictReader(handle)]
    assert len(curve) == steps
    if not method.needs_rollouts:  # a rollout step's loss is taken at ratio 1 on fresh rollouts: no trend
        assert sum(curve[-3:]) / 3 < sum(curve[:3]) / 3
    moved = max((policy.state_dict()[k] - start[k]).abs().max().item() for k in start)
    assert moved > 1e-4, f"{name}: parameters did not change"
    if reference is not None:  # the frozen reference stays frozen
        ref_now = reference.state_dict()
        ref_start = load_checkpoint(sft_checkpoint).state_dict()
        assert all(torch.equal(ref_now[k], ref_start[k]) for k in ref_start)

"""The one trainer: determinism, resume == uninterrupted, NaN guard, accumulation, outputs, refusals."""

from __future__ import annotations

import csv
import dataclasses
import json

import pytest
import torch
from transformers import AutoModelForCausalLM

from benchmark.errors import ArtifactMismatchError, BenchmarkError, ConfigError
from benchmark.methods import get_method
from benchmark.model import SidTokenizer
from benchmark.model.flops import training_flops
from benchmark.training import batch_indices, check_metadata, collate, load_checkpoint, read_metadata, train
from benchmark.training.checkpoint import list_checkpoints
from tests.training.conftest import quick_config, state_dict_of, xs_model

SFT = get_method("sft")


def _run(tokenizer, examples, out, method=SFT, **config):
    model = xs_model(tokenizer)
    result = train(method, method.config_cls(), model, tokenizer, examples, quick_config(**config), out)
    return model, result


def _interrupting(method, at_call: int, error: type[BaseException] = RuntimeError):
    """``method`` whose objective raises at its ``at_call``-th call (1-based): a crash in the middle of a run."""
    calls = [0]

    def objective(batch, config, state):
        calls[0] += 1
        if calls[0] == at_call:
            raise error("simulated crash")
        return method.objective(batch, config, state)

    return dataclasses.replace(method, objective=objective)


def _poisoned(method, at_call: int):
    """``method`` whose losses become NaN at its ``at_call``-th call."""
    calls = [0]

    def objective(batch, config, state):
        calls[0] += 1
        losses, diagnostics = method.objective(batch, config, state)
        return (losses * float("nan") if calls[0] == at_call else losses), diagnostics

    return dataclasses.replace(method, objective=objective)


def _curve(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_two_runs_with_one_seed_give_identical_weights(tmp_path, tokenizer, sft_examples):
    a, ra = _run(tokenizer, sft_examples, tmp_path / "a", steps=5)
    b, rb = _run(tokenizer, sft_examples, tmp_path / "b", steps=5)
    wa, wb = state_dict_of(a), state_dict_of(b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert [r["loss"] for r in _curve(ra.loss_curve)] == [r["loss"] for r in _curve(rb.loss_curve)]
    c, _ = _run(tokenizer, sft_examples, tmp_path / "c", steps=5, seed=1)  # another seed: another data order
    wc = state_dict_of(c)
    assert any(not torch.equal(wc[k], wa[k]) for k in wa)


def test_resume_after_a_crash_gives_the_uninterrupted_weights(tmp_path, tokenizer, pref_examples, sft_checkpoint):
    # raddpo: a stateful method (RDRW quartile tracker) whose state must survive the checkpoint too.
    method = get_method("raddpo")
    config = dict(steps=7, batch_size=4, checkpoint_every=2, lr=1e-3)

    def run(out, m, resume=True):
        model = load_checkpoint(sft_checkpoint)
        result = train(m, method.config_cls(update_every=1, cache_size=8), model, tokenizer, pref_examples,
                       quick_config(**config), out, resume=resume)
        return model, result

    full, full_result = run(tmp_path / "full", method)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run(tmp_path / "resumed", _interrupting(method, at_call=6))
    assert [s for s, _ in list_checkpoints(tmp_path / "resumed")] == [2, 4]  # step 5 was never saved
    resumed, result = run(tmp_path / "resumed", method)
    assert result.resumed_from == 4 and result.steps == 7
    wa, wb = state_dict_of(full), state_dict_of(resumed)
    assert all(torch.equal(wa[k], wb[k]) for k in wa), "resumed weights differ from the uninterrupted run"
    assert _curve(full_result.loss_curve) == _curve(result.loss_curve)
    assert result.tokens == full_result.tokens and result.examples_seen == 28
    assert list_checkpoints(tmp_path / "resumed") == []  # intermediates removed once finished


def test_nan_loss_stops_with_method_and_step_and_keeps_the_last_good_checkpoint(tmp_path, tokenizer, sft_examples):
    out = tmp_path / "run"
    with pytest.raises(BenchmarkError) as info:
        _run(tokenizer, sft_examples, out, method=_poisoned(SFT, at_call=5), steps=8, checkpoint_every=2)
    message = str(info.value)
    assert "'sft'" in message and "step 5 of 8" in message and "step-00000004" in message
    assert [s for s, _ in list_checkpoints(out)] == [2, 4]
    good = load_checkpoint(out / "checkpoints" / "step-00000004")
    assert all(torch.isfinite(p).all() for p in good.parameters())
    assert not (out / "model").exists() and not (out / "train_summary.json").exists()
    assert [int(r["step"]) for r in _curve(out / "loss_curve.csv")] == [1, 2, 3, 4]
    # the run resumes from the good checkpoint once the cause is gone
    _, result = _run(tokenizer, sft_examples, out, steps=8, checkpoint_every=2)
    assert result.resumed_from == 4 and result.steps == 8


def test_nan_before_any_checkpoint_says_so(tmp_path, tokenizer, sft_examples):
    with pytest.raises(BenchmarkError, match=r"step 1 of 3.*none \(no checkpoint"):
        _run(tokenizer, sft_examples, tmp_path, method=_poisoned(SFT, at_call=1), steps=3)


def test_gradient_accumulation_matches_one_big_batch(tmp_path, tokenizer, pref_examples, sft_checkpoint):
    method = get_method("dpo")

    def run(out, **changes):
        model = load_checkpoint(sft_checkpoint)
        train(method, method.config_cls(), model, tokenizer, pref_examples,
              quick_config(steps=3, batch_size=6, lr=1e-3, **changes), out,
              reference_model=load_checkpoint(sft_checkpoint))
        return state_dict_of(model)

    one, three = run(tmp_path / "one"), run(tmp_path / "three", grad_accum=3)
    assert max((one[k] - three[k]).abs().max().item() for k in one) < 1e-5
    assert any(not torch.equal(one[k], load_checkpoint(sft_checkpoint).state_dict()[k]) for k in one)


def test_outputs_are_loadable_and_complete(tmp_path, tokenizer, sft_examples):
    model, result = _run(tokenizer, sft_examples, tmp_path, steps=4)
    loaded = AutoModelForCausalLM.from_pretrained(result.checkpoint_dir)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values()))
    assert SidTokenizer.from_pretrained(result.checkpoint_dir).vocab_size == tokenizer.vocab_size
    rows = _curve(result.loss_curve)
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4]
    assert {"loss", "lr", "grad_norm", "examples", "tokens", "sft"} <= set(rows[0])
    # lr column: warm-up 1 step then cosine over the remaining 3 (hand-computed multipliers 1, 1, 0.75, 0.25)
    assert [float(r["lr"]) for r in rows] == pytest.approx([3e-3, 3e-3, 2.25e-3, 0.75e-3])
    summary = json.loads(result.summary.read_text())
    batch_tokens = [int(r["tokens"]) for r in rows]
    assert summary["tokens"] == result.tokens == batch_tokens[-1] > 0
    assert summary["examples_seen"] == 16 and summary["steps"] == 4 and summary["method"] == "sft"
    expected_flops = expected_tokens = 0
    for step in range(4):
        batch = collate([sft_examples[i] for i in batch_indices(step, 4, len(sft_examples), 0)], tokenizer.pad_id)
        expected_tokens += sum(sft_examples[i].n_tokens for i in batch_indices(step, 4, len(sft_examples), 0))
        expected_flops += training_flops(model, batch.n_tokens, batch.packed.seq_len,
                                         head_tokens=int(batch.packed.token_mask.sum()))
    assert result.tokens == expected_tokens and result.flops == pytest.approx(expected_flops, rel=1e-12)
    assert summary["flops"] == result.flops and summary["wall_seconds"] > 0
    # the numerical environment it ran in: a rebuild under another CPU dispatch level is another model, same key
    assert summary["environment"]["threads"] == torch.get_num_threads()
    assert summary["environment"]["cpu_model"] and "torch_cpu_capability" in summary["environment"]
    assert read_metadata(result.checkpoint_dir)["training"]["step"] == 4


def test_a_finished_run_is_returned_not_retrained(tmp_path, tokenizer, sft_examples):
    _, first = _run(tokenizer, sft_examples, tmp_path, steps=3)
    before = first.checkpoint_dir.joinpath("model.safetensors").stat().st_mtime_ns
    model = xs_model(tokenizer, seed=5)
    again = train(SFT, SFT.config_cls(), model, tokenizer, sft_examples, quick_config(steps=3), tmp_path)
    assert again == first
    assert first.checkpoint_dir.joinpath("model.safetensors").stat().st_mtime_ns == before
    with pytest.raises(ArtifactMismatchError, match="finished run of 'sft' with other settings"):
        train(SFT, SFT.config_cls(), model, tokenizer, sft_examples, quick_config(steps=4), tmp_path)
    replaced = train(SFT, SFT.config_cls(), model, tokenizer, sft_examples, quick_config(steps=4), tmp_path,
                     resume=False)
    assert replaced.steps == 4


def test_resume_refuses_a_checkpoint_of_another_run(tmp_path, tokenizer, sft_examples):
    with pytest.raises(RuntimeError):
        _run(tokenizer, sft_examples, tmp_path, method=_interrupting(SFT, 4), steps=6, checkpoint_every=2)
    with pytest.raises(ArtifactMismatchError, match="belongs to another run"):
        _run(tokenizer, sft_examples, tmp_path, steps=6, checkpoint_every=2, lr=1e-4)


def test_metadata_is_stored_and_checked(tmp_path, tokenizer, sft_examples):
    model = xs_model(tokenizer)
    result = train(SFT, SFT.config_cls(), model, tokenizer, sft_examples, quick_config(steps=1), tmp_path,
                   metadata={"split_hash": "abc", "catalog_hash": "def"})
    assert check_metadata(tmp_path, {"split_hash": "abc", "catalog_hash": "def"})["split_hash"] == "abc"
    with pytest.raises(ArtifactMismatchError, match="another split: its split_hash is abc but .* has xyz"):
        check_metadata(result.checkpoint_dir, {"split_hash": "xyz"})
    with pytest.raises(ArtifactMismatchError, match="records no 'test_hash'"):
        check_metadata(result.checkpoint_dir, {"test_hash": "t"})


def test_flags_are_checked_before_training(tmp_path, tokenizer, sft_examples, pref_examples):
    dpo = get_method("dpo")
    with pytest.raises(ConfigError, match="'dpo' needs a frozen reference model"):
        train(dpo, dpo.config_cls(), xs_model(tokenizer), tokenizer, pref_examples, quick_config(), tmp_path)
    simpo = get_method("simpo")
    with pytest.raises(ConfigError, match=r"'simpo' needs negatives, but \d+ of \d+ examples have none"):
        train(simpo, simpo.config_cls(), xs_model(tokenizer), tokenizer, sft_examples, quick_config(), tmp_path)
    with pytest.raises(ConfigError, match="no training examples"):
        train(SFT, SFT.config_cls(), xs_model(tokenizer), tokenizer, [], quick_config(), tmp_path)


def test_trainer_never_branches_on_the_method_name(tmp_path, tokenizer, sft_examples):
    renamed = dataclasses.replace(SFT, name="my-own-sft")
    model_a, _ = _run(tokenizer, sft_examples, tmp_path / "a", steps=3)
    model_b, _ = _run(tokenizer, sft_examples, tmp_path / "b", method=renamed, steps=3)
    wa, wb = state_dict_of(model_a), state_dict_of(model_b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_reference_forward_is_charged_in_flops(tmp_path, tokenizer, pref_examples, sft_checkpoint):
    # Same batches; DPO adds one reference forward (1/3 of a forward + backward): 4/3 of SFT's FLOPs.
    dpo = get_method("dpo")
    cfg = quick_config(steps=2, lr=1e-4)
    r_sft = train(SFT, SFT.config_cls(), load_checkpoint(sft_checkpoint), tokenizer, pref_examples, cfg,
                  tmp_path / "sft")
    r_dpo = train(dpo, dpo.config_cls(), load_checkpoint(sft_checkpoint), tokenizer, pref_examples, cfg,
                  tmp_path / "dpo", reference_model=load_checkpoint(sft_checkpoint))
    assert r_dpo.tokens == r_sft.tokens
    assert r_dpo.flops / r_sft.flops == pytest.approx(4 / 3, rel=1e-12)

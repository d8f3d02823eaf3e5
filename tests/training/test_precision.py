"""``precision: bf16``: autocast on the CPU (and CUDA) in training and decoding, losses close to fp32, the
checkpoint's precision governs its decoding, and precision is part of a run's identity (fp32 ids unchanged).

Tolerances (measured on the tiny fixtures here; bf16 keeps 8 mantissa bits, ~3 significant digits, but only the
matmuls run in bf16 and log-softmax and the losses are fp32): over 8 SFT steps the per-step loss (summed
token NLL, ~9-13) differs from fp32 by at most 0.0055, relative 6e-4, so the bound is relative 2e-3; over 6 DPO
steps (loss ~0.69) by at most 6e-4, so the bound is 3e-3.
"""

from __future__ import annotations

import copy
import csv
import json
import math
from pathlib import Path

import pandas as pd
import pytest
import torch

from benchmark.artifacts import hash_json
from benchmark.config import from_dict
from benchmark.errors import ConfigError
from benchmark.evaluation import EvalConfig
from benchmark.inference import rank_checkpoint, rank_queries
from benchmark.methods import get_method
from benchmark.precision import PRECISIONS, autocast, checkpoint_precision
from benchmark.training import TrainConfig, load_checkpoint, train
from tests.training.conftest import quick_config, state_dict_of, xs_model

SFT, DPO = get_method("sft"), get_method("dpo")
REPO = Path(__file__).resolve().parents[2]


def _losses(result) -> list[float]:
    with open(result.loss_curve, newline="") as handle:
        return [float(row["loss"]) for row in csv.DictReader(handle)]


def _sft(tokenizer, examples, out, **config):
    model = xs_model(tokenizer)
    return model, train(SFT, SFT.config_cls(), model, tokenizer, examples, quick_config(**config), out)


# ------------------------------------------------------------------------------------------------ config
def test_precision_is_validated_and_fp32_by_default() -> None:
    assert TrainConfig().precision == "fp32"
    assert PRECISIONS == ("fp32", "bf16")
    with pytest.raises(ConfigError, match=r"'precision'.*fp32.*bf16.*'fp16'"):
        TrainConfig(precision="fp16")
    with pytest.raises(ConfigError, match="preference.precision"):
        from_dict(TrainConfig, {"precision": "half"}, "preference.")


def test_autocast_casts_matmuls_to_bf16_on_the_cpu_only_when_asked() -> None:
    layer = torch.nn.Linear(8, 4)
    x = torch.randn(3, 8)
    with autocast("fp32", "cpu"):
        assert layer(x).dtype == torch.float32
    with autocast("bf16", torch.device("cpu")):
        out = layer(x)
        assert out.dtype == torch.bfloat16
        # log-softmax of upcast logits stays fp32 under autocast (what the model code does before every loss)
        assert torch.log_softmax(out.float(), dim=-1).dtype == torch.float32
    assert layer.weight.dtype == torch.float32  # autocast casts per op; the parameters stay fp32
    with pytest.raises(ValueError, match="fp16"):
        autocast("fp16", "cpu")
    with pytest.raises(ValueError, match="'meta'"):
        autocast("bf16", "meta")


# ------------------------------------------------------------------------------------------------ training
def test_bf16_sft_on_cpu_is_finite_close_to_fp32_and_not_identical(tmp_path, tokenizer, sft_examples) -> None:
    model32, fp32 = _sft(tokenizer, sft_examples, tmp_path / "fp32", steps=8)
    model16, bf16 = _sft(tokenizer, sft_examples, tmp_path / "bf16", steps=8, precision="bf16")
    a, b = _losses(fp32), _losses(bf16)
    assert len(a) == len(b) == 8 and all(math.isfinite(v) for v in b)
    assert b[-1] < b[0]  # it learns
    for step, (x, y) in enumerate(zip(a, b), start=1):
        assert abs(x - y) <= 2e-3 * abs(x), (step, x, y)
    # bf16 really ran: the first step's loss (same weights, same batch) already differs in the last digits
    assert a[0] != b[0]
    # the weights, and so the checkpoint, stay fp32
    assert all(p.dtype == torch.float32 for p in model16.parameters())
    assert next(load_checkpoint(bf16.checkpoint_dir).parameters()).dtype == torch.float32
    assert any(not torch.equal(v, state_dict_of(model32)[k]) for k, v in state_dict_of(model16).items())


def test_bf16_training_is_reproducible(tmp_path, tokenizer, sft_examples) -> None:
    a, ra = _sft(tokenizer, sft_examples, tmp_path / "a", steps=3, precision="bf16")
    b, rb = _sft(tokenizer, sft_examples, tmp_path / "b", steps=3, precision="bf16")
    assert _losses(ra) == _losses(rb)
    wa, wb = state_dict_of(a), state_dict_of(b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_bf16_dpo_starts_at_log2_and_stays_close_to_fp32(tmp_path, tokenizer, pref_examples, sft_checkpoint) -> None:
    curves = {}
    for precision in PRECISIONS:
        result = train(DPO, DPO.config_cls(), load_checkpoint(sft_checkpoint), tokenizer, pref_examples,
                       quick_config(steps=6, lr=1e-3, precision=precision), tmp_path / precision,
                       reference_model=load_checkpoint(sft_checkpoint))
        curves[precision] = _losses(result)
    # step 1: policy == reference, and both forwards run under the same autocast, so every margin is exactly 0
    # and the DPO loss -log sigmoid(0) = log 2, in bf16 as in fp32
    assert curves["bf16"][0] == pytest.approx(math.log(2), abs=1e-7)
    assert all(math.isfinite(v) for v in curves["bf16"])
    assert max(abs(x - y) for x, y in zip(curves["fp32"], curves["bf16"])) <= 3e-3
    assert curves["fp32"][1:] != curves["bf16"][1:]


# ------------------------------------------------------------------------------------------------ decoding
def _frame(catalog, n: int = 4) -> pd.DataFrame:
    from tests.training.conftest import tiny_impressions

    rows = tiny_impressions(n=n)
    return pd.DataFrame({"query_id": range(n), "query": rows["query"], "history": rows["history"]})


def test_checkpoint_precision_governs_decoding(tmp_path, tokenizer, sft_examples, catalog) -> None:
    _, fp32 = _sft(tokenizer, sft_examples, tmp_path / "fp32", steps=3)
    _, bf16 = _sft(tokenizer, sft_examples, tmp_path / "bf16", steps=3, precision="bf16")
    assert checkpoint_precision(fp32.checkpoint_dir) == "fp32"
    assert checkpoint_precision(bf16.checkpoint_dir) == "bf16"
    assert checkpoint_precision(tmp_path / "bf16") == "bf16"  # the training output dir resolves to its final model
    bare = tmp_path / "bare"
    load_checkpoint(fp32.checkpoint_dir).save_pretrained(bare)  # no grbench.json: trained elsewhere
    assert checkpoint_precision(bare) == "fp32"

    frame, config = _frame(catalog), EvalConfig(beam_width=8, batch_size=2)
    model = load_checkpoint(bf16.checkpoint_dir)
    at32 = rank_queries(copy.deepcopy(model), tokenizer, catalog, frame, config)
    at16 = rank_queries(copy.deepcopy(model), tokenizer, catalog, frame, config, precision="bf16")
    stored = rank_checkpoint(bf16.checkpoint_dir, tokenizer, catalog, frame, config)
    assert stored.sids == at16.sids and stored.scores == at16.scores  # the bf16 checkpoint is decoded at bf16
    assert at16.scores != at32.scores  # bf16 really ran
    for s16, s32 in zip(at16.scores, at32.scores):  # beam scores are fp32 log-probs of a bf16 forward: close
        assert abs(s16[0] - s32[0]) < 0.05
    plain = rank_checkpoint(fp32.checkpoint_dir, tokenizer, catalog, frame, config)
    direct = rank_queries(load_checkpoint(fp32.checkpoint_dir), tokenizer, catalog, frame, config)
    assert plain.scores == direct.scores  # an fp32 checkpoint decodes exactly as before


# ------------------------------------------------------------------------------------------------ identity
def _committed_run() -> dict:
    runs = sorted((REPO / "results" / "quick" / "runs").glob("table1-*/run.json"))
    if not runs:
        pytest.skip("no committed results/quick table1 run")
    return json.loads(runs[0].read_text(encoding="utf-8"))


def test_committed_fp32_run_keeps_its_key_and_bf16_gets_another() -> None:
    from benchmark.suite.matrix import plain_config

    run = _committed_run()
    config = run["config"]
    for stage in ("sft", "preference"):  # the stored train settings resolve to themselves: fp32 hashes as before
        assert config[stage]["precision"] == "fp32"
        assert plain_config(from_dict(TrainConfig, config[stage], f"{stage}.")) == config[stage]
    assert hash_json(config) == run["compute_key"]
    run_id = f"{run['experiment']}-{run['method']}-seed{run['seed']}-{hash_json([run['experiment'], hash_json(config)], 10)}"
    assert run_id == run["run_id"]
    bf16 = {**config, "sft": {**config["sft"], "precision": "bf16"},
            "preference": {**config["preference"], "precision": "bf16"}}
    assert hash_json(bf16) != run["compute_key"]


def test_precision_changes_run_id_and_cache_keys_only_when_bf16() -> None:
    from benchmark.suite.matrix import spec_for
    from benchmark.suite.profiles import load_profile

    profile = load_profile("smoke", [])
    base = spec_for(profile, "table1", "dpo", 0)
    explicit = spec_for(profile, "table1", "dpo", 0, sft={**base.sft, "precision": "fp32"},
                        preference={**base.preference, "precision": "fp32"})
    bf16 = spec_for(profile, "table1", "dpo", 0, sft={**base.sft, "precision": "bf16"},
                    preference={**base.preference, "precision": "bf16"})
    assert explicit.run_id == base.run_id and explicit.compute_key == base.compute_key
    assert bf16.run_id != base.run_id
    assert hash_json(bf16.sft_config()) != hash_json(base.sft_config())  # the SFT checkpoint is not shared
    assert hash_json(bf16.training_config()) != hash_json(base.training_config())
    differing = {k for k, v in bf16.compute_config().items() if base.compute_config()[k] != v}
    assert differing == {"sft", "preference"}


# ------------------------------------------------------------------------------------------------ GPU
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_bf16_training_and_decoding(tmp_path, tokenizer, sft_examples, catalog) -> None:
    model, result = _sft(tokenizer, sft_examples, tmp_path / "bf16", steps=4, precision="bf16")
    assert next(model.parameters()).device.type == "cuda"  # the trainer trains on the GPU where there is one
    assert json.loads(result.summary.read_text())["device"].startswith("cuda")
    losses = _losses(result)
    assert all(math.isfinite(v) for v in losses) and losses[-1] < losses[0]
    _, fp32 = _sft(tokenizer, sft_examples, tmp_path / "fp32", steps=4)
    for x, y in zip(_losses(fp32), losses):
        assert abs(x - y) <= 5e-3 * abs(x)
    frame, config = _frame(catalog), EvalConfig(beam_width=8, batch_size=2)
    on_gpu = rank_checkpoint(result.checkpoint_dir, tokenizer, catalog, frame, config)  # decode_device(): CUDA
    on_cpu = rank_queries(load_checkpoint(result.checkpoint_dir), tokenizer, catalog, frame, config,
                          precision="bf16", device="cpu")
    assert len(on_gpu.sids) == len(frame) and all(len(b) == 8 for b in on_gpu.sids)
    for g, c in zip(on_gpu.scores, on_cpu.scores):
        assert abs(g[0] - c[0]) < 0.05


def test_bf16_rollout_method_trains_on_cpu(tmp_path, tokenizer, pref_examples, sft_checkpoint) -> None:
    """GRPO decodes its rollouts inside the step: under bf16 autocast too, and its losses stay finite."""
    grpo = get_method("grpo")
    reference = load_checkpoint(sft_checkpoint) if grpo.needs_reference else None
    result = train(grpo, grpo.config_cls(), load_checkpoint(sft_checkpoint), tokenizer, pref_examples,
                   quick_config(steps=2, lr=1e-4, precision="bf16"), tmp_path / "grpo", reference_model=reference)
    assert result.rollout_tokens > 0 and all(math.isfinite(v) for v in _losses(result))

"""``grbench perf decode`` / ``grbench perf train`` on a tiny setting: the commands run, report the fields
the closing notes quote, and the decode comparison finds our beams identical to ``generate``'s; fp32 and bf16
are measured side by side and printed as one table."""

from __future__ import annotations

import json

import pytest
import torch

from benchmark.cli import main

TINY = ["--size", "xs", "--threads", "1", "--words", "50", "--codebook", "8", "--catalog-size", "60",
        "--history", "3", "--json"]  # fmt: skip


def test_perf_decode_tiny(capsys) -> None:
    assert main(["perf", "decode", *TINY, "--beam-width", "8", "--queries", "3", "--batch-size", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["setup"]["beam_width"] == 8 and report["setup"]["queries"] == 3
    for mode in ("unconstrained", "constrained"):
        result = report["modes"][mode]
        assert result["identical"], result
        assert result["speedup"] > 0 and result["ours_ms_per_query"] > 0


def test_perf_train_tiny(capsys) -> None:
    args = [
        "perf",
        "train",
        *TINY,
        "--candidates",
        "4",
        "--batch",
        "2",
        "--batch-candidates",
        "3",
        "--steps",
        "1",
        "--reps",
        "1",
    ]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    packing, throughput = report["packing"], report["throughput"]
    assert packing["max_abs_logp_diff"] < 1e-4
    assert packing["packed_tokens"] < packing["separate_tokens"]
    limit = packing["limit"]  # measured in the same interleaved loop; load changes the values, not these relations
    assert limit["token_ratio"] == pytest.approx(packing["separate_tokens"] / packing["packed_tokens"])
    assert limit["fixed_ms"] >= 0 and limit["per_token_ms"] >= 0 and 0 <= limit["fixed_share_of_packed"] <= 1
    assert limit["single_candidate_ms"] > 0
    assert throughput["tokens_per_second"] > 0 and 0 < throughput["fraction_of_peak"]
    assert throughput["matmul_peak_flops_per_second"] > 0


def test_perf_text_output(capsys) -> None:
    args = ["perf", "decode", *TINY[:-1], "--beam-width", "4", "--queries", "1"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "speed-up" in out and "unconstrained" in out and "constrained" in out


def test_compare_beams_near_ties() -> None:
    from benchmark.decoding import Beam
    from benchmark.perf import compare_beams

    ours = [[Beam((1, 2), -1.0), Beam((3, 4), -1.00002), Beam((5, 6), -3.0)]]
    exact = [[((1, 2), -1.0), ((3, 4), -1.00002), ((5, 6), -3.0)]]
    swapped = [[((3, 4), -1.00001), ((1, 2), -1.00001), ((5, 6), -3.0)]]  # a near-tie swapped
    different = [[((1, 2), -1.0), ((5, 6), -1.5), ((3, 4), -3.0)]]  # a real disagreement
    assert compare_beams(ours, exact)["identical"]
    result = compare_beams(ours, swapped)
    assert not result["identical"] and result["identical_up_to_near_ties"]
    result = compare_beams(ours, different)
    assert not result["identical"] and not result["identical_up_to_near_ties"]
    assert abs(result["max_abs_score_diff"] - 1.99998) < 1e-9


def test_perf_cli_size_choices_match_the_model_ladder() -> None:
    from benchmark.commands.perf import SIZES
    from benchmark.model import MODEL_SIZES

    assert tuple(MODEL_SIZES) == SIZES


def test_perf_decode_precisions_side_by_side(capsys) -> None:
    args = ["perf", "decode", *TINY, "--beam-width", "8", "--queries", "3", "--batch-size", "2"]
    assert main(args) == 0  # default --precisions fp32,bf16
    report = json.loads(capsys.readouterr().out)
    section = report["precision"]
    assert section["baseline"] == "fp32" and section["mode"] == "unconstrained"
    assert report["setup"]["precisions"] == ["fp32", "bf16"]
    fp32, bf16 = section["by_precision"]["fp32"], section["by_precision"]["bf16"]
    # the baseline against itself: speed-up 1, the same beams
    assert fp32["speedup_vs_baseline"] == 1.0 and fp32["top1_agreement"] == 1.0 and fp32["beam_overlap"] == 1.0
    assert fp32["max_abs_score_diff"] == 0.0
    assert bf16["speedup_vs_baseline"] == pytest.approx(fp32["seconds"] / bf16["seconds"])
    assert bf16["ms_per_query"] == pytest.approx(1000 * bf16["seconds"] / 3)
    # bf16 really ran (other scores), and its beams are close to fp32's
    assert 0 < bf16["max_abs_score_diff"] < 0.5 and 0.0 <= bf16["beam_overlap"] <= 1.0


def test_perf_decode_fp32_only_has_no_precision_section(capsys) -> None:
    args = ["perf", "decode", *TINY, "--beam-width", "4", "--queries", "1", "--precisions", "fp32"]
    assert main(args) == 0
    assert "precision" not in json.loads(capsys.readouterr().out)


def test_perf_train_precisions_side_by_side(capsys) -> None:
    args = ["perf", "train", *TINY[:-1], "--candidates", "4", "--batch", "2", "--batch-candidates", "3",
            "--steps", "1", "--reps", "1"]
    assert main(args) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("precision") and "(a) packed ms" in line)
    assert lines[header + 1].split()[0] == "fp32" and lines[header + 2].split()[0] == "bf16"
    assert "speed-up" in lines[header] and "% peak" in lines[header]
    fp32_row = lines[header + 1].split()
    assert fp32_row[4] == "1.00x" and fp32_row[7] == "1.00x"  # the baseline's speed-ups against itself


def test_perf_train_precision_report(capsys) -> None:
    args = ["perf", "train", *TINY, "--candidates", "4", "--batch", "2", "--batch-candidates", "3",
            "--steps", "1", "--reps", "1", "--precisions", "bf16,fp32"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    section = report["precision"]
    assert section["baseline"] == "bf16" and report["setup"]["precisions"] == ["bf16", "fp32"]
    bf16, fp32 = section["by_precision"]["bf16"], section["by_precision"]["fp32"]
    # "packing"/"throughput" are the baseline's
    assert report["packing"]["packed_ms"] == bf16["packed_ms"]
    assert report["throughput"]["matmul_peak_dtype"] == "bf16"
    assert bf16["step_speedup_vs_baseline"] == 1.0 and bf16["max_abs_logp_diff_vs_baseline"] == 0.0
    assert fp32["step_speedup_vs_baseline"] == pytest.approx(bf16["step_seconds"] / fp32["step_seconds"])
    assert fp32["packing_speedup"] == pytest.approx(fp32["separate_ms"] / fp32["packed_ms"])
    # one packed forward at bf16 vs fp32: different, close log-probs; packed == separate at fp32
    assert 0 < fp32["max_abs_logp_diff_vs_baseline"] < 0.1
    assert fp32["packing_max_abs_logp_diff"] < 1e-4
    for r in (bf16, fp32):
        assert r["matmul_peak_flops_per_second"] > 0 and 0 < r["fraction_of_peak"]


@pytest.mark.parametrize("bad", ["fp16", "fp32,fp32", ""])
def test_perf_rejects_bad_precisions(bad, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["perf", "train", *TINY, "--precisions", bad])
    assert "--precisions" in capsys.readouterr().err


def test_perf_cli_precisions_match_the_setting() -> None:
    from benchmark.commands.perf import PRECISIONS as CLI_PRECISIONS
    from benchmark.precision import PRECISIONS

    assert CLI_PRECISIONS == PRECISIONS


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_perf_on_cuda_bf16(capsys) -> None:
    cuda = [*TINY, "--device", "cuda"]
    assert main(["perf", "decode", *cuda, "--beam-width", "8", "--queries", "3", "--batch-size", "2"]) == 0
    decode = json.loads(capsys.readouterr().out)
    # GPU kernels differ between our search and generate's: the shared beams' scores agree closely, not bitwise
    assert decode["setup"]["device"].startswith("cuda") and decode["modes"]["unconstrained"]["max_abs_score_diff"] < 1e-3
    assert decode["precision"]["by_precision"]["bf16"]["max_abs_score_diff"] < 0.5
    assert main(["perf", "train", *cuda, "--candidates", "4", "--batch", "2", "--batch-candidates", "3",
                 "--steps", "1", "--reps", "1"]) == 0
    train = json.loads(capsys.readouterr().out)
    assert train["setup"]["device"].startswith("cuda") and train["precision"]["by_precision"]["bf16"]["step_seconds"] > 0


def test_packing_limit_by_hand() -> None:
    """benchmark.perf.packing_limit's docstring examples."""
    from benchmark.perf import packing_limit

    lim = packing_limit(40.0, 67.0, 300.0, 38, 98, 640)
    assert lim["per_token_ms"] == pytest.approx(0.45) and lim["fixed_ms"] == pytest.approx(22.9)
    assert lim["fixed_share_of_packed"] == pytest.approx(22.9 / 67)
    assert lim["line_model_speedup"] == pytest.approx((22.9 + 0.45 * 640) / 67)  # 4.64x
    assert lim["token_ratio"] == pytest.approx(640 / 98)  # 6.53x
    assert lim["speedup_without_fixed_cost"] == pytest.approx((300 - 22.9) / (67 - 22.9))
    assert lim["separate_per_token_ms"] == pytest.approx((300 - 22.9) / 640)
    assert lim["per_token_cost_ratio"] == pytest.approx(0.45 / ((300 - 22.9) / 640))
    # the decomposition is exact: fixed cost, per-token costs and token counts give the measured speed-up
    measured = (lim["fixed_ms"] + lim["separate_per_token_ms"] * 640) / (lim["fixed_ms"] + lim["per_token_ms"] * 98)
    assert measured == pytest.approx(300 / 67)
    none = packing_limit(10.0, 30.0, 100.0, 40, 100, 640)
    assert none["fixed_ms"] == 0.0 and none["per_token_ms"] == pytest.approx(1 / 3)  # a negative intercept: 0
    assert none["line_model_speedup"] == pytest.approx(6.4)  # no fixed cost: the token ratio
    busy = packing_limit(50.0, 30.0, 100.0, 40, 100, 640)  # the single candidate timed slower than the packed step
    assert busy["per_token_ms"] == 0.0 and busy["fixed_ms"] == 30.0 and busy["fixed_share_of_packed"] == 1.0

"""``grbench perf decode`` / ``grbench perf train`` on a tiny setting: the commands run, report the fields
the closing notes quote, and the decode comparison finds our beams identical to ``generate``'s."""

from __future__ import annotations

import json

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

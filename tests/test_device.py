"""``--device`` / ``GRBENCH_DEVICE`` (benchmark.device): parsed and checked up front, resolved per rank, exported to
child processes and Ray tasks; ``auto`` keeps the old rule (a GPU when torch sees one). The CUDA paths are
checked with torch's CUDA queries patched (a GPU machine runs the real ones: tests/training/test_precision.py,
tests/decoding/test_perf_command.py and the last test here)."""

from __future__ import annotations

import json

import pytest
import torch

from benchmark import device
from benchmark.cli import main
from benchmark.errors import ConfigError
from benchmark.training.distributed import DistContext

NO_GPU = not torch.cuda.is_available()


@pytest.mark.parametrize("text, expected", [
    (None, "auto"), ("", "auto"), ("AUTO", "auto"), (" cpu ", "cpu"), ("cuda", "cuda"), ("cuda:1", "cuda:1"),
])
def test_parse_accepts_the_documented_values(text, expected) -> None:
    assert device.parse_device(text, "--device") == expected


@pytest.mark.parametrize("text", ["gpu", "cuda:", "cuda:x", "mps", "cpu:0", "cuda:-1"])
def test_parse_names_the_option_and_the_choices(text) -> None:
    with pytest.raises(ConfigError, match=rf"--device must be 'auto', 'cpu', 'cuda' or 'cuda:N'. Got '{text}'"):
        device.parse_device(text, "--device")


@pytest.fixture
def two_gpus(monkeypatch):
    """torch reports two CUDA devices (nothing is allocated on them: torch.device objects only)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


def test_resolve_per_rank_with_gpus(two_gpus) -> None:
    assert device.resolve(0, "auto") == torch.device("cuda", 0)
    assert device.resolve(3, "cuda") == torch.device("cuda", 1)  # rank 3 of a 2-GPU node: local_rank % count
    assert device.resolve(0, "cuda:1") == torch.device("cuda", 1)
    assert device.resolve(1, "cpu") == torch.device("cpu")  # --device cpu keeps a GPU machine on the CPU
    with pytest.raises(ConfigError, match=r"cuda:2: torch sees 2 CUDA device\(s\), numbered 0 to 1"):
        device.resolve(0, "cuda:2")


def test_resolve_without_gpus(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert device.resolve(0, "auto") == torch.device("cpu") == device.resolve(0, "cpu")
    with pytest.raises(ConfigError, match=r"\$GRBENCH_DEVICE cuda: torch sees no CUDA device"):
        device.resolve(0, "cuda")


def test_the_rank_context_follows_the_environment(monkeypatch, two_gpus) -> None:
    monkeypatch.setenv(device.ENV, "cpu")
    assert DistContext(local_rank=1).device() == torch.device("cpu")
    monkeypatch.setenv(device.ENV, "auto")
    assert DistContext(local_rank=1).device() == torch.device("cuda", 1)
    monkeypatch.delenv(device.ENV)
    assert DistContext().device() == torch.device("cuda", 0)  # unset: auto, the rule before the option existed


def test_configure_exports_the_choice_for_children(monkeypatch) -> None:
    monkeypatch.setenv(device.ENV, "auto")  # restored after the test (configure writes it)
    assert device.configure("cpu") == "cpu" and device.chosen() == "cpu"
    monkeypatch.setenv(device.ENV, "Auto")
    assert device.configure(None) == "auto"  # the environment, normalised
    monkeypatch.setenv(device.ENV, "tpu")
    with pytest.raises(ConfigError, match=r"\$GRBENCH_DEVICE must be 'auto', 'cpu', 'cuda' or 'cuda:N'"):
        device.configure(None)


def test_ray_tasks_get_the_drivers_choice(monkeypatch) -> None:
    from benchmark.suite.executors import task_environment

    monkeypatch.setenv(device.ENV, "cpu")
    assert task_environment("off", 2)[device.ENV] == "cpu"


@pytest.mark.skipif(not NO_GPU, reason="checks the refusal on a machine without a GPU")
def test_cuda_without_a_gpu_fails_up_front(monkeypatch, capsys, tmp_path) -> None:
    monkeypatch.setenv(device.ENV, "auto")  # restored after the test (configure writes it)
    code = main(["--device", "cuda", "run", "--profile", "smoke", "--only", "table1", "--methods", "sft",
                 "--results", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "grbench run: error: --device cuda: torch sees no CUDA device" in err
    assert "Use --device cpu, or --device auto" in err
    assert not any(tmp_path.iterdir())  # nothing was started
    with pytest.raises(SystemExit) as exc:
        main(["--device", "gpu", "run", "--profile", "smoke", "--dry-run"])
    assert exc.value.code == 2
    assert "--device must be 'auto', 'cpu', 'cuda' or 'cuda:N'. Got 'gpu'" in capsys.readouterr().err


def test_perf_reports_the_device_it_ran_on(monkeypatch, capsys) -> None:
    """``grbench --device cpu perf ...`` (the global option before the command) and ``perf ... --device cpu``
    (the command's own) are the same setting."""
    monkeypatch.setenv(device.ENV, "auto")  # restored after the test (configure writes it)
    tiny = ["--size", "xs", "--words", "50", "--codebook", "8", "--catalog-size", "60", "--history", "3", "--json",
            "--beam-width", "4", "--queries", "2", "--batch-size", "2"]
    assert main(["--threads", "1", "--device", "cpu", "perf", "decode", *tiny]) == 0
    assert json.loads(capsys.readouterr().out)["setup"]["device"] == "cpu"
    assert main(["--threads", "1", "perf", "decode", *tiny, "--device", "cpu"]) == 0
    assert json.loads(capsys.readouterr().out)["setup"]["device"] == "cpu"
    if NO_GPU:  # the command's own --device goes through the same start-up check as the global one
        assert main(["perf", "decode", *tiny, "--device", "cuda"]) == 2
        assert "--device cuda: torch sees no CUDA device" in capsys.readouterr().err


@pytest.mark.skipif(NO_GPU, reason="needs a CUDA device")
def test_a_smoke_run_on_the_gpu_records_it(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(device.ENV, "auto")  # restored after the test (configure writes it)
    assert main(["--device", "cuda", "run", "--profile", "smoke", "--only", "table1", "--methods", "sft-start,raddpo",
                 "--set", "seeds=[0]", "--results", str(tmp_path), "--no-tables"]) == 0
    records = [json.loads(p.read_text()) for p in tmp_path.glob("smoke/runs/*/run.json")]
    assert len(records) == 2
    assert all(r["environment"]["settings"]["device"].startswith("cuda") for r in records)

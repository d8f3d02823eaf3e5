"""Determinism modes: ``apply`` exports what it claims before torch loads, ``active_settings`` reports what is in
force, unknown names are errors, and the recommended mode gives the same bits on the AVX-512 host and an
emulated AVX2 machine at different thread counts (measured by ``grbench perf determinism``; see
``benchmark.determinism_study``)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmark import determinism, determinism_study
from benchmark.registry import UnknownNameError

# The mode the study recommends: bitwise-identical across the emulated machines and thread counts.
RECOMMENDED = "portable"


def _in_subprocess(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code], env=determinism.unpinned_environment(), capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


APPLY_THEN_REPORT = """
import json, os
from benchmark import determinism
determinism.apply({mode!r})
before = determinism.active_settings()
import torch
print(json.dumps({{"before": before, "after": determinism.active_settings(),
                  "env": {{k: os.environ.get(k, "") for k in ("MKL_CBWR", "ATEN_CPU_CAPABILITY",
                                                           "ONEDNN_MAX_CPU_ISA", "GRBENCH_THREADS")}}}}))
"""


def test_apply_exports_the_environment_before_torch_and_active_settings_reports_it():
    out = _in_subprocess(APPLY_THEN_REPORT.format(mode="avx2"))
    assert out["env"] == {"MKL_CBWR": "AVX2,STRICT", "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2",
                          "GRBENCH_THREADS": ""}
    assert "torch_threads" not in out["before"]  # avx2 has no in-process setting: apply did not import torch
    after = out["after"]
    assert after["mode"] == "avx2" and after["env_before_torch"] is True
    assert after["MKL_CBWR"] == "AVX2,STRICT" and after["ATEN_CPU_CAPABILITY"] == "avx2"
    assert after["aten_cpu_capability"] in ("AVX2", "DEFAULT")  # torch read the cap when it loaded
    assert after["deterministic_algorithms"] is False and after["mkldnn_enabled"] is True
    assert all(isinstance(v, (str, bool, int)) for v in after.values())


def test_apply_strict_sets_the_in_process_settings():
    out = _in_subprocess(APPLY_THEN_REPORT.format(mode="strict"))
    assert out["env"]["GRBENCH_THREADS"] == "1"
    for settings in (out["before"], out["after"]):  # strict imports torch itself, after the environment
        assert settings["deterministic_algorithms"] is True
        assert settings["mkldnn_enabled"] is False
        assert settings["torch_threads"] == 1
        assert settings["env_before_torch"] is True


def test_active_settings_without_apply_says_nothing_is_pinned():
    out = _in_subprocess("import json; from benchmark import determinism; "
                         "print(json.dumps(determinism.active_settings()))")
    assert out["mode"] == "" and out["MKL_CBWR"] == "" and out["ATEN_CPU_CAPABILITY"] == ""
    assert out["deterministic_algorithms"] is False


def test_unknown_mode_is_an_error_naming_the_allowed_ones():
    with pytest.raises(UnknownNameError) as excinfo:
        determinism.apply("avx3")
    message = str(excinfo.value)
    assert "'avx3'" in message and "Did you mean 'avx2'" in message
    for name in determinism.mode_names():
        assert name in message


def test_a_mode_may_set_only_known_variables():
    with pytest.raises(ValueError, match="may set only"):
        determinism.register_mode(determinism.Mode("bad", "bad", env=(("MKL_VERBOSE", "1"),)))


def test_a_modes_isa_pin_stays_within_the_machines_cap():
    base = {"PATH": "/bin", "MKL_CBWR": "AUTO", "OMP_NUM_THREADS": "7"}
    avx2 = determinism.get_mode("avx2")
    on_sse = determinism_study.point_environment(avx2, "sse", 2, base)
    assert on_sse["ATEN_CPU_CAPABILITY"] == "default" and on_sse["ONEDNN_MAX_CPU_ISA"] == "SSE41"
    assert on_sse["MKL_CBWR"] == "AVX2,STRICT" and on_sse["OMP_NUM_THREADS"] == "2"
    on_host = determinism_study.point_environment(avx2, "avx512", 2, base)
    assert on_host["ATEN_CPU_CAPABILITY"] == "avx2" and "MKL_ENABLE_INSTRUCTIONS" not in on_host
    off = determinism_study.point_environment(determinism.get_mode("off"), "avx512", 1, base)
    assert "MKL_CBWR" not in off and off["OMP_NUM_THREADS"] == "1"
    pinned = determinism_study.point_environment(determinism.get_mode("strict"), "avx512", 2, base)
    assert pinned["OMP_NUM_THREADS"] == pinned["GRBENCH_THREADS"] == "1"


TINY = {"size": "xs", "sft_steps": 2, "dpo_steps": 1, "batch_size": 4, "queries": 2, "beam_width": 8, "repeats": 1}


@pytest.mark.skipif(not determinism_study.host_supports("avx512"), reason="needs an AVX-512 host to emulate both")
def test_portable_bits_do_not_depend_on_the_isa_or_the_thread_count():
    """What ``grbench perf determinism`` measured, at its smallest (SFT + DPO steps and a beam search):
    ``avx2`` gives the same bits on the AVX-512 host at 1 thread as on an AVX2 machine at 2 threads (1 and 2
    threads agreed in every measurement; 3+ did not), and ``portable`` (avx2 on one thread) the same again
    on the host at 4 threads."""
    host = determinism_study.run_point("avx2", "avx512", 1, TINY)
    other = determinism_study.run_point("avx2", "avx2", 2, TINY)
    pinned = determinism_study.run_point(RECOMMENDED, "avx512", 4, TINY)
    assert {r["settings"]["aten_cpu_capability"] for r in (host, other, pinned)} == {"AVX2"}
    assert (host["threads"], other["threads"], pinned["threads"]) == (1, 2, 1)
    assert host["hashes"] == other["hashes"] == pinned["hashes"]


def test_the_study_does_not_print_and_the_command_explains_itself(capsys):
    """Reports are printed by benchmark/commands/perf.py only (STYLE.md habit 8)."""
    import ast
    import inspect

    from benchmark.cli import main

    tree = ast.parse(inspect.getsource(determinism_study))
    assert not [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "print"]
    with pytest.raises(SystemExit) as exit_info:
        main(["perf", "determinism", "--help"])
    assert exit_info.value.code == 0
    assert "--thread-counts" in capsys.readouterr().out


def test_the_cli_applies_the_mode_and_rejects_an_unknown_one(tmp_path, capsys, monkeypatch) -> None:
    from benchmark.cli import main
    from benchmark.results import provenance

    assert main(["--determinism", "bogus", "tables", "--results", str(tmp_path)]) == 2
    assert "Unknown determinism mode 'bogus'. Available: " in capsys.readouterr().err
    monkeypatch.setenv(determinism.MODE_ENV, "off")
    main(["tables", "--results", str(tmp_path)])
    assert determinism.active_settings()["mode"] == "off"
    assert provenance.environment()["settings"]["determinism"] == "off"  # what run.json records

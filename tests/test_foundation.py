"""Golden behaviour of the shared foundation: config validation, registry, atomic writes."""

from __future__ import annotations

import dataclasses
import json
import os
import stat

import pytest

from benchmark.artifacts import atomic_dir, atomic_write_json, hash_json
from benchmark.cli import COMMAND_MODULES, main
from benchmark.config import ConfigError, apply_overrides, check_number, from_dict, load_config
from benchmark.registry import Registry, UnknownNameError


@dataclasses.dataclass(frozen=True)
class Inner:
    eta: float = 1.0

    def __post_init__(self) -> None:
        check_number("Inner", "eta", self.eta, low=0.0)


@dataclasses.dataclass(frozen=True)
class Outer:
    steps: int = 10
    inner: Inner = dataclasses.field(default_factory=Inner)

    def __post_init__(self) -> None:
        check_number("Outer", "steps", self.steps, low=1, integer=True)


def test_range_error_names_parameter_range_and_value() -> None:
    with pytest.raises(ConfigError, match=r"The 'eta' parameter of Inner must be a float in the range \[0, inf\)\. Got -1 instead\."):
        Inner(eta=-1)


def test_unknown_key_suggests_closest() -> None:
    with pytest.raises(ConfigError, match=r"Unknown configuration key 'inner.etaa'.*Did you mean 'eta'"):
        from_dict(Outer, {"inner": {"etaa": 2}})


def test_dotted_overrides_build_nested_config(tmp_path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("steps: 5\n")
    config = load_config(Outer, path, ["inner.eta=2.5"])
    assert config == Outer(steps=5, inner=Inner(eta=2.5))
    assert apply_overrides({"a": {"b": 1}}, ["a.c=[1, 2]"]) == {"a": {"b": 1, "c": [1, 2]}}
    assert apply_overrides({}, ["lr=5e-3", "name=raddpo"]) == {"lr": 0.005, "name": "raddpo"}


def test_bool_is_not_an_int() -> None:
    with pytest.raises(ConfigError):
        Outer(steps=True)


def test_registry_rejects_duplicates_and_suggests() -> None:
    registry: Registry[int] = Registry("method")
    registry.register("simpo", 1)
    registry.register("dpo", 2)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("dpo", 3)
    with pytest.raises(UnknownNameError, match=r"Did you mean 'simpo'.*Available: dpo, simpo"):
        registry.get("simppo")


def test_atomic_json_and_dir_leave_nothing_on_failure(tmp_path) -> None:
    target = tmp_path / "out.json"
    atomic_write_json(target, {"b": 1, "a": 2})
    assert json.loads(target.read_text()) == {"a": 2, "b": 1}
    with pytest.raises(RuntimeError):
        with atomic_dir(tmp_path / "art") as tmp:
            (tmp / "half").write_text("x")
            raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_atomic_writes_get_the_modes_of_plain_writes(tmp_path) -> None:
    old = os.umask(0o022)
    try:
        atomic_write_json(tmp_path / "run.json", {})
        with atomic_dir(tmp_path / "run") as tmp:
            (tmp / "x").write_text("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "run.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "run").stat().st_mode) == 0o755


def test_hash_is_order_independent() -> None:
    assert hash_json({"a": 1, "b": 2}) == hash_json({"b": 2, "a": 1})
    assert hash_json({"a": 1}) != hash_json({"a": 2})


def test_cli_help_exits_zero(capsys) -> None:
    assert main([]) == 0
    assert "grbench" in capsys.readouterr().out


@pytest.mark.parametrize("command", COMMAND_MODULES)
def test_every_subcommand_explains_itself(command: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: grbench {command}")
    assert len(text.split("options:")[0].splitlines()) > 3, "the help needs a description, not just usage"


def test_publish_refuses_a_directory_without_runs(tmp_path, capsys) -> None:
    assert main(["publish", str(tmp_path / "nowhere"), str(tmp_path / "target")]) == 2
    assert "no runs/ directory here" in capsys.readouterr().err
    assert not (tmp_path / "target").exists()


def test_commands_never_import_the_cli() -> None:
    """cli.py imports the command modules, never the reverse (shared helpers live in commands/options.py)."""
    import ast
    from pathlib import Path

    import benchmark.commands

    offenders = []
    for path in sorted(Path(benchmark.commands.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            if "benchmark.cli" in names:
                offenders.append(f"{path.name}:{node.lineno}")
    assert not offenders, offenders


@pytest.mark.parametrize("module", ["perf", "faultcampaign", "determinism_study", "reproduce"])
def test_measurement_modules_do_not_print(module: str) -> None:
    """The perf measurements return reports; benchmark/commands/perf.py prints them (STYLE.md habit 8)."""
    import ast
    import importlib.util

    source = importlib.util.find_spec(f"benchmark.{module}").origin
    with open(source, encoding="utf-8") as fh:
        tree = ast.parse(fh.read())
    calls = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "print"]
    assert not calls, f"print() in benchmark/{module}.py at lines {calls}"


def test_suite_never_imports_the_leaderboard() -> None:
    """The suite produces runs and the leaderboard consumes them, never the reverse: what both need (e.g.
    which experiments are reference systems) lives in benchmark/results."""
    import ast
    from pathlib import Path

    import benchmark

    paths = sorted((Path(benchmark.__file__).parent / "suite").glob("*.py"))
    assert any(p.name == "runner.py" for p in paths)
    offenders = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            if any(n == "benchmark.leaderboard" or n.startswith("benchmark.leaderboard.") for n in names):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == [], offenders


@pytest.mark.parametrize(
    ("override", "nearest"),
    [("eval.beam_widht=64", "beam_width"), ("methods.dpo.betta=0.1", "beta"), ("sft.stpes=10", "steps"),
     ("model.sise=s", "size")],
)
def test_profile_typo_fails_before_torch_is_imported(override: str, nearest: str) -> None:
    """Validating a profile and its --set overrides needs only the config dataclasses, so a typo fails fast,
    naming the key, without importing torch or transformers (a fresh interpreter: this one has them)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from benchmark.cli import main\n"
        f"rc = main(['run', '--profile', 'quick', '--set', {override!r}, '--dry-run'])\n"
        "heavy = sorted(m for m in ('torch', 'transformers') if m in sys.modules)\n"
        "assert rc == 2, rc\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    key = override.split("=")[0]
    assert f"Unknown configuration key '{key}'" in done.stderr, done.stderr
    assert f"Did you mean '{nearest}'?" in done.stderr, done.stderr

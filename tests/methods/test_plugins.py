"""A researcher's method registered from their own module through GRBENCH_METHOD_MODULES (in a subprocess,
so the global registry of this test session is untouched)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path


def _run(code: str, tmp_path: Path, modules: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "GRBENCH_METHOD_MODULES": modules}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def test_plugin_module_registers_its_method(tmp_path: Path) -> None:
    (tmp_path / "my_method.py").write_text(textwrap.dedent(
        '''
        import dataclasses
        from benchmark.methods import Method, register_method, positive_token_mask
        from baselines.sft import sft_loss


        @dataclasses.dataclass(frozen=True)
        class MyConfig:
            scale: float = 2.0


        def objective(batch, config, state):
            return config.scale * sft_loss(batch.token_logps, positive_token_mask(batch)), {}


        register_method(Method(name="my-sft", description="twice the SFT loss", citation="a test",
                               config_cls=MyConfig, objective=objective, needs_negatives=False))
        '''
    ))
    code = "from benchmark.methods import method_names, get_method; print(method_names()); get_method('my-sft')"
    result = _run(code, tmp_path, "my_method")
    assert result.returncode == 0, result.stderr
    assert "'my-sft'" in result.stdout and "'raddpo'" in result.stdout


def test_missing_plugin_module_is_a_clear_error(tmp_path: Path) -> None:
    code = "from benchmark.methods import get_method; get_method('sft')"
    result = _run(code, tmp_path, "no_such_module")
    assert result.returncode != 0
    assert "Cannot import method module 'no_such_module'" in result.stderr
    assert "GRBENCH_METHOD_MODULES" in result.stderr

"""Package data: what the code reads ships inside the package, so a non-editable install works.

The paper's numbers and the run JSON Schema live in the package (read through ``importlib.resources``);
``results/paper/*.csv`` and ``results/schema/run.schema.json`` are published copies that must not drift.
The wheel test builds and installs the package into a bare directory and runs it from outside the checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from benchmark.results import SCHEMA_PATH
from benchmark.tables.paper import PAPER_DIR

REPO = Path(__file__).resolve().parents[1]
# What the wheel is built from: copied so that setuptools' build/ and egg-info stay out of the checkout.
SOURCES = ("pyproject.toml", "README.md", "benchmark", "baselines", "raddpo")


@pytest.mark.parametrize(
    "packaged, published",
    [
        (PAPER_DIR / "table1.csv", REPO / "results" / "paper" / "table1.csv"),
        (PAPER_DIR / "table2.csv", REPO / "results" / "paper" / "table2.csv"),
        (SCHEMA_PATH, REPO / "results" / "schema" / "run.schema.json"),
    ],
    ids=["table1.csv", "table2.csv", "run.schema.json"],
)
def test_published_copy_is_byte_identical(packaged, published) -> None:
    assert packaged.read_bytes() == published.read_bytes(), (
        f"{published} differs from the packaged {packaged}: edit the packaged file and copy it over"
    )


def build_and_install(source: Path, work: Path) -> Path:
    """Build a wheel of ``source`` with this interpreter (no network, no build isolation); install it bare."""
    tree = work / "src"
    for name in SOURCES:
        if (source / name).is_dir():
            shutil.copytree(source / name, tree / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            tree.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, tree / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    wheels = work / "wheels"
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(wheels), str(tree)],
                   check=True, capture_output=True, text=True, cwd=work)
    (wheel,) = wheels.glob("grbench-*.whl")
    target = work / "target"
    subprocess.run([*pip, "install", "--no-deps", "--no-index", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, text=True, cwd=work)
    return target


INSTALLED_CHECK = textwrap.dedent(
    """
    import json, sys
    from importlib import resources
    sys.path.insert(0, {target!r})
    import benchmark
    from benchmark.cli import main
    code = main(["run", "--profile", "smoke", "--dry-run", "--results", {results!r}])
    from benchmark.results import provenance
    from benchmark.results.schema import schema_errors
    from benchmark.results.reader import load_run
    from benchmark.tables.paper import paper_table1, paper_table2
    run = load_run({run_dir!r})  # validated against the packaged schema
    record = json.loads(open({run_json!r}, encoding="utf-8").read())
    print(json.dumps({{
        "code": code,
        "file": benchmark.__file__,
        "table1": sorted((paper_table1() or {{}})),
        "table2": len(paper_table2() or {{}}),
        "run_id": run.result.run_id,
        "schema_errors": schema_errors(record),
        "revision": provenance.code_revision(),
        "site_assets": sorted(p.name for p in resources.files("benchmark.site").joinpath("static").iterdir()),
    }}))
    """
)


def check_installed(source: Path, work: Path) -> dict:
    """Install ``source`` as a wheel under ``work`` and run the installed copy from outside any checkout."""
    target = build_and_install(source, work)
    run_dir = next((REPO / "results" / "quick-protocol1" / "runs").iterdir())
    outside = work / "elsewhere"
    outside.mkdir()
    script = INSTALLED_CHECK.format(target=str(target), results=str(work / "results"), run_dir=str(run_dir),
                                    run_json=str(run_dir / "run.json"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=outside, env=env,
                          timeout=240)
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert Path(report["file"]).resolve().is_relative_to(target.resolve()), report["file"]
    return report


@pytest.mark.timeout(300)  # ~8 s on a loaded 2-core CPU: not `slow`
def test_installed_wheel_runs_outside_the_checkout(tmp_path) -> None:
    report = check_installed(REPO, tmp_path)
    assert report["code"] == 0
    assert report["table1"] == sorted(
        ["sft", "dpo", "simpo", "orpo", "raddpo", "raddpo-no-tlgd", "raddpo-no-rdrw", "raddpo-no-mlsft"])
    assert report["table2"] == 12
    assert report["schema_errors"] == [] and report["run_id"]
    assert report["revision"] == "unknown"  # no checkout above an installed package
    assert report["site_assets"] == ["site.css", "site.js"]  # the static site's assets ship in the wheel

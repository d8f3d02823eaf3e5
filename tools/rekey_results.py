"""Re-key committed results under the resolved-configuration run key (idempotent; rerun it to check).

Since the run key hashes the resolved configuration (``benchmark.suite.matrix.RunSpec.compute_config``) instead
of the profile's overrides, a committed run is filed under a new compute key and run id. The numbers of a run
do not depend on how its configuration was spelled, only on the values it ran with, so a committed run can be
re-keyed without recomputation exactly when the code defaults it ran with equal today's. This script:

1. rebuilds each committed run's spec from its stored ``config`` (the overrides it was run with) and resolves
   it under the current code;
2. resolves the same spec under the code of the run's recorded ``code_revision`` (``git archive`` of that
   commit into a temporary directory, imported in a subprocess) and refuses to re-key a run whose resolved
   configuration differs there: its numbers could depend on a changed default;
3. for the others, rewrites only run.json (``config`` = the resolved configuration, ``compute_key``,
   ``run_id``, ``hashes.sft_checkpoint_hash`` = the SFT key derived from the spec) and renames the run
   directory; per_query.parquet and rankings.parquet are not touched;
4. replaces old run ids by new ones in the leaderboard acceptance records
   (``results/submissions/*/validated.json``: ``significance.references[].run_ids``) and re-seals them with
   ``seal_record``; nothing else in a record changes (the references are the same runs, byte for byte).

A run whose run.json already satisfies ``compute_key == hash_json(config)`` and lives under its run id is
migrated and left alone, so a second run of the script changes nothing. Re-render tables and the board after:
``grbench tables`` and ``grbench leaderboard``.

Usage: ``python tools/rekey_results.py [--results results] [--dry-run]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

from benchmark.artifacts import atomic_write_json, hash_json
from benchmark.results.schema import schema_errors
from benchmark.suite.matrix import RunSpec

REPO = Path(__file__).resolve().parent.parent
SECTIONS = ("data", "sids", "model", "sft", "preference", "eval", "method_config")
# Where resolve() takes its defaults from: what must be unchanged at a run's code revision.
CONFIG_SOURCES = ("benchmark", "baselines", "raddpo")

# Run in a subprocess with one revision's code first on sys.path: the resolved configuration of each spec under
# that code (the same rule as RunSpec.compute_config, written without it: old revisions lack it).
_RESOLVE_AT_REVISION = r"""
import dataclasses, json, sys, typing
import benchmark
from benchmark.config import from_dict
from benchmark.data.config import DataConfig
from benchmark.evaluation import EvalConfig
from benchmark.methods import get_method
try:
    from benchmark.model.config import ModelConfig  # torch-free home of ModelConfig in later revisions
except ImportError:
    from benchmark.model.factory import ModelConfig
from benchmark.sids.config import SidConfig
from benchmark.training.config import TrainConfig

def plain(obj):
    if dataclasses.is_dataclass(obj):
        hints = typing.get_type_hints(type(obj))
        out = {}
        for f in dataclasses.fields(obj):
            v = plain(getattr(obj, f.name))
            if hints.get(f.name) is float and isinstance(v, int) and not isinstance(v, bool):
                v = float(v)
            out[f.name] = v
        return out
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    return obj

def train(settings, seed, scale=1.0):
    settings = {**settings, "seed": seed}
    config = from_dict(TrainConfig, settings)
    if scale != 1.0:
        config = from_dict(TrainConfig, {**settings, "steps": max(1, round(config.steps * scale))})
    return plain(config)

out = {"benchmark_file": benchmark.__file__, "runs": {}}
for name, s in json.load(sys.stdin).items():
    out["runs"][name] = {
        "data": plain(from_dict(DataConfig, s["data"])),
        "sids": plain(from_dict(SidConfig, s["sids"])),
        "model": plain(from_dict(ModelConfig, s["model"])),
        "sft": train(s["sft"], s["seed"]),
        "preference": train(s["preference"], s["seed"], s["preference_fraction"]),
        "method_config": plain(from_dict(get_method(s["method"]).config_cls, s["method_config"])),
        "eval": plain(from_dict(EvalConfig, s["eval"])),
    }
print(json.dumps(out))
"""


def spec_of(run: dict) -> RunSpec:
    """The spec a committed run was run with, from its stored identity and (unresolved) config."""
    config = run["config"]
    return RunSpec(
        experiment=run["experiment"], method=run["method"], seed=run["seed"], dataset=run["dataset"],
        preference_fraction=config.get("preference_fraction", 1.0), variant=run["variant"],
        cold_start=float((config.get("cold_start") or {}).get("share", 0.0)),  # the sids experiment's cold-start share
        **{k: dict(config.get(k) or {}) for k in SECTIONS},
    )


def is_migrated(path: Path, run: dict) -> bool:
    expected_id = f"{run['experiment']}-{run['method']}-seed{run['seed']}-" + hash_json(
        [run["experiment"], run["compute_key"]], 10)
    return hash_json(run["config"]) == run["compute_key"] and path.name == run["run_id"] == expected_id


def resolved_at(revision: str | None, specs: dict[str, RunSpec]) -> dict[str, dict]:
    """name -> resolved sections of each spec under ``revision``'s code (None: the working tree)."""
    payload = json.dumps({name: {"method": s.method, "seed": s.seed, "preference_fraction": s.preference_fraction,
                                 **{k: getattr(s, k) for k in SECTIONS}} for name, s in specs.items()})
    with tempfile.TemporaryDirectory() as tmp:
        root = REPO
        if revision is not None:
            archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", revision, *CONFIG_SOURCES],
                                     check=True, capture_output=True).stdout
            with tarfile.open(fileobj=BytesIO(archive)) as tar:
                tar.extractall(tmp, filter="data")
            root = Path(tmp)
        env = {**os.environ, "PYTHONPATH": str(root)}
        done = subprocess.run([sys.executable, "-c", _RESOLVE_AT_REVISION], input=payload, text=True, cwd=root,
                              env=env, check=True, capture_output=True)
    out = json.loads(done.stdout)
    if not out["benchmark_file"].startswith(str(root)):
        raise RuntimeError(f"{revision}: imported {out['benchmark_file']}, not the archived code")
    return out["runs"]


def differences(a: object, b: object, where: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in differences(a.get(k, "<absent>"), b.get(k, "<absent>"),
                                                                          f"{where}.{k}" if where else k)]
    return [] if a == b and type(a) is type(b) else [f"{where}: {a!r} -> {b!r}"]


def migrate(results: Path, dry_run: bool = False) -> dict[str, str]:
    """Re-key every committed run under ``results/*/runs`` whose defaults are unchanged; return old -> new id."""
    pending: dict[str, tuple[Path, dict, RunSpec]] = {}
    for path in sorted(results.glob("*/runs/*/run.json")):
        run = json.loads(path.read_text())
        if not is_migrated(path.parent, run):
            pending[f"{path.parent.parent.parent.name}/{path.parent.name}"] = (path.parent, run, spec_of(run))
    by_revision: dict[str, list[str]] = {}
    for name, (_, run, _) in pending.items():
        by_revision.setdefault(run["code_revision"].removesuffix("+dirty"), []).append(name)
    now = resolved_at(None, {n: pending[n][2] for n in pending})
    refused: dict[str, list[str]] = {}
    for revision, names in sorted(by_revision.items()):
        then = resolved_at(revision, {n: pending[n][2] for n in names})
        for name in names:
            diff = differences(then[name], now[name])
            print(f"{name}: resolved at {revision[:10]} vs now: {'identical' if not diff else diff}")
            if diff:
                refused[name] = diff
    renamed: dict[str, str] = {}
    for name, (path, run, spec) in pending.items():
        if name in refused:
            continue
        config = spec.compute_config()
        assert {k: config[k] for k in SECTIONS} == now[name], name  # in-process == subprocess resolution
        sft_key = hash_json({**spec.sft_config(), **{k: run["hashes"][k] for k in
                                                      ("split_hash", "test_hash", "catalog_hash")}})
        new = {**run, "config": config, "compute_key": spec.compute_key, "run_id": spec.run_id,
               "hashes": {**run["hashes"], "sft_checkpoint_hash": sft_key}}
        errors = schema_errors(new)
        if errors:
            raise RuntimeError(f"{name}: {errors}")
        target = path.parent / spec.run_id
        print(f"{name} -> {spec.run_id}")
        renamed[path.name] = spec.run_id
        if dry_run:
            continue
        if target.exists():
            raise RuntimeError(f"{target} exists")
        atomic_write_json(path / "run.json", new)
        path.rename(target)
    if refused:
        print("NOT re-keyed (a default they used changed):", json.dumps(refused, indent=2))
    _update_records(results, renamed, dry_run)
    return renamed


def _update_records(results: Path, renamed: dict[str, str], dry_run: bool) -> None:
    """Old run ids -> new ones in the acceptance records' reference lists, re-sealed; nothing else changes."""
    from benchmark.leaderboard.validate import record_mismatches, seal_record

    for path in sorted(results.glob("submissions/*/validated.json")):
        record = json.loads(path.read_text())
        if record_mismatches(record):
            raise RuntimeError(f"{path} does not match its seal before migration")
        refs = record["significance"]["references"]
        new_refs = [{**r, "run_ids": [renamed.get(i, i) for i in r["run_ids"]]} for r in refs]
        if new_refs == refs:
            continue
        print(f"{path}: reference run ids updated")
        if not dry_run:
            record["significance"] = {**record["significance"], "references": new_refs}
            atomic_write_json(path, seal_record(record))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=REPO / "results")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()
    migrate(args.results, args.dry_run)


if __name__ == "__main__":
    main()

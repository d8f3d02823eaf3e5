"""Checkpoints: an atomic directory per save, loadable by plain ``transformers``.

Layout of a training output directory::

    out_dir/
      checkpoints/step-00000200/    intermediate (removed once the run has finished)
        config.json, model.safetensors, ...   model.save_pretrained
        tokenizer.json, ...                   tokenizer.save_pretrained
        trainer_state.pt                      optimizer, scheduler, RNG, method state, counters, loss curve
        grbench.json                          provenance: split/catalog hashes, method, step, run key
      snapshots/step-00000015/      models kept at the steps a validation curve evaluates (kept after the end)
      model/                        the final model, same files minus trainer_state.pt
      loss_curve.csv                step, loss, lr, grad_norm, examples, tokens, diagnostics...
      train_summary.json            written last: its presence marks a finished run

``trainer_state.pt`` is unpickled with ``weights_only=False`` (it holds numpy RNG states and method state
objects); it is only ever read from directories this code wrote, never from submitted content.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path
from typing import Any

import torch

from benchmark.artifacts import atomic_dir, atomic_write_json
from benchmark.errors import ArtifactMismatchError, BenchmarkError

log = logging.getLogger(__name__)

CHECKPOINTS_DIR = "checkpoints"
SNAPSHOTS_DIR = "snapshots"
FINAL_DIR = "model"
STATE_FILE = "trainer_state.pt"
META_FILE = "grbench.json"
CURVE_FILE = "loss_curve.csv"
SUMMARY_FILE = "train_summary.json"
_STEP_DIR = re.compile(r"^step-(\d{8})$")


def checkpoint_path(out_dir: Path | str, step: int) -> Path:
    return Path(out_dir) / CHECKPOINTS_DIR / f"step-{step:08d}"


def snapshot_path(out_dir: Path | str, step: int) -> Path:
    return Path(out_dir) / SNAPSHOTS_DIR / f"step-{step:08d}"


def list_snapshots(out_dir: Path | str) -> dict[int, Path]:
    """step -> model directory of the complete snapshots of ``out_dir`` (``train(snapshot_steps=...)``)."""
    root = Path(out_dir) / SNAPSHOTS_DIR
    if not root.is_dir():
        return {}
    found = {}
    for child in root.iterdir():
        match = _STEP_DIR.match(child.name)
        if match and (child / "config.json").is_file():
            found[int(match.group(1))] = child
    return dict(sorted(found.items()))


def list_checkpoints(out_dir: Path | str) -> list[tuple[int, Path]]:
    """Complete intermediate checkpoints of ``out_dir``, oldest first (atomic_dir hides partial ones)."""
    root = Path(out_dir) / CHECKPOINTS_DIR
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        match = _STEP_DIR.match(child.name)
        if match and (child / STATE_FILE).is_file():
            found.append((int(match.group(1)), child))
    return sorted(found)


def latest_checkpoint(out_dir: Path | str) -> Path | None:
    found = list_checkpoints(out_dir)
    return found[-1][1] if found else None


def save_model_dir(path: Path | str, model: Any, tokenizer: Any, metadata: dict[str, Any],
                   trainer_state: dict[str, Any] | None = None) -> Path:
    """Write ``model`` (+ tokenizer, metadata, optional trainer state) to ``path`` atomically."""
    with atomic_dir(path) as tmp:
        model.save_pretrained(tmp)
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)
        if trainer_state is not None:
            torch.save(trainer_state, tmp / STATE_FILE)
        atomic_write_json(tmp / META_FILE, metadata)
    return Path(path)


def prune_checkpoints(out_dir: Path | str, keep: int) -> None:
    """Delete all but the ``keep`` most recent intermediate checkpoints."""
    for _, path in list_checkpoints(out_dir)[:-keep]:
        shutil.rmtree(path, ignore_errors=True)


def remove_checkpoints(out_dir: Path | str) -> None:
    shutil.rmtree(Path(out_dir) / CHECKPOINTS_DIR, ignore_errors=True)


def remove_snapshots(out_dir: Path | str) -> None:
    shutil.rmtree(Path(out_dir) / SNAPSHOTS_DIR, ignore_errors=True)


def load_trainer_state(path: Path | str) -> dict[str, Any]:
    return torch.load(Path(path) / STATE_FILE, map_location="cpu", weights_only=False)


def resolve_model_dir(path: Path | str) -> Path:
    """``path`` itself when it holds a saved model, else its ``model/`` (a training output directory)."""
    path = Path(path)
    if (path / "config.json").is_file():
        return path
    if (path / FINAL_DIR / "config.json").is_file():
        return path / FINAL_DIR
    raise BenchmarkError(
        f"{path} is not a checkpoint: expected a save_pretrained directory (config.json) or a training "
        f"output directory with {FINAL_DIR}/config.json."
    )


def read_metadata(path: Path | str) -> dict[str, Any]:
    """The provenance stored beside a checkpoint (split/catalog hashes, method, step); {} when absent."""
    meta = resolve_model_dir(path) / META_FILE
    if not meta.is_file():
        return {}
    return json.loads(meta.read_text(encoding="utf-8"))


def check_metadata(path: Path | str, expected: dict[str, Any]) -> dict[str, Any]:
    """Raise ArtifactMismatchError unless the checkpoint's metadata has every ``expected`` key and value."""
    meta = read_metadata(path)
    for key, value in expected.items():
        if key not in meta:
            raise ArtifactMismatchError(
                f"Checkpoint {path} records no {key!r}, so it cannot be verified against this data split "
                f"(expected {key}={value}). Train it with `grbench train` on this dataset."
            )
        if meta[key] != value:
            raise ArtifactMismatchError(
                f"Checkpoint {path} was built for another split: its {key} is {meta[key]} but this "
                f"dataset/catalog has {value}. Use a checkpoint trained on the same data and SIDs."
            )
    return meta


def load_checkpoint(path: Path | str, device: torch.device | str | None = None) -> torch.nn.Module:
    """A saved model (a ``save_pretrained`` dir or a training output dir), in fp32, eval mode."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(resolve_model_dir(path), dtype=torch.float32)
    if device is not None:
        model.to(device)
    return model.eval()

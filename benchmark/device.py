"""Which torch device a grbench process trains and decodes on.

Precedence: ``--device`` > ``GRBENCH_DEVICE`` > ``auto``.

- ``auto`` (the default) is the rule the suite always had: this rank's CUDA device when torch sees one, else
  the CPU.
- ``cpu`` keeps a machine with a GPU on the CPU (a CPU reference run beside a GPU one, or a GPU another job
  owns).
- ``cuda`` / ``cuda:N`` require a GPU and fail up front, naming the option, when torch sees none, instead of
  training for hours on the CPU without saying so. ``cuda`` under ``torchrun`` means each rank's own device.

The choice is exported as ``GRBENCH_DEVICE``, so child processes (``grbench`` subprocesses, the Ray executor's
tasks, which get it forwarded) decode and train where the driver said. With ``--executor ray`` on a cluster
whose driver has no GPU, leave it at ``auto``: a task then uses the GPUs Ray gives it (``--gpus-per-run``).

The device is not part of any run key, like the thread count: where a run was computed is recorded in its
run.json (``environment``: the CUDA device name and versions when one was used), and a CPU and a GPU run of
one configuration are the same run computed twice (``grbench reproduce`` compares such pairs).
"""

from __future__ import annotations

import argparse
import os
import re
from typing import TYPE_CHECKING

from benchmark.errors import ConfigError

if TYPE_CHECKING:
    import torch

ENV = "GRBENCH_DEVICE"
AUTO = "auto"
_PATTERN = re.compile(r"cpu|cuda|cuda:\d+")


def parse_device(text: object, name: str) -> str:
    """``auto`` (also for unset / empty), ``cpu``, ``cuda`` or ``cuda:N``; anything else is a ConfigError."""
    value = "" if text is None else str(text).strip().lower()
    if value in ("", AUTO):
        return AUTO
    if _PATTERN.fullmatch(value):
        return value
    raise ConfigError(f"{name} must be 'auto', 'cpu', 'cuda' or 'cuda:N'. Got {text!r} instead.")


def option_type(text: str) -> str:
    try:
        return parse_device(text, "--device")
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def add_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--device", type=option_type, default=None, metavar="DEVICE",
        help=f"where to train and decode: '{AUTO}' (a GPU when torch sees one, else the CPU), 'cpu', 'cuda' or "
             f"'cuda:N' (fails up front without a GPU). Default: ${ENV}, else '{AUTO}'. Not part of any run key; "
             "recorded in run.json",
    )


def chosen() -> str:
    """The choice in force in this process (``GRBENCH_DEVICE``, else ``auto``)."""
    return parse_device(os.environ.get(ENV), f"${ENV}")


def configure(option: str | None = None) -> str:
    """Called once at CLI start-up: validate ``--device`` (or ``GRBENCH_DEVICE``), check that a requested GPU
    exists, and export the choice for child processes. Returns it."""
    source = "--device" if option is not None else f"${ENV}"
    choice = parse_device(option if option is not None else os.environ.get(ENV), source)
    if choice not in (AUTO, "cpu"):
        check_cuda(choice, source)
    os.environ[ENV] = choice
    return choice


def check_cuda(choice: str, source: str) -> None:
    """ConfigError unless torch sees a CUDA device (and device N exists, for ``cuda:N``)."""
    import torch

    if not torch.cuda.is_available():
        raise ConfigError(
            f"{source} {choice}: torch sees no CUDA device (torch.cuda.is_available() is False; torch "
            f"{torch.__version__}, built for CUDA {torch.version.cuda or 'none: a CPU-only build'}). "
            f"Use --device cpu, or --device {AUTO} to take a GPU only when there is one."
        )
    if ":" in choice:
        index, count = int(choice.split(":", 1)[1]), torch.cuda.device_count()
        if index >= count:
            raise ConfigError(f"{source} {choice}: torch sees {count} CUDA device(s), numbered 0 to {count - 1}.")


def resolve(local_rank: int = 0, choice: str | None = None) -> torch.device:
    """The torch device of ``choice`` (default: :func:`chosen`) for the rank with ``local_rank``."""
    import torch

    choice = chosen() if choice is None else choice
    if choice == "cpu" or (choice == AUTO and not torch.cuda.is_available()):
        return torch.device("cpu")
    if choice != AUTO:
        check_cuda(choice, f"${ENV}")
    if ":" in choice:
        return torch.device(choice)
    return torch.device("cuda", local_rank % torch.cuda.device_count())

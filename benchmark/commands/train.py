"""``grbench train``: train one method on one dataset with the one trainer.

    grbench train --dataset synthetic --method sft --out runs/sft --steps 200
    grbench train --dataset synthetic --method dpo --init runs/sft --out runs/dpo --lr 1e-4 --set method.beta=0.5

Positive-only methods (``sft``) train on the ``train`` impressions, methods that need negatives on the
``preference`` impressions (``--stage`` overrides). A preference method starts from ``--init`` (the SFT
checkpoint), which is also its frozen reference model when the method has one. ``--init`` must have been
trained on the same data split and SID catalog (checked through the hashes stored in the checkpoint).
Runs under ``torchrun`` use every process (gloo on CPU, NCCL on GPU).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from benchmark.commands.options import add_data_options
from benchmark.config import apply_overrides, from_dict, load_yaml
from benchmark.errors import ConfigError

log = logging.getLogger(__name__)

SECTIONS = ("train", "method", "data", "sids", "model")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train one method (SFT or a preference method) on a dataset",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dataset", required=True, help="dataset name (see `grbench data list`)")
    parser.add_argument("--method", required=True, help="registered method: sft, dpo, simpo, orpo, raddpo, ...")
    parser.add_argument("--init", default=None, metavar="CHECKPOINT",
                        help="start from this checkpoint (a training output dir or a save_pretrained dir); "
                             "also the frozen reference of methods that need one")
    parser.add_argument("--out", required=True, help="output directory (resumed if it holds an unfinished run)")
    parser.add_argument("--steps", type=int, default=None, help="optimizer steps (the budget)")
    parser.add_argument("--batch-size", type=int, default=None, help="examples (impressions) per optimizer step")
    parser.add_argument("--lr", type=float, default=None, help="peak learning rate")
    parser.add_argument("--seed", type=int, default=0, help="training seed: data order and model init (default 0)")
    parser.add_argument("--size", default="s", help="model size of a model trained from scratch: xs, s, m, l")
    parser.add_argument("--stage", choices=("auto", "sft", "preference"), default="auto",
                        help="impressions to train on: auto = `train` for positive-only methods, "
                             "`preference` for methods that need negatives")
    parser.add_argument("--config", default=None, metavar="YAML",
                        help="YAML file with optional sections train, method, data, sids, model")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a setting: bare keys go to the train section (warmup_steps=10), others name "
                             "their section (method.beta=0.5, data.clicks.eta=2.0, model.attn_implementation=eager); values are YAML (write floats with a dot: 1.0e-4)")
    parser.add_argument("--no-resume", action="store_true", help="discard what --out holds and start again")
    add_data_options(parser)
    parser.set_defaults(func=run)


def _sections(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    data = load_yaml(args.config) if args.config else {}
    unknown = [k for k in data if k not in SECTIONS]
    if unknown:
        raise ConfigError(f"Unknown section {unknown[0]!r} in {args.config}. Allowed sections: {', '.join(SECTIONS)}.")
    overrides = [o if o.split("=", 1)[0].split(".", 1)[0] in SECTIONS else f"train.{o}" for o in args.overrides]
    merged = apply_overrides(data, overrides)
    sections = {}
    for name in SECTIONS:
        value = merged.get(name) or {}
        if not isinstance(value, dict):
            raise ConfigError(
                f"The {name!r} section must be a mapping of settings (key: value). Got {value!r} instead."
            )
        sections[name] = dict(value)
    for flag, key in ((args.steps, "steps"), (args.batch_size, "batch_size"), (args.lr, "lr")):
        if flag is not None:
            sections["train"][key] = flag
    sections["train"]["seed"] = args.seed
    return sections


def run(args: argparse.Namespace) -> int:
    from benchmark.training.distributed import init_from_env, shutdown

    ctx = init_from_env()
    try:
        return _train(args, ctx)
    finally:
        shutdown()


def _train(args: argparse.Namespace, ctx: Any) -> int:
    from benchmark.data import DataConfig
    from benchmark.methods import get_method
    from benchmark.model import ModelConfig, SidTokenizer, build_model
    from benchmark.sids import SidConfig
    from benchmark.suite.stages import prepare_data, train_stage
    from benchmark.training import TrainConfig, check_metadata, load_checkpoint, read_metadata
    from benchmark.training.checkpoint import resolve_model_dir

    # Every setting is validated before any data is built or anything is trained.
    sections = _sections(args)
    method = get_method(args.method)
    method_config = from_dict(method.config_cls, sections["method"], "method.")
    train_config = from_dict(TrainConfig, sections["train"], "train.")
    from_dict(DataConfig, sections["data"], "data.")  # built below by the prepare stage
    from_dict(SidConfig, sections["sids"], "sids.")
    # Used only for a model trained from scratch, but a bad value is an error either way.
    model_config = from_dict(ModelConfig, {"size": args.size, **sections["model"]}, "model.")
    if method.needs_reference and not args.init:
        raise ConfigError(
            f"Method {method.name!r} needs --init CHECKPOINT: the SFT checkpoint it starts from is also its "
            f"frozen reference model."
        )

    # The suite's prepare stage: under torchrun one rank builds the split and SIDs under the cache key's lock,
    # the others wait and load them.
    prepared = prepare_data(args.dataset, sections["data"], sections["sids"], args.data_dir)
    if args.init:
        init_dir = resolve_model_dir(args.init)
        check_metadata(init_dir, prepared.checked_hashes)  # ArtifactMismatchError for another split / catalog
        tokenizer = SidTokenizer.from_pretrained(init_dir)
        model = load_checkpoint(init_dir)
        model_size = str(read_metadata(init_dir).get("model_size", "unknown"))
    else:
        tokenizer = prepared.tokenizer
        model = build_model(model_config, tokenizer, seed=args.seed)
        model_size = model_config.size
    reference = load_checkpoint(init_dir) if method.needs_reference else None

    stage = args.stage if args.stage != "auto" else ("preference" if method.needs_negatives else "sft")
    result = train_stage(
        method, method_config, model, prepared, stage, train_config, Path(args.out),
        metadata=prepared.metadata(model_size, stage=stage, init=str(args.init) if args.init else None),
        tokenizer=tokenizer, reference_model=reference, resume=not args.no_resume,
    )
    if ctx.is_main:
        n_examples = json.loads(result.summary.read_text(encoding="utf-8"))["n_examples"]
        sys.stdout.write(
            f"trained {method.name} on {args.dataset} ({stage}, {n_examples} examples): {result.steps} steps, "
            f"{result.examples_seen} examples seen, {result.tokens:,} tokens, {result.flops:.3e} FLOPs, "
            f"{result.wall_seconds:.1f} s, final loss {result.final_loss:.4f}\n"
            f"checkpoint: {result.checkpoint_dir}\nloss curve: {result.loss_curve}\n"
        )
    return 0

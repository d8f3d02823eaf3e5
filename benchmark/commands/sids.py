"""``grbench sids``: build Semantic IDs for a dataset and report their statistics (DESIGN.md section 4)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from benchmark.commands.options import add_data_options

log = logging.getLogger(__name__)

HELP = """\
Item text -> embeddings (all-MiniLM-L6-v2, bundled) -> RQ-KMeans Semantic IDs, cached per dataset split.

  grbench sids build amazon18-scientific --data-dir ../shared/data
  grbench sids build amazon18-games --set codebook_sizes=[512,256,128] --set kmeans_iters=40
  grbench sids stats amazon18-scientific --json

--set keys (SidConfig): levels, codebook_sizes, capacity_per_item, seed, kmeans_iters, encoder (a Hugging Face
id, or "cooccurrence" for datasets without item text), pooling (mean|cls), max_length, batch_size,
cooccurrence_dim. The dataset is built (or loaded from the cache) with its default configuration.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sids",
        help="build Semantic IDs (RQ-KMeans) and report their statistics",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="sids_command", metavar="ACTION", required=True)

    build = actions.add_parser("build", help="build (or load from the cache) the SID catalog of a dataset")
    _add_common(build)
    build.add_argument("--force", action="store_true", help="recompute embeddings and codes even when cached")
    build.set_defaults(func=build_command)

    stats = actions.add_parser("stats", help="statistics of a dataset's SID catalog (built first if needed)")
    _add_common(stats)
    stats.set_defaults(func=stats_command)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="dataset name (see `grbench data list`)")
    parser.add_argument("--seed", type=int, default=None, help="RQ-KMeans seed (SidConfig.seed; default 0)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="SidConfig override, e.g. --set levels=4 --set encoder=cooccurrence",
    )
    parser.add_argument(
        "--config", default=None, help="YAML file with SidConfig keys (overrides apply on top)"
    )
    parser.add_argument("--json", action="store_true", help="print the statistics as JSON")
    add_data_options(parser)


def _catalog(args: argparse.Namespace, force: bool = False) -> tuple[Any, Any]:
    from benchmark.config import load_config
    from benchmark.data import build_dataset
    from benchmark.sids import SidConfig, build_sids

    overrides = list(args.set) + ([f"seed={args.seed}"] if args.seed is not None else [])
    config = load_config(SidConfig, args.config, overrides)
    dataset = build_dataset(args.name, data_dir=args.data_dir)
    return dataset, build_sids(dataset, config, force=force)


def report(dataset: Any, catalog: Any) -> dict[str, Any]:
    """What ``stats`` prints: identity of the catalog (dataset, hashes, config) and its statistics."""
    return {
        "dataset": dataset.name,
        "split_hash": catalog.split_hash,
        "catalog_hash": catalog.catalog_hash,
        "config": catalog.config,
        "stats": catalog.stats(),
    }


def _print(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        return
    stats = summary["stats"]
    lines = [
        f"dataset            {summary['dataset']}  "
        f"(split {summary['split_hash']}, catalog {summary['catalog_hash']})",
        f"items              {stats['n_items']}",
        f"codebook sizes     {stats['codebook_sizes']}",
        f"distinct SIDs      {stats['distinct_sids']}",
        f"collision rate     {stats['collision_rate']:.4f}  ({stats['colliding_sids']} SIDs hold >1 item)",
        f"items per SID      mean {stats['items_per_sid_mean']:.3f}, max {stats['items_per_sid_max']}",
        "codebook use       "
        + ", ".join(
            f"L{level}: {used}/{size}"
            for level, (used, size) in enumerate(zip(stats["codebook_used"], stats["codebook_sizes"]))
        ),
    ]
    if "residual_mse" in stats:
        lines.append(
            "residual mse       " + ", ".join(f"L{i}: {v:.4f}" for i, v in enumerate(stats["residual_mse"]))
        )
    for key, label in (("preference_pairs", "clicked x unclicked"), ("target_pairs", "ordered x unclicked")):
        pairs = stats.get(key)
        if pairs:
            shares = ", ".join(
                f"{name}: {'n/a' if pairs[field] is None else f'{100 * pairs[field]:.1f}%'}"
                for name, field in (
                    ("1st token", "share_first_token"),
                    ("first 2", "share_first_two_tokens"),
                    ("same SID", "share_same_sid"),
                )
            )
            lines.append(f"pairs {label:20s} {pairs['n_pairs']} pairs; share {shares}  (paper: 34.6% / 1.9%)")
    sys.stdout.write("\n".join(lines) + "\n")


def build_command(args: argparse.Namespace) -> int:
    dataset, catalog = _catalog(args, force=args.force)
    _print(report(dataset, catalog), args.json)
    return 0


def stats_command(args: argparse.Namespace) -> int:
    dataset, catalog = _catalog(args)
    _print(report(dataset, catalog), args.json)
    return 0

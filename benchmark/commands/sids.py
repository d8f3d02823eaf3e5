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
  grbench sids build amazon18-scientific --builder dualtower --set tower.epochs=8
  grbench sids stats amazon18-scientific --builder sci --json

Builders (--builder, or --set builder=NAME; sids.builder in a profile): rqkmeans (the default: RQ-KMeans over
the encoder's item embeddings), dualtower (over a dual tower trained on the training split's clicks), sci (the
tower trained with SCI's input-swapping alignment, over the dual-view item representation).

--set keys (SidConfig): levels, codebook_sizes, capacity_per_item, seed, kmeans_iters, encoder (a Hugging Face
id, or "cooccurrence" for datasets without item text), pooling (mean|cls), max_length, batch_size,
cooccurrence_dim, builder, tower.{head,hidden,epochs,batch_size,lr,weight_decay,temperature,seed}. The dataset
is built (or loaded from the cache) with its default configuration. `stats` adds the statistics per popularity
bucket (head / torso / tail: terciles of training clicks).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sids",
        help="build Semantic IDs (rqkmeans, dualtower, sci) and report their statistics",
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
        "--builder", default=None, help="SID builder (SidConfig.builder): rqkmeans (default), dualtower, sci"
    )
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
    overrides += [f"builder={args.builder}"] if args.builder is not None else []
    config = load_config(SidConfig, args.config, overrides)
    dataset = build_dataset(args.name, data_dir=args.data_dir)
    return dataset, build_sids(dataset, config, force=force)


def report(dataset: Any, catalog: Any, buckets: bool = False) -> dict[str, Any]:
    """What ``build`` and ``stats`` print: identity of the catalog (dataset, hashes, config, builder), its
    statistics, the build's seconds per phase, and (``buckets``) the statistics per popularity bucket."""
    from benchmark.sids.config import DEFAULT_BUILDER

    summary = {
        "dataset": dataset.name,
        "split_hash": catalog.split_hash,
        "catalog_hash": catalog.catalog_hash,
        "builder": catalog.config.get("builder", DEFAULT_BUILDER),
        "config": catalog.config,
        "stats": catalog.stats(),
        # Timings vary from build to build: kept apart from what identifies and describes the catalog.
        "seconds": {"build": catalog.build_info.get("seconds", {})},
    }
    if buckets:
        from benchmark.sids.stats import bucket_stats

        summary["buckets"] = bucket_stats(catalog.codes, catalog.item_popularity, dataset.preference)
    return summary


def _print(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        return
    stats = summary["stats"]
    lines = [
        f"dataset            {summary['dataset']}  "
        f"(split {summary['split_hash']}, catalog {summary['catalog_hash']})",
        f"builder            {summary['builder']}",
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
    if summary["seconds"]["build"]:
        lines.append(
            "build seconds      "
            + ", ".join(f"{name} {value:.1f}" for name, value in summary["seconds"]["build"].items())
            + "  (when built; a cached catalog keeps the seconds of its build)"
        )
    if "command" in summary["seconds"]:
        lines.append(
            f"command wall time  {summary['seconds']['command']:.1f} s (dataset and catalog, built or cached)"
        )
    if "buckets" in summary:
        lines.extend(_bucket_lines(summary["buckets"]))
    sys.stdout.write("\n".join(lines) + "\n")


def _percent(value: Any) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _bucket_lines(buckets: dict[str, dict[str, Any]]) -> list[str]:
    """The per-bucket table: one row per group (overall, head, torso, tail)."""
    first = next(iter(buckets.values()))
    depths = len(first["prefix_shared"] or ())
    prefix_head = " ".join(f"{'pre' + str(d):>6s}" for d in range(1, depths + 1))
    lines = [
        "per popularity bucket (head/torso/tail = terciles of training clicks; preN = share of items whose "
        "first N tokens are shared; pairs = ordered x unclicked pairs sharing the 1st token / the SID)",
        f"  {'bucket':8s} {'items':>6s} {'len':>5s} {'collide':>8s} {'it/SID':>7s} {'max':>4s} {prefix_head} "
        f"{'pairs1st':>9s} {'pairsSID':>9s}",
    ]
    for group, entry in buckets.items():
        if not entry["n_items"]:
            lines.append(f"  {group:8s} {0:6d}")
            continue
        prefixes = " ".join(f"{_percent(v):>6s}" for v in entry["prefix_shared"])
        pairs = entry.get("target_pairs") or {}
        lines.append(
            f"  {group:8s} {entry['n_items']:6d} {entry['code_length_mean']:5.2f} "
            f"{_percent(entry['collision_rate']):>8s} {entry['items_per_sid_mean']:7.3f} "
            f"{entry['items_per_sid_max']:4d} {prefixes} {_percent(pairs.get('share_first_token')):>9s} "
            f"{_percent(pairs.get('share_same_sid')):>9s}"
        )
    return lines


def build_command(args: argparse.Namespace) -> int:
    import time

    start = time.perf_counter()
    dataset, catalog = _catalog(args, force=args.force)
    summary = report(dataset, catalog)
    summary["seconds"]["command"] = round(time.perf_counter() - start, 3)  # dataset load included
    _print(summary, args.json)
    return 0


def stats_command(args: argparse.Namespace) -> int:
    dataset, catalog = _catalog(args)
    _print(report(dataset, catalog, buckets=True), args.json)
    return 0

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
  grbench sids build amazon18-games --builder all --force      # every builder, build times side by side

Builders (--builder, or --set builder=NAME; sids.builder in a profile): rqkmeans (the default: RQ-KMeans over
the encoder's item embeddings), dualtower (over a dual tower trained on the training split's clicks), sci (the
tower trained with SCI's input-swapping alignment, over the dual-view item representation), acrq (codebooks
fitted on head items, frozen; a regularised last stage for torso and tail items), cqsid (a category- and
query-contrastive tower; level 0 constrained to item categories), sarq (variable-length: rqkmeans codes cut
per item by popularity-weighted path entropy under a mean-length budget). `build --builder all` (or a comma list)
builds each in turn and prints each one's build time and its ratio to rqkmeans (always built first, as the
reference); with --force every phase is recomputed for every builder, otherwise the phases that came from
the cache (catalog, embeddings, tower) are named beside each time.

--set keys (SidConfig): levels, codebook_sizes, capacity_per_item, seed, kmeans_iters, encoder (a Hugging Face
id, or "cooccurrence" for datasets without item text), pooling (mean|cls), max_length, batch_size,
cooccurrence_dim, builder, tower.{head,hidden,epochs,batch_size,lr,weight_decay,temperature,seed},
acrq.anchor_weight, cqsid.{category_weight,category_level}, sarq.{length_budget,min_length,weight}. The dataset
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
        "--builder",
        default=None,
        help="SID builder (SidConfig.builder): rqkmeans (default), dualtower, sci, acrq, cqsid, sarq; for `build` "
        "also 'all' or a comma list (build times compared with rqkmeans)",
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


def _config(args: argparse.Namespace, builder: str | None) -> Any:
    from benchmark.config import load_config
    from benchmark.sids import SidConfig

    overrides = list(args.set) + ([f"seed={args.seed}"] if args.seed is not None else [])
    overrides += [f"builder={builder}"] if builder is not None else []
    return load_config(SidConfig, args.config, overrides)


def _catalog(args: argparse.Namespace, force: bool = False) -> tuple[Any, Any]:
    from benchmark.data import build_dataset
    from benchmark.sids import build_sids

    config = _config(args, args.builder)
    dataset = build_dataset(args.name, data_dir=args.data_dir)
    return dataset, build_sids(dataset, config, force=force)


def builder_list(value: str | None) -> list[str] | None:
    """The builders of ``--builder all`` or ``--builder a,b`` (``rqkmeans`` first: the reference of the
    ratios, added when missing); None for a single builder (or none given). An unknown name raises
    UnknownNameError with suggestions."""
    from benchmark.sids.builders import builder_names, get_builder
    from benchmark.sids.config import DEFAULT_BUILDER

    if value is None or (value != "all" and "," not in value):
        return None
    names = builder_names() if value == "all" else [n.strip() for n in value.split(",") if n.strip()]
    for name in names:
        get_builder(name)
    return [DEFAULT_BUILDER] + [n for n in dict.fromkeys(names) if n != DEFAULT_BUILDER]


def _written_since(path: Any, start: float) -> bool | None:
    """True when the artifact directory ``path`` was (re)published at or after ``start`` (this build computed
    it), False when it predates it (loaded from the cache), None when it does not exist."""
    try:
        return path.stat().st_mtime >= start
    except OSError:
        return None


def cached_phases(dataset: Any, catalog: Any, start: float) -> list[str]:
    """Which artifacts of ``catalog``'s build came from the cache instead of being computed after ``start``:
    the catalog itself, the item embeddings, the trained tower (when the builder records their keys).
    Artifacts are published by renaming a freshly written directory, so its mtime tells which."""
    from benchmark.artifacts import cache_root
    from benchmark.sids.build import catalog_dir

    info = catalog.build_info
    candidates = [("catalog", catalog_dir(dataset.name, info.get("build_key", "")))]
    if info.get("embedding_key"):
        candidates.append(("embeddings", cache_root() / "embeddings" / info["embedding_key"]))
    if info.get("tower_key"):
        candidates.append(("tower", cache_root() / "towers" / info["tower_key"]))
    return [name for name, path in candidates if _written_since(path, start) is False]


def build_many(args: argparse.Namespace, names: list[str]) -> dict[str, Any]:
    """Build every builder of ``names`` in turn on one dataset load and time each ``build_sids`` call: the
    rows of the ratio table (seconds, ratio to rqkmeans, phases, cached phases) and each builder's report."""
    import time

    from benchmark.data import build_dataset
    from benchmark.sids import build_sids

    dataset = build_dataset(args.name, data_dir=args.data_dir)
    configs = {name: _config(args, name) for name in names}  # validate every config before the first build
    rows, summaries = [], {}
    for name in names:
        start_wall, start, start_cpu = time.time(), time.perf_counter(), time.process_time()
        catalog = build_sids(dataset, configs[name], force=args.force)
        seconds = time.perf_counter() - start
        # CPU seconds of every thread of this process: much less sensitive than wall time to other jobs
        # sharing the cores (on a loaded machine the same embedding pass took 63 s or 251 s of wall time).
        cpu_seconds = time.process_time() - start_cpu
        summaries[name] = report(dataset, catalog)
        rows.append({
            "builder": name,
            "seconds": round(seconds, 3),
            "cpu_seconds": round(cpu_seconds, 3),
            "phases": catalog.build_info.get("seconds", {}),
            "cached": cached_phases(dataset, catalog, start_wall),
        })
        log.info("built %s in %.1f s", name, seconds)
    for field, ratio in (("seconds", "ratio_to_rqkmeans"), ("cpu_seconds", "cpu_ratio_to_rqkmeans")):
        reference = rows[0][field]
        for row in rows:
            row[ratio] = round(row[field] / reference, 3) if reference > 0 else None
    return {"dataset": dataset.name, "force": bool(args.force), "timing": rows, "builders": summaries}


def _print_timing(result: dict[str, Any]) -> None:
    rows = result["timing"]
    lines = [
        f"build times on {result['dataset']} "
        + ("(--force: every phase recomputed for every builder)" if result["force"] else
           "(phases in 'cached' were loaded, not computed: use --force for a fair comparison)"),
        f"  {'builder':10s} {'seconds':>8s} {'x rqkmeans':>10s} {'cpu s':>8s} {'x cpu':>6s} {'collide':>8s}  "
        f"{'cached':12s} phases (s)",
    ]
    for row in rows:
        stats = result["builders"][row["builder"]]["stats"]
        ratio, cpu_ratio = (
            "n/a" if row[key] is None else f"{row[key]:.2f}" for key in ("ratio_to_rqkmeans", "cpu_ratio_to_rqkmeans")
        )
        phases = ", ".join(f"{k} {v:.1f}" for k, v in row["phases"].items())
        lines.append(
            f"  {row['builder']:10s} {row['seconds']:8.1f} {ratio:>10s} {row['cpu_seconds']:8.1f} {cpu_ratio:>6s} "
            f"{100 * stats['collision_rate']:7.1f}%  {','.join(row['cached']) or '-':12s} {phases}"
        )
    lines.append("  (seconds: wall time of each build; cpu s: CPU time of all its threads, less sensitive to other "
                 "jobs on the machine; phases: as recorded when the catalog was built)")
    sys.stdout.write("\n".join(lines) + "\n")


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
    if "code_length_counts" in stats:  # variable-length SIDs only (benchmark.sids.stats.code_stats)
        lines.append(
            f"code lengths       mean {stats['code_length_mean']:.3f}; "
            + ", ".join(f"{n} codes: {c}" for n, c in enumerate(stats["code_length_counts"], start=1))
        )
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

    names = builder_list(args.builder)
    if names is not None:
        result = build_many(args, names)
        if args.json:
            sys.stdout.write(json.dumps(result, indent=2, sort_keys=True) + "\n")
        else:
            _print_timing(result)
        return 0
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

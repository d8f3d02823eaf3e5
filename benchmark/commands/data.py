"""``grbench data``: list, build and describe datasets (docs/DATA.md)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from benchmark.artifacts import cache_root
from benchmark.commands.options import add_data_options
from benchmark.config import load_config
from benchmark.data import DataConfig, build_dataset, list_datasets
from benchmark.data.export import FORMATS as EXPORT_FORMATS  # the module imports `datasets` lazily
from benchmark.data.registry import get_spec
from benchmark.data.resolve import data_dir_option, downloads_dir
from benchmark.data.stats import format_stats

DESCRIPTION = """\
Datasets: public Amazon logs (or the synthetic world) become query -> exposed items -> simulated clicks
impressions, a preference subset and clean valid/test queries (protocol: docs/DATA.md).

Files are looked up in --data-dir / $GRBENCH_DATA (<dir>/<dataset>/<file>), then the user cache, then
downloaded from pinned URLs; every file is checked against its sha256. Built splits are cached under
$GRBENCH_CACHE/datasets/<name>/<key>/ and reused until the files, the config or the code format change.
"""

EXPORT_DESCRIPTION = """\
Write the built split of NAME (under --profile's data settings: the split the profile's results use) as a
Hugging Face datasets.DatasetDict saved with save_to_disk (Arrow): tables train, preference, validation, test
(impressions and clean evaluation queries, same columns, rows and order as grbench's split) and items (the
catalog, with train_clicks). Item ids are the dense ids of items, not SIDs; text columns are strings, item-id
lists are lists of int64. DIR/README.md is a dataset card: how it was made, the columns, the data card of
`grbench data card NAME` and the source's citation and license; the card is also each table's
DatasetInfo.description. The exported tables must hash to the split hash, so an export is exactly the split
results were computed on. Nothing is written until the export is complete (temporary directory, then rename).

Needs the optional `datasets` library: pip install 'grbench[hf]'. Read it back with
  from datasets import load_from_disk; ds = load_from_disk("DIR"); ds["test"][0]

Time: the data card builds SIDs and scores the retrieval baselines (seconds from the cache, minutes the first
time); --card FILE reuses a card already written. Example:
  grbench data export amazon18-scientific --format hf --out exports/scientific
"""

SET_HELP = ("override a DataConfig field, dotted for nested sections, value parsed as YAML; repeatable. "
            "Fields: seed, history_len, min_positives, max_query_words, max_term_items, clicks.{exposure_k, eta, "
            "noise_floor, relevant_click_prob, target_click_prob}, ranker.{pool_relevant, pool_near_miss, "
            "pool_popular, relevance_weight, popularity_weight, noise_std}, synthetic.{seed, n_items, n_users, ...}. "
            "Example: --set clicks.eta=0.5 --set ranker.noise_std=1.0")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "data", help="list, build and describe datasets", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="data_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: _help(parser))

    listing = actions.add_parser("list", help="registered datasets and where their files would come from",
                                 description="Registered datasets, their source and where their files are "
                                             "found (data dir, cache, or a download on first build). Reads "
                                             "no data.")
    add_data_options(listing)
    listing.set_defaults(func=_list)

    build = actions.add_parser(
        "build", help="build a dataset (or load it from the cache) and print its statistics",
        description="Build NAME: read and verify its files, derive queries, simulate exposures and clicks, "
                    "split, and cache the result (parquet + manifest.json). A second build with the same "
                    "files and config loads the cache in a second or two. Takes ~2 s for amazon18-scientific, "
                    "~25 s for amazon18-games on a 2-core CPU.")
    _add_build_options(build)
    build.add_argument("--force", action="store_true", help="rebuild even when a cached build exists")
    build.set_defaults(func=_build)

    stats = actions.add_parser(
        "stats", help="statistics of a built dataset (builds it first when needed)",
        description="Users, items, queries, impressions, positives/negatives per impression, pseudo-negative "
                    "rate, positives per query, click rate by rank, build seconds, content hashes.")
    _add_build_options(stats)
    stats.add_argument("--json", action="store_true", help="print the statistics as JSON")
    stats.set_defaults(func=_stats)

    card = actions.add_parser(
        "card", help="write the data card of a dataset (Markdown) under results/data/",
        description="The data card of NAME under a profile's data, SID and evaluation settings: sizes, "
                    "positives per query, pseudo-negative rate, overlap of the evaluated test rows with "
                    "training (query, ordered item, pair), seen/unseen counts, the reachable ceiling of each "
                    "target metric, the valid share of the SID code space and the retrieval baselines' "
                    "scores (all, seen and unseen queries). Builds the split and SIDs when needed (minutes "
                    "the first time, seconds from the cache).")
    card.add_argument("name", metavar="NAME", help=f"dataset name, one of: {', '.join(list_datasets())}")
    card.add_argument("--profile", default="full",
                      help="profile whose data/sids/eval settings and first seed are used (default full: every "
                           "test row; quick scores its first 1,000)")
    card.add_argument("--out", default="results/data", help="directory of <NAME>.md (default results/data)")
    add_data_options(card)
    card.set_defaults(func=_card)

    export = actions.add_parser(
        "export", help="write a built dataset as a Hugging Face datasets.DatasetDict (Arrow) with its data card",
        description=EXPORT_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    export.add_argument("name", metavar="NAME", help=f"dataset name, one of: {', '.join(list_datasets())}")
    export.add_argument("--format", default="hf", choices=EXPORT_FORMATS,
                        help="output format (default hf: datasets.DatasetDict.save_to_disk, Arrow, + README.md)")
    export.add_argument("--out", required=True, metavar="DIR",
                        help="output directory; must be absent or empty (see --force)")
    export.add_argument("--profile", default="full",
                        help="profile whose data settings define the split (and whose SID/eval settings the data "
                             "card uses), as in `grbench data card` (default full)")
    export.add_argument("--card", default=None, metavar="FILE",
                        help="use this data card (Markdown written by `grbench data card NAME`) instead of "
                             "computing it; it must name the exported split hash. Saves building SIDs.")
    export.add_argument("--force", action="store_true",
                        help="replace DIR when it holds a previous export (a non-empty directory without "
                             "dataset_dict.json is never replaced)")
    add_data_options(export)
    export.set_defaults(func=_export)


def _add_build_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help=f"dataset name, one of: {', '.join(list_datasets())}")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed for query choice, exposures, clicks and shuffles (default 0)")
    parser.add_argument("--config", default=None, metavar="YAML", help="YAML file with DataConfig fields")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help=SET_HELP)
    add_data_options(parser)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 0


def _config(args: argparse.Namespace) -> DataConfig:
    overrides = list(args.overrides)
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    return load_config(DataConfig, args.config, overrides)


def _write(text: str) -> None:
    sys.stdout.write(text + "\n")


def _list(args: argparse.Namespace) -> int:
    base = data_dir_option(args.data_dir)
    rows = []
    for name in list_datasets():
        spec = get_spec(name)
        if spec.synthetic:
            where = "generated (not public data)"
        else:
            where = _where(spec, base)
        rows.append((name, where, spec.description))
    width = max(len(r[0]) for r in rows)
    _write(f"{'name':<{width}}  files")
    for name, where, description in rows:
        _write(f"{name:<{width}}  {where}\n{'':<{width}}  {description}")
    _write(f"\ncache: {cache_root()}")
    return 0


def _where(spec: Any, base: Any) -> str:
    names = [f.name for f in spec.files]
    if base is not None and all((base / spec.name / n).is_file() or (base / n).is_file() for n in names):
        return f"data dir {base}"
    if all((downloads_dir(spec) / n).is_file() for n in names):
        return f"cache {downloads_dir(spec)}"
    return f"not found locally: downloaded on first build ({len(names)} files)"


def _build(args: argparse.Namespace) -> int:
    built = build_dataset(args.name, _config(args), data_dir=args.data_dir, force=args.force)
    _write(format_stats(built.stats))
    _write(f"key                {built.key}\nsplit_hash         {built.split_hash}\ntest_hash          {built.test_hash}")
    _write(f"cached at          {built.path}")
    return 0


def _stats(args: argparse.Namespace) -> int:
    built = build_dataset(args.name, _config(args), data_dir=args.data_dir)
    if args.json:
        payload = {"dataset": built.name, "key": built.key, "split_hash": built.split_hash,
                   "test_hash": built.test_hash, "stats": built.stats}
        _write(json.dumps(payload, indent=2, sort_keys=True))
    else:
        _write(format_stats(built.stats))
        _write(f"split_hash         {built.split_hash}\ntest_hash          {built.test_hash}")
    return 0


def _profile_spec(name: str, profile_name: str) -> tuple[Any, Any]:
    """(profile, run spec of dataset ``name`` under it: its data, SID and eval settings, first seed)."""
    from benchmark.suite.matrix import spec_for
    from benchmark.suite.profiles import load_profile

    profile = load_profile(profile_name)
    return profile, spec_for(profile, "table1", "sft", profile.seeds[0], dataset=name)


def _card_text(name: str, profile_name: str, data_dir: str | None) -> tuple[Any, str]:
    """(built dataset, data card Markdown) of ``name`` under a profile's settings."""
    from benchmark.datacard import baseline_scores, render_card
    from benchmark.suite.matrix import resolve
    from benchmark.suite.stages import prepare_data

    profile, spec = _profile_spec(name, profile_name)
    resolved = resolve(spec)
    prepared = prepare_data(spec.dataset, spec.data, spec.sids, data_dir)
    scores = baseline_scores(prepared.dataset, prepared.catalog, resolved.sids, resolved.eval)
    return prepared.dataset, render_card(prepared.dataset, prepared.catalog, scores, resolved.eval, profile.name,
                                           cold_start=profile.sid_builders.cold_start)


def _card(args: argparse.Namespace) -> int:
    from pathlib import Path

    from benchmark.artifacts import atomic_write_text

    get_spec(args.name)  # an unknown name fails before anything is built
    _, text = _card_text(args.name, args.profile, args.data_dir)
    out = Path(args.out) / f"{args.name}.md"
    atomic_write_text(out, text)
    _write(text)
    _write(f"wrote {out}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from benchmark.config import from_dict
    from benchmark.data.export import card_split_hash, check_target, export_hf, require_datasets
    from benchmark.errors import ArtifactMismatchError, DataError

    spec = get_spec(args.name)  # an unknown name, a missing library or an occupied DIR fail before any work
    require_datasets()
    out = check_target(Path(args.out), args.force)
    command = f"grbench data export {args.name} --format {args.format} --profile {args.profile}"
    if args.card is None:
        built, card = _card_text(args.name, args.profile, args.data_dir)
    else:
        path = Path(args.card)
        if not path.is_file():
            raise DataError(f"{path}: data card not found (write one with `grbench data card {args.name} "
                            f"--profile {args.profile}`).")
        card = path.read_text(encoding="utf-8")
        _, run = _profile_spec(args.name, args.profile)
        built = build_dataset(args.name, from_dict(DataConfig, run.data), data_dir=args.data_dir)
        named = card_split_hash(card)
        if named is None or not built.split_hash.startswith(named):
            raise ArtifactMismatchError(
                f"{path}: the data card names split hash {named or '(none)'}, but {args.name} under profile "
                f"{args.profile} has split hash {built.split_hash[:16]}: write the card with the same profile "
                "or leave out --card.")
    export_hf(built, out, card, force=args.force, command=command, citation=spec.citation, license=spec.license)
    _write(f"exported {args.name} (split hash {built.split_hash[:16]}) to {out}")
    return 0

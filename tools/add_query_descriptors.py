"""Add the per-query descriptors (query text, seen in training) to stored runs that lack them.

Runs computed before protocol 2 stored only metrics per query, so their tables could test significance only
row by row, which is anti-conservative: test rows sharing a query string are not independent. This rebuilds
each run's split from its own stored data config (protocol 1 when the config names none), looks up every
scored query id's text and whether that text occurs in the training split, checks the split's test hash
against the one the run recorded, and rewrites the run through the one results writer. Metrics, config,
hashes and provenance are unchanged; running it twice changes nothing.

    python -m tools.add_query_descriptors results/quick-protocol1 results/full-protocol1 --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmark.config import from_dict
from benchmark.data import DataConfig, build_dataset
from benchmark.errors import DataError
from benchmark.results import load_run, run_dirs_in, write_run


def add_descriptors(profile_dir: Path, data_dir: str | None) -> list[str]:
    """Rewrite every run of ``profile_dir`` that lacks the descriptors; return the run ids rewritten."""
    done = []
    splits: dict[str, object] = {}
    for path in run_dirs_in(profile_dir / "runs"):
        stored = load_run(path)
        frame = stored.per_query()
        if {"query", "query_seen"} <= set(frame.columns):
            continue  # protocol-1 runs of the suite store the text but not whether it was seen
        result = stored.result
        data = {"protocol": 1, **result.config.get("data", {})}
        key = f"{result.dataset}:{sorted(data.items())}"
        if key not in splits:
            splits[key] = build_dataset(result.dataset, from_dict(DataConfig, data), data_dir=data_dir)
        dataset = splits[key]
        if dataset.test_hash != result.hashes.test_hash:
            raise DataError(f"{path}: the rebuilt test split has hash {dataset.test_hash}, the run recorded "
                            f"{result.hashes.test_hash}; not rewriting it.")
        test = dataset.test.set_index("query_id")
        train_queries = set(dataset.train["query"].tolist())
        texts = test.loc[frame["query_id"], "query"].astype(str).to_numpy()
        seen = [int(text in train_queries) for text in texts]
        metrics = {c: frame[c].to_numpy() for c in frame.columns if c not in ("query_id", "query", "query_seen")}
        write_run(path, result.to_record(), frame["query_id"].to_numpy(), metrics, stored.rankings(),
                  queries={"query": texts, "query_seen": seen}, overwrite=True)
        done.append(path.name)
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("profiles", nargs="+", type=Path, help="profile directories holding runs/")
    parser.add_argument("--data-dir", default=None, help="public data directory (default $GRBENCH_DATA)")
    args = parser.parse_args(argv)
    for profile in args.profiles:
        done = add_descriptors(profile, args.data_dir)
        sys.stdout.write(f"{profile}: added query descriptors to {len(done)} runs\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

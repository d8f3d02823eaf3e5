"""Add the ordered item's popularity bucket (``target_bucket``) and the catalog statistics (run.json ``catalog``)
to stored protocol-2 runs that lack them.

Runs computed before the ``sids`` experiment stored neither, and the suite reuses a finished run for an identical
configuration (the ``rqkmeans`` rows of ``sids`` are copies of Table 1's runs), so without this their bucket and
collision cells stay empty. Both are pure functions of the run's own split and catalog: this rebuilds them from
the run's stored (resolved) data and SID configs, refuses a run whose rebuilt split, test or catalog hash differs
from the one it recorded, labels each scored query's ordered item (``benchmark.suite.stages.eval_queries``, the
code the suite uses) and rewrites the run through the one results writer. Metrics, config, hashes, provenance,
rankings, the validation curve and the other descriptors are unchanged; running it twice changes nothing.

    python -m tools.add_target_buckets results/quick --data-dir ../shared/data [--dry-run]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmark.errors import DataError
from benchmark.results import load_run, run_dirs_in, write_run
from benchmark.results.schema import QUERY_COLUMNS
from benchmark.suite.stages import catalog_summary, eval_queries, prepare_data


def add_target_buckets(profile_dir: Path, data_dir: str | None, dry_run: bool = False) -> list[str]:
    """Rewrite every protocol-2 run of ``profile_dir`` lacking ``target_bucket`` or ``catalog``; return their ids."""
    done = []
    for path in run_dirs_in(profile_dir / "runs"):
        stored = load_run(path)
        result = stored.result
        frame = stored.per_query()
        if int(result.config.get("data", {}).get("protocol", 1)) != 2:
            continue  # protocol 1: every item of the query's category is the truth, no single ordered item
        if "target_bucket" in frame.columns and result.catalog is not None:
            continue
        prepared = prepare_data(result.dataset, result.config["data"], result.config["sids"], data_dir)
        recorded = {"split_hash": result.hashes.split_hash, "catalog_hash": result.hashes.catalog_hash,
                    "test_hash": result.hashes.test_hash}
        if prepared.hashes != recorded:
            raise DataError(f"{path}: the rebuilt split and catalog have hashes {prepared.hashes}, the run recorded "
                            f"{recorded}; not rewriting it.")
        test = eval_queries(prepared, "test", None).set_index("query_id")
        missing = set(frame["query_id"]) - set(test.index)
        if missing:
            raise DataError(f"{path}: {len(missing)} scored query ids are not in the rebuilt test split.")
        queries = {c: frame[c].to_numpy() for c in QUERY_COLUMNS if c in frame.columns}
        queries["target_bucket"] = test.loc[frame["query_id"], "target_bucket"].astype(str).to_numpy()
        metrics = {c: frame[c].to_numpy() for c in frame.columns if c != "query_id" and c not in QUERY_COLUMNS}
        record = result.to_record(catalog=result.catalog or catalog_summary(prepared.catalog))
        if not dry_run:
            write_run(path, record, frame["query_id"].to_numpy(), metrics, stored.rankings(), queries=queries,
                      overwrite=True, curve=stored.curve())
        done.append(path.name)
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("profiles", nargs="+", type=Path, help="profile directories holding runs/")
    parser.add_argument("--data-dir", default=None, help="public data directory (default $GRBENCH_DATA)")
    parser.add_argument("--dry-run", action="store_true", help="list the runs that would be rewritten")
    args = parser.parse_args(argv)
    for profile in args.profiles:
        done = add_target_buckets(profile, args.data_dir, args.dry_run)
        verb = "would add" if args.dry_run else "added"
        sys.stdout.write(f"{profile}: {verb} target buckets / catalog statistics to {len(done)} runs\n")
        for run_id in done:
            sys.stdout.write(f"  {run_id}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The seed spread of a profile's cells, from extra seeds stored beside it, for comparison with the drift that
``grbench reproduce`` measures between environments.

    python -m tools.seed_spread results/quick results/quick/seed-spread > results/quick/seed-spread/seed-spread.csv

For every (experiment, variant, method) present in both directories: each metric's per-run mean in every seed,
and the sample std (ddof=1) over those seeds. Seeds of one cell must differ between the two directories.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

from benchmark.results import load_runs
from benchmark.tables.collect import variant_key


def spread_rows(main: Path, extra: Path) -> list[dict[str, object]]:
    cells: dict[tuple[str, str, str], dict[int, dict[str, float]]] = {}
    for run in [*load_runs(main), *load_runs(extra)]:
        r = run.result
        seeds = cells.setdefault((r.experiment, variant_key(r.variant), r.method), {})
        if r.seed in seeds:
            raise SystemExit(f"{r.run_id}: seed {r.seed} of this cell is in both directories")
        seeds[r.seed] = r.metrics
    rows = []
    for (experiment, variant, method), seeds in sorted(cells.items()):
        if len(seeds) < 2:
            continue
        order = sorted(seeds)
        for metric in sorted(set.intersection(*(set(seeds[s]) for s in order))):
            values = [seeds[s][metric] for s in order]
            rows.append({"experiment": experiment, "variant": variant, "method": method, "metric": metric,
                         **{f"seed{s}": v for s, v in zip(order, values)},
                         "seed_std": float(np.std(values, ddof=1))})
    return rows


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    rows = spread_rows(Path(argv[0]), Path(argv[1]))
    writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["experiment"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

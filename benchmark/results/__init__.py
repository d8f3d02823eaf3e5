"""Run results: the versioned schema, the one writer and validating readers (DESIGN.md section 8).

    from benchmark.results import RunRecord, run_dir, write_run, load_runs
    write_run(run_dir("results", "quick", record.run_id), record, query_ids, {"sid_recall@8": array, ...})
    runs = load_runs("results/quick", experiment="table1")
"""

from benchmark.metrics.registry import metric_sort_key
from benchmark.results.provenance import code_revision, hardware, package_versions
from benchmark.results.reader import (
    StoredRun,
    find_run_dirs,
    load_run,
    load_runs,
    read_per_query,
    read_rankings,
    run_dirs_in,
)
from benchmark.results.schema import (
    CUSTOM_EXPERIMENT,
    REFERENCE_EXPERIMENTS,
    SCHEMA_PATH,
    SCHEMA_VERSION,
    Budget,
    Hardware,
    Hashes,
    RunRecord,
    RunResult,
    RunValidationError,
    experiment_names,
    json_schema,
)
from benchmark.results.writer import (
    RunExistsError,
    copy_run_as,
    finished_runs,
    publish_runs,
    run_dir,
    write_run,
)

__all__ = [
    "CUSTOM_EXPERIMENT",
    "REFERENCE_EXPERIMENTS",
    "SCHEMA_PATH",
    "SCHEMA_VERSION",
    "Budget",
    "Hardware",
    "Hashes",
    "RunExistsError",
    "RunRecord",
    "RunResult",
    "RunValidationError",
    "StoredRun",
    "code_revision",
    "copy_run_as",
    "experiment_names",
    "find_run_dirs",
    "finished_runs",
    "publish_runs",
    "hardware",
    "json_schema",
    "load_run",
    "load_runs",
    "metric_sort_key",
    "package_versions",
    "read_per_query",
    "read_rankings",
    "run_dir",
    "run_dirs_in",
    "write_run",
]

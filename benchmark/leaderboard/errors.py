"""The one error a rejected submission raises (the CLI turns it into exit code 2)."""

from __future__ import annotations

from benchmark.errors import BenchmarkError


class SubmissionError(BenchmarkError):
    """A submission is malformed, unsafe, incomplete or inconsistent with the benchmark; nothing was written."""

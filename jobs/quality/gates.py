"""Run a table's suite on one week of a candidate gold DataFrame, with Great Expectations.

GX runs in an ephemeral context on Spark DataFrames (nothing is collected to the driver); its
own Data Docs load CSS and scripts from CDNs, so the report for people is ours (report.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from pyspark.sql import DataFrame

from schemas import Table

# GX sends usage statistics by default, read when it is imported: not from a job.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


@dataclass(frozen=True)
class SuiteInputs:
    """What the checks compare against: the roster and the table's recent history."""

    roster: frozenset[str]
    trailing_row_counts: tuple[int, ...]  # published row counts of the previous weeks
    min_group_size: int
    has_ties: bool = True  # a week without a single tie has no PageRank to sum


@dataclass(frozen=True)
class CheckResult:
    check: str
    expectation: str
    column: str | None
    level: str  # fail | warn
    success: bool
    observed: str


@dataclass
class GateResult:
    table: str
    week_start: date
    suite: str
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def failed_fail(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.success and c.level == "fail"]

    @property
    def failed_warn(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.success and c.level == "warn"]

    @property
    def success(self) -> bool:
        return not self.failed_fail


@lru_cache(maxsize=1)
def _context():
    import great_expectations as gx  # 3-5 s to import: only when a gate runs

    context = gx.get_context(mode="ephemeral")
    # Progress bars belong in notebooks, not in job logs.
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    return context, context.data_sources.add_spark(name="lake")


@lru_cache(maxsize=None)
def _batch_definition(table_path: str):
    _, source = _context()
    name = table_path.replace("/", "__")
    asset = source.add_dataframe_asset(name=name)
    return asset.add_batch_definition_whole_dataframe(name)


def _raised(exception_info) -> bool:
    """GX reports exceptions either flat or per metric: any raised one counts."""
    if not exception_info:
        return False
    if "raised_exception" in exception_info:
        return bool(exception_info["raised_exception"])
    return any(isinstance(v, dict) and v.get("raised_exception") for v in exception_info.values())


def _observed(result: dict) -> str:
    if "observed_value" in result:
        return str(result["observed_value"])
    if "unexpected_count" in result:
        return f"{result.get('unexpected_count', 0)} unexpected of {result.get('element_count', 0)}"
    return ""


def run_gate(table: Table, week: date, week_df: DataFrame, inputs: SuiteInputs) -> GateResult:
    import great_expectations as gx

    # Imported here: the suites load great_expectations (2-3 s), which the CLI, the DAG files
    # and ingest-only runs should not pay for.
    from jobs.quality.suites import SUITES

    suite_name = f"{table.path.replace('/', '.')}.suite"
    suite = gx.ExpectationSuite(name=suite_name, expectations=SUITES[table.path](inputs))
    batch = _batch_definition(table.path).get_batch(batch_parameters={"dataframe": week_df})
    validation = batch.validate(suite)
    gate = GateResult(table=table.path, week_start=week, suite=suite_name)
    for res in validation.results:
        config = res.expectation_config
        gate.checks.append(
            CheckResult(
                check=(config.meta or {}).get("check", config.type),
                expectation=config.type,
                column=config.kwargs.get("column"),
                level="fail" if str(config.severity.value) == "critical" else "warn",
                # An expectation that raised is a failure, never a silent pass.
                success=bool(res.success) and not _raised(res.exception_info),
                # Unexpected values are never copied into the report: only counts.
                observed=_observed(res.result or {}),
            )
        )
    return gate

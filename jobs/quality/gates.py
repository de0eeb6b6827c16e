"""Run the gates of one week of candidate gold DataFrames, with Great Expectations: each
table's suite, and the derived suites that need more than one table, a keyed hash or the
lake's ingests (``run_week_gates``, what the pipeline calls).

GX runs in an ephemeral context on Spark DataFrames (only a week's distinct group labels
reach the driver, to be hashed); its own Data Docs load CSS and scripts from CDNs, so the
report for people is ours (report.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from schemas import Table

# GX sends usage statistics by default, read when it is imported: not from a job.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


@dataclass(frozen=True)
class SuiteInputs:
    """What the checks compare against: the table's recent history, the names seen at ingest
    and the lake's ingests (the roster is a DataFrame given to run_week_gates: an anti-join,
    never a literal set)."""

    trailing_row_counts: tuple[int, ...]  # published row counts of the previous weeks
    min_group_size: int
    has_ties: bool = True  # a week without a single tie has no PageRank to sum
    # Keyed refs of people's names (jobs/privacy/names.py, state/name_refs) and the function
    # that hashes a label the same way (``partial(name_ref, pseudo)``).
    name_refs: frozenset[str] = frozenset()
    name_ref: Callable[[str], str | None] | None = None
    # (source, finished_at of its newest ingest) for every source the lake has (newest_ingests).
    newest_ingests: tuple[tuple[str, datetime], ...] = ()
    built_at: datetime | None = None  # None: now
    max_ingest_age_days: int = 8

    def __post_init__(self):
        if self.name_refs and self.name_ref is None:
            # Refs without the keyed hash cannot be compared with anything: fail loudly, not open.
            raise ValueError("name_refs given without name_ref to hash the labels")


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


# Counts only: GX then never fetches example values (partial_unexpected_list) from Spark, which
# also saves a query per expectation.
_RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 0}


def _suite_name(table: Table) -> str:
    return f"{table.path.replace('/', '.')}.suite"


def _validate(asset: str, suite_name: str, df: DataFrame, expectations: list) -> list[CheckResult]:
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=suite_name, expectations=expectations)
    batch = _batch_definition(asset).get_batch(batch_parameters={"dataframe": df})
    validation = batch.validate(suite, result_format=_RESULT_FORMAT)
    checks = []
    for res in validation.results:
        config = res.expectation_config
        checks.append(
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
    return checks


def run_gate(table: Table, week: date, week_df: DataFrame, inputs: SuiteInputs) -> GateResult:
    """The table's own suite on its week (run_week_gates adds the checks on derived frames)."""
    # Imported here: the suites load great_expectations (2-3 s), which the CLI, the DAG files
    # and ingest-only runs should not pay for.
    from jobs.quality.suites import SUITES, no_quasi_identifier_columns

    gate = GateResult(table=table.path, week_start=week, suite=_suite_name(table))
    expectations = [*SUITES[table.path](inputs), *no_quasi_identifier_columns(week_df.columns)]
    gate.checks.extend(_validate(table.path, gate.suite, week_df, expectations))
    return gate


@dataclass
class DerivedSuite:
    """Expectations on a frame derived from a week's gold frames (edge ends joined with person
    rows, each group cell's publication rules, whether a label's keyed hash is a known name,
    ingest ages): checks that need more than one table, a keyed hash or a rule per row kind,
    still run by GX so that they report like the others. Derived frames carry booleans and
    ages, never a value of the data."""

    table: Table  # the gate whose result the checks join
    name: str  # short and stable: names the GX asset and suite
    frame: DataFrame
    expectations: list


def run_derived(derived: DerivedSuite, gate: GateResult) -> GateResult:
    """Validate a derived suite and add its checks to the gate of its table and week (one gate
    per table and week: quality/validation_runs is keyed so)."""
    if derived.table.path != gate.table:
        raise ValueError(f"derived suite {derived.name} belongs to {derived.table.path}, not {gate.table}")
    asset = f"{derived.table.path}/{derived.name}"
    gate.checks.extend(_validate(asset, f"{gate.suite}.{derived.name}", derived.frame, derived.expectations))
    return gate


def run_week_gates(week: date, frames: Mapping[str, DataFrame], inputs: Mapping[str, SuiteInputs],
                   roster_df: DataFrame | None = None) -> list[GateResult]:
    """Every gate of one week: one GateResult per gold table (in GOLD_TABLES order), each with
    its suite's checks and those of the derived suites that belong to it. ``frames`` and
    ``inputs`` are keyed by table path and hold that week's rows only; ``roster_df`` (a
    ``person`` column, e.g. silver/people) is what the roster check anti-joins with (none:
    no roster check). The week publishes only when every result has ``success``."""
    from jobs.quality.suites import derived_suites
    from schemas.gold import GOLD_TABLES

    missing = [t.path for t in GOLD_TABLES if t.path not in frames or t.path not in inputs]
    if missing:
        # A week gated without one of its tables would publish the others half-checked.
        raise ValueError(f"run_week_gates: no frame or inputs for {', '.join(missing)}")
    gates = {t.path: run_gate(t, week, frames[t.path], inputs[t.path]) for t in GOLD_TABLES}
    for derived in derived_suites(frames, inputs, roster_df):
        run_derived(derived, gates[derived.table.path])
    return list(gates.values())


def newest_ingests(spark: SparkSession, lake_root: Path | str) -> tuple[tuple[str, datetime], ...]:
    """(source, finished_at of its newest ingest, files or API alike) of every source in
    quality/ingest_runs: the freshness check's input."""
    from pyspark.sql import functions as F

    from jobs import lake
    from schemas.quality import INGEST_RUNS_TABLE

    if not lake.exists(spark, lake_root, INGEST_RUNS_TABLE):
        return ()
    rows = (lake.read(spark, lake_root, INGEST_RUNS_TABLE)
            .groupBy("source").agg(F.max("finished_at").alias("newest")).collect())
    return tuple(sorted((r["source"], r["newest"]) for r in rows))

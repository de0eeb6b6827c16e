"""Run the gates of the candidate gold DataFrames of the weeks being built, with Great
Expectations: each table's suite, and the derived suites that need more than one table, a
keyed hash, a week's aggregate or the lake's ingests (``run_gates``, what the pipeline
calls). Each suite is validated once for all the weeks; only the checks that did not pass are
validated again, week by week (``_validate_weeks``).

GX runs in an ephemeral context on Spark DataFrames (only a week's distinct group labels
reach the driver, to be hashed); its own Data Docs load CSS and scripts from CDNs, so the
report for people is ours (report.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.quality.checks import CheckResult, GateResult, SuiteInputs
from jobs.spark import computed
from schemas import Table

# GX sends usage statistics by default, read when it is imported: not from a job.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


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


# A first pass asks GX for success only: it then computes one aggregate per column and never
# fetches unexpected values (measured on a clean week: 29 Spark jobs instead of 135, a third
# less time). A suite with a check that did not pass is validated again with counts ("3
# unexpected of 120"), never with example values, so that the report says how much failed.
_SUCCESS_ONLY = {"result_format": "BOOLEAN_ONLY"}
_COUNTS = {"result_format": "BASIC", "partial_unexpected_count": 0}
PASSED = "passed"


def _suite_name(table: Table) -> str:
    return f"{table.path.replace('/', '.')}.suite"


def _validate(asset: str, table: str, suite_name: str, df: DataFrame, expectations: list,
              result_format: dict = _COUNTS) -> list[CheckResult]:
    """The checks of one GX run; each belongs to ``table`` unless its expectation names
    another (``meta["table"]``, the derived checks)."""
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=suite_name, expectations=expectations)
    batch = _batch_definition(asset).get_batch(batch_parameters={"dataframe": df})
    validation = batch.validate(suite, result_format=result_format)
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
                observed=_observed(res.result or {}) or PASSED,
                table=(config.meta or {}).get("table", table),
            )
        )
    return checks


def _identity(config) -> tuple:
    """What names a check in a suite: its check text, its expectation type and its column."""
    return (config.meta or {}).get("check", config.type), config.type, config.kwargs.get("column")


def _key(check: CheckResult) -> tuple:
    """A result's _identity (CheckResult holds the same three fields, see _validate)."""
    return check.check, check.expectation, check.column


def _validate_weeks(asset: str, table: str, suite_name: str, df: DataFrame, expectations: list,
                    weeks: list[date]) -> dict[date, list[CheckResult]]:
    """One validation over every week built, success only (one Great Expectations run, each
    metric one Spark aggregate over all the weeks). A week passes a row-wise check exactly when
    the union does, so every check that succeeds holds for each week. Only the checks that
    failed (or warned) are validated again, with counts and week by week (every checked frame
    has a week_start): each week's result names its own failures, and a backfill with one bad
    week does not run the whole suite once per week (measured on 33 planted weeks: 38 s instead
    of 105 s)."""
    checks = _validate(asset, table, suite_name, df, expectations, _SUCCESS_ONLY)
    together = f"{PASSED} ({len(weeks)} weeks checked together)" if len(weeks) > 1 else PASSED
    failed = {_key(c) for c in checks if not c.success}
    if not failed:
        return {w: [replace(c, observed=together) for c in checks] for w in weeks}
    again = [e for e in expectations if _identity(e.configuration) in failed]

    def week_checks(week_df: DataFrame) -> list[CheckResult]:
        recounted = {}
        for check in _validate(asset, table, suite_name, week_df, again):
            recounted.setdefault(_key(check), []).append(check)
        week_df.unpersist()  # cached by GX: run_gates says why it is released
        # In the suite's order: the checks that held, and in their place the recounted ones.
        out = []
        for c in checks:
            out.extend(recounted.pop(_key(c), []) if _key(c) in failed else [replace(c, observed=together)])
        return out

    if len(weeks) == 1:
        return {weeks[0]: week_checks(df)}
    return {w: week_checks(df.where(F.col("week_start") == F.lit(w))) for w in weeks}


def run_gates(frames: Mapping[str, DataFrame], inputs: Mapping[date, Mapping[str, SuiteInputs]],
              roster_df: DataFrame | None = None) -> list[GateResult]:
    """Every gate of the weeks being built: one GateResult per week and gold table (weeks in
    order, tables in GOLD_TABLES order), each with its table suite's checks and those of the
    derived suites that belong to it. ``frames`` are keyed by table path and hold the rows of
    every week in ``inputs``; ``inputs`` is keyed by week, then table path; ``roster_df`` (a
    ``person`` column, e.g. silver/people) is what the roster check anti-joins with (none: no
    roster check). Each suite runs once for all the weeks (`_validate_weeks`). A week
    publishes only when every one of its results has ``success``."""
    # Imported here: the suites load great_expectations (2-3 s), which the CLI, the DAG files
    # and ingest-only runs should not pay for.
    from jobs.quality.suites import SUITES, derived_suites, merged, no_quasi_identifier_columns
    from schemas.gold import GOLD_TABLES, NETWORK_SUMMARY_WEEKLY

    weeks = sorted(inputs)
    if not weeks:
        return []
    missing = [t.path for t in GOLD_TABLES
               if t.path not in frames or any(t.path not in inputs[w] for w in weeks)]
    if missing:
        # A week gated without one of its tables would publish the others half-checked.
        raise ValueError(f"run_gates: no frame or inputs for {', '.join(missing)}")
    gates = {(t.path, w): GateResult(table=t.path, week_start=w, suite=_suite_name(t))
             for w in weeks for t in GOLD_TABLES}
    def add(validated: dict[date, list[CheckResult]]) -> None:
        for week, checks in validated.items():
            for check in checks:
                gates[(check.table, week)].checks.append(check)

    for table in GOLD_TABLES:
        df = frames[table.path]
        # The table suites depend on the week-independent inputs only (k, the contract).
        expectations = [*SUITES[table.path](inputs[weeks[0]][table.path]), *no_quasi_identifier_columns(df.columns)]
        add(_validate_weeks(table.path, table.path, _suite_name(table), df, expectations, weeks))
        # Great Expectations caches every frame it validates (its checks are dozens of
        # aggregates over it) and never releases it: left there, the frames of every build
        # would pile up over a long-lived process (the week frames of _validate_weeks are
        # released there). Turning GX's caching off instead made the gate tests 1.5x slower:
        # every check then computed the frame again.
        df.unpersist()
    derived_df, expectations = merged(derived_suites(frames, inputs, roster_df))
    # Computed once: each expectation is an aggregate of its own over the stacked frames.
    derived_df = computed(derived_df)
    add(_validate_weeks("derived", NETWORK_SUMMARY_WEEKLY.path, "gold.derived.suite", derived_df, expectations, weeks))
    derived_df.unpersist()
    return [gates[(t.path, w)] for w in weeks for t in GOLD_TABLES]


def run_week_gates(week: date, frames: Mapping[str, DataFrame], inputs: Mapping[str, SuiteInputs],
                   roster_df: DataFrame | None = None) -> list[GateResult]:
    """The gates of a single week (``frames`` and ``inputs`` keyed by table path)."""
    return run_gates(frames, {week: inputs}, roster_df)


def newest_ingests(spark: SparkSession, lake_root: Path | str) -> tuple[tuple[str, datetime], ...]:
    """(source, finished_at of its newest ingest, files or API alike) of every source in
    quality/ingest_runs: the freshness check's input."""
    from jobs import lake
    from schemas.quality import INGEST_RUNS_TABLE

    if not lake.exists(spark, lake_root, INGEST_RUNS_TABLE):
        return ()
    rows = (lake.read(spark, lake_root, INGEST_RUNS_TABLE)
            .groupBy("source").agg(F.max("finished_at").alias("newest")).collect())
    return tuple(sorted((r["source"], r["newest"]) for r in rows))

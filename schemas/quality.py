"""Quality: one row per gate run (one suite on one table for one week)."""

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DateType,
    DoubleType,
    IntegerType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from schemas import Table

VALIDATION_RUNS = StructType(
    [
        StructField("run_id", StringType(), False),
        StructField("table", StringType(), False),
        StructField("week_start", DateType(), False),
        StructField("suite", StringType(), False),
        StructField("success", BooleanType(), False),  # no fail-level check failed
        StructField("published", BooleanType(), False),
        StructField("evaluated", IntegerType(), False),
        StructField("failed_fail", IntegerType(), False),
        StructField("failed_warn", IntegerType(), False),
        StructField("failed_checks", ArrayType(StringType(), False), False),
        StructField("key_version", StringType(), False),
        StructField("checked_at", TimestampType(), False),
        StructField("report_path", StringType(), False),
        # When the build that ran this gate started: ingests finished after it are not in it.
        StructField("build_started_at", TimestampType(), True),
    ]
)

VALIDATION_RUNS_TABLE = Table(
    "quality/validation_runs", VALIDATION_RUNS, ("run_id", "table", "week_start"), ()
)


INGEST_RUNS = StructType(
    [
        StructField("run_id", StringType(), False),
        StructField("source", StringType(), False),
        StructField("read", LongType(), False),  # read == accepted + quarantined + duplicates
        StructField("accepted", LongType(), False),
        StructField("quarantined", LongType(), False),
        StructField("duplicates", LongType(), False),
        StructField("reasons", MapType(StringType(), LongType(), False), False),  # quarantine reasons
        StructField("weeks", ArrayType(StringType(), False), False),  # ISO weeks touched
        StructField("key_version", StringType(), False),
        StructField("finished_at", TimestampType(), False),
        # Where the records came from: "files" (a landing folder) or an API vendor.
        StructField("origin", StringType(), True),
        # Read but not joined to a person (e.g. Slack users without e-mail), by reason.
        StructField("unjoined", MapType(StringType(), LongType(), False), True),
        StructField("requests", LongType(), True),  # API requests sent, retries included
        StructField("resyncs", LongType(), True),  # scopes fully resynced (expired tokens)
        StructField("cancelled", LongType(), True),  # meetings cancelled / declined by the pull
        # Landing files: new or changed ones ingested, unchanged ones skipped, unrecognised ones.
        StructField("files_ingested", LongType(), True),
        StructField("files_skipped", LongType(), True),
        StructField("files_unrecognised", LongType(), True),
    ]
)

INGEST_RUNS_TABLE = Table("quality/ingest_runs", INGEST_RUNS, ("run_id", "source", "origin"), ())

# Differential privacy spent per week and release (docs/privacy.md, "Differential privacy").
PRIVACY_BUDGET_TABLE = Table(
    "quality/privacy_budget",
    StructType([
        StructField("week_start", DateType(), False),
        StructField("run_id", StringType(), False),
        StructField("release", StringType(), False),  # the table released, e.g. gold/group_metrics_weekly
        StructField("mechanism", StringType(), False),  # e.g. laplace (OpenDP)
        StructField("epsilon", DoubleType(), False),
        StructField("recorded_at", TimestampType(), False),
    ]),
    ("week_start", "run_id", "release"),
    description="Privacy budget spent by each DP release",
)

# `ona erase` runs, without who (docs/privacy.md, "Erasure").
ERASURES_TABLE = Table(
    "quality/erasures",
    StructType([
        StructField("erasure_id", StringType(), False),
        StructField("erased_at", TimestampType(), False),
        StructField("reason", StringType(), False),  # "request" (ona erase) or "opt-out"
        StructField("people", IntegerType(), False),  # how many people were erased
        StructField("rows_removed", MapType(StringType(), LongType(), False), False),  # table -> rows deleted
        StructField("rows_changed", MapType(StringType(), LongType(), False), False),  # table -> rows that only named them
        StructField("weeks_rebuilt", ArrayType(StringType(), False), False),
        StructField("tables_vacuumed", IntegerType(), False),
    ]),
    ("erasure_id",),
    description="Erasures applied (counts only, never who)",
)

# Retention applied per table (docs/privacy.md, "Retention").
RETENTION_RUNS_TABLE = Table(
    "quality/retention_runs",
    StructType([
        StructField("run_id", StringType(), False),
        StructField("table", StringType(), False),
        StructField("applied_at", TimestampType(), False),
        StructField("window_weeks", IntegerType(), False),
        StructField("cutoff", DateType(), False),  # rows before this date were removed
        StructField("rows_removed", LongType(), False),
        StructField("vacuum_retain_hours", IntegerType(), False),
    ]),
    ("run_id", "table"),
    description="Retention windows applied, with VACUUM",
)

# Weeks waiting for, or given, a privacy officer's approval (docs/privacy.md, "Approval").
APPROVALS_TABLE = Table(
    "quality/approvals",
    StructType([
        StructField("week_start", DateType(), False),
        StructField("run_id", StringType(), False),
        StructField("state", StringType(), False),  # waiting, approved, rejected, superseded
        StructField("staged_at", TimestampType(), False),
        StructField("decided_at", TimestampType(), True),
    ]),
    ("week_start", "run_id"),
    description="Gate-passed weeks staged for approval, and the decisions",
)

# Which build run is current for each published week: the one commit that makes a week's
# silver and gold rows (run-tagged tables, Table.run_tagged) current together
# (docs/lake.md, "Publishing a week"). BI reads a gold table joined to it on
# (week_start, run_id), or the table alone once the run has tidied up.
PUBLISHED_WEEKS_TABLE = Table(
    "quality/published_weeks",
    StructType([
        StructField("week_start", DateType(), False),
        StructField("run_id", StringType(), False),
        StructField("published_at", TimestampType(), False),
        StructField("build_started_at", TimestampType(), True),
    ]),
    ("week_start",),
    description="The current run of each published week",
)

QUALITY_TABLES = (VALIDATION_RUNS_TABLE, PUBLISHED_WEEKS_TABLE, INGEST_RUNS_TABLE, PRIVACY_BUDGET_TABLE, ERASURES_TABLE,
                  RETENTION_RUNS_TABLE, APPROVALS_TABLE)

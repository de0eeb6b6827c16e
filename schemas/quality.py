"""Quality: one row per gate run (one suite on one table for one week)."""

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DateType,
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

"""Reading and writing the Delta tables of the lake contract (schemas/).

Writes are idempotent by construction: bronze merges on its record key, week tables replace
exactly the weeks being written (replaceWhere), snapshots overwrite. A rerun gives the same
tables, with no duplicates.

Writes are also safe to run at once from several jobs (the four ingest DAGs and the weekly
build share the audit and state tables). Delta commits optimistically: a commit that conflicts
with one made since it read the table fails with a concurrent-modification error, and Delta's
documented remedy is to run the operation again on the new snapshot. Every write here is
retried that way (``_committed``), which the idempotent writes make harmless; so is the race of
two jobs creating the same table.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path

import tenacity
from delta import exceptions as delta_errors
from delta.tables import DeltaMergeBuilder, DeltaTable
from py4j.protocol import Py4JJavaError
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, StructType

from jobs.lake_location import is_local, join, location
from jobs.frames import empty_frame
from jobs.spark import session_conf
from schemas import RUN_ID, Table
from schemas.quality import PUBLISHED_WEEKS_TABLE

log = logging.getLogger("ona")

# Delta's commit conflicts, as PySpark raises them (sibling classes, not one hierarchy).
DELTA_CONFLICTS = (
    delta_errors.DeltaConcurrentModificationException, delta_errors.ConcurrentWriteException,
    delta_errors.MetadataChangedException, delta_errors.ProtocolChangedException,
    delta_errors.ConcurrentAppendException, delta_errors.ConcurrentDeleteReadException,
    delta_errors.ConcurrentDeleteDeleteException, delta_errors.ConcurrentTransactionException,
)

# A commit retried after a conflict: up to 10 attempts, waits growing from about 0.2 s to 10 s
# with jitter (so jobs that collided do not collide again in step).
COMMIT_ATTEMPTS = 10


class _TableCreatedMeanwhile(Exception):
    """Another job created the table between our look and our first write: write again."""


def _log_retry(state: tenacity.RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning("Delta commit conflicted with a concurrent job (%s); attempt %d of %d",
                type(error).__name__, state.attempt_number + 1, COMMIT_ATTEMPTS)


def _committed(write):
    """Run a Delta write again when a concurrent commit beat it (module docstring)."""
    retrying = tenacity.retry(
        retry=tenacity.retry_if_exception_type((*DELTA_CONFLICTS, _TableCreatedMeanwhile)),
        wait=tenacity.wait_exponential_jitter(multiplier=0.2, max=10, jitter=0.5),
        stop=lambda state: state.attempt_number >= COMMIT_ATTEMPTS,
        before_sleep=_log_retry,
        reraise=True,
    )
    return retrying(write)


STATS_COLUMNS = "delta.dataSkippingStatsColumns"
# Tables of this process whose statistics columns are the contract's (created here, or checked).
_stats_checked: set[str] = set()


def table_properties(table: Table) -> dict[str, str]:
    """The Delta properties a table is created with: file statistics on the contract's columns
    only (``Table.stats_columns``)."""
    return {STATS_COLUMNS: ",".join(table.stats_columns)}


def _create(df: DataFrame, table: Table, path: str, spark: SparkSession, lake: Path | str) -> None:
    """Create a table with its first rows; losing a creation race to another job is a retry."""
    try:
        df.write.format("delta").partitionBy(*table.partition_by).options(**table_properties(table)).save(path)
        _stats_checked.add(path)
    except (AnalysisException, *DELTA_CONFLICTS) as error:
        if exists(spark, lake, table):
            raise _TableCreatedMeanwhile(str(error)) from error
        raise


def _hadoop_file(spark: SparkSession, path: str):
    """A path as Hadoop's FileSystem API takes it, with the file system that serves it (local,
    S3A, ABFS, ...), configured as the session's tables are."""
    hadoop_path = spark.sparkContext._jvm.org.apache.hadoop.fs.Path(path)
    return hadoop_path, hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())


def write_text(spark: SparkSession | None, path: str, text: str) -> None:
    """Write a small UTF-8 file (a report page) below a lake root. Local folders are written
    with Python; a URL through Hadoop's FileSystem, the layer Spark writes the tables with (the
    S3A connector for s3a://), so a report sits beside its tables in an object store too."""
    if is_local(path):
        target = Path(location(path))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        return
    if spark is None:
        raise ValueError(f"writing {path} needs the Spark session (its file systems)")
    hadoop_path, fs = _hadoop_file(spark, path)
    stream = fs.create(hadoop_path, True)  # overwrite: a rerun redraws its report
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()


def table_path(lake: Path | str, table: Table) -> str:
    return join(lake, table.path)


class LakeUnreachableError(RuntimeError):
    """The lake's file system failed a look-up: a missing bucket, refused credentials, an
    unreachable endpoint, no connector for the URL's scheme. Every job looks into the lake before
    it writes there, so a store unreachable from the start means nothing was written; one lost
    in the middle of a run leaves the run's weeks unpublished (the publish is atomic)."""


def _unreachable(lake: Path | str, error: Py4JJavaError) -> LakeUnreachableError:
    """One line from the Java exception's innermost cause, without the store's request ids."""
    cause = error.java_exception
    while cause.getCause() is not None:
        cause = cause.getCause()
    reason = str(cause.getMessage() or cause.getClass().getSimpleName()).split(" (Service:")[0].splitlines()[0]
    return LakeUnreachableError(f"the lake at {location(lake)} cannot be reached: {reason}")


def exists(spark: SparkSession, lake: Path | str, table: Table) -> bool:
    try:
        return DeltaTable.isDeltaTable(spark, table_path(lake, table))
    except Py4JJavaError as error:  # a missing path is False; this is the file system failing
        raise _unreachable(lake, error) from error


def read(spark: SparkSession, lake: Path | str, table: Table) -> DataFrame:
    """The table, or an empty frame of its schema when it was never written."""
    if exists(spark, lake, table):
        return spark.read.format("delta").load(table_path(lake, table))
    return empty_frame(spark, table.stored_schema)


def row_count(spark: SparkSession, lake: Path | str, table: Table) -> int:
    """Rows of the table (0 when never written). Delta answers an unfiltered count from the
    file statistics in its log, without reading the data."""
    return spark.read.format("delta").load(table_path(lake, table)).count() if exists(spark, lake, table) else 0


def read_published(spark: SparkSession, lake: Path | str, table: Table) -> DataFrame:
    """A run-tagged table's current rows: those of the run quality/published_weeks names for
    their week. Rows written before tables were run-tagged (null run_id) count in weeks no
    publish has named yet; a candidate of a run that crashed or was blocked never counts."""
    df = read(spark, lake, table)
    if not table.run_tagged or RUN_ID not in df.columns or not exists(spark, lake, PUBLISHED_WEEKS_TABLE):
        return df
    current = read(spark, lake, PUBLISHED_WEEKS_TABLE).select("week_start", F.col(RUN_ID).alias("_current_run"))
    named = F.col(RUN_ID) == F.col("_current_run")
    legacy = F.col(RUN_ID).isNull() & F.col("_current_run").isNull()
    return df.join(F.broadcast(current), "week_start", "left").where(named | legacy).drop("_current_run")


def published_rows_sql(table_sql: str, pointer_sql: str) -> str:
    """``read_published``'s rule as a SQL query over a run-tagged table and the pointer table
    (for SQL views, which cannot hold a DataFrame): the rows of the run the pointer names for
    their week, and rows without a run id in weeks no publish named yet."""
    return (
        f"SELECT t.* FROM {table_sql} t "
        f"LEFT JOIN (SELECT week_start AS current_week, {RUN_ID} AS current_run FROM {pointer_sql}) p "
        f"ON t.week_start = p.current_week "
        f"WHERE t.{RUN_ID} = p.current_run OR (t.{RUN_ID} IS NULL AND p.current_run IS NULL)")


def conform(df: DataFrame, table: Table) -> DataFrame:
    """Select the table's columns in contract order, atomic ones cast to the contract types
    (nested types are built to the contract by the transforms; Spark cannot cast an array's
    element nullability)."""
    def column(field):
        if isinstance(field.dataType, (ArrayType, StructType)):
            return F.col(field.name)
        return F.col(field.name).cast(field.dataType).alias(field.name)

    return df.select([column(f) for f in table.stored_schema.fields])


def _partition_condition(table: Table, partition: Mapping[str, str | tuple[str, ...]]) -> str:
    """``t.col IN ('value', ...)`` for each partition column: a MERGE that names its partitions
    reads only those, so Delta finds no conflict with a concurrent commit to another one."""
    if set(partition) != set(table.partition_by):
        raise ValueError(f"{table.path} is partitioned by {table.partition_by}, not {tuple(partition)}")
    conditions = []
    for column, values in partition.items():
        values = (values,) if isinstance(values, str) else tuple(values)
        if not values:
            raise ValueError(f"no {column} partition of {table.path} named")
        conditions.append(f"t.`{column}` IN ({', '.join(_sql_literal(v, 'a partition value') for v in values)})")
    return " AND ".join(conditions)


_partitioning_checked: set[str] = set()


@_committed
def _stats_as_contract(spark: SparkSession, table: Table, path: str) -> None:
    """Give a table created before the contract chose its statistics columns those columns,
    once per process and table. Only columns the table has yet: one that schema evolution adds
    with this write joins at the next process's check. Files written from then on carry only
    these statistics; older files keep theirs until a write replaces them (an erasure purges
    the log at once: docs/privacy.md)."""
    if path in _stats_checked:
        return
    properties = {row["key"]: row["value"] for row in spark.sql(f"SHOW TBLPROPERTIES delta.`{path}`").collect()}
    current = properties.get(STATS_COLUMNS)
    if current != table_properties(table)[STATS_COLUMNS]:
        columns = set(DeltaTable.forPath(spark, path).toDF().columns)
        wanted = ",".join(c for c in table.stats_columns if c in columns)
        if wanted and current != wanted:
            log.info("file statistics of %s: only %s from now on", table.path, wanted)
            spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ('{STATS_COLUMNS}' = '{wanted}')")
    _stats_checked.add(path)


def _created(spark: SparkSession, lake: Path | str, table: Table, df: DataFrame) -> bool:
    """Create the table with df's rows when it does not exist yet (True: the write is done).
    Otherwise bring an older table to the contract before the write (False): its `run_id`
    column if run-tagged, then its statistics columns."""
    path = table_path(lake, table)
    if not exists(spark, lake, table):
        _create(df, table, path, spark, lake)
        return True
    if table.run_tagged:
        add_run_column(spark, lake, table)
    _stats_as_contract(spark, table, path)
    return False


def _partition_as_contract(spark: SparkSession, table: Table, path: str) -> None:
    """Rewrite a table written before its contract partitioned it (a small state table), once
    per process: the rows stay, the files are laid out by the contract's columns."""
    if path in _partitioning_checked:
        return
    current = tuple(DeltaTable.forPath(spark, path).detail().first()["partitionColumns"])
    if current != table.partition_by:
        log.info("partitioning %s by %s (it was written before the contract partitioned it)",
                 table.path, ", ".join(table.partition_by))
        (spark.read.format("delta").load(path).write.format("delta").mode("overwrite")
         .option("overwriteSchema", "true").partitionBy(*table.partition_by).save(path))
    _partitioning_checked.add(path)


@_committed
def merge_rows(spark: SparkSession, lake: Path | str, table: Table, df: DataFrame,
               replace_file_refs: set[str] | frozenset[str] = frozenset(),
               clauses: Callable[[DeltaMergeBuilder], DeltaMergeBuilder] | None = None,
               partition: Mapping[str, str | tuple[str, ...]] | None = None) -> None:
    """Upsert on the table's keys: reloading the same records changes nothing. ``clauses``
    replaces the default when-clauses (update all, insert all) for tables with their own rules.

    ``replace_file_refs`` re-ingests changed landing files: rows whose ``file_ref`` is one of
    them and whose key is not in ``df`` are deleted in the same MERGE (one commit), so a file
    whose content changed ends with exactly its new records, not its old ones plus the new.
    Rows of files not named are never deleted.

    ``partition`` ({column: value or tuple of values} for every partition column; every row of
    ``df`` has one of those values) confines the MERGE to those partitions, so that jobs writing
    other partitions at the same time never conflict with it."""
    df = conform(df, table)
    path = table_path(lake, table)
    if _created(spark, lake, table, df):
        return
    condition = " AND ".join(f"t.`{k}` = s.`{k}`" for k in table.keys)
    if partition is not None:
        _partition_as_contract(spark, table, path)
        condition += " AND " + _partition_condition(table, partition)
    merge = DeltaTable.forPath(spark, path).alias("t").merge(df.alias("s"), condition)
    merge = clauses(merge) if clauses else merge.whenMatchedUpdateAll().whenNotMatchedInsertAll()
    if replace_file_refs:
        merge = merge.whenNotMatchedBySourceDelete(F.col("t.file_ref").isin(sorted(replace_file_refs)))
    merge.execute()


@_committed
def append_once(spark: SparkSession, lake: Path | str, table: Table, df: DataFrame, write_id: str) -> None:
    """Append rows that no other write adds (an audit row of one run), at most once per
    ``write_id``. A blind append reads nothing, so concurrent writers never conflict with it
    (a MERGE on the keys reads the table and does). Delta's idempotent writes
    (``txnAppId``/``txnVersion``) make a retried append of the same id a no-op."""
    df = conform(df, table)
    if _created(spark, lake, table, df):
        return
    (df.write.format("delta").mode("append").option("mergeSchema", "true")
     .option("txnAppId", write_id).option("txnVersion", 0).save(table_path(lake, table)))


_PLAIN_VALUE = re.compile(r"^[\w.:-]+$")


def _sql_literal(value: str, what: str = "a run id") -> str:
    """A run id or partition value as an SQL literal: they are generated or fixed names, but
    `ona approve --run` passes one from a person, so anything else is refused rather than
    quoted."""
    if not _PLAIN_VALUE.match(value):
        raise ValueError(f"not {what}: {value!r}")
    return f"'{value}'"


def add_run_column(spark: SparkSession, lake: Path | str, table: Table) -> None:
    """Give a run-tagged table written before rows carried their run its `run_id` column (old
    rows: null). The only migration of run tagging; nothing is rewritten."""
    path = table_path(lake, table)
    if RUN_ID not in DeltaTable.forPath(spark, path).toDF().columns:
        spark.sql(f"ALTER TABLE delta.`{path}` ADD COLUMNS ({RUN_ID} STRING)")


@_committed
def replace_run_weeks(spark: SparkSession, lake: Path | str, table: Table, df: DataFrame, weeks: list[date],
                      run_id: str, keep_runs: set[str] | frozenset[str]) -> None:
    """Write one run's rows of the weeks into a run-tagged table in one commit: the rows of
    other runs of those weeks go, except those of ``keep_runs`` (the weeks' current runs) and
    untagged rows, which stay current until the publish switches the weeks (jobs/publish.py)."""
    if not weeks:
        return
    df = conform(df.withColumn(RUN_ID, F.lit(run_id)), table)
    path = table_path(lake, table)
    if _created(spark, lake, table, df):
        return
    week_list = ", ".join(f"DATE'{w.isoformat()}'" for w in sorted(set(weeks)))
    condition = f"week_start IN ({week_list}) AND {RUN_ID} IS NOT NULL"
    if keep_runs:
        condition += f" AND {RUN_ID} NOT IN ({', '.join(_sql_literal(r) for r in sorted(keep_runs))})"
    (df.write.format("delta").mode("overwrite").partitionBy(*table.partition_by)
     .option("replaceWhere", condition).save(path))


@_committed
def delete_rows(spark: SparkSession, lake: Path | str, table: Table, condition) -> None:
    """DELETE the rows matching a Column condition (nothing when the table was never written).
    The files it rewrites carry the contract's statistics too."""
    if exists(spark, lake, table):
        _stats_as_contract(spark, table, table_path(lake, table))
        DeltaTable.forPath(spark, table_path(lake, table)).delete(condition)


@_committed
def overwrite(spark: SparkSession, lake: Path | str, table: Table, df: DataFrame) -> None:
    """Replace a snapshot table (silver/people) whole."""
    df = conform(df, table)
    if _created(spark, lake, table, df):
        return
    df.write.format("delta").mode("overwrite").partitionBy(*table.partition_by).save(table_path(lake, table))


# ---------------------------------------------------------------- maintenance (erasure, retention)

RETENTION_CHECK = "spark.databricks.delta.retentionDurationCheck.enabled"
VACUUM_LOGGING = "spark.databricks.delta.vacuum.logging.enabled"
# VACUUM lists a table's folders with this many Spark tasks (default 10000): one VACUUM of a
# small table took 67-113 s on 2 busy cores with it, 5-8 s with 4 (the erasure test's lake).
LISTING_PARALLELISM = "spark.sql.sources.parallelPartitionDiscovery.parallelism"
# Delta's own floor (the default delta.deletedFileRetentionDuration): VACUUM below it is refused
# unless the retention check is off.
DELTA_MIN_RETAIN_HOURS = 168
# A _delta_log entry that belongs to one version: 00000000000000000012.json, .crc,
# .checkpoint.parquet, .checkpoint.<part>.<parts>.parquet, .checkpoint.<uuid>.json|parquet, and
# 00000000000000000010.00000000000000000012.compacted.json (named by its first version).
_VERSIONED = re.compile(r"^(\d{20})\.")


def _location(lake: Path | str, table: Table | str) -> str:
    return table_path(lake, table) if isinstance(table, Table) else join(lake, table)


def vacuum(spark: SparkSession, lake: Path | str, table: Table | str, retain_hours: float) -> None:
    """VACUUM one table: delete the data files no version younger than ``retain_hours`` needs.

    Below Delta's 168-hour floor the retention check is switched off for this call only: the
    callers (erasure, retention) mean it, and every other job keeps the guard."""
    conf = {VACUUM_LOGGING: "true", LISTING_PARALLELISM: str(max(2, spark.sparkContext.defaultParallelism))}
    if retain_hours < DELTA_MIN_RETAIN_HOURS:
        conf[RETENTION_CHECK] = "false"
    with session_conf(spark, conf):
        DeltaTable.forPath(spark, _location(lake, table)).vacuum(float(retain_hours))


def purge_history(spark: SparkSession, lake: Path | str, table: Table | str) -> int:
    """Leave a table with its current version only: no data file and no log entry of an older
    version remains, so neither time travel nor a look at the files can return a removed row.
    Returns how many log entries were deleted.

    Delta's commits, version checksums and older checkpoints carry per-file min/max statistics
    and DELETE/UPDATE predicates in plain text, so VACUUM alone is not enough. The steps:

    1. VACUUM RETAIN 0 HOURS (with VACUUM logging forced on, so that the newest commit is Delta's
       VACUUM END entry: counts only, no statistics and no predicate);
    2. a checkpoint of that newest version (``DeltaLog.checkpoint``), checked to be in place;
    3. every log entry of an older version deleted (commits, checksums, checkpoints, compacted
       commits, staged commits), together with Hadoop's ``.crc`` sidecar files.

    This is what Delta's own log clean-up does once ``delta.logRetentionDuration`` has passed,
    without the wait: readers rebuild the table from the newest checkpoint plus the commits
    after it, which all stay (the checkpoint version's commit too: Delta needs it). Tables with
    v2 checkpoints (sidecar files) are refused rather than half purged. Run it while no job
    writes the table: a reader still on an older version fails instead of reading it.
    """
    location = _location(lake, table)
    jvm = spark.sparkContext._jvm
    log_dir, fs = _hadoop_file(spark, location.rstrip("/") + "/_delta_log")
    sidecars = jvm.org.apache.hadoop.fs.Path(log_dir, "_sidecars")
    if fs.exists(sidecars) and len(fs.listStatus(sidecars)) > 0:
        raise RuntimeError(f"{location}: v2 checkpoint sidecars present; history not purged")

    vacuum(spark, lake, table, 0)
    none = jvm.scala.Option.empty()
    delta_log = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, location)
    snapshot = delta_log.update(False, none, none)
    version = snapshot.version()
    delta_log.checkpoint(snapshot, none)
    prefix = f"{version:020d}."
    if not any(s.getPath().getName().startswith(prefix + "checkpoint") for s in fs.listStatus(log_dir)):
        raise RuntimeError(f"{location}: no checkpoint at version {version}; history not purged")

    deleted = 0
    for folder in (log_dir, jvm.org.apache.hadoop.fs.Path(log_dir, "_staged_commits")):
        if not fs.exists(folder):
            continue
        for status in fs.listStatus(folder):
            match = _VERSIONED.match(status.getPath().getName())
            # ChecksumFileSystem (local disks) deletes the .crc sidecar with its file.
            if match and int(match[1]) < version and fs.delete(status.getPath(), False):
                deleted += 1
    delta_log_class = jvm.org.apache.spark.sql.delta.DeltaLog
    delta_log_class.invalidateCache(spark._jsparkSession, jvm.org.apache.hadoop.fs.Path(location))
    _remove_orphan_checksums(location)
    return deleted


def _remove_orphan_checksums(location: str) -> None:
    """Delete Hadoop ``.<name>.crc`` files whose ``<name>`` is gone (local lakes only): a
    checksum names no value, but one without its file is litter from a deletion that bypassed
    the checksumming file system."""
    if not os.path.isdir(location):
        return
    for folder, _, files in os.walk(location):
        present = set(files)
        for name in files:
            if name.startswith(".") and name.endswith(".crc") and name[1:-4] not in present:
                os.remove(os.path.join(folder, name))

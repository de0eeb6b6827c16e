"""Reading and writing the Delta tables of the lake contract (schemas/).

Writes are idempotent by construction: bronze merges on its record key, week tables replace
exactly the weeks being written (replaceWhere), snapshots overwrite. A rerun gives the same
tables, with no duplicates.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, StructType

from schemas import Table


def table_path(lake: Path | str, table: Table) -> str:
    return str(Path(lake) / table.path)


def exists(spark: SparkSession, lake: Path | str, table: Table) -> bool:
    return DeltaTable.isDeltaTable(spark, table_path(lake, table))


def read(spark: SparkSession, lake: Path | str, table: Table) -> DataFrame:
    """The table, or an empty frame of its schema when it was never written."""
    if exists(spark, lake, table):
        return spark.read.format("delta").load(table_path(lake, table))
    return spark.createDataFrame([], table.schema)


def conform(df: DataFrame, table: Table) -> DataFrame:
    """Select the table's columns in contract order, atomic ones cast to the contract types
    (nested types are built to the contract by the transforms; Spark cannot cast an array's
    element nullability)."""
    def column(field):
        if isinstance(field.dataType, (ArrayType, StructType)):
            return F.col(field.name)
        return F.col(field.name).cast(field.dataType).alias(field.name)

    return df.select([column(f) for f in table.schema.fields])


def merge_rows(spark: SparkSession, lake: Path | str, table: Table, df: DataFrame,
               replace_file_refs: set[str] | frozenset[str] = frozenset()) -> None:
    """Upsert on the table's keys: reloading the same records changes nothing.

    ``replace_file_refs`` re-ingests changed landing files: rows whose ``file_ref`` is one of
    them and whose key is not in ``df`` are deleted in the same MERGE (one commit), so a file
    whose content changed ends with exactly its new records, not its old ones plus the new.
    Rows of files not named are never deleted."""
    df = conform(df, table)
    path = table_path(lake, table)
    if not exists(spark, lake, table):
        df.write.format("delta").partitionBy(*table.partition_by).save(path)
        return
    condition = " AND ".join(f"t.`{k}` = s.`{k}`" for k in table.keys)
    merge = (
        DeltaTable.forPath(spark, path)
        .alias("t")
        .merge(df.alias("s"), condition)
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
    )
    if replace_file_refs:
        merge = merge.whenNotMatchedBySourceDelete(F.col("t.file_ref").isin(sorted(replace_file_refs)))
    merge.execute()


def replace_weeks(
    spark: SparkSession, lake: Path | str, table: Table, df: DataFrame, weeks: list[date]
) -> None:
    """Replace the given weeks of a week-partitioned table and nothing else."""
    if not weeks:
        return
    df = conform(df, table)
    path = table_path(lake, table)
    week_list = ", ".join(f"DATE'{w.isoformat()}'" for w in sorted(set(weeks)))
    writer = df.write.format("delta").mode("overwrite").partitionBy(*table.partition_by)
    if exists(spark, lake, table):
        writer = writer.option("replaceWhere", f"week_start IN ({week_list})")
    writer.save(path)


def overwrite(spark: SparkSession, lake: Path | str, table: Table, df: DataFrame) -> None:
    """Replace a snapshot table (silver/people) whole."""
    conform(df, table).write.format("delta").mode("overwrite").partitionBy(*table.partition_by).save(
        table_path(lake, table)
    )




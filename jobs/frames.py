"""Spark frames from values the driver holds: rows of Python values, or none at all.

PySpark turns a Python list into a frame by pickling it into a parallelised RDD that Python
tasks convert back; each such frame costs a Python task whenever a query reads it. A run makes
them for bronze itself (the parsers' rows, one per source ingested), the quarantine, the audit
tables and a few small frames of each build (week lists, mappings). Built as an Arrow table
instead, the JVM reads the columns directly and no Python task runs: a one-row frame built and
counted in 211 ms against 299 ms, 200,000 bronze rows in 2.6 s against 6.3 s
(docs/performance.md, "Frames from Python rows").

The Arrow path skips the checks PySpark makes row by row (`verifySchema`), so they are made
here: a value of the wrong type is refused by Arrow, with the column named; a float in a
whole-number column, which Arrow would truncate, is refused; a None where the schema allows
none (at any depth: array elements, map values, struct fields) is refused on whole columns
before Spark sees it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import ArrayType, DataType, IntegralType, MapType, StructType, TimestampType


def empty_frame(spark: SparkSession, schema: StructType) -> DataFrame:
    """A frame of no rows with exactly this schema, that runs no task: made from a list, even an
    empty one, PySpark parallelises it and turns it into rows in Python tasks (about 150-250 ms
    more each time a query reads it, docs/performance.md, "Python tasks")."""
    return spark.createDataFrame(spark.sparkContext.emptyRDD(), schema)


def frame_from_rows(spark: SparkSession, rows: Iterable[Sequence | Mapping[str, Any]],
                    schema: StructType) -> DataFrame:
    """The rows as a frame of exactly this schema, through Arrow. A row is a tuple in the
    schema's field order or a mapping by field name (a missing name is None). Naive datetimes
    are local times, as PySpark reads them. Raises TypeError for a value Arrow cannot hold in
    its column's type (or a float in a whole-number column) and ValueError for a None the
    schema forbids."""
    from pyspark.sql.pandas.types import to_arrow_schema

    names = schema.names
    rows = [tuple(row.get(n) for n in names) if isinstance(row, Mapping) else row for row in rows]
    if not rows:
        return empty_frame(spark, schema)
    widths = {len(row) for row in rows}
    if widths != {len(names)}:
        raise ValueError(f"rows of {sorted(widths)} values for a schema of {len(names)} columns")
    arrow_schema = to_arrow_schema(schema)
    columns = []
    for field, arrow_field, values in zip(schema.fields, arrow_schema, zip(*rows)):
        if _needs_a_look(field.dataType):
            values = [_as_pyspark_reads(v, field.dataType, field.name) for v in values]
        try:
            column = pa.array(values, type=arrow_field.type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as error:
            raise TypeError(f"column {field.name} ({field.dataType.simpleString()}): {error}") from error
        where = _forbidden_null(column, field.dataType, field.nullable, field.name)
        if where:
            raise ValueError(f"{where}: None where the schema ({field.dataType.simpleString()}) allows none")
        columns.append(column)
    df = spark.createDataFrame(pa.Table.from_arrays(columns, schema=arrow_schema), schema)
    # Arrow makes one partition per batch (spark.sql.execution.arrow.maxRecordsPerBatch rows,
    # 10,000 by default): bronze at 10k people would have ~350; a parallelised list had one per core.
    batch_rows = int(spark.conf.get("spark.sql.execution.arrow.maxRecordsPerBatch", "10000"))
    return df.coalesce(spark.sparkContext.defaultParallelism) if 0 < batch_rows < len(rows) else df


def _forbidden_null(column: pa.Array, data_type: DataType, nullable: bool, path: str) -> str | None:
    """The path of the first None the schema forbids (column, column[] for array elements,
    column{} for map values, column.field), or None."""
    if not nullable and column.null_count:
        return path
    present = column.filter(column.is_valid()) if column.null_count else column
    if isinstance(data_type, ArrayType):
        return _forbidden_null(present.flatten(), data_type.elementType, data_type.containsNull, f"{path}[]")
    if isinstance(data_type, MapType):
        return _forbidden_null(present.items, data_type.valueType, data_type.valueContainsNull, f"{path}{{}}")
    if isinstance(data_type, StructType):
        for index, child in enumerate(data_type.fields):
            where = _forbidden_null(present.field(index), child.dataType, child.nullable, f"{path}.{child.name}")
            if where:
                return where
    return None


def _needs_a_look(data_type: DataType) -> bool:
    """Whether the type holds a timestamp or a whole number at some depth: the values Arrow
    would take differently from PySpark (naive times as UTC, floats truncated to integers)."""
    if isinstance(data_type, (TimestampType, IntegralType)):
        return True
    if isinstance(data_type, ArrayType):
        return _needs_a_look(data_type.elementType)
    if isinstance(data_type, MapType):
        return _needs_a_look(data_type.keyType) or _needs_a_look(data_type.valueType)
    if isinstance(data_type, StructType):
        return any(_needs_a_look(f.dataType) for f in data_type.fields)
    return False


def _as_pyspark_reads(value: Any, data_type: DataType, path: str) -> Any:
    """value as PySpark's rows read it: a naive datetime is a local time (Arrow would read it
    as UTC; the naive times Spark hands back are local too), and a float in a whole-number
    column is refused (Arrow would truncate 2.5 to 2 without a word)."""
    if value is None:
        return None
    if isinstance(data_type, TimestampType):
        return value.astimezone() if isinstance(value, datetime) and value.tzinfo is None else value
    if isinstance(data_type, IntegralType):
        if isinstance(value, float):
            raise TypeError(f"column {path} ({data_type.simpleString()}): {value!r} is a float, not a whole number")
        return value
    if isinstance(data_type, ArrayType):
        return [_as_pyspark_reads(v, data_type.elementType, f"{path}[]") for v in value]
    if isinstance(data_type, MapType):
        pairs = value.items() if isinstance(value, Mapping) else value
        return [(_as_pyspark_reads(k, data_type.keyType, f"{path}{{}}"),
                 _as_pyspark_reads(v, data_type.valueType, f"{path}{{}}")) for k, v in pairs]
    if isinstance(data_type, StructType):
        named = value if isinstance(value, Mapping) else dict(zip(data_type.names, value))
        return {f.name: _as_pyspark_reads(named.get(f.name), f.dataType, f"{path}.{f.name}") for f in data_type.fields}
    return value

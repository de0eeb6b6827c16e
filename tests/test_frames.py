"""jobs.frames: frames from the driver's rows through Arrow keep their schema and values, never run a
Python task, refuse what PySpark's row checks refused (a wrong type, a None the schema forbids, at
any depth), read naive times as local, and an empty frame runs no task at all."""

from __future__ import annotations

import os
import time
from datetime import date, datetime, timezone

import pytest
from pyspark.sql import Row
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs.frames import empty_frame, frame_from_rows

ATTENDEE = T.StructType([T.StructField("person", T.StringType(), False), T.StructField("role", T.StringType(), True)])
MEETINGS = T.StructType([
    T.StructField("record_id", T.StringType(), False),
    T.StructField("starts_at", T.TimestampType(), False),
    T.StructField("week_start", T.DateType(), False),
    T.StructField("minutes", T.DoubleType(), True),
    T.StructField("attendees", T.ArrayType(ATTENDEE, False), False),
    T.StructField("reasons", T.MapType(T.StringType(), T.LongType(), False), True),
    T.StructField("tags", T.ArrayType(T.StringType(), True), True),
    T.StructField("is_recurring", T.BooleanType(), False),
])
NINE_UTC = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def _lineage(df) -> str:
    return df._jdf.queryExecution().toRdd().toDebugString()


def test_rows_as_tuples_or_mappings_come_back_with_their_values_and_schema(spark):
    rows = [
        ("m1", NINE_UTC, date(2026, 3, 2), 30.0, [{"person": "p1", "role": "CHAIR"}, {"person": "p2", "role": None}],
         {"bad_uid": 2}, ["x", None], True),
        {"record_id": "m2", "starts_at": NINE_UTC, "week_start": date(2026, 3, 2),
         "attendees": [], "is_recurring": False},  # the missing names are None
    ]
    df = frame_from_rows(spark, rows, MEETINGS)

    assert df.schema == MEETINGS  # NOT NULL and nested nullability as given
    got = {r["record_id"]: r for r in df.collect()}
    local_nine = NINE_UTC.astimezone().replace(tzinfo=None)  # Spark hands back naive local times
    assert got["m1"] == Row(record_id="m1", starts_at=local_nine, week_start=date(2026, 3, 2), minutes=30.0,
                            attendees=[Row(person="p1", role="CHAIR"), Row(person="p2", role=None)],
                            reasons={"bad_uid": 2}, tags=["x", None], is_recurring=True)
    assert got["m2"] == Row(record_id="m2", starts_at=local_nine, week_start=date(2026, 3, 2), minutes=None,
                            attendees=[], reasons=None, tags=None, is_recurring=False)
    # The instant is stored, not the wall time: the session's zone (UTC) shows 09:00.
    assert df.select(F.date_format("starts_at", "yyyy-MM-dd HH:mm").alias("t")).first()["t"] == "2026-03-02 09:00"


def test_no_python_task_builds_the_frame(spark):
    """A list's frame is read back by a PythonRDD (a Python task each time a query reads it);
    the Arrow frame's lineage holds none. Sabotage check: the list's frame does."""
    schema = T.StructType([T.StructField("n", T.LongType(), False)])
    assert "PythonRDD" in _lineage(spark.createDataFrame([(1,)], schema))
    assert "PythonRDD" not in _lineage(frame_from_rows(spark, [(1,)], schema))


def test_a_naive_time_is_a_local_time_as_in_pyspark_rows(spark, monkeypatch):
    """9:00 in New York on 2 March 2026 (EST, UTC-5) is 14:00 UTC. Arrow alone would have stored
    09:00 UTC."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        schema = T.StructType([T.StructField("at", T.TimestampType(), False),
                             T.StructField("attendees", T.ArrayType(T.StructType([
                                 T.StructField("seen_at", T.TimestampType(), True)]), False), False)])
        df = frame_from_rows(spark, [(datetime(2026, 3, 2, 9, 0), [{"seen_at": datetime(2026, 3, 2, 10, 30)}])],
                             schema)
        shown = df.select(F.date_format("at", "HH:mm").alias("at"),
                          F.date_format(F.col("attendees")[0]["seen_at"], "HH:mm").alias("seen")).first()
        assert (shown["at"], shown["seen"]) == ("14:00", "15:30")
        assert df.first()["at"] == datetime(2026, 3, 2, 9, 0)  # and back as the same naive local time
    finally:
        monkeypatch.delenv("TZ")
        os.environ.pop("TZ", None)
        time.tzset()


@pytest.mark.parametrize("row, where", [
    ((None, NINE_UTC, date(2026, 3, 2), None, [], None, None, True), "record_id"),
    (("m", NINE_UTC, date(2026, 3, 2), None, [None], None, None, True), r"attendees\[\]"),
    (("m", NINE_UTC, date(2026, 3, 2), None, [{"person": None, "role": "x"}], None, None, True),
     r"attendees\[\]\.person"),
    (("m", NINE_UTC, date(2026, 3, 2), None, [], {"bad_uid": None}, None, True), r"reasons\{\}"),
    (("m", None, date(2026, 3, 2), None, [], None, None, True), "starts_at"),
])
def test_a_none_the_schema_forbids_is_refused_with_where_it_is(spark, row, where):
    with pytest.raises(ValueError, match=rf"^{where}: None where the schema"):
        frame_from_rows(spark, [row], MEETINGS)


def test_nones_the_schema_allows_pass_even_inside_a_missing_struct(spark):
    schema = T.StructType([T.StructField("who", ATTENDEE, True),
                           T.StructField("tags", T.ArrayType(T.StringType(), True), True)])
    rows = frame_from_rows(spark, [(None, [None]), ({"person": "p", "role": None}, None)], schema).collect()
    assert rows == [Row(who=None, tags=[None]), Row(who=Row(person="p", role=None), tags=None)]


@pytest.mark.parametrize("value", ["three", 2.5, [1]])
def test_a_value_of_the_wrong_type_is_refused_with_its_column(spark, value):
    schema = T.StructType([T.StructField("record_id", T.StringType(), False),
                           T.StructField("read", T.LongType(), False)])
    with pytest.raises(TypeError, match=r"^column read \(bigint\): "):
        frame_from_rows(spark, [("r1", 3), ("r2", value)], schema)


def test_a_float_in_a_whole_number_map_value_is_refused_not_truncated(spark):
    with pytest.raises(TypeError, match=r"^column reasons\{\} \(bigint\): 1.5 is a float"):
        frame_from_rows(spark, [("m", NINE_UTC, date(2026, 3, 2), None, [], {"bad_uid": 1.5}, None, True)], MEETINGS)


def test_a_row_of_another_width_is_refused(spark):
    schema = T.StructType([T.StructField("record_id", T.StringType(), False),
                           T.StructField("read", T.LongType(), True)])
    with pytest.raises(ValueError, match=r"^rows of \[1, 2\] values for a schema of 2 columns"):
        frame_from_rows(spark, [("r1", 3), ("r2",)], schema)  # zip would have cut every row to one value


def test_many_rows_keep_every_value_in_one_partition_per_core(spark):
    schema = T.StructType([T.StructField("n", T.LongType(), False)])
    df = frame_from_rows(spark, [(n,) for n in range(25_000)], schema)  # three Arrow batches
    assert df.rdd.getNumPartitions() == spark.sparkContext.defaultParallelism
    totals = df.agg(F.count("*").alias("rows"), F.sum("n").alias("sum")).first()
    assert (totals["rows"], totals["sum"]) == (25_000, 25_000 * 24_999 // 2)


def test_no_rows_make_the_empty_frame(spark):
    df = frame_from_rows(spark, iter([]), MEETINGS)
    assert df.schema == MEETINGS
    assert df.rdd.getNumPartitions() == 0


def test_an_empty_frame_keeps_its_schema_and_has_no_partition_to_run(spark):
    schema = T.StructType([T.StructField("person", T.StringType(), False), T.StructField("degree", T.LongType(), True),
                         T.StructField("groups", T.ArrayType(T.StringType(), False), True)])
    df = empty_frame(spark, schema)

    assert df.schema == schema  # NOT NULL and element nullability as given
    assert df.rdd.getNumPartitions() == 0  # no task reads it (a list's frame has one per core)
    assert df.count() == 0

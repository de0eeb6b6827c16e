"""Retention on hand-planted rows of known age: exactly the old ones go, per layer, and with
vacuum_retain_hours=0 not even time travel returns them.

The ages and the cutoffs below are worked out by hand from the documented rule (the Monday of the
ISO week N weeks before now's ISO week), not by the code under test.
"""

from __future__ import annotations

import json
from contextlib import redirect_stdout
from datetime import date, datetime, timedelta, timezone
from io import StringIO

import pytest

UTC = timezone.utc
NOW = datetime(2026, 6, 17, 12, 0, tzinfo=UTC)  # a Wednesday; its ISO week starts Mon 2026-06-15
# Planted ages (weeks before NOW) and the times they give.
AT = {
    "2w": datetime(2026, 6, 3, 12, tzinfo=UTC),
    "10w": datetime(2026, 4, 8, 12, tzinfo=UTC),
    "20w": datetime(2026, 1, 28, 12, tzinfo=UTC),
    "30w": datetime(2025, 11, 19, 12, tzinfo=UTC),
    "110w": datetime(2024, 5, 8, 12, tzinfo=UTC),
}
WEEK = {"2w": date(2026, 6, 1), "10w": date(2026, 4, 6), "20w": date(2026, 1, 26), "30w": date(2025, 11, 17),
        "110w": date(2024, 5, 6)}
# Default windows: bronze 13 weeks -> cutoff Mon 2026-03-16; silver 26 -> Mon 2025-12-15;
# gold and quality 104 -> Mon 2024-06-17.
CUTOFF = {"bronze": date(2026, 3, 16), "silver": date(2025, 12, 15), "gold": date(2024, 6, 17),
          "quality": date(2024, 6, 17)}
# Rows on either side of each cutoff: the first instant of the cutoff week stays, the last
# instant (or week) before it goes.
EDGE_TIMES = {
    "bronze": (datetime(2026, 3, 16, 0, 0, tzinfo=UTC), datetime(2026, 3, 15, 23, 59, 59, tzinfo=UTC)),
    "quality": (datetime(2024, 6, 17, 0, 0, tzinfo=UTC), datetime(2024, 6, 16, 23, 59, 59, tzinfo=UTC)),
}
EDGE_WEEKS = {"silver": (date(2025, 12, 15), date(2025, 12, 8)), "gold": (date(2024, 6, 17), date(2024, 6, 10))}

# table -> (time column, layer, the planted ages that are older than the layer's window)
AGED = {
    "bronze/email": ("sent_at", "bronze", {"20w", "30w", "110w"}),
    "quarantine/email": ("rejected_at", "bronze", {"20w", "30w", "110w"}),
    "silver/interactions": ("week_start", "silver", {"30w", "110w"}),
    "gold/edges_weekly": ("week_start", "gold", {"110w"}),
    "quality/validation_runs": ("checked_at", "quality", {"110w"}),
}
# Never aged, whatever the dates in them.
KEPT = {"bronze/people": "pulled_at", "silver/people": None, "quality/erasures": "erased_at",
        "state/pull_state": "updated_at"}


def _table(path: str):
    from schemas.catalog import all_tables

    return next(t for t in all_tables() if t.path == path)


def _id_column(table) -> str:
    """The column that names a planted row: the table's first string column."""
    from pyspark.sql.types import StringType

    return next(f.name for f in table.schema.fields if isinstance(f.dataType, StringType))


def _value(field, i: int, moment: datetime | None, week: date | None):
    from pyspark.sql.types import (ArrayType, BooleanType, DateType, DoubleType, IntegerType, LongType, MapType,
                                   StringType, TimestampType)

    kind = field.dataType
    if isinstance(kind, StringType):
        return f"{field.name}-{i}"
    if isinstance(kind, TimestampType):
        return moment or NOW
    if isinstance(kind, DateType):
        return week or NOW.date()
    if isinstance(kind, (IntegerType, LongType)):
        return i
    if isinstance(kind, DoubleType):
        return 1.0
    if isinstance(kind, BooleanType):
        return False
    if isinstance(kind, ArrayType):
        return []
    if isinstance(kind, MapType):
        return {}
    raise TypeError(field)


def _plant(spark, lake, path: str, column: str | None, stamps: list[tuple[str, object]]) -> None:
    """Append one row per (id, time-or-week) in two commits, so that the table has a history."""
    table = _table(path)
    rows = []
    for i, (ident, stamp) in enumerate(stamps):
        moment = stamp if isinstance(stamp, datetime) else None
        week = stamp if isinstance(stamp, date) and not isinstance(stamp, datetime) else None
        values = {f.name: _value(f, i, moment, week) for f in table.schema.fields}
        values[_id_column(table)] = ident
        if column:
            values[column] = stamp
        rows.append(tuple(values[n] for n in table.schema.fieldNames()))
    half = len(rows) // 2
    for chunk in (rows[:half], rows[half:]):
        (spark.createDataFrame(chunk, table.schema).write.format("delta").mode("append")
         .partitionBy(*table.partition_by).save(str(lake / path)))


def _planted(layer: str, column: str) -> dict[str, object]:
    """id -> time (or week) for one aged table: the five ages plus the two cutoff edges."""
    if column == "week_start":
        stamps = {f"age-{age}": WEEK[age] for age in AT}
        kept, gone = EDGE_WEEKS[layer]
    else:
        stamps = {f"age-{age}": AT[age] for age in AT}
        kept, gone = EDGE_TIMES["bronze" if layer == "bronze" else "quality"]
    return {**stamps, "edge-kept": kept, "edge-gone": gone}


def _expected_gone(path: str) -> set[str]:
    _, _, old = AGED[path]
    return {f"age-{age}" for age in old} | {"edge-gone"}


def _ids(frame, path: str) -> set[str]:
    return {r[0] for r in frame.select(_id_column(_table(path))).collect()}


@pytest.fixture(scope="module")
def retained(spark, tmp_path_factory):
    from jobs.config import RetentionRules
    from jobs.privacy.retention import apply_retention

    lake = tmp_path_factory.mktemp("retention") / "lake"
    planted = {}
    for path, (column, layer, _) in AGED.items():
        stamps = _planted(layer, column)
        planted[path] = stamps
        _plant(spark, lake, path, column, list(stamps.items()))
    for path, column in KEPT.items():
        stamps = {f"old-{age}": AT[age] for age in AT}
        planted[path] = stamps
        _plant(spark, lake, path, column, list(stamps.items()))
    rules = RetentionRules(vacuum_retain_hours=0)  # the documented windows, VACUUM at once
    rows = apply_retention(spark, lake, rules, now=NOW, run_id="retention-test")
    return {"lake": lake, "planted": planted, "rows": rows}


def test_cutoff_is_the_monday_window_weeks_before_nows_week():
    from jobs.privacy.retention import cutoff

    assert cutoff(NOW, 13) == date(2026, 3, 16)
    assert cutoff(NOW, 26) == date(2025, 12, 15)
    assert cutoff(NOW, 104) == date(2024, 6, 17)
    # Monday 00:00 UTC already belongs to the new week; Sunday 23:59 to the one before.
    assert cutoff(datetime(2026, 6, 15, 0, 0, tzinfo=UTC), 1) == date(2026, 6, 8)
    assert cutoff(datetime(2026, 6, 14, 23, 59, tzinfo=UTC), 1) == date(2026, 6, 1)
    # Another zone is converted first: Monday 01:00 in Berlin is Sunday 23:00 UTC.
    berlin = timezone(timedelta(hours=2))
    assert cutoff(datetime(2026, 6, 15, 1, 0, tzinfo=berlin), 1) == date(2026, 6, 1)


def test_exactly_the_old_rows_are_removed_per_layer(retained, spark):
    from jobs import lake as lake_io

    for path in AGED:
        left = _ids(lake_io.read(spark, retained["lake"], _table(path)), path)
        assert left == set(retained["planted"][path]) - _expected_gone(path), path


def test_snapshot_audit_and_state_tables_are_kept(retained, spark):
    from jobs import lake as lake_io

    for path in KEPT:
        left = _ids(lake_io.read(spark, retained["lake"], _table(path)), path)
        assert left == set(retained["planted"][path]), path


def test_one_retention_run_row_per_table_with_its_count(retained):
    from deltalake import DeltaTable

    frame = DeltaTable(str(retained["lake"] / "quality/retention_runs")).to_pandas()
    frame = frame[frame["run_id"] == "retention-test"]
    assert sorted(frame["table"]) == sorted(AGED)  # the kept tables are not retention targets
    windows = {"bronze": 13, "silver": 26, "gold": 104, "quality": 104}
    for row in frame.itertuples():
        _, layer, _ = AGED[row.table]
        assert row.rows_removed == len(_expected_gone(row.table)), row.table
        assert row.window_weeks == windows[layer], row.table
        assert row.cutoff == CUTOFF[layer], row.table
        assert row.vacuum_retain_hours == 0
    returned = {r["table"]: r["rows_removed"] for r in retained["rows"]}
    assert returned == {t: len(_expected_gone(t)) for t in AGED}


def test_removed_rows_are_not_readable_through_time_travel(retained, spark):
    from delta.tables import DeltaTable

    for path in AGED:
        location = str(retained["lake"] / path)
        latest = DeltaTable.forPath(spark, location).history(1).collect()[0]["version"]
        assert latest >= 3, path  # two appends, the DELETE, the VACUUM
        for version in range(latest + 1):
            try:
                seen = _ids(spark.read.format("delta").option("versionAsOf", version).load(location), path)
            except Exception:  # noqa: BLE001 - the version's files are vacuumed: it cannot be read
                continue
            assert not seen & _expected_gone(path), (path, version)


def test_a_second_run_removes_nothing(retained, spark):
    from jobs.config import RetentionRules
    from jobs.privacy.retention import apply_retention

    rows = apply_retention(spark, retained["lake"], RetentionRules(vacuum_retain_hours=0), now=NOW,
                           run_id="retention-test-again")
    assert {r["table"]: r["rows_removed"] for r in rows} == {t: 0 for t in AGED}


def test_cli_retain_applies_the_environment_windows(spark, tmp_path, monkeypatch):
    from jobs.cli import main

    lake = tmp_path / "lake"
    now = datetime.now(UTC)
    # Relative to the real clock: one mail a few days old, one three years old.
    _plant(spark, lake, "bronze/email", "sent_at",
           [("recent", now - timedelta(days=3)), ("ancient", now - timedelta(weeks=156))])
    monkeypatch.setenv("ONA_RETENTION_BRONZE_WEEKS", "13")
    monkeypatch.setenv("ONA_VACUUM_RETAIN_HOURS", "0")
    out = StringIO()
    with redirect_stdout(out):
        assert main(["retain", "--lake", str(lake)]) == 0
    rows = json.loads(out.getvalue())
    assert [(r["table"], r["rows_removed"], r["vacuum_retain_hours"]) for r in rows] == [("bronze/email", 1, 0)]
    assert main(["retain", "--lake", str(tmp_path / "missing")]) == 2


def test_retention_dag_runs_weekly_and_calls_apply_retention(monkeypatch):
    """dags/ona_retention.py: weekly, one task, the environment's windows and the lake param."""
    from pathlib import Path

    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import CronTriggerTimetable

    from jobs import spark as spark_module
    from jobs.config import RetentionRules
    from jobs.privacy import retention

    folder = Path(__file__).resolve().parents[2] / "dags"
    dag = DagBag(dag_folder=str(folder / "ona_retention.py")).get_dag("ona_retention")
    assert isinstance(dag.timetable, CronTriggerTimetable)
    assert (dag.timetable.expression, str(dag.timetable.timezone)) == ("0 3 * * 0", "UTC")
    assert "ona" in dag.tags and dag.max_active_runs == 1 and not dag.catchup
    (task,) = dag.tasks
    assert task.retries >= 1

    calls = []

    def fake(spark, lake, rules, now=None, run_id=None):
        calls.append((lake, rules))
        return [{"table": "bronze/email", "cutoff": date(2026, 3, 16), "rows_removed": 2}]

    monkeypatch.setattr(retention, "apply_retention", fake)
    monkeypatch.setattr(spark_module, "get_spark", lambda *a, **k: None)
    monkeypatch.setenv("ONA_RETENTION_BRONZE_WEEKS", "5")
    monkeypatch.setenv("ONA_VACUUM_RETAIN_HOURS", "24")
    out = task.python_callable(params={"lake": "/lake", "landing": ""})
    assert calls == [("/lake", RetentionRules(bronze_weeks=5, vacuum_retain_hours=24))]
    assert out == [{"table": "bronze/email", "cutoff": "2026-03-16", "rows_removed": 2}]
    with pytest.raises(ValueError):
        task.python_callable(params={"lake": "", "landing": ""})

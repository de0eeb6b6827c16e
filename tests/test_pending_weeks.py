"""Which weeks `ona run` builds without --weeks: those touched by ingests after their last build."""

from __future__ import annotations

from datetime import date, datetime, timezone

from jobs import lake
from jobs.stages.ingest import pending_weeks
from schemas.quality import INGEST_RUNS_TABLE, VALIDATION_RUNS_TABLE


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 4, 8, hour, minute, tzinfo=timezone.utc)


def ingest(run_id: str, weeks: list[str], finished_at: datetime) -> dict:
    return {"run_id": run_id, "source": "email", "origin": "files", "read": 1, "accepted": 1,
            "quarantined": 0, "duplicates": 0, "reasons": {}, "weeks": weeks, "key_version": "k_x",
            "finished_at": finished_at}


def gate(run_id: str, week: date, started_at: datetime, checked_at: datetime) -> dict:
    return {"run_id": run_id, "table": "gold/edges_weekly", "week_start": week, "suite": "s", "success": True,
            "published": True, "evaluated": 1, "failed_fail": 0, "failed_warn": 0, "failed_checks": [],
            "key_version": "k_x", "checked_at": checked_at, "report_path": "r", "build_started_at": started_at}


def write(spark, root, table, rows):
    names = table.schema.fieldNames()
    lake.merge_rows(spark, root, table, spark.createDataFrame([tuple(r.get(n) for n in names) for r in rows],
                                                              table.schema))


def test_weeks_touched_after_their_own_last_build_are_pending(spark, tmp_path):
    root = tmp_path / "lake"
    now = datetime(2026, 4, 10, tzinfo=timezone.utc)  # 2026-W15
    assert pending_weeks(spark, root, now) == []  # an empty lake
    write(spark, root, INGEST_RUNS_TABLE, [
        ingest("i0", ["2026-W13"], at(9)),                 # built at 09:30 below: done
        ingest("i1", ["2026-W10", "2026-W11"], at(10)),    # W11 never built: pending
        ingest("i2", ["2026-W10"], at(10, 10)),            # finished while W10's build ran: pending
        ingest("i3", ["2026-W20"], at(11)),                # a future week: never built yet
    ])
    write(spark, root, VALIDATION_RUNS_TABLE, [
        gate("b1", date(2026, 3, 23), at(9, 30), at(9, 40)),   # W13
        gate("b2", date(2026, 3, 2), at(10, 5), at(10, 20)),   # W10, started before i2 ended
    ])
    assert pending_weeks(spark, root, now) == [date(2026, 3, 2), date(2026, 3, 9)]  # W10, W11

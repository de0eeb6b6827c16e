"""`ona retain`: delete what is older than each layer's retention window, then VACUUM.

What each table is aged by (``retention_targets``):

- bronze/<source>: its event-time column (sent_at, starts_at), bronze window; bronze/people
  has no event time and is the current roster: kept;
- quarantine/<source>: ``rejected_at``, bronze window;
- silver/events, silver/interactions: ``week_start``, silver window; silver/people (a
  snapshot): kept;
- gold/* and staging/* (gold candidates waiting for approval): ``week_start``, gold window;
- quality/validation_runs (``checked_at``), quality/ingest_runs (``finished_at``): quality
  window. quality/erasures and quality/retention_runs are the audit trail, and
  quality/privacy_budget and quality/approvals record decisions: all four are kept, as is
  state/* (cursors and the landing manifest).

The cutoff of a window of N weeks is the Monday 00:00 UTC of the ISO week N weeks before the ISO
week that contains ``now`` (UTC): a row whose time (or week_start) is before it is deleted. The
current week and the N whole weeks before it are kept; a week goes as a whole, on the Monday it
becomes N + 1 weeks old. With N = 13 and now on Wednesday 2026-06-17, the cutoff is Monday
2026-03-16: a mail sent on 2026-03-15 23:59 UTC goes, one sent on 2026-03-16 00:00 stays.

Each changed table is then vacuumed with ``vacuum_retain_hours``: the deleted rows' files stay
readable by time travel for that long (for readers still on an older version), then go.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DateType

from jobs import lake
from jobs.config import RetentionRules
from jobs.frames import frame_from_rows
from jobs.source_kinds import EVENT_TIME
from jobs.weeks import week_start
from schemas import Table
from schemas.catalog import all_tables
from schemas.quality import INGEST_RUNS_TABLE, RETENTION_RUNS_TABLE, VALIDATION_RUNS_TABLE

log = logging.getLogger("ona")

# The quality tables that age; the others are the audit trail or decisions (module docstring).
QUALITY_TIME = {VALIDATION_RUNS_TABLE.path: "checked_at", INGEST_RUNS_TABLE.path: "finished_at"}


@dataclass(frozen=True)
class RetentionTarget:
    table: Table
    column: str  # the time (timestamp) or week (date) a row is aged by
    window: str  # the RetentionRules field that holds its window in weeks


def retention_targets() -> list[RetentionTarget]:
    """The tables retention applies to, with their time column and window (module docstring)."""
    targets = []
    for table in all_tables():
        names = table.schema.fieldNames()
        zone = table.zone
        if zone == "bronze":
            source = table.path.split("/", 1)[1]
            if source in EVENT_TIME:
                targets.append(RetentionTarget(table, EVENT_TIME[source], "bronze_weeks"))
        elif zone == "quarantine":
            targets.append(RetentionTarget(table, "rejected_at", "bronze_weeks"))
        elif zone == "silver" and "week_start" in names:
            targets.append(RetentionTarget(table, "week_start", "silver_weeks"))
        elif zone in ("gold", "staging") and "week_start" in names:
            targets.append(RetentionTarget(table, "week_start", "gold_weeks"))
        elif table.path in QUALITY_TIME:
            targets.append(RetentionTarget(table, QUALITY_TIME[table.path], "quality_weeks"))
    return targets


def cutoff(now: datetime, window_weeks: int) -> date:
    """Monday of the ISO week ``window_weeks`` weeks before the ISO week of ``now`` (UTC); rows
    before it are removed."""
    moment = now.astimezone(timezone.utc) if now.tzinfo is not None else now
    return week_start(moment) - timedelta(weeks=window_weeks)


def apply_retention(spark: SparkSession, lake_root: Path | str, rules: RetentionRules,
                    now: datetime | None = None, run_id: str | None = None) -> list[dict]:
    """Delete every row older than its layer's window, VACUUM the tables that changed, and
    record one quality/retention_runs row per table present. Returns those rows."""
    lake_root = lake.location(lake_root)
    now = now or datetime.now(timezone.utc)
    applied_at = datetime.now(timezone.utc)
    run_id = run_id or applied_at.strftime("%Y%m%dT%H%M%SZ-retention")
    rows: list[dict] = []
    for target in retention_targets():
        table = target.table
        if not lake.exists(spark, lake_root, table):
            continue
        window = getattr(rules, target.window)
        limit = cutoff(now, window)
        is_date = isinstance(table.schema[target.column].dataType, DateType)
        bound = limit if is_date else datetime.combine(limit, time(), tzinfo=timezone.utc)
        old = F.col(target.column) < F.lit(bound)
        removed = lake.read(spark, lake_root, table).where(old).count()
        if removed:
            lake.delete_rows(spark, lake_root, table, old)
            lake.vacuum(spark, lake_root, table, rules.vacuum_retain_hours)
        log.info("retention %s: %d row(s) before %s removed", table.path, removed, limit.isoformat())
        rows.append({
            "run_id": run_id, "table": table.path, "applied_at": applied_at, "window_weeks": window,
            "cutoff": limit, "rows_removed": removed, "vacuum_retain_hours": rules.vacuum_retain_hours,
        })
    if rows:
        frame = frame_from_rows(spark, rows, RETENTION_RUNS_TABLE.schema)
        lake.merge_rows(spark, lake_root, RETENTION_RUNS_TABLE, frame)
    return rows

"""Approval before publish (docs/privacy.md, "Approval"): with ONA_REQUIRE_APPROVAL on, a week
that passed its gates is written to the restricted `staging/` tables and waits; BI readers see
it in `gold/` only after `ona approve --week W --run RUN_ID`. `ona reject` discards it.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import lake
from jobs.frames import frame_from_rows
from schemas.gold import GOLD_TABLES, STAGING_TABLES
from schemas.quality import APPROVALS_TABLE

WAITING, APPROVED, REJECTED, SUPERSEDED = "waiting", "approved", "rejected", "superseded"


class ApprovalError(RuntimeError):
    pass


def _approvals(spark: SparkSession, lake_root) -> DataFrame:
    return lake.read(spark, lake_root, APPROVALS_TABLE)


def _set_state(spark: SparkSession, lake_root, rows: list[tuple]) -> None:
    lake.merge_rows(spark, lake_root, APPROVALS_TABLE, frame_from_rows(spark, rows, APPROVALS_TABLE.schema))


def stage(spark: SparkSession, lake_root, frames: dict[str, DataFrame], weeks: list[date], run_id: str) -> None:
    """Write the gate-passed weeks' candidate rows and mark them waiting; an older candidate
    of the same week that is still waiting is superseded (only the newest can be approved)."""
    if not weeks:
        return
    for table in GOLD_TABLES:
        staged = STAGING_TABLES[table.path]
        frame = frames[table.path].where(F.col("week_start").isin(weeks)).withColumn("run_id", F.lit(run_id))
        lake.merge_rows(spark, lake_root, staged, frame)
    now = datetime.now(timezone.utc)
    older = (_approvals(spark, lake_root)
             .where(F.col("week_start").isin(weeks) & (F.col("state") == WAITING) & (F.col("run_id") != run_id))
             .collect())
    rows = [(r["week_start"], r["run_id"], SUPERSEDED, r["staged_at"], now) for r in older]
    rows += [(week, run_id, WAITING, now, None) for week in weeks]
    _set_state(spark, lake_root, rows)
    _drop_staged(spark, lake_root, [(r["week_start"], r["run_id"]) for r in older])


def _drop_staged(spark: SparkSession, lake_root, candidates: list[tuple[date, str]]) -> None:
    for week, run_id in candidates:
        for staged in STAGING_TABLES.values():
            lake.delete_rows(spark, lake_root, staged,
                             (F.col("week_start") == F.lit(week)) & (F.col("run_id") == F.lit(run_id)))


def _waiting(spark: SparkSession, lake_root, week: date, run_id: str):
    rows = (_approvals(spark, lake_root)
            .where((F.col("week_start") == F.lit(week)) & (F.col("run_id") == F.lit(run_id))).collect())
    if not rows:
        raise ApprovalError(f"no candidate of week {week.isoformat()} from run {run_id}")
    if rows[0]["state"] != WAITING:
        raise ApprovalError(f"the candidate of week {week.isoformat()} from run {run_id} is {rows[0]['state']}, not waiting")
    return rows[0]


def approve(spark: SparkSession, lake_root, week: date, run_id: str) -> None:
    """Publish the waiting candidate: its gold rows join the run's silver candidates and the
    week switches to the run (jobs/publish.py); then record the decision."""
    from jobs import publish

    row = _waiting(spark, lake_root, week, run_id)
    candidate = (F.col("week_start") == F.lit(week)) & (F.col("run_id") == F.lit(run_id))
    staged = {table: lake.read(spark, lake_root, STAGING_TABLES[table.path]).where(candidate).drop("run_id")
              for table in GOLD_TABLES}
    publish.write_candidates(spark, lake_root, staged, [week], run_id)
    publish.make_current(spark, lake_root, [week], run_id)
    _set_state(spark, lake_root, [(week, run_id, APPROVED, row["staged_at"], datetime.now(timezone.utc))])
    _drop_staged(spark, lake_root, [(week, run_id)])


def reject(spark: SparkSession, lake_root, week: date, run_id: str) -> None:
    from jobs import publish

    row = _waiting(spark, lake_root, week, run_id)
    publish.discard_candidate(spark, lake_root, [week], run_id)
    _set_state(spark, lake_root, [(week, run_id, REJECTED, row["staged_at"], datetime.now(timezone.utc))])
    _drop_staged(spark, lake_root, [(week, run_id)])


def approval_state(spark: SparkSession, lake_root: Path, required: bool) -> dict:
    """What the report shows: the waiting candidates and the decisions taken."""
    from jobs.weeks import label

    out = {"required": required, "waiting": [], "approved": [], "rejected": []}
    if not lake.exists(spark, lake_root, APPROVALS_TABLE):
        return out
    for r in _approvals(spark, lake_root).orderBy("week_start", "staged_at").collect():
        if r["state"] in out:
            out[r["state"]].append({"week": label(r["week_start"]), "run_id": r["run_id"]})
    return out

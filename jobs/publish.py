"""Publishing a week: a build's silver and gold rows of the week become current together, or
not at all (docs/lake.md, "Publishing a week").

Delta commits one table at a time, so a week spread over nine tables cannot be replaced in one
commit. Instead every row of a run-tagged table (``Table.run_tagged``) carries the run that
wrote it, and `quality/published_weeks` names the current run of each week:

1. a build writes its candidate rows of the weeks next to the current ones (``write_candidates``);
2. one MERGE into `quality/published_weeks` switches the weeks to the build's run
   (``make_current``): the commit point;
3. the other runs' rows of those weeks are deleted (tidying, so that a table read on its own
   holds one run per week again).

A run killed before step 2 leaves the previous run current: its candidate rows are never read
through the pointer (``lake.read_published``) and the next build of the week deletes them. A
run killed between steps 2 and 3 has published; its week stays pending (no validation row yet)
and the next build tidies it. A blocked week's candidates are discarded (``discard_candidate``).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import lake
from jobs.frames import frame_from_rows
from jobs.spark import concurrently
from schemas import RUN_ID, Table
from schemas.gold import GOLD_TABLES
from schemas.quality import PUBLISHED_WEEKS_TABLE
from schemas.silver import PERSON_BROKERAGE_WEEKLY, SILVER_EVENTS, SILVER_INTERACTIONS

# Every table whose week rows a publish switches: the restricted silver of the week and the gold.
RUN_TABLES: tuple[Table, ...] = (SILVER_EVENTS, SILVER_INTERACTIONS, PERSON_BROKERAGE_WEEKLY, *GOLD_TABLES)


def current_runs(spark: SparkSession, lake_root: Path | str, weeks: list[date] | None = None) -> dict[date, str]:
    """{week: the run whose rows are current}, for the weeks given (all when None)."""
    if not lake.exists(spark, lake_root, PUBLISHED_WEEKS_TABLE):
        return {}
    pointer = lake.read(spark, lake_root, PUBLISHED_WEEKS_TABLE)
    if weeks is not None:
        pointer = pointer.where(F.col("week_start").isin(sorted(set(weeks))))
    return {r["week_start"]: r[RUN_ID] for r in pointer.select("week_start", RUN_ID).collect()}


def write_candidates(spark: SparkSession, lake_root: Path | str, frames: dict[Table, DataFrame],
                     weeks: list[date], run_id: str) -> None:
    """Write the run's rows of the weeks beside the current ones, several tables at once (one
    read of the pointer for all); leftovers of runs that never became current
    (killed, blocked) are replaced in the same commit as each table's rows."""
    keep = set(current_runs(spark, lake_root, weeks).values())
    concurrently(lambda table: lake.replace_run_weeks(spark, lake_root, table, frames[table], weeks, run_id, keep),
                 frames)


def make_current(spark: SparkSession, lake_root: Path | str, weeks: list[date], run_id: str,
                 build_started_at: datetime | None = None) -> None:
    """Switch the weeks to the run (one commit), then delete the other runs' rows of them
    (several tables at once)."""
    if not weeks:
        return
    now = datetime.now(timezone.utc)
    rows = [(week, run_id, now, build_started_at) for week in sorted(set(weeks))]
    lake.merge_rows(spark, lake_root, PUBLISHED_WEEKS_TABLE,
                    frame_from_rows(spark, rows, PUBLISHED_WEEKS_TABLE.schema))
    superseded = F.col("week_start").isin(sorted(set(weeks))) & (
        F.col(RUN_ID).isNull() | (F.col(RUN_ID) != F.lit(run_id)))
    concurrently(lambda table: lake.delete_rows(spark, lake_root, table, superseded), RUN_TABLES)


def discard_candidate(spark: SparkSession, lake_root: Path | str, weeks: list[date], run_id: str) -> None:
    """Delete a run's candidate rows of weeks it will not publish (blocked or rejected)."""
    if not weeks:
        return
    mine = F.col("week_start").isin(sorted(set(weeks))) & (F.col(RUN_ID) == F.lit(run_id))
    concurrently(lambda table: lake.delete_rows(spark, lake_root, table, mine), RUN_TABLES)

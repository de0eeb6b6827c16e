"""Gold: the candidate gold tables of the weeks from this run's silver candidates and the
published history (jobs/transforms/build.py computes them; nothing is written here)."""

from __future__ import annotations

from datetime import date, timedelta

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs import lake
from jobs.spark import computed
from jobs.stages.context import RunContext
from jobs.transforms.build import HISTORY_COLUMNS, GoldInputs, build_gold, history_weeks
from schemas import RUN_ID
from schemas.gold import EDGES_WEEKLY, PERSON_METRICS_WEEKLY
from schemas.silver import PERSON_BROKERAGE_WEEKLY, SILVER_EVENTS, SILVER_INTERACTIONS


def gold_frames(ctx: RunContext, weeks: list[date], people_df: DataFrame) -> dict[str, DataFrame]:
    """Candidate gold tables for the weeks, from this run's silver candidates and the
    published gold history (nothing is written here)."""
    spark = ctx.spark
    week_filter = F.col("week_start").isin(weeks)
    this_run = week_filter & (F.col(RUN_ID) == F.lit(ctx.run_id))
    first, last = history_weeks(weeks)
    earlier = F.col("week_start").between(first, last) & ~week_filter

    def history(table, columns) -> DataFrame:
        # Tables written before a column existed read it as null.
        df = lake.read_published(spark, ctx.lake, table).where(earlier)
        return df.select(*[F.col(c) if c in df.columns else F.lit(None).cast(table.schema[c].dataType).alias(c)
                           for c in columns])

    previous_weeks = [w - timedelta(weeks=1) for w in weeks]
    # The history is read once per build: the stable communities, the week-over-week change
    # and the cohorts each read it, and as lazy frames each re-read and re-joined the Delta
    # tables and the pointer (docs/performance.md, "Where a small build's jobs go"). It is also
    # one snapshot of the published weeks for the whole build.
    inputs = GoldInputs(
        interactions=lake.read(spark, ctx.lake, SILVER_INTERACTIONS).where(this_run).drop(RUN_ID),
        events=lake.read(spark, ctx.lake, SILVER_EVENTS).where(this_run).drop(RUN_ID),
        people=people_df,
        weeks=weeks,
        person_history=computed(history(PERSON_METRICS_WEEKLY, HISTORY_COLUMNS).join(
            history(PERSON_BROKERAGE_WEEKLY, ("week_start", "person", "cross_group_ties")),
            on=["week_start", "person"], how="left")),
        edge_history=computed(
            history(EDGES_WEEKLY, ("week_start", "src", "dst")).where(F.col("week_start").isin(previous_weeks))),
    )
    return build_gold(inputs, ctx.settings)

"""Silver: the weeks' bronze rows (of the current key version) to events and interactions,
written as this run's candidates (jobs/publish.py), and the people snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs import lake, publish
from jobs.sources.registry import EVENT_TIME, KINDS
from jobs.stages.context import RunContext
from jobs.transforms import silver
from jobs.weeks import week_window
from schemas.bronze import BRONZE
from schemas.silver import SILVER_EVENTS, SILVER_INTERACTIONS


def _bronze_weeks(ctx: RunContext, source: str, weeks: list[date], current_key: bool = True) -> DataFrame:
    """Bronze rows of the weeks, of the current key version only (or, with current_key=False,
    of every other one): after a key rotation the old copies of the same records stay in
    bronze under other record ids, and must not be counted twice (docs/privacy.md, "Keys")."""
    column = EVENT_TIME[source]
    start, end = week_window(weeks)
    same_key = F.col("key_version") == F.lit(ctx.pseudo.key_version)
    return lake.read(ctx.spark, ctx.lake, BRONZE[source]).where(
        (F.col(column) >= F.lit(start)) & (F.col(column) < F.lit(end)) & (same_key if current_key else ~same_key)
    )


def other_key_rows(ctx: RunContext, weeks: list[date]) -> int:
    """Bronze rows of the weeks (and people rows) that another key version wrote: not used."""
    people = lake.read(ctx.spark, ctx.lake, BRONZE["people"])
    n = people.where(F.col("key_version") != F.lit(ctx.pseudo.key_version)).count()
    return n + sum(_bronze_weeks(ctx, kind.name, weeks, current_key=False).count()
                   for kind in KINDS.values() if kind.events is not None)


def silver_events(ctx: RunContext, weeks: list[date]) -> DataFrame:
    from functools import reduce

    frames = [kind.events(_bronze_weeks(ctx, kind.name, weeks), ctx.settings.ties)
              for kind in KINDS.values() if kind.events is not None]
    return reduce(DataFrame.unionByName, frames).where(F.col("week_start").isin(weeks))


@dataclass
class SilverCandidate:
    """What a build made of silver: the week rows are written as the run's candidates
    (jobs/publish.py); the people snapshot is written only when a week passes its gates."""

    people: DataFrame  # silver/people as of this build, computed once
    counts: dict  # events per kind: the run summary's silver section


def build_silver(ctx: RunContext, weeks: list[date]) -> SilverCandidate:
    """Rebuild silver for the weeks (from all of bronze) and the people snapshot."""
    from jobs.spark import computed

    spark = ctx.spark
    people_df = computed(silver.people(lake.read(spark, ctx.lake, BRONZE["people"])
                                       .where(F.col("key_version") == F.lit(ctx.pseudo.key_version))))
    events_df = silver_events(ctx, weeks).persist()
    interactions_df = silver.interactions(events_df, ctx.settings.ties)
    publish.write_candidates(spark, ctx.lake, {SILVER_EVENTS: events_df, SILVER_INTERACTIONS: interactions_df},
                             weeks, ctx.run_id)
    counts = (
        events_df.groupBy("kind")
        .agg(
            F.count("*").alias("events"),
            F.sum(F.col("is_broadcast").cast("int")).alias("broadcast"),
            F.sum(F.col("is_cancelled").cast("int")).alias("cancelled"),
            F.sum((~F.col("forms_ties")).cast("int")).alias("no_ties"),
        )
        .collect()
    )
    events_df.unpersist()
    return SilverCandidate(people_df, {r["kind"]: {k: int(r[k] or 0) for k in ("events", "broadcast", "cancelled", "no_ties")}
                                       for r in counts})

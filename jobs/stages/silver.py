"""Silver: the weeks' bronze rows (of the current key version) to events and interactions,
written as this run's candidates (jobs/publish.py), and the people snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import reduce

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs import lake, publish
from jobs.source_kinds import EVENT_TIME, KINDS
from jobs.stages.context import RunContext
from jobs.transforms import silver
from jobs.weeks import label, week_window
from schemas.bronze import BRONZE
from schemas.silver import SILVER_EVENTS, SILVER_INTERACTIONS


def bronze_rows_of_weeks(ctx: RunContext, source: str, weeks: list[date], current_key: bool = True) -> DataFrame:
    """Bronze rows of the weeks, of the current key version only (or, with current_key=False,
    of every other one): after a key rotation the old copies of the same records stay in
    bronze under other record ids, and must not be counted twice (docs/privacy.md, "Keys")."""
    column = EVENT_TIME[source]
    start, end = week_window(weeks)
    same_key = F.col("key_version") == F.lit(ctx.pseudo.key_version)
    return lake.read(ctx.spark, ctx.lake, BRONZE[source]).where(
        (F.col(column) >= F.lit(start)) & (F.col(column) < F.lit(end)) & (same_key if current_key else ~same_key)
    )


class WeeksUnderAnotherKeyError(RuntimeError):
    """Fail loudly: weeks whose bronze rows were all pseudonymised under another key than this
    run's. Built, they would publish as empty weeks over the good ones: the usual cause is a
    wrong ONA_PSEUDONYM_KEY, or a rotation before the week was ingested again."""

    def __init__(self, rows: dict[date, int], key_version: str) -> None:
        weeks = ", ".join(f"{label(w)} ({n:,} records)" for w, n in sorted(rows.items()))
        super().__init__(
            f"the bronze records of {weeks} were all pseudonymised under another pseudonym key than "
            f"this run's ({key_version}): set ONA_PSEUDONYM_KEY or ONA_PSEUDONYM_KEY_FILE to the lake's key, "
            "or ingest the landing again under the new key after a rotation (docs/privacy.md, \"Keys\")"
        )


def bronze_event_rows(ctx: RunContext, weeks: list[date], current_key: bool = True) -> dict[str, DataFrame]:
    """{source: its bronze rows of the weeks} for every source whose records are events."""
    return {name: bronze_rows_of_weeks(ctx, name, weeks, current_key)
            for name, kind in KINDS.items() if kind.events is not None}


def other_key_rows_by_week(ctx: RunContext, weeks: list[date]) -> dict[date, int]:
    """Bronze event rows of each week that another key version wrote (weeks without any left out)."""
    frames = [df.select(silver.week_start_of(F.col(EVENT_TIME[source])).alias("week_start"))
              for source, df in bronze_event_rows(ctx, weeks, current_key=False).items()]
    # The window spans first to last week: weeks between them are not asked about.
    rows = (reduce(DataFrame.unionByName, frames).where(F.col("week_start").isin(weeks))
            .groupBy("week_start").count().collect())
    return {r["week_start"]: r["count"] for r in rows}


def other_key_rows(ctx: RunContext, weeks: list[date]) -> int:
    """Bronze rows of the weeks (and people rows) that another key version wrote: the rows this
    build leaves out (the run summary's privacy section reports them)."""
    people = lake.read(ctx.spark, ctx.lake, BRONZE["people"])
    n = people.where(F.col("key_version") != F.lit(ctx.pseudo.key_version)).count()
    return n + sum(other_key_rows_by_week(ctx, weeks).values())


def silver_events(ctx: RunContext, weeks: list[date]) -> DataFrame:
    frames = [KINDS[source].events(df, ctx.settings.ties) for source, df in bronze_event_rows(ctx, weeks).items()]
    return reduce(DataFrame.unionByName, frames).where(F.col("week_start").isin(weeks))


@dataclass
class SilverCandidate:
    """What a build made of silver: the week rows are written as the run's candidates
    (jobs/publish.py); the people snapshot is written only when a week passes its gates."""

    people: DataFrame  # silver/people as of this build, computed once
    counts: dict  # events per kind: the run summary's silver section

    @property
    def events(self) -> int:
        """Silver events of the built weeks: the size of the build (jobs/spark.py, expressions_for)."""
        return sum(kind["events"] for kind in self.counts.values())


def _counts_by_kind(rows) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for r in rows:
        kind = counts.setdefault(r["kind"], dict.fromkeys(("events", "broadcast", "cancelled", "no_ties"), 0))
        for k in kind:
            kind[k] += int(r[k] or 0)
    return counts


def build_silver(ctx: RunContext, weeks: list[date]) -> SilverCandidate:
    """Rebuild silver for the weeks (from all of bronze) and the people snapshot."""
    from jobs.spark import computed, expressions_for

    spark = ctx.spark
    people_df = computed(silver.people(lake.read(spark, ctx.lake, BRONZE["people"])
                                       .where(F.col("key_version") == F.lit(ctx.pseudo.key_version))))
    events_df = silver_events(ctx, weeks).persist()
    try:
        # Counted first (this also computes the persisted events): a week with no event under
        # this run's key while bronze holds its rows under another key stops the build before
        # any write.
        rows = (
            events_df.groupBy("week_start", "kind")
            .agg(
                F.count("*").alias("events"),
                F.sum(F.col("is_broadcast").cast("int")).alias("broadcast"),
                F.sum(F.col("is_cancelled").cast("int")).alias("cancelled"),
                F.sum((~F.col("forms_ties")).cast("int")).alias("no_ties"),
            )
            .collect()
        )
        empty_weeks = sorted(set(weeks) - {r["week_start"] for r in rows})
        foreign = other_key_rows_by_week(ctx, empty_weeks) if empty_weeks else {}
        if foreign:
            raise WeeksUnderAnotherKeyError(foreign, ctx.pseudo.key_version)
        candidate = SilverCandidate(people_df, _counts_by_kind(rows))
        interactions_df = silver.interactions(events_df, ctx.settings.ties)
        with expressions_for(spark, candidate.events):
            publish.write_candidates(spark, ctx.lake, {SILVER_EVENTS: events_df, SILVER_INTERACTIONS: interactions_df},
                                     weeks, ctx.run_id)
    finally:
        events_df.unpersist()
    return candidate

"""What the weekly report reads: BI-zone tables only, through the publish pointer.

The report is for leaders and HR, who are BI readers (docs/privacy.md, "Two zones"): it must
never show more than a BI tool could. So every table goes through ``read_bi_table``, which
refuses any table outside ``schemas.catalog.BI_ZONES`` before Spark touches it, and reads the
run-tagged tables through ``quality/published_weeks`` (``jobs.lake.read_published``): a
candidate of a run still under way, blocked or waiting for approval never reaches a page.

Spark filters and aggregates; what comes back to the driver is one week's rows (a row per
person at most) and one row per published week, small enough for pandas at any organisation
size the pipeline builds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from operator import methodcaller
from pathlib import Path

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.lake import read_published, row_count
from jobs.spark import concurrently, expressions_for
from jobs.weeks import label
from schemas import Table
from schemas.catalog import BI_ZONES
from schemas.gold import (
    GROUP_COHESION_WEEKLY,
    GROUP_METRICS_WEEKLY,
    NETWORK_SUMMARY_WEEKLY,
    ONBOARDING_COHORTS_WEEKLY,
    PERSON_METRICS_WEEKLY,
)

# The group kind the report draws: departments. Team cells are mostly suppressed at k = 5 and
# a team matrix is too large to read on a page.
GROUP_KIND = "department"

# The person columns the report shows: pseudonym, network figures and change. (The
# table has no attribute column by design; selecting keeps the driver's copy small too.)
PERSON_COLUMNS = (
    "person", "degree", "pagerank", "betweenness", "constraint", "network_role",
    "pagerank_rank", "pagerank_rank_change", "betweenness_rank", "betweenness_rank_change",
    "ties_formed", "ties_lost",
)


class RestrictedTableError(PermissionError):
    """The report asked for a table outside the BI zones: a bug, never a page."""


class NothingPublishedError(LookupError):
    """The lake has no published week the report was asked for (the CLI's exit 2)."""


def read_bi_table(spark: SparkSession, lake: Path | str, table: Table) -> DataFrame:
    """A BI-zone table's current rows (through the publish pointer when run-tagged). Refuses any
    other zone first, so a report can never show a restricted figure."""
    if table.zone not in BI_ZONES:
        allowed = ", ".join(f"{zone}/" for zone in BI_ZONES)
        raise RestrictedTableError(f"{table.path} is restricted: the weekly report reads {allowed} only")
    return read_published(spark, lake, table)


@dataclass(frozen=True)
class ReportData:
    """Everything one week's page shows, as small pandas frames."""

    week: date
    weeks: list[date]  # published weeks up to and including `week`, oldest first
    min_group_size: int  # k of the suppression rule, for the page's wording
    people: pd.DataFrame  # person_metrics_weekly of the week: PERSON_COLUMNS
    load_trend: pd.DataFrame  # one row per week of `weeks`: medians and 90th percentiles of load
    group_matrix: pd.DataFrame  # group_metrics_weekly of the week, departments, suppressed rows kept
    cohesion: pd.DataFrame  # group_cohesion_weekly of the week, departments, suppressed rows kept
    cohorts: pd.DataFrame  # onboarding_cohorts_weekly as of the week, suppressed rows kept
    summary_trend: pd.DataFrame  # network_summary_weekly of `weeks`, oldest first

    @property
    def label(self) -> str:
        return label(self.week)

    @property
    def summary(self) -> pd.Series:
        """The network summary of the report's week."""
        return self.summary_trend.iloc[-1]

    @property
    def previous_summary(self) -> pd.Series | None:
        """Last week's summary, when that week is published (else there is no comparison)."""
        trend = self.summary_trend
        if len(trend) < 2 or (trend.iloc[-1]["week_start"] - trend.iloc[-2]["week_start"]).days != 7:
            return None
        return trend.iloc[-2]


def published_weeks(spark: SparkSession, lake: Path | str) -> list[date]:
    """Every week with a published network summary: each published week has exactly one row
    there, and read through the pointer it holds no other week."""
    rows = read_bi_table(spark, lake, NETWORK_SUMMARY_WEEKLY).select("week_start").distinct().collect()
    return sorted(row["week_start"] for row in rows)


def _load_trend(metrics: DataFrame) -> DataFrame:
    """Per published week: how much people collaborate and how much of it falls outside
    working hours. Medians say what is typical, 90th percentiles what the busiest tenth
    carries (means would be pulled by a few extreme senders)."""
    messages = F.col("emails_sent") + F.col("chat_messages_sent")
    return metrics.groupBy("week_start").agg(
        F.count(F.lit(1)).alias("people"),
        F.median("meeting_hours").alias("meeting_hours_median"),
        F.percentile("meeting_hours", 0.9).alias("meeting_hours_p90"),
        F.median(messages).alias("messages_sent_median"),
        F.percentile(messages, 0.9).alias("messages_sent_p90"),
        F.median("after_hours_share").alias("after_hours_share_median"),
        F.percentile("after_hours_share", 0.9).alias("after_hours_share_p90"),
        F.sum(F.when(F.col("network_role") == "overloaded", 1).otherwise(0)).alias("overloaded"),
    ).orderBy("week_start")


def weeks_up_to(spark: SparkSession, lake: Path | str, week: date) -> list[date]:
    """The published weeks up to and including `week`, oldest first; NothingPublishedError when
    `week` itself is not published (never built, blocked, waiting for approval, or a lake
    without gold)."""
    weeks = published_weeks(spark, lake)
    if week not in weeks:
        published = (f"it publishes {len(weeks)} week{'s' if len(weeks) > 1 else ''}, "
                     f"{label(weeks[0])} to {label(weeks[-1])}" if weeks else "it publishes no week")
        raise NothingPublishedError(f"nothing published for {label(week)} in the lake {lake} ({published})")
    return [w for w in weeks if w <= week]


def load_report_data(spark: SparkSession, lake: Path | str, weeks: list[date], min_group_size: int) -> ReportData:
    """The figures of the last of `weeks` (from weeks_up_to) and the trends over all of them."""
    week = weeks[-1]
    up_to_week = F.col("week_start") <= F.lit(week)
    this_week = F.col("week_start") == F.lit(week)
    department = F.col("group_kind") == GROUP_KIND
    metrics = read_bi_table(spark, lake, PERSON_METRICS_WEEKLY)
    frames = {
        "people": metrics.where(this_week).select(*PERSON_COLUMNS),
        "load_trend": _load_trend(metrics.where(up_to_week)),
        "group_matrix": read_bi_table(spark, lake, GROUP_METRICS_WEEKLY).where(this_week & department),
        "cohesion": read_bi_table(spark, lake, GROUP_COHESION_WEEKLY).where(this_week & department),
        "cohorts": read_bi_table(spark, lake, ONBOARDING_COHORTS_WEEKLY).where(this_week),
        "summary_trend": read_bi_table(spark, lake, NETWORK_SUMMARY_WEEKLY).where(up_to_week).orderBy("week_start"),
    }
    # Six small independent reads: at once, and interpreted when the lake is small (compiling
    # their expressions would take longer than running them; jobs/spark.py).
    with expressions_for(spark, row_count(spark, lake, PERSON_METRICS_WEEKLY)):
        results = concurrently(methodcaller("toPandas"), frames.values())
    return ReportData(week=week, weeks=weeks, min_group_size=min_group_size, **dict(zip(frames, results)))

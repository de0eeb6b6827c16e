"""Group cohesion (E-I index, density, cross-group share), cross-group ties per person, and
onboarding cohorts. Pure functions: DataFrames in, DataFrames out.

Every group-level output follows the one rule of docs/privacy.md ("One rule for every group
output"): a value is published only when at least k distinct people stand behind it; otherwise
the row stays with its values null, `is_suppressed` true and the reason in `suppression`.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import IntegerType, StructField, StructType

from jobs.config import PrivacyRules
from jobs.frames import frame_from_rows
from jobs.graph.contract import UNASSIGNED_GROUP
from jobs.transforms.gold import (
    GROUP_KINDS,
    SUPPRESSED_UNDER_K,
    groups_of,
    neighbours,
    roster_for_weeks,
    weeks_frame,
    with_group,
    with_suppression,
    withheld,
)
from jobs.transforms.silver import week_start_of

DEFAULT_MILESTONES = (1, 2, 4, 8, 12)
COHORT_MONTHS = 12  # an as-of week reports the cohorts of its month and the 11 months before


def _groups_long(people_df: DataFrame) -> DataFrame:
    """person, group_kind, group_name: one row per person and kind; no value -> (unassigned)."""
    frames = [groups_of(people_df, kind).select("person", F.lit(kind).alias("group_kind"),
                                                 F.col("group").alias("group_name")) for kind in GROUP_KINDS]
    return frames[0].unionByName(frames[1])


def group_cohesion_weekly(
    edges_df: DataFrame, people_df: DataFrame, weeks: list[date], privacy: PrivacyRules
) -> DataFrame:
    """Per built week, group kind ("department", "team") and group: how much of the group's
    interaction stays inside it.

    Input edges: week_start, src, dst, weight (the week's directed ties; self-ties ignored).
    People without a value for the kind, and people with ties who are not in `people_df`, are
    in the group "(unassigned)". A row exists for every group with at least one tie that week.

    - n_people: distinct people of the group with at least one tie that week.
    - internal_ties / internal_weight: directed edges with both ends in the group.
    - external_ties / external_weight: directed edges with exactly one end in the group,
      either direction (an edge between groups A and B counts for both A and B).
    - ei_index = (EW - IW) / (EW + IW), Krackhardt-Stern's E-I index on weights: -1 when all
      of the group's weight stays inside, +1 when all of it goes outside.
    - density = internal_ties / (n_members (n_members - 1)), n_members = the group's people on
      the roster that week (hire_date null or on/before the week's Sunday) plus any of its
      people with a tie that week who are not on the roster (so density never exceeds 1);
      null when n_members < 2.
    - cross_group_share = external_ties / (internal_ties + external_ties).

    Privacy. A row is published only when n_people >= k; otherwise every value is null and
    `suppression` = "fewer than k people". Within a week and kind every person with a tie is
    in exactly one group, so the groups' n_people add up to the week's `nodes`
    (network_summary_weekly), and their internal ties plus half their external ties add up to
    the week's `edges`: total minus the published rows gives the suppressed rows' sum. When the
    people of all suppressed groups together are fewer than k, that remainder would describe
    fewer than k people (one small group alone: its exact values), so the published group with
    the smallest n_people (ties by group name) is suppressed too ("complementary"); the
    remainder then always stands for at least k people. Same rule as group_metrics_weekly.
    The rule runs per kind: differencing a team row against its department row is not covered
    (docs/privacy.md, "What is still possible").
    """
    k = privacy.min_group_size
    spark = edges_df.sparkSession
    keys = ["week_start", "group_kind", "group_name"]
    weeks_df = weeks_frame(spark, weeks)
    attributes_df = F.broadcast(people_df.select("person", *GROUP_KINDS))

    def with_groups(df: DataFrame, person_col: str, prefix: str) -> DataFrame:
        lookup = attributes_df.select(
            F.col("person").alias(person_col), *[F.col(kind).alias(f"{prefix}_{kind}") for kind in GROUP_KINDS]
        )
        return df.join(lookup, on=person_col, how="left")

    edges_g = (
        edges_df.join(F.broadcast(weeks_df), on="week_start", how="inner")
        .where(F.col("src") != F.col("dst"))
        .select("week_start", "src", "dst", "weight")
        .transform(lambda df: with_groups(df, "src", "src"))
        .transform(lambda df: with_groups(df, "dst", "dst"))
    )
    group_of = lambda side, kind: F.coalesce(F.col(f"{side}_{kind}"), F.lit(UNASSIGNED_GROUP))  # noqa: E731

    def end(kind: str, side: str) -> Column:
        """One end of an edge for one kind. An internal edge has two ends in its group: only
        its source end counts the tie; an external edge counts once for each end's group."""
        internal = group_of("src", kind) == group_of("dst", kind)
        return F.struct(
            F.lit(kind).alias("group_kind"),
            group_of(side, kind).alias("group_name"),
            F.col(side).alias("person"),
            internal.alias("internal"),
            (~internal | F.lit(side == "src")).alias("counts_tie"),
        )

    ends = F.array(*[end(kind, side) for kind in GROUP_KINDS for side in ("src", "dst")])
    ends_df = edges_g.select("week_start", "weight", F.explode(ends).alias("e")).select(
        "week_start", "e.*", "weight", F.lit(True).alias("has_tie")
    )
    # Roster rows (no tie, no weight) only widen n_members: everyone of the group on the roster.
    roster_df = (
        roster_for_weeks(people_df, weeks)
        .join(F.broadcast(_groups_long(people_df)), on="person", how="inner")
        .select(
            *keys, "person",
            F.lit(None).cast("boolean").alias("internal"),
            F.lit(False).alias("counts_tie"),
            F.lit(None).cast("double").alias("weight"),
            F.lit(False).alias("has_tie"),
        )
    )
    tie = F.col("counts_tie")
    internal = F.col("internal")
    weight_if = lambda cond: F.sum(F.when(cond, F.col("weight")).otherwise(0.0))  # noqa: E731
    counted_df = (
        ends_df.unionByName(roster_df)
        .groupBy(*keys)
        .agg(
            F.countDistinct(F.when(F.col("has_tie"), F.col("person"))).alias("n_people"),
            F.countDistinct("person").alias("n_members"),
            F.count(F.when(tie & internal, True)).alias("internal_ties"),
            F.count(F.when(tie & ~internal, True)).alias("external_ties"),
            weight_if(tie & internal).alias("internal_weight"),
            weight_if(tie & ~internal).alias("external_weight"),
        )
        .where(F.col("n_people") > 0)
    )

    iw, ew = F.col("internal_weight"), F.col("external_weight")
    it, et = F.col("internal_ties"), F.col("external_ties")
    m = F.col("n_members")
    metrics_df = (
        counted_df
        .withColumn("ei_index", F.when(iw + ew > 0, (ew - iw) / (ew + iw)))
        .withColumn("density", F.when(m >= 2, it / (m * (m - 1))))
        .withColumn("cross_group_share", F.when(it + et > 0, et / (it + et)))
    )
    return _suppress_groups(metrics_df, k)


def _suppress_groups(metrics_df: DataFrame, k: int) -> DataFrame:
    """Groups of a week and kind partition its people, so the people behind the suppressed
    rows are the sum of their n_people."""
    week_kind = Window.partitionBy("week_start", "group_kind")
    under_k = F.col("n_people") < k
    hidden_people = F.sum(F.when(under_k, F.col("n_people")).otherwise(0)).over(week_kind)
    any_hidden = F.max(under_k.cast("int")).over(week_kind) == 1
    marked_df = with_suppression(metrics_df, ["week_start", "group_kind"], ["n_people", "group_name"], under_k,
                                 any_hidden & (hidden_people < k))
    return marked_df.select(
        "week_start", "group_kind", "group_name",
        *[withheld(c, "long") for c in ("n_people", "internal_ties", "external_ties")],
        *[withheld(c, "double") for c in ("internal_weight", "external_weight", "ei_index", "density",
                                          "cross_group_share")],
        F.col("suppression").isNotNull().alias("is_suppressed"),
        "suppression",
    )


def person_cross_group_ties(edges_df: DataFrame, people_df: DataFrame) -> DataFrame:
    """week_start, person, cross_group_ties: distinct neighbours (either direction) whose
    department differs from the person's. No department, or not in `people_df`, is the group
    "(unassigned)" (two unassigned people are in the same group). One row per person with at
    least one tie that week (0 when all of them are inside the department).

    Person-level: belongs next to the person metrics, never next to a department value."""
    departments_df = groups_of(people_df, "department")
    return (
        with_group(with_group(neighbours(edges_df), departments_df, "person", "own_group"),
                   departments_df, "other", "other_group")
        .groupBy("week_start", "person")
        .agg(F.count(F.when(F.col("own_group") != F.col("other_group"), True)).cast("long").alias("cross_group_ties"))
    )


def onboarding_cohorts(
    person_weeks_df: DataFrame,
    people_df: DataFrame,
    as_of_weeks: list[date],
    privacy: PrivacyRules,
    milestones: tuple[int, ...] = DEFAULT_MILESTONES,
) -> DataFrame:
    """How integrated new hires are, per hire-month cohort, w weeks after they started.

    person_weeks_df: every available week's person metrics (week_start, person, degree,
    cross_group_ties, constraint; other columns ignored). A person's week 0 is the ISO week
    (Monday) containing their hire_date; milestone w is the week starting 7w days after it.
    Cohort = the first day of the hire month (people without a hire_date are in none).

    For each as-of week A, each cohort whose month is A's month or one of the 11 before, and
    each milestone w reached by the whole cohort by A (the milestone week of someone hired on
    the month's last day is <= A):
    - n_people: members with a row in person_weeks_df in their own milestone week (a member
      present with degree 0 counts; a member without a row that week does not);
    - median_degree, median_cross_group_ties, median_constraint: exact medians (Spark
      `median`, the mean of the two middle values for an even count) over those members;
      a null cross_group_ties counts as 0 (no tie, so no cross-group tie), a null constraint
      (undefined without ties) is left out of its median;
    - share_integrated: share of those members whose degree >= the organisation's median
      degree of that same week and whose cross_group_ties >= the organisation's median
      cross_group_ties of that week (organisation = every row of person_weeks_df that week).

    Why "whole cohort reached": a row's members are then fixed, and the row has the same
    values for every as-of week that reports it. Counting members as they individually reach
    the milestone would let a reader difference two as-of weeks (n_people 5 -> 6 and
    share_integrated x n_people) and read one person's integration.

    Rows with n_people < k (including 0) are kept with every value null, is_suppressed and
    suppression = "fewer than k people". Nothing per person is returned.
    """
    k = privacy.min_group_size
    spark = person_weeks_df.sparkSession
    milestones_df = frame_from_rows(spark, [(int(w),) for w in sorted(set(milestones))],
                                    StructType([StructField("weeks_since_hire", IntegerType())]))
    as_of_df = weeks_frame(spark, as_of_weeks).withColumnRenamed("week_start", "as_of")

    metrics_df = person_weeks_df.select(
        "week_start", "person",
        F.col("degree").cast("double").alias("degree"),
        F.coalesce(F.col("cross_group_ties").cast("double"), F.lit(0.0)).alias("cross_group_ties"),
        F.col("constraint").cast("double").alias("constraint"),
    )
    org_df = metrics_df.groupBy("week_start").agg(
        F.median("degree").alias("org_degree"), F.median("cross_group_ties").alias("org_cross")
    )
    hires_df = people_df.where(F.col("hire_date").isNotNull()).select(
        "person",
        F.trunc("hire_date", "month").alias("cohort_month"),
        week_start_of(F.col("hire_date")).alias("week0"),
    )
    milestone_week = F.date_add("week0", F.col("weeks_since_hire") * 7)
    integrated = (F.col("degree") >= F.col("org_degree")) & (F.col("cross_group_ties") >= F.col("org_cross"))
    stats_df = (
        hires_df.crossJoin(milestones_df)
        .withColumn("week_start", milestone_week)
        .join(metrics_df, on=["week_start", "person"], how="inner")
        .join(org_df, on="week_start", how="left")
        .groupBy("cohort_month", "weeks_since_hire")
        .agg(
            F.count("*").alias("n_people"),
            F.median("degree").alias("median_degree"),
            F.median("cross_group_ties").alias("median_cross_group_ties"),
            F.median("constraint").alias("median_constraint"),
            F.avg(F.coalesce(integrated, F.lit(False)).cast("double")).alias("share_integrated"),
        )
    )

    as_of_month = F.trunc("as_of", "month")
    last_member_week0 = week_start_of(F.last_day("cohort_month"))
    grid_df = (
        hires_df.select("cohort_month").distinct()
        .crossJoin(as_of_df)
        .where(
            (F.col("cohort_month") <= as_of_month)
            & (F.col("cohort_month") >= F.add_months(as_of_month, -(COHORT_MONTHS - 1)))
        )
        .crossJoin(milestones_df)
        .where(F.date_add(last_member_week0, F.col("weeks_since_hire") * 7) <= F.col("as_of"))
    )
    # No complementary rule: cohort rows add up to no published total.
    return (
        grid_df.join(stats_df, on=["cohort_month", "weeks_since_hire"], how="left")
        .withColumn("n_people", F.coalesce(F.col("n_people"), F.lit(0)))
        .withColumn("suppression", F.when(F.col("n_people") < k, F.lit(SUPPRESSED_UNDER_K)))
        .select(
            F.col("as_of").alias("week_start"),
            "cohort_month",
            F.col("weeks_since_hire").cast("int").alias("weeks_since_hire"),
            withheld("n_people", "long"),
            *[withheld(c, "double") for c in ("median_degree", "median_cross_group_ties", "median_constraint",
                                              "share_integrated")],
            F.col("suppression").isNotNull().alias("is_suppressed"),
            "suppression",
        )
    )

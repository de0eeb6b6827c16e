"""Silver -> gold: weekly edges, person metrics, group matrix, network summary.

Degrees and strengths are Spark aggregations; the iterative algorithms run per week in
jobs/graph/local_engine.py. Definitions: docs/metrics.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import DateType, StringType, StructField, StructType

from jobs.config import PrivacyRules, RoleRules
from jobs.frames import frame_from_rows
from jobs.graph.contract import BROKERAGE_ROLES, NODE_COLUMNS, UNASSIGNED_GROUP
from jobs.privacy.pseudonym import PERSON_PREFIX
from schemas.gold import PERSON_METRICS


def edges_weekly(interactions_df: DataFrame) -> DataFrame:
    """One row per week and ordered pair, with the weight split by source."""

    def by_source(source: str, column: str) -> F.Column:
        return F.sum(F.when(F.col("source") == source, F.col(column)).otherwise(0.0))

    def count_source(source: str) -> F.Column:
        return F.count(F.when(F.col("source") == source, True))

    edges_df = interactions_df.groupBy("week_start", "src", "dst").agg(
        F.sum("weight").alias("weight"),
        by_source("email", "weight").alias("email_weight"),
        by_source("calendar", "weight").alias("meeting_weight"),
        by_source("chat", "weight").alias("chat_weight"),
        count_source("email").alias("n_email"),
        count_source("calendar").alias("n_meeting"),
        count_source("chat").alias("n_chat"),
        F.sum("meeting_minutes").alias("meeting_minutes"),
    )
    # A tie is reciprocal when its unordered pair has both directions. A window over the pair
    # finds it without joining the edges with themselves (which recomputed the aggregation).
    pair = Window.partitionBy("week_start", F.least("src", "dst"), F.greatest("src", "dst"))
    return edges_df.select(
        "week_start", "src", "dst", "weight", "email_weight", "meeting_weight", "chat_weight",
        "n_email", "n_meeting", "n_chat", "meeting_minutes",
        (F.count("*").over(pair) == 2).alias("is_reciprocal"),
    )


def tie_ends(edges_df: DataFrame, *carried: str | Column) -> DataFrame:
    """week_start, person, other, *carried: each directed tie seen from both of its ends, so a
    reciprocal pair appears twice (self-ties never count). Ties formed or lost start here."""
    ends = lambda a, b: edges_df.select("week_start", F.col(a).alias("person"), F.col(b).alias("other"), *carried)  # noqa: E731
    return ends("src", "dst").unionByName(ends("dst", "src")).where(F.col("person") != F.col("other"))


def neighbours(edges_df: DataFrame) -> DataFrame:
    """week_start, person, other: each undirected neighbour once per week (self-ties never
    count). The undirected degree and cross-group ties start here."""
    return tie_ends(edges_df).distinct()


def degrees(edges_df: DataFrame) -> DataFrame:
    """In/out degree and strength, and the undirected degree (distinct neighbours)."""
    out_df = edges_df.groupBy("week_start", F.col("src").alias("person")).agg(
        F.count("*").alias("out_degree"), F.sum("weight").alias("out_strength")
    )
    in_df = edges_df.groupBy("week_start", F.col("dst").alias("person")).agg(
        F.count("*").alias("in_degree"), F.sum("weight").alias("in_strength")
    )
    neighbours_df = neighbours(edges_df).groupBy("week_start", "person").agg(F.count("*").alias("degree"))
    return (
        neighbours_df.join(out_df, on=["week_start", "person"], how="left")
        .join(in_df, on=["week_start", "person"], how="left")
        .select(
            "week_start", "person",
            F.coalesce("in_degree", F.lit(0)).cast("long").alias("in_degree"),
            F.coalesce("out_degree", F.lit(0)).cast("long").alias("out_degree"),
            F.col("degree").cast("long").alias("degree"),
            F.coalesce("in_strength", F.lit(0.0)).alias("in_strength"),
            F.coalesce("out_strength", F.lit(0.0)).alias("out_strength"),
        )
        .withColumn("strength", F.col("in_strength") + F.col("out_strength"))
    )


# Working hours in a person's own time zone; anything else (and weekends) is after hours.
WORKDAY_START_HOUR, WORKDAY_END_HOUR = 8, 18


def load_metrics(events_df: DataFrame, people_df: DataFrame) -> DataFrame:
    """What each person sent or attended in the week, ties or not (broadcasts count here), and
    the share of it outside working hours in the person's own time zone (UTC when unknown).

    One pass over the events: each message becomes a row for its sender, each meeting held a
    row for everyone present (organizer included), and one aggregation counts them all."""
    is_meeting = (F.col("kind") == "meeting") & ~F.col("is_cancelled")
    is_sent = (F.col("kind") == "email") | ((F.col("source") == "chat") & (F.col("kind") != "reaction"))
    present = F.array_distinct(F.concat(F.array("actor"), F.col("participants")))
    activity_df = events_df.where(is_meeting | is_sent).select(
        "week_start", "occurred_at", "kind", "source", "is_broadcast", "duration_minutes",
        is_meeting.alias("is_meeting"),
        F.explode(F.when(is_meeting, present).otherwise(F.array("actor"))).alias("person"),
    ).where(F.col("person").startswith(PERSON_PREFIX))
    zones_df = F.broadcast(people_df.select("person", "timezone"))
    local = F.from_utc_timestamp("occurred_at", F.coalesce("timezone", F.lit("UTC")))
    after_hours = (F.dayofweek(local).isin(1, 7)  # Sunday, Saturday
                   | (F.hour(local) < WORKDAY_START_HOUR) | (F.hour(local) >= WORKDAY_END_HOUR))
    is_email = F.col("kind") == "email"
    return (
        activity_df.join(zones_df, on="person", how="left")
        .groupBy("week_start", "person")
        .agg(
            F.count(F.when(is_email, True)).alias("emails_sent"),
            F.count(F.when(is_email & F.col("is_broadcast"), True)).alias("broadcasts_sent"),
            F.count(F.when(F.col("source") == "chat", True)).alias("chat_messages_sent"),
            F.count(F.when(F.col("is_meeting"), True)).alias("meetings_attended"),
            F.sum(F.when(F.col("is_meeting"), F.col("duration_minutes"))).alias("meeting_minutes"),
            F.avg(after_hours.cast("double")).alias("after_hours_share"),
        )
        .select(
            "week_start", "person",
            *[F.col(c).cast("long").alias(c)
              for c in ("emails_sent", "broadcasts_sent", "chat_messages_sent", "meetings_attended")],
            F.coalesce(F.col("meeting_minutes") / 60.0, F.lit(0.0)).alias("meeting_hours"),
            "after_hours_share",
        )
    )


def weeks_frame(spark, weeks: list[date]) -> DataFrame:
    """One row per week (week_start), ascending: the weeks a transform must answer for, even
    those without a single tie."""
    return frame_from_rows(spark, [(w,) for w in sorted(set(weeks))], StructType([StructField("week_start", DateType())]))


def roster_for_weeks(people_df: DataFrame, weeks: list[date]) -> DataFrame:
    """Every person employed in each week (hired on or before the week's Sunday)."""
    return weeks_frame(people_df.sparkSession, weeks).crossJoin(people_df.select("person", "hire_date")).where(
        F.col("hire_date").isNull() | (F.col("hire_date") <= F.date_add("week_start", 6))
    ).select("week_start", "person")


def network_role(roles: RoleRules) -> F.Column:
    """The role label (docs/metrics.md, "Roles"), from percent ranks computed within the week
    among people with a tie; the first rule that holds wins."""
    with_ties = F.col("degree") > 0
    return (
        F.when((F.col("meeting_hours") >= roles.overloaded_meeting_hours)
               | (with_ties & (F.col("messages_rank") >= roles.overloaded_messages_percentile)), "overloaded")
        .when(~with_ties, "isolated")
        .when((F.col("betweenness_rank_pct") >= roles.broker_betweenness_percentile)
              & (F.col("constraint_rank_pct") <= roles.broker_constraint_percentile), "broker")
        .when(F.col("degree_rank_pct") >= roles.connector_degree_percentile, "connector")
        .when(F.col("degree") <= roles.peripheral_max_degree, "peripheral")
        .otherwise("member")
    )


def _with_role(df: DataFrame, roles: RoleRules) -> DataFrame:
    # Ranks among the week's people with ties: people without ties sort apart (has_ties first).
    week = Window.partitionBy("week_start", F.col("degree") > 0)
    pct = lambda column: F.percent_rank().over(week.orderBy(F.col(column).asc_nulls_first()))  # noqa: E731
    ranked = (
        df.withColumn("messages", F.col("emails_sent") + F.col("chat_messages_sent"))
        .withColumn("messages_rank", pct("messages"))
        .withColumn("betweenness_rank_pct", pct("betweenness"))
        .withColumn("constraint_rank_pct", pct("constraint"))
        .withColumn("degree_rank_pct", pct("degree"))
    )
    return ranked.withColumn("network_role", network_role(roles)).drop(
        "messages", "messages_rank", "betweenness_rank_pct", "constraint_rank_pct", "degree_rank_pct")


def person_metrics_weekly(
    degrees_df: DataFrame,
    node_metrics_df: DataFrame,
    load_df: DataFrame,
    change_df: DataFrame,
    people_df: DataFrame,
    weeks: list[date],
    roles: RoleRules,
) -> DataFrame:
    """One row per week and person: everyone on the roster that week, everyone with a tie, and
    everyone who sent or attended something. Graph metrics are null for people without ties.
    No person attribute (department, team, ...) is carried: gold is the BI zone, and a
    pseudonym next to its department would let a reader rebuild the group cells the k rule
    hides (docs/privacy.md, "Two zones"); for the same reason the department-derived figures
    (brokerage_weekly) are not here either."""
    keys = ["week_start", "person"]
    persons_df = (
        roster_for_weeks(people_df, weeks)
        .unionByName(degrees_df.select(*keys))
        .unionByName(load_df.select(*keys))
        .distinct()
    )
    zero_long = lambda c: F.coalesce(c, F.lit(0)).cast("long").alias(c)  # noqa: E731
    zero_double = lambda c: F.coalesce(c, F.lit(0.0)).alias(c)  # noqa: E731
    joined_df = (
        persons_df.join(degrees_df, on=keys, how="left")
        .join(node_metrics_df.drop("week_modularity", "betweenness_error_bound"), on=keys, how="left")
        .join(load_df, on=keys, how="left")
        .join(change_df, on=keys, how="left")
        .select(
            *keys, *map(zero_long, ("in_degree", "out_degree", "degree")),
            *map(zero_double, ("in_strength", "out_strength", "strength")),
            *[c for c, _ in NODE_COLUMNS if c not in ("person",) + BROKERAGE_ROLES],
            *map(zero_long, ("emails_sent", "broadcasts_sent", "chat_messages_sent", "meetings_attended")),
            zero_double("meeting_hours"), "after_hours_share",
            "ties_formed", "ties_lost", "pagerank_rank", "pagerank_rank_change",
            "betweenness_rank", "betweenness_rank_change",
        )
    )
    return _with_role(joined_df, roles).select(*PERSON_METRICS.fieldNames())


def brokerage_weekly(node_metrics_df: DataFrame, cross_ties_df: DataFrame) -> DataFrame:
    """silver/person_brokerage_weekly: the department-derived figures of people with ties
    (restricted zone). Someone with ties but no neighbour in another department has 0."""
    keys = ["week_start", "person"]
    return node_metrics_df.select(*keys, *BROKERAGE_ROLES).join(cross_ties_df, on=keys, how="left").select(
        *keys, F.coalesce("cross_group_ties", F.lit(0)).cast("long").alias("cross_group_ties"), *BROKERAGE_ROLES)


def with_group(df: DataFrame, groups_df: DataFrame, person_col: str, group_col: str) -> DataFrame:
    """df with the group of person_col as group_col ((unassigned) when the person has none).
    groups_df: person, group."""
    lookup = F.broadcast(groups_df.withColumnRenamed("person", person_col).withColumnRenamed("group", group_col))
    return df.join(lookup, on=person_col, how="left").withColumn(
        group_col, F.coalesce(group_col, F.lit(UNASSIGNED_GROUP)))


def groups_of(people_df: DataFrame, kind: str) -> DataFrame:
    """person, group for one group kind (a silver/people column: department or team)."""
    return people_df.select("person", F.coalesce(kind, F.lit(UNASSIGNED_GROUP)).alias("group"))


SUPPRESSED_UNDER_K = "fewer than k people"
SUPPRESSED_COMPLEMENTARY = "complementary"


GROUP_KINDS = ("department", "team")


def with_suppression(df: DataFrame, partition: list[str], smallest_first: list[str], under_k: F.Column,
                     complement_needed: F.Column) -> DataFrame:
    """The one publication rule of every group output (docs/privacy.md, "One rule for every
    group output") as a `suppression` column: rows under k get SUPPRESSED_UNDER_K; when the
    rows hidden so far would let a total minus the published rows describe fewer than k
    people (complement_needed, per partition), the first published row of the partition in
    smallest_first order gets SUPPRESSED_COMPLEMENTARY. Published rows get null."""
    order = Window.partitionBy(*partition, under_k).orderBy(*smallest_first)
    return df.withColumn(
        "suppression",
        F.when(under_k, F.lit(SUPPRESSED_UNDER_K))
        .when(F.coalesce(complement_needed, F.lit(False)) & (F.row_number().over(order) == 1),
              F.lit(SUPPRESSED_COMPLEMENTARY)),
    )


def withheld(column: str, kind: str) -> F.Column:
    """The column's value as `kind`, null in a suppressed row (after with_suppression)."""
    return F.when(F.col("suppression").isNull(), F.col(column)).cast(kind).alias(column)


def group_metrics_weekly(edges_df: DataFrame, people_df: DataFrame, privacy: PrivacyRules) -> DataFrame:
    """Group-to-group interaction matrices, one per group kind (department, team), built in one
    pass (each edge lies in one cell of each kind) and published cell by cell under one rule
    (docs/privacy.md, "One rule for every group output"):

    1. A cell is published only when at least k distinct people stand behind it on each side
       (k distinct senders in group_a, k distinct receivers in group_b), whatever the size of
       the departments. Otherwise its values are nulled and it is flagged, never dropped.
    2. Every edge of the week lies in exactly one cell of a kind, so the week's total
       (edges_weekly, network_summary_weekly) minus the published cells of a kind gives the sum
       of its suppressed ones. When the people behind all suppressed cells of a kind together
       are fewer than k on a side, the published cell of that kind with the smallest weight is
       suppressed too ("complementary"), so that sum always stands for at least k people on
       each side.
    """
    k = privacy.min_group_size
    matrix = ["week_start", "group_kind"]
    cell = [*matrix, "group_a", "group_b"]
    labelled_df = edges_df.select("week_start", "src", "dst", "weight")
    for kind in GROUP_KINDS:
        groups_df = groups_of(people_df, kind)
        labelled_df = with_group(with_group(labelled_df, groups_df, "src", f"{kind}_a"), groups_df, "dst", f"{kind}_b")
    in_cells = F.array(*[F.struct(F.lit(kind).alias("group_kind"), F.col(f"{kind}_a").alias("group_a"),
                                  F.col(f"{kind}_b").alias("group_b")) for kind in GROUP_KINDS])
    grouped_df = labelled_df.select("week_start", "src", "dst", "weight", F.explode(in_cells).alias("cell")) \
        .select("week_start", "cell.*", "src", "dst", "weight")
    cells_df = grouped_df.groupBy(*cell).agg(
        F.sum("weight").alias("weight"),
        F.count("*").alias("n_people_pairs"),
        F.countDistinct("src").alias("n_people_a"),
        F.countDistinct("dst").alias("n_people_b"),
    ).withColumn("under_k", (F.col("n_people_a") < k) | (F.col("n_people_b") < k))

    # People behind all primary-suppressed cells of each week and kind, on each side.
    hidden_people_df = (
        grouped_df.join(cells_df.where("under_k").select(*cell), on=cell, how="inner")
        .groupBy(*matrix)
        .agg(F.countDistinct("src").alias("hidden_a"), F.countDistinct("dst").alias("hidden_b"))
    )
    marked_df = with_suppression(
        cells_df.join(hidden_people_df, on=matrix, how="left"), matrix, ["weight", "group_a", "group_b"],
        F.col("under_k"), (F.col("hidden_a") < k) | (F.col("hidden_b") < k))
    return marked_df.select(
        *cell,
        withheld("weight", "double"),
        *[withheld(c, "long") for c in ("n_people_pairs", "n_people_a", "n_people_b")],
        F.col("suppression").isNotNull().alias("is_suppressed"),
        "suppression",
        F.lit(None).cast("double").alias("dp_epsilon"),
    )


def network_summary_weekly(
    edges_df: DataFrame, node_metrics_df: DataFrame, group_df: DataFrame, weeks: list[date],
    network_change_df: DataFrame, stability_df: DataFrame, engines: Mapping[date, str],
) -> DataFrame:
    """One row per built week, also for a week without a single tie (all counts 0).
    engines: the graph engine each week ran on (docs/engines.md)."""
    weeks_df = frame_from_rows(
        edges_df.sparkSession, [(w, engines.get(w, "native")) for w in weeks],
        StructType([StructField("week_start", DateType()), StructField("graph_engine", StringType())]))
    edge_stats_df = edges_df.groupBy("week_start").agg(
        F.count("*").alias("edges"),
        F.sum("weight").alias("total_weight"),
        F.avg(F.col("is_reciprocal").cast("double")).alias("reciprocity"),
    )
    node_stats_df = node_metrics_df.groupBy("week_start").agg(
        F.count("*").alias("nodes"),
        F.countDistinct("component").alias("components"),
        F.max("component_size").alias("giant_size"),
        F.avg("clustering").alias("average_clustering"),
        F.countDistinct("community").alias("communities"),
        F.first("week_modularity").alias("modularity"),
        F.first("betweenness_error_bound").alias("betweenness_error_bound"),
    )
    suppressed_df = group_df.groupBy("week_start").agg(
        F.sum(F.col("is_suppressed").cast("int")).alias("groups_suppressed")
    )
    n = F.col("nodes")
    zero = lambda c, kind="long": F.coalesce(F.col(c), F.lit(0)).cast(kind).alias(c)  # noqa: E731
    return (
        weeks_df.join(edge_stats_df, on="week_start", how="left")
        .join(node_stats_df, on="week_start", how="left")
        .join(suppressed_df, on="week_start", how="left")
        .join(network_change_df, on="week_start", how="left")
        .join(stability_df, on="week_start", how="left")
        .withColumn("nodes", F.coalesce("nodes", F.lit(0)))
        .select(
            "week_start", zero("nodes"), zero("edges"), zero("total_weight", "double"),
            F.when(n > 1, F.col("edges") / (n * (n - 1))).alias("density"),
            zero("components"),
            F.when(n > 0, F.col("giant_size") / n).alias("giant_component_share"),
            "reciprocity", "average_clustering", zero("communities"), "modularity",
            zero("groups_suppressed", "int"),
            "ties_formed", "ties_lost", "tie_churn", "community_stability",
            "graph_engine", "betweenness_error_bound",
        )
    )

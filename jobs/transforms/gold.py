"""Silver -> gold: weekly edges, person metrics, group matrix, network summary.

Degrees and strengths are Spark aggregations; the iterative algorithms run per week in
jobs/graph/local_engine.py. Definitions: docs/metrics.md.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from jobs.config import PrivacyRules
from jobs.privacy.pseudonym import PERSON_PREFIX

UNASSIGNED_GROUP = "(unassigned)"


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


def _from_both_ends(edges_df: DataFrame, src_side: dict[str, str], dst_side: dict[str, str]) -> DataFrame:
    """One row per edge end: the edge seen from its source and from its destination, with the
    columns renamed as given (alias -> column), keyed by week."""
    def side(columns: dict[str, str]) -> DataFrame:
        return edges_df.select("week_start", *[F.col(c).alias(a) for a, c in columns.items()])

    return side(src_side).unionByName(side(dst_side))


def degrees(edges_df: DataFrame) -> DataFrame:
    """In/out degree and strength, and the undirected degree (distinct neighbours)."""
    out_df = edges_df.groupBy("week_start", F.col("src").alias("person")).agg(
        F.count("*").alias("out_degree"), F.sum("weight").alias("out_strength")
    )
    in_df = edges_df.groupBy("week_start", F.col("dst").alias("person")).agg(
        F.count("*").alias("in_degree"), F.sum("weight").alias("in_strength")
    )
    neighbours_df = (
        _from_both_ends(edges_df, {"person": "src", "other": "dst"}, {"person": "dst", "other": "src"})
        .distinct()
        .groupBy("week_start", "person")
        .agg(F.count("*").alias("degree"))
    )
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


def load_metrics(events_df: DataFrame) -> DataFrame:
    """What each person sent or attended in the week, ties or not (broadcasts count here)."""
    sent_df = events_df.groupBy("week_start", F.col("actor").alias("person")).agg(
        F.count(F.when(F.col("kind") == "email", True)).alias("emails_sent"),
        F.count(F.when((F.col("kind") == "email") & F.col("is_broadcast"), True)).alias("broadcasts_sent"),
        F.count(F.when((F.col("source") == "chat") & (F.col("kind") != "reaction"), True)).alias(
            "chat_messages_sent"
        ),
    )
    meetings_df = events_df.where((F.col("kind") == "meeting") & ~F.col("is_cancelled"))
    attended_df = (
        meetings_df.select(
            "week_start", "event_id", "duration_minutes",
            F.explode(F.array_distinct(F.concat(F.array("actor"), F.col("participants")))).alias("person"),
        )
        .groupBy("week_start", "person")
        .agg(
            F.count("*").alias("meetings_attended"),
            (F.sum("duration_minutes") / 60.0).alias("meeting_hours"),
        )
    )
    return (
        sent_df.join(attended_df, on=["week_start", "person"], how="full")
        .where(F.col("person").startswith(PERSON_PREFIX))
        .select(
            "week_start", "person",
            *[F.coalesce(c, F.lit(0)).cast("long").alias(c)
              for c in ("emails_sent", "broadcasts_sent", "chat_messages_sent", "meetings_attended")],
            F.coalesce("meeting_hours", F.lit(0.0)).alias("meeting_hours"),
        )
    )


def roster_for_weeks(people_df: DataFrame, weeks: list[date]) -> DataFrame:
    """Every person employed in each week (hired on or before the week's Sunday)."""
    weeks_df = people_df.sparkSession.createDataFrame([(w,) for w in weeks], "week_start date")
    return weeks_df.crossJoin(people_df.select("person", "hire_date")).where(
        F.col("hire_date").isNull() | (F.col("hire_date") <= F.date_add("week_start", 6))
    ).select("week_start", "person")


def person_metrics_weekly(
    degrees_df: DataFrame,
    node_metrics_df: DataFrame,
    load_df: DataFrame,
    people_df: DataFrame,
    weeks: list[date],
) -> DataFrame:
    """One row per week and person: everyone on the roster that week, everyone with a tie, and
    everyone who sent or attended something. Graph metrics are null for people without ties.
    No person attribute (department, team, ...) is carried: gold is the BI zone, and a
    pseudonym next to its department would let a reader rebuild the group cells the k rule
    hides (docs/privacy.md, "Two zones")."""
    keys = ["week_start", "person"]
    persons_df = (
        roster_for_weeks(people_df, weeks)
        .unionByName(degrees_df.select(*keys))
        .unionByName(load_df.select(*keys))
        .distinct()
    )
    zero_long = ["in_degree", "out_degree", "degree", "emails_sent", "broadcasts_sent",
                 "chat_messages_sent", "meetings_attended"]
    zero_double = ["in_strength", "out_strength", "strength", "meeting_hours"]
    return (
        persons_df.join(degrees_df, on=keys, how="left")
        .join(node_metrics_df.drop("week_modularity"), on=keys, how="left")
        .join(load_df, on=keys, how="left")
        .select(
            *keys,
            *[F.coalesce(c, F.lit(0)).cast("long").alias(c) for c in zero_long[:3]],
            *[F.coalesce(c, F.lit(0.0)).alias(c) for c in zero_double[:3]],
            "pagerank", "component", "component_size", "community", "clustering",
            *[F.coalesce(c, F.lit(0)).cast("long").alias(c) for c in zero_long[3:]],
            F.coalesce("meeting_hours", F.lit(0.0)).alias("meeting_hours"),
        )
    )


SUPPRESSED_UNDER_K = "fewer than k people"
SUPPRESSED_COMPLEMENTARY = "complementary"


def group_metrics_weekly(edges_df: DataFrame, people_df: DataFrame, privacy: PrivacyRules) -> DataFrame:
    """Department-to-department interaction matrix, published cell by cell under one rule
    (docs/privacy.md, "One rule for every group output"):

    1. A cell is published only when at least k distinct people stand behind it on each side
       (k distinct senders in group_a, k distinct receivers in group_b), whatever the size of
       the departments. Otherwise its values are nulled and it is flagged, never dropped.
    2. Every edge of the week lies in exactly one cell, so the week's total (edges_weekly,
       network_summary_weekly) minus the published cells gives the sum of the suppressed ones.
       When the people behind all suppressed cells together are fewer than k on a side, the
       published cell with the smallest weight is suppressed too ("complementary"), so that
       sum always stands for at least k people on each side.
    """
    k = privacy.min_group_size
    groups_df = people_df.select("person", F.coalesce("department", F.lit(UNASSIGNED_GROUP)).alias("group"))

    def with_group(df: DataFrame, person_col: str, group_col: str) -> DataFrame:
        return df.join(
            F.broadcast(groups_df.withColumnRenamed("person", person_col).withColumnRenamed("group", group_col)),
            on=person_col, how="left",
        ).withColumn(group_col, F.coalesce(group_col, F.lit(UNASSIGNED_GROUP)))

    cell = ["week_start", "group_a", "group_b"]
    grouped_df = edges_df.transform(lambda df: with_group(df, "src", "group_a")).transform(
        lambda df: with_group(df, "dst", "group_b")
    )
    cells_df = grouped_df.groupBy(*cell).agg(
        F.sum("weight").alias("weight"),
        F.count("*").alias("n_people_pairs"),
        F.countDistinct("src").alias("n_people_a"),
        F.countDistinct("dst").alias("n_people_b"),
    ).withColumn("under_k", (F.col("n_people_a") < k) | (F.col("n_people_b") < k))

    # People behind all primary-suppressed cells of the week, on each side.
    hidden_people_df = (
        grouped_df.join(cells_df.where("under_k").select(*cell), on=cell, how="inner")
        .groupBy("week_start")
        .agg(F.countDistinct("src").alias("hidden_a"), F.countDistinct("dst").alias("hidden_b"))
    )
    smallest_first = Window.partitionBy("week_start", "under_k").orderBy("weight", "group_a", "group_b")
    marked_df = (
        cells_df.join(hidden_people_df, on="week_start", how="left")
        .withColumn("needs_complement", (F.col("hidden_a") < k) | (F.col("hidden_b") < k))
        .withColumn("rank", F.row_number().over(smallest_first))
        .withColumn(
            "suppression",
            F.when(F.col("under_k"), F.lit(SUPPRESSED_UNDER_K))
            .when(F.coalesce("needs_complement", F.lit(False)) & (F.col("rank") == 1), F.lit(SUPPRESSED_COMPLEMENTARY)),
        )
    )
    is_suppressed = F.col("suppression").isNotNull()
    keep = lambda c: F.when(~is_suppressed, F.col(c))  # noqa: E731
    return marked_df.select(
        "week_start", F.lit("department").alias("group_kind"), "group_a", "group_b",
        keep("weight").alias("weight"),
        keep("n_people_pairs").cast("long").alias("n_people_pairs"),
        keep("n_people_a").cast("long").alias("n_people_a"),
        keep("n_people_b").cast("long").alias("n_people_b"),
        is_suppressed.alias("is_suppressed"),
        "suppression",
        F.lit(None).cast("double").alias("dp_epsilon"),
    )


def network_summary_weekly(
    edges_df: DataFrame, node_metrics_df: DataFrame, group_df: DataFrame, weeks: list[date]
) -> DataFrame:
    """One row per built week, also for a week without a single tie (all counts 0)."""
    weeks_df = edges_df.sparkSession.createDataFrame([(w,) for w in weeks], "week_start date")
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
        .withColumn("nodes", F.coalesce("nodes", F.lit(0)))
        .select(
            "week_start", zero("nodes"), zero("edges"), zero("total_weight", "double"),
            F.when(n > 1, F.col("edges") / (n * (n - 1))).alias("density"),
            zero("components"),
            F.when(n > 0, F.col("giant_size") / n).alias("giant_component_share"),
            "reciprocity", "average_clustering", zero("communities"), "modularity",
            zero("groups_suppressed", "int"),
        )
    )

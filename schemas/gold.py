"""Gold: the weekly network tables BI tools query. Metric definitions: docs/metrics.md."""

from pyspark.sql.types import (
    BooleanType,
    DateType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
)

from schemas import Table

EDGES = StructType(
    [
        StructField("week_start", DateType(), False),
        StructField("src", StringType(), False),
        StructField("dst", StringType(), False),
        StructField("weight", DoubleType(), False),
        StructField("email_weight", DoubleType(), False),
        StructField("meeting_weight", DoubleType(), False),
        StructField("chat_weight", DoubleType(), False),
        StructField("n_email", LongType(), False),
        StructField("n_meeting", LongType(), False),
        StructField("n_chat", LongType(), False),
        StructField("meeting_minutes", DoubleType(), False),
        StructField("is_reciprocal", BooleanType(), False),
    ]
)

PERSON_METRICS = StructType(
    [
        StructField("week_start", DateType(), False),
        StructField("person", StringType(), False),
        StructField("department", StringType(), True),
        StructField("team", StringType(), True),
        StructField("in_degree", LongType(), False),
        StructField("out_degree", LongType(), False),
        StructField("degree", LongType(), False),  # distinct neighbours, either direction
        StructField("in_strength", DoubleType(), False),
        StructField("out_strength", DoubleType(), False),
        StructField("strength", DoubleType(), False),
        StructField("pagerank", DoubleType(), True),  # null when the person has no tie
        StructField("component", LongType(), True),
        StructField("component_size", LongType(), True),
        StructField("community", LongType(), True),
        StructField("clustering", DoubleType(), True),
        StructField("emails_sent", LongType(), False),
        StructField("broadcasts_sent", LongType(), False),
        StructField("chat_messages_sent", LongType(), False),
        StructField("meetings_attended", LongType(), False),
        StructField("meeting_hours", DoubleType(), False),
    ]
)

GROUP_METRICS = StructType(
    [
        StructField("week_start", DateType(), False),
        StructField("group_kind", StringType(), False),  # department
        StructField("group_a", StringType(), False),
        StructField("group_b", StringType(), False),
        StructField("weight", DoubleType(), True),  # null when suppressed
        StructField("n_people_pairs", LongType(), True),  # null when suppressed
        StructField("n_active_a", LongType(), True),
        StructField("n_active_b", LongType(), True),
        StructField("is_suppressed", BooleanType(), False),
    ]
)

NETWORK_SUMMARY = StructType(
    [
        StructField("week_start", DateType(), False),
        StructField("nodes", LongType(), False),
        StructField("edges", LongType(), False),
        StructField("total_weight", DoubleType(), False),
        StructField("density", DoubleType(), True),
        StructField("components", LongType(), False),
        StructField("giant_component_share", DoubleType(), True),
        StructField("reciprocity", DoubleType(), True),
        StructField("average_clustering", DoubleType(), True),
        StructField("communities", LongType(), False),
        StructField("modularity", DoubleType(), True),
        StructField("groups_suppressed", IntegerType(), False),
    ]
)

EDGES_WEEKLY = Table("gold/edges_weekly", EDGES, ("week_start", "src", "dst"), ("week_start",))
PERSON_METRICS_WEEKLY = Table(
    "gold/person_metrics_weekly", PERSON_METRICS, ("week_start", "person"), ("week_start",)
)
GROUP_METRICS_WEEKLY = Table(
    "gold/group_metrics_weekly",
    GROUP_METRICS,
    ("week_start", "group_kind", "group_a", "group_b"),
    ("week_start",),
)
NETWORK_SUMMARY_WEEKLY = Table(
    "gold/network_summary_weekly", NETWORK_SUMMARY, ("week_start",), ("week_start",)
)
GOLD_TABLES = (EDGES_WEEKLY, PERSON_METRICS_WEEKLY, GROUP_METRICS_WEEKLY, NETWORK_SUMMARY_WEEKLY)

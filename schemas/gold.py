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

from schemas import DROP_ROW, Table

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
        # Distinct people behind the cell on each side; a cell is published only when both are
        # at least k (docs/privacy.md, "One rule for every group output"). Null when suppressed.
        StructField("n_people_a", LongType(), True),
        StructField("n_people_b", LongType(), True),
        StructField("is_suppressed", BooleanType(), False),
        # Why a cell is null: "fewer than k people", or "complementary" (hidden so that the
        # suppressed cells cannot be recovered from the week's total). Null when published.
        StructField("suppression", StringType(), True),
        # The privacy loss of the noisy weight and pair count when differential privacy is on.
        StructField("dp_epsilon", DoubleType(), True),
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

EDGES_WEEKLY = Table("gold/edges_weekly", EDGES, ("week_start", "src", "dst"), ("week_start",),
                     person_columns=(("src", DROP_ROW), ("dst", DROP_ROW)))
PERSON_METRICS_WEEKLY = Table(
    "gold/person_metrics_weekly", PERSON_METRICS, ("week_start", "person"), ("week_start",),
    person_columns=(("person", DROP_ROW),),
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


def _staged(table: Table) -> Table:
    """A gold table's candidate rows waiting for approval: the same columns plus the run."""
    return Table(
        "staging/" + table.path.split("/", 1)[1],
        StructType(list(table.schema.fields) + [StructField("run_id", StringType(), False)]),
        (*table.keys, "run_id"), table.partition_by, person_columns=table.person_columns,
        description=f"Candidate rows of {table.path} waiting for `ona approve` (restricted)",
    )


# Restricted: BI readers never see a week before a privacy officer approved it.
STAGING_TABLES = {table.path: _staged(table) for table in GOLD_TABLES}

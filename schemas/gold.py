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

# A person's network role: one label per person and week from fixed thresholds on the
# network metrics (docs/metrics.md, "Roles"), most actionable first.
NETWORK_ROLES = ("overloaded", "broker", "connector", "peripheral", "isolated", "member")

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
        # Graph metrics (jobs/graph/contract.py): null when the person has no tie that week.
        StructField("pagerank", DoubleType(), True),
        StructField("eigenvector", DoubleType(), True),
        StructField("harmonic", DoubleType(), True),
        StructField("kcore", LongType(), True),
        StructField("betweenness", DoubleType(), True),
        StructField("clustering", DoubleType(), True),
        StructField("constraint", DoubleType(), True),
        StructField("effective_size", DoubleType(), True),
        StructField("component", LongType(), True),
        StructField("component_size", LongType(), True),
        StructField("community", LongType(), True),  # stable across weeks (matched by overlap)
        # Department-derived person figures (cross-group ties, Gould-Fernandez brokerage counts)
        # are not here: with the public edges they would let a reader work out who shares a
        # department with whom. They live in silver/person_brokerage_weekly (restricted) and
        # reach BI only as group aggregates (docs/privacy.md, "Two zones").
        StructField("network_role", StringType(), False),  # one of NETWORK_ROLES
        # Load
        StructField("emails_sent", LongType(), False),
        StructField("broadcasts_sent", LongType(), False),
        StructField("chat_messages_sent", LongType(), False),
        StructField("meetings_attended", LongType(), False),
        StructField("meeting_hours", DoubleType(), False),
        # Share of the person's sent messages and attended meetings outside 08:00-18:00 on
        # Monday-Friday in their own time zone; null without any activity.
        StructField("after_hours_share", DoubleType(), True),
        # Change vs the previous week (null when that week is not in the lake)
        StructField("ties_formed", LongType(), True),
        StructField("ties_lost", LongType(), True),
        StructField("pagerank_rank", LongType(), True),  # 1 = highest that week
        StructField("pagerank_rank_change", LongType(), True),  # > 0: moved up
        StructField("betweenness_rank", LongType(), True),
        StructField("betweenness_rank_change", LongType(), True),
    ]
)

GROUP_METRICS = StructType(
    [
        StructField("week_start", DateType(), False),
        StructField("group_kind", StringType(), False),  # department or team
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

GROUP_COHESION = StructType(
    [
        StructField("week_start", DateType(), False),
        StructField("group_kind", StringType(), False),  # department or team
        StructField("group_name", StringType(), False),  # "group" is an SQL keyword
        # Every value below is null when the group is suppressed (fewer than k people with a
        # tie that week, or complementary), like the group matrix.
        StructField("n_people", LongType(), True),
        StructField("internal_ties", LongType(), True),
        StructField("external_ties", LongType(), True),
        StructField("internal_weight", DoubleType(), True),
        StructField("external_weight", DoubleType(), True),
        StructField("ei_index", DoubleType(), True),  # (E - I) / (E + I), weighted: -1 silo, +1 outward
        StructField("density", DoubleType(), True),  # internal ties / (members (members - 1))
        StructField("cross_group_share", DoubleType(), True),  # external ties / all ties
        StructField("is_suppressed", BooleanType(), False),
        StructField("suppression", StringType(), True),
    ]
)

ONBOARDING_COHORTS = StructType(
    [
        StructField("week_start", DateType(), False),  # the week the figures are as of
        StructField("cohort_month", DateType(), False),  # first day of the hire month
        StructField("weeks_since_hire", IntegerType(), False),  # 1, 2, 4, 8, 12
        StructField("n_people", LongType(), True),  # null (like every value) when suppressed
        StructField("median_degree", DoubleType(), True),
        StructField("median_cross_group_ties", DoubleType(), True),
        StructField("median_constraint", DoubleType(), True),
        # Share of the cohort at or above the organisation's median degree and cross-group ties
        # of the same week.
        StructField("share_integrated", DoubleType(), True),
        StructField("is_suppressed", BooleanType(), False),
        StructField("suppression", StringType(), True),
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
        # Change vs the previous week, over undirected ties (null without a previous week)
        StructField("ties_formed", LongType(), True),
        StructField("ties_lost", LongType(), True),
        StructField("tie_churn", DoubleType(), True),  # (formed + lost) / ties of either week
        # Share of people present both weeks who stay in a community with the same id.
        StructField("community_stability", DoubleType(), True),
        StructField("graph_engine", StringType(), False),  # native or graphframes (docs/engines.md)
        StructField("betweenness_error_bound", DoubleType(), True),  # 0 exact, null not computed
    ]
)

EDGES_WEEKLY = Table("gold/edges_weekly", EDGES, ("week_start", "src", "dst"), ("week_start",),
                     person_columns=(("src", DROP_ROW), ("dst", DROP_ROW)), run_tagged=True)
PERSON_METRICS_WEEKLY = Table(
    "gold/person_metrics_weekly", PERSON_METRICS, ("week_start", "person"), ("week_start",),
    person_columns=(("person", DROP_ROW),),
    closed_labels=(("network_role", NETWORK_ROLES),), run_tagged=True,
)
GROUP_METRICS_WEEKLY = Table(
    "gold/group_metrics_weekly",
    GROUP_METRICS,
    ("week_start", "group_kind", "group_a", "group_b"),
    ("week_start",), run_tagged=True,
)
NETWORK_SUMMARY_WEEKLY = Table(
    "gold/network_summary_weekly", NETWORK_SUMMARY, ("week_start",), ("week_start",), run_tagged=True,
)
GROUP_COHESION_WEEKLY = Table(
    "gold/group_cohesion_weekly", GROUP_COHESION, ("week_start", "group_kind", "group_name"), ("week_start",), run_tagged=True,
)
ONBOARDING_COHORTS_WEEKLY = Table(
    "gold/onboarding_cohorts_weekly", ONBOARDING_COHORTS, ("week_start", "cohort_month", "weeks_since_hire"),
    ("week_start",), run_tagged=True,
)
GOLD_TABLES = (EDGES_WEEKLY, PERSON_METRICS_WEEKLY, GROUP_METRICS_WEEKLY, GROUP_COHESION_WEEKLY,
               ONBOARDING_COHORTS_WEEKLY, NETWORK_SUMMARY_WEEKLY)


def _staged(table: Table) -> Table:
    """A gold table's candidate rows waiting for approval: the same columns plus the run."""
    return Table(
        "staging/" + table.path.split("/", 1)[1],
        StructType(list(table.schema.fields) + [StructField("run_id", StringType(), False)]),
        (*table.keys, "run_id"), table.partition_by, person_columns=table.person_columns,
        closed_labels=table.closed_labels,
        description=f"Candidate rows of {table.path} waiting for `ona approve` (restricted)",
    )


# Restricted: BI readers never see a week before a privacy officer approved it.
STAGING_TABLES = {table.path: _staged(table) for table in GOLD_TABLES}

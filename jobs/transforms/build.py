"""Silver frames in, gold frames out: the whole weekly computation, with no lake read or write.

The gold stage (jobs/stages/gold.py) reads silver and the published gold history, calls
`build_gold`, gates and publishes; the benchmark and the tests call `build_gold` directly on
frames they made. Each gold table's own function lives in jobs/transforms/gold.py (edges,
person metrics, group matrix, summary), cohesion.py (E-I, density, cohorts) and change.py
(week over week); the graph engines in jobs/graph/.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.config import Settings
from jobs.graph.contract import NODE_METRICS_SCHEMA
from jobs.graph.graphframes_engine import weekly_node_metrics_graphframes
from jobs.graph.local_engine import weekly_node_metrics
from jobs.frames import empty_frame
from jobs.spark import computed, computed_together
from jobs.transforms import change, cohesion, gold
from schemas.gold import (
    EDGES_WEEKLY,
    GROUP_COHESION_WEEKLY,
    GROUP_METRICS_WEEKLY,
    NETWORK_SUMMARY_WEEKLY,
    ONBOARDING_COHORTS_WEEKLY,
    PERSON_METRICS_WEEKLY,
)
from schemas.silver import PERSON_BROKERAGE_WEEKLY

NATIVE, GRAPHFRAMES = "native", "graphframes"

# What the week-over-week and cohort figures need from earlier weeks: gold person metrics
# joined with the restricted cross-group ties (silver/person_brokerage_weekly).
HISTORY_COLUMNS = ("week_start", "person", "degree", "constraint", "pagerank", "betweenness", "community")
# Cohorts look back a year of hire months plus their 12 weeks after hire.
HISTORY_WEEKS = 66


@dataclass(frozen=True)
class GoldInputs:
    interactions: DataFrame  # silver/interactions of the built weeks
    events: DataFrame  # silver/events of the built weeks
    people: DataFrame  # silver/people
    weeks: list[date]  # the weeks to build, ascending
    # Published gold of earlier weeks (empty frames on a first run): person metrics with
    # HISTORY_COLUMNS plus cross_group_ties, and edges (week_start, src, dst) of the weeks just
    # before the built ones.
    person_history: DataFrame
    edge_history: DataFrame


def history_weeks(weeks: list[date]) -> tuple[date, date]:
    """The first and last week of published history a build of `weeks` reads."""
    return min(weeks) - timedelta(weeks=HISTORY_WEEKS), max(weeks)


def engine_per_week(edges_df: DataFrame, weeks: list[date], settings: Settings) -> dict[date, str]:
    """Native (one task per week) unless the week has more edges than one task should hold."""
    sizes = {row["week_start"]: row["count"] for row in edges_df.groupBy("week_start").count().collect()}
    limit = settings.graph.max_local_edges
    return {w: GRAPHFRAMES if sizes.get(w, 0) > limit else NATIVE for w in weeks}


def node_metrics(edges_df: DataFrame, people_df: DataFrame, engines: Mapping[date, str],
                 settings: Settings) -> DataFrame:
    """Every contract column (jobs/graph/contract.py) for every built week, each week on its
    engine. Departments travel with the edges for the brokerage census only."""
    departments_df = gold.groups_of(people_df, "department")
    labelled_df = gold.with_group(
        gold.with_group(edges_df.select("week_start", "src", "dst", "weight"), departments_df, "src", "src_group"),
        departments_df, "dst", "dst_group")
    rules = settings.graph
    frames = []
    for engine in (NATIVE, GRAPHFRAMES):
        engine_weeks = [w for w, e in engines.items() if e == engine]
        if not engine_weeks:
            continue
        week_edges_df = labelled_df.where(F.col("week_start").isin(engine_weeks))
        if engine == NATIVE:
            frames.append(weekly_node_metrics(
                week_edges_df, rules.max_local_edges,
                exact_betweenness_max_nodes=rules.exact_betweenness_max_nodes,
                betweenness_epsilon=rules.betweenness_epsilon, betweenness_delta=rules.betweenness_delta))
        else:
            frames.append(weekly_node_metrics_graphframes(week_edges_df, harmonic_landmarks=rules.harmonic_landmarks))
    if not frames:
        return empty_frame(edges_df.sparkSession, NODE_METRICS_SCHEMA)
    result = frames[0]
    for frame in frames[1:]:
        result = result.unionByName(frame)
    return result


def group_matrix(edges_df: DataFrame, people_df: DataFrame, settings: Settings) -> DataFrame:
    """The group matrix under the k rule; with differential privacy on, built from clipped tie
    weights and released with Laplace noise (docs/privacy.md)."""
    if not settings.dp.enabled:
        return gold.group_metrics_weekly(edges_df, people_df, settings.privacy)
    from jobs.privacy import dp

    cells_df = gold.group_metrics_weekly(dp.clip_weights(edges_df, settings.dp), people_df, settings.privacy)
    return dp.noisy_group_metrics(cells_df, settings.dp)


def build_gold(inputs: GoldInputs, settings: Settings) -> dict[str, DataFrame]:
    """Candidate gold tables for the built weeks, keyed by table path (nothing is written), and
    the restricted silver/person_brokerage_weekly that is written with them.

    Every frame is computed once (`computed`: they are read by several tables and by the
    gates); frames that do not depend on one another are computed together, in four rounds
    after the edges (`computed_together`), so that one frame's tasks run while another is
    planned (docs/performance.md, "Cutting the fixed cost")."""
    weeks, people_df = inputs.weeks, inputs.people
    edges_df = gold.edges_weekly(inputs.interactions).transform(computed)
    engines = engine_per_week(edges_df, weeks, settings)
    raw_nodes_df, group_df, cohesion_df = computed_together(
        node_metrics(edges_df, people_df, engines, settings),
        group_matrix(edges_df, people_df, settings),
        cohesion.group_cohesion_weekly(edges_df, people_df, weeks, settings.privacy))

    # Communities keep last week's id when they persist (matched by member overlap).
    published_communities_df = inputs.person_history.where(F.col("community").isNotNull()).select(
        "week_start", "person", "community")
    communities = change.stable_communities(
        raw_nodes_df.select("week_start", "person", "community"), published_communities_df, weeks,
        min_overlap=settings.graph.community_min_overlap)
    stable_df, stability_df = communities.membership, communities.stability
    nodes_df = raw_nodes_df.drop("community").join(stable_df, on=["week_start", "person"], how="left") \
        .transform(computed)

    person_weeks_df = nodes_df.select("week_start", "person", "pagerank", "betweenness").unionByName(
        inputs.person_history.select("week_start", "person", "pagerank", "betweenness"))
    edge_weeks_df = edges_df.select("week_start", "src", "dst").unionByName(inputs.edge_history)
    brokerage_df, person_df = computed_together(
        gold.brokerage_weekly(nodes_df, cohesion.person_cross_group_ties(edges_df, people_df)),
        gold.person_metrics_weekly(
            gold.degrees(edges_df), nodes_df, gold.load_metrics(inputs.events, people_df),
            change.person_change(person_weeks_df, edge_weeks_df, weeks), people_df, weeks, settings.roles))

    cohort_history_df = person_df.select("week_start", "person", "degree", "constraint").join(
        brokerage_df.select("week_start", "person", "cross_group_ties"), on=["week_start", "person"], how="left",
    ).unionByName(inputs.person_history.select("week_start", "person", "degree", "constraint", "cross_group_ties"))
    cohorts_df, summary_df = computed_together(
        cohesion.onboarding_cohorts(cohort_history_df, people_df, weeks, settings.privacy),
        gold.network_summary_weekly(
            edges_df, nodes_df, group_df, weeks, change.network_change(edge_weeks_df, weeks), stability_df, engines))
    return {
        EDGES_WEEKLY.path: edges_df,
        PERSON_METRICS_WEEKLY.path: person_df,
        GROUP_METRICS_WEEKLY.path: group_df,
        GROUP_COHESION_WEEKLY.path: cohesion_df,
        ONBOARDING_COHORTS_WEEKLY.path: cohorts_df,
        NETWORK_SUMMARY_WEEKLY.path: summary_df,
        PERSON_BROKERAGE_WEEKLY.path: brokerage_df,
    }

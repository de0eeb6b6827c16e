"""The distributed engine (jobs/graph/graphframes_engine.py) against networkx.

Every graph below is one week of ONE edges frame and the engine runs once for all of them (a
module fixture): that is both how the engine is meant to run (all weeks in one job graph) and
what keeps this file at a couple of minutes. Expected values come from networkx or brute force
(tests/graph/reference_graphs.py), never from the engine.
"""

from __future__ import annotations

from datetime import date, timedelta

import networkx as nx
import pandas as pd
import pytest

from jobs.graph.contract import BROKERAGE_ROLES, NODE_METRICS_SCHEMA, UNASSIGNED_GROUP
from jobs.graph.graphframes_engine import weekly_node_metrics_graphframes
from tests.graph.reference_graphs import (
    REAL_GRAPHS,
    brute_force_brokerage,
    directed_view,
    karate_clubs,
    reference_metrics,
    undirected_view,
)

TOLERANCE = 1e-6
# Weeks with at most this many people get exact harmonic closeness even with landmarks; Les
# Miserables (77 people) is the only week estimated from a sample.
LANDMARKS = 40


def _two_cliques() -> list[tuple[str, str, float]]:
    """Two 5-cliques with asymmetric, partly one-way weights, joined by one weak edge."""
    left, right = [f"a{i}" for i in range(5)], [f"b{i}" for i in range(5)]
    edges = []
    for clique in (left, right):
        for i in range(5):
            for j in range(i + 1, 5):
                edges.append((clique[i], clique[j], 1.0 + 0.1 * (i + j)))
                if (i + j) % 2 == 0:
                    edges.append((clique[j], clique[i], 0.5))
    edges.append(("a0", "b0", 0.05))
    return edges


# Brokerage derived by hand. Groups: A, B, C in g1; D, E in g2; F alone in g3.
# Ties: A->B, D->B, E->B, B->C, B->E, B->F, and A->F (which closes A->B->F).
# Two-paths through B (in from A, D, E; out to C, E, F):
#   A->B->C g1 g1 g1 coordinator      A->B->E g1 g1 g2 representative   A->B->F closed by A->F
#   D->B->C g2 g1 g1 gatekeeper       D->B->E g2 g1 g2 itinerant        D->B->F g2 g1 g3 liaison
#   E->B->C g2 g1 g1 gatekeeper       E->B->E a == c, not a path        E->B->F g2 g1 g3 liaison
# Through E only B->E->B (a == c); A, D have no in-ties; C, F no out-ties: every other count 0.
BROKERAGE_EDGES = [("A", "B", 1.0), ("D", "B", 2.0), ("E", "B", 1.0), ("B", "C", 1.0),
                   ("B", "E", 0.5), ("B", "F", 1.0), ("A", "F", 1.0)]
BROKERAGE_GROUPS = {"A": "g1", "B": "g1", "C": "g1", "D": "g2", "E": "g2", "F": "g3"}
BROKERAGE_BY_HAND = {"coordinator": 1, "gatekeeper": 2, "representative": 1, "liaison": 2, "itinerant": 1}

EDGE_CASES = {
    "single_edge": [("p", "q", 2.0)],
    # two components of 4: the giant (label 0) is the one with the smallest member, "d0"
    "two_components": [
        ("d5", "d6", 1.0), ("d6", "d7", 2.0), ("d7", "d5", 1.0), ("d0", "d5", 0.5),
        ("d1", "d2", 1.0), ("d2", "d3", 1.0), ("d3", "d4", 3.0), ("d2", "d1", 1.0),
    ],
    "all_equal_weights": [
        (u, v, 1.0) for u, v in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "e"),
                                 ("e", "c"), ("e", "f"), ("f", "g"), ("g", "e"), ("b", "a")]
    ],
    # "s" only sends, "t" only receives (dangling for PageRank); a -> b twice (summed)
    "out_ties_only": [
        ("s", "a", 1.0), ("s", "b", 2.0), ("s", "c", 0.5), ("a", "b", 1.0),
        ("b", "a", 3.0), ("b", "c", 1.0), ("c", "t", 1.0), ("a", "t", 0.2), ("a", "b", 0.5),
    ],
    "brokerage_by_hand": BROKERAGE_EDGES,
    "two_cliques": _two_cliques(),
}
GRAPHS = {name: make() for name, make in REAL_GRAPHS.items()} | EDGE_CASES
GROUPS = {"karate": karate_clubs(), "karate_asymmetric": karate_clubs(), "brokerage_by_hand": BROKERAGE_GROUPS}
WEEKS = {name: date(2024, 1, 1) + timedelta(weeks=i) for i, name in enumerate(sorted(GRAPHS))}
# Rows the contract leaves out of the graph (a self-tie, a zero weight that would give the
# dangling "t" an out-tie), sent to the engine only: the references never see them.
EXCLUDED_ROWS = [("out_ties_only", "s", "s", 5.0), ("out_ties_only", "t", "s", 0.0)]
METRICS = ("pagerank", "eigenvector", "harmonic", "kcore", "clustering", "constraint", "effective_size",
           "component", "component_size")


@pytest.fixture(scope="module")
def result(spark):
    """week name -> person -> output row, from ONE engine call over every week; and the schema."""
    rows = []
    for name, edges in GRAPHS.items():
        groups = GROUPS.get(name, {})  # people without a group stay null: UNASSIGNED_GROUP
        rows += [(WEEKS[name], s, d, w, groups.get(s), groups.get(d)) for s, d, w in edges]
    rows += [(WEEKS[name], s, d, w, None, None) for name, s, d, w in EXCLUDED_ROWS]
    edges_df = spark.createDataFrame(
        rows, "week_start date, src string, dst string, weight double, src_group string, dst_group string")
    out = weekly_node_metrics_graphframes(edges_df, harmonic_landmarks=LANDMARKS, seed=7)
    by_week: dict[str, dict[str, dict]] = {name: {} for name in GRAPHS}
    name_of = {week: name for name, week in WEEKS.items()}
    for row in out.collect():
        person = row["person"]
        assert person not in by_week[name_of[row["week_start"]]], "one row per person and week"
        by_week[name_of[row["week_start"]]][person] = row.asDict()
    return by_week, out.schema


@pytest.fixture(scope="module")
def references():
    return {name: reference_metrics(edges) for name, edges in GRAPHS.items()}


def test_output_has_the_contract_schema_and_one_row_per_person(spark, result):
    by_week, schema = result
    expected = spark.createDataFrame([], NODE_METRICS_SCHEMA).schema
    assert [(f.name, f.dataType) for f in schema] == [(f.name, f.dataType) for f in expected]
    for name, edges in GRAPHS.items():
        assert set(by_week[name]) == set(directed_view(edges)), name


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_metrics_match_networkx(result, references, name):
    rows, expected = result[0][name], references[name]
    assert sum(r["pagerank"] for r in rows.values()) == pytest.approx(1.0, abs=1e-9)
    for column in METRICS:
        if column == "harmonic" and len(rows) > LANDMARKS:
            continue  # estimated: see test_harmonic_estimate_from_landmarks
        for person, value in expected[column].items():
            got = rows[person][column]
            if isinstance(value, int):
                assert got == value, (column, person)
            else:
                assert got == pytest.approx(value, abs=TOLERANCE), (column, person)
    assert all(r["betweenness"] is None and r["betweenness_error_bound"] is None for r in rows.values())


def test_harmonic_estimate_from_landmarks(result, references):
    """Les Miserables (77 people, 40 landmarks): an estimate near networkx, not a copy of it."""
    rows, exact = result[0]["les_miserables"], references["les_miserables"]["harmonic"]
    errors = [abs(rows[p]["harmonic"] - value) for p, value in exact.items()]
    assert max(errors) < 0.1
    assert sum(errors) / len(errors) < 0.03
    assert max(errors) > 0  # really sampled


def test_communities_are_the_two_cliques(result):
    rows = result[0]["two_cliques"]
    labels = {p: r["community"] for p, r in rows.items()}
    # equal sizes: label 0 holds the smallest member
    assert {p for p, c in labels.items() if c == 0} == {f"a{i}" for i in range(5)}
    assert {p for p, c in labels.items() if c == 1} == {f"b{i}" for i in range(5)}


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_week_modularity_is_networkx_modularity_of_the_partition(result, name):
    rows = result[0][name]
    parts: dict[int, set[str]] = {}
    for person, row in rows.items():
        parts.setdefault(row["community"], set()).add(person)
    undirected = undirected_view(GRAPHS[name])
    expected = nx.community.modularity(undirected, parts.values(), weight="weight")
    values = {r["week_modularity"] for r in rows.values()}
    assert len(values) == 1 and values.pop() == pytest.approx(expected, abs=TOLERANCE)
    # labelled like components: 0.. by size, largest first, ties by the smallest member
    order = sorted(parts, key=lambda c: (-len(parts[c]), min(parts[c])))
    assert order == list(range(len(parts)))


def test_brokerage_counts_derived_by_hand(result):
    rows = result[0]["brokerage_by_hand"]
    for role in BROKERAGE_ROLES:
        assert rows["B"][role] == BROKERAGE_BY_HAND[role], role
        assert all(rows[p][role] == 0 for p in rows if p != "B"), role


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_brokerage_matches_brute_force(result, name):
    """Karate with its clubs as groups, and every other week (groups null: all unassigned)."""
    rows = result[0][name]
    expected = brute_force_brokerage(GRAPHS[name], GROUPS.get(name, {}), UNASSIGNED_GROUP)
    for role in BROKERAGE_ROLES:
        assert {p: r[role] for p, r in rows.items()} == expected[role], role
    if name.startswith("karate"):  # two clubs: every role but liaison (three groups) occurs
        assert all(sum(expected[role].values()) > 0 for role in BROKERAGE_ROLES if role != "liaison")


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_both_engines_agree_on_the_same_week(result, name):
    """The native engine (what a week below the size threshold runs on) and GraphFrames give
    the same values for every contract column they both compute, on the same edges."""
    from jobs.graph.local_engine import node_metrics

    edges = pd.DataFrame(GRAPHS[name], columns=["src", "dst", "weight"])
    native, _ = node_metrics(edges, GROUPS.get(name, {}), seed=7)  # no groups: all (unassigned)
    distributed = result[0][name]
    assert set(native["person"]) == set(distributed)
    shared = [c for c in METRICS if not (c == "harmonic" and len(distributed) > LANDMARKS)]
    for _, row in native.iterrows():
        other = distributed[row["person"]]
        for column in (*shared, *BROKERAGE_ROLES):
            assert other[column] == pytest.approx(row[column], abs=TOLERANCE), (column, row["person"])

"""node_metrics (igraph, numpy, scipy) against networkx on real and hand-built graphs, and the
Spark wrapper. Expected values come from networkx (tests/graph/reference_graphs.py) or are
derived by hand below, never from the code under test."""

from __future__ import annotations

import itertools
import random
from datetime import date

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from jobs.graph import contract
from jobs.graph.contract import BROKERAGE_ROLES, NODE_COLUMNS, UNASSIGNED_GROUP, WeekFacts
from jobs.graph.local_engine import GraphTooLargeError, node_metrics, weekly_node_metrics
from tests.graph.reference_graphs import (
    REAL_GRAPHS,
    brute_force_brokerage,
    karate_asymmetric,
    karate_clubs,
    les_miserables,
    reference_metrics,
    undirected_view,
)

TOLERANCE = 1e-9  # closed-form metrics: only round-off differs
ITERATIVE_TOLERANCE = 1e-6  # pagerank, eigenvector: iterative solvers on both sides
COLUMNS = [name for name, _ in NODE_COLUMNS]
REFERENCE_COLUMNS = (
    "pagerank", "eigenvector", "harmonic", "kcore", "betweenness", "clustering",
    "constraint", "effective_size", "component", "component_size",
)


def _frame(edges: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(edges, columns=["src", "dst", "weight"])


def _digraph(edges: list[tuple[str, str, float]]) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_weighted_edges_from(edges)
    return graph


def _undirected_summed(edges: list[tuple[str, str, float]]) -> nx.Graph:
    """Undirected graph whose edge weight is the sum of both directions."""
    return undirected_view(edges)


def _partition(frame: pd.DataFrame, column: str) -> set[frozenset[str]]:
    return {frozenset(group["person"]) for _, group in frame.groupby(column)}


def _assert_matches_networkx(frame: pd.DataFrame, edges, columns=REFERENCE_COLUMNS, reference=None):
    reference = reference or reference_metrics(edges)
    got = frame.set_index("person")
    assert set(got.index) == set(reference["pagerank"])
    for column in columns:
        tolerance = ITERATIVE_TOLERANCE if column in ("pagerank", "eigenvector") else TOLERANCE
        for person, expected in reference[column].items():
            assert got.at[person, column] == pytest.approx(expected, abs=tolerance), (column, person)


def _two_cliques() -> tuple[list[tuple[str, str, float]], list[set[str]]]:
    """Two 5-cliques with asymmetric, partly one-way weights, joined by one weak edge."""
    left = [f"a{i}" for i in range(5)]
    right = [f"b{i}" for i in range(5)]
    edges: list[tuple[str, str, float]] = []
    for clique in (left, right):
        for i in range(5):
            for j in range(i + 1, 5):
                edges.append((clique[i], clique[j], 1.0 + 0.1 * (i + j)))
                if (i + j) % 2 == 0:  # only some pairs answer back
                    edges.append((clique[j], clique[i], 0.5))
    edges.append(("a0", "b0", 0.05))
    return edges, [set(left), set(right)]


# Every metric against networkx on real graphs ----------------------------------------------

_RESULTS: dict[str, tuple[pd.DataFrame, WeekFacts]] = {}
_REFERENCES: dict[str, dict[str, dict[str, float]]] = {}


def _metrics_of(graph: str) -> tuple[pd.DataFrame, WeekFacts]:
    if graph not in _RESULTS:
        _RESULTS[graph] = node_metrics(_frame(REAL_GRAPHS[graph]()))
    return _RESULTS[graph]


@pytest.mark.parametrize("column", REFERENCE_COLUMNS)
@pytest.mark.parametrize("graph", sorted(REAL_GRAPHS))
def test_metric_matches_networkx_on_real_graphs(graph, column):
    frame, _ = _metrics_of(graph)
    if graph not in _REFERENCES:
        _REFERENCES[graph] = reference_metrics(REAL_GRAPHS[graph]())
    _assert_matches_networkx(frame, None, columns=(column,), reference=_REFERENCES[graph])


@pytest.mark.parametrize("graph", sorted(REAL_GRAPHS))
def test_communities_and_modularity_on_real_graphs(graph):
    frame, facts = _metrics_of(graph)
    undirected = undirected_view(REAL_GRAPHS[graph]())
    communities = [set(group["person"]) for _, group in frame.groupby("community")]
    assert facts.modularity == pytest.approx(
        nx.community.modularity(undirected, communities, weight="weight"), abs=TOLERANCE
    )
    # a sensible partition (Louvain is a heuristic: near networkx's own Louvain, not equal)
    theirs = nx.community.louvain_communities(undirected, weight="weight", seed=1)
    assert facts.modularity >= 0.9 * nx.community.modularity(undirected, theirs, weight="weight")
    # labelled like components: 0 is the largest, ties by the smallest member
    order = sorted(communities, key=lambda c: (-len(c), min(c)))
    label = dict(zip(frame["person"], frame["community"]))
    assert [label[min(c)] for c in order] == list(range(len(order)))
    assert facts.betweenness_error_bound == 0.0  # small graphs: exact


def test_real_graphs_are_weighted_where_it_matters():
    """The references are not blind to weights/directions (else the tests above prove less)."""
    edges = karate_asymmetric()
    directed = _digraph(edges)
    assert any(not directed.has_edge(v, u) for u, v in directed.edges)  # one-way ties
    weighted = nx.pagerank(directed, weight="weight")
    unweighted = nx.pagerank(directed, weight=None)
    assert max(abs(weighted[p] - unweighted[p]) for p in directed) > 1e-3
    undirected = undirected_view(edges)
    assert max(
        abs(nx.constraint(undirected, weight="weight")[p] - nx.constraint(undirected)[p]) for p in undirected
    ) > 1e-3
    assert max(
        abs(nx.effective_size(undirected, weight="weight")[p] - nx.effective_size(undirected)[p])
        for p in undirected
    ) > 1e-3


# Output shape ------------------------------------------------------------------------------


def test_frame_has_the_contract_columns_sorted_by_person_with_types():
    edges = karate_asymmetric()
    frame, facts = node_metrics(_frame(edges[::-1]))  # input order must not matter

    assert list(frame.columns) == COLUMNS
    assert frame["person"].tolist() == sorted(_digraph(edges).nodes)
    assert frame.index.tolist() == list(range(len(frame)))
    for name, kind in NODE_COLUMNS:
        if name in BROKERAGE_ROLES:
            assert str(frame[name].dtype) == "Int64" and frame[name].isna().all(), name
        elif kind == "double":
            assert frame[name].dtype == np.float64, name
        elif kind == "long":
            assert frame[name].dtype == np.int64, name
    assert isinstance(facts, WeekFacts)
    assert isinstance(facts.modularity, float) and facts.betweenness_error_bound == 0.0


def test_empty_week_gives_an_empty_frame():
    frame, facts = node_metrics(_frame([]))
    assert list(frame.columns) == COLUMNS and frame.empty
    assert facts == WeekFacts(modularity=None, betweenness_error_bound=None)


def test_repeated_pairs_are_summed():
    edges = [("a", "b", 1.0), ("b", "c", 2.0), ("a", "b", 0.5), ("c", "a", 1.0)]
    frame, _ = node_metrics(_frame(edges))
    merged, _ = node_metrics(_frame([("a", "b", 1.5), ("b", "c", 2.0), ("c", "a", 1.0)]))
    pd.testing.assert_frame_equal(frame, merged)


# Hand-made edge cases, every metric against networkx ---------------------------------------

EDGE_CASES = {
    "single_edge": [("p", "q", 2.0)],
    # two triangles of equal size: the giant component is the one with the smallest member
    "two_equal_components": [
        ("x", "y", 1.0), ("y", "z", 2.0), ("z", "x", 1.0),
        ("a", "b", 1.0), ("b", "c", 1.0), ("c", "a", 3.0), ("b", "a", 1.0),
    ],
    "two_components_and_a_pair": [
        ("a", "b", 1.0), ("b", "c", 1.0), ("c", "d", 1.0), ("d", "b", 2.0),
        ("m", "n", 1.0), ("n", "o", 1.0), ("s", "t", 4.0),
    ],
    "all_equal_weights": [
        (u, v, 1.0) for u, v in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "e"),
                                 ("e", "c"), ("e", "f"), ("f", "g"), ("g", "e"), ("b", "a")]
    ],
    # "s" only sends, "t" only receives (dangling for PageRank)
    "out_ties_only": [
        ("s", "a", 1.0), ("s", "b", 2.0), ("s", "c", 0.5), ("a", "b", 1.0),
        ("b", "a", 3.0), ("b", "c", 1.0), ("c", "t", 1.0), ("a", "t", 0.2),
    ],
    "star": [("hub", f"leaf{i}", 1.0 + i) for i in range(6)] + [("leaf0", "hub", 1.0)],
}


@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_every_metric_matches_networkx_on_edge_cases(case):
    edges = EDGE_CASES[case]
    frame, facts = node_metrics(_frame(edges))
    _assert_matches_networkx(frame, edges)
    assert facts.betweenness_error_bound == 0.0


def test_edge_case_details():
    frame, _ = node_metrics(_frame(EDGE_CASES["single_edge"]))
    row = frame.set_index("person")
    assert row["eigenvector"].tolist() == pytest.approx([2 ** -0.5] * 2)
    assert row["harmonic"].tolist() == [1.0, 1.0]
    assert row["constraint"].tolist() == [1.0, 1.0] and row["effective_size"].tolist() == [1.0, 1.0]
    assert row["betweenness"].tolist() == [0.0, 0.0] and row["kcore"].tolist() == [1, 1]

    frame, _ = node_metrics(_frame(EDGE_CASES["two_equal_components"]))
    row = frame.set_index("person")
    assert (row.loc[["a", "b", "c"], "component"] == 0).all()  # "a" < "x"
    assert (row.loc[["x", "y", "z"], "eigenvector"] == 0.0).all()
    assert np.linalg.norm(row.loc[["a", "b", "c"], "eigenvector"]) == pytest.approx(1.0)

    frame, _ = node_metrics(_frame(EDGE_CASES["out_ties_only"]))
    row = frame.set_index("person")
    # nobody links to s (one of 5): it gets the teleport share and dangling t's spread-out mass
    assert row.at["s", "pagerank"] == pytest.approx((0.15 + 0.85 * row.at["t", "pagerank"]) / 5, abs=1e-9)


# (a) PageRank ---------------------------------------------------------------------------

PAGERANK_EDGES = [
    ("A", "B", 3.0), ("B", "A", 1.0), ("A", "C", 1.0), ("B", "C", 2.0),
    ("C", "D", 1.0), ("D", "A", 0.5), ("D", "E", 2.0), ("E", "F", 1.0),
    ("F", "E", 4.0), ("F", "G", 1.0), ("G", "C", 1.5), ("E", "H", 1.0),
    ("G", "H", 0.2), ("C", "H", 0.7),
]  # H has in-edges only: a dangling node


def test_pagerank_matches_networkx_with_dangling_node():
    frame, _ = node_metrics(_frame(PAGERANK_EDGES))

    graph = _digraph(PAGERANK_EDGES)
    assert graph.out_degree("H") == 0
    expected = nx.pagerank(graph, alpha=0.85, weight="weight", tol=1e-13, max_iter=10_000)

    got = dict(zip(frame["person"], frame["pagerank"]))
    assert set(got) == set(expected) == set("ABCDEFGH")
    for person, value in expected.items():
        assert got[person] == pytest.approx(value, abs=1e-6), person
    assert sum(got.values()) == pytest.approx(1.0, abs=1e-9)


# (b) weak components --------------------------------------------------------------------

COMPONENT_EDGES = [
    # size 4 (names sort last, so label 0 must come from size, not from names)
    ("w", "x", 1.0), ("y", "x", 2.0), ("y", "z", 1.0),
    # size 3
    ("m", "n", 1.0), ("o", "m", 1.0),
    # size 2
    ("a", "b", 5.0),
]


def test_weak_components_match_networkx_and_are_labelled_by_size():
    frame, _ = node_metrics(_frame(COMPONENT_EDGES))

    expected = {frozenset(c) for c in nx.weakly_connected_components(_digraph(COMPONENT_EDGES))}
    assert _partition(frame, "component") == expected
    assert sorted(len(c) for c in expected) == [2, 3, 4]

    size_of = {person: len(c) for c in expected for person in c}
    assert dict(zip(frame["person"], frame["component_size"])) == size_of

    label_of = dict(zip(frame["person"], frame["component"]))
    assert {label_of[p] for p in "wxyz"} == {0}  # largest first
    assert {label_of[p] for p in "mno"} == {1}
    assert {label_of[p] for p in "ab"} == {2}


# (c) communities and modularity ---------------------------------------------------------


def test_communities_are_the_two_cliques_and_modularity_matches_networkx():
    edges, cliques = _two_cliques()
    frame, facts = node_metrics(_frame(edges))

    assert _partition(frame, "community") == {frozenset(c) for c in cliques}
    expected = nx.community.modularity(_undirected_summed(edges), cliques, weight="weight")
    assert facts.modularity == pytest.approx(expected, abs=1e-9)
    # sanity: the reference is not trivially equal to the unweighted value
    unweighted = nx.community.modularity(_undirected_summed(edges), cliques, weight=None)
    assert abs(expected - unweighted) > 1e-6


# (d) local clustering -------------------------------------------------------------------

CLUSTERING_EDGES = [
    ("a", "b", 1.0), ("b", "a", 3.0),  # reciprocal pair: one undirected edge
    ("b", "c", 1.0), ("c", "a", 0.5),  # triangle a-b-c
    ("c", "d", 2.0), ("d", "e", 1.0), ("e", "c", 1.0),  # triangle c-d-e
    ("a", "d", 1.0),  # closes a-c-d
    ("e", "f", 1.0),  # f has one neighbour -> 0
    ("g", "e", 1.0), ("g", "f", 4.0),  # triangle e-f-g
    ("h", "i", 1.0),  # isolated pair -> 0
]


def test_local_clustering_matches_networkx_on_undirected_simple_graph():
    frame, _ = node_metrics(_frame(CLUSTERING_EDGES))

    simple = nx.Graph()
    simple.add_edges_from((s, d) for s, d, _ in CLUSTERING_EDGES)
    expected = nx.clustering(simple)
    got = dict(zip(frame["person"], frame["clustering"]))
    assert got == pytest.approx(expected, abs=1e-12)
    assert 0.0 < expected["c"] < 1.0 and expected["h"] == 0.0


# (e) determinism ------------------------------------------------------------------------


def _ring_of_cliques() -> pd.DataFrame:
    # A ring of 4-cliques joined in a cycle: many near-equal Louvain optima.
    rng = random.Random(7)
    edges = []
    for block in range(6):
        members = [f"n{block}_{i}" for i in range(4)]
        for i in range(4):
            for j in range(i + 1, 4):
                edges.append((members[i], members[j], 1.0))
        edges.append((members[0], f"n{(block + 1) % 6}_1", 1.0))
    for _ in range(8):
        a, b = rng.sample(range(24), 2)
        edges.append((f"n{a // 4}_{a % 4}", f"n{b // 4}_{b % 4}", 0.7))
    return _frame(edges).drop_duplicates(["src", "dst"])


def test_communities_are_deterministic_across_calls():
    edges_frame = _ring_of_cliques()

    first, q1 = node_metrics(edges_frame)
    random.random()  # disturb the global RNG between calls
    node_metrics(edges_frame, seed=12345)
    second, q2 = node_metrics(edges_frame)

    assert first["person"].tolist() == second["person"].tolist()
    assert first["community"].tolist() == second["community"].tolist()
    assert q1 == q2
    # Spark's applyInArrow gives no row order within a week: the order must not matter.
    reordered, q3 = node_metrics(edges_frame.iloc[::-1].reset_index(drop=True))
    assert reordered["community"].tolist() == first["community"].tolist()
    assert q3.modularity == pytest.approx(q1.modularity, abs=1e-12)


# (f) betweenness: exact and estimated ---------------------------------------------------


def test_estimated_betweenness_is_within_epsilon_of_networkx():
    edges = les_miserables()  # 77 people; hubs with betweenness up to 0.57
    exact = nx.betweenness_centrality(undirected_view(edges), normalized=True)
    epsilon = 0.3  # large enough that fewer sources (42) than people (77) are needed

    estimates = []
    for seed in range(12):
        frame, facts = node_metrics(
            _frame(edges), seed=seed, exact_betweenness_max_nodes=0, betweenness_epsilon=epsilon
        )
        assert facts.betweenness_error_bound == epsilon  # estimated, not exact
        got = dict(zip(frame["person"], frame["betweenness"]))
        assert max(abs(got[p] - exact[p]) for p in exact) <= epsilon
        estimates.append(got)
    # Unbiased and on networkx's scale (a wrong normalisation would be off by ~0.1-0.3 here):
    # the mean of 12 independent estimates is much closer than epsilon.
    mean = {p: sum(e[p] for e in estimates) / len(estimates) for p in exact}
    assert max(abs(mean[p] - exact[p]) for p in exact) < 0.05
    assert max(exact.values()) > 0.5
    # the other metrics do not depend on the betweenness path
    _assert_matches_networkx(frame, edges, columns=("harmonic", "constraint", "kcore"))


def test_estimated_betweenness_is_reproducible_and_seeded():
    edges = _frame(les_miserables())
    options = dict(exact_betweenness_max_nodes=0, betweenness_epsilon=0.3)
    first, _ = node_metrics(edges, seed=3, **options)
    again, _ = node_metrics(edges, seed=3, **options)
    other, _ = node_metrics(edges, seed=4, **options)
    assert first["betweenness"].tolist() == again["betweenness"].tolist()
    assert first["betweenness"].tolist() != other["betweenness"].tolist()


def test_betweenness_is_exact_when_sampling_would_need_every_source():
    # epsilon 0.01 on 34 people needs ~34k sources: the exact value is cheaper and is given.
    edges = REAL_GRAPHS["karate"]()
    frame, facts = node_metrics(_frame(edges), exact_betweenness_max_nodes=0, betweenness_epsilon=0.01)
    assert facts.betweenness_error_bound == 0.0
    _assert_matches_networkx(frame, edges, columns=("betweenness",))


# (g) Gould-Fernandez brokerage ----------------------------------------------------------

# Eight people in three groups: A = a1..a4, B = b1, b2, C = c1, c2.
BROKERAGE_GROUPS = {"a1": "A", "a2": "A", "a3": "A", "a4": "A", "b1": "B", "b2": "B", "c1": "C", "c2": "C"}
BROKERAGE_EDGES = [
    ("a2", "a1", 1.0), ("a3", "a1", 1.0), ("b1", "a1", 1.0), ("c2", "a1", 1.0),  # into a1
    ("a1", "a3", 1.0), ("a1", "a4", 1.0), ("a1", "b2", 1.0), ("a1", "c1", 1.0),  # out of a1
    ("a2", "a3", 2.0),  # closes a2 -> a1 -> a3
    ("c2", "c1", 0.5),  # closes c2 -> a1 -> c1
    ("c1", "b2", 1.0),
]
# Broker a1: in-neighbours a2, a3 (A), b1 (B), c2 (C); out-neighbours a3, a4 (A), b2 (B), c1 (C):
# 4 x 4 = 16 pairs (a, c).
#   (a3, a3): a == c, not a path.                 (a2, a3): a2 -> a3 exists, closed.
#   (c2, c1): c2 -> c1 exists, closed.
#   coordinator    A -> A -> A: (a2, a4), (a3, a4)                               = 2
#   representative A -> A -> other: (a2, b2), (a2, c1), (a3, b2), (a3, c1)       = 4
#   gatekeeper     other -> A -> A: (b1, a3), (b1, a4), (c2, a3), (c2, a4)       = 4
#   itinerant      B -> A -> B: (b1, b2)  (C -> A -> C (c2, c1) is closed)       = 1
#   liaison        B -> A -> C: (b1, c1); C -> A -> B: (c2, b2)                  = 2
#   (2 + 4 + 4 + 1 + 2 = 13 = 16 - 1 - 2.)
# Broker c1: in a1 (A), c2 (C); out b2 (B): (a1, b2) closed by a1 -> b2; (c2, b2): C -> C -> B,
#   representative = 1.
# Broker a3: in a1, a2; out a1: (a1, a1) is a == c; (a2, a1) closed by a2 -> a1. Nothing.
# Nobody sends to a2, b1, c2 and a4, b2 send to nobody: nothing.
BROKERAGE_EXPECTED = {
    "a1": {"coordinator": 2, "gatekeeper": 4, "representative": 4, "liaison": 2, "itinerant": 1},
    "c1": {"coordinator": 0, "gatekeeper": 0, "representative": 1, "liaison": 0, "itinerant": 0},
}


def test_brokerage_counts_derived_by_hand():
    frame, _ = node_metrics(_frame(BROKERAGE_EDGES), groups=BROKERAGE_GROUPS)
    got = frame.set_index("person")[list(BROKERAGE_ROLES)]
    for person in got.index:
        expected = BROKERAGE_EXPECTED.get(person, dict.fromkeys(BROKERAGE_ROLES, 0))
        assert got.loc[person].astype(int).to_dict() == expected, person
    # the brute force used for the larger graphs agrees with the hand derivation
    brute = brute_force_brokerage(BROKERAGE_EDGES, BROKERAGE_GROUPS, UNASSIGNED_GROUP)
    assert {r: brute[r]["a1"] for r in BROKERAGE_ROLES} == BROKERAGE_EXPECTED["a1"]


def _assert_brokerage_matches_brute_force(edges, groups):
    frame, _ = node_metrics(_frame(edges), groups=groups)
    expected = brute_force_brokerage(edges, groups, UNASSIGNED_GROUP)
    got = frame.set_index("person")
    for role in BROKERAGE_ROLES:
        assert str(got[role].dtype) == "Int64"
        assert got[role].astype(int).to_dict() == expected[role], role
    return expected


def test_brokerage_matches_brute_force_on_karate_clubs():
    for edges in (karate_asymmetric(), REAL_GRAPHS["karate"]()):
        expected = _assert_brokerage_matches_brute_force(edges, karate_clubs())
        # two groups: no liaison is possible, every other role occurs
        assert sum(expected["liaison"].values()) == 0
        assert all(sum(expected[r].values()) > 0 for r in BROKERAGE_ROLES if r != "liaison")


def test_brokerage_with_singleton_and_missing_groups_matches_brute_force():
    rng = random.Random(11)
    people = [f"p{i:02d}" for i in range(30)]
    edges = [(a, b, 1.0) for a, b in itertools.permutations(people, 2) if rng.random() < 0.2]
    groups = {p: f"g{i % 5}" for i, p in enumerate(people[:22])}  # p22..p29: unassigned
    groups["p03"] = "alone"  # one-person groups
    groups["p07"] = "solo"
    expected = _assert_brokerage_matches_brute_force(edges, groups)
    assert all(sum(expected[r].values()) > 0 for r in BROKERAGE_ROLES)
    # alone in its group, a broker shares a group with neither end: itinerant or liaison only
    frame, _ = node_metrics(_frame(edges), groups=groups)
    alone = frame.set_index("person").loc[["p03", "p07"]]
    assert (alone[["coordinator", "representative", "gatekeeper"]] == 0).all().all()
    assert alone["itinerant"].sum() > 0 and alone["liaison"].sum() > 0

    # a person missing from the mapping is in UNASSIGNED_GROUP
    explicit = {p: groups.get(p, UNASSIGNED_GROUP) for p in people}
    with_missing, _ = node_metrics(_frame(edges), groups=groups)
    with_explicit, _ = node_metrics(_frame(edges), groups=explicit)
    pd.testing.assert_frame_equal(with_missing, with_explicit)


def test_brokerage_is_null_without_groups():
    frame, _ = node_metrics(_frame(BROKERAGE_EDGES))
    for role in BROKERAGE_ROLES:
        assert str(frame[role].dtype) == "Int64" and frame[role].isna().all()


# Through Spark --------------------------------------------------------------------------

WEEK_1 = date(2024, 3, 4)
WEEK_2 = date(2024, 3, 11)
WEEK_3 = date(2024, 3, 18)


def _department_of(person: str, clubs: dict[str, str]) -> str | None:
    if person in clubs:
        return None if person in ("k05", "k17") else clubs[person]  # two without a department
    return {"a": "left", "b": "right"}.get(person[0], "other")


def _spark_weeks():
    clubs = karate_clubs()
    two_cliques, _ = _two_cliques()
    by_week = {
        WEEK_1: two_cliques,
        WEEK_2: PAGERANK_EDGES + [("s", "t", 1.0)],
        WEEK_3: karate_asymmetric(),
    }
    groups = {
        week: {p: g for p in {x for e in edges for x in e[:2]} if (g := _department_of(p, clubs))}
        for week, edges in by_week.items()
    }
    return by_week, groups, clubs


def _spark_edges(spark, with_groups: bool):
    by_week, groups, clubs = _spark_weeks()
    rows = [
        (week, s, d, w, _department_of(s, clubs), _department_of(d, clubs))
        for week, edges in by_week.items()
        for s, d, w in edges
    ]
    schema = "week_start date, src string, dst string, weight double, src_group string, dst_group string"
    frame = spark.createDataFrame(rows, schema)
    if not with_groups:
        frame = frame.drop("src_group", "dst_group")
    return frame, by_week, groups


def _assert_same_frames(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert got["person"].tolist() == expected["person"].tolist()
    for name, kind in NODE_COLUMNS[1:]:
        if kind == "double":
            assert got[name].tolist() == pytest.approx(expected[name].tolist(), abs=1e-12), name
        elif name in BROKERAGE_ROLES:
            assert got[name].isna().tolist() == expected[name].isna().tolist(), name
            assert got[name].dropna().astype(int).tolist() == expected[name].dropna().astype(int).tolist(), name
        else:
            assert got[name].astype(int).tolist() == expected[name].astype(int).tolist(), name


def test_weekly_node_metrics_equals_node_metrics_per_week(spark):
    edges_df, by_week, groups = _spark_edges(spark, with_groups=True)
    result_df = weekly_node_metrics(edges_df, max_edges=1_000)
    assert result_df.schema == spark.createDataFrame([], contract.NODE_METRICS_SCHEMA).schema
    result = result_df.toPandas()

    assert result.groupby("week_start").size().to_dict() == {WEEK_1: 10, WEEK_2: 10, WEEK_3: 34}
    for week, edges in by_week.items():
        expected, facts = node_metrics(_frame(edges), groups=groups[week], seed=week.toordinal())
        got = result[result["week_start"] == week].sort_values("person").reset_index(drop=True)
        _assert_same_frames(got, expected)
        assert got["week_modularity"].tolist() == pytest.approx([facts.modularity] * len(got), abs=1e-12)
        assert (got["betweenness_error_bound"] == 0.0).all()
        assert not got[list(BROKERAGE_ROLES)].isna().any().any()
    # the groups came from src_group / dst_group: the unassigned karate members count as such
    week_3 = result[result["week_start"] == WEEK_3].set_index("person")
    brute = brute_force_brokerage(by_week[WEEK_3], groups[WEEK_3], UNASSIGNED_GROUP)
    for role in BROKERAGE_ROLES:
        assert week_3[role].astype(int).to_dict() == brute[role], role


def test_weekly_node_metrics_without_groups_has_null_brokerage(spark):
    edges_df, by_week, _ = _spark_edges(spark, with_groups=False)
    result = weekly_node_metrics(edges_df.where(f"week_start = '{WEEK_2}'"), max_edges=1_000).toPandas()

    expected, facts = node_metrics(_frame(by_week[WEEK_2]), seed=WEEK_2.toordinal())
    _assert_same_frames(result.sort_values("person").reset_index(drop=True), expected)
    assert result[list(BROKERAGE_ROLES)].isna().all().all()
    assert (result["week_modularity"] == facts.modularity).all()


def test_weekly_node_metrics_reads_groups_and_ends_as_node_metrics_does(spark):
    """The task codes names and groups from Arrow columns, not pandas: the same rules, planted.
    a is labelled w and x (the smallest, w, counts); b is labelled y, and w on a row with a
    null end (kept as a label, not as a tie), so w; c's self-tie is no tie; e has no label
    (unassigned); d's only row has a null end, so d is no node."""
    week = date(2024, 4, 1)
    rows = [
        ("a", "b", 1.0, "x", "y"), ("a", "b", 0.5, "w", "y"), ("b", "c", 2.0, "y", "x"),
        ("c", "a", 1.0, "x", "x"), ("c", "c", 3.0, "x", "x"), ("d", None, 1.0, "v", None),
        ("e", "a", 1.0, None, "x"), ("b", "e", 1.0, "y", None), (None, "b", 1.0, None, "w"),
    ]
    schema = "week_start date, src string, dst string, weight double, src_group string, dst_group string"
    edges_df = spark.createDataFrame([(week, *row) for row in rows], schema)
    got = weekly_node_metrics(edges_df, max_edges=1_000).toPandas().drop(columns="week_start")

    ties = [("a", "b", 1.5), ("b", "c", 2.0), ("c", "a", 1.0), ("e", "a", 1.0), ("b", "e", 1.0)]
    expected, facts = node_metrics(_frame(ties), groups={"a": "w", "b": "w", "c": "x"},
                                   seed=week.toordinal())
    assert got["person"].tolist() == ["a", "b", "c", "e"]
    _assert_same_frames(got.sort_values("person").reset_index(drop=True), expected)
    assert got["week_modularity"].tolist() == pytest.approx([facts.modularity] * 4, abs=1e-12)
    # Open two-paths by hand (a, b: w; c: x; e: unassigned): a->b->c and a->b->e make b a
    # representative twice, c->a->b and e->a->b make a a gatekeeper twice, b->c->a and b->e->a
    # make c and e itinerants. With b as y or a as x the roles would differ.
    roles = got.set_index("person")[list(BROKERAGE_ROLES)].astype(int)
    assert roles.to_dict("index") == {
        "a": {"coordinator": 0, "gatekeeper": 2, "representative": 0, "liaison": 0, "itinerant": 0},
        "b": {"coordinator": 0, "gatekeeper": 0, "representative": 2, "liaison": 0, "itinerant": 0},
        "c": {"coordinator": 0, "gatekeeper": 0, "representative": 0, "liaison": 0, "itinerant": 1},
        "e": {"coordinator": 0, "gatekeeper": 0, "representative": 0, "liaison": 0, "itinerant": 1},
    }


def test_weekly_node_metrics_of_no_edges_is_empty(spark):
    schema = "week_start date, src string, dst string, weight double"
    result_df = weekly_node_metrics(spark.createDataFrame([], schema), max_edges=1_000)
    assert result_df.collect() == []
    assert result_df.columns == ["week_start", *COLUMNS, "week_modularity", "betweenness_error_bound"]


def test_weekly_node_metrics_refuses_weeks_above_max_edges(spark):
    edges_df, by_week, _ = _spark_edges(spark, with_groups=False)
    n_week_3 = len(by_week[WEEK_3])
    with pytest.raises(Exception) as excinfo:
        weekly_node_metrics(edges_df.where(f"week_start = '{WEEK_3}'"), max_edges=16).collect()
    message = str(excinfo.value)
    assert GraphTooLargeError.__name__ in message
    assert f"{n_week_3} edges in one week exceed max_local_edges=16" in message


def test_contract_schema_is_every_node_column_and_week_fact():
    names = [part.split()[0] for part in contract.NODE_METRICS_SCHEMA.split(", ")]
    assert names == ["week_start", *COLUMNS, "week_modularity", "betweenness_error_bound"]

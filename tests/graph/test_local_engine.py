"""node_metrics (igraph) against networkx on small hand-built graphs, and the Spark wrapper."""

from __future__ import annotations

import random
from datetime import date

import networkx as nx
import pandas as pd
import pytest

from jobs.graph.local_engine import node_metrics, weekly_node_metrics


def _frame(edges: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(edges, columns=["src", "dst", "weight"])


def _digraph(edges: list[tuple[str, str, float]]) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_weighted_edges_from(edges)
    return graph


def _undirected_summed(edges: list[tuple[str, str, float]]) -> nx.Graph:
    """Undirected graph whose edge weight is the sum of both directions."""
    graph = nx.Graph()
    for src, dst, weight in edges:
        if graph.has_edge(src, dst):
            graph[src][dst]["weight"] += weight
        else:
            graph.add_edge(src, dst, weight=weight)
    return graph


def _partition(frame: pd.DataFrame, column: str) -> set[frozenset[str]]:
    return {frozenset(group["person"]) for _, group in frame.groupby(column)}


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
    frame, modularity = node_metrics(_frame(edges))

    assert _partition(frame, "community") == {frozenset(c) for c in cliques}
    expected = nx.community.modularity(_undirected_summed(edges), cliques, weight="weight")
    assert modularity == pytest.approx(expected, abs=1e-9)
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
    assert got == expected
    assert 0.0 < expected["c"] < 1.0 and expected["h"] == 0.0


# (e) determinism ------------------------------------------------------------------------


def test_communities_are_deterministic_across_calls():
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
    edges_frame = _frame(edges).drop_duplicates(["src", "dst"])

    first, q1 = node_metrics(edges_frame)
    random.random()  # disturb the global RNG between calls
    node_metrics(edges_frame, seed=12345)
    second, q2 = node_metrics(edges_frame)

    assert first["person"].tolist() == second["person"].tolist()
    assert first["community"].tolist() == second["community"].tolist()
    assert q1 == q2
    # Spark's applyInPandas gives no row order within a week: the order must not matter.
    reordered, q3 = node_metrics(edges_frame.iloc[::-1].reset_index(drop=True))
    assert reordered["community"].tolist() == first["community"].tolist()
    assert q3 == pytest.approx(q1, abs=1e-12)


# Through Spark --------------------------------------------------------------------------

WEEK_1 = date(2024, 3, 4)
WEEK_2 = date(2024, 3, 11)


def _spark_edges(spark):
    week_1, _ = _two_cliques()
    week_2 = PAGERANK_EDGES + [("s", "t", 1.0)]
    rows = [(WEEK_1, s, d, w) for s, d, w in week_1] + [(WEEK_2, s, d, w) for s, d, w in week_2]
    schema = "week_start date, src string, dst string, weight double"
    return spark.createDataFrame(rows, schema), {WEEK_1: week_1, WEEK_2: week_2}


def test_weekly_node_metrics_equals_node_metrics_per_week(spark):
    edges_df, by_week = _spark_edges(spark)
    result = weekly_node_metrics(edges_df, max_edges=1_000).toPandas()

    assert set(result["week_start"]) == {WEEK_1, WEEK_2}
    assert result.groupby("week_start").size().to_dict() == {WEEK_1: 10, WEEK_2: 10}
    for week, edges in by_week.items():
        # The partitions of both weeks are unambiguous, so Louvain's seed does not matter.
        expected, modularity = node_metrics(_frame(edges))
        got = result[result["week_start"] == week].sort_values("person").reset_index(drop=True)
        expected = expected.sort_values("person").reset_index(drop=True)
        assert got["person"].tolist() == expected["person"].tolist()
        assert got["pagerank"].tolist() == pytest.approx(expected["pagerank"].tolist(), abs=1e-12)
        for column in ("component", "component_size", "community"):
            assert got[column].astype(int).tolist() == expected[column].astype(int).tolist(), column
        assert got["clustering"].tolist() == pytest.approx(expected["clustering"].tolist(), abs=1e-12)
        assert got["week_modularity"].tolist() == pytest.approx([modularity] * len(got), abs=1e-12)


def test_weekly_node_metrics_refuses_weeks_above_max_edges(spark):
    edges_df, by_week = _spark_edges(spark)
    n_week_1 = len(by_week[WEEK_1])
    with pytest.raises(Exception) as excinfo:
        weekly_node_metrics(edges_df, max_edges=16).collect()
    message = str(excinfo.value)
    assert "GraphTooLargeError" in message
    assert f"{n_week_1} edges in one week exceed max_local_edges=16" in message

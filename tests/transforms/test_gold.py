"""Silver -> gold on hand-made two-week inputs; references are hand-computed or networkx."""

from __future__ import annotations

from datetime import date

import networkx as nx
import pytest

from jobs.config import PrivacyRules
from jobs.graph.local_engine import weekly_node_metrics
from jobs.transforms import gold
from schemas import gold as gold_schemas
from schemas import silver as silver_schemas

W1 = date(2024, 3, 4)
W2 = date(2024, 3, 11)
W3 = date(2024, 3, 18)
EDGE_SCHEMA = "week_start date, src string, dst string, weight double"


def _people_df(spark, rows):
    """rows: (person, department, hire_date)."""
    return spark.createDataFrame(
        [(p, dept, None, None, None, hired, None) for p, dept, hired in rows], silver_schemas.PEOPLE
    )


def _graphs(edges) -> dict[date, nx.DiGraph]:
    graphs: dict[date, nx.DiGraph] = {}
    for week, src, dst, weight in edges:
        graphs.setdefault(week, nx.DiGraph()).add_edge(src, dst, weight=weight)
    return graphs


# edges_weekly ---------------------------------------------------------------------------


def test_edges_weekly_sums_splits_and_reciprocity(spark):
    rows = [
        # week 1
        (W1, "email", "email", "p_a", "p_b", 0.5, 0.0, "e1"),
        (W1, "email", "email", "p_a", "p_b", 1.0, 0.0, "e2"),
        (W1, "calendar", "meeting", "p_a", "p_b", 0.5, 60.0, "m1"),
        (W1, "calendar", "meeting", "p_b", "p_a", 0.5, 60.0, "m1"),
        (W1, "chat", "dm", "p_a", "p_c", 1.0, 0.0, "c1"),
        (W1, "chat", "reaction", "p_c", "p_a", 0.25, 0.0, "c2:reaction:0"),
        (W1, "chat", "channel_post", "p_b", "p_c", 0.5, 0.0, "c3"),
        # week 2: a->b is not answered this week (b->a of week 1 does not count)
        (W2, "email", "email", "p_a", "p_b", 1.0, 0.0, "e3"),
        (W2, "calendar", "meeting", "p_a", "p_c", 0.5, 30.0, "m2"),
        (W2, "calendar", "meeting", "p_c", "p_a", 0.5, 30.0, "m2"),
        (W2, "calendar", "meeting", "p_a", "p_c", 1.0, 60.0, "m3"),
        (W2, "calendar", "meeting", "p_c", "p_a", 1.0, 60.0, "m3"),
    ]
    interactions_df = spark.createDataFrame(rows, silver_schemas.INTERACTIONS)
    result = gold.edges_weekly(interactions_df).collect()

    got = {
        (r["week_start"], r["src"], r["dst"]): (
            r["weight"], r["email_weight"], r["meeting_weight"], r["chat_weight"],
            r["n_email"], r["n_meeting"], r["n_chat"], r["meeting_minutes"], r["is_reciprocal"],
        )
        for r in result
    }
    assert len(result) == len(got)  # one row per week and ordered pair
    #                      weight email meet  chat  #e #m #c  minutes recip
    assert got == {
        (W1, "p_a", "p_b"): (2.0, 1.5, 0.5, 0.0, 2, 1, 0, 60.0, True),
        (W1, "p_b", "p_a"): (0.5, 0.0, 0.5, 0.0, 0, 1, 0, 60.0, True),
        (W1, "p_a", "p_c"): (1.0, 0.0, 0.0, 1.0, 0, 0, 1, 0.0, True),
        (W1, "p_c", "p_a"): (0.25, 0.0, 0.0, 0.25, 0, 0, 1, 0.0, True),
        (W1, "p_b", "p_c"): (0.5, 0.0, 0.0, 0.5, 0, 0, 1, 0.0, False),
        (W2, "p_a", "p_b"): (1.0, 1.0, 0.0, 0.0, 1, 0, 0, 0.0, False),
        (W2, "p_a", "p_c"): (1.5, 0.0, 1.5, 0.0, 0, 2, 0, 90.0, True),
        (W2, "p_c", "p_a"): (1.5, 0.0, 1.5, 0.0, 0, 2, 0, 90.0, True),
    }


# degrees --------------------------------------------------------------------------------

DEGREE_EDGES = [
    (W1, "p_a", "p_b", 2.0), (W1, "p_b", "p_a", 0.5), (W1, "p_a", "p_c", 1.0),
    (W1, "p_c", "p_d", 3.0), (W1, "p_d", "p_a", 0.25), (W1, "p_e", "p_a", 1.0),
    (W2, "p_a", "p_b", 1.0), (W2, "p_b", "p_c", 2.0), (W2, "p_c", "p_b", 0.75),
]


def test_degrees_match_networkx(spark):
    result = gold.degrees(spark.createDataFrame(DEGREE_EDGES, EDGE_SCHEMA)).collect()
    got = {(r["week_start"], r["person"]): r.asDict() for r in result}

    expected_keys = set()
    for week, graph in _graphs(DEGREE_EDGES).items():
        undirected = graph.to_undirected()  # distinct neighbours, either direction
        for person in graph.nodes:
            expected_keys.add((week, person))
            row = got[(week, person)]
            assert row["in_degree"] == graph.in_degree(person), (week, person)
            assert row["out_degree"] == graph.out_degree(person), (week, person)
            assert row["degree"] == undirected.degree(person), (week, person)
            assert row["in_strength"] == pytest.approx(graph.in_degree(person, weight="weight"))
            assert row["out_strength"] == pytest.approx(graph.out_degree(person, weight="weight"))
            assert row["strength"] == pytest.approx(graph.degree(person, weight="weight"))
    assert set(got) == expected_keys
    # spot check by hand: p_a in week 1 has b (both ways), c, d, e
    assert (got[(W1, "p_a")]["degree"], got[(W1, "p_a")]["strength"]) == (4, 4.75)


# group_metrics_weekly -------------------------------------------------------------------


def _cells(spark, edges, roster):
    result = gold.group_metrics_weekly(
        spark.createDataFrame(edges, EDGE_SCHEMA), _people_df(spark, roster), PrivacyRules()
    ).collect()
    assert {r["group_kind"] for r in result} == {"department"}
    return {
        (r["week_start"], r["group_a"], r["group_b"]): (
            r["weight"], r["n_people_pairs"], r["n_people_a"], r["n_people_b"], r["suppression"]
        )
        for r in result
    }


def _hidden(reason):
    return (None, None, None, None, reason)


UNDER_K = _hidden("fewer than k people")
COMPLEMENTARY = _hidden("complementary")


def test_a_cell_between_two_large_departments_made_of_one_pair_is_suppressed(spark):
    """The old rule looked at department sizes: both departments here have 6 active people,
    yet the Eng->Sales cell is one person pair, i.e. one individual tie weight."""
    roster = [(f"p_s{i}", "Sales", None) for i in range(6)] + [(f"p_e{i}", "Eng", None) for i in range(6)]
    ring = lambda g, w: [(W1, f"p_{g}{i}", f"p_{g}{(i + 1) % 6}", w) for i in range(6)]  # noqa: E731
    edges = ring("e", 1.0) + ring("s", 2.0) + [(W1, "p_e0", "p_s0", 0.7)]
    got = _cells(spark, edges, roster)
    # Eng->Sales: 1 sender, 1 receiver < k. Alone it would be recoverable as total - published,
    # so the smallest published cell (Eng->Eng, 6.0 < Sales->Sales 12.0) is hidden with it.
    assert got == {
        (W1, "Eng", "Sales"): UNDER_K,
        (W1, "Eng", "Eng"): COMPLEMENTARY,
        (W1, "Sales", "Sales"): (12.0, 6, 6, 6, None),
    }


def test_cells_are_published_by_distinct_people_per_side(spark):
    roster = (
        [(f"p_s{i}", "Sales", None) for i in range(1, 7)]
        + [(f"p_e{i}", "Eng", None) for i in range(1, 8)]
        + [(f"p_h{i}", "HR", None) for i in range(1, 3)]
    )
    edges = (
        # Eng->Eng: 5 senders e1..e5, 5 receivers e2..e6: published
        [(W1, f"p_e{i}", f"p_e{i + 1}", 1.0) for i in range(1, 6)]
        # Sales->Eng: 5 senders to 5 receivers: published; 6 pairs (s1 writes to two)
        + [(W1, f"p_s{i}", f"p_e{i}", 0.5) for i in range(1, 6)] + [(W1, "p_s1", "p_e7", 0.5)]
        # Eng->Sales: 6 senders, but all to s1 and s2 only: 2 receivers < k
        + [(W1, f"p_e{i}", "p_s1" if i % 2 else "p_s2", 0.25) for i in range(1, 7)]
        # HR->Eng: 2 senders < k; off-roster p_zz -> Eng: 1 sender < k
        + [(W1, "p_h1", "p_e1", 1.0), (W1, "p_h2", "p_e2", 1.0), (W1, "p_zz", "p_e1", 0.3)]
        # Week 2: only 3 Eng people: under k, and hidden alone it would be the week's total.
        + [(W2, "p_e1", "p_e2", 1.0), (W2, "p_e2", "p_e3", 1.0)]
    )
    got = _cells(spark, edges, roster)
    # W1 suppressed cells together: senders e1..e6, h1, h2, zz (9), receivers s1, s2, e1, e2 (4) < k:
    # the smallest published cell (Sales->Eng 3.0 < Eng->Eng 5.0) is hidden too.
    assert got == {
        (W1, "Eng", "Eng"): (5.0, 5, 5, 5, None),
        (W1, "Sales", "Eng"): COMPLEMENTARY,
        (W1, "Eng", "Sales"): UNDER_K,
        (W1, "HR", "Eng"): UNDER_K,
        (W1, "(unassigned)", "Eng"): UNDER_K,
        (W2, "Eng", "Eng"): UNDER_K,
    }


def test_no_complementary_cell_when_the_suppressed_cells_stand_for_k_people(spark):
    roster = [(f"p_a{i}", "A", None) for i in range(10)] + [(f"p_b{i}", "B", None) for i in range(10)]
    edges = (
        [(W1, f"p_a{i}", f"p_a{(i + 1) % 10}", 1.0) for i in range(10)]  # A->A: 10 x 10
        # A->B: 6 senders to b0..b2 (3 receivers < k); B->A: b3..b5 (3 senders < k) to 6
        + [(W1, f"p_a{i}", f"p_b{i % 3}", 0.5) for i in range(6)]
        + [(W1, f"p_b{3 + i % 3}", f"p_a{i}", 0.5) for i in range(6)]
    )
    got = _cells(spark, edges, roster)
    # Together: senders a0..a5, b3..b5 (9), receivers b0..b2, a0..a5 (9): at least k each side.
    assert got == {
        (W1, "A", "A"): (10.0, 10, 10, 10, None),
        (W1, "A", "B"): UNDER_K,
        (W1, "B", "A"): UNDER_K,
    }


# network_summary_weekly -----------------------------------------------------------------


def _summary_edges():
    """W1: two 4-cliques (partly one-way) joined by a weak edge, plus a separate pair.
    W2: a directed triangle plus a reciprocal pair."""
    edges = []
    for block in ("a", "b"):
        members = [f"p_{block}{i}" for i in range(4)]
        for i in range(4):
            for j in range(i + 1, 4):
                edges.append((W1, members[i], members[j], 1.0 + i))
                if j == i + 1:
                    edges.append((W1, members[j], members[i], 0.5))
    edges += [(W1, "p_a0", "p_b0", 0.1), (W1, "p_x", "p_y", 2.0), (W1, "p_y", "p_x", 1.0)]
    edges += [
        (W2, "p_a0", "p_a1", 1.0), (W2, "p_a1", "p_a2", 1.0), (W2, "p_a2", "p_a0", 1.0),
        (W2, "p_x", "p_y", 1.0), (W2, "p_y", "p_x", 3.0),
    ]
    return edges


def test_network_summary_weekly_matches_networkx(spark):
    edges = _summary_edges()
    graphs = _graphs(edges)
    edge_set = {(w, s, d) for w, s, d, _ in edges}
    rows = [(w, s, d, x, (w, d, s) in edge_set) for w, s, d, x in edges]
    edges_df = spark.createDataFrame(rows, EDGE_SCHEMA + ", is_reciprocal boolean")
    node_metrics_df = weekly_node_metrics(edges_df, max_edges=1_000)
    group_df = spark.createDataFrame(
        [(W1, True), (W1, True), (W1, False)], "week_start date, is_suppressed boolean"
    )
    result = {
        r["week_start"]: r.asDict()
        for r in gold.network_summary_weekly(edges_df, node_metrics_df, group_df, [W1, W2, W3]).collect()
    }

    # W3 was built but has no tie at all: still one row, with zero counts.
    assert result.pop(W3) == {
        "week_start": W3, "nodes": 0, "edges": 0, "total_weight": 0.0, "density": None,
        "components": 0, "giant_component_share": None, "reciprocity": None,
        "average_clustering": None, "communities": 0, "modularity": None, "groups_suppressed": 0,
    }
    assert set(result) == {W1, W2}
    for week, graph in graphs.items():
        row = result[week]
        n = graph.number_of_nodes()
        components = list(nx.weakly_connected_components(graph))
        simple = nx.Graph(graph.to_undirected())
        assert row["nodes"] == n
        assert row["edges"] == graph.number_of_edges()
        assert row["total_weight"] == pytest.approx(graph.size(weight="weight"))
        assert row["density"] == pytest.approx(nx.density(graph))
        assert row["density"] == pytest.approx(graph.number_of_edges() / (n * (n - 1)))
        assert row["reciprocity"] == pytest.approx(nx.reciprocity(graph))
        assert row["components"] == len(components)
        assert row["giant_component_share"] == pytest.approx(max(map(len, components)) / n)
        assert row["average_clustering"] == pytest.approx(nx.average_clustering(simple))

    # communities: W1 = the two cliques and the pair; modularity of that partition (networkx)
    w1 = result[W1]
    undirected = nx.Graph()
    for week, src, dst, weight in edges:
        if week == W1:
            old = undirected.get_edge_data(src, dst, {"weight": 0.0})["weight"]
            undirected.add_edge(src, dst, weight=old + weight)
    partition = [
        {f"p_a{i}" for i in range(4)}, {f"p_b{i}" for i in range(4)}, {"p_x", "p_y"},
    ]
    assert w1["communities"] == 3
    assert w1["modularity"] == pytest.approx(
        nx.community.modularity(undirected, partition, weight="weight"), abs=1e-9
    )
    assert (w1["groups_suppressed"], result[W2]["groups_suppressed"]) == (2, 0)
    # W1 by hand: 10 nodes; (6 + 3) edges per clique, 1 bridge, 2 in the pair = 21 edges;
    # reciprocated: 3 pairs per clique and the x-y pair = 14 of 21; giant component 8 of 10.
    assert (w1["nodes"], w1["edges"], w1["components"]) == (10, 21, 2)
    assert w1["density"] == pytest.approx(21 / 90)
    assert w1["reciprocity"] == pytest.approx(14 / 21)
    assert w1["giant_component_share"] == pytest.approx(0.8)


# person_metrics_weekly ------------------------------------------------------------------


def test_person_metrics_weekly_roster_and_defaults(spark):
    people_df = _people_df(spark, [
        ("p_a", "Eng", date(2020, 1, 6)),
        ("p_b", "Sales", date(2024, 3, 4)),
        ("p_n", "Eng", date(2024, 3, 10)),  # hired on W1's Sunday: on the W1 roster
        ("p_q", None, None),  # no hire date: always on the roster
        ("p_h", "Eng", date(2024, 3, 11)),  # hired after W1: only in W2
    ])
    degrees_df = spark.createDataFrame(
        [(W1, "p_a", 1, 1, 1, 0.5, 2.0, 2.5), (W1, "p_b", 1, 1, 1, 2.0, 0.5, 2.5)],
        "week_start date, person string, in_degree long, out_degree long, degree long, "
        "in_strength double, out_strength double, strength double",
    )
    node_metrics_df = spark.createDataFrame(
        [(W1, "p_a", 0.6, 0, 2, 0, 0.0, 0.1), (W1, "p_b", 0.4, 0, 2, 0, 0.0, 0.1)],
        "week_start date, person string, pagerank double, component long, component_size long, "
        "community long, clustering double, week_modularity double",
    )
    load_df = spark.createDataFrame(
        [(W1, "p_a", 3, 1, 0, 2, 1.5), (W1, "p_x", 1, 0, 4, 0, 0.0)],  # p_x: off the roster
        "week_start date, person string, emails_sent long, broadcasts_sent long, "
        "chat_messages_sent long, meetings_attended long, meeting_hours double",
    )
    result = gold.person_metrics_weekly(degrees_df, node_metrics_df, load_df, people_df, [W1, W2])
    rows = result.collect()

    assert result.columns == [f.name for f in gold_schemas.PERSON_METRICS]
    got = {(r["week_start"], r["person"]): r.asDict() for r in rows}
    assert len(rows) == len(got)
    assert set(got) == {
        (W1, "p_a"), (W1, "p_b"), (W1, "p_n"), (W1, "p_q"), (W1, "p_x"),
        (W2, "p_a"), (W2, "p_b"), (W2, "p_n"), (W2, "p_q"), (W2, "p_h"),
    }

    assert not {"department", "team", "manager", "location", "hire_date", "timezone"} & set(result.columns)
    a = got[(W1, "p_a")]
    assert (a["degree"], a["strength"], a["pagerank"], a["component_size"]) == (1, 2.5, 0.6, 2)
    assert (a["emails_sent"], a["broadcasts_sent"], a["meetings_attended"], a["meeting_hours"]) == (
        3, 1, 2, 1.5
    )
    b = got[(W1, "p_b")]
    assert (b["in_strength"], b["emails_sent"], b["meeting_hours"]) == (2.0, 0, 0.0)

    zeros = {
        "in_degree": 0, "out_degree": 0, "degree": 0, "in_strength": 0.0, "out_strength": 0.0,
        "strength": 0.0, "emails_sent": 0, "broadcasts_sent": 0, "chat_messages_sent": 0,
        "meetings_attended": 0, "meeting_hours": 0.0,
    }
    graph_nulls = {"pagerank": None, "component": None, "component_size": None,
                   "community": None, "clustering": None}
    for key in [(W1, "p_n"), (W1, "p_q"), (W2, "p_a"), (W2, "p_h")]:
        row = got[key]
        assert {k: row[k] for k in zeros} == zeros, key
        assert {k: row[k] for k in graph_nulls} == graph_nulls, key
    x = got[(W1, "p_x")]
    assert (x["degree"], x["pagerank"], x["chat_messages_sent"]) == (0, None, 4)

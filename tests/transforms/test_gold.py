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


def test_group_metrics_weekly_suppresses_groups_below_k(spark):
    roster = (
        [(f"p_s{i}", "Sales", None) for i in range(1, 7)]  # 6 on the roster, 4 active
        + [(f"p_e{i}", "Eng", None) for i in range(1, 7)]  # 6 on the roster, 5 active in W1
    )
    edges = [
        (W1, "p_e1", "p_e2", 1.0), (W1, "p_e2", "p_e3", 0.5), (W1, "p_e3", "p_e4", 2.0),
        (W1, "p_e4", "p_e5", 0.25), (W1, "p_e5", "p_e1", 1.25),
        (W1, "p_s1", "p_s2", 1.0), (W1, "p_s3", "p_s4", 1.0),
        (W1, "p_s1", "p_e1", 0.5), (W1, "p_e2", "p_s2", 0.75),
        (W1, "p_zz", "p_e1", 0.3),  # not on the roster
        (W2, "p_e1", "p_e2", 1.0), (W2, "p_e2", "p_e3", 1.0),  # only 3 Eng active in W2
    ]
    result = gold.group_metrics_weekly(
        spark.createDataFrame(edges, EDGE_SCHEMA), _people_df(spark, roster), PrivacyRules()
    ).collect()
    got = {
        (r["week_start"], r["group_a"], r["group_b"]): (
            r["weight"], r["n_people_pairs"], r["n_active_a"], r["n_active_b"], r["is_suppressed"]
        )
        for r in result
    }
    assert {r["group_kind"] for r in result} == {"department"}
    hidden = (None, None, None, None, True)
    assert got == {
        (W1, "Eng", "Eng"): (5.0, 5, 5, 5, False),  # 1 + 0.5 + 2 + 0.25 + 1.25
        (W1, "Sales", "Sales"): hidden,
        (W1, "Sales", "Eng"): hidden,
        (W1, "Eng", "Sales"): hidden,
        (W1, "(unassigned)", "Eng"): hidden,
        (W2, "Eng", "Eng"): hidden,
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

    a = got[(W1, "p_a")]
    assert (a["department"], a["degree"], a["strength"], a["pagerank"], a["component_size"]) == (
        "Eng", 1, 2.5, 0.6, 2
    )
    assert (a["emails_sent"], a["broadcasts_sent"], a["meetings_attended"], a["meeting_hours"]) == (
        3, 1, 2, 1.5
    )
    b = got[(W1, "p_b")]
    assert (b["department"], b["in_strength"], b["emails_sent"], b["meeting_hours"]) == (
        "Sales", 2.0, 0, 0.0
    )

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
    assert got[(W1, "p_q")]["department"] is None
    x = got[(W1, "p_x")]
    assert (x["department"], x["degree"], x["pagerank"], x["chat_messages_sent"]) == (None, 0, None, 4)

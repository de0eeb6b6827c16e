"""Silver -> gold on hand-made two-week inputs; references are hand-computed or networkx."""

from __future__ import annotations

from datetime import date

import networkx as nx
import pytest

from jobs.config import PrivacyRules, RoleRules
from jobs.graph.contract import NODE_METRICS_SCHEMA
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
    both = gold.group_metrics_weekly(
        spark.createDataFrame(edges, EDGE_SCHEMA), _people_df(spark, roster), PrivacyRules()
    ).collect()
    assert {r["group_kind"] for r in both} == {"department", "team"}
    result = [r for r in both if r["group_kind"] == "department"]
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
    change_df = spark.createDataFrame(
        [(W2, 4, 19, 23 / 25)], "week_start date, ties_formed long, ties_lost long, tie_churn double")
    stability_df = spark.createDataFrame([(W2, 0.5)], "week_start date, community_stability double")
    summary_df = gold.network_summary_weekly(edges_df, node_metrics_df, group_df, [W1, W2, W3], change_df,
                                             stability_df, {W1: "native", W2: "graphframes", W3: "native"})
    assert summary_df.columns == gold_schemas.NETWORK_SUMMARY.fieldNames()
    result = {r["week_start"]: r.asDict() for r in summary_df.collect()}

    # W3 was built but has no tie at all: still one row, with zero counts.
    assert result.pop(W3) == {
        "week_start": W3, "nodes": 0, "edges": 0, "total_weight": 0.0, "density": None,
        "components": 0, "giant_component_share": None, "reciprocity": None,
        "average_clustering": None, "communities": 0, "modularity": None, "groups_suppressed": 0,
        "ties_formed": None, "ties_lost": None, "tie_churn": None, "community_stability": None,
        "graph_engine": "native", "betweenness_error_bound": None,
    }
    # The change and stability figures of a week are carried as given, the engine as chosen.
    assert (result[W2]["ties_formed"], result[W2]["community_stability"], result[W2]["graph_engine"]) == (
        4, 0.5, "graphframes")
    assert result[W1]["tie_churn"] is None
    # Both weeks have fewer people than the exact-betweenness threshold: exact, bound 0.
    assert result[W1]["betweenness_error_bound"] == 0.0
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
    node_metrics_df = _node_rows(spark, [(W1, "p_a", 0.6), (W1, "p_b", 0.4)])
    load_df = spark.createDataFrame(
        [(W1, "p_a", 3, 1, 0, 2, 1.5, 0.25), (W1, "p_x", 1, 0, 4, 0, 0.0, 1.0)],  # p_x: off the roster
        "week_start date, person string, emails_sent long, broadcasts_sent long, "
        "chat_messages_sent long, meetings_attended long, meeting_hours double, after_hours_share double",
    )
    change_df = spark.createDataFrame(
        [(W1, "p_a", 1, 0, 1, None, 1, None)],
        "week_start date, person string, ties_formed long, ties_lost long, pagerank_rank long, "
        "pagerank_rank_change long, betweenness_rank long, betweenness_rank_change long")
    result = gold.person_metrics_weekly(degrees_df, node_metrics_df, load_df, change_df, people_df,
                                        [W1, W2], RoleRules())
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
    assert (a["after_hours_share"], a["ties_formed"], a["pagerank_rank"]) == (0.25, 1, 1)
    b = got[(W1, "p_b")]
    assert (b["in_strength"], b["emails_sent"], b["meeting_hours"]) == (2.0, 0, 0.0)
    assert b["after_hours_share"] is None  # no activity: no share
    # Department-derived figures stay out of the BI zone (silver/person_brokerage_weekly).
    assert not {"cross_group_ties", "liaison", "gatekeeper"} & set(result.columns)

    zeros = {
        "in_degree": 0, "out_degree": 0, "degree": 0, "in_strength": 0.0, "out_strength": 0.0,
        "strength": 0.0, "emails_sent": 0, "broadcasts_sent": 0, "chat_messages_sent": 0,
        "meetings_attended": 0, "meeting_hours": 0.0,
    }
    graph_nulls = {"pagerank": None, "component": None, "component_size": None,
                   "community": None, "clustering": None, "betweenness": None, "constraint": None}
    for key in [(W1, "p_n"), (W1, "p_q"), (W2, "p_a"), (W2, "p_h")]:
        row = got[key]
        assert {k: row[k] for k in zeros} == zeros, key
        assert {k: row[k] for k in graph_nulls} == graph_nulls, key
    x = got[(W1, "p_x")]
    assert (x["degree"], x["pagerank"], x["chat_messages_sent"]) == (0, None, 4)
    assert {got[k]["network_role"] for k in [(W1, "p_n"), (W1, "p_q"), (W2, "p_a")]} == {"isolated"}


def _node_rows(spark, rows, **columns):
    """Contract rows (jobs/graph/contract.py) for (week, person, pagerank), other metrics as
    given per column ({person: value}) or a neutral default."""
    defaults = {"eigenvector": 0.1, "harmonic": 0.5, "kcore": 1, "betweenness": 0.0, "clustering": 0.0,
                "constraint": 1.0, "effective_size": 1.0, "component": 0, "component_size": len(rows),
                "community": 0, "coordinator": 0, "gatekeeper": 0, "representative": 0, "liaison": 0,
                "itinerant": 0, "week_modularity": 0.1, "betweenness_error_bound": 0.0}
    names = [f.split()[0] for f in NODE_METRICS_SCHEMA.split(", ")]
    out = []
    for week, person, pagerank in rows:
        values = {"week_start": week, "person": person, "pagerank": pagerank}
        for name, default in defaults.items():
            values[name] = columns.get(name, {}).get(person, default)
        out.append(tuple(values[n] for n in names))
    return spark.createDataFrame(out, NODE_METRICS_SCHEMA)


def test_network_roles_follow_the_documented_thresholds(spark):
    """Twenty people with ties in one week, planted so that each rule fires for someone; the
    first rule that holds wins (docs/metrics.md, "Roles")."""
    people = [f"p_{i:02d}" for i in range(20)]
    # degree 2 for everyone except: p_00 degree 10 (connector), p_19 and p_18 degree 1 (peripheral)
    degree = {p: 2 for p in people} | {"p_00": 10, "p_18": 1, "p_19": 1}
    degrees_df = spark.createDataFrame(
        [(W1, p, d, d, d, 1.0, 1.0, 2.0) for p, d in degree.items()],
        "week_start date, person string, in_degree long, out_degree long, degree long, "
        "in_strength double, out_strength double, strength double")
    # p_01: highest betweenness and lowest constraint -> broker. p_02: third-highest betweenness
    # with a high constraint -> not a broker (member). p_03: 25 meeting hours -> overloaded, although
    # its betweenness would make it a broker too.
    betweenness = {p: 0.01 for p in people} | {"p_01": 0.9, "p_02": 0.8, "p_03": 0.85}
    constraint = {p: 0.5 for p in people} | {"p_01": 0.1, "p_02": 0.9, "p_03": 0.1}
    nodes_df = _node_rows(spark, [(W1, p, 1 / 20) for p in people],
                          betweenness=betweenness, constraint=constraint)
    load_df = spark.createDataFrame(
        [(W1, p, 1, 0, 0, 1, 25.0 if p == "p_03" else 1.0, 0.0) for p in people]
        + [(W1, "p_zz", 0, 0, 0, 1, 1.0, 0.0)],  # attended a meeting, no tie
        "week_start date, person string, emails_sent long, broadcasts_sent long, "
        "chat_messages_sent long, meetings_attended long, meeting_hours double, after_hours_share double")
    empty_change = spark.createDataFrame(
        [], "week_start date, person string, ties_formed long, ties_lost long, pagerank_rank long, "
            "pagerank_rank_change long, betweenness_rank long, betweenness_rank_change long")
    people_df = _people_df(spark, [(p, "Eng", None) for p in people])
    rows = gold.person_metrics_weekly(degrees_df, nodes_df, load_df, empty_change, people_df,
                                      [W1], RoleRules()).collect()
    role = {r["person"]: r["network_role"] for r in rows}
    # percent_rank over 20 people: p_01 is 19/19 = 1.0 on betweenness and 0/19 on constraint.
    assert (role["p_01"], role["p_02"], role["p_03"]) == ("broker", "member", "overloaded")
    assert role["p_00"] == "connector"  # the only degree 10: rank 1.0 >= 0.9
    assert (role["p_18"], role["p_19"]) == ("peripheral", "peripheral")
    assert role["p_zz"] == "isolated"
    assert sum(r == "member" for r in role.values()) == 15  # the 20 minus five planted above


def test_brokerage_weekly_counts_zero_cross_ties_for_people_inside_their_department(spark):
    nodes_df = _node_rows(spark, [(W1, "p_a", 0.5), (W1, "p_b", 0.5)], liaison={"p_a": 3})
    cross_df = spark.createDataFrame([(W1, "p_a", 2)], "week_start date, person string, cross_group_ties long")
    got = {r["person"]: r.asDict() for r in gold.brokerage_weekly(nodes_df, cross_df).collect()}
    assert got["p_a"]["cross_group_ties"] == 2 and got["p_a"]["liaison"] == 3
    assert got["p_b"]["cross_group_ties"] == 0 and got["p_b"]["liaison"] == 0
    assert list(got["p_a"]) == silver_schemas.PERSON_BROKERAGE.fieldNames()


def test_after_hours_share_is_in_the_persons_own_time_zone(spark):
    """The same UTC instant is evening in Tokyo and morning in New York."""
    from datetime import datetime

    people_df = spark.createDataFrame(
        [("p_tokyo", None, None, None, None, None, "Asia/Tokyo"),
         ("p_newyork", None, None, None, None, None, "America/New_York"),
         ("p_unknown", None, None, None, None, None, None)], silver_schemas.PEOPLE)
    # Monday 2024-03-04 13:00 UTC = 22:00 in Tokyo (after hours), 08:00 in New York (working),
    # 13:00 UTC for the unknown zone (working). Saturday 2024-03-09 12:00 UTC is a weekend for all.
    monday, saturday = datetime(2024, 3, 4, 13, 0), datetime(2024, 3, 9, 12, 0)
    events = []
    for person in ("p_tokyo", "p_newyork", "p_unknown"):
        events.append((f"{person}-1", "email", "email", monday, W1, person, ["p_other"], 1, None, False, False, True))
        events.append((f"{person}-2", "chat", "dm", monday, W1, person, ["p_other"], 1, None, False, False, True))
        events.append((f"{person}-3", "email", "email", saturday, W1, person, ["p_other"], 1, None, False, False, True))
    # A meeting the Tokyo person attends (organised by p_newyork) at the Monday instant.
    events.append(("m1", "calendar", "meeting", monday, W1, "p_newyork", ["p_tokyo"], 1, 60.0, False, False, True))
    events_df = spark.createDataFrame(events, silver_schemas.EVENTS)
    got = {r["person"]: r.asDict() for r in gold.load_metrics(events_df, people_df).collect()}
    # Tokyo: 2 Monday messages + 1 meeting after hours, 1 Saturday message: 4 of 4.
    assert got["p_tokyo"]["after_hours_share"] == 1.0
    # New York: Monday 08:00 messages and meeting in hours (3), Saturday after: 1 of 4.
    assert got["p_newyork"]["after_hours_share"] == pytest.approx(1 / 4)
    # Unknown zone (UTC): Monday 13:00 in hours, Saturday out: 1 of 3.
    assert got["p_unknown"]["after_hours_share"] == pytest.approx(1 / 3)
    assert (got["p_newyork"]["emails_sent"], got["p_newyork"]["chat_messages_sent"],
            got["p_newyork"]["meetings_attended"]) == (2, 1, 1)

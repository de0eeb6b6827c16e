"""Week-over-week change on planted weeks; every expected value is derived by hand."""

from __future__ import annotations

from datetime import date

from jobs.transforms import change

W0 = date(2024, 2, 26)
W1 = date(2024, 3, 4)
W2 = date(2024, 3, 11)
W3 = date(2024, 3, 18)
W4 = date(2024, 3, 25)
W5 = date(2024, 4, 1)
W6 = date(2024, 4, 8)
EDGE_SCHEMA = "week_start date, src string, dst string, weight double"

# Undirected neighbours:
# W1: a-b (both directions), b-c, c-d          a{b} b{a,c} c{b,d} d{c}
# W2: a-b, a-c, c-d, d-e                       a{b,c} b{a} c{a,d} d{c,e} e{d}
# W3: a-c, b-e                                 a{c} b{e} c{a} e{b}; d has a row but no tie
# W4: no edge at all
EDGES = [
    (W1, "p_a", "p_b", 1.0), (W1, "p_b", "p_a", 1.0), (W1, "p_b", "p_c", 1.0), (W1, "p_d", "p_c", 1.0),
    (W2, "p_a", "p_b", 1.0), (W2, "p_a", "p_c", 1.0), (W2, "p_c", "p_d", 1.0), (W2, "p_e", "p_d", 1.0),
    (W3, "p_c", "p_a", 1.0), (W3, "p_b", "p_e", 1.0), (W3, "p_e", "p_b", 0.5),
]


def test_person_change_ties_and_rank_moves(spark):
    metrics = [
        # W1 pagerank: b .4, c .3, d .2, a .1 -> b1 c2 d3 a4
        #    betweenness: b = c = .6 (b first), a = d = 0 (a first) -> b1 c2 a3 d4
        (W1, "p_a", 0.1, 0.0), (W1, "p_b", 0.4, 0.6), (W1, "p_c", 0.3, 0.6), (W1, "p_d", 0.2, 0.0),
        # W2 pagerank: a .3, c = d = .25, b = e = .1 -> a1 c2 d3 b4 e5
        #    betweenness: c .7, a = d = .5, b = e = 0 -> c1 a2 d3 b4 e5
        (W2, "p_a", 0.3, 0.5), (W2, "p_b", 0.1, 0.0), (W2, "p_c", 0.25, 0.7), (W2, "p_d", 0.25, 0.5),
        (W2, "p_e", 0.1, 0.0),
        # W3: all equal among a, b, c, e -> a1 b2 c3 e4 for both; d has no tie, no value
        (W3, "p_a", 0.25, 0.0), (W3, "p_b", 0.25, 0.0), (W3, "p_c", 0.25, 0.0), (W3, "p_d", None, None),
        (W3, "p_e", 0.25, 0.0),
    ]
    person_weeks_df = spark.createDataFrame(
        metrics, "week_start date, person string, pagerank double, betweenness double"
    )
    result = change.person_change(person_weeks_df, spark.createDataFrame(EDGES, EDGE_SCHEMA), [W1, W2, W3])
    assert result.columns == [
        "week_start", "person", "ties_formed", "ties_lost", "pagerank_rank", "betweenness_rank",
        "pagerank_rank_change", "betweenness_rank_change",
    ]
    got = {(r["week_start"], r["person"]): tuple(r)[2:] for r in result.collect()}
    #                  formed lost  pr  btw  pr move (before - now)  btw move
    assert got == {
        # W0 has no edge: no previous week, nothing formed or lost, no move
        (W1, "p_a"): (None, None, 4, 3, None, None),
        (W1, "p_b"): (None, None, 1, 1, None, None),
        (W1, "p_c"): (None, None, 2, 2, None, None),
        (W1, "p_d"): (None, None, 3, 4, None, None),
        (W2, "p_a"): (1, 0, 1, 2, 4 - 1, 3 - 2),  # + c
        (W2, "p_b"): (0, 1, 4, 4, 1 - 4, 1 - 4),  # - c
        (W2, "p_c"): (1, 1, 2, 1, 2 - 2, 2 - 1),  # + a, - b
        (W2, "p_d"): (1, 0, 3, 3, 3 - 3, 4 - 3),  # + e
        (W2, "p_e"): (1, 0, 5, 5, None, None),  # + d; no rank in W1
        (W3, "p_a"): (0, 1, 1, 1, 1 - 1, 2 - 1),  # - b
        (W3, "p_b"): (1, 1, 2, 2, 4 - 2, 4 - 2),  # + e, - a
        (W3, "p_c"): (0, 1, 3, 3, 2 - 3, 1 - 3),  # - d
        (W3, "p_d"): (0, 2, None, None, None, None),  # - c, - e; no rank in W3
        (W3, "p_e"): (1, 1, 4, 4, 5 - 4, 5 - 4),  # + b, - d
    }


def test_network_change_churn(spark):
    result = change.network_change(spark.createDataFrame(EDGES, EDGE_SCHEMA), [W1, W2, W3, W4, W5])
    got = {r["week_start"]: (r["ties_formed"], r["ties_lost"], r["tie_churn"]) for r in result.collect()}
    assert got == {
        W1: (None, None, None),  # W0 has no edge
        # pairs W1 {ab, bc, cd}, W2 {ab, ac, cd, de}: formed ac, de; lost bc; union 5
        W2: (2, 1, 3 / 5),
        # W3 {ac, be}: formed be; lost ab, cd, de; union {ab, ac, cd, de, be} = 5
        W3: (1, 3, 4 / 5),
        W4: (0, 2, 1.0),  # no edge: both W3 pairs lost
        W5: (None, None, None),  # W4 has no edge: no previous week known
    }


def test_stable_communities_persist_split_merge_and_new(spark):
    # Published history: W-1 (older) used id 9, W0 has 3 {a,b,c,d}, 5 {e,f,g}, 7 {h,i}.
    previous = (
        [(W0 - (W1 - W0), "p_z", 9)]
        + [(W0, p, 3) for p in ("p_a", "p_b", "p_c", "p_d")]
        + [(W0, p, 5) for p in ("p_e", "p_f", "p_g")]
        + [(W0, p, 7) for p in ("p_h", "p_i")]
    )
    raw = {
        # W1 vs W0 (Jaccard):
        W1: {
            0: "abcdx",  # 3: 4 / 5 = 0.8 -> keeps 3 (persists, x joins)
            1: "ef",  # 5: 2 / 3 -> keeps 5 (the bigger part of a split)
            2: "gy",  # 5: 1 / 4 = 0.25 < 0.3 -> new
            3: "hik",  # 7: 2 / 3 -> keeps 7
            4: "pqr",  # nobody known -> new
        },  # new ids after the highest seen (9): size desc -> pqr 10, gy 11
        # W2 vs W1 (3 abcdx, 5 ef, 11 gy, 7 hik, 10 pqr):
        W2: {
            5: "efhik",  # merge: 7 3 / 5 = 0.6, 5 2 / 5 = 0.4 -> keeps 7
            6: "abc",  # 3: 3 / 5 = 0.6 -> keeps 3
            7: "dx",  # 3: 2 / 5 = 0.4, but 3 is taken -> new
            8: "pqr",  # 10: 1.0 -> keeps 10
            9: "mn",  # new; g and y are gone
        },  # new ids after 11, size 2 each, smallest member: dx 12, mn 13
        # W3 is not built and not published: W4 has no previous week, all new from 14
        W4: {0: "ab"},
    }
    membership = [(w, f"p_{m}", c) for w, groups in raw.items() for c, members in groups.items() for m in members]
    schema = "week_start date, person string, community long"
    membership_df = spark.createDataFrame(membership, schema)
    previous_df = spark.createDataFrame(previous, schema)
    weeks = [W1, W2, W4]

    result = change.stable_communities(membership_df, previous_df, weeks)
    assert result.membership.columns == ["week_start", "person", "community"]
    got: dict = {}
    for r in result.membership.collect():
        got.setdefault((r["week_start"], r["community"]), set()).add(r["person"][2:])
    expected = {
        W1: {3: "abcdx", 5: "ef", 11: "gy", 7: "hik", 10: "pqr"},
        W2: {7: "efhik", 3: "abc", 12: "dx", 10: "pqr", 13: "mn"},
        W4: {14: "ab"},
    }
    assert got == {(w, c): set(members) for w, groups in expected.items() for c, members in groups.items()}

    assert {r["week_start"]: r["community_stability"] for r in result.stability.collect()} == {
        # in W0 and W1: a b c d e f g h i (9); same id: a b c d (3), e f (5), h i (7) = 8
        W1: 8 / 9,
        # in W1 and W2: a b c d x e f h i k p q r (13); same: a b c (3), h i k (7), p q r (10) = 9
        W2: 9 / 13,
        W4: None,  # no W3
    }

"""build_gold: silver frames in, gold frames out, no lake; the engine chosen by week size."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from jobs.config import GraphRules, Settings
from jobs.transforms.build import GoldInputs, build_gold
from schemas import silver as silver_schemas
from schemas.gold import GOLD_TABLES, NETWORK_SUMMARY_WEEKLY, PERSON_METRICS_WEEKLY
from schemas.silver import PERSON_BROKERAGE_WEEKLY

W = date(2024, 3, 4)
ENG = [f"p_e{i}" for i in range(6)]
OPS = [f"p_o{i}" for i in range(6)]


def _inputs(spark) -> GoldInputs:
    """Two departments of six, each a clique by e-mail, joined by p_e0 <-> p_o0."""
    ties = [(a, b) for team in (ENG, OPS) for a in team for b in team if a != b] + [("p_e0", "p_o0"), ("p_o0", "p_e0")]
    interactions = [(W, "email", "email", a, b, 1.0, 0.0, f"m{i}") for i, (a, b) in enumerate(ties)]
    people = [(p, "Engineering" if p in ENG else "Operations", None, None, None, date(2020, 1, 6), "UTC")
              for p in ENG + OPS]
    return GoldInputs(
        interactions=spark.createDataFrame(interactions, silver_schemas.INTERACTIONS),
        events=spark.createDataFrame([], silver_schemas.EVENTS),
        people=spark.createDataFrame(people, silver_schemas.PEOPLE),
        weeks=[W],
        person_history=spark.createDataFrame(
            [], "week_start date, person string, degree long, constraint double, pagerank double, "
                "betweenness double, community long, cross_group_ties long"),
        edge_history=spark.createDataFrame([], "week_start date, src string, dst string"),
    )


@pytest.fixture(scope="module")
def both(spark):
    inputs = _inputs(spark)
    native = build_gold(inputs, Settings())
    distributed = build_gold(inputs, replace(Settings(), graph=GraphRules(max_local_edges=0)))
    columns = {path: df.columns for path, df in native.items()}
    collect = lambda frames: {path: [r.asDict() for r in df.collect()] for path, df in frames.items()}  # noqa: E731
    return collect(native), collect(distributed), columns


def test_every_table_has_its_contract_columns(both):
    columns = both[2]
    assert set(columns) == {t.path for t in (*GOLD_TABLES, PERSON_BROKERAGE_WEEKLY)}
    for table in (*GOLD_TABLES, PERSON_BROKERAGE_WEEKLY):
        assert columns[table.path] == table.schema.fieldNames(), table.path


def test_a_week_above_the_threshold_runs_on_graphframes_with_the_same_answers(both):
    native, distributed, _ = both
    assert native[NETWORK_SUMMARY_WEEKLY.path][0]["graph_engine"] == "native"
    assert distributed[NETWORK_SUMMARY_WEEKLY.path][0]["graph_engine"] == "graphframes"
    by_person = lambda rows: {r["person"]: r for r in rows}  # noqa: E731
    a, b = by_person(native[PERSON_METRICS_WEEKLY.path]), by_person(distributed[PERSON_METRICS_WEEKLY.path])
    assert set(a) == set(b) == set(ENG + OPS)
    for person in a:
        for column in ("pagerank", "eigenvector", "harmonic", "kcore", "clustering", "constraint", "effective_size"):
            assert b[person][column] == pytest.approx(a[person][column], abs=1e-6), (person, column)
    # Only the native engine computes betweenness: the bridge ends carry every cross path.
    # By hand: p_e0 lies on the shortest paths from its 5 colleagues to the 6 in Operations
    # (30 pairs), of (12-1)(12-2)/2 = 55 pairs: 30/55.
    assert a["p_e0"]["betweenness"] == pytest.approx(30 / 55)
    assert b["p_e0"]["betweenness"] is None


def test_the_bridge_is_the_broker_by_role_and_by_census(both):
    native = both[0]
    roles = {r["person"]: r["network_role"] for r in native[PERSON_METRICS_WEEKLY.path]}
    assert roles["p_e0"] == roles["p_o0"] == "broker"
    census = {r["person"]: r for r in native[PERSON_BROKERAGE_WEEKLY.path]}
    # p_e0's open two-paths: colleague -> p_e0 -> p_o0 (representative, 5) and
    # p_o0 -> p_e0 -> colleague (gatekeeper, 5); colleagues are tied to each other, so no
    # coordinator path is open.
    assert (census["p_e0"]["representative"], census["p_e0"]["gatekeeper"], census["p_e0"]["coordinator"]) == (5, 5, 0)
    assert census["p_e0"]["cross_group_ties"] == 1 and census["p_e1"]["cross_group_ties"] == 0

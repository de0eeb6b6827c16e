"""Every fail-level privacy gate bites: a violation planted in otherwise valid gold frames of one
week blocks that week, with the check that caught it named, through `run_week_gates` (the path
the pipeline takes); the same frames without the violation pass.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from functools import partial

import pytest
from pyspark.sql import functions as F

from jobs.privacy.names import known_name_refs, name_ref, name_refs, normalise_name, record_name_refs
from jobs.privacy.pseudonym import Pseudonymiser
from jobs.quality.checks import SuiteInputs
from jobs.quality.gates import run_gates, run_week_gates
from jobs.quality.suites import (
    QUASI_IDENTIFIER_COLUMNS,
    SUPPRESSION_REASONS,
    looks_like_name,
    quasi_identifier,
)
from jobs.sources.chat import parse_slack
from jobs.sources.people import parse_people
from schemas.catalog import BI_ZONES, all_tables
from schemas.gold import GOLD_TABLES, PERSON_METRICS_WEEKLY
from schemas.state import NAME_REFS

WEEK = date(2024, 3, 4)
K = 5
PSEUDO = Pseudonymiser(key=b"gate-test-key")
P = [PSEUDO.person(f"user{i}@example.org") for i in range(6)]
NOW = datetime(2024, 3, 12, 6, 0, tzinfo=timezone.utc)

EDGES, PERSONS, GROUPS, COHESION, COHORTS, SUMMARY = (t.path for t in GOLD_TABLES)


def _edge(src, dst, weight=1.0, reciprocal=True):
    return {"week_start": WEEK, "src": src, "dst": dst, "weight": weight, "email_weight": weight,
            "meeting_weight": 0.0, "chat_weight": 0.0, "n_email": 1, "n_meeting": 0, "n_chat": 0,
            "meeting_minutes": 0.0, "is_reciprocal": reciprocal}


def _person(person, pagerank):
    return {"week_start": WEEK, "person": person, "in_degree": 1, "out_degree": 1, "degree": 2,
            "in_strength": 1.0, "out_strength": 1.0, "strength": 2.0, "pagerank": pagerank, "component": 0,
            "component_size": 6, "community": 0, "clustering": 0.5, "emails_sent": 1, "broadcasts_sent": 0,
            "chat_messages_sent": 0, "meetings_attended": 0, "meeting_hours": 0.0,
            "eigenvector": 0.408, "harmonic": 0.6, "kcore": 2, "betweenness": 0.2, "constraint": 0.5,
            "effective_size": 2.0, "network_role": "member", "after_hours_share": 0.1,
            "ties_formed": None, "ties_lost": None, "pagerank_rank": 1, "pagerank_rank_change": None,
            "betweenness_rank": 1, "betweenness_rank_change": None}


def _group(name, n_people=None, suppression=None, kind="department"):
    published = suppression is None
    value = lambda v: v if published else None  # noqa: E731
    return {"week_start": WEEK, "group_kind": kind, "group_name": name, "n_people": value(n_people),
            "internal_ties": value(8), "external_ties": value(4), "internal_weight": value(6.0),
            "external_weight": value(2.0), "ei_index": value(-0.5), "density": value(0.4),
            "cross_group_share": value(1 / 3), "is_suppressed": not published, "suppression": suppression}


def _cohort(weeks_since_hire, n_people=None, suppression=None):
    published = suppression is None
    value = lambda v: v if published else None  # noqa: E731
    return {"week_start": WEEK, "cohort_month": date(2024, 1, 1), "weeks_since_hire": weeks_since_hire,
            "n_people": value(n_people), "median_degree": value(3.0), "median_cross_group_ties": value(1.0),
            "median_constraint": value(0.4), "share_integrated": value(0.6), "is_suppressed": not published,
            "suppression": suppression}


def _cell(a, b, weight=None, pairs=None, n_a=None, n_b=None, suppression=None, dp_epsilon=None):
    return {"week_start": WEEK, "group_kind": "department", "group_a": a, "group_b": b, "weight": weight,
            "n_people_pairs": pairs, "n_people_a": n_a, "n_people_b": n_b,
            "is_suppressed": suppression is not None, "suppression": suppression, "dp_epsilon": dp_epsilon}


def clean_rows() -> dict[str, list[dict]]:
    """One valid week: a ring of six people, both ways, and a 3-cell group matrix."""
    edges = [_edge(P[i], P[(i + 1) % 6]) for i in range(6)] + [_edge(P[(i + 1) % 6], P[i]) for i in range(6)]
    return {
        EDGES: edges,
        PERSONS: [_person(p, 1 / 6) for p in P],
        GROUPS: [
            _cell("Engineering", "Sales", weight=6.0, pairs=6, n_a=5, n_b=6),
            _cell("Sales", "Engineering", suppression="fewer than k people"),
            _cell("Human Resources", "Engineering", suppression="complementary"),
        ],
        COHESION: [_group("Engineering", n_people=6), _group("Sales", suppression="fewer than k people"),
                   _group("Human Resources", suppression="complementary")],
        COHORTS: [_cohort(1, n_people=5), _cohort(2, suppression="fewer than k people")],
        SUMMARY: [{"week_start": WEEK, "nodes": 6, "edges": 12, "total_weight": 12.0, "density": 0.4,
                   "components": 1, "giant_component_share": 1.0, "reciprocity": 1.0,
                   "average_clustering": 0.0, "communities": 1, "modularity": 0.0, "groups_suppressed": 2,
                   "ties_formed": 3, "ties_lost": 1, "tie_churn": 0.5, "community_stability": 0.8,
                   "graph_engine": "native", "betweenness_error_bound": 0.0}],
    }


def frames_of(spark, rows: dict[str, list[dict]]) -> dict:
    out = {}
    for table in GOLD_TABLES:
        names = table.schema.fieldNames()
        out[table.path] = spark.createDataFrame([tuple(r[n] for n in names) for r in rows[table.path]], table.schema)
    return out


def inputs_for(refs: frozenset[str] = frozenset(), ingests=None, **overrides) -> dict[str, SuiteInputs]:
    ingests = ((("email", NOW - timedelta(days=1)), ("people", NOW - timedelta(days=3)))
               if ingests is None else ingests)
    base = SuiteInputs(trailing_row_counts=(), min_group_size=K,
                       name_refs=refs, name_ref=partial(name_ref, PSEUDO), newest_ingests=ingests,
                       built_at=NOW, **overrides)
    return {t.path: base for t in GOLD_TABLES}


def gate(spark, frames, inputs=None, roster=True):
    roster_df = spark.createDataFrame([(p,) for p in P], "person string") if roster else None
    results = run_week_gates(WEEK, frames, inputs or inputs_for(), roster_df=roster_df)
    assert [r.table for r in results] == [t.path for t in GOLD_TABLES]
    failed = {(r.table, c.check) for r in results for c in r.failed_fail}
    warned = {(r.table, c.check) for r in results for c in r.failed_warn}
    return all(r.success for r in results), failed, warned, results


def assert_blocked_by(spark, frames, table: str, check_prefix: str, inputs=None):
    published, failed, _, _ = gate(spark, frames, inputs)
    assert not published, "the violation did not block the week"
    named = [c for t, c in failed if t == table and c.startswith(check_prefix)]
    assert named, f"{check_prefix!r} not among the failed checks of {table}: {sorted(failed)}"
    return failed


# ------------------------------------------------------------------------ the clean week

def test_clean_week_passes_every_check_without_warnings(spark):
    published, failed, warned, results = gate(spark, frames_of(spark, clean_rows()))
    assert published and not failed and not warned
    checks = {c.check for r in results for c in r.checks}
    # The derived suites ran, not only the table suites.
    assert any(c.startswith("every edge dst has") for c in checks)
    assert any(c.startswith("privacy: no label") for c in checks)
    assert any(c.startswith("privacy: no quasi-identifier column") for c in checks)
    assert any(c.startswith("freshness:") for c in checks)
    assert any(c == "person is on the roster (silver/people)" for c in checks)


# ------------------------------------------------------------------------ planted violations

def _with(rows, table, index, **changes):
    rows[table][index] = {**rows[table][index], **changes}
    return rows


def test_address_in_a_string_column_blocks(spark):
    rows = _with(clean_rows(), GROUPS, 0, group_a="ann@example.org")
    assert_blocked_by(spark, frames_of(spark, rows), GROUPS, "privacy: no address-like value in group_a")


def test_extra_column_blocks(spark):
    frames = frames_of(spark, clean_rows())
    frames[EDGES] = frames[EDGES].withColumn("subject", F.lit("quarterly numbers"))
    assert_blocked_by(spark, frames, EDGES, "privacy: no column outside the contract")


def test_quasi_identifier_column_blocks(spark):
    frames = frames_of(spark, clean_rows())
    frames[PERSONS] = frames[PERSONS].withColumn("department", F.lit("Sales"))
    assert_blocked_by(spark, frames, PERSONS, "privacy: no quasi-identifier column")


@pytest.mark.parametrize("table, column", [(PERSONS, "person"), (EDGES, "src"), (EDGES, "dst")])
def test_non_pseudonym_identifier_blocks(spark, table, column):
    rows = _with(clean_rows(), table, 0, **{column: "ann.smith"})
    assert_blocked_by(spark, frames_of(spark, rows), table, f"privacy: {column} is a person pseudonym")


def test_published_cell_under_k_blocks(spark):
    rows = _with(clean_rows(), GROUPS, 0, n_people_a=4)
    assert_blocked_by(spark, frames_of(spark, rows), GROUPS, "privacy: published cells have >= 5 people on each side")


def test_published_cell_without_its_count_blocks(spark):
    rows = _with(clean_rows(), GROUPS, 0, n_people_b=None)
    assert_blocked_by(spark, frames_of(spark, rows), GROUPS, "published rows carry")


def test_suppressed_cell_with_a_weight_blocks(spark):
    rows = _with(clean_rows(), GROUPS, 1, weight=2.0)
    assert_blocked_by(spark, frames_of(spark, rows), GROUPS, "privacy: suppressed rows publish no value")


def test_suppressed_cell_with_an_unknown_reason_blocks(spark):
    rows = _with(clean_rows(), GROUPS, 1, suppression="too small")
    assert_blocked_by(spark, frames_of(spark, rows), GROUPS, "privacy: suppressed rows give a reason")


def test_network_role_outside_its_vocabulary_blocks(spark):
    """A role column could smuggle a department or a name next to a pseudonym: only the fixed
    vocabulary passes."""
    rows = _with(clean_rows(), PERSONS, 0, network_role="Engineering")
    assert_blocked_by(spark, frames_of(spark, rows), PERSONS, "privacy: network_role is one of")


def test_published_group_cohesion_under_k_blocks(spark):
    rows = _with(clean_rows(), COHESION, 0, n_people=4)
    assert_blocked_by(spark, frames_of(spark, rows), COHESION, "privacy: published rows stand for >= 5 people")


def test_suppressed_cohort_with_a_value_blocks(spark):
    rows = _with(clean_rows(), COHORTS, 1, share_integrated=1.0)
    assert_blocked_by(spark, frames_of(spark, rows), COHORTS, "privacy: suppressed rows publish no value")


def test_ei_index_out_of_range_blocks(spark):
    rows = _with(clean_rows(), COHESION, 0, ei_index=1.5)
    assert_blocked_by(spark, frames_of(spark, rows), COHESION, "ei_index in [-1, 1]")


def test_every_new_metric_range_and_the_engine_name_block(spark):
    """One planted violation per range check of the issue-7 columns, all in one week: each is
    named among the failed checks of its table."""
    rows = _with(clean_rows(), PERSONS, 0, eigenvector=1.5, harmonic=-0.1, betweenness=2.0,
                 after_hours_share=1.2, constraint=-0.5)
    rows = _with(rows, SUMMARY, 0, tie_churn=1.5, community_stability=-0.1, graph_engine="spark")
    rows = _with(rows, COHESION, 0, density=1.2, cross_group_share=1.5)
    rows = _with(rows, COHORTS, 0, share_integrated=1.5)
    published, failed, _, _ = gate(spark, frames_of(spark, rows))
    assert not published
    expected = {
        (PERSONS, "eigenvector in [0, 1]"), (PERSONS, "harmonic in [0, 1]"), (PERSONS, "betweenness in [0, 1]"),
        (PERSONS, "after_hours_share in [0, 1]"), (PERSONS, "constraint is not negative"),
        (SUMMARY, "tie_churn in [0, 1]"), (SUMMARY, "community_stability in [0, 1]"),
        (SUMMARY, "graph_engine is native or graphframes"),
        (COHESION, "density in [0, 1]"), (COHESION, "cross_group_share in [0, 1]"),
        (COHORTS, "share_integrated in [0, 1]"),
    }
    assert expected <= failed, sorted(expected - failed)


def test_directory_name_as_group_label_blocks(spark, tmp_path):
    lake_root = tmp_path / "lake"
    record_name_refs(spark, lake_root, name_refs(PSEUDO, "Ann Smith", "Bob Jones"))
    refs = known_name_refs(spark, lake_root)
    rows = _with(clean_rows(), GROUPS, 0, group_b="ANN  smith")  # case and spacing do not hide it
    assert_blocked_by(spark, frames_of(spark, rows), GROUPS, "privacy: no label (group_kind, group_a, group_b",
                      inputs=inputs_for(refs))
    # The same refs do not block a week whose labels are no names.
    assert gate(spark, frames_of(spark, clean_rows()), inputs_for(refs))[0]


def test_edge_end_without_a_person_row_blocks(spark):
    rows = clean_rows()
    rows[PERSONS] = [r for r in rows[PERSONS] if r["person"] != P[3]]
    for r in rows[PERSONS]:
        r["pagerank"] = 1 / 5
    rows[EDGES] = [e for e in rows[EDGES] if e["src"] != P[3]]  # P[3] is only ever a dst now
    failed = assert_blocked_by(spark, frames_of(spark, rows), EDGES,
                               f"every edge dst has a {PERSON_METRICS_WEEKLY.path} row")
    assert not any(c.startswith("every edge src has") for _, c in failed)


@pytest.mark.parametrize("table", [t.path for t in GOLD_TABLES])
def test_duplicate_key_blocks(spark, table):
    rows = clean_rows()
    rows[table].append(dict(rows[table][0]))
    keys = next(t for t in GOLD_TABLES if t.path == table).keys
    assert_blocked_by(spark, frames_of(spark, rows), table, f"key unique: one row per {', '.join(keys)}")


# ------------------------------------------------------------------------ warn level: published

def test_stale_ingest_warns_but_publishes(spark):
    stale = (("email", NOW - timedelta(days=1)), ("chat", (NOW - timedelta(days=20)).replace(tzinfo=None)))
    published, failed, warned, _ = gate(spark, frames_of(spark, clean_rows()), inputs_for(ingests=stale))
    assert published and not failed
    assert [c for t, c in warned if t == SUMMARY and c.startswith("freshness:")]


def test_name_like_label_warns_but_publishes(spark):
    rows = _with(clean_rows(), GROUPS, 2, group_a="Mary O'Neil")  # a name nobody recorded
    published, failed, warned, _ = gate(spark, frames_of(spark, rows))
    assert published and not failed
    assert [c for t, c in warned if t == GROUPS and "looks like a person's name" in c]


def test_dp_weight_may_be_zero_but_not_negative(spark):
    rows = _with(clean_rows(), GROUPS, 0, weight=0.0, dp_epsilon=0.5)
    assert gate(spark, frames_of(spark, rows))[0]
    for changes in ({"weight": -0.5, "dp_epsilon": 0.5}, {"weight": 0.0}):
        rows = _with(clean_rows(), GROUPS, 0, **changes)
        assert_blocked_by(spark, frames_of(spark, rows), GROUPS, "weight of published cells is positive")


def test_observed_holds_counts_never_values(spark):
    rows = _with(clean_rows(), GROUPS, 0, group_a="ann@example.org", group_b="Ann Smith")
    _, _, _, results = gate(spark, frames_of(spark, rows), inputs_for(name_refs(PSEUDO, "Ann Smith")))
    observed = " ".join(c.observed for r in results for c in r.checks)
    assert "ann" not in observed.lower() and "smith" not in observed.lower()
    # A failed check says how much failed (its suite validated again with counts); the checks
    # of a suite without a failure (the edges table's own) say that they passed.
    assert "1 unexpected of 3" in [c.observed for r in results for c in r.failed_fail]
    assert {c.observed for r in results if r.table == EDGES for c in r.checks
            if c.check.startswith("privacy: src is")} == {"passed"}


# ------------------------------------------------------------------------ a week's aggregates

def test_pagerank_that_does_not_sum_to_one_blocks(spark):
    rows = clean_rows()
    for r in rows[PERSONS]:
        r["pagerank"] = 0.1  # six people: 0.6
    assert_blocked_by(spark, frames_of(spark, rows), PERSONS, "pagerank sums to 1")


def test_a_week_without_its_summary_row_blocks(spark):
    rows = clean_rows()
    rows[SUMMARY] = []
    assert_blocked_by(spark, frames_of(spark, rows), SUMMARY, "one row per week")


def test_a_week_without_edges_warns_and_sums_no_pagerank(spark):
    rows = clean_rows()
    rows[EDGES] = []
    for r in rows[PERSONS]:
        r["pagerank"] = None  # nobody has a tie: no PageRank
    published, failed, warned, _ = gate(spark, frames_of(spark, rows))
    assert published and not failed
    assert (EDGES, "the week has edges") in warned


VOLUME = "volume within 0.5x-2x of the trailing average of the 4 published weeks before"


def test_volume_against_the_trailing_average_warns_but_publishes(spark):
    frames = frames_of(spark, clean_rows())  # 12 edges, 6 person rows
    inputs = inputs_for()
    inputs[EDGES] = replace(inputs[EDGES], trailing_row_counts=(30, 32))  # 12 < half of 31
    inputs[PERSONS] = replace(inputs[PERSONS], trailing_row_counts=(5, 7))  # 6: within
    published, failed, warned, _ = gate(spark, frames, inputs)
    assert published and not failed
    assert (EDGES, VOLUME) in warned and (PERSONS, VOLUME) not in warned
    inputs[EDGES] = replace(inputs[EDGES], trailing_row_counts=(20, 24))  # half of 22 is 11: within
    assert not gate(spark, frames, inputs)[2]


# ------------------------------------------------------------------------ several weeks, one run

WEEK2 = WEEK + timedelta(weeks=1)


def gate_two_weeks(spark, change_second=None) -> dict:
    """Two clean weeks gated in one run_gates call, the second changed by ``change_second(rows)``:
    the results of each week."""
    first, second = clean_rows(), clean_rows()
    for table_rows in second.values():
        for r in table_rows:
            r["week_start"] = WEEK2
    if change_second:
        change_second(second)
    frames = frames_of(spark, {t: first[t] + second[t] for t in first})
    roster_df = spark.createDataFrame([(p,) for p in P], "person string")
    results = run_gates(frames, {WEEK: inputs_for(), WEEK2: inputs_for()}, roster_df)
    assert [(r.week_start, r.table) for r in results] == [(w, t.path) for w in (WEEK, WEEK2) for t in GOLD_TABLES]
    return {w: [r for r in results if r.week_start == w] for w in (WEEK, WEEK2)}


def _checks(results) -> list:
    return [(r.table, sorted(c.check for c in r.checks)) for r in results]


def test_weeks_checked_together_get_every_check_of_a_single_week(spark):
    by_week = gate_two_weeks(spark)
    single = gate(spark, frames_of(spark, clean_rows()))[3]
    for results in by_week.values():
        assert all(r.success and not r.failed_warn for r in results)
        assert _checks(results) == _checks(single)
        # The derived checks reach the gate of their own table in every week (written out).
        named = {(r.table, c.check) for r in results for c in r.checks}
        assert {
            (EDGES, f"every edge dst has a {PERSON_METRICS_WEEKLY.path} row in the week"),
            (EDGES, "the week has edges"), (EDGES, VOLUME), (PERSONS, VOLUME), (PERSONS, "pagerank sums to 1"),
            (PERSONS, "person is on the roster (silver/people)"),
            (GROUPS, "privacy: published cells have >= 5 people on each side (n_people_a, n_people_b)"),
            (COHESION, "privacy: published rows stand for >= 5 people (n_people)"),
            (COHORTS, "privacy: suppressed rows publish no value (n_people, median_degree, "
                      "median_cross_group_ties, share_integrated)"),
            (SUMMARY, "one row per week"),
            (SUMMARY, "freshness: the newest ingest of every source is at most 8 days old at build time"),
        } <= named
    assert {c.observed for r in by_week[WEEK] for c in r.checks} == {"passed (2 weeks checked together)"}


def test_a_violation_blocks_only_its_own_week(spark):
    by_week = gate_two_weeks(spark, lambda rows: _with(rows, GROUPS, 0, group_a="ann@example.org"))
    assert all(r.success and not r.failed_warn for r in by_week[WEEK])
    failed = [c for r in by_week[WEEK2] for c in r.failed_fail]
    assert [(c.check, c.observed) for c in failed] == [("privacy: no address-like value in group_a", "1 unexpected of 3")]


def test_an_edge_end_is_looked_up_in_its_own_week(spark):
    """P[3] has a person row in the first week only: the second week's edges to P[3] block it."""
    def drop_p3(rows):
        rows[PERSONS] = [r for r in rows[PERSONS] if r["person"] != P[3]]
        for r in rows[PERSONS]:
            r["pagerank"] = 1 / 5
        rows[EDGES] = [e for e in rows[EDGES] if e["src"] != P[3]]

    by_week = gate_two_weeks(spark, drop_p3)
    assert all(r.success for r in by_week[WEEK])
    failed = {(r.table, c.check) for r in by_week[WEEK2] for c in r.failed_fail}
    assert (EDGES, f"every edge dst has a {PERSON_METRICS_WEEKLY.path} row in the week") in failed


def test_a_missing_summary_row_blocks_only_its_own_week(spark):
    by_week = gate_two_weeks(spark, lambda rows: rows.update({SUMMARY: []}))
    assert all(r.success for r in by_week[WEEK])
    assert (SUMMARY, "one row per week") in {(r.table, c.check) for r in by_week[WEEK2] for c in r.failed_fail}


# ------------------------------------------------------------------------ the pieces

def test_stacked_derived_suites_keep_each_flag_to_its_own_rows(spark):
    """merged(): a row of one suite holds the other suites' flags at their wanted value, and a
    null flag never holds (it would slip through ExpectColumnValuesToBeInSet)."""
    from jobs.quality.checks import DerivedSuite, Flag
    from jobs.quality.suites import merged
    from schemas.gold import EDGES_WEEKLY, NETWORK_SUMMARY_WEEKLY

    a = DerivedSuite(EDGES_WEEKLY, "a", spark.createDataFrame([(WEEK, True), (WEEK, None)], "week_start date, ok boolean"),
                     [Flag("ok", "fail", "a holds")])
    b = DerivedSuite(NETWORK_SUMMARY_WEEKLY, "b", spark.createDataFrame([(WEEK2, False)], "week_start date, bad boolean"),
                     [Flag("bad", "warn", "b holds", want=False, table=PERSON_METRICS_WEEKLY)])
    frame, expectations = merged([a, b])
    assert sorted(tuple(r) for r in frame.collect()) == [(WEEK, False, False), (WEEK, True, False),
                                                          (WEEK2, True, False)]
    assert [(e.column, e.value_set, e.meta["table"]) for e in expectations] == [
        ("a_0__ok", [True], EDGES), ("b_1__bad", [False], PERSONS)]


def test_name_refs_without_the_hash_are_refused():
    with pytest.raises(ValueError):
        SuiteInputs(trailing_row_counts=(), min_group_size=K, name_refs=frozenset({"x"}))


def test_quasi_identifier_names():
    for column in ("department", "Department", "hireDate", "time-zone", "Time Zone", "manager_email", "email"):
        assert quasi_identifier(column), column
    for column in ("email_weight", "n_email", "group_a", "weight", "person", "week_start", "suppression"):
        assert not quasi_identifier(column), column


def test_no_bi_zone_contract_has_a_quasi_identifier_column():
    for table in all_tables():
        if table.zone in BI_ZONES:
            assert not [c for c in table.schema.fieldNames() if quasi_identifier(c)], table.path
    assert {"department", "team", "manager", "location", "hire_date", "timezone", "time_zone", "title", "name",
            "email"} <= QUASI_IDENTIFIER_COLUMNS


def test_suppression_reasons_are_those_of_the_transform():
    from jobs.transforms import gold

    assert set(SUPPRESSION_REASONS) == {gold.SUPPRESSED_UNDER_K, gold.SUPPRESSED_COMPLEMENTARY}


@pytest.mark.parametrize("label", ["Human Resources", "Research & Development", "Customer Success", "Sales",
                                   "IT Operations", "Finance EMEA", "(unassigned)", "Platform Team",
                                   "North America Sales", "fewer than k people", "department"])
def test_name_heuristic_spares_department_names(label):
    assert not looks_like_name(label)


@pytest.mark.parametrize("label", ["Ann Smith", "Jean-Luc Picard", "Mary O'Neil", "Ana María López"])
def test_name_heuristic_flags_names(label):
    assert looks_like_name(label)


def test_name_ref_normalisation():
    assert normalise_name("  Ann\u00a0\tSMITH \n") == "ann smith"
    assert normalise_name("\uff21\uff4e\uff4e Smith") == "ann smith"  # full-width letters (NFKC)
    assert normalise_name("Jörg Straße") == "jörg strasse"  # case folding, not lower()
    assert normalise_name("   ") is None and normalise_name(None) is None
    ref = name_ref(PSEUDO, "Ann Smith")
    assert ref == name_ref(PSEUDO, "ann   SMITH") == PSEUDO.ref("name", "ann smith")
    assert ref != name_ref(Pseudonymiser(key=b"another key"), "Ann Smith")  # keyed
    assert ref != name_ref(PSEUDO, "Ann Smyth")
    assert name_refs(PSEUDO, "Ann Smith", "Ann", None, "") == {ref}  # one word is not recorded


def test_name_refs_round_trip_keeps_first_seen(spark, tmp_path):
    lake_root = tmp_path / "lake"
    assert known_name_refs(spark, lake_root) == frozenset()
    first = name_refs(PSEUDO, "Ann Smith")
    record_name_refs(spark, lake_root, first)
    seen = spark.read.format("delta").load(str(lake_root / NAME_REFS.path)).collect()[0]["first_seen"]
    record_name_refs(spark, lake_root, first | name_refs(PSEUDO, "Bob Jones"))
    table = spark.read.format("delta").load(str(lake_root / NAME_REFS.path))
    assert table.count() == 2
    assert table.where(F.col("ref") == next(iter(first))).collect()[0]["first_seen"] == seen
    assert known_name_refs(spark, lake_root) == frozenset(first | name_refs(PSEUDO, "Bob Jones"))


def test_slack_export_yields_name_refs_not_names(tmp_path):
    root = tmp_path / "chat" / "export"
    (root / "general").mkdir(parents=True)
    users = [
        {"id": "U1", "name": "ann", "real_name": "Ann Example",
         "profile": {"email": "ann@example.org", "real_name": "Ann Example", "display_name": "Annie Ex"}},
        {"id": "U2", "name": "bob", "profile": {"email": "bob@example.org", "real_name": "Bob"}},
        {"id": "B1", "name": "deploybot", "is_bot": True, "real_name": "Deploy Robot", "profile": {}},
    ]
    (root / "users.json").write_text(json.dumps(users))
    (root / "channels.json").write_text(json.dumps([{"id": "C1", "name": "general", "members": ["U1", "U2"]}]))
    (root / "general" / "2024-03-04.json").write_text(
        json.dumps([{"type": "message", "user": "U1", "ts": "1709546400.000100", "text": "hi <@U2>"}]))
    outcome = parse_slack(tmp_path / "chat", PSEUDO)
    assert len(outcome.rows) == 1
    assert name_ref(PSEUDO, "Ann Example") in outcome.name_refs
    assert name_ref(PSEUDO, "Annie Ex") in outcome.name_refs
    assert name_ref(PSEUDO, "Deploy Robot") not in outcome.name_refs  # bots are not people
    assert outcome.name_refs == {name_ref(PSEUDO, "Ann Example"), name_ref(PSEUDO, "Annie Ex")}
    assert "Ann" not in repr(outcome.rows) + repr(outcome.name_refs)


def test_roster_name_columns_yield_refs_only(tmp_path):
    (tmp_path / "hr").mkdir()
    (tmp_path / "hr" / "roster.csv").write_text(
        "email,Full Name,First Name,Last Name,department,team,manager_email,location,hire_date,timezone\n"
        "ann@example.org,Ann Smith,Ann,Smith,Sales,,,,,\n"
        "not-an-address,Bob Jones,,,Sales,,,,,\n", encoding="utf-8")
    outcome = parse_people(tmp_path, PSEUDO)
    assert len(outcome.rows) == 1 and len(outcome.rejections) == 1
    assert outcome.name_refs == {name_ref(PSEUDO, "Ann Smith"), name_ref(PSEUDO, "Bob Jones")}
    assert "Smith" not in repr(outcome.rows)


def test_slack_api_pull_yields_name_refs_not_names():
    import tests.emulator.slack  # noqa: F401 - registers the "slack" handler
    from jobs.pull.base import PullContext
    from jobs.pull.http import ApiClient
    from jobs.pull.slack import pull_chat
    from tests.emulator.org import W14, W15, make_org
    from tests.emulator.server import TOKEN, Emulator

    org = make_org()
    with Emulator(org, page_size=2) as emu:
        client = ApiClient("slack", emu.base("slack"), token=TOKEN, sleep=lambda s: None)
        outcome = pull_chat(PullContext(client=client, pseudo=PSEUDO, window=(W14, W15 + timedelta(weeks=1))))
    assert {name_ref(PSEUDO, p.name) for p in org.people} <= outcome.name_refs
    assert name_ref(PSEUDO, "Slackbot") not in outcome.name_refs
    assert not [p.name for p in org.people if p.name.lower() in repr(outcome.name_refs).lower()]

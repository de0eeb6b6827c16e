"""Two zones: nothing a BI reader can see lets them rebuild a cell the k rule hides."""

from __future__ import annotations

from datetime import date

import pytest
from pyspark.sql.types import StringType

from jobs.config import PrivacyRules
from jobs.transforms import gold
from schemas.gold import PERSON_METRICS_WEEKLY
from schemas import silver as silver_schemas
from schemas.catalog import BI_ZONES, all_tables

W = date(2026, 3, 9)
QUASI_IDENTIFIERS = {"department", "team", "manager", "location", "hire_date", "timezone", "time_zone",
                     "group", "group_a", "group_b"}


def bi_tables():
    return [t for t in all_tables() if t.zone in BI_ZONES]


def test_no_bi_table_puts_anything_but_pseudonyms_next_to_a_person():
    """A person-level BI table whose only strings are pseudonym columns, or labels from a fixed
    vocabulary computed from the network (network_role), cannot carry a label (department,
    team, ...) to join people to their groups."""
    person_tables = [t for t in bi_tables() if t.person_columns]
    assert {t.path for t in person_tables} == {"gold/edges_weekly", "gold/person_metrics_weekly"}
    for table in person_tables:
        strings = {f.name for f in table.schema.fields if isinstance(f.dataType, StringType)}
        closed = {c for c, _ in table.closed_labels}
        assert strings == {c for c, _ in table.person_columns} | closed, table.path
    roles = dict(PERSON_METRICS_WEEKLY.closed_labels)["network_role"]
    assert set(roles) == {"overloaded", "broker", "connector", "peripheral", "isolated", "member"}
    for table in bi_tables():
        if table.path not in ("gold/group_metrics_weekly", "gold/group_cohesion_weekly"):  # labels of >= k people
            assert not QUASI_IDENTIFIERS & set(table.schema.fieldNames()), table.path


def test_the_week_total_does_not_give_a_hidden_cell_back(spark):
    # Eng and Sales: 6 people each, rings of ties, and one Eng person writing to one Sales person.
    people = [(f"p_e{i}", "Eng") for i in range(6)] + [(f"p_s{i}", "Sales") for i in range(6)]
    people_df = spark.createDataFrame([(p, d, None, None, None, None, None) for p, d in people],
                                      silver_schemas.PEOPLE)
    edges = ([(W, f"p_e{i}", f"p_e{(i + 1) % 6}", 1.0) for i in range(6)]
             + [(W, f"p_s{i}", f"p_s{(i + 1) % 6}", 2.0) for i in range(6)]
             + [(W, "p_e0", "p_s0", 0.7)])
    edges_df = spark.createDataFrame(edges, "week_start date, src string, dst string, weight double")
    cells = [r for r in gold.group_metrics_weekly(edges_df, people_df, PrivacyRules()).collect()
             if r["group_kind"] == "department"]

    # What a BI reader computes: the week's total (edges_weekly or network_summary_weekly)
    # minus every published cell.
    total = sum(w for *_, w in edges)
    remainder = total - sum(r["weight"] for r in cells if not r["is_suppressed"])
    hidden_tie = 0.7  # the one-pair cell, by hand
    assert remainder != pytest.approx(hidden_tie)
    assert remainder == pytest.approx(6.0 + 0.7)  # Eng->Eng hidden with it (complementary)
    # The remainder is spread over two hidden cells: senders e0..e5, receivers e0..e5 and s0.
    assert sorted((r["group_a"], r["group_b"]) for r in cells if r["is_suppressed"]) == [
        ("Eng", "Eng"), ("Eng", "Sales")]
    # Nothing else of the cell is published either.
    one_pair = [r for r in cells if (r["group_a"], r["group_b"]) == ("Eng", "Sales")][0]
    assert (one_pair["weight"], one_pair["n_people_pairs"], one_pair["n_people_a"], one_pair["n_people_b"]) == (
        None, None, None, None)

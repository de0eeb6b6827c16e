"""Group cohesion, cross-group ties and onboarding cohorts on planted inputs; every expected
value is derived by hand in the comments (k = 5)."""

from __future__ import annotations

from datetime import date

import pytest

from jobs.config import PrivacyRules
from jobs.transforms import cohesion
from schemas import silver as silver_schemas

W0 = date(2024, 2, 26)  # has an edge but is not built
W1 = date(2024, 3, 4)  # Sunday 10 March
W2 = date(2024, 3, 11)  # Sunday 17 March
EDGE_SCHEMA = "week_start date, src string, dst string, weight double"
UNDER_K = "fewer than k people"
COMPLEMENTARY = "complementary"


def _people_df(spark, rows):
    """rows: (person, department, team, hire_date)."""
    return spark.createDataFrame(
        [(p, dept, team, None, None, hired, None) for p, dept, team, hired in rows], silver_schemas.PEOPLE
    )


def _rounded(row: dict) -> tuple:
    return tuple(round(v, 6) if isinstance(v, float) else v for v in row)


# group_cohesion_weekly ------------------------------------------------------------------

COHESION_PEOPLE = (
    [(f"p_e{i}", "Eng", "Platform", None) for i in range(3)]
    + [(f"p_e{i}", "Eng", "Data", None) for i in range(3, 7)]  # p_e6: on the roster, no tie
    + [("p_e7", "Eng", "Data", date(2024, 3, 11))]  # hired on W2's Monday: roster of W2 only
    + [(f"p_s{i}", "Sales", "Field", None) for i in range(7)]
    + [("p_s7", "Sales", None, None)]  # no team, no tie
    + [("p_s8", "Sales", "Field", date(2024, 3, 12))]  # roster of W2 only
    + [(f"p_h{i}", "HR", None, None) for i in range(3)]
    # p_zz and p_yy have ties but are not on the roster: (unassigned) for both kinds
)


def _cohesion_edges():
    def ring(prefix, n, week, weight):
        return [(week, f"p_{prefix}{i}", f"p_{prefix}{(i + 1) % n}", weight) for i in range(n)]

    return (
        [(W0, "p_e0", "p_e1", 1.0)]
        # W1: Eng ring e0..e5 (6 x 1.0), Sales ring s0..s6 (7 x 2.0)
        + ring("e", 6, W1, 1.0) + ring("s", 7, W1, 2.0)
        + [(W1, "p_e0", "p_s0", 1.0), (W1, "p_s1", "p_e1", 1.0),
           (W1, "p_h0", "p_h1", 0.5), (W1, "p_h0", "p_e0", 0.5), (W1, "p_zz", "p_s0", 0.25)]
        # W2: the same rings, HR h0 -> h1 -> h2 -> e3, two unassigned people
        + ring("e", 6, W2, 1.0) + ring("s", 7, W2, 2.0)
        + [(W2, "p_e0", "p_s0", 1.0), (W2, "p_s1", "p_e1", 1.0),
           (W2, "p_h0", "p_h1", 0.5), (W2, "p_h1", "p_h2", 0.5), (W2, "p_h2", "p_e3", 0.5),
           (W2, "p_zz", "p_s0", 0.25), (W2, "p_yy", "p_zz", 0.25)]
    )


@pytest.fixture(scope="module")
def cohesion_rows(spark):
    result = cohesion.group_cohesion_weekly(
        spark.createDataFrame(_cohesion_edges(), EDGE_SCHEMA),
        _people_df(spark, COHESION_PEOPLE),
        [W1, W2],
        PrivacyRules(),
    )
    assert result.columns == [
        "week_start", "group_kind", "group_name", "n_people", "internal_ties", "external_ties",
        "internal_weight", "external_weight", "ei_index", "density", "cross_group_share",
        "is_suppressed", "suppression",
    ]
    rows = result.collect()
    got = {(r["week_start"], r["group_kind"], r["group_name"]): _rounded(list(r)[3:]) for r in rows}
    assert len(got) == len(rows)
    return got


def _hidden(reason):
    return (None,) * 8 + (True, reason)


def _published(n, it, et, iw, ew, ei, density, cross):
    return _rounded([n, it, et, iw, ew, ei, density, cross, False, None])


# Sales in both weeks: 7 active (s0..s6); internal = the ring, 7 ties of 2.0 = 14.0;
# external = e0->s0 (1.0), s1->e1 (1.0), zz->s0 (0.25): 3 ties, 2.25;
# E-I = (2.25 - 14) / 16.25 = -0.723077; cross share = 3 / 10.
SALES_EI = (2.25 - 14.0) / 16.25


def test_department_cohesion_with_complementary_suppression(cohesion_rows):
    got = {key: value for key, value in cohesion_rows.items() if key[1] == "department"}
    assert got == {
        # W1: HR has 2 active people (h0, h1), (unassigned) 1 (zz): suppressed, 3 people
        # together < k, so the smallest published group (Eng 6 < Sales 7) is hidden too.
        (W1, "department", "Eng"): _hidden(COMPLEMENTARY),
        # Sales roster of W1: s0..s7 = 8 (s8 hired after W1's Sunday): density 7 / (8 * 7)
        (W1, "department", "Sales"): _published(7, 7, 3, 14.0, 2.25, SALES_EI, 7 / 56, 0.3),
        (W1, "department", "HR"): _hidden(UNDER_K),
        (W1, "department", "(unassigned)"): _hidden(UNDER_K),
        # W2: HR 3 (h0, h1, h2) + (unassigned) 2 (zz, yy) = 5 >= k: no complementary.
        # Eng: 6 active; ring 6 x 1.0 inside; e0->s0, s1->e1, h2->e3: 3 ties, 2.5 outside;
        # E-I (2.5 - 6) / 8.5; roster e0..e7 = 8 (e6 without ties, e7 hired W2's Monday):
        # density 6 / 56; cross share 3 / 9.
        (W2, "department", "Eng"): _published(6, 6, 3, 6.0, 2.5, -3.5 / 8.5, 6 / 56, 3 / 9),
        # Sales roster of W2: s0..s8 = 9: density 7 / 72.
        (W2, "department", "Sales"): _published(7, 7, 3, 14.0, 2.25, SALES_EI, 7 / 72, 0.3),
        (W2, "department", "HR"): _hidden(UNDER_K),
        (W2, "department", "(unassigned)"): _hidden(UNDER_K),
    }


def test_team_cohesion(cohesion_rows):
    got = {key: value for key, value in cohesion_rows.items() if key[1] == "team"}
    assert got == {
        # Platform (e0..e2) and Data (e3..e5 active) have 3 each; the (unassigned) team in W1 is
        # h0, h1, zz = 3: suppressed people 9 >= k, no complementary.
        (W1, "team", "Platform"): _hidden(UNDER_K),
        (W1, "team", "Data"): _hidden(UNDER_K),
        (W1, "team", "(unassigned)"): _hidden(UNDER_K),
        # Field = Sales without s7: same ties as Sales; roster of W1 s0..s6 = 7: 7 / 42.
        (W1, "team", "Field"): _published(7, 7, 3, 14.0, 2.25, SALES_EI, 7 / 42, 0.3),
        (W2, "team", "Platform"): _hidden(UNDER_K),
        (W2, "team", "Data"): _hidden(UNDER_K),
        # W2 roster of Field: s0..s6 and s8 = 8: 7 / 56.
        (W2, "team", "Field"): _published(7, 7, 3, 14.0, 2.25, SALES_EI, 7 / 56, 0.3),
        # W2 (unassigned) team: h0, h1, h2, zz, yy active = 5 = k, published.
        # inside: h0->h1 0.5, h1->h2 0.5, yy->zz 0.25 (3 ties, 1.25); outside: h2->e3 0.5,
        # zz->s0 0.25 (2 ties, 0.75). E-I (0.75 - 1.25) / 2.0 = -0.25. Members: roster with no
        # team (s7, h0, h1, h2) plus the off-roster zz, yy = 6: density 3 / 30. Cross 2 / 5.
        (W2, "team", "(unassigned)"): _published(5, 3, 2, 1.25, 0.75, -0.25, 0.1, 0.4),
    }


# person_cross_group_ties ----------------------------------------------------------------


def test_person_cross_group_ties(spark):
    people_df = _people_df(spark, [
        ("p_a", "Eng", None, None), ("p_c", "Eng", None, None), ("p_b", "Sales", None, None),
        ("p_u", None, None, None),  # no department: (unassigned); p_zz is not on the roster
    ])
    edges = [
        (W1, "p_a", "p_b", 1.0), (W1, "p_b", "p_a", 1.0),  # one neighbour, both directions
        (W1, "p_a", "p_c", 1.0), (W1, "p_u", "p_a", 1.0), (W1, "p_zz", "p_u", 1.0),
        (W2, "p_c", "p_b", 1.0),
    ]
    result = cohesion.person_cross_group_ties(spark.createDataFrame(edges, EDGE_SCHEMA), people_df)
    got = {(r["week_start"], r["person"]): r["cross_group_ties"] for r in result.collect()}
    assert got == {
        (W1, "p_a"): 2,  # b (Sales), u (unassigned); c is Eng
        (W1, "p_b"): 1,  # a
        (W1, "p_c"): 0,  # a only, same department
        (W1, "p_u"): 1,  # a; zz is unassigned like u
        (W1, "p_zz"): 0,
        (W2, "p_c"): 1,
        (W2, "p_b"): 1,
    }


# onboarding_cohorts ---------------------------------------------------------------------

A1 = date(2024, 3, 4)
A2 = date(2024, 2, 5)
A3 = date(2024, 1, 29)
PW_SCHEMA = "week_start date, person string, degree long, cross_group_ties long, constraint double, pagerank double"


def test_onboarding_cohorts(spark):
    people_df = _people_df(spark, [
        *[(f"p_v{i}", "Eng", None, date(2020, 1, 6)) for i in range(5)],  # veterans
        # January 2024 cohort, k = 5 people. Week 0 = the Monday of the hire date:
        ("p_j0", "Eng", None, date(2024, 1, 1)),  # Mon -> week 0 Jan 1, w1 Jan 8, w4 Jan 29
        ("p_j1", "Eng", None, date(2024, 1, 3)),  # Wed -> Jan 1, w1 Jan 8, w4 Jan 29
        ("p_j2", "Eng", None, date(2024, 1, 7)),  # Sun -> Jan 1, w1 Jan 8, w4 Jan 29
        ("p_j3", "Eng", None, date(2024, 1, 8)),  # Mon -> Jan 8, w1 Jan 15, w4 Feb 5
        ("p_j4", "Eng", None, date(2024, 1, 14)),  # Sun -> Jan 8, w1 Jan 15, w4 Feb 5
        # February 2024 cohort, k - 1 = 4 people
        ("p_f0", "Eng", None, date(2024, 2, 1)),  # Thu -> Jan 29, w1 Feb 5
        ("p_f1", "Eng", None, date(2024, 2, 5)),  # Mon -> Feb 5, w1 Feb 12
        ("p_f2", "Eng", None, date(2024, 2, 14)),  # Wed -> Feb 12, w1 Feb 19
        ("p_f3", "Eng", None, date(2024, 2, 29)),  # Thu -> Feb 26, w1 Mar 4
        ("p_o1", "Eng", None, date(2023, 3, 31)),  # March 2023 cohort, no metrics rows
        ("p_o2", "Eng", None, date(2023, 4, 3)),  # April 2023 cohort, no metrics rows
        ("p_n", "Eng", None, None),  # no hire date: in no cohort
    ])
    veterans = lambda week: [  # noqa: E731
        (week, f"p_v{i}", 2 * (i + 1), i, 0.5, 0.1) for i in range(5)  # degree 2..10, cross 0..4
    ]
    rows = (
        # Jan 8: org degrees 2,4,6,8,10 + 1,6,0 -> 0,1,2,4,6,6,8,10: median 5;
        # cross 0,1,2,3,4 + 0,2,0 (j2's null counts 0) -> 0,0,0,1,2,2,3,4: median 1.5.
        veterans(date(2024, 1, 8))
        + [(date(2024, 1, 8), "p_j0", 1, 0, 1.0, 0.1),  # 1 < 5: not integrated
           (date(2024, 1, 8), "p_j1", 6, 2, 0.4, 0.1),  # 6 >= 5 and 2 >= 1.5: integrated
           (date(2024, 1, 8), "p_j2", 0, None, None, None)]  # present with no tie
        # Jan 15: degrees 2,4,6,8,10 + 8,3 -> median 6; cross 0,1,2,3,4 + 3,1 -> median 2.
        + veterans(date(2024, 1, 15))
        + [(date(2024, 1, 15), "p_j3", 8, 3, 0.3, 0.1),  # integrated
           (date(2024, 1, 15), "p_j4", 3, 1, 0.6, 0.1),  # 3 < 6: not integrated
           (date(2024, 1, 15), "p_j0", 9, 9, 0.1, 0.1)]  # j0's week 2: not a milestone here
        # Week 4: j0..j2 on Jan 29, j3 on Feb 5; j4 has no row on Feb 5 -> 4 people, under k.
        + [(date(2024, 1, 29), f"p_j{i}", 5, 1, 0.5, 0.1) for i in range(3)]
        + [(date(2024, 2, 5), "p_j3", 5, 1, 0.5, 0.1)]
        # February cohort week 1: all 4 present (f0 Feb 5, f1 Feb 12, f2 Feb 19, f3 Mar 4).
        + [(date(2024, 2, 5), "p_f0", 4, 1, 0.5, 0.1), (date(2024, 2, 12), "p_f1", 4, 1, 0.5, 0.1),
           (date(2024, 2, 19), "p_f2", 4, 1, 0.5, 0.1), (date(2024, 3, 4), "p_f3", 4, 1, 0.5, 0.1)]
    )
    result = cohesion.onboarding_cohorts(
        spark.createDataFrame(rows, PW_SCHEMA), people_df, [A1, A2, A3], PrivacyRules(), milestones=(1, 4)
    )
    assert result.columns == [
        "week_start", "cohort_month", "weeks_since_hire", "n_people", "median_degree",
        "median_cross_group_ties", "median_constraint", "share_integrated", "is_suppressed", "suppression",
    ]
    got = {(r["week_start"], r["cohort_month"], r["weeks_since_hire"]): _rounded(list(r)[3:])
           for r in result.collect()}

    hidden = (None, None, None, None, None, True, UNDER_K)
    # January cohort, week 1: degrees 1, 6, 0, 8, 3 -> median 3; cross 0, 2, 0, 3, 1 -> 1;
    # constraint 1.0, 0.4, 0.3, 0.6 (j2 has none) -> (0.4 + 0.6) / 2 = 0.5; integrated j1, j3: 2 / 5.
    january_w1 = (5, 3.0, 1.0, 0.5, 0.4, False, None)
    apr23, mar23 = date(2023, 4, 1), date(2023, 3, 1)
    jan24, feb24 = date(2024, 1, 1), date(2024, 2, 1)
    # A milestone is reported once the whole cohort reached it: January's last possible week 0
    # is Jan 29 (Jan 31 is a Wednesday), so w1 from Feb 5 and w4 from Feb 26; February's is
    # Feb 26 (Feb 29, Thursday), so w1 from Mar 4. April 2023: Apr 30 is a Sunday -> Apr 24.
    # The window is the as-of month and the 11 before: A1 (March 2024) from April 2023,
    # A2 and A3 from March and February 2023.
    assert got == {
        (A1, apr23, 1): hidden, (A1, apr23, 4): hidden,  # nobody with a row: n = 0
        (A1, jan24, 1): january_w1,
        (A1, jan24, 4): hidden,  # 4 people (j4 absent that week)
        (A1, feb24, 1): hidden,  # 4 people
        (A2, mar23, 1): hidden, (A2, mar23, 4): hidden, (A2, apr23, 1): hidden, (A2, apr23, 4): hidden,
        (A2, jan24, 1): january_w1,  # same members, same values as at A1
        # A3 = Jan 29: j0..j2 passed week 1 (Jan 8), but the January cohort as a whole only
        # on Feb 5: no January row yet.
        (A3, mar23, 1): hidden, (A3, mar23, 4): hidden, (A3, apr23, 1): hidden, (A3, apr23, 4): hidden,
    }

"""One expectation suite per gold table, privacy expectations included (docs/quality.md), and
the derived suites that need more than one table, a keyed hash or the lake's ingests.

`fail` checks block the publish of the week; `warn` checks are reported and published.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timezone
from functools import reduce

import great_expectations.expectations as gxe
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, DateType, LongType, StructField, StructType

from jobs.frames import frame_from_rows
from jobs.privacy.pseudonym import PERSON_PREFIX
from jobs.quality.checks import DerivedSuite, Flag, SuiteInputs
from schemas import Table
from schemas.gold import (
    EDGES_WEEKLY,
    GOLD_TABLES,
    GROUP_COHESION_WEEKLY,
    GROUP_METRICS_WEEKLY,
    NETWORK_SUMMARY_WEEKLY,
    ONBOARDING_COHORTS_WEEKLY,
    PERSON_METRICS_WEEKLY,
)

PERSON_PATTERN = rf"^{PERSON_PREFIX}[0-9a-f]{{16}}$"
ADDRESS_LIKE = r"[^\s@]+@[^\s@]+"

# Columns that describe a person rather than the network: next to a pseudonym (or a small
# group cell) they let a reader single people out, so no BI-zone table may have one, whatever
# its contract says. Matched on the column name lower-cased with separators and camelCase
# folded to "_" (quasi_identifier()); "email_weight" and "n_email" stay allowed: only whole
# names match.
QUASI_IDENTIFIER_COLUMNS = frozenset({
    # organisation
    "department", "dept", "division", "team", "unit", "org_unit", "cost_center", "cost_centre",
    "manager", "manager_email", "manager_id", "manager_name", "reports_to", "supervisor",
    "title", "job_title", "position", "role", "grade", "job_level", "employee_id", "employee_number",
    # place and time
    "location", "office", "office_location", "site", "building", "city", "country", "address",
    "postcode", "postal_code", "zip", "zip_code", "timezone", "time_zone", "tz",
    "hire_date", "start_date", "tenure", "termination_date",
    # identity
    "name", "first_name", "last_name", "full_name", "display_name", "real_name", "given_name",
    "family_name", "surname", "preferred_name", "username", "user_name", "login",
    "email", "email_address", "mail", "phone", "mobile", "phone_number",
    "birth_date", "date_of_birth", "dob", "age", "gender", "sex", "nationality",
})

# The reasons a group cell may be suppressed for (schemas/gold.py): written out here, not
# imported from the transform, so that a transform writing another reason is caught.
SUPPRESSION_REASONS = ("fewer than k people", "complementary")

# Words of organisational labels. A label made of two or three capitalised words none of which
# is here looks like a person's name ("Ann Smith") rather than a unit ("Human Resources").
ORGANISATION_WORDS = frozenset("""
    account accounts accounting admin administration advisory affairs analytics apps architecture
    assurance audit back board brand business care center centre client cloud commercial
    communications community compliance content controlling corporate creative customer customers
    data delivery design desk development devops digital direct distribution east editorial
    education engineering enterprise events executive experience facilities field finance
    financial fleet front global governance government group growth health help helpdesk hr human
    infrastructure innovation insights institutional insurance integration intelligence internal
    international investment investor investors it lab labs learning legal logistics management
    manufacturing marketing media mobile network north office operations ops partner partners
    partnerships payments people performance planning platform platforms policy portfolio press
    pricing privacy procurement product products production program programme project projects
    public purchasing quality real regional relations research resources retail revenue risk
    safety sales science security service services shared site software solutions south
    strategy studio success supply support systems talent tax team teams technical technology
    testing trading training transformation treasury trust unassigned user users ventures
    web west wholesale workplace
""".split())
_NAME_JOINERS = re.compile(r"['\u2019-]")


def _severity(level: str) -> str:
    return {"fail": "critical", "warn": "warning"}[level]


def quasi_identifier(column: str) -> bool:
    folded = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", column)
    return re.sub(r"[^a-z0-9]+", "_", folded.lower()).strip("_") in QUASI_IDENTIFIER_COLUMNS


def _capitalised(word: str) -> bool:
    # "O'Neil", "Jean-Luc", "McDonald", "María": a capital first, some lower case, letters only;
    # acronyms ("EMEA", "IT") are no names.
    letters = _NAME_JOINERS.sub("", word)
    return letters.isalpha() and word[0].isupper() and any(c.islower() for c in letters)


def looks_like_name(label: str) -> bool:
    """Two or three capitalised words, none of them an organisational word."""
    words = label.split()
    return 2 <= len(words) <= 3 and all(_capitalised(w) and w.casefold() not in ORGANISATION_WORDS for w in words)


# ---------------------------------------------------------------- building blocks

def _privacy(table: Table) -> list:
    """No content columns, identifiers are pseudonyms, no address-like value anywhere."""
    checks = [
        gxe.ExpectTableColumnsToMatchSet(
            column_set=table.schema.fieldNames(), exact_match=True, severity=_severity("fail"),
            meta={"check": "privacy: no column outside the contract (no content columns)"},
        )
    ]
    for column, vocabulary in table.closed_labels:
        checks.append(gxe.ExpectColumnValuesToBeInSet(
            column=column, value_set=list(vocabulary), severity=_severity("fail"),
            meta={"check": f"privacy: {column} is one of {', '.join(vocabulary)} (computed from the network)"},
        ))
    for field in table.schema.fields:
        if field.dataType.simpleString() != "string":
            continue
        checks.append(
            gxe.ExpectColumnValuesToNotMatchRegex(
                column=field.name, regex=ADDRESS_LIKE, severity=_severity("fail"),
                meta={"check": f"privacy: no address-like value in {field.name}"},
            )
        )
    return checks


def no_quasi_identifier_columns(columns: list[str]) -> list:
    """Built from the frame's columns: passes exactly when none of them is a quasi-identifier,
    whatever the contract says (the exact-match check above trusts the contract)."""
    return [
        gxe.ExpectTableColumnsToMatchSet(
            column_set=[c for c in columns if not quasi_identifier(c)], exact_match=True, severity=_severity("fail"),
            meta={"check": "privacy: no quasi-identifier column (department, team, manager, location, "
                           "hire date, time zone, title, name, e-mail...)"},
        )
    ]


def _pseudonyms(*columns: str) -> list:
    return [
        gxe.ExpectColumnValuesToMatchRegex(
            column=c, regex=PERSON_PATTERN, severity=_severity("fail"),
            meta={"check": f"privacy: {c} is a person pseudonym"},
        )
        for c in columns
    ]


def _not_null(*columns: str) -> list:
    return [
        gxe.ExpectColumnValuesToNotBeNull(column=c, severity=_severity("fail"),
                                          meta={"check": f"{c} is never null"})
        for c in columns
    ]


def _unique_keys(table: Table) -> list:
    """One row per key of the table's grain (Table.keys): a duplicate would double a weight, a
    person or a cell in every BI aggregate."""
    check = {"check": f"key unique: one row per {', '.join(table.keys)}"}
    if len(table.keys) == 1:
        return [gxe.ExpectColumnValuesToBeUnique(column=table.keys[0], severity=_severity("fail"), meta=check)]
    return [gxe.ExpectCompoundColumnsToBeUnique(column_list=list(table.keys), severity=_severity("fail"), meta=check)]


def volume_bounds(trailing_row_counts: tuple[int, ...]) -> tuple[int, int] | tuple[None, None]:
    """Half and double the trailing average row count (+1): the volume check's bounds, or none
    without published weeks before."""
    if not trailing_row_counts:
        return None, None
    average = sum(trailing_row_counts) / len(trailing_row_counts)
    return int(average * 0.5), int(average * 2) + 1


def _only_true(column: str, level: str, check: str, want: bool = True, table: Table | None = None) -> Flag:
    return Flag(column=column, level=level, check=check, want=want, table=table)


# ---------------------------------------------------------------- the table suites

def edges_suite(inputs: SuiteInputs) -> list:
    return [
        *_privacy(EDGES_WEEKLY),
        *_pseudonyms("src", "dst"),
        *_not_null("week_start", "src", "dst", "weight", "is_reciprocal"),
        *_unique_keys(EDGES_WEEKLY),
        gxe.ExpectColumnValuesToBeBetween(column="weight", min_value=0, strict_min=True, severity="critical",
                                          meta={"check": "weight is positive"}),
    ]


def person_metrics_suite(inputs: SuiteInputs) -> list:
    return [
        *_privacy(PERSON_METRICS_WEEKLY),
        *_pseudonyms("person"),
        *_not_null("week_start", "person", "degree", "strength"),
        *_unique_keys(PERSON_METRICS_WEEKLY),
        gxe.ExpectColumnValuesToBeBetween(column="pagerank", min_value=0, max_value=1, severity="critical",
                                          meta={"check": "pagerank in [0, 1]"}),
        gxe.ExpectColumnValuesToBeBetween(column="clustering", min_value=0, max_value=1, severity="critical",
                                          meta={"check": "clustering in [0, 1]"}),
        gxe.ExpectColumnValuesToBeBetween(column="degree", min_value=0, severity="critical",
                                          meta={"check": "degree is not negative"}),
        *[_unit_interval(c) for c in ("eigenvector", "harmonic", "betweenness", "after_hours_share")],
        gxe.ExpectColumnValuesToBeBetween(column="constraint", min_value=0, severity="critical",
                                          meta={"check": "constraint is not negative"}),
        *_not_null("network_role"),
    ]


def _unit_interval(column: str):
    return gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0, max_value=1, severity="critical",
                                             meta={"check": f"{column} in [0, 1]"})


def group_cohesion_suite(inputs: SuiteInputs) -> list:
    # Suppression rules run on a derived frame (_people_count_suite).
    return [
        *_privacy(GROUP_COHESION_WEEKLY),
        *_not_null("week_start", "group_kind", "group_name", "is_suppressed"),
        *_unique_keys(GROUP_COHESION_WEEKLY),
        gxe.ExpectColumnValuesToBeBetween(column="ei_index", min_value=-1, max_value=1, severity="critical",
                                          meta={"check": "ei_index in [-1, 1]"}),
        _unit_interval("density"), _unit_interval("cross_group_share"),
    ]


def onboarding_cohorts_suite(inputs: SuiteInputs) -> list:
    return [
        *_privacy(ONBOARDING_COHORTS_WEEKLY),
        *_not_null("week_start", "cohort_month", "weeks_since_hire", "is_suppressed"),
        *_unique_keys(ONBOARDING_COHORTS_WEEKLY),
        _unit_interval("share_integrated"),
    ]


def group_metrics_suite(inputs: SuiteInputs) -> list:
    # The rules that depend on whether a cell is published run on a derived frame (_cells_suite).
    return [
        *_privacy(GROUP_METRICS_WEEKLY),
        *_not_null("week_start", "group_kind", "group_a", "group_b", "is_suppressed"),
        *_unique_keys(GROUP_METRICS_WEEKLY),
        gxe.ExpectColumnValuesToBeBetween(column="dp_epsilon", min_value=0, strict_min=True, severity="critical",
                                          meta={"check": "dp_epsilon is positive when set"}),
    ]


def network_summary_suite(inputs: SuiteInputs) -> list:
    return [
        *_privacy(NETWORK_SUMMARY_WEEKLY),
        *_unique_keys(NETWORK_SUMMARY_WEEKLY),
        *_not_null("nodes", "edges", "components"),
        *map(_unit_interval, ("density", "giant_component_share", "reciprocity", "average_clustering",
                              "tie_churn", "community_stability")),
        gxe.ExpectColumnValuesToBeInSet(column="graph_engine", value_set=["native", "graphframes"],
                                        severity="critical", meta={"check": "graph_engine is native or graphframes"}),
        gxe.ExpectColumnValuesToBeBetween(column="modularity", min_value=-0.5, max_value=1, severity="critical",
                                          meta={"check": "modularity in [-0.5, 1]"}),
    ]


SUITES = {
    EDGES_WEEKLY.path: edges_suite,
    PERSON_METRICS_WEEKLY.path: person_metrics_suite,
    GROUP_METRICS_WEEKLY.path: group_metrics_suite,
    GROUP_COHESION_WEEKLY.path: group_cohesion_suite,
    ONBOARDING_COHORTS_WEEKLY.path: onboarding_cohorts_suite,
    NETWORK_SUMMARY_WEEKLY.path: network_summary_suite,
}


# ---------------------------------------------------------------- derived suites

def label_columns(table: Table) -> list[str]:
    """String columns that are not pseudonyms: the free labels of a table (group names)."""
    people = {c for c, _ in table.person_columns}
    return [f.name for f in table.schema.fields if f.dataType.simpleString() == "string" and f.name not in people]


def _labels_suites(frames: Mapping[str, DataFrame], inputs: SuiteInputs) -> list[DerivedSuite]:
    """One suite per table with free labels, one row per (week, label)."""
    spark = frames[EDGES_WEEKLY.path].sparkSession
    labelled = [(t, columns) for t in GOLD_TABLES if (columns := label_columns(t))]
    # The weeks' labels are a few dozen group names and role words: fetched in one query and
    # hashed on the driver, with the key.
    found = reduce(DataFrame.unionByName, [
        frames[t.path].select(F.lit(t.path).alias("table"), "week_start", F.explode(F.array(*columns)).alias("label"))
        for t, columns in labelled
    ]).where(F.col("label").isNotNull()).distinct().collect()
    hash_label = inputs.name_ref or (lambda _: None)
    schema = StructType([StructField("week_start", DateType(), False),
                         StructField("is_known_name", BooleanType(), False),
                         StructField("looks_like_name", BooleanType(), False)])
    suites = []
    for table, columns in labelled:
        rows = [(r["week_start"], hash_label(r["label"]) in inputs.name_refs, looks_like_name(r["label"]))
                for r in found if r["table"] == table.path]
        shown = ", ".join(columns)
        suites.append(DerivedSuite(table, "labels", frame_from_rows(spark, rows, schema), [
            _only_true("is_known_name", "fail", want=False,
                       check=f"privacy: no label ({shown}) is a person's name seen at ingest (keyed name refs)"),
            _only_true("looks_like_name", "warn", want=False,
                       check=f"privacy: no label ({shown}) looks like a person's name (capitalised words, heuristic)"),
        ]))
    return suites


def _week_facts_suite(frames: Mapping[str, DataFrame], inputs: Mapping[date, Mapping[str, SuiteInputs]]) -> DerivedSuite:
    """A week's aggregates, one row per week built (weeks without a row count 0): edges and
    person rows within half and double their trailing average (warn), a week with edges (warn),
    PageRank summing to 1 in a week with edges, one network summary row per week."""
    spark = frames[EDGES_WEEKLY.path].sparkSession
    edges, persons, summary = (t.path for t in (EDGES_WEEKLY, PERSON_METRICS_WEEKLY, NETWORK_SUMMARY_WEEKLY))
    plan = frame_from_rows(
        spark,
        [(w, *volume_bounds(inputs[w][edges].trailing_row_counts),
          *volume_bounds(inputs[w][persons].trailing_row_counts)) for w in sorted(inputs)],
        StructType([StructField("week_start", DateType()),
                    *(StructField(bound, LongType()) for bound in ("edges_min", "edges_max", "persons_min",
                                                                   "persons_max"))]))

    def rows(path: str, *aggregates: F.Column) -> DataFrame:
        return frames[path].groupBy("week_start").agg(F.count("*").alias(f"{path}_rows"), *aggregates)

    def volume(path: str, prefix: str) -> F.Column:
        n = F.coalesce(F.col(f"{path}_rows"), F.lit(0))
        return F.col(f"{prefix}_min").isNull() | n.between(F.col(f"{prefix}_min"), F.col(f"{prefix}_max"))

    facts = (plan.join(rows(edges), "week_start", "left")
             .join(rows(persons, F.sum("pagerank").alias("pagerank_sum")), "week_start", "left")
             .join(rows(summary), "week_start", "left"))
    frame = facts.select(
        "week_start",
        F.coalesce(F.col(f"{edges}_rows") >= 1, F.lit(False)).alias("has_edges"),
        volume(edges, "edges").alias("edges_volume"),
        volume(persons, "persons").alias("persons_volume"),
        # A week without a tie has no PageRank to sum.
        (F.col(f"{edges}_rows").isNull() | F.coalesce(F.col("pagerank_sum").between(0.999, 1.001), F.lit(False)))
        .alias("pagerank_sum"),
        F.coalesce(F.col(f"{summary}_rows") == 1, F.lit(False)).alias("one_summary_row"),
    )
    volume_check = "volume within 0.5x-2x of the trailing average of the 4 published weeks before"
    return DerivedSuite(NETWORK_SUMMARY_WEEKLY, "week_facts", frame, [
        _only_true("has_edges", "warn", table=EDGES_WEEKLY, check="the week has edges"),
        _only_true("edges_volume", "warn", table=EDGES_WEEKLY, check=volume_check),
        _only_true("persons_volume", "warn", table=PERSON_METRICS_WEEKLY, check=volume_check),
        _only_true("pagerank_sum", "fail", table=PERSON_METRICS_WEEKLY, check="pagerank sums to 1"),
        _only_true("one_summary_row", "fail", check="one row per week"),
    ])


_CELL_VALUES = ("weight", "n_people_pairs", "n_people_a", "n_people_b")
_COHESION_VALUES = ("n_people", "internal_ties", "external_ties", "internal_weight", "external_weight",
                    "ei_index", "cross_group_share")
_COHORT_VALUES = ("n_people", "median_degree", "median_cross_group_ties", "share_integrated")


def _publication_suite(table: Table, df: DataFrame, values: tuple[str, ...], k_rule: F.Column, k_check: str,
                       extra: tuple = ()) -> DerivedSuite:
    """One row per group output row, one boolean per publication rule (docs/privacy.md, "One
    rule for every group output"): a rule holds for the rows it does not apply to, and a rule
    whose inputs are null is broken, never met."""
    published, suppressed = ~F.col("is_suppressed"), F.col("is_suppressed")
    all_of = lambda columns: reduce(lambda a, b: a & b, columns)  # noqa: E731
    shown = ", ".join(values)
    rules = [  # (frame column, applies to, rule, check)
        ("values_present", published, all_of([F.col(c).isNotNull() for c in values]),
         f"published rows carry {shown}"),
        ("k_people", published, k_rule, k_check),
        ("no_reason", published, F.col("suppression").isNull(), "published rows give no suppression reason"),
        *extra,
        ("no_value", suppressed, all_of([F.col(c).isNull() for c in values]),
         f"privacy: suppressed rows publish no value ({shown})"),
        ("known_reason", suppressed, F.col("suppression").isin(*SUPPRESSION_REASONS),
         f"privacy: suppressed rows give a reason ({' or '.join(SUPPRESSION_REASONS)})"),
    ]
    # A null is_suppressed fails the table suite's not-null check.
    frame = df.select("week_start",
                      *[F.coalesce(~applies | rule, F.lit(False)).alias(name) for name, applies, rule, _ in rules])
    return DerivedSuite(table, "cells", frame, [_only_true(name, "fail", check=check) for name, _, _, check in rules])


def _cells_suite(group_df: DataFrame, inputs: SuiteInputs) -> DerivedSuite:
    k = inputs.min_group_size
    # The DP release clamps its noisy weight at 0: 0 is a legitimate value there only.
    weight_valid = ("weight_valid", ~F.col("is_suppressed"),
                    F.when(F.col("dp_epsilon").isNull(), F.col("weight") > 0).otherwise(F.col("weight") >= 0),
                    "weight of published cells is positive (>= 0 when DP noise is on)")
    return _publication_suite(
        GROUP_METRICS_WEEKLY, group_df, _CELL_VALUES, (F.col("n_people_a") >= k) & (F.col("n_people_b") >= k),
        f"privacy: published cells have >= {k} people on each side (n_people_a, n_people_b)", (weight_valid,))


def _people_count_suite(table: Table, df: DataFrame, values: tuple[str, ...], inputs: SuiteInputs) -> DerivedSuite:
    k = inputs.min_group_size
    return _publication_suite(table, df, values, F.col("n_people") >= k,
                              f"privacy: published rows stand for >= {k} people (n_people)")


def _edge_ends_suite(edges_df: DataFrame, person_df: DataFrame) -> DerivedSuite:
    people = person_df.select("week_start", "person").distinct()

    def has_row(end: str) -> DataFrame:
        return people.select("week_start", F.col("person").alias(end), F.lit(True).alias(f"{end}_has_person_row"))

    frame = (
        edges_df.select("week_start", "src", "dst")
        .join(has_row("src"), on=["week_start", "src"], how="left")
        .join(has_row("dst"), on=["week_start", "dst"], how="left")
        .select("week_start", *[F.coalesce(f"{end}_has_person_row", F.lit(False)).alias(f"{end}_has_person_row")
                                for end in ("src", "dst")])
    )
    return DerivedSuite(EDGES_WEEKLY, "edge_ends", frame, [
        _only_true(f"{end}_has_person_row", "fail",
                   check=f"every edge {end} has a {PERSON_METRICS_WEEKLY.path} row in the week")
        for end in ("src", "dst")
    ])


def _roster_suite(table: Table, df: DataFrame, column: str, roster_df: DataFrame) -> DerivedSuite:
    flag = f"{column}_on_roster"
    on_roster = roster_df.select(F.col("person").alias(column)).distinct().withColumn(flag, F.lit(True))
    frame = df.select("week_start", column).join(on_roster, on=column, how="left").select(
        "week_start", F.coalesce(flag, F.lit(False)).alias(flag))
    return DerivedSuite(table, "roster", frame, [
        _only_true(flag, "warn", check=f"{column} is on the roster (silver/people)")
    ])


def _freshness_suite(inputs: SuiteInputs, weeks: list[date], spark) -> DerivedSuite:
    """Every source's newest ingest is recent: a fact of the build, so it holds (or not) for
    every week built alike."""
    built_at = inputs.built_at or datetime.now(timezone.utc)
    if built_at.tzinfo is None:
        built_at = built_at.astimezone()

    def age_days(finished_at: datetime) -> float:
        # Spark hands timestamps back naive, in the driver's local zone.
        moment = finished_at if finished_at.tzinfo else finished_at.astimezone()
        return (built_at - moment).total_seconds() / 86400

    n = inputs.max_ingest_age_days
    rows = [(week, age_days(at) <= n) for week in weeks for _, at in inputs.newest_ingests]
    frame = frame_from_rows(spark, rows, StructType([StructField("week_start", DateType(), False),
                                                     StructField("fresh", BooleanType(), False)]))
    return DerivedSuite(NETWORK_SUMMARY_WEEKLY, "freshness", frame, [
        _only_true("fresh", "warn",
                   check=f"freshness: the newest ingest of every source is at most {n} days old at build time")
    ])


def derived_suites(frames: Mapping[str, DataFrame], inputs: Mapping[date, Mapping[str, SuiteInputs]],
                   roster_df: DataFrame | None = None) -> list[DerivedSuite]:
    """The derived suites of the weeks being built (frames keyed by table path and holding
    every week; inputs keyed by week, then table path). The week-independent inputs (k, name
    refs, ingests) are the same for every week."""
    spark = frames[EDGES_WEEKLY.path].sparkSession
    shared = inputs[min(inputs)]
    suites = [
        *_labels_suites(frames, shared[GROUP_METRICS_WEEKLY.path]),
        _week_facts_suite(frames, inputs),
        _cells_suite(frames[GROUP_METRICS_WEEKLY.path], shared[GROUP_METRICS_WEEKLY.path]),
    ]
    for table, values in ((GROUP_COHESION_WEEKLY, _COHESION_VALUES), (ONBOARDING_COHORTS_WEEKLY, _COHORT_VALUES)):
        suites.append(_people_count_suite(table, frames[table.path], values, shared[table.path]))
    suites.append(_edge_ends_suite(frames[EDGES_WEEKLY.path], frames[PERSON_METRICS_WEEKLY.path]))
    # Edge ends are not looked up: each must have a person row (edge_ends), and those are.
    if roster_df is not None and not roster_df.isEmpty():  # no roster yet: nothing to compare with
        suites.append(_roster_suite(PERSON_METRICS_WEEKLY, frames[PERSON_METRICS_WEEKLY.path], "person", roster_df))
    suites.append(_freshness_suite(shared[NETWORK_SUMMARY_WEEKLY.path], sorted(inputs), spark))
    return suites


def merged(suites: list[DerivedSuite]) -> tuple[DataFrame, list]:
    """The derived suites as one frame and one list of expectations, so that Great Expectations
    validates them in one run. Rows are stacked (week_start kept); each flag gets a column of
    its own, named after its suite; a row of another suite holds the flag's wanted value there,
    and a null flag never holds. Every expectation names the gate it joins (``meta["table"]``)."""
    flags = [(i, suite, flag) for i, suite in enumerate(suites) for flag in suite.flags]

    def name(i: int, flag: Flag) -> str:
        return f"{suites[i].name}_{i}__{flag.column}"

    frame = reduce(DataFrame.unionByName, [
        suite.frame.select("week_start", *[
            (F.coalesce(F.col(flag.column), F.lit(not flag.want)) if j == i else F.lit(flag.want)).alias(name(j, flag))
            for j, _, flag in flags])
        for i, suite in enumerate(suites)
    ])
    expectations = [
        gxe.ExpectColumnValuesToBeInSet(column=name(i, flag), value_set=[flag.want], severity=_severity(flag.level),
                                        meta={"check": flag.check, "table": (flag.table or suite.table).path})
        for i, suite, flag in flags
    ]
    return frame, expectations

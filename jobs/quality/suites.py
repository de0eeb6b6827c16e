"""One expectation suite per gold table, privacy expectations included (docs/quality.md).

`fail` checks block the publish of the week; `warn` checks are reported and published.
"""

from __future__ import annotations

import great_expectations.expectations as gxe

from jobs.privacy.pseudonym import PERSON_PREFIX
from jobs.quality.gates import SuiteInputs
from schemas import Table
from schemas.gold import EDGES_WEEKLY, GROUP_METRICS_WEEKLY, NETWORK_SUMMARY_WEEKLY, PERSON_METRICS_WEEKLY

PERSON_PATTERN = rf"^{PERSON_PREFIX}[0-9a-f]{{16}}$"
ADDRESS_LIKE = r"[^\s@]+@[^\s@]+"


def _severity(level: str) -> str:
    return {"fail": "critical", "warn": "warning"}[level]


def _privacy(table: Table) -> list:
    """No content columns, identifiers are pseudonyms, no address-like value anywhere."""
    checks = [
        gxe.ExpectTableColumnsToMatchSet(
            column_set=table.schema.fieldNames(), exact_match=True, severity=_severity("fail"),
            meta={"check": "privacy: no column outside the contract (no content columns)"},
        )
    ]
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


def _volume(inputs: SuiteInputs) -> list:
    """Row count within half and double the trailing average (warn: org changes are real)."""
    if not inputs.trailing_row_counts:
        return []
    average = sum(inputs.trailing_row_counts) / len(inputs.trailing_row_counts)
    return [
        gxe.ExpectTableRowCountToBeBetween(
            min_value=int(average * 0.5), max_value=int(average * 2) + 1, severity=_severity("warn"),
            meta={"check": f"volume within 0.5x-2x of the trailing average ({average:.0f} rows)"},
        )
    ]


def _in_roster(column: str, inputs: SuiteInputs) -> list:
    if not inputs.roster:
        return []
    return [
        gxe.ExpectColumnValuesToBeInSet(
            column=column, value_set=sorted(inputs.roster), severity=_severity("warn"),
            meta={"check": f"{column} is on the roster (silver/people)"},
        )
    ]


def edges_suite(inputs: SuiteInputs) -> list:
    return [
        *_privacy(EDGES_WEEKLY),
        *_pseudonyms("src", "dst"),
        *_not_null("week_start", "src", "dst", "weight", "is_reciprocal"),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["week_start", "src", "dst"], severity="critical",
                                            meta={"check": "one row per week and ordered pair"}),
        gxe.ExpectColumnValuesToBeBetween(column="weight", min_value=0, strict_min=True, severity="critical",
                                          meta={"check": "weight is positive"}),
        gxe.ExpectTableRowCountToBeBetween(min_value=1, severity="warning",
                                           meta={"check": "the week has edges"}),
        *_volume(inputs),
        *_in_roster("src", inputs),
    ]


def person_metrics_suite(inputs: SuiteInputs) -> list:
    return [
        *_privacy(PERSON_METRICS_WEEKLY),
        *_pseudonyms("person"),
        *_not_null("week_start", "person", "degree", "strength"),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["week_start", "person"], severity="critical",
                                            meta={"check": "one row per week and person"}),
        gxe.ExpectColumnValuesToBeBetween(column="pagerank", min_value=0, max_value=1, severity="critical",
                                          meta={"check": "pagerank in [0, 1]"}),
        *(
            [gxe.ExpectColumnSumToBeBetween(column="pagerank", min_value=0.999, max_value=1.001,
                                            severity="critical", meta={"check": "pagerank sums to 1"})]
            if inputs.has_ties else []
        ),
        gxe.ExpectColumnValuesToBeBetween(column="clustering", min_value=0, max_value=1, severity="critical",
                                          meta={"check": "clustering in [0, 1]"}),
        gxe.ExpectColumnValuesToBeBetween(column="degree", min_value=0, severity="critical",
                                          meta={"check": "degree is not negative"}),
        *_volume(inputs),
        *_in_roster("person", inputs),
    ]


def group_metrics_suite(inputs: SuiteInputs) -> list:
    k = inputs.min_group_size
    return [
        *_privacy(GROUP_METRICS_WEEKLY),
        *_not_null("week_start", "group_a", "group_b", "is_suppressed"),
        gxe.ExpectColumnValuesToBeBetween(column="n_active_a", min_value=k, severity="critical",
                                          meta={"check": f"privacy: published groups have >= {k} active people"}),
        gxe.ExpectColumnValuesToBeBetween(column="n_active_b", min_value=k, severity="critical",
                                          meta={"check": f"privacy: published groups have >= {k} active people"}),
        gxe.ExpectColumnValuesToBeBetween(column="weight", min_value=0, strict_min=True, severity="critical",
                                          meta={"check": "weight is positive"}),
    ]


def network_summary_suite(inputs: SuiteInputs) -> list:
    ratio = lambda c: gxe.ExpectColumnValuesToBeBetween(  # noqa: E731
        column=c, min_value=0, max_value=1, severity="critical", meta={"check": f"{c} in [0, 1]"}
    )
    return [
        *_privacy(NETWORK_SUMMARY_WEEKLY),
        gxe.ExpectTableRowCountToEqual(value=1, severity="critical", meta={"check": "one row per week"}),
        *_not_null("nodes", "edges", "components"),
        ratio("density"), ratio("giant_component_share"), ratio("reciprocity"), ratio("average_clustering"),
        gxe.ExpectColumnValuesToBeBetween(column="modularity", min_value=-0.5, max_value=1, severity="critical",
                                          meta={"check": "modularity in [-0.5, 1]"}),
    ]


SUITES = {
    EDGES_WEEKLY.path: edges_suite,
    PERSON_METRICS_WEEKLY.path: person_metrics_suite,
    GROUP_METRICS_WEEKLY.path: group_metrics_suite,
    NETWORK_SUMMARY_WEEKLY.path: network_summary_suite,
}

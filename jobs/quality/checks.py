"""What a gate checks and what it found: the inputs of the suites, the flags of the derived
suites, and the results per check and per table and week. Plain data, shared by the suites
(jobs/quality/suites.py), their runner (gates.py), the pipeline and the report, so that none
of them imports another for its types.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from pyspark.sql import DataFrame

from schemas import Table


@dataclass(frozen=True)
class SuiteInputs:
    """What the checks compare against: the table's recent history, the names seen at ingest
    and the lake's ingests (the roster is a DataFrame given to run_gates: an anti-join,
    never a literal set)."""

    trailing_row_counts: tuple[int, ...]  # published row counts of the 4 weeks before the week
    min_group_size: int
    # Keyed refs of people's names (jobs/privacy/names.py, state/name_refs) and the function
    # that hashes a label the same way (``partial(name_ref, pseudo)``).
    name_refs: frozenset[str] = frozenset()
    name_ref: Callable[[str], str | None] | None = None
    # (source, finished_at of its newest ingest) for every source the lake has (newest_ingests).
    newest_ingests: tuple[tuple[str, datetime], ...] = ()
    built_at: datetime | None = None  # None: now
    max_ingest_age_days: int = 8

    def __post_init__(self):
        if self.name_refs and self.name_ref is None:
            # Refs without the keyed hash cannot be compared with anything: fail loudly, not open.
            raise ValueError("name_refs given without name_ref to hash the labels")


@dataclass(frozen=True)
class CheckResult:
    check: str
    expectation: str
    column: str | None
    level: str  # fail | warn
    success: bool
    observed: str
    table: str | None = None  # the gold table whose gate the check belongs to


@dataclass
class GateResult:
    table: str
    week_start: date
    suite: str
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def failed_fail(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.success and c.level == "fail"]

    @property
    def failed_warn(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.success and c.level == "warn"]

    @property
    def success(self) -> bool:
        return not self.failed_fail


@dataclass(frozen=True)
class Flag:
    """A rule that a derived frame's boolean column states row by row: it holds where the
    column is ``want`` (a null never holds)."""

    column: str
    level: str  # fail | warn
    check: str  # what the report and quality/validation_runs call it
    want: bool = True
    table: Table | None = None  # the gate it joins, when not its suite's


@dataclass
class DerivedSuite:
    """Flags on a frame derived from the gold frames of the weeks being built (edge ends
    joined with person rows, each group cell's publication rules, whether a label's keyed hash
    is a known name, a week's row count and PageRank sum, ingest ages): checks that need more
    than one table, a keyed hash, a rule per row kind or a week's aggregate. Derived frames
    carry ``week_start`` and booleans, never a value of the data. All derived suites are
    validated by GX together (suites.merged), so that they report like the table suites."""

    table: Table  # the gate whose result the flags join (unless a flag names another)
    name: str  # short and stable: names the flags' columns
    frame: DataFrame
    flags: list[Flag]

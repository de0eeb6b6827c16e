"""`ona erase`: remove people from the lake, its derived weeks and its history.

1. Every table that holds pseudonyms (``Table.person_columns``) loses the rows about the people
   and their mentions in other rows (jobs/privacy/scrub.py: one definition of "about them").
2. The weeks they appeared in are rebuilt from the scrubbed bronze (silver, gold, gates). A week
   its gates hold back keeps the scrubbed gold of step 1: the people are gone from it either way.
3. Every Delta table of the lake is reduced to its current version (``lake.purge_history``), so
   neither time travel nor the files (old data files, commits, checksums, checkpoints with
   their min/max statistics) still hold them.
4. One row in quality/erasures records the counts, never who.

Landing files are outside the lake and untouched: a changed file that still names the person
would bring them back on its next ingest (the opt-out list is what keeps them out).
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Protocol

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs import lake
from jobs.frames import frame_from_rows
from jobs.privacy.pseudonym import PERSON_PREFIX
from jobs.privacy.scrub import drops, mentions, scrubbed_columns
from jobs.source_kinds import EVENT_TIME
from jobs.weeks import label, week_start
from schemas import Table
from schemas.bronze import BRONZE
from schemas.catalog import all_tables
from schemas.quality import ERASURES_TABLE, VALIDATION_RUNS_TABLE

log = logging.getLogger("ona")

_PERSON = re.compile(rf"^{PERSON_PREFIX}[0-9a-f]{{16}}$")


class Rebuilt(Protocol):
    """What a rebuild reports (the weekly build's RunSummary): the weeks it published or staged."""

    published_weeks: list[str]
    waiting_weeks: list[str]


@dataclass
class ErasureRecord:
    """One erasure, as quality/erasures stores it (counts only)."""

    erasure_id: str
    erased_at: datetime
    reason: str
    people: int
    rows_removed: dict[str, int]  # table path -> rows deleted
    rows_changed: dict[str, int]  # table path -> rows that only named them
    weeks_rebuilt: list[str]  # ISO weeks rebuilt and published again (or staged for approval)
    tables_vacuumed: int
    # Not stored (the log says them): built weeks the people appeared in that keep step 1's
    # scrubbed gold for now. Held back by their gates (needs a look); to be rebuilt by the
    # caller (no ``rebuild`` given); past the bronze window (cannot be rebuilt: kept scrubbed).
    weeks_held: list[str] = field(default_factory=list)
    weeks_not_rebuilt: list[str] = field(default_factory=list)
    weeks_past_bronze: list[str] = field(default_factory=list)

    def row(self) -> tuple:
        values = vars(self)
        return tuple(values[name] for name in ERASURES_TABLE.schema.fieldNames())

    def summary(self) -> dict:
        return {**vars(self), "erased_at": self.erased_at.isoformat()}


def _week_column(table: Table):
    """The ISO Monday a row belongs to, or None for tables without a week (snapshots, state)."""
    names = table.schema.fieldNames()
    if "week_start" in names:
        return F.col("week_start")
    source = table.path.split("/", 1)[1] if table.zone == "bronze" else None
    if source in EVENT_TIME:
        # The session runs in UTC (jobs/spark.py): to_date is the UTC day of the event.
        return F.to_date(F.col(EVENT_TIME[source]))
    return None


def _scrub_table(spark: SparkSession, lake_root: Path, table: Table, pseudonyms: set[str]):
    """Delete the rows about the people, strip them from the rows that only mention them.
    Returns (rows removed, rows changed, ISO Mondays of the rows touched)."""
    from delta.tables import DeltaTable

    frame = lake.read(spark, lake_root, table)
    named = mentions(table, pseudonyms)
    about = drops(table, pseudonyms)
    counts = frame.select(
        F.coalesce(F.sum(about.cast("long")), F.lit(0)).alias("removed"),
        F.coalesce(F.sum((named & ~about).cast("long")), F.lit(0)).alias("changed"),
    ).first()
    removed, changed = int(counts["removed"]), int(counts["changed"])
    weeks: set[date] = set()
    week = _week_column(table)
    if (removed or changed) and week is not None:
        days = frame.where(named).select(week.alias("day")).distinct().collect()
        weeks = {week_start(r["day"]) for r in days if r["day"] is not None}
    delta = DeltaTable.forPath(spark, lake.table_path(lake_root, table))
    if removed:
        delta.delete(about)
    columns = scrubbed_columns(table, pseudonyms)
    if changed and columns:
        delta.update(named & ~about, columns)
    return removed, changed, weeks


def _built_weeks(spark: SparkSession, lake_root: Path) -> set[date]:
    """Weeks a build has run for (gated, published or not)."""
    if not lake.exists(spark, lake_root, VALIDATION_RUNS_TABLE):
        return set()
    rows = lake.read(spark, lake_root, VALIDATION_RUNS_TABLE).select("week_start").distinct().collect()
    return {r["week_start"] for r in rows}


def _has_bronze(spark: SparkSession, lake_root: Path, monday: date) -> bool:
    """Whether bronze still holds events of the week: past the bronze window a rebuild would
    replace silver and gold with an empty week."""
    from jobs.weeks import week_window

    start, end = week_window([monday])
    for source, column in EVENT_TIME.items():
        table = BRONZE[source]
        if lake.exists(spark, lake_root, table):
            frame = lake.read(spark, lake_root, table)
            if frame.where((F.col(column) >= F.lit(start)) & (F.col(column) < F.lit(end))).limit(1).count():
                return True
    return False


def _delta_tables(lake_root: str) -> list[str]:
    """Every Delta table under the lake (relative paths): the catalog's, and any other one a
    job wrote there, so that none keeps a history."""
    found = {t.path for t in all_tables()}
    # A local lake is walked for tables outside the catalog; a lake at a URL is not listed.
    if lake.is_local(lake_root) and os.path.isdir(lake_root):
        for folder, dirs, _ in os.walk(lake_root):
            if "_delta_log" in dirs:
                found.add(Path(folder).relative_to(lake_root).as_posix())
                dirs[:] = []  # a table's partitions are not tables
    return sorted(found)


def erase(spark: SparkSession, lake_root: Path | str, pseudonyms: set[str], reason: str = "request",
          rebuild: Callable[[list[date]], Rebuilt] | None = None, skip_if_absent: bool = False) -> ErasureRecord | None:
    """Erase people (their ``p_`` pseudonyms) from every table, every derived week and every
    table's history; record the counts in quality/erasures. See the module docstring.
    ``skip_if_absent``: when no table names them, do nothing and return None (the opt-out list
    is applied on every run; most runs find nothing left to erase). ``rebuild`` builds the
    weeks they were in again and returns the run summary (the CLI passes the weekly build);
    without it the caller builds ``weeks_not_rebuilt``."""
    from delta.tables import DeltaTable

    pseudonyms = set(pseudonyms)
    if not pseudonyms:
        raise ValueError("no one to erase")
    if not all(_PERSON.match(p) for p in pseudonyms):
        # External domains (x_) are never individuals; anything else is not a pseudonym.
        raise ValueError("only person pseudonyms (p_ + 16 hex digits) can be erased")
    lake_root = lake.location(lake_root)
    erased_at = datetime.now(timezone.utc)
    erasure_id = erased_at.strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]

    removed: dict[str, int] = {}
    changed: dict[str, int] = {}
    touched: set[date] = set()
    for table in all_tables():
        if not table.person_columns or not lake.exists(spark, lake_root, table):
            continue
        n_removed, n_changed, weeks = _scrub_table(spark, lake_root, table, pseudonyms)
        removed[table.path], changed[table.path] = n_removed, n_changed
        touched |= weeks
    if skip_if_absent and not any(removed.values()) and not any(changed.values()):
        return None
    log.info("erase %s: %d row(s) removed, %d row(s) changed in %d table(s)", erasure_id,
             sum(removed.values()), sum(changed.values()), len(removed))

    # Only weeks a build ran for are rebuilt: an erasure never publishes a week that was not
    # there (e.g. a future week of calendar occurrences). Past the bronze window a rebuild would
    # replace silver and gold with an empty week: those keep the scrubbed rows of step 1.
    candidates = sorted(touched & _built_weeks(spark, lake_root))
    rebuildable = [w for w in candidates if _has_bronze(spark, lake_root, w)]
    past_bronze = [w for w in candidates if w not in rebuildable]
    rebuilt: list[date] = []
    held: list[date] = []
    if rebuild and rebuildable:
        summary = rebuild(rebuildable)
        # A week staged for approval was rebuilt too: its waiting candidate is the scrubbed one.
        done = set(summary.published_weeks) | set(summary.waiting_weeks)
        rebuilt = [w for w in rebuildable if label(w) in done]
        held = [w for w in rebuildable if label(w) not in done]
    not_rebuilt = [w for w in rebuildable if w not in rebuilt and w not in held]
    if held:
        log.warning("erase %s: rebuilt week(s) %s held back by their gates; their gold keeps the scrubbed "
                    "previous version", erasure_id, ", ".join(label(w) for w in held))
    if past_bronze:
        log.info("erase %s: week(s) %s past the bronze window, not rebuilt; their gold keeps the scrubbed "
                 "previous version", erasure_id, ", ".join(label(w) for w in past_bronze))

    vacuumed = 0
    for path in _delta_tables(lake_root):
        if DeltaTable.isDeltaTable(spark, lake.join(lake_root, path)):
            lake.purge_history(spark, lake_root, path)
            vacuumed += 1

    record = ErasureRecord(
        erasure_id=erasure_id, erased_at=erased_at, reason=reason, people=len(pseudonyms),
        rows_removed=removed, rows_changed=changed, weeks_rebuilt=[label(w) for w in rebuilt],
        tables_vacuumed=vacuumed, weeks_held=[label(w) for w in held],
        weeks_not_rebuilt=[label(w) for w in not_rebuilt], weeks_past_bronze=[label(w) for w in past_bronze],
    )
    lake.merge_rows(spark, lake_root, ERASURES_TABLE, frame_from_rows(spark, [record.row()], ERASURES_TABLE.schema))
    log.info("erase %s: %d week(s) rebuilt, %d table(s) purged of their history", erasure_id,
             len(rebuilt), vacuumed)
    return record

"""Ingest: landed files (new and changed ones, jobs/landing.py) and API pulls into bronze, their
rejections into quarantine, one quality/ingest_runs row per source; and which weeks the
ingests touched since their last build (``pending_weeks``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs import lake
from jobs.frames import frame_from_rows
from jobs.privacy.scrub import drops, scrub
from jobs.source_kinds import EVENT_TIME, KINDS
from jobs.sources.base import ParseOutcome
from jobs.spark import expressions_for
from jobs.stages.context import RunContext
from jobs.weeks import buildable_weeks, label, parse_week, week_start
from schemas.bronze import BRONZE, QUARANTINE_TABLES, SOURCES
from schemas.quality import INGEST_RUNS_TABLE, VALIDATION_RUNS_TABLE

if TYPE_CHECKING:
    from jobs.landing import LandingUnit

log = logging.getLogger("ona")

# Run-summary reasons for records that are not anyone's tie (docs/privacy.md, "What is counted").
BOT_MESSAGES = "bot and system messages"
OPTED_OUT_RECORDS = "records by opted-out people (dropped)"


@dataclass
class SourceSummary:
    """One ingest of one source kind, from a landing folder ("files") or an API vendor."""

    source: str
    origin: str = "files"
    read: int = 0
    accepted: int = 0
    quarantined: int = 0
    duplicates: int = 0
    weeks: list[str] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)
    unjoined: dict[str, int] = field(default_factory=dict)
    requests: int | None = None
    resyncs: int | None = None
    cancelled: int | None = None
    files_ingested: int | None = None
    files_skipped: int | None = None
    files_unrecognised: int | None = None


def ingest_sources(ctx: RunContext, landing: Path, sources: list[str], window=None) -> list[SourceSummary]:
    """Each source's new and changed landed files (the manifest, jobs/landing.py) parsed and
    merged into bronze, a changed file's rows replacing its old ones; rejections go to
    quarantine. Then the run's ingests are recorded together: one quality/ingest_runs append
    and one manifest MERGE for all the sources, instead of one each (docs/performance.md, "The
    ingest's commits"). A run that fails before that records nothing, and the next run parses
    the same files again (bronze merges on record_id: no row is doubled).

    Calendar files are expanded for a window. With explicit weeks every calendar file is
    expanded for those weeks only, so nothing is replaced (its other weeks' rows must stay)
    and only the files the manifest already knows unchanged are recorded: a new or changed
    file is expanded in full by the next run without weeks."""
    from jobs import landing as manifest
    from jobs.progress import stage

    known = manifest.known_units(ctx.spark, ctx.lake, sources)
    summaries, to_record = [], []
    for source in sources:
        with stage(f"ingest {source}"):
            summary, units = _ingest_files(ctx, landing, source, window, known[source])
        summaries.append(summary)
        to_record += units
    _record_ingest_runs(ctx, summaries)
    manifest.record(ctx.spark, ctx.lake, to_record, ctx.run_id)
    return summaries


def _ingest_files(ctx: RunContext, landing: Path, source: str, window: tuple[datetime, datetime] | None,
                  known: Mapping[str, tuple[int, int, str]]) -> tuple[SourceSummary, list[LandingUnit]]:
    """One source's landed files into bronze (``known``: its manifest rows, jobs/landing.py
    ``known_units``): its summary, and the landing units to record."""
    from jobs import landing as manifest

    kind = KINDS[source]
    folder = landing / kind.landing_folder
    units, unrecognised = manifest.landing_units(source, folder, ctx.pseudo)
    plan = manifest.plan(units, known)
    partial = source == "calendar" and window is not None
    only = {u.rel for u in units} if partial else plan.to_parse
    if unrecognised:
        log.warning("ingest %s: %d file(s) under %s/ that no parser reads were skipped", source, unrecognised,
                    kind.landing_folder)
    summary = SourceSummary(source=source, files_ingested=len(only), files_skipped=len(units) - len(only),
                            files_unrecognised=unrecognised)
    outcome = kind.parse(folder, ctx.pseudo, window=window, only=only) if only else ParseOutcome()
    replaced = frozenset() if partial else plan.replaced_file_refs
    summary = load_rows(ctx, source, outcome, summary, replace_file_refs=replaced)
    return summary, plan.unchanged if partial else units


def load_outcome(ctx: RunContext, source: str, outcome: ParseOutcome, summary: SourceSummary) -> SourceSummary:
    """An API pull's rows into bronze (``load_rows``), and its quality/ingest_runs row."""
    summary = load_rows(ctx, source, outcome, summary)
    _record_ingest_runs(ctx, [summary])
    return summary


def load_rows(ctx: RunContext, source: str, outcome: ParseOutcome, summary: SourceSummary,
              replace_file_refs: frozenset[str] | set[str] = frozenset()) -> SourceSummary:
    """Merge parsed or pulled rows into bronze/<source> (deduplicated on record_id), their
    rejections into quarantine/<source>, and apply an API's cancellations. Files and API
    pulls load through here alike, with Spark's expressions interpreted when the rows loaded
    and bronze's are few (jobs/spark.py). The caller records the ingest."""
    size = len(outcome.rows) + lake.row_count(ctx.spark, ctx.lake, BRONZE[source])
    with expressions_for(ctx.spark, size):
        return _load(ctx, source, outcome, summary, replace_file_refs)


def _load(ctx: RunContext, source: str, outcome: ParseOutcome, summary: SourceSummary,
          replace_file_refs: frozenset[str] | set[str]) -> SourceSummary:
    table = BRONZE[source]
    summary.read += outcome.read
    summary.quarantined += len(outcome.rejections)
    # What pseudonymisation could not use or collapsed while these rows were read.
    for reason, n in [*outcome.unjoined.items(), *ctx.pseudo.take_tally().items()]:
        summary.unjoined[reason] = summary.unjoined.get(reason, 0) + n
    provenance = {
        "source": source, "pulled_at": ctx.started_at, "run_id": ctx.run_id,
        "key_version": ctx.pseudo.key_version,
    }
    unique: dict[str, dict] = {}
    for row in outcome.rows:
        if row["record_id"] in unique:
            summary.duplicates += 1
        else:
            unique[row["record_id"]] = row
    summary.accepted += len(unique)
    weeks = set(summary.weeks)
    if source in EVENT_TIME:
        weeks |= {label(week_start(r[EVENT_TIME[source]])) for r in unique.values()}
    for rejection in outcome.rejections:
        summary.reasons[rejection.reason] = summary.reasons.get(rejection.reason, 0) + 1

    if replace_file_refs and source in EVENT_TIME:
        weeks |= _weeks_of_dropped_rows(ctx, source, replace_file_refs, set(unique))
    if outcome.name_refs:
        # Keyed hashes of the names seen (never the names): the "no name as a group label" check.
        from jobs.privacy.names import record_name_refs

        record_name_refs(ctx.spark, ctx.lake, outcome.name_refs)
    if source == "chat":
        bots = sum(1 for r in unique.values() if r.get("sender") is None and r.get("subtype"))
        if bots:
            summary.unjoined[BOT_MESSAGES] = summary.unjoined.get(BOT_MESSAGES, 0) + bots
    if unique or replace_file_refs:
        # Rows by column name: frame_from_rows leaves a column the parser did not fill empty.
        rows_df = frame_from_rows(ctx.spark, [{**provenance, **row} for row in unique.values()], table.schema)
        if ctx.opt_out.people:
            # Dropped before bronze: rows about them go, their mentions are removed.
            dropped = rows_df.where(drops(table, ctx.opt_out.people)).count()
            if dropped:
                summary.unjoined[OPTED_OUT_RECORDS] = summary.unjoined.get(OPTED_OUT_RECORDS, 0) + dropped
            rows_df = scrub(rows_df, table, ctx.opt_out.people)
        lake.merge_rows(ctx.spark, ctx.lake, table, rows_df, replace_file_refs=replace_file_refs)
    if outcome.rejections or replace_file_refs:
        q_table = QUARANTINE_TABLES[source]
        q_rows = [
            (r.record_ref, source, r.reason, ctx.run_id, ctx.started_at, r.file_ref)
            for r in {(r.record_ref, r.reason): r for r in outcome.rejections}.values()
        ]
        lake.merge_rows(ctx.spark, ctx.lake, q_table, frame_from_rows(ctx.spark, q_rows, q_table.schema),
                        replace_file_refs=replace_file_refs)
    if source == "calendar" and (getattr(outcome, "cancelled", None) or getattr(outcome, "declined", None)):
        changed = apply_meeting_changes(ctx, outcome.cancelled, outcome.declined)
        summary.cancelled = (summary.cancelled or 0) + len(changed)
        weeks |= {label(week_start(moment)) for moment in changed.values()}
    summary.weeks = sorted(weeks)
    log.info("ingest %s from %s: read=%d accepted=%d quarantined=%d duplicates=%d", source, summary.origin,
             summary.read, summary.accepted, summary.quarantined, summary.duplicates)
    return summary


def _weeks_of_dropped_rows(ctx: RunContext, source: str, file_refs, kept: set[str]) -> set[str]:
    """ISO weeks of the bronze rows that changed files no longer hold (about to be deleted):
    those weeks lose records, so they are rebuilt too."""
    table = BRONZE[source]
    if not lake.exists(ctx.spark, ctx.lake, table):
        return set()
    column = EVENT_TIME[source]
    rows = (lake.read(ctx.spark, ctx.lake, table)
            .where(F.col("file_ref").isin(sorted(file_refs)))
            .select("record_id", column).collect())
    return {label(week_start(r[column])) for r in rows if r["record_id"] not in kept}


def apply_meeting_changes(ctx: RunContext, cancelled: list[str], declined: list[tuple[str, str]]) -> dict[str, datetime]:
    """Mark bronze meetings cancelled, or one attendee as having declined (a meeting removed
    from an attendee's calendar), and return {record_id: starts_at} of the rows changed, so
    that their weeks are rebuilt. Only ids already in bronze can change."""
    ids = set(cancelled) | {record_id for record_id, _ in declined}
    table = BRONZE["calendar"]
    if not ids or not lake.exists(ctx.spark, ctx.lake, table):
        return {}
    rows = [r.asDict(recursive=True) for r in
            lake.read(ctx.spark, ctx.lake, table).where(F.col("record_id").isin(sorted(ids))).collect()]
    by_id = {r["record_id"]: r for r in rows}
    for record_id, person in declined:
        row = by_id.get(record_id)
        if row is not None:
            row["attendees"] = [
                {**a, "partstat": "DECLINED"} if a["person"] == person else a for a in row["attendees"]
            ]
    for record_id in cancelled:
        if record_id in by_id:
            by_id[record_id]["status"] = "CANCELLED"
    if by_id:
        for row in by_id.values():
            row.update(pulled_at=ctx.started_at, run_id=ctx.run_id)
        df = frame_from_rows(ctx.spark, by_id.values(), table.schema)
        lake.merge_rows(ctx.spark, ctx.lake, table, df)
    return {record_id: row["starts_at"] for record_id, row in by_id.items()}


def _record_ingest_runs(ctx: RunContext, summaries: list[SourceSummary]) -> None:
    """One quality/ingest_runs row per source and origin ingested (the table's key), written
    once: appended, in one commit for all of them."""
    finished_at = datetime.now(timezone.utc)
    rows = [{**asdict(summary), "run_id": ctx.run_id, "key_version": ctx.pseudo.key_version,
             "finished_at": finished_at} for summary in summaries]
    if not rows:
        return
    ingested = "+".join(f"{s.source}/{s.origin}" for s in summaries)
    lake.append_once(ctx.spark, ctx.lake, INGEST_RUNS_TABLE, frame_from_rows(ctx.spark, rows, INGEST_RUNS_TABLE.schema),
                     write_id=f"ingest_runs/{ctx.run_id}/{ingested}")


def latest_ingest_runs(spark: SparkSession, lake_root: Path) -> list[SourceSummary]:
    """The most recent ingest of each source and origin: the record counts the report shows."""
    from pyspark.sql import Window

    if not lake.exists(spark, lake_root, INGEST_RUNS_TABLE):
        return []
    newest = Window.partitionBy("source", F.coalesce(F.col("origin"), F.lit("files"))).orderBy(F.col("finished_at").desc())
    rows = (
        lake.read(spark, lake_root, INGEST_RUNS_TABLE)
        .withColumn("rank", F.row_number().over(newest))
        .where(F.col("rank") == 1)
        .collect()
    )
    fields = set(SourceSummary.__dataclass_fields__)
    summaries = []
    for r in sorted(rows, key=lambda r: (SOURCES.index(r["source"]), r["origin"] or "files")):
        values = {k: v for k, v in r.asDict().items() if k in fields}
        values["origin"] = values.get("origin") or "files"
        values["weeks"] = list(values["weeks"])
        values["reasons"] = dict(values["reasons"])
        values["unjoined"] = dict(values.get("unjoined") or {})
        summaries.append(SourceSummary(**values))
    return summaries


def pending_weeks(spark: SparkSession, lake_root: Path, now: datetime | None = None) -> list[date]:
    """The weeks that `ona run` without --weeks builds (docs/pull.md, "Which weeks are
    rebuilt"): each week an ingest (landed or pulled) touched after the start of the last build
    of that week, or that was never built, less the weeks after the current one
    (`jobs.weeks.buildable_weeks`). A build of other weeks leaves a week pending; an ingest
    that finished while a build ran is not taken as built."""
    if not lake.exists(spark, lake_root, INGEST_RUNS_TABLE):
        return []
    touched = (lake.read(spark, lake_root, INGEST_RUNS_TABLE)
               .select(F.explode("weeks").alias("week"), "finished_at")
               .groupBy("week").agg(F.max("finished_at").alias("last_ingest")))
    if lake.exists(spark, lake_root, VALIDATION_RUNS_TABLE):
        # Rows written before builds recorded their start fall back to the check time.
        built = (lake.read(spark, lake_root, VALIDATION_RUNS_TABLE)
                 .groupBy("week_start")
                 .agg(F.max(F.coalesce("build_started_at", "checked_at")).alias("last_build")))
        last_build = {label(r["week_start"]): r["last_build"] for r in built.collect()}
    else:
        last_build = {}
    weeks = [r["week"] for r in touched.collect()
             if r["week"] not in last_build or r["last_ingest"] > last_build[r["week"]]]
    return [parse_week(w) for w in buildable_weeks(weeks, now or datetime.now(timezone.utc))]


def source_label(summary: SourceSummary) -> str:
    """How a source appears in run summaries: its kind, plus the API vendor when pulled."""
    return summary.source if summary.origin == "files" else f"{summary.source} ({summary.origin})"


def mark_weeks_touched(ctx: RunContext, weeks: list[date]) -> None:
    """Record an ingest-like touch of the weeks an opt-out erasure changed, so that the next
    build (this run's, or the weekly DAG's) rebuilds them (pending_weeks)."""
    if weeks:
        _record_ingest_runs(ctx, [SourceSummary(source="people", origin="opt-out",
                                                weeks=sorted(label(w) for w in weeks))])


def erase_opted_out(ctx: RunContext) -> list[date]:
    """Erase what the lake already held about the people on the opt-out list (as `ona erase`
    does, without rebuilding: the caller builds the weeks returned)."""
    if not ctx.opt_out.people:
        return []
    from jobs.privacy.erase import erase

    record = erase(ctx.spark, ctx.lake, set(ctx.opt_out.people), reason="opt-out", skip_if_absent=True)
    return [parse_week(w) for w in record.weeks_not_rebuilt] if record is not None else []

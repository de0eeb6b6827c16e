"""The job: landing -> bronze -> silver -> gold, gated. The CLI and the Airflow DAGs both call
these functions; `main`-style wiring only, the transforms live in jobs/transforms/.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import lake
from jobs.config import Settings
from jobs.graph.local_engine import weekly_node_metrics
from jobs.privacy.pseudonym import Pseudonymiser, load_key
from jobs.quality.gates import GateResult, SuiteInputs, run_gate
from jobs.sources.base import ParseOutcome
from jobs.sources.registry import EVENT_TIME, KINDS, LANDING_FOLDERS
from jobs.transforms import gold, silver
from jobs.weeks import buildable_weeks, label, parse_week, week_start
from schemas.bronze import BRONZE, QUARANTINE_TABLES, SOURCES
from schemas.gold import (
    EDGES_WEEKLY,
    GOLD_TABLES,
    GROUP_METRICS_WEEKLY,
    NETWORK_SUMMARY_WEEKLY,
    PERSON_METRICS_WEEKLY,
)
from schemas.quality import INGEST_RUNS_TABLE, VALIDATION_RUNS_TABLE
from schemas.silver import SILVER_EVENTS, SILVER_INTERACTIONS, SILVER_PEOPLE

log = logging.getLogger("ona")


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


@dataclass
class RunContext:
    spark: SparkSession
    lake: Path
    pseudo: Pseudonymiser
    settings: Settings = field(default_factory=Settings)
    run_id: str = field(default_factory=lambda: datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6])
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    # When this run's build (silver, gold, gates) started: ingests of the same run finish
    # before it, so their weeks count as built (pending_weeks).
    build_started_at: datetime | None = None

    @property
    def report_dir(self) -> Path:
        return self.lake / "reports" / self.run_id


class NoInternalDomainsError(RuntimeError):
    """Fail closed: without known internal domains every address would count as internal."""


def internal_domains(landing: Path | None, spark: SparkSession | None = None,
                     lake_root: Path | None = None) -> frozenset[str]:
    """The organisation's mail domains: ONA_INTERNAL_DOMAINS, else those of the roster and of
    the directories pulled into the lake (docs/privacy.md)."""
    from jobs.sources.people import roster_domains

    configured = os.environ.get("ONA_INTERNAL_DOMAINS", "")
    if configured.strip():
        return frozenset(d.strip().lower() for d in configured.split(",") if d.strip())
    domains = set(roster_domains(landing / LANDING_FOLDERS["people"])) if landing else set()
    if spark is not None and lake_root is not None:
        from jobs.pull.state import directory_domains

        domains |= directory_domains(spark, lake_root)
    return frozenset(domains)


def make_pseudonymiser(landing: Path | None, key_file: str | None = None, spark: SparkSession | None = None,
                       lake_root: Path | None = None, warn: bool = True) -> Pseudonymiser:
    domains = internal_domains(landing, spark, lake_root)
    if not domains and warn:
        log.warning("No roster, directory or ONA_INTERNAL_DOMAINS: every address counts as internal.")
    return Pseudonymiser(key=load_key(key_file), internal_domains=domains)


# ---------------------------------------------------------------- ingest (extract + load)

def ingest_source(ctx: RunContext, landing: Path, source: str, window=None) -> SourceSummary:
    """Parse one source's new and changed landed files (the manifest, jobs/landing.py) and
    merge them into bronze, a changed file's rows replacing its old ones; rejections go to
    quarantine.

    Calendar files are expanded for a window. With explicit weeks every calendar file is
    expanded for those weeks only, so nothing is replaced (its other weeks' rows must stay)
    and only the files the manifest already knows unchanged are recorded: a new or changed
    file is expanded in full by the next run without weeks."""
    from jobs import landing as manifest

    kind = KINDS[source]
    folder = landing / kind.landing_folder
    units, unrecognised = manifest.landing_units(source, folder, ctx.pseudo)
    plan = manifest.plan(ctx.spark, ctx.lake, source, units)
    partial = source == "calendar" and window is not None
    only = {u.rel for u in units} if partial else plan.to_parse
    if unrecognised:
        log.warning("ingest %s: %d file(s) under %s/ that no parser reads were skipped", source, unrecognised,
                    kind.landing_folder)
    summary = SourceSummary(source=source, files_ingested=len(only), files_skipped=len(units) - len(only),
                            files_unrecognised=unrecognised)
    outcome = kind.parse(folder, ctx.pseudo, window=window, only=only) if only else ParseOutcome()
    replaced = frozenset() if partial else plan.replaced_file_refs
    summary = load_outcome(ctx, source, outcome, summary, replace_file_refs=replaced)
    manifest.record(ctx.spark, ctx.lake, source, plan.unchanged if partial else units, ctx.run_id)
    return summary


def load_outcome(ctx: RunContext, source: str, outcome: ParseOutcome, summary: SourceSummary,
                 replace_file_refs: frozenset[str] | set[str] = frozenset()) -> SourceSummary:
    """Merge parsed or pulled rows into bronze/<source> (deduplicated on record_id), their
    rejections into quarantine/<source>, apply an API's cancellations, and record the ingest
    in quality/ingest_runs. Files and API pulls load through here alike."""
    table = BRONZE[source]
    summary.read += outcome.read
    summary.quarantined += len(outcome.rejections)
    for reason, n in outcome.unjoined.items():
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
    names = table.schema.fieldNames()
    if unique or replace_file_refs:
        rows = [tuple({**provenance, **row}.get(n) for n in names) for row in unique.values()]
        lake.merge_rows(ctx.spark, ctx.lake, table, ctx.spark.createDataFrame(rows, table.schema),
                        replace_file_refs=replace_file_refs)
    if outcome.rejections or replace_file_refs:
        q_table = QUARANTINE_TABLES[source]
        q_rows = [
            (r.record_ref, source, r.reason, ctx.run_id, ctx.started_at, r.file_ref)
            for r in {(r.record_ref, r.reason): r for r in outcome.rejections}.values()
        ]
        lake.merge_rows(ctx.spark, ctx.lake, q_table, ctx.spark.createDataFrame(q_rows, q_table.schema),
                        replace_file_refs=replace_file_refs)
    if source == "calendar" and (getattr(outcome, "cancelled", None) or getattr(outcome, "declined", None)):
        changed = apply_meeting_changes(ctx, outcome.cancelled, outcome.declined)
        summary.cancelled = (summary.cancelled or 0) + len(changed)
        weeks |= {label(week_start(moment)) for moment in changed.values()}
    summary.weeks = sorted(weeks)
    _record_ingest_run(ctx, summary)
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
        names = table.schema.fieldNames()
        df = ctx.spark.createDataFrame([tuple(r[n] for n in names) for r in by_id.values()], table.schema)
        lake.merge_rows(ctx.spark, ctx.lake, table, df)
    return {record_id: row["starts_at"] for record_id, row in by_id.items()}


def _record_ingest_run(ctx: RunContext, summary: SourceSummary) -> None:
    values = {**asdict(summary), "run_id": ctx.run_id, "key_version": ctx.pseudo.key_version,
              "finished_at": datetime.now(timezone.utc)}
    row = tuple(values.get(name) for name in INGEST_RUNS_TABLE.schema.fieldNames())
    lake.merge_rows(ctx.spark, ctx.lake, INGEST_RUNS_TABLE,
                    ctx.spark.createDataFrame([row], INGEST_RUNS_TABLE.schema))


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


# ---------------------------------------------------------------- silver

def week_window(weeks: list[date]) -> tuple[datetime, datetime]:
    """[Monday 00:00 UTC of the first week, Monday 00:00 UTC after the last week)."""
    midnight = datetime.min.time()
    return (datetime.combine(min(weeks), midnight, tzinfo=timezone.utc),
            datetime.combine(max(weeks) + timedelta(days=7), midnight, tzinfo=timezone.utc))


def _bronze_weeks(ctx: RunContext, source: str, weeks: list[date]) -> DataFrame:
    column = EVENT_TIME[source]
    start, end = week_window(weeks)
    return lake.read(ctx.spark, ctx.lake, BRONZE[source]).where(
        (F.col(column) >= F.lit(start)) & (F.col(column) < F.lit(end))
    )


def silver_events(ctx: RunContext, weeks: list[date]) -> DataFrame:
    from functools import reduce

    frames = [kind.events(_bronze_weeks(ctx, kind.name, weeks), ctx.settings.ties)
              for kind in KINDS.values() if kind.events is not None]
    return reduce(DataFrame.unionByName, frames).where(F.col("week_start").isin(weeks))


def build_silver(ctx: RunContext, weeks: list[date]) -> dict:
    """Rebuild silver for the weeks (from all of bronze) and the people snapshot."""
    spark = ctx.spark
    people_df = silver.people(lake.read(spark, ctx.lake, BRONZE["people"]))
    lake.overwrite(spark, ctx.lake, SILVER_PEOPLE, people_df)
    events_df = silver_events(ctx, weeks).persist()
    lake.replace_weeks(spark, ctx.lake, SILVER_EVENTS, events_df, weeks)
    interactions_df = silver.interactions(events_df, ctx.settings.ties)
    lake.replace_weeks(spark, ctx.lake, SILVER_INTERACTIONS, interactions_df, weeks)
    counts = (
        events_df.groupBy("kind")
        .agg(
            F.count("*").alias("events"),
            F.sum(F.col("is_broadcast").cast("int")).alias("broadcast"),
            F.sum(F.col("is_cancelled").cast("int")).alias("cancelled"),
            F.sum((~F.col("forms_ties")).cast("int")).alias("no_ties"),
        )
        .collect()
    )
    events_df.unpersist()
    return {r["kind"]: {k: int(r[k] or 0) for k in ("events", "broadcast", "cancelled", "no_ties")} for r in counts}


# ---------------------------------------------------------------- gold + gates + publish

def gold_frames(ctx: RunContext, weeks: list[date]) -> dict[str, DataFrame]:
    """Candidate gold tables for the weeks, from silver (nothing is written here)."""
    spark = ctx.spark
    week_filter = F.col("week_start").isin(weeks)
    interactions_df = lake.read(spark, ctx.lake, SILVER_INTERACTIONS).where(week_filter)
    events_df = lake.read(spark, ctx.lake, SILVER_EVENTS).where(week_filter)
    people_df = lake.read(spark, ctx.lake, SILVER_PEOPLE)

    edges_df = gold.edges_weekly(interactions_df).persist()
    node_metrics_df = weekly_node_metrics(edges_df, ctx.settings.max_local_edges).persist()
    group_df = gold.group_metrics_weekly(edges_df, people_df, ctx.settings.privacy).persist()
    person_df = gold.person_metrics_weekly(
        gold.degrees(edges_df), node_metrics_df, gold.load_metrics(events_df), people_df, weeks
    ).persist()
    summary_df = gold.network_summary_weekly(edges_df, node_metrics_df, group_df, weeks).persist()
    return {
        EDGES_WEEKLY.path: edges_df,
        PERSON_METRICS_WEEKLY.path: person_df,
        GROUP_METRICS_WEEKLY.path: group_df,
        NETWORK_SUMMARY_WEEKLY.path: summary_df,
    }


def _published_row_counts(ctx: RunContext, table) -> dict[date, int]:
    """Rows per published week of a gold table: the volume baseline of its suite."""
    if not lake.exists(ctx.spark, ctx.lake, table):
        return {}
    rows = lake.read(ctx.spark, ctx.lake, table).groupBy("week_start").count().collect()
    return {r["week_start"]: int(r["count"]) for r in rows}


def _suite_inputs(ctx: RunContext, roster: frozenset[str], counts: dict[date, int], week: date,
                  has_ties: bool) -> SuiteInputs:
    trailing = tuple(n for w, n in sorted(counts.items()) if week - timedelta(weeks=4) <= w < week)
    return SuiteInputs(roster=roster, trailing_row_counts=trailing,
                       min_group_size=ctx.settings.privacy.min_group_size, has_ties=has_ties)


@dataclass
class GateOutcome:
    results: list[GateResult]
    published: list[date]
    groups_suppressed: int


def gate_and_publish(ctx: RunContext, weeks: list[date]) -> GateOutcome:
    """Validate every gold table week by week; publish a week only when all its fail-level
    checks pass (all four tables together), else the previous version stays current."""
    frames = gold_frames(ctx, weeks)
    roster = frozenset(r["person"] for r in lake.read(ctx.spark, ctx.lake, SILVER_PEOPLE).select("person").collect())
    counts = {table.path: _published_row_counts(ctx, table) for table in GOLD_TABLES}
    weeks_with_ties = {
        r["week_start"] for r in frames[EDGES_WEEKLY.path].select("week_start").distinct().collect()
    }
    results: list[GateResult] = []
    published: list[date] = []
    for week in sorted(weeks):
        log.info("gates for week %s", label(week))
        week_results = [
            run_gate(table, week, frames[table.path].where(F.col("week_start") == F.lit(week)),
                     _suite_inputs(ctx, roster, counts[table.path], week, week in weeks_with_ties))
            for table in GOLD_TABLES
        ]
        results.extend(week_results)
        if all(r.success for r in week_results):
            published.append(week)
        else:
            failed = [f"{r.table}: {c.check}" for r in week_results for c in r.failed_fail]
            log.error("week %s NOT published; failed checks: %s", label(week), "; ".join(failed))
    log.info("publishing weeks %s", ", ".join(label(w) for w in published))
    if published:
        for table in GOLD_TABLES:
            frame = frames[table.path].where(F.col("week_start").isin(published))
            lake.replace_weeks(ctx.spark, ctx.lake, table, frame, published)
    _record_validation_runs(ctx, results, published)
    suppressed = frames[GROUP_METRICS_WEEKLY.path].where(F.col("is_suppressed")).count()
    for frame in frames.values():
        frame.unpersist()
    return GateOutcome(results, published, suppressed)


def _record_validation_runs(ctx: RunContext, results: list[GateResult], published: list[date]) -> None:
    report = str(ctx.report_dir / "validation.html")
    checked_at = datetime.now(timezone.utc)
    rows = [
        (ctx.run_id, r.table, r.week_start, r.suite, r.success, r.week_start in published,
         len(r.checks), len(r.failed_fail), len(r.failed_warn),
         [f"{c.level}: {c.check}" for c in r.failed_fail + r.failed_warn],
         ctx.pseudo.key_version, checked_at, report, ctx.build_started_at or ctx.started_at)
        for r in results
    ]
    if rows:
        lake.merge_rows(ctx.spark, ctx.lake, VALIDATION_RUNS_TABLE,
                        ctx.spark.createDataFrame(rows, VALIDATION_RUNS_TABLE.schema))


# ---------------------------------------------------------------- the whole run

@dataclass
class RunSummary:
    run_id: str
    key_version: str
    weeks: list[str]
    sources: dict[str, dict]
    silver: dict
    gates: list[dict]
    published_weeks: list[str]
    groups_suppressed: int
    report: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, default=str)


def build_weeks(ctx: RunContext, weeks: list[date], sources: list[SourceSummary]) -> RunSummary:
    from jobs.quality.report import write_report

    ctx.build_started_at = datetime.now(timezone.utc)
    silver_counts = build_silver(ctx, weeks) if weeks else {}
    log.info("silver built for %s", ", ".join(label(w) for w in weeks))
    outcome = gate_and_publish(ctx, weeks) if weeks else GateOutcome([], [], 0)
    results = outcome.results
    summary = RunSummary(
        run_id=ctx.run_id,
        key_version=ctx.pseudo.key_version,
        weeks=[label(w) for w in weeks],
        sources={source_label(s): asdict(s) for s in sources},
        silver=silver_counts,
        gates=[
            {"table": r.table, "week": label(r.week_start), "success": r.success,
             "failed": [c.check for c in r.failed_fail], "warnings": [c.check for c in r.failed_warn]}
            for r in results
        ],
        published_weeks=[label(w) for w in outcome.published],
        groups_suppressed=outcome.groups_suppressed,
        report=str(ctx.report_dir / "validation.html"),
    )
    write_report(ctx, summary, results)
    return summary


def source_label(summary: SourceSummary) -> str:
    """How a source appears in run summaries: its kind, plus the API vendor when pulled."""
    return summary.source if summary.origin == "files" else f"{summary.source} ({summary.origin})"


def _context(landing: Path | None, lake_root: Path, settings: Settings | None, spark: SparkSession | None) -> RunContext:
    from jobs.spark import get_spark

    spark = spark or get_spark()
    landing = Path(landing) if landing else None
    return RunContext(spark=spark, lake=Path(lake_root),
                      pseudo=make_pseudonymiser(landing, spark=spark, lake_root=Path(lake_root)),
                      settings=settings or Settings.from_env())


def ingest(landing: Path, lake_root: Path, source: str, weeks: list[date] | None = None,
           settings: Settings | None = None, spark: SparkSession | None = None) -> SourceSummary:
    """One source's landed files into bronze (the ingest DAGs' task)."""
    ctx = _context(landing, lake_root, settings, spark)
    return ingest_source(ctx, Path(landing), source, week_window(weeks) if weeks else None)


def build(landing: Path | None, lake_root: Path, weeks: list[date],
          settings: Settings | None = None, spark: SparkSession | None = None) -> RunSummary:
    """Silver, gold, gates and publish for the weeks (the weekly graph DAG's task); the report
    shows the latest ingest of each source."""
    ctx = _context(landing, lake_root, settings, spark)
    return build_weeks(ctx, weeks, latest_ingest_runs(ctx.spark, ctx.lake))


def run(landing: Path | None, lake_root: Path, weeks: list[date] | None = None,
        settings: Settings | None = None, spark: SparkSession | None = None,
        now: datetime | None = None) -> RunSummary:
    """`ona run`: ingest the landing folder when given (new and changed files only), then
    build, gate and publish the given weeks, or else every week that ingests (landed or
    pulled) touched since the lake's last build (`pending_weeks`)."""
    ctx = _context(landing, lake_root, settings, spark)
    window = week_window(weeks) if weeks else None
    summaries = [ingest_source(ctx, Path(landing), source, window) for source in SOURCES] if landing else []
    to_build = weeks or pending_weeks(ctx.spark, ctx.lake, now)
    shown = summaries or latest_ingest_runs(ctx.spark, ctx.lake)
    return build_weeks(ctx, to_build, shown)

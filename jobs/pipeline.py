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
from jobs.transforms import gold, silver
from jobs.weeks import label, parse_week, week_start
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

# Landing sub-folder of each source (PRODUCT.md / README).
LANDING_FOLDERS = {"email": "email", "calendar": "calendar", "chat": "chat/slack", "people": "people"}
# The timestamp that places a bronze record in a week.
EVENT_TIME = {"email": "sent_at", "calendar": "starts_at", "chat": "sent_at"}


@dataclass
class SourceSummary:
    source: str
    read: int = 0
    accepted: int = 0
    quarantined: int = 0
    duplicates: int = 0
    weeks: list[str] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass
class RunContext:
    spark: SparkSession
    lake: Path
    pseudo: Pseudonymiser
    settings: Settings = field(default_factory=Settings)
    run_id: str = field(default_factory=lambda: datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6])
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def report_dir(self) -> Path:
        return self.lake / "reports" / self.run_id


def internal_domains(landing: Path) -> frozenset[str]:
    """The organisation's mail domains: ONA_INTERNAL_DOMAINS, else those of the roster."""
    from jobs.sources.people import roster_domains

    configured = os.environ.get("ONA_INTERNAL_DOMAINS", "")
    if configured.strip():
        return frozenset(d.strip().lower() for d in configured.split(",") if d.strip())
    return roster_domains(landing / LANDING_FOLDERS["people"])


def make_pseudonymiser(landing: Path, key_file: str | None = None) -> Pseudonymiser:
    domains = internal_domains(landing)
    if not domains:
        log.warning("No roster and no ONA_INTERNAL_DOMAINS: every address counts as internal.")
    return Pseudonymiser(key=load_key(key_file), internal_domains=domains)


# ---------------------------------------------------------------- ingest (extract + load)

def parse_source(source: str, folder: Path, pseudo: Pseudonymiser, window=None) -> ParseOutcome:
    from jobs.sources.calendar import parse_calendar
    from jobs.sources.chat import parse_slack
    from jobs.sources.email import parse_email
    from jobs.sources.people import parse_people

    if source == "email":
        return parse_email(folder, pseudo)
    if source == "calendar":
        return parse_calendar(folder, pseudo, window)
    if source == "chat":
        return parse_slack(folder, pseudo)
    if source == "people":
        return parse_people(folder, pseudo)
    raise ValueError(f"unknown source {source!r}")


def ingest_source(ctx: RunContext, landing: Path, source: str, window=None) -> SourceSummary:
    """Parse one source's landed files and merge them into bronze; rejections to quarantine."""
    outcome = parse_source(source, landing / LANDING_FOLDERS[source], ctx.pseudo, window)
    summary = SourceSummary(source=source, read=outcome.read, quarantined=len(outcome.rejections))
    table = BRONZE[source]
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
    summary.accepted = len(unique)
    if source in EVENT_TIME:
        summary.weeks = sorted({label(week_start(r[EVENT_TIME[source]])) for r in unique.values()})
    for rejection in outcome.rejections:
        summary.reasons[rejection.reason] = summary.reasons.get(rejection.reason, 0) + 1

    names = table.schema.fieldNames()
    if unique:
        rows = [tuple({**provenance, **row}.get(n) for n in names) for row in unique.values()]
        lake.merge_rows(ctx.spark, ctx.lake, table, ctx.spark.createDataFrame(rows, table.schema))
    if outcome.rejections:
        q_table = QUARANTINE_TABLES[source]
        q_rows = [
            (r.record_ref, source, r.reason, ctx.run_id, ctx.started_at, r.file_ref)
            for r in {(r.record_ref, r.reason): r for r in outcome.rejections}.values()
        ]
        lake.merge_rows(ctx.spark, ctx.lake, q_table, ctx.spark.createDataFrame(q_rows, q_table.schema))
    _record_ingest_run(ctx, summary)
    log.info("ingest %s: read=%d accepted=%d quarantined=%d duplicates=%d", source,
             summary.read, summary.accepted, summary.quarantined, summary.duplicates)
    return summary


def _record_ingest_run(ctx: RunContext, summary: SourceSummary) -> None:
    row = (ctx.run_id, summary.source, summary.read, summary.accepted, summary.quarantined,
           summary.duplicates, summary.reasons, summary.weeks, ctx.pseudo.key_version,
           datetime.now(timezone.utc))
    lake.merge_rows(ctx.spark, ctx.lake, INGEST_RUNS_TABLE,
                    ctx.spark.createDataFrame([row], INGEST_RUNS_TABLE.schema))


def latest_ingest_runs(spark: SparkSession, lake_root: Path) -> list[SourceSummary]:
    """The most recent ingest of each source: what the weekly report shows as record counts."""
    from pyspark.sql import Window

    if not lake.exists(spark, lake_root, INGEST_RUNS_TABLE):
        return []
    newest = Window.partitionBy("source").orderBy(F.col("finished_at").desc())
    rows = (
        lake.read(spark, lake_root, INGEST_RUNS_TABLE)
        .withColumn("rank", F.row_number().over(newest))
        .where(F.col("rank") == 1)
        .collect()
    )
    return [
        SourceSummary(source=r["source"], read=r["read"], accepted=r["accepted"],
                      quarantined=r["quarantined"], duplicates=r["duplicates"],
                      weeks=list(r["weeks"]), reasons=dict(r["reasons"]))
        for r in sorted(rows, key=lambda r: SOURCES.index(r["source"]))
    ]


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
    rules = ctx.settings.ties
    return (
        silver.email_events(_bronze_weeks(ctx, "email", weeks), rules)
        .unionByName(silver.meeting_events(_bronze_weeks(ctx, "calendar", weeks), rules))
        .unionByName(silver.chat_events(_bronze_weeks(ctx, "chat", weeks), rules))
        .where(F.col("week_start").isin(weeks))
    )


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
         ctx.pseudo.key_version, checked_at, report)
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


def weeks_in(summaries: list[SourceSummary]) -> list[date]:
    return sorted({parse_week(w) for s in summaries for w in s.weeks})


def build_weeks(ctx: RunContext, weeks: list[date], sources: list[SourceSummary]) -> RunSummary:
    from jobs.quality.report import write_report

    silver_counts = build_silver(ctx, weeks) if weeks else {}
    log.info("silver built for %s", ", ".join(label(w) for w in weeks))
    outcome = gate_and_publish(ctx, weeks) if weeks else GateOutcome([], [], 0)
    results = outcome.results
    summary = RunSummary(
        run_id=ctx.run_id,
        key_version=ctx.pseudo.key_version,
        weeks=[label(w) for w in weeks],
        sources={s.source: asdict(s) for s in sources},
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


def _context(landing: Path, lake_root: Path, settings: Settings | None, spark: SparkSession | None) -> RunContext:
    from jobs.spark import get_spark

    return RunContext(spark=spark or get_spark(), lake=Path(lake_root),
                      pseudo=make_pseudonymiser(Path(landing)), settings=settings or Settings())


def ingest(landing: Path, lake_root: Path, source: str, weeks: list[date] | None = None,
           settings: Settings | None = None, spark: SparkSession | None = None) -> SourceSummary:
    """One source's landed files into bronze (the ingest DAGs' task)."""
    ctx = _context(landing, lake_root, settings, spark)
    return ingest_source(ctx, Path(landing), source, week_window(weeks) if weeks else None)


def build(landing: Path, lake_root: Path, weeks: list[date],
          settings: Settings | None = None, spark: SparkSession | None = None) -> RunSummary:
    """Silver, gold, gates and publish for the weeks (the weekly graph DAG's task); the report
    shows the latest ingest of each source."""
    ctx = _context(landing, lake_root, settings, spark)
    return build_weeks(ctx, weeks, latest_ingest_runs(ctx.spark, ctx.lake))


def run(landing: Path, lake_root: Path, weeks: list[date] | None = None,
        settings: Settings | None = None, spark: SparkSession | None = None) -> RunSummary:
    """`ona run`: ingest every source under the landing folder, then build, gate and publish
    every week present (or only the given weeks)."""
    ctx = _context(landing, lake_root, settings, spark)
    window = week_window(weeks) if weeks else None
    summaries = [ingest_source(ctx, Path(landing), source, window) for source in SOURCES]
    return build_weeks(ctx, weeks or weeks_in(summaries), summaries)

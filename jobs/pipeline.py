"""The job: landing -> bronze -> silver -> gold, gated. The CLI and the Airflow DAGs both call
these functions; they only wire the stages of jobs/stages/ (context, ingest, silver, gold,
gate, summary), each shown as a progress stage (jobs/progress.py).
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import date, datetime, timezone
from pathlib import Path

from pyspark.sql import SparkSession

from jobs import lake
from jobs.config import Settings
from jobs.progress import stage
from jobs.spark import expressions_for
from jobs.stages.context import EmptyLakeError, RunContext, open_context
from jobs.stages.gate import GateOutcome, gate_and_publish
from jobs.stages.ingest import (
    SourceSummary, erase_opted_out, ingest_sources, latest_ingest_runs, mark_weeks_touched, pending_weeks, source_label,
)
from jobs.stages.silver import build_silver
from jobs.stages.summary import RunSummary, privacy_facts
from jobs.weeks import label, week_window
from schemas.bronze import SOURCES
from schemas.quality import INGEST_RUNS_TABLE

log = logging.getLogger("ona")


def build_weeks(ctx: RunContext, weeks: list[date], sources: list[SourceSummary]) -> RunSummary:
    from jobs.quality.report import write_report

    ctx.build_started_at = datetime.now(timezone.utc)
    candidate, outcome = None, GateOutcome([], [], 0)
    if weeks:
        with stage(f"silver ({len(weeks)} week{'s' if len(weeks) > 1 else ''})"):
            candidate = build_silver(ctx, weeks)
        with expressions_for(ctx.spark, candidate.events):
            outcome = gate_and_publish(ctx, weeks, candidate.people)
    results = outcome.results
    with stage("report"):
        privacy = privacy_facts(ctx, sources, weeks, outcome)
        summary = RunSummary(
            run_id=ctx.run_id,
            key_version=ctx.pseudo.key_version,
            weeks=[label(w) for w in weeks],
            sources={source_label(s): asdict(s) for s in sources},
            silver=candidate.counts if candidate else {},
            gates=[
                {"table": r.table, "week": label(r.week_start), "success": r.success,
                 "failed": [c.check for c in r.failed_fail], "warnings": [c.check for c in r.failed_warn]}
                for r in results
            ],
            published_weeks=[label(w) for w in outcome.published],
            groups_suppressed=outcome.groups_suppressed,
            report=lake.join(ctx.report_dir, "validation.html"),
            waiting_weeks=[label(w) for w in outcome.waiting],
            privacy=privacy,
        )
        write_report(ctx.spark, ctx.report_dir, summary, results)
    return summary


def ingest(landing: Path, lake_root: Path, source: str, weeks: list[date] | None = None,
           settings: Settings | None = None, spark: SparkSession | None = None) -> SourceSummary:
    """One source's landed files into bronze (the ingest DAGs' task). Opted-out people are
    dropped here and erased from what the lake held (the weeks they touched rebuild next)."""
    ctx = open_context(landing, lake_root, settings, spark, reads_addresses=True)
    (summary,) = ingest_sources(ctx, Path(landing), [source], week_window(weeks) if weeks else None)
    mark_weeks_touched(ctx, erase_opted_out(ctx))
    return summary


def build(landing: Path | None, lake_root: Path, weeks: list[date],
          settings: Settings | None = None, spark: SparkSession | None = None) -> RunSummary:
    """Silver, gold, gates and publish for the weeks (the weekly graph DAG's task); the report
    shows the latest ingest of each source."""
    ctx = open_context(landing, lake_root, settings, spark, reads_addresses=False)
    return build_weeks(ctx, weeks, latest_ingest_runs(ctx.spark, ctx.lake))


def run(landing: Path | None, lake_root: Path, weeks: list[date] | None = None,
        settings: Settings | None = None, spark: SparkSession | None = None,
        now: datetime | None = None) -> RunSummary:
    """`ona run`: ingest the landing folder when given (new and changed files only), then
    build, gate and publish the given weeks, or else every week that ingests (landed or
    pulled) touched since the lake's last build (`pending_weeks`)."""
    ctx = open_context(landing, lake_root, settings, spark, reads_addresses=landing is not None)
    if landing is None and not lake.exists(ctx.spark, ctx.lake, INGEST_RUNS_TABLE):
        raise EmptyLakeError(ctx.lake)
    window = week_window(weeks) if weeks else None
    summaries = ingest_sources(ctx, Path(landing), list(SOURCES), window) if landing else []
    mark_weeks_touched(ctx, erase_opted_out(ctx))
    to_build = weeks or pending_weeks(ctx.spark, ctx.lake, now)
    shown = summaries or latest_ingest_runs(ctx.spark, ctx.lake)
    return build_weeks(ctx, to_build, shown)


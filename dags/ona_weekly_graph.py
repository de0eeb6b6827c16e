"""Weekly graph DAG: silver -> gold for a week, quality gates, publish.

Runs every Monday for the ISO week that just ended (the data interval, never now()), and
whenever all bronze assets have been updated, for the weeks those updates touched. A `weeks`
param (list of "2026-W10") overrides both, for backfills.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import AssetAll, AssetOrTimeSchedule, CronDataIntervalTimetable, Param, dag, task

from jobs.assets import BRONZE_ASSETS, path_params


@dag(
    dag_id="ona_weekly_graph",
    schedule=AssetOrTimeSchedule(
        timetable=CronDataIntervalTimetable("0 2 * * 1", timezone="UTC"),
        assets=AssetAll(*BRONZE_ASSETS.values()),
    ),
    start_date=datetime(2026, 1, 5),
    catchup=False,
    max_active_runs=1,
    tags=["ona", "graph", "weekly"],
    default_args={"retries": 1},
    params={**path_params(), "weeks": Param([], type="array", description='ISO weeks, e.g. ["2026-W10"]')},
    doc_md=__doc__,
)
def ona_weekly_graph():
    @task
    def weeks_to_build(params=None, data_interval_start=None, triggering_asset_events=None) -> list[str]:
        from jobs.weeks import label, week_start

        if params.get("weeks"):
            return sorted(params["weeks"])
        touched = {
            week
            for events in (triggering_asset_events or {}).values()
            for event in events
            for week in (event.extra or {}).get("weeks", [])
        }
        return sorted(touched) or [label(week_start(data_interval_start))]

    @task
    def build(weeks: list[str], params=None) -> dict:
        from pathlib import Path

        from jobs.pipeline import build as build_job
        from jobs.weeks import parse_week

        summary = build_job(Path(params["landing"]), Path(params["lake"]), [parse_week(w) for w in weeks])
        failed = [g for g in summary.gates if not g["success"]]
        if failed:
            # The unpublished weeks keep their previous version; the run shows red.
            raise RuntimeError(f"quality gate failed, not published: {failed}; report {summary.report}")
        return {"run_id": summary.run_id, "published": summary.published_weeks, "report": summary.report}

    build(weeks_to_build())


ona_weekly_graph()

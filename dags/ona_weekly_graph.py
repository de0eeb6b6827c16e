"""Weekly graph DAG: silver -> gold for the weeks to build, quality gates, publish, then the
weekly ONA report of each published week (<lake>/reports/<week>/index.html).

Runs every Monday at 02:00 UTC for the ISO week that just ended (the data interval, never
now()), and whenever ANY bronze asset is updated (an ingest or a pull): then it rebuilds
exactly the weeks those updates touched (the `weeks` of the triggering asset events' extra;
updates that touched no week, e.g. a roster, build nothing). Weeks after the current ISO week
are never built (jobs.weeks.buildable_weeks). A `weeks` param (list of "2026-W10") overrides
the rest, for backfills. See docs/orchestration.md.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import AssetAny, AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, task

from jobs.assets import BRONZE_ASSETS, path_params


@dag(
    dag_id="ona_weekly_graph",
    # No start_date on purpose: with one, unpausing the DAG would start a run at once for the
    # last Monday (catchup off still runs the latest slot); without, the first timed run is the
    # next Monday 02:00 (or last Monday's when unpaused within ~17 h of it).
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 2 * * 1", timezone="UTC", interval=timedelta(weeks=1)),
        assets=AssetAny(*BRONZE_ASSETS.values()),
    ),
    catchup=False,
    max_active_runs=1,
    tags=["ona", "graph", "weekly"],
    default_args={"retries": 1},
    params={**path_params(), "weeks": Param([], type="array", description='ISO weeks, e.g. ["2026-W10"]')},
    doc_md=__doc__,
)
def ona_weekly_graph():
    @task
    def weeks_to_build(params=None, dag_run=None, data_interval_start=None,
                       triggering_asset_events=None) -> list[str]:
        from datetime import datetime, timezone

        from jobs.weeks import weeks_for_run

        touched = [
            week
            for events in (triggering_asset_events or {}).values()
            for event in events
            for week in (event.extra or {}).get("weeks", [])
        ]
        return weeks_for_run(
            requested=params.get("weeks") or [],
            touched=touched,
            asset_triggered=getattr(dag_run, "run_type", None) == "asset_triggered",  # a str enum
            interval_start=data_interval_start,
            now=datetime.now(timezone.utc),
        )

    @task
    def build(weeks: list[str], params=None) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        if not weeks:
            raise AirflowSkipException("no week to build (the updates touched no week up to the current one)")

        from jobs.assets import folder_param
        from jobs.pipeline import build as build_job
        from jobs.weeks import parse_week

        landing = folder_param(params, "landing", required=False)
        summary = build_job(landing, folder_param(params, "lake"), [parse_week(w) for w in weeks])
        failed = [g for g in summary.gates if not g["success"]]
        if failed:
            # The unpublished weeks keep their previous version; the run shows red.
            raise RuntimeError(f"quality gate failed, not published: {failed}; report {summary.report}")
        return {"run_id": summary.run_id, "published": summary.published_weeks, "report": summary.report}

    @task
    def weekly_reports(built: dict, params=None) -> list[str]:
        """The weekly ONA report of each week the build published (docs/report.md). A task of
        its own: a retry redraws the pages without building the weeks again."""
        from jobs.assets import folder_param
        from jobs.spark import get_spark
        from jobs.weekly_report import write_weekly_report
        from jobs.weeks import parse_week

        lake = folder_param(params, "lake")
        return [str(write_weekly_report(get_spark(), lake, parse_week(w))) for w in built["published"]]

    weekly_reports(build(weeks_to_build()))


ona_weekly_graph()

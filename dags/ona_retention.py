"""Retention DAG: delete what is older than each layer's window, then VACUUM (`ona retain`).

Runs every Sunday at 03:00 UTC: away from the nightly pulls (01:00) and the Monday 02:00 graph
build, whose writes to the same tables would conflict with its deletes. The windows come from
the ONA_RETENTION_*_WEEKS and ONA_VACUUM_RETAIN_HOURS variables of the worker
(jobs.config.Settings.from_env); jobs.privacy.retention documents what each table is aged by
and the cutoff rule. One row per table goes to quality/retention_runs. See docs/privacy.md.
"""

from __future__ import annotations

from airflow.sdk import CronTriggerTimetable, dag, task

from jobs.assets import path_params


@dag(
    dag_id="ona_retention",
    # No start_date: unpausing does not delete at once; the first run is the next Sunday 03:00.
    schedule=CronTriggerTimetable("0 3 * * 0", timezone="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["ona", "privacy", "retention"],
    default_args={"retries": 1},
    params=path_params(),  # only "lake" is used
    doc_md=__doc__,
)
def ona_retention():
    @task
    def apply_retention(params=None) -> list[dict]:
        from jobs.assets import folder_param
        from jobs.config import Settings
        from jobs.privacy.retention import apply_retention as retain
        from jobs.spark import get_spark

        # Never the worker's current folder: an empty `lake` is refused.
        rows = retain(get_spark(), folder_param(params, "lake"), Settings.from_env().retention)
        # XCom is JSON: dates and timestamps as ISO text.
        return [{k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in r.items()} for r in rows]

    apply_retention()


ona_retention()

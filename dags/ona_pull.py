"""Pull DAGs, one per API vendor: the vendor's live API -> bronze, nightly, updating the bronze
assets of the kinds it pulls.

The task skips when the vendor's Airflow connection (`ona_<vendor>`) is not configured. Each
bronze asset event's extra is that kind's summary (counts and the ISO `weeks` its new records
touched), so that the weekly graph DAG rebuilds exactly those weeks. Thin on purpose: the work
is jobs.pull.run.pull (cursors in the lake's state table: a rerun fetches only changes).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

from airflow.sdk import CronTriggerTimetable, Param, dag, task

from jobs.assets import BRONZE_ASSETS, path_params
from jobs.source_kinds import VENDORS, vendor_kinds  # parse-time cheap


def make_pull_dag(vendor: str, kinds: tuple[str, ...]):
    outlets = [BRONZE_ASSETS[kind] for kind in kinds]

    @dag(
        dag_id=f"ona_pull_{vendor}",
        # No start_date: unpausing does not start a pull at once; the first one is the next 01:00.
        schedule=CronTriggerTimetable("0 1 * * *", timezone="UTC"),
        catchup=False,
        max_active_runs=1,
        tags=["ona", "pull", vendor],
        default_args={"retries": 2, "retry_delay": timedelta(minutes=10)},
        params={
            **path_params(),  # landing: optional, only for the roster's internal domains
            "weeks": Param([], type="array",
                           description='bound a backfill to ISO weeks, e.g. ["2026-W10", "2026-W12"] '
                                       "(as `ona pull --weeks`); empty: changes since the cursors"),
        },
        doc_md=__doc__,
    )
    def pull_dag():
        @task(task_id=f"pull_{vendor}", outlets=outlets)
        def pull(params=None, outlet_events=None):
            from airflow.sdk.exceptions import AirflowSkipException

            from jobs.assets import folder_param
            from jobs.pull.connections import is_configured
            from jobs.pull.run import pull as pull_job
            from jobs.weeks import parse_week

            if not is_configured(vendor):
                raise AirflowSkipException(f"connection ona_{vendor} is not configured")
            landing = folder_param(params, "landing", required=False)
            weeks = sorted(parse_week(w) for w in params.get("weeks") or []) or None
            summary = pull_job(folder_param(params, "lake"), [vendor], weeks, landing=landing)
            kind_summaries = {}
            for value in summary.kinds.values():  # "<kind> (<vendor>)" -> SourceSummary (as a dict)
                value = value if isinstance(value, dict) else asdict(value)
                kind_summaries[value["source"]] = value
                # The event's extra carries the weeks the kind's new records touched.
                outlet_events[BRONZE_ASSETS[value["source"]]].extra = value
            return kind_summaries

        pull()

    return pull_dag()


for _vendor in VENDORS:
    globals()[f"ona_pull_{_vendor}"] = make_pull_dag(_vendor, vendor_kinds(_vendor))

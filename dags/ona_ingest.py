"""Ingest DAGs, one per source kind: landed exports -> bronze/<source>, updating its Asset.

Event-driven: each DAG is scheduled on its landing folder's asset (`ona_landing_<source>`),
which the triggerer updates when a writer drops `<landing>/<folder>/_READY` after a complete
export (the watcher deletes the flag). Without ONA_LANDING at parse time there is no watcher
and the DAG runs only when triggered by hand (conf: landing, lake).

Thin on purpose: the work is jobs.pipeline.ingest, the same code as `ona run`. The asset event
carries the run's counts and the ISO weeks it touched, so that the weekly graph DAG rebuilds
exactly those weeks.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from airflow.sdk import dag, task

from jobs.assets import BRONZE_ASSETS, LANDING_ASSETS, path_params
from schemas import SOURCES


def make_ingest_dag(source: str):
    @dag(
        dag_id=f"ona_ingest_{source}",
        schedule=[LANDING_ASSETS[source]],
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        tags=["ona", "ingest", source],
        default_args={"retries": 2},
        params=path_params(),
        doc_md=__doc__,
    )
    def ingest_dag():
        @task(task_id=f"ingest_{source}", outlets=[BRONZE_ASSETS[source]])
        def ingest(params=None, outlet_events=None):
            from jobs.assets import folder_param
            from jobs.pipeline import ingest as ingest_job

            summary = ingest_job(folder_param(params, "landing"), folder_param(params, "lake"), source)
            outlet_events[BRONZE_ASSETS[source]].extra = asdict(summary)
            return asdict(summary)

        ingest()

    return ingest_dag()


for _source in SOURCES:
    globals()[f"ona_ingest_{_source}"] = make_ingest_dag(_source)

"""The DAG files import cleanly, stay thin, and are wired as documented."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
INGEST_IDS = {f"ona_ingest_{s}" for s in ("email", "calendar", "chat", "people")}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER))


def test_no_import_errors_and_all_dags_present(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == INGEST_IDS | {"ona_weekly_graph"}


def test_every_dag_is_tagged_and_retries(dagbag):
    for dag_id in dagbag.dag_ids:
        dag = dagbag.get_dag(dag_id)
        assert "ona" in dag.tags, dag_id
        for task in dag.tasks:
            assert task.retries >= 1, f"{dag_id}.{task.task_id}"


def test_ingest_dags_update_their_bronze_asset(dagbag):
    for dag_id in INGEST_IDS:
        source = dag_id.removeprefix("ona_ingest_")
        (task,) = dagbag.get_dag(dag_id).tasks
        assert [a.name for a in task.outlets] == [f"ona_bronze_{source}"]


def test_weekly_dag_runs_on_assets_or_weekly(dagbag):
    from airflow.sdk import AssetAll, AssetOrTimeSchedule

    dag = dagbag.get_dag("ona_weekly_graph")
    assert isinstance(dag.timetable, AssetOrTimeSchedule)
    condition = dag.timetable.asset_condition
    assert isinstance(condition, AssetAll)  # every source updated since the last run
    assert {a.name for a in condition.objects} == {
        f"ona_bronze_{s}" for s in ("email", "calendar", "chat", "people")
    }
    assert [t.task_id for t in dag.topological_sort()] == ["weeks_to_build", "build"]


def test_dag_files_do_no_heavy_work_at_parse_time():
    """Parsing the DAG folder must not import Spark, GX or the parsers (scheduler cost)."""
    code = (
        "import sys, runpy, pathlib\n"
        f"folder = pathlib.Path({str(DAGS_FOLDER)!r})\n"
        "for f in sorted(folder.glob('*.py')): runpy.run_path(str(f))\n"
        "heavy = [m for m in ('pyspark', 'great_expectations', 'igraph', 'jobs.pipeline') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=os.environ.copy(), timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == ""

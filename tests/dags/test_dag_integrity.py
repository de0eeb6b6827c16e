"""The DAG files import cleanly, stay thin, and are wired as documented."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
SOURCES = ("email", "calendar", "chat", "people")
INGEST_IDS = {f"ona_ingest_{s}" for s in SOURCES}
PULL_KINDS = {"msgraph": {"people", "email", "calendar"}, "google": {"people", "email", "calendar"},
              "slack": {"chat"}}
PULL_IDS = {f"ona_pull_{v}" for v in PULL_KINDS}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER))


def test_no_import_errors_and_all_dags_present(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == INGEST_IDS | PULL_IDS | {"ona_weekly_graph", "ona_retention"}


def test_every_dag_is_tagged_and_retries(dagbag):
    for dag_id in dagbag.dag_ids:
        dag = dagbag.get_dag(dag_id)
        assert "ona" in dag.tags, dag_id
        assert dag.max_active_runs == 1, dag_id
        assert not dag.catchup, dag_id
        for task in dag.tasks:
            assert task.retries >= 1, f"{dag_id}.{task.task_id}"


def test_ingest_dags_run_on_their_landing_asset_and_update_their_bronze_asset(dagbag):
    from airflow.sdk import AssetAll

    for dag_id in INGEST_IDS:
        source = dag_id.removeprefix("ona_ingest_")
        dag = dagbag.get_dag(dag_id)
        condition = dag.timetable.asset_condition
        assert isinstance(condition, AssetAll)
        assert [a.name for a in condition.objects] == [f"ona_landing_{source}"]
        assert set(dag.params) >= {"landing", "lake"}  # manual runs pass their folders
        (task,) = dag.tasks
        assert [a.name for a in task.outlets] == [f"ona_bronze_{source}"]


def test_pull_dags_nightly_with_the_bronze_assets_of_their_kinds(dagbag):
    from airflow.sdk import CronTriggerTimetable

    for vendor, kinds in PULL_KINDS.items():
        dag = dagbag.get_dag(f"ona_pull_{vendor}")
        assert set(dag.tags) == {"ona", "pull", vendor}
        assert isinstance(dag.timetable, CronTriggerTimetable)
        assert (dag.timetable.expression, str(dag.timetable.timezone)) == ("0 1 * * *", "UTC")
        assert set(dag.params) >= {"landing", "lake"}
        (task,) = dag.tasks
        assert {a.name for a in task.outlets} == {f"ona_bronze_{k}" for k in kinds}


def test_weekly_dag_runs_on_any_bronze_asset_or_weekly(dagbag):
    from airflow.sdk import AssetAny, AssetOrTimeSchedule

    dag = dagbag.get_dag("ona_weekly_graph")
    assert isinstance(dag.timetable, AssetOrTimeSchedule)
    condition = dag.timetable.asset_condition
    assert isinstance(condition, AssetAny)  # each ingest/pull rebuilds the weeks it touched
    assert {a.name for a in condition.objects} == {f"ona_bronze_{s}" for s in SOURCES}
    assert (dag.timetable.timetable.expression, str(dag.timetable.timetable.timezone)) == ("0 2 * * 1", "UTC")
    assert [t.task_id for t in dag.topological_sort()] == ["weeks_to_build", "build", "weekly_reports"]


def test_landing_watchers_follow_ona_landing(tmp_path):
    """With ONA_LANDING at parse time each landing asset has a FileDeleteTrigger on its folder's
    _READY flag; without it, no watcher (manual runs only)."""
    code = (
        "import json\n"
        "from jobs.assets import LANDING_ASSETS\n"
        "out = {}\n"
        "for source, asset in LANDING_ASSETS.items():\n"
        "    out[source] = [(w.name, type(w.trigger).__name__, w.trigger.filepath) for w in asset.watchers]\n"
        "print(json.dumps(out))\n"
    )

    def watchers(landing: str | None) -> dict:
        env = {k: v for k, v in os.environ.items() if k != "ONA_LANDING"}
        if landing is not None:
            env["ONA_LANDING"] = landing
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                                timeout=120)
        assert result.returncode == 0, result.stderr[-2000:]
        return json.loads(result.stdout.strip().splitlines()[-1])

    assert watchers(None) == {s: [] for s in SOURCES}
    watched = watchers(str(tmp_path))
    folders = {"email": "email", "calendar": "calendar", "chat": "chat/slack", "people": "people"}
    assert watched == {
        s: [[f"ona_landing_{s}_ready", "FileDeleteTrigger", str(tmp_path / folders[s] / "_READY")]]
        for s in SOURCES
    }


def test_dag_files_do_no_heavy_work_at_parse_time(tmp_path):
    """Parsing the DAG folder must not import Spark, GX or the parsers (scheduler cost), with
    or without watchers."""
    code = (
        "import sys, runpy, pathlib\n"
        f"folder = pathlib.Path({str(DAGS_FOLDER)!r})\n"
        "for f in sorted(folder.glob('*.py')): runpy.run_path(str(f))\n"
        "heavy = [m for m in ('pyspark', 'great_expectations', 'igraph', 'jobs.pipeline', 'jobs.pull.run')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "ONA_LANDING": str(tmp_path)}, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == ""


def _outlet_events():
    from collections import defaultdict
    from types import SimpleNamespace

    return defaultdict(lambda: SimpleNamespace(extra={}))


def test_weeks_to_build_reads_the_triggering_events(dagbag):
    """An asset-triggered run builds the weeks its events touched (future ones left out); a
    roster update (no weeks) builds nothing and the build task skips."""
    from types import SimpleNamespace

    from airflow.sdk.exceptions import AirflowSkipException

    from jobs.assets import BRONZE_ASSETS

    dag = dagbag.get_dag("ona_weekly_graph")
    weeks_to_build = dag.get_task("weeks_to_build").python_callable
    event = lambda weeks: SimpleNamespace(extra={"source": "x", "weeks": weeks})  # noqa: E731
    events = {BRONZE_ASSETS["calendar"]: [event(["2026-W14", "2099-W01"]), event(["2026-W10"])],
              BRONZE_ASSETS["people"]: [SimpleNamespace(extra={"source": "people", "weeks": []})]}
    asset_run = SimpleNamespace(run_type="asset_triggered")
    assert weeks_to_build(params={"weeks": []}, dag_run=asset_run, data_interval_start=None,
                          triggering_asset_events=events) == ["2026-W10", "2026-W14"]
    roster_only = {BRONZE_ASSETS["people"]: [SimpleNamespace(extra={"weeks": []})]}
    assert weeks_to_build(params={"weeks": []}, dag_run=asset_run, data_interval_start=None,
                          triggering_asset_events=roster_only) == []
    assert weeks_to_build(params={"weeks": ["2026-W03"]}, dag_run=asset_run, data_interval_start=None,
                          triggering_asset_events=events) == ["2026-W03"]
    with pytest.raises(AirflowSkipException):
        dag.get_task("build").python_callable([], params={"landing": "", "lake": "/nowhere"})


def test_pull_task_skips_unconfigured_vendors_and_sends_each_kinds_weeks(dagbag, monkeypatch):
    from types import SimpleNamespace

    from airflow.sdk.exceptions import AirflowSkipException

    from jobs.assets import BRONZE_ASSETS
    from jobs.pull import connections, run

    pull = dagbag.get_dag("ona_pull_msgraph").get_task("pull_msgraph").python_callable
    monkeypatch.setattr(connections, "is_configured", lambda vendor: False)
    with pytest.raises(AirflowSkipException):
        pull(params={"landing": "", "lake": "/lake"}, outlet_events=_outlet_events())

    calls = []

    def fake_pull(lake, vendors, weeks=None, landing=None):
        calls.append((lake, vendors, weeks, landing))
        return SimpleNamespace(kinds={
            "people (msgraph)": {"source": "people", "origin": "msgraph", "weeks": []},
            "calendar (msgraph)": {"source": "calendar", "origin": "msgraph", "weeks": ["2026-W14"]},
        })

    monkeypatch.setattr(connections, "is_configured", lambda vendor: vendor == "msgraph")
    monkeypatch.setattr(run, "pull", fake_pull)
    outlet_events = _outlet_events()
    pull(params={"landing": "", "lake": "/lake"}, outlet_events=outlet_events)
    assert [(str(c[0]), c[1], c[2], c[3]) for c in calls] == [("/lake", ["msgraph"], None, None)]
    assert outlet_events[BRONZE_ASSETS["calendar"]].extra["weeks"] == ["2026-W14"]
    assert outlet_events[BRONZE_ASSETS["people"]].extra["weeks"] == []
    assert outlet_events[BRONZE_ASSETS["email"]].extra == {}  # not pulled: no weeks to build


@pytest.mark.parametrize("dag_id, task_id", [
    ("ona_ingest_email", "ingest_email"),
    ("ona_weekly_graph", "build"),
    ("ona_weekly_graph", "weekly_reports"),
    ("ona_pull_msgraph", "pull_msgraph"),
    ("ona_retention", "apply_retention"),
])
def test_a_run_without_its_lake_folder_is_refused_not_run_in_the_working_directory(
        dagbag, dag_id, task_id, monkeypatch, tmp_path):
    """ONA_LAKE unset and no run conf: the task fails with one clear error before touching
    anything, and nothing appears in the worker's working directory."""
    from jobs.assets import MissingFolderParam
    from jobs.pull import connections

    monkeypatch.setattr(connections, "is_configured", lambda vendor: True)
    monkeypatch.chdir(tmp_path)
    task = dagbag.get_dag(dag_id).get_task(task_id).python_callable
    kwargs = {"params": {"landing": "/landing", "lake": "", "weeks": []}}
    if task_id == "build":
        kwargs["weeks"] = ["2026-W10"]
    if task_id == "weekly_reports":
        kwargs["built"] = {"published": ["2026-W10"]}
    if dag_id.startswith(("ona_ingest", "ona_pull")):
        kwargs["outlet_events"] = _outlet_events()
    with pytest.raises(MissingFolderParam, match="the DAG param 'lake' is empty: set ONA_LAKE"):
        task(**kwargs)
    assert list(tmp_path.iterdir()) == []

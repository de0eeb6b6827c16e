"""The event chain with the real Airflow components (no dag.test()):

    landing/calendar/_READY --triggerer--> ona_landing_calendar --scheduler--> ona_ingest_calendar
    --> ona_bronze_calendar (extra: weeks) --> ona_weekly_graph builds exactly those weeks.

Scheduler, triggerer, DAG processor and API server run as separate processes in a temporary
AIRFLOW_HOME (own SQLite DB, LocalExecutor, parallelism 2), with ONA_LANDING / ONA_LAKE in
temporary folders. Each component is stopped by its process id in `finally`.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest

from tests.ports import free_port

pytestmark = pytest.mark.slow

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
# Within a tenth of a week after a Monday 02:00, unpausing also starts the timed run of the week
# before, and the asset-triggered run waits for it (one active run): two builds, two report
# tasks (326 s on a Monday with a second test run beside it).
DEADLINE_SECONDS = 10 * 60

# One meeting in 2026-W14 (Monday 2026-03-30) between three internal people.
ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//ona tests//live scheduler//EN
BEGIN:VEVENT
UID:live-test-meeting-1@example.org
DTSTAMP:20260325T090000Z
DTSTART:20260331T100000Z
DTEND:20260331T103000Z
SUMMARY:Planning (content: must never reach the lake)
ORGANIZER;CN=Ada:mailto:ada@example.org
ATTENDEE;CN=Ben;PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT:mailto:ben@example.org
ATTENDEE;CN=Cy;PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT:mailto:cy@example.org
STATUS:CONFIRMED
END:VEVENT
END:VCALENDAR
"""


class Airflow:
    """The components as child processes, and a small client of the public REST API."""

    def __init__(self, home: Path, env: dict[str, str], port: int):
        self.home, self.env, self.port = home, env, port
        self.procs: dict[str, subprocess.Popen] = {}
        self.started = time.monotonic()
        self.logs: dict[str, Path] = {}

    def cli(self, *args: str, timeout: float = 180) -> None:
        result = subprocess.run([str(VENV_BIN / "airflow"), *args], env=self.env, capture_output=True,
                                text=True, timeout=timeout, cwd=self.home)
        assert result.returncode == 0, f"airflow {' '.join(args)}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"

    def start(self, component: str) -> None:
        log = self.home / f"{component}.log"
        self.logs[component] = log
        with open(log, "wb") as out:
            # Own session: the component and its workers form a group of their own.
            self.procs[component] = subprocess.Popen(
                [str(VENV_BIN / "airflow"), *component.split()], env=self.env, stdout=out,
                stderr=subprocess.STDOUT, cwd=self.home, start_new_session=True)

    def stop(self) -> None:
        """SIGTERM each component by its pid, wait, then SIGKILL what is left of its group."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for proc in self.procs.values():
            # Workers and supervisors the component started are in its process group (its pid).
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if proc.poll() is None:
                proc.wait(timeout=10)

    def dead(self) -> list[str]:
        return [name for name, proc in self.procs.items() if proc.poll() is not None]

    def print_logs(self, tail: int = 120) -> None:
        for name, log in self.logs.items():
            lines = log.read_text(errors="replace").splitlines() if log.exists() else []
            print(f"\n===== {name} (last {tail} of {len(lines)} lines) =====")
            print("\n".join(lines[-tail:]))
        task_logs = sorted((self.home / "logs").rglob("*.log")) if (self.home / "logs").exists() else []
        for log in task_logs:
            if "dag_id=" in str(log):
                lines = log.read_text(errors="replace").splitlines()
                print(f"\n===== {log.relative_to(self.home)} (last {tail}) =====")
                print("\n".join(lines[-tail:]))

    def api(self, method: str, path: str, body: dict | None = None):
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/v2{path}", method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, None
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return None, None

    def runs(self, dag_id: str) -> list[dict]:
        status, body = self.api("GET", f"/dags/{dag_id}/dagRuns")
        return sorted(body["dag_runs"], key=lambda r: r["run_after"]) if status == 200 else []


def _wait(airflow: Airflow, what: str, check, deadline: float, every: float = 2.0):
    while time.monotonic() < deadline:
        dead = airflow.dead()
        assert not dead, f"component(s) exited: {dead}"
        value = check()
        if value:
            print(f"{time.monotonic() - airflow.started:6.1f} s  {what}")
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def test_ready_flag_triggers_ingest_then_weekly_graph_builds_the_week(tmp_path):
    from deltalake import DeltaTable

    from jobs.weeks import week_start

    started = time.monotonic()
    home, landing, lake = tmp_path / "airflow", tmp_path / "landing", tmp_path / "lake"
    home.mkdir()
    (landing / "calendar").mkdir(parents=True)
    (landing / "calendar" / "team.ics").write_text(ICS)
    # The writer's flag: the export is complete. It may come before the watcher exists.
    (landing / "calendar" / "_READY").touch()

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "ONA_"))}
    env.update({
        "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "ONA_LANDING": str(landing),
        "ONA_LAKE": str(lake),
        "ONA_PSEUDONYM_KEY": "a1e012baef10815caa4c7af4fcbe5d1869bdaa9958d754fe249b0e216535c74a",
        "ONA_INTERNAL_DOMAINS": "example.org",
        "ONA_DRIVER_MEMORY": "1g",
        "GX_ANALYTICS_ENABLED": "false",
        "PYTHONUNBUFFERED": "1",
    })
    airflow = Airflow(home, env, port)
    ok = False
    try:
        airflow.cli("db", "migrate")
        print(f"{time.monotonic() - started:6.1f} s  db migrate")
        for component in COMPONENTS:
            airflow.start(component)
        deadline = started + DEADLINE_SECONDS

        # The DAG processor has parsed the folder: unpause the two DAGs of the chain (only those:
        # the pull DAGs would run nothing here), then have the ingest file parsed again so that
        # the watcher of the now-scheduled landing asset is registered with the triggerer.
        _wait(airflow, "the DAGs to be parsed",
              lambda: all(airflow.api("GET", f"/dags/{d}")[0] == 200
                          for d in ("ona_ingest_calendar", "ona_weekly_graph")), deadline)
        for dag_id in ("ona_ingest_calendar", "ona_weekly_graph"):
            status, _ = airflow.api("PATCH", f"/dags/{dag_id}", {"is_paused": False})
            assert status == 200, f"unpause {dag_id}: {status}"
        _, details = airflow.api("GET", "/dags/ona_ingest_calendar/details")
        status, _ = airflow.api("PUT", f"/parseDagFile/{details['file_token']}")
        assert status in (200, 201), f"parse request: {status}"

        # The triggerer deletes the flag and updates the landing asset: an ingest run.
        _wait(airflow, "an ona_ingest_calendar run", lambda: airflow.runs("ona_ingest_calendar"), deadline)
        ingest = _wait(airflow, "a successful ona_ingest_calendar run", lambda: next(
            (r for r in airflow.runs("ona_ingest_calendar") if r["state"] in ("success", "failed")), None),
            deadline)
        assert not (landing / "calendar" / "_READY").exists(), "the watcher consumes the flag"
        assert ingest["run_type"] == "asset_triggered"
        assert ingest["state"] == "success", ingest

        # The bronze asset event (extra: weeks ["2026-W14"]) triggers the weekly graph.
        def weekly_run(finished: bool):
            return next((r for r in airflow.runs("ona_weekly_graph") if r["run_type"] == "asset_triggered"
                         and (not finished or r["state"] in ("success", "failed"))), None)

        _wait(airflow, "an asset-triggered ona_weekly_graph run", lambda: weekly_run(False), deadline)
        weekly = _wait(airflow, "a finished ona_weekly_graph run", lambda: weekly_run(True), deadline)
        assert weekly["state"] == "success", weekly
        status, xcom = airflow.api(
            "GET", f"/dags/ona_weekly_graph/dagRuns/{weekly['dag_run_id']}/taskInstances/weeks_to_build"
                   "/xcomEntries/return_value")
        assert status == 200 and xcom["value"] in (["2026-W14"], '["2026-W14"]'), xcom
        # No timed run on unpausing, except when unpaused within a tenth of a week after a Monday
        # 02:00 (CronTriggerTimetable then runs that slot: the week before it).
        timed = [r for r in airflow.runs("ona_weekly_graph") if r["run_type"] != "asset_triggered"]
        assert all(r["run_type"] == "scheduled" for r in timed), timed
        timed_weeks = {str(week_start(datetime.fromisoformat(r["data_interval_start"]))) for r in timed}
        summary = DeltaTable(str(lake / "gold" / "network_summary_weekly")).to_pandas()
        assert set(summary["week_start"].astype(str)) - timed_weeks == {"2026-03-30"}
        assert int(summary.set_index(summary["week_start"].astype(str)).loc["2026-03-30", "nodes"]) == 3
        assert (lake / "reports" / "2026-W14" / "index.html").is_file()  # the weekly_reports task
        ok = True
    finally:
        try:
            if not ok:
                airflow.print_logs()
        finally:
            airflow.stop()
            print(f"live scheduler test: {time.monotonic() - started:.0f} s")
    assert airflow.dead() == list(airflow.procs)  # every component stopped

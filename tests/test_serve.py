"""`ona serve`: a BI tool's view of the lake over JDBC (Spark's Thrift server), queried with the
`beeline` client that ships with pyspark and compared with delta-rs reading the same tables.

The server runs as a process of its own, as a user starts it, and is stopped by its process id.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

import pytest

from tests.ports import free_port

pytestmark = pytest.mark.slow

VENV_BIN = Path(sys.executable).parent
# What a BI tool may see of the small organisation's lake, by hand: the gold tables and the
# quality tables its first run wrote (no privacy budget, erasure, retention or approval yet).
BI_NAMES = {"edges_weekly", "person_metrics_weekly", "group_metrics_weekly", "group_cohesion_weekly",
            "onboarding_cohorts_weekly", "network_summary_weekly",
            "validation_runs", "ingest_runs", "published_weeks"}


@lru_cache(maxsize=1)
def _java_home() -> str:
    return subprocess.run([sys.executable, "-m", "jobs.java", "home"], capture_output=True, text=True,
                          check=True).stdout.strip()


def _beeline(port: int, *args: str) -> subprocess.CompletedProcess:
    import pyspark

    java_home = _java_home()
    command = [str(Path(pyspark.__file__).parent / "bin" / "beeline"),
               "-u", f"jdbc:hive2://127.0.0.1:{port}/ona", "-n", "bi", "--silent=true",
               "--outputformat=csv2", "--showHeader=false", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=180,
                          env={**os.environ, "JAVA_HOME": java_home})


def _rows(port: int, sql: str) -> list[list[str]]:
    """The rows of one query, as beeline prints them (csv2, no header)."""
    done = _beeline(port, "-e", sql)
    assert done.returncode == 0, f"beeline: {done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    # With --silent the answer may share a line with beeline's prompt; rows are the CSV lines.
    lines = [line.split("> ", 1)[-1] for line in done.stdout.splitlines()]
    return [row for row in csv.reader(io.StringIO("\n".join(lines))) if row and not row[0].startswith("0: jdbc")]


class Server:
    """`ona serve` as a child process; its output goes to files so that nothing blocks on a pipe."""

    def __init__(self, lake: Path, port: int, folder: Path):
        self.out, self.err = folder / "serve.out", folder / "serve.err"
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            # The lake as a newcomer types it: relative to the working directory.
            self.proc = subprocess.Popen(
                [str(VENV_BIN / "ona"), "serve", "--lake", os.path.relpath(lake, folder), "--port", str(port)],
                stdout=out, stderr=err, cwd=folder, env={**os.environ, "ONA_LOG_DIR": str(folder / "logs")})

    def wait_ready(self, timeout: float = 300) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.out.read_text()
            if "accepting connections" in text:
                return text
            assert self.proc.poll() is None, f"ona serve exited {self.proc.returncode}:\n{self.err.read_text()[-3000:]}"
            time.sleep(0.5)
        raise AssertionError(f"ona serve never accepted connections:\n{self.err.read_text()[-3000:]}")

    def stop(self) -> int:
        """SIGTERM by pid, as a service manager stops it; returns its exit code."""
        import psutil

        children = psutil.Process(self.proc.pid).children(recursive=True)  # the Spark JVM
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=60)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        gone, alive = psutil.wait_procs(children, timeout=30)
        assert not alive, f"still running after ona serve stopped: {alive}"
        return code


def _published_edges_by_week(lake: Path) -> dict[str, tuple[int, float]]:
    """The independent answer: delta-rs reads, and the pointer join written out by hand."""
    from deltalake import DeltaTable

    edges = DeltaTable(str(lake / "gold/edges_weekly")).to_pandas()
    pointer = DeltaTable(str(lake / "quality/published_weeks")).to_pandas()[["week_start", "run_id"]]
    current = edges.merge(pointer, on=["week_start", "run_id"])
    grouped = current.groupby(current["week_start"].astype(str))["weight"].agg(["count", "sum"])
    return {week: (int(row["count"]), float(row["sum"])) for week, row in grouped.iterrows()}


def _plant_runs(spark, lake: Path, first_week: date, run_id: str) -> tuple[str, str]:
    """What a later publish and a killed build leave, written while the server runs: a new week
    of network_summary_weekly named by quality/published_weeks (published), and a row of an
    existing week from a run no pointer names (a candidate). Returns (new week, candidate run)."""
    from pyspark.sql import functions as F

    summary_path, pointer_path = str(lake / "gold/network_summary_weekly"), str(lake / "quality/published_weeks")
    week_row = spark.read.format("delta").load(summary_path).where(F.col("week_start") == F.lit(first_week)).limit(1)
    new_week = first_week + timedelta(weeks=30)
    (week_row.withColumn("week_start", F.lit(new_week)).withColumn("run_id", F.lit(run_id))
     .write.format("delta").mode("append").save(summary_path))
    (week_row.withColumn("run_id", F.lit("killed-run")).write.format("delta").mode("append").save(summary_path))
    now = datetime.now(timezone.utc)
    pointer = spark.read.format("delta").load(pointer_path)
    (spark.createDataFrame([(new_week, run_id, now, now)], pointer.schema)
     .write.format("delta").mode("append").save(pointer_path))
    return str(new_week), "killed-run"


def test_bi_tools_read_published_weeks_over_jdbc_and_never_a_restricted_table(spark, small_org, tmp_path):
    _, lake = small_org.copy_to(tmp_path)
    port = free_port()
    started = time.monotonic()
    server = Server(lake, port, tmp_path)
    try:
        announced = server.wait_ready()
        print(f"ona serve accepted connections after {time.monotonic() - started:.1f} s")
        assert announced.count("\n") == 1 and f"jdbc:hive2://127.0.0.1:{port}/ona" in announced

        # Only the BI zone is registered, under its table names.
        assert {row[1] for row in _rows(port, "SHOW TABLES IN ona")} == BI_NAMES

        # The same answer as delta-rs through the pointer, week by week.
        expected = _published_edges_by_week(lake)
        assert len(expected) == 2
        answered = {week: (int(n), float(w)) for week, n, w in _rows(
            port, "SELECT CAST(week_start AS STRING), count(*), sum(weight) FROM ona.edges_weekly GROUP BY week_start")}
        assert answered.keys() == expected.keys()
        for week, (count, weight) in expected.items():
            assert answered[week][0] == count
            assert answered[week][1] == pytest.approx(weight, rel=1e-9)

        # Restricted tables are not reachable: not under ona, not in the catalog, not by path.
        # A script run with --force goes on after each error; its last query shows the
        # connection still answers.
        restricted = ["ona`.`people", "silver`.`events", f"delta`.`{lake / 'silver/people'}",
                      f"parquet`.`{lake / 'bronze/email'}"]
        script = tmp_path / "restricted.sql"
        script.write_text("SELECT * FROM ona.people;\nSELECT * FROM silver.events;\n"
                          f"SELECT count(*) FROM delta.`{lake / 'silver/people'}`;\n"
                          f"SELECT count(*) FROM parquet.`{lake / 'bronze/email'}`;\n"
                          "SELECT 'still answering';\n")
        refused = _beeline(port, "--force=true", "-f", str(script))
        said = refused.stdout + refused.stderr
        for name in restricted:
            assert f"[TABLE_OR_VIEW_NOT_FOUND] The table or view `{name}` cannot be found" in said, said[-3000:]
        assert "still answering" in refused.stdout

        # A week published while the server runs shows at once; a candidate row never does.
        first_week = date.fromisoformat(min(expected))
        new_week, candidate_run = _plant_runs(spark, lake, first_week, "planted-publish")
        runs = _rows(port, "SELECT CAST(week_start AS STRING), run_id FROM ona.network_summary_weekly")
        assert (new_week, "planted-publish") in [tuple(r) for r in runs]
        assert candidate_run not in {r[1] for r in runs}
        assert len(runs) == 3  # the two first-run weeks and the new one: one row per week
    finally:
        code = server.stop()
    assert code == 0, server.err.read_text()[-3000:]


def test_a_lake_without_bi_tables_is_refused_in_one_line(tmp_path):
    done = subprocess.run([str(VENV_BIN / "ona"), "serve", "--lake", str(tmp_path / "lake"), "--port",
                           str(free_port())], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "ONA_LOG_DIR": str(tmp_path / "logs")})
    assert done.returncode == 2, done.stderr[-3000:]
    # The JVM itself may print a line as it starts (its incubator modules); ours is the last.
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"ona serve: no BI table in the lake at {tmp_path / 'lake'}: publish a week first (ona run)")


def test_a_port_in_use_is_refused_before_spark_starts(capsys, tmp_path):
    from jobs.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--lake", str(tmp_path), "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"ona serve: cannot listen on 127.0.0.1:{port}: Address already in use"

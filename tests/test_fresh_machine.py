"""A machine with Python 3.11 and no Java or Maven: `make setup` in a fresh clone installs the
JDK from PyPI and runs Maven through its wrapper, then `ona run` builds a small week on that JDK,
as a person runs it (its own process, no -v): what it shows on stderr and stdout, and what goes
to its log files.

The clone is of the commit checked out (uncommitted changes are not in it). Commands keep this
machine's pip and Maven caches (~/.cache/pip, ~/.m2): what is hidden is the toolchain, not the
registries' files."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from deltalake import DeltaTable

pytestmark = pytest.mark.slow

PROJECT_ROOT = Path(__file__).resolve().parents[1]
HIDDEN = {"java", "javac", "mvn", "mvnw", "jar", "jshell"}
KEY = "0d5b3f6e8a1c2e4f7a9b0c3d5e7f9a1b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f"


def path_without_java(shim: Path) -> str:
    """One folder of links to every command of this PATH except Java's and Maven's, and except
    this checkout's virtualenv (the clone makes its own)."""
    shim.mkdir()
    venv = PROJECT_ROOT / ".venv"
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        folder_path = Path(folder)
        if not folder_path.is_dir() or folder_path.resolve().is_relative_to(venv.resolve()):
            continue
        for command in folder_path.iterdir():
            link = shim / command.name
            if command.name in HIDDEN or link.is_symlink() or not os.access(command, os.X_OK) or command.is_dir():
                continue
            link.symlink_to(command)
    return str(shim)


def fresh_environment(path: str, log_dir: Path) -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items()
            if not k.startswith(("JAVA", "SPARK", "PYSPARK", "VIRTUAL_ENV", "AIRFLOW", "ONA_", "MAVEN", "PYTHONPATH",
                                 "PYTEST", "GX_"))}
    return {**kept, "PATH": path, "ONA_LOG_DIR": str(log_dir)}


def test_setup_and_a_week_without_java_or_maven(tmp_path):
    # The clone sits beside a link to ../shared, as a checkout does: GraphFrames' fallback
    # repository is found there where Maven Central does not serve it.
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    if (PROJECT_ROOT.parent / "shared").exists():
        (workspace / "shared").symlink_to(PROJECT_ROOT.parent / "shared")
    clone = workspace / "main"
    subprocess.run(["git", "clone", "-q", str(PROJECT_ROOT), str(clone)], check=True, timeout=120)
    env = fresh_environment(path_without_java(tmp_path / "bin"), tmp_path / "logs")
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")  # the launcher home of the bundled JDK goes here
    assert not [c for c in HIDDEN if shutil.which(c, path=env["PATH"])]

    started = time.monotonic()
    setup = subprocess.run(["make", "setup"], cwd=clone, env=env, capture_output=True, text=True,
                           timeout=1800, stdin=subprocess.DEVNULL)
    assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
    print(f"make setup without Java and Maven: {time.monotonic() - started:.0f} s")
    assert "Java: bundled Java 21 (" in setup.stdout
    # Maven came through the wrapper, cached in the clone; the jars are there.
    assert list((clone / ".cache" / "maven" / "wrapper" / "dists").glob("apache-maven-3.9.16/*/bin/mvn"))
    assert list((clone / ".cache" / "jars").glob("delta-spark_*.jar"))

    # One small week, as a person runs it: `ona run` in a process of its own, no -v.
    from demo.synthetic import DemoSpec, write_landing

    landing, lake = tmp_path / "landing", tmp_path / "lake"
    write_landing(landing, DemoSpec(n_people=50, weeks=1))
    env.update(ONA_PSEUDONYM_KEY=KEY)
    week = subprocess.run([str(clone / ".venv" / "bin" / "ona"), "run", "--landing", str(landing), "--lake", str(lake),
                           "--weeks", "2026-W10"], env=env, capture_output=True, text=True, timeout=900,
                          stdin=subprocess.DEVNULL)
    assert week.returncode == 0, week.stderr[-3000:]
    # What the person sees: one line per stage on stderr, and nothing else (the JVM's notice
    # about incubator modules is gone with the option the bundled runtime cannot take)...
    stages = [re.sub(r" [0-9.]+ s$", "", line) for line in week.stderr.splitlines() if line.strip()]
    assert stages == ["ok ingest email", "ok ingest calendar", "ok ingest chat", "ok ingest people",
                      "ok silver (1 week)", "ok gold", "ok gates", "ok publish", "ok report"]
    # ...the run's summary on stdout: the week published, the report and the log file...
    (run_id,) = re.findall(r"^run (\S+) \(key ", week.stdout, flags=re.MULTILINE)
    week_row = next(line for line in week.stdout.splitlines() if "2026-W10" in line)
    assert "published" in week_row
    assert f"report: {lake}/reports/{run_id}/validation.html" in week.stdout
    (log,) = (tmp_path / "logs").glob("ona-run-*[0-9].log")
    assert f"log: {log}" in week.stdout
    # ...and the rest in the log files: our INFO lines, Spark's own log beside them.
    text = log.read_text()
    assert "ona.progress: gates:" in text and "publishing weeks 2026-W10" in text
    assert log.with_suffix(".spark.log").exists()
    # Spark ran on the JDK from PyPI in the clone's virtualenv (no other Java is reachable),
    # started through the launcher home that drops the incubator option.
    (java_line,) = [line for line in text.splitlines() if "Spark starts on" in line]
    bundled = java_line.split("Spark starts on bundled Java 21 (", 1)[1].rstrip(")")
    assert Path(bundled).is_relative_to(clone / ".venv")
    assert list((tmp_path / "cache" / "ona" / "java").glob("bundled-21-*/bin/java"))
    pointer = DeltaTable(str(lake / "quality" / "published_weeks")).to_pandas()
    assert list(pointer["week_start"].astype(str)) == ["2026-03-02"] and list(pointer["run_id"]) == [run_id]

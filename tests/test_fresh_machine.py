"""A machine with Python 3.11 and no Java or Maven: `make setup` in a fresh clone installs the
JDK from PyPI and runs Maven through its wrapper, then `ona run` builds a small week on that JDK.

The clone is of the commit checked out (uncommitted changes are not in it). Commands keep this
machine's pip and Maven caches (~/.cache/pip, ~/.m2): what is hidden is the toolchain, not the
registries' files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

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

    # One small week, as a person runs it.
    from demo.synthetic import DemoSpec, write_landing

    landing, lake = tmp_path / "landing", tmp_path / "lake"
    write_landing(landing, DemoSpec(n_people=50, weeks=1))
    week = subprocess.run([str(clone / ".venv" / "bin" / "ona"), "run", "--landing", str(landing), "--lake", str(lake),
                           "--weeks", "2026-W10", "--json"], env={**env, "ONA_PSEUDONYM_KEY": KEY},
                          capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    assert week.returncode == 0, week.stderr[-3000:]
    assert json.loads(week.stdout)["published_weeks"] == ["2026-W10"]
    # The JVM Spark ran on is the JDK from PyPI in the clone's virtualenv.
    probe = ("from jobs.spark import get_spark; "
             "print(get_spark().sparkContext._jvm.java.lang.System.getProperty('java.home'))")
    java_home = subprocess.run([str(clone / ".venv" / "bin" / "python"), "-c", probe], cwd=clone, env=env,
                               capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert java_home.returncode == 0, java_home.stderr[-3000:]
    assert Path(java_home.stdout.strip().splitlines()[-1]).is_relative_to(clone / ".venv")

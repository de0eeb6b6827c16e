"""What a cluster master adds to the session (jobs/cluster.py): the project's code as a zip and
the packed executor environment, or a clear refusal."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from jobs import cluster


def test_only_local_masters_run_in_process():
    assert not cluster.is_cluster("local[2]")
    assert not cluster.is_cluster("local")
    assert cluster.is_cluster("spark://127.0.0.1:7077")
    assert cluster.is_cluster("yarn")
    assert cluster.is_cluster("k8s://https://api.example:6443")


def test_the_code_archive_holds_the_packages_sources_only(tmp_path):
    first = cluster.code_archive(tmp_path)
    names = set(zipfile.ZipFile(first).namelist())
    assert {"jobs/__init__.py", "jobs/graph/local_engine.py", "jobs/graph/contract.py", "jobs/config.py",
            "schemas/__init__.py", "schemas/gold.py"} <= names
    assert not [n for n in names if "__pycache__" in n or not n.endswith(".py")]
    assert cluster.code_archive(tmp_path) == first  # named by content: reused
    assert [p.name for p in tmp_path.iterdir()] == [first.name]


def test_a_packed_environment_is_shipped_and_becomes_the_executors_python(tmp_path, monkeypatch):
    packed = tmp_path / "env.tar.gz"
    packed.write_bytes(b"not really an archive")
    monkeypatch.setenv("ONA_EXECUTOR_ENV", str(packed))
    monkeypatch.setenv("PYSPARK_PYTHON", "/usr/bin/python3")
    conf = cluster.executor_conf()
    assert conf["spark.archives"] == f"{packed}#environment"
    assert conf["spark.submit.pyFiles"].endswith(".zip")
    assert os.environ["PYSPARK_PYTHON"] == "./environment/bin/python"


def test_an_archive_on_a_cluster_file_system_is_not_looked_for_locally(monkeypatch):
    monkeypatch.setenv("ONA_EXECUTOR_ENV", "hdfs://nn:8020/envs/ona.tar.gz")
    monkeypatch.setenv("PYSPARK_PYTHON", "/usr/bin/python3")
    assert cluster.executor_conf()["spark.archives"] == "hdfs://nn:8020/envs/ona.tar.gz#environment"


def test_a_missing_packed_environment_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("ONA_EXECUTOR_ENV", str(tmp_path / "missing.tar.gz"))
    with pytest.raises(cluster.ExecutorEnvError, match="pack-env.sh"):
        cluster.executor_conf()


def test_without_a_packed_environment_executors_keep_the_drivers_python(monkeypatch):
    monkeypatch.delenv("ONA_EXECUTOR_ENV", raising=False)
    monkeypatch.setenv("PYSPARK_PYTHON", "/opt/venv/bin/python")
    assert "spark.archives" not in cluster.executor_conf()
    assert os.environ["PYSPARK_PYTHON"] == "/opt/venv/bin/python"


def test_ona_run_refuses_a_missing_packed_environment_in_one_line_before_spark_starts(tmp_path):
    (tmp_path / "landing" / "people").mkdir(parents=True)
    (tmp_path / "landing" / "people" / "roster.csv").write_text("email,department\na@example.org,HR\n")
    env = {**os.environ, "ONA_PSEUDONYM_KEY": secrets.token_hex(32), "ONA_SPARK_MASTER": "spark://127.0.0.1:9",
           "ONA_EXECUTOR_ENV": str(tmp_path / "missing.tar.gz"), "ONA_LOG_DIR": str(tmp_path / "logs")}
    done = subprocess.run([str(Path(sys.executable).parent / "ona"), "run", "--landing", str(tmp_path / "landing"),
                           "--lake", str(tmp_path / "lake")], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (f"ona run: ONA_EXECUTOR_ENV={tmp_path / 'missing.tar.gz'}: no such archive "
                                   "(build one with infra/cluster/pack-env.sh)")
    assert not (tmp_path / "lake").exists()

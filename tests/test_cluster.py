"""The same job on a Spark standalone cluster with its lake in an object store: the small
organisation's weeks, run by `ona run` against a master and an s3a:// lake, give gold tables
identical to the suite's local[*] run of the same landing on a local lake.

Everything runs as a user would set it up, from infra/: a master and one worker started from
pip pyspark's classes (infra/cluster/standalone.sh), moto's S3 server (infra/objectstore/s3.sh)
and the packed executor environment (infra/cluster/pack-env.sh); the cluster's settings in a
spark-defaults.conf under SPARK_CONF_DIR (docs/deploy.md). Servers are stopped by their pids.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from schemas.gold import GOLD_TABLES
from tests.ports import free_port
from tests.small_org import KEY, UNSET

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
BUCKET = "ona"
ACCESS = {"access": "test-access-key", "secret": "test-secret-key"}


def _script(*args: str, env: dict[str, str]) -> str:
    """Run an infra script; its last line of output (the address it started)."""
    done = subprocess.run([str(ROOT / "infra" / args[0]), *args[1:]], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=600)
    assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """The packed executor environment (kept under .cache/cluster between runs, rebuilt when
    its requirements change), the S3 emulator and the standalone cluster. The environment is
    packed while the emulator's virtualenv installs: on a fresh machine each takes about 30 s."""
    packing = subprocess.Popen([str(ROOT / "infra" / "cluster" / "pack-env.sh")], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    s3_dir, cluster_dir = tmp_path_factory.mktemp("s3"), tmp_path_factory.mktemp("cluster")
    try:  # whatever fails, what started is stopped (the stop scripts skip what never started)
        endpoint = _script("objectstore/s3.sh", "start", str(s3_dir), BUCKET, env={"ONA_S3_PORT": str(free_port())})
        ui = free_port()
        ports = {"ONA_MASTER_PORT": str(free_port()), "ONA_MASTER_UI_PORT": str(ui),
                 "ONA_WORKER_UI_PORT": str(free_port())}
        master = _script("cluster/standalone.sh", "start", str(cluster_dir), env={**ports, "PYTHON": sys.executable})
        pids = [int((s3_dir / "s3.pid").read_text())] + [int((cluster_dir / f"{name}.pid").read_text())
                                                          for name in ("master", "worker")]
        packed, packing_err = packing.communicate(timeout=600)
        assert packing.returncode == 0, packing_err[-3000:]
        yield {"endpoint": endpoint, "master": master, "ui": f"http://127.0.0.1:{ui}/json/",
               "work": cluster_dir / "work", "executor_env": packed.strip().splitlines()[-1]}
    finally:
        packing.kill()
        _script("cluster/standalone.sh", "stop", str(cluster_dir), env={})
        _script("objectstore/s3.sh", "stop", str(s3_dir), env={})
    assert not [pid for pid in pids if _alive(pid)]


def _spark_defaults(folder: Path, endpoint: str) -> Path:
    """The cluster's settings, as a user keeps them: S3A pointed at the emulator, one small
    executor, the driver reachable on localhost."""
    folder.mkdir()
    (folder / "spark-defaults.conf").write_text("\n".join([
        f"spark.hadoop.fs.s3a.endpoint {endpoint}",
        "spark.hadoop.fs.s3a.endpoint.region us-east-1",
        "spark.hadoop.fs.s3a.path.style.access true",
        "spark.hadoop.fs.s3a.connection.ssl.enabled false",
        "spark.hadoop.fs.s3a.aws.credentials.provider org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        f"spark.hadoop.fs.s3a.access.key {ACCESS['access']}",
        f"spark.hadoop.fs.s3a.secret.key {ACCESS['secret']}",
        "spark.executor.cores 1",
        "spark.executor.memory 1g",
        "spark.driver.host 127.0.0.1",
        "spark.driver.bindAddress 127.0.0.1",
    ]) + "\n")
    return folder


def _s3_options(endpoint: str) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL": endpoint, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": ACCESS["access"],
            "AWS_SECRET_ACCESS_KEY": ACCESS["secret"], "AWS_ALLOW_HTTP": "true"}


def _rows(path: str, storage_options: dict[str, str] | None = None):
    """A gold table as rows in a fixed order, without the run id (each run has its own)."""
    from deltalake import DeltaTable

    frame = DeltaTable(path, storage_options=storage_options).to_pandas().drop(columns=["run_id"])
    columns = list(frame.columns)
    return frame.sort_values(columns, key=lambda column: column.astype(str), ignore_index=True)


def test_a_run_on_the_cluster_with_an_s3_lake_writes_the_gold_tables_of_the_local_run(small_org, servers, tmp_path):
    landing, _ = small_org.copy_to(tmp_path)
    env = {key: value for key, value in os.environ.items() if key not in UNSET}
    env.update({"ONA_PSEUDONYM_KEY": KEY, "ONA_SPARK_MASTER": servers["master"],
                "ONA_EXECUTOR_ENV": servers["executor_env"],
                "SPARK_CONF_DIR": str(_spark_defaults(tmp_path / "conf", servers["endpoint"])),
                "SPARK_LOCAL_IP": "127.0.0.1", "ONA_LOG_DIR": str(tmp_path / "logs")})
    lake_url = f"s3a://{BUCKET}/lake"
    done = subprocess.run([str(Path(sys.executable).parent / "ona"), "run", "--landing", str(landing),
                           "--lake", lake_url, "--json"], capture_output=True, text=True, env=env, timeout=1200)
    assert done.returncode == 0, f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    summary = json.loads(done.stdout)
    assert summary["published_weeks"] == ["2026-W10", "2026-W11"] == small_org.summary.published_weeks

    # It ran on the cluster: the master saw the application, and its executor unpacked the
    # packed environment and received the project's code.
    with urllib.request.urlopen(servers["ui"], timeout=10) as answer:
        state = json.load(answer)
    assert [(app["name"], app["state"]) for app in state["completedapps"]] == [("ona", "FINISHED")]
    executors = list(servers["work"].glob("app-*/*"))
    assert executors, "no executor folder under the worker"
    assert all((folder / "environment" / "bin" / "python").exists() for folder in executors)
    assert all(list(folder.glob("ona-code-*.zip")) for folder in executors)

    # Every gold table: the same rows as the local run of the same landing (run ids aside).
    options = _s3_options(servers["endpoint"])
    for table in GOLD_TABLES:
        local = _rows(str(small_org.root / "lake" / table.path))
        remote = _rows(f"s3://{BUCKET}/lake/{table.path}", options)
        assert len(local) > 0, table.path
        assert list(remote.columns) == list(local.columns), table.path
        assert remote.equals(local), f"{table.path}: {len(remote)} rows on the cluster, {len(local)} locally"

    # The run's validation report sits beside the tables, in the object store.
    assert summary["report"] == f"{lake_url}/reports/{summary['run_id']}/validation.html"
    from pyarrow import fs

    store = fs.S3FileSystem(access_key=ACCESS["access"], secret_key=ACCESS["secret"], region="us-east-1",
                            endpoint_override=servers["endpoint"], scheme="http")
    with store.open_input_stream(f"{BUCKET}/lake/reports/{summary['run_id']}/validation.html") as page:
        html = page.read().decode("utf-8")
    assert summary["run_id"] in html and "2026-W10" in html


def test_a_lake_in_a_bucket_that_does_not_exist_is_one_line_and_exit_2(servers, tmp_path):
    env = {**os.environ, "SPARK_CONF_DIR": str(_spark_defaults(tmp_path / "conf", servers["endpoint"])),
           "ONA_LOG_DIR": str(tmp_path / "logs")}
    done = subprocess.run([str(Path(sys.executable).parent / "ona"), "report", "--lake", "s3a://no-such-bucket/lake",
                           "--week", "2026-W10"], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 2, done.stderr[-3000:]
    lines = [line for line in done.stderr.splitlines() if not line.startswith("WARNING: Using incubator modules")]
    assert lines == ["ona report: the lake at s3a://no-such-bucket/lake cannot be reached: "
                     "The specified bucket does not exist"], done.stderr[-3000:]

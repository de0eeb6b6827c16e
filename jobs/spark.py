"""The one place that builds the SparkSession: local jars (Delta), UTC, few shuffle partitions.

Jars are resolved once by `make jars` into .cache/jars (see infra/jars/); the session never
reaches the network. The JVM is the Java jobs/java.py chooses. ONA_JARS_DIR points at another
jar folder. ONA_SPARK_MASTER points at a cluster (spark://..., yarn, k8s://...): the session
then ships the project's code and packed environment to the executors (jobs/cluster.py), and
reads the cluster's own settings from SPARK_CONF_DIR/spark-defaults.conf (docs/deploy.md).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from functools import lru_cache
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_JARS_DIR = PROJECT_ROOT / ".cache" / "jars"


class MissingJarsError(RuntimeError):
    pass


def jar_paths(jars_dir: Path | None = None) -> list[str]:
    folder = Path(os.environ.get("ONA_JARS_DIR") or jars_dir or DEFAULT_JARS_DIR)
    jars = sorted(str(p) for p in folder.glob("*.jar"))
    if not any("delta-spark" in Path(j).name for j in jars):
        raise MissingJarsError(
            f"No Delta jar in {folder}: run `make jars` (resolves them from Maven Central once)."
        )
    return jars


@lru_cache(maxsize=1)
def get_spark(app_name: str = "ona", launch_conf: tuple[tuple[str, str], ...] = ()) -> SparkSession:
    """The process-wide session (created on first use, never at import time). ``launch_conf``
    adds settings that take effect only when the JVM starts (a driver class path), for a
    process of its own such as `ona serve`."""
    cores = os.cpu_count() or 2
    master = os.environ.get("ONA_SPARK_MASTER", f"local[{cores}]")
    # Python workers must run the interpreter that has igraph and pandas (the venv's), or on a
    # cluster the packed environment's (jobs/cluster.py).
    from jobs.cluster import executor_conf, is_cluster

    executor_settings = executor_conf() if is_cluster(master) else {}
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    checkpoint_dir = Path(tempfile.gettempdir()) / "ona-spark-checkpoints"
    builder = (
        SparkSession.builder.appName(app_name)
        .master(master)
        .config("spark.jars", ",".join(jar_paths()))
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.sql.session.timeZone", "UTC")
        # 200 partitions made iterative jobs up to 9x slower on 2 cores (measured on this stack).
        .config("spark.sql.shuffle.partitions", str(max(4, 2 * cores)))
        .config("spark.sql.adaptive.enabled", "true")
        # Delta rebuilds a table's state (its files) from the log with 50 tasks by default, and
        # again after every commit: on 2 cores a first read cost 6-8 s. Our tables hold at most
        # a few thousand files, which one task reads in well under a second: a warm build of a
        # small landing went from 37.8 s to 32.4 s with 1 instead of 2 x cores
        # (docs/performance.md, "Cutting the fixed cost").
        .config("spark.databricks.delta.snapshotPartitions", "1")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        # PySpark 4 records the Python call site of every DataFrame and function call (a stack
        # walk and three JVM round trips each) to decorate error messages: it was a third of
        # the gates' time, which build thousands of column expressions.
        .config("spark.python.sql.dataFrameDebugging.enabled", "false")
        .config("spark.driver.memory", os.environ.get("ONA_DRIVER_MEMORY", "4g"))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        # Keep reader features delta-rs cannot read off (docs/lake.md).
        .config("spark.databricks.delta.properties.defaults.enableDeletionVectors", "false")
        # New nullable contract columns reach existing tables on their next MERGE (docs/lake.md,
        # "Migrations"); conform() keeps every write to the contract's columns.
        .config("spark.databricks.delta.schema.autoMerge.enabled", "true")
        .config("spark.sql.warehouse.dir", str(Path(tempfile.gettempdir()) / "ona-warehouse"))
    )
    if not is_cluster(master):
        # Python workers without Spark's archives on their path: a quarter second less per
        # Python task (jobs/python_workers.py).
        builder = builder.config("spark.python.daemon.module", "jobs.python_workers")
    for key, value in (*executor_settings.items(), *launch_conf):
        builder = builder.config(key, value)
    from jobs.progress import jvm_log_options

    log_options = jvm_log_options()
    if log_options:  # `ona` without -v: Spark's own log goes to the command's log file
        builder = builder.config("spark.driver.extraJavaOptions", log_options)
    # py4j logs every connection at INFO, which Airflow's root logger would print.
    logging.getLogger("py4j").setLevel(logging.WARNING)
    from jobs.java import use_chosen_java

    java = use_chosen_java()  # a system Java 17/21, else the bundled JDK (jobs/java.py)
    logging.getLogger("ona").info("Spark starts on %s", java.describe())
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    _quiet_jvm_logger(spark, "org.apache.spark.rdd.MapPartitionsRDD")
    # A cluster names a folder every executor reaches (spark.checkpoint.dir, on HDFS or S3).
    if not spark.conf.get("spark.checkpoint.dir", None):
        spark.sparkContext.setCheckpointDir(str(checkpoint_dir))
    return spark


def computed(df: DataFrame) -> DataFrame:
    """df computed now, as a job of its own, and held in executor memory with its lineage cut
    (release it with ``unpersist``). Gold frames and the gates' derived frame are queried
    dozens of times: with a lazily filled cache the first query computed the frame inside its
    own tasks (broadcast joins became jobs nested in tasks, which stalled a 2-core local run
    for minutes), and every query re-planned the whole build."""
    return df.localCheckpoint(eager=True)


# How many Spark actions `concurrently` starts at once from driver threads (ONA_CONCURRENT_ACTIONS).
# A small frame's computation or a small table's Delta write is driver work (planning, Delta's
# snapshot and commit) around a few short tasks, which leaves the cores idle between them;
# several at once fill those gaps (a warm build of a small landing: 36.0 s against 38.9 s one
# after the other; docs/performance.md, "Cutting the fixed cost"). 1 runs them one after the other.
DEFAULT_CONCURRENT_ACTIONS = 4


def concurrent_actions() -> int:
    """ONA_CONCURRENT_ACTIONS (empty or unset: the default); `ona` checks it before any command."""
    value = os.environ.get("ONA_CONCURRENT_ACTIONS") or str(DEFAULT_CONCURRENT_ACTIONS)
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"ONA_CONCURRENT_ACTIONS must be a whole number of at least 1, not {value!r}")
    return int(value)


def concurrently(action: Callable, items: Iterable) -> list:
    """``[action(item) for item in items]``, up to `concurrent_actions()` at once from driver
    threads (PySpark gives each its own JVM thread). Only for actions that do not depend on one
    another, e.g. writes to different Delta tables, which never conflict. Every action runs to
    its end; then the first error, in the order of ``items``, is raised."""
    items, limit = list(items), concurrent_actions()
    if limit == 1 or len(items) <= 1:
        return [action(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(limit, len(items)), thread_name_prefix="ona-action") as pool:
        futures = [pool.submit(action, item) for item in items]
    return [future.result() for future in futures]


def computed_together(*frames: DataFrame) -> tuple[DataFrame, ...]:
    """``computed`` for frames that do not depend on one another, computed at once."""
    return tuple(concurrently(computed, frames))


# Spark compiles the expressions of every query to Java classes (whole-stage code generation,
# generated projections and orderings). On a small run that compiling is most of the work:
# a warm build of the 60-person test organisation (8k events) took 46 s compiled and 36 s
# interpreted. The demo (80k events) runs as fast either way, and from there compiled code
# wins: one week of 3k people (1.04M events) took 54 s compiled and 85 s interpreted. Runs of
# fewer rows than this interpret (docs/performance.md, "Interpreted expressions for small
# runs"); ONA_INTERPRETED_BELOW_ROWS, 0: never.
DEFAULT_INTERPRETED_BELOW_ROWS = 50_000
INTERPRETED = {"spark.sql.codegen.wholeStage": "false", "spark.sql.codegen.factoryMode": "NO_CODEGEN"}


def interpreted_below_rows() -> int:
    """ONA_INTERPRETED_BELOW_ROWS (empty or unset: the default); `ona` checks it before any command."""
    value = os.environ.get("ONA_INTERPRETED_BELOW_ROWS") or str(DEFAULT_INTERPRETED_BELOW_ROWS)
    if not value.replace("_", "").isdigit():
        raise ValueError(f"ONA_INTERPRETED_BELOW_ROWS must be a whole number (0: never), not {value!r}")
    return int(value)


@contextmanager
def session_conf(spark: SparkSession, values: dict[str, str | None]) -> Iterator[None]:
    """Session settings for a block (None: unset, Spark's default), then what was there before
    is put back (set or unset), even after an error."""
    before = {key: spark.conf.get(key, None) for key in values}

    def apply(settings: dict[str, str | None]) -> None:
        for key, value in settings.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)

    apply(values)
    try:
        yield
    finally:
        apply(before)


class _Interpretation:
    """The session's expression mode, shared by the runs in progress: the first small run
    switches to interpreted expressions, the last one to finish puts back what was set before.
    The mode changes how fast a query runs, never its result, so a large run that overlaps a
    small one in the same process merely runs slower."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0
        self.settings = ExitStack()  # holds the session_conf block while a small run is in progress

    def enter(self, spark: SparkSession) -> None:
        with self.lock:
            if self.users == 0:
                self.settings.enter_context(session_conf(spark, INTERPRETED))
            self.users += 1

    def leave(self) -> None:
        with self.lock:
            self.users -= 1
            if self.users == 0:
                self.settings.close()


_interpretation = _Interpretation()


@contextmanager
def expressions_for(spark: SparkSession, rows: int) -> Iterator[bool]:
    """Inside: the session runs expressions interpreted when `rows` (what the run reads) is
    below ONA_INTERPRETED_BELOW_ROWS, compiled otherwise. Yields whether it interprets."""
    interpreted = rows < interpreted_below_rows()
    if not interpreted:
        yield False
        return
    _interpretation.enter(spark)
    try:
        yield True
    finally:
        _interpretation.leave()


def _quiet_jvm_logger(spark: SparkSession, name: str) -> None:
    """ERROR level for one JVM logger. Delta's MERGE materialises its source with a local
    checkpoint, and Spark warns about the truncated lineage on every MERGE: a warning per bronze
    load that says nothing to the person running the job."""
    try:
        jvm = spark.sparkContext._jvm
        jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(name, jvm.org.apache.logging.log4j.Level.ERROR)
    except Exception:  # noqa: BLE001 - a different logging backend: keep its warnings
        logging.getLogger("ona").debug("could not quiet %s", name)

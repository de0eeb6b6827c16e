"""`ona serve`: the BI zone of a lake as a SQL endpoint for BI tools.

Spark's Thrift server speaks HiveServer2's protocol, which JDBC and ODBC drivers, Superset,
Tableau, Power BI and `beeline` use. It runs inside this process's Spark session, so it shares
the session's Delta jars and settings. Every BI-visible table (zones gold/ and quality/,
schemas/catalog.py) is a view ``ona.<table>``; run-tagged week tables are read through
quality/published_weeks, so a BI tool sees a week's rows only once its publish switched them
(docs/lake.md, "Publishing a week"). Restricted tables are never registered, and path-based SQL
(``delta.`/lake/silver/people```) is off (docs/bi.md says what that does and does not protect).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import SparkSession

from jobs import lake
from schemas import Table
from schemas.catalog import BI_ZONES, all_tables
from schemas.quality import PUBLISHED_WEEKS_TABLE

log = logging.getLogger("ona")

BI_DATABASE = "ona"
# The lake's BI-zone Delta tables as catalog tables, which the views of `ona` read. A view
# cannot read `delta.`path`` once path-based SQL is off.
SOURCE_DATABASE = "ona_lake"
DEFAULT_PORT = 10000
# How often the server looks for tables that appeared since it started (a first validation
# run, a first approval): published weeks of known tables are visible at once.
REFRESH_SECONDS = 10.0


class ServeError(RuntimeError):
    """Why the endpoint cannot start, in one line."""


def bi_tables() -> list[Table]:
    """The tables BI tools may read, each once (schemas/catalog.py); the publish pointer first,
    which the views of run-tagged tables read."""
    seen: dict[str, Table] = {PUBLISHED_WEEKS_TABLE.path: PUBLISHED_WEEKS_TABLE}
    for table in all_tables():
        if table.zone in BI_ZONES:
            seen.setdefault(table.path, table)
    return list(seen.values())


def view_name(table: Table) -> str:
    """`gold/edges_weekly` -> `edges_weekly`: what BI tools query, as ona.edges_weekly."""
    return table.path.split("/", 1)[1]


def _quoted(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _view_sql(table: Table, name: str, through_pointer: bool) -> str:
    """The view's query: a run-tagged table's current rows once the pointer table exists
    (jobs/lake.py, the rule `read_published` applies), else the table as it is."""
    if not (table.run_tagged and through_pointer):
        return f"SELECT * FROM {SOURCE_DATABASE}.{name}"
    return lake.published_rows_sql(f"{SOURCE_DATABASE}.{name}", f"{SOURCE_DATABASE}.{view_name(PUBLISHED_WEEKS_TABLE)}")


@dataclass
class Catalog:
    """The `ona` views of one lake, registered as their tables appear."""

    spark: SparkSession
    lake_root: str
    # view name -> whether it reads through the publish pointer
    registered: dict[str, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.spark.sql(f"CREATE DATABASE IF NOT EXISTS {SOURCE_DATABASE} "
                       "COMMENT 'Delta tables behind the ona views: query ona.* instead'")
        self.spark.sql(f"CREATE DATABASE IF NOT EXISTS {BI_DATABASE} COMMENT 'ONA results for BI tools'")

    def refresh(self) -> list[str]:
        """Register the BI tables that exist and are not registered yet (and switch run-tagged
        views to the pointer once it exists); returns the names registered now."""
        spark = self.spark
        has_pointer = (view_name(PUBLISHED_WEEKS_TABLE) in self.registered
                       or lake.exists(spark, self.lake_root, PUBLISHED_WEEKS_TABLE))
        added = []
        for table in bi_tables():
            name = view_name(table)
            through_pointer = table.run_tagged and has_pointer
            if self.registered.get(name) == through_pointer or not lake.exists(spark, self.lake_root, table):
                continue
            location = lake.table_path(self.lake_root, table)
            spark.sql(f"CREATE TABLE IF NOT EXISTS {SOURCE_DATABASE}.{name} USING DELTA LOCATION {_quoted(location)}")
            # SCHEMA EVOLUTION: columns a migration adds later reach the view without a restart.
            spark.sql(f"CREATE OR REPLACE VIEW {BI_DATABASE}.{name} WITH SCHEMA EVOLUTION "
                      f"COMMENT {_quoted(table.description or name)} AS {_view_sql(table, name, through_pointer)}")
            self.registered[name] = through_pointer
            added.append(name)
        return added


def port_problem(host: str, port: int) -> str | None:
    """Why the server could not listen on host:port (checked before Spark starts: the Thrift
    server ends the whole JVM when it cannot bind)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((host, port))
    except OSError as exc:
        return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    return None


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def serve(lake_root: str | Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
          stop: threading.Event | None = None, announce=print) -> None:
    """Start the endpoint, announce it (one line), serve until `stop` is set or the process
    gets SIGINT or SIGTERM, then stop the server and the session."""
    problem = port_problem(host, port)
    if problem:
        raise ServeError(problem)
    from jobs.spark import get_spark, jar_paths

    # Sessions the Thrift server opens load Delta's catalog through the JVM's own class path:
    # with the jars on `spark.jars` alone every connection fails (ClassNotFoundException).
    spark = get_spark("ona-serve", (
        ("spark.driver.extraClassPath", os.pathsep.join(jar_paths())),
        ("spark.sql.runSQLOnFiles", "false"),
    ))
    catalog = Catalog(spark, lake.location(lake_root))
    names = catalog.refresh()
    if not names:
        raise ServeError(f"no BI table in the lake at {lake_root}: publish a week first (ona run)")
    for name in names:
        # Each view answers once before the first client: a cold first query took 15 s (the
        # JVM's code warming up, Delta logs loading), the same query 1-2 s afterwards. A view
        # that cannot be read stops the server here rather than at a BI tool.
        spark.sql(f"SELECT count(*) FROM {BI_DATABASE}.{name}").collect()
    spark.conf.set("hive.server2.thrift.bind.host", host)
    spark.conf.set("hive.server2.thrift.port", str(port))
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    server = spark._jvm.org.apache.spark.sql.hive.thriftserver.HiveThriftServer2.startWithContext(
        spark._jsparkSession.sqlContext())
    try:
        while not _listening(host, port):  # the Thrift service binds in a thread of its own
            if stop.wait(0.2):
                return
        announce(f"ona serve: accepting connections at jdbc:hive2://{host}:{port}/{BI_DATABASE} "
                 f"({len(names)} tables: {', '.join(sorted(names))})")
        while not stop.wait(REFRESH_SECONDS):
            added = catalog.refresh()
            if added:
                log.info("ona serve: registered %s", ", ".join(added))
    finally:
        try:
            server.stop()
            spark.stop()
        except Exception as exc:  # noqa: BLE001 - a signal sent to the whole process group ended the JVM first
            log.info("ona serve: the JVM had stopped already (%s)", type(exc).__name__)
        log.info("ona serve: stopped")

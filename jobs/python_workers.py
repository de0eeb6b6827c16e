"""The daemon that starts the Python workers of a local session (`spark.python.daemon.module`),
without the archives Spark puts first on their import path.

Spark starts its Python daemon with pyspark's own zip, py4j's zip and spark-core's jar in front
of PYTHONPATH. Before every Python task a worker calls `importlib.invalidate_caches()`, and on
Python 3.11 each zip importer then reads its archive's directory again (1,328 files in
pyspark.zip alone): about 250 ms of CPU per task, whatever the task does. A tiny Python task
(a map over two partitions) took 528 ms instead of 209 ms, and a small build
runs dozens of them (docs/performance.md, "Python tasks").

In a local session the workers run the driver's interpreter (jobs/spark.py), whose virtualenv
installs the same pyspark and py4j as plain directories. So when both are importable without the
archives, the daemon drops them from its path before it forks a worker, and the workers import
the installed packages (byte-compiled, unlike the zip's sources). Otherwise it changes nothing.
Clusters keep Spark's own daemon: their executors receive our code only task by task.

Run as ``python -m jobs.python_workers`` by Spark; it imports nothing of the project.
"""

from __future__ import annotations

import os
import sys
from importlib.machinery import PathFinder


def is_spark_archive(entry: str) -> bool:
    """One of what Spark adds (PythonUtils.sparkPythonPath): pyspark.zip, py4j-<version>-src.zip
    and the jar that holds spark-core. No jar holds Python we import."""
    name = os.path.basename(entry)
    is_py4j_zip = name.startswith("py4j-") and name.endswith(".zip")
    return os.path.isfile(entry) and (name == "pyspark.zip" or is_py4j_zip or name.endswith(".jar"))


def without_spark_archives(path: list[str]) -> list[str]:
    """`path` without Spark's archives when pyspark and py4j are importable from the rest of it;
    otherwise `path` as it is."""
    rest = [entry for entry in path if not is_spark_archive(entry)]
    if len(rest) == len(path):
        return path
    if all(PathFinder.find_spec(package, rest) is not None for package in ("pyspark", "py4j")):
        return rest
    return path


def main() -> None:
    kept = without_spark_archives(sys.path)
    for entry in set(sys.path) - set(kept):
        sys.path_importer_cache.pop(entry, None)  # or the importers would be asked again
    sys.path[:] = kept
    from pyspark import daemon

    daemon.manager()


if __name__ == "__main__":
    main()

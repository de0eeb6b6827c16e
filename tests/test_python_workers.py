"""jobs.python_workers: the local session's Python workers run without Spark's archives on
their import path when the virtualenv has pyspark and py4j, and keep them otherwise."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from jobs.python_workers import without_spark_archives


def _archive(path: Path, package: str) -> str:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{package}/__init__.py", "")
    return str(path)


def _installed(folder: Path, *packages: str) -> str:
    for package in packages:
        (folder / package).mkdir(parents=True)
        (folder / package / "__init__.py").write_text("")
    return str(folder)


@pytest.fixture
def spark_archives(tmp_path) -> list[str]:
    """What Spark puts first on a worker's path: pyspark.zip, py4j's zip, spark-core's jar."""
    lib = tmp_path / "lib"
    lib.mkdir()
    return [_archive(lib / "pyspark.zip", "pyspark"), _archive(lib / "py4j-0.10.9.9-src.zip", "py4j"),
            _archive(lib / "spark-core_2.13-4.1.3.jar", "org")]


def test_the_archives_go_when_the_packages_are_installed(tmp_path, spark_archives):
    site = _installed(tmp_path / "site-packages", "pyspark", "py4j")
    stdlib_zip = str(tmp_path / "python311.zip")  # on every path, usually absent: not an archive here
    user_zip = _archive(tmp_path / "user-code.zip", "mine")  # not Spark's: stays
    path = ["/work", *spark_archives, user_zip, stdlib_zip, site]

    assert without_spark_archives(path) == ["/work", user_zip, stdlib_zip, site]


@pytest.mark.parametrize("installed", [(), ("pyspark",), ("py4j",)])
def test_the_archives_stay_when_a_package_is_only_in_them(tmp_path, spark_archives, installed):
    site = _installed(tmp_path / "site-packages", *installed)
    path = [*spark_archives, site]

    assert without_spark_archives(path) == path


def test_the_sessions_python_tasks_import_the_installed_pyspark(spark):
    """A Python task of the suite's session (local) sees none of Spark's archives and imports
    the virtualenv's pyspark; with Spark's own daemon it would import pyspark.zip's."""

    def where(_):
        import sys

        import pyspark

        yield pyspark.__file__, [entry for entry in sys.path if entry.endswith((".zip", ".jar"))]

    pyspark_file, archives = spark.sparkContext.parallelize([0], 1).mapPartitions(where).collect()[0]

    assert "site-packages" in pyspark_file and ".zip" not in pyspark_file
    assert not [entry for entry in archives if entry.endswith(("pyspark.zip", ".jar")) or "py4j-" in entry]

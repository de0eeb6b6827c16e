"""Lake roots are local folders or URLs: paths below a URL stay URLs (pathlib would make
"s3a://bucket" "s3a:/bucket"), local ones become absolute."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jobs.lake_location import is_local, join, location, missing_local
from schemas.gold import EDGES_WEEKLY


def test_a_url_root_keeps_its_double_slash_and_loses_a_trailing_one():
    assert location("s3a://ona-lake/prod/") == "s3a://ona-lake/prod"
    assert join("s3a://ona-lake/prod/", "gold/edges_weekly") == "s3a://ona-lake/prod/gold/edges_weekly"
    assert join("abfss://lake@account.dfs.core.windows.net", "reports", "r1", "validation.html") == \
        "abfss://lake@account.dfs.core.windows.net/reports/r1/validation.html"


def test_table_paths_below_a_url_are_urls():
    from jobs.lake import table_path

    assert table_path("s3a://bucket/lake", EDGES_WEEKLY) == "s3a://bucket/lake/gold/edges_weekly"


def test_a_relative_local_root_becomes_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert location("lake") == str(tmp_path / "lake")
    assert location(Path("lake/")) == str(tmp_path / "lake")
    assert location(f"file://{tmp_path}/lake") == str(tmp_path / "lake")
    assert join("lake", "silver/people") == f"{tmp_path}/lake/silver/people"


@pytest.mark.parametrize("root, local", [
    ("/data/lake", True), ("lake", True), ("file:///data/lake", True),
    ("s3a://bucket/lake", False), ("gs://bucket/lake", False), ("hdfs://nn:8020/lake", False),
])
def test_which_roots_are_local(root, local):
    assert is_local(root) is local


def test_only_a_local_root_can_be_found_missing(tmp_path):
    assert missing_local(tmp_path / "nowhere")
    assert not missing_local(tmp_path)
    assert not missing_local("s3a://bucket/never-checked")  # found, or not, by its first read


def test_write_text_writes_below_a_local_root_and_makes_its_folders(tmp_path):
    from jobs.lake import write_text

    path = join(tmp_path, "reports", "r1", "validation.html")
    write_text(None, path, "<p>é</p>")
    assert (tmp_path / "reports" / "r1" / "validation.html").read_text(encoding="utf-8") == "<p>é</p>"
    assert os.listdir(tmp_path / "reports" / "r1") == ["validation.html"]


def test_write_text_to_a_url_needs_the_session():
    from jobs.lake import write_text

    with pytest.raises(ValueError, match="needs the Spark session"):
        write_text(None, "s3a://bucket/lake/reports/r1/validation.html", "x")


def test_a_dag_run_takes_a_lake_url_as_it_is():
    from jobs.assets import folder_param

    assert folder_param({"lake": "s3a://bucket/lake/"}, "lake") == "s3a://bucket/lake"
    assert str(folder_param({"landing": "/data/landing"}, "landing")) == "/data/landing"


def test_a_lake_whose_file_system_fails_is_one_clear_error(spark):
    from jobs import lake

    with pytest.raises(lake.LakeUnreachableError) as error:
        lake.exists(spark, "nosuchfs://bucket/lake/", EDGES_WEEKLY)
    assert str(error.value) == 'the lake at nosuchfs://bucket/lake cannot be reached: No FileSystem for scheme "nosuchfs"'

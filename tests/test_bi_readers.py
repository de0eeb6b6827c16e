"""BI readers without Spark (docs/bi.md): DuckDB with the `delta` extension from the
duckdb-ext-delta package (never downloaded at run time) and delta-rs read the published weeks
of the gold tables through quality/published_weeks, and agree."""

from __future__ import annotations

from importlib.metadata import files
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def delta_extension() -> Path:
    """The extension file duckdb-ext-delta installs (the package has no importable module)."""
    found = [f for f in files("duckdb-ext-delta") if f.name == "delta.duckdb_extension"]
    assert len(found) == 1, found
    return Path(found[0].locate())


def _published_by_delta_rs(lake: Path, table: str):
    from deltalake import DeltaTable

    rows = DeltaTable(str(lake / "gold" / table)).to_pandas()
    pointer = DeltaTable(str(lake / "quality/published_weeks")).to_pandas()[["week_start", "run_id"]]
    return rows.merge(pointer, on=["week_start", "run_id"])


def test_duckdb_and_delta_rs_read_the_same_published_weeks(small_org):
    import duckdb

    lake = small_org.root / "lake"
    # No network: DuckDB may neither install nor load an extension it was not given.
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    con.execute(f"LOAD '{delta_extension()}'")

    edges = con.sql(f"""
        SELECT CAST(e.week_start AS VARCHAR) AS week, count(*) AS ties, sum(e.weight) AS weight
        FROM delta_scan('{lake}/gold/edges_weekly') e
        JOIN delta_scan('{lake}/quality/published_weeks') p USING (week_start, run_id)
        GROUP BY ALL ORDER BY week""").fetchall()
    expected = _published_by_delta_rs(lake, "edges_weekly")
    by_week = expected.groupby(expected["week_start"].astype(str))["weight"].agg(["count", "sum"])
    assert [week for week, _, _ in edges] == list(by_week.index) and len(edges) == 2
    for week, ties, weight in edges:
        assert ties == by_week.loc[week, "count"]
        assert weight == pytest.approx(by_week.loc[week, "sum"], rel=1e-12)

    people = con.sql(f"""
        SELECT count(*), count(DISTINCT m.person)
        FROM delta_scan('{lake}/gold/person_metrics_weekly') m
        JOIN delta_scan('{lake}/quality/published_weeks') p USING (week_start, run_id)""").fetchall()[0]
    metrics = _published_by_delta_rs(lake, "person_metrics_weekly")
    assert people == (len(metrics), metrics["person"].nunique())
    assert 0 < people[1] <= small_org.counts["people"] == 60

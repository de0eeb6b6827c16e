"""The DAGs run end to end with dag.test() on a small synthetic landing (SQLite metadata DB)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_ingest_dags_then_weekly_graph_dag_publish_the_week(spark, tmp_path, monkeypatch):
    from deltalake import DeltaTable

    from demo.run import latest_summary, run_dags
    from demo.synthetic import DemoSpec, write_landing

    monkeypatch.setenv("ONA_PSEUDONYM_KEY", "436460dffc75a9d12f86f8a0af996b209dd728a5315260fd69f706f2f2f7cff3")
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    planted = write_landing(landing, DemoSpec(n_people=50, weeks=1))

    run_dags(landing, lake, ["2026-W10"])

    ingest_runs = DeltaTable(str(lake / "quality/ingest_runs")).to_pandas()
    assert sorted(ingest_runs["source"]) == ["calendar", "chat", "email", "people"]
    accepted = dict(zip(ingest_runs["source"], ingest_runs["accepted"]))
    assert accepted == {"email": planted["emails"], "calendar": planted["meeting_occurrences"],
                        "chat": planted["chat_messages"], "people": 50}
    summary = latest_summary(lake)
    assert summary["published_weeks"] == ["2026-W10"]
    # The report of the weekly run shows the ingest counts of each source.
    assert set(summary["sources"]) == {"email", "calendar", "chat", "people"}
    # The weekly graph DAG drew the week's ONA report after publishing it.
    page = lake / "reports" / "2026-W10" / "index.html"
    assert page.is_file() and "Weekly collaboration report: 2026-W10" in page.read_text()
    for table in ("edges_weekly", "person_metrics_weekly", "group_metrics_weekly",
                  "network_summary_weekly"):
        frame = DeltaTable(str(lake / "gold" / table)).to_pandas()
        assert set(frame["week_start"].astype(str)) == {"2026-03-02"}, table

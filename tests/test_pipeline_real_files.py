"""The whole job on real exports from ../shared/data (a Slack workspace and a Gmail takeout),
with no roster: everything must parse or be quarantined, and no real name or address lands."""

from __future__ import annotations

import json
import re

import pytest

pytestmark = pytest.mark.slow

ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def test_real_exports_run_end_to_end_without_leaking_identities(spark, shared_data, tmp_path, monkeypatch,
                                                                expression_modes):
    import pyarrow.parquet as pq
    from deltalake import DeltaTable

    from jobs import pipeline
    from jobs.weeks import parse_weeks

    monkeypatch.setenv("ONA_PSEUDONYM_KEY", "84c250dc1a9fc073b8161e1e4890ce2b548998d5202fb25b0d980eec02a0904b")
    # The workspace's members and the mailbox's owner write from gmail.com: the organisation's
    # domain here. Everyone else becomes their domain.
    monkeypatch.setenv("ONA_INTERNAL_DOMAINS", "gmail.com")
    slack = shared_data / "chat" / "slack-export-houstondatavis"
    landing = tmp_path / "landing"
    (landing / "chat" / "slack").mkdir(parents=True)
    (landing / "chat" / "slack" / "houstondatavis").symlink_to(slack)
    (landing / "email").mkdir()
    (landing / "email" / "takeout").symlink_to(shared_data / "email" / "gmail-takeout-mbox")
    lake = tmp_path / "lake"

    # The two weeks with the most mentions and reactions in the workspace (July 2016).
    summary = pipeline.run(landing, lake, parse_weeks("2016-W28..2016-W29"), spark=spark)

    assert expression_modes == ["interpreted"]  # 1,522 records: far below ONA_INTERPRETED_BELOW_ROWS
    chat = summary.sources["chat"]
    assert chat["read"] == 1382 and chat["quarantined"] == 0  # SOURCE.md: 1,382 messages
    assert summary.sources["email"]["accepted"] == 140  # SOURCE.md: 140 messages
    assert summary.weeks == ["2016-W28", "2016-W29"]
    assert len(summary.gates) == 2 * 6  # two weeks, six gold tables
    assert summary.published_weeks == ["2016-W28", "2016-W29"], summary.gates
    edges = DeltaTable(str(lake / "gold/edges_weekly")).to_pandas()
    assert len(edges) > 0
    # Outside addresses (algorit.ma, supertype.ai, google.com, ...) were collapsed, and counted.
    from jobs.privacy.pseudonym import EXTERNAL

    assert summary.privacy["excluded"][EXTERNAL] > 0
    assert not edges["src"].str.startswith("x_").any() and not edges["dst"].str.startswith("x_").any()

    users = json.loads((slack / "users.json").read_text())
    names = {u.get("real_name", "") for u in users} | {u.get("name", "") for u in users}
    names = {n.lower() for n in names if len(n) >= 5}
    texts = []
    for parquet in lake.rglob("*.parquet"):
        table = pq.read_table(parquet)
        for column in table.column_names:
            texts.extend(str(v) for v in table.column(column).to_pylist() if v is not None)
    blob = "\n".join(texts).lower()
    assert ADDRESS.search(blob) is None
    assert sorted(n for n in names if n in blob) == []


def test_without_internal_domains_the_run_refuses_and_writes_nothing(shared_data, tmp_path, monkeypatch, capsys):
    """No roster, no pulled directory, no ONA_INTERNAL_DOMAINS: every address would count as
    internal, so `ona run` refuses (exit 2) before reading a file."""
    from jobs.cli import main

    monkeypatch.setenv("ONA_PSEUDONYM_KEY", "84c250dc1a9fc073b8161e1e4890ce2b548998d5202fb25b0d980eec02a0904b")
    monkeypatch.delenv("ONA_INTERNAL_DOMAINS", raising=False)
    landing = tmp_path / "landing"
    (landing / "email").mkdir(parents=True)
    (landing / "email" / "takeout").symlink_to(shared_data / "email" / "gmail-takeout-mbox")
    lake = tmp_path / "lake"
    assert main(["run", "--landing", str(landing), "--lake", str(lake)]) == 2
    error = capsys.readouterr().err
    assert "no internal domains known" in error and "ONA_INTERNAL_DOMAINS" in error
    assert not any(lake.rglob("*.parquet"))

"""Pull state in the lake: saved, resumed, and kept from growing without bound."""

from __future__ import annotations

from datetime import datetime, timezone

from jobs.pull import state
from jobs.pull.base import item_entry, parse_item_entry, prune_before


def test_item_entries_carry_their_week_and_old_entries_still_parse():
    entry = item_entry("rec1", "o", datetime(2026, 4, 7, 9, tzinfo=timezone.utc))
    assert entry == "rec1|o|2026-W15"
    assert parse_item_entry(entry) == ("rec1", "o")
    assert parse_item_entry("rec2|p_0123456789abcdef") == ("rec2", "p_0123456789abcdef")
    assert parse_item_entry(None) is None and parse_item_entry("garbage") is None


def test_rolling_pulls_forget_weeks_before_their_window():
    state_dict = {
        "cal:u1:2026-W13": "link-b", "cal:u1:2026-W14": "link-a",
        "cal:u2:2025-W52": "link-c",  # an earlier year: before 2026-W14 too
        "item:a": "r1|o|2026-W14", "item:b": "r2|p_x|2026-W15", "item:c": "r4|o|2026-W13",
        "item:legacy": "r3|o",  # written before entries kept a week: kept
        "mail:u1:inbox": "link-m", "gcal:u2:2026-W01..2026-W02": "token",  # not per-week cursors
    }
    assert prune_before(state_dict, "2026-W14") == 3
    assert state_dict == {
        "cal:u1:2026-W14": "link-a",
        "item:a": "r1|o|2026-W14", "item:b": "r2|p_x|2026-W15", "item:legacy": "r3|o",
        "mail:u1:inbox": "link-m", "gcal:u2:2026-W01..2026-W02": "token",
    }


def test_save_writes_changes_deletes_dropped_names_and_load_resumes(spark, tmp_path):
    lake = tmp_path / "lake"
    first = {"cal:u1:2026-W14": "link-1", "item:a": "r1|o|2026-W14"}
    assert state.save(spark, lake, "msgraph", "calendar", {}, first, "run-1") == 2
    assert state.load(spark, lake, "msgraph") == {"calendar": first}
    assert state.load(spark, lake, "google") == {}

    second = {"cal:u1:2026-W14": "link-2", "cal:u1:2026-W15": "link-3"}  # item:a pruned
    assert state.save(spark, lake, "msgraph", "calendar", first, second, "run-2") == 3
    assert state.load(spark, lake, "msgraph") == {"calendar": second}
    from deltalake import DeltaTable

    rows = DeltaTable(str(lake / "state/pull_state")).to_pandas()
    assert sorted(rows["name"]) == ["cal:u1:2026-W14", "cal:u1:2026-W15"]  # deleted, not nulled
    assert state.save(spark, lake, "msgraph", "calendar", second, second, "run-3") == 0


def test_a_run_reads_back_the_domains_the_directory_pulls_saved(spark, tmp_path, monkeypatch):
    """No roster and no ONA_INTERNAL_DOMAINS: the internal domains are those two vendors'
    directory pulls recorded; other people rows and other kinds are not domains."""
    from jobs.stages.context import internal_domains
    from schemas.state import DOMAINS_NAME

    monkeypatch.delenv("ONA_INTERNAL_DOMAINS", raising=False)
    lake = tmp_path / "lake"
    assert internal_domains(None, spark, lake) == frozenset()  # no state table yet
    state.save(spark, lake, "msgraph", "people", {}, {DOMAINS_NAME: "example.org,corp.example.org",
                                                      "delta:users": "link-1"}, "run-1")
    state.save(spark, lake, "google", "people", {}, {DOMAINS_NAME: "example.net"}, "run-2")
    state.save(spark, lake, "google", "email", {}, {DOMAINS_NAME: "not-a-directory.example"}, "run-2")
    assert internal_domains(None, spark, lake) == {"example.org", "corp.example.org", "example.net"}

"""Landed files through `jobs.pipeline.ingest`: a changed file replaces its records, the weeks
it loses are rebuilt, and a `--weeks` run never deletes what lies outside its weeks."""

from __future__ import annotations

import os

import pytest

from jobs.weeks import parse_week

pytestmark = pytest.mark.slow

W10 = ("20260303T090000Z", "20260303T100000Z")  # Tuesday of 2026-W10
W14 = ("20260331T090000Z", "20260331T093000Z")  # Tuesday of 2026-W14


def ics(*events: tuple[str, tuple[str, str], str]) -> str:
    body = "".join(
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTART:{start}\r\nDTEND:{end}\r\n"
        "ORGANIZER:mailto:ann@example.org\r\n"
        f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{who}@example.org\r\nEND:VEVENT\r\n"
        for uid, (start, end), who in events
    )
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{body}END:VCALENDAR\r\n"


def bronze(lake):
    from deltalake import DeltaTable

    frame = DeltaTable(str(lake / "bronze/calendar")).to_pandas()
    return sorted(frame["starts_at"].dt.strftime("%G-W%V"))


def test_changed_calendar_file_keeps_other_weeks_under_weeks_and_rebuilds_weeks_it_loses(spark, tmp_path, monkeypatch):
    from jobs import pipeline

    monkeypatch.setenv("ONA_PSEUDONYM_KEY", "33c4f7b39043214abcbb5b5f216b228534de4f85b59a904165e1e43faee93a0a")
    monkeypatch.setenv("ONA_INTERNAL_DOMAINS", "example.org")
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    (landing / "calendar").mkdir(parents=True)
    cal = landing / "calendar" / "team.ics"
    cal.write_text(ics(("old@x", W10, "bob"), ("new@x", W14, "bob")))

    first = pipeline.ingest(landing, lake, "calendar", spark=spark)
    assert first.weeks == ["2026-W10", "2026-W14"] and bronze(lake) == ["2026-W10", "2026-W14"]

    # The file changes (W14's meeting gains an attendee) and a backfill of W14 alone runs: the
    # W10 meeting, outside the weeks read, stays; the changed file is not marked as ingested.
    cal.write_text(ics(("old@x", W10, "bob"), ("new@x", W14, "cat")))
    os.utime(cal, (1, 1))
    partial = pipeline.ingest(landing, lake, "calendar", [parse_week("2026-W14")], spark=spark)
    assert partial.weeks == ["2026-W14"] and bronze(lake) == ["2026-W10", "2026-W14"]

    # The next run without weeks reads the file in full again.
    again = pipeline.ingest(landing, lake, "calendar", spark=spark)
    assert again.files_ingested == 1 and bronze(lake) == ["2026-W10", "2026-W14"]
    assert pipeline.ingest(landing, lake, "calendar", spark=spark).files_ingested == 0

    # The W10 meeting is deleted from the file: its row goes, and W10 is among the weeks to
    # rebuild although no remaining record falls in it.
    cal.write_text(ics(("new@x", W14, "cat")))
    dropped = pipeline.ingest(landing, lake, "calendar", spark=spark)
    assert bronze(lake) == ["2026-W14"]
    assert dropped.weeks == ["2026-W10", "2026-W14"]


def test_a_run_of_four_sources_records_their_ingests_in_one_commit_each(small_org):
    """`ona run` ingests the four sources one after the other, then records them together: one
    quality/ingest_runs append and one manifest MERGE (jobs/stages/ingest.py, ingest_sources)."""
    from deltalake import DeltaTable

    lake = small_org.root / "lake"
    runs = DeltaTable(str(lake / "quality/ingest_runs"))
    assert runs.version() == 0  # the table's one commit holds the four rows
    assert sorted(runs.to_pandas()["source"]) == ["calendar", "chat", "email", "people"]
    manifest = DeltaTable(str(lake / "state/landing_manifest"))
    assert manifest.version() == 0
    assert sorted(set(manifest.to_pandas()["source"])) == ["calendar", "chat", "email", "people"]
    assert manifest.metadata().partition_columns == ["source"]

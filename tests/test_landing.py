"""The landing manifest (jobs/landing.py): landed units are ingested once, changed ones again,
and a changed file's bronze rows are replaced (jobs/lake.py merge_rows with replace_file_refs)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from jobs import landing, lake
from jobs.privacy.pseudonym import Pseudonymiser
from jobs.sources.calendar import parse_calendar
from jobs.sources.chat import parse_slack
from jobs.sources.email import parse_email
from jobs.sources.people import parse_people
from schemas.state import LANDING_MANIFEST

PARSERS = {"email": parse_email, "calendar": parse_calendar, "chat": parse_slack, "people": parse_people}
REAL_ICS = ("calendar/recurring-ical-events/calendars/Germany.ics",
            "calendar/vobject-tests/test_files/ms_tzid.ics",
            "calendar/recurring-ical-events/calendars/issue_18_cancel_status.ics")

MESSAGE = (
    "From: Ann <ann@example.org>\nTo: bob@example.org\nDate: Mon, 30 Mar 2026 09:00:00 +0000\n"
    "Message-ID: <{n}@example.org>\nSubject: secret {n}\n\nbody {n}\n"
)


@pytest.fixture
def pseudo():
    return Pseudonymiser(key=b"landing-test-key")


def _touch(path: Path, seconds: int) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + seconds * 1_000_000_000))


def _count_hashing(monkeypatch) -> list:
    calls = []
    original = landing.LandingUnit.content_hash

    def counting(self):
        if self._hash is None:
            calls.append(self.unit_ref)
        return original(self)

    monkeypatch.setattr(landing.LandingUnit, "content_hash", counting)
    return calls


def _plan(spark, lake_root, source, units):
    """What an ingest plans for a source's units against the manifest in the lake."""
    return landing.plan(units, landing.known_units(spark, lake_root, [source])[source])


def _manifest_rows(spark, lake_root, source):
    return {
        r["unit_ref"]: r.asDict()
        for r in lake.read(spark, lake_root, LANDING_MANIFEST).where(f"source = '{source}'").collect()
    }


def _email_landing(root: Path, shared_data: Path) -> Path:
    folder = root / "email"
    shutil.copytree(shared_data / "email" / "mailparser-eml", folder / "eml")  # + 3 licence/notes files
    box = folder / "ann"
    for part in ("cur", "new", "tmp"):
        (box / part).mkdir(parents=True)
    (box / "new" / "1711.M1.host").write_text(MESSAGE.format(n=1))
    (box / "cur" / "1712.M2.host:2,S").write_text(MESSAGE.format(n=2))
    (box / "tmp" / "1713.M3.host").write_text("being delivered")
    (folder / "team.mbox").write_text("From x\n" + MESSAGE.format(n=3) + "From y\n" + MESSAGE.format(n=4))
    (folder / "_READY").write_text("")
    (folder / ".DS_Store").write_bytes(b"\0\1")
    return folder


# --------------------------------------------------------------------------- no Spark


def test_units_are_what_the_parsers_read(tmp_path, pseudo, shared_data):
    root = tmp_path / "landing"
    email = _email_landing(root, shared_data)
    calendar = root / "calendar"
    (calendar / "team").mkdir(parents=True)
    for rel in REAL_ICS:
        shutil.copy(shared_data / rel, calendar / "team" / Path(rel).name)
    (calendar / "README.txt").write_text("not a calendar")
    chat = root / "chat" / "slack"
    chat.mkdir(parents=True)
    shutil.copytree(shared_data / "chat" / "slack-export-houstondatavis", chat / "houston")  # + 3 docs
    with zipfile.ZipFile(chat / "old.zip", "w") as archive:
        archive.writestr("users.json", "[]")
        archive.writestr("channels.json", json.dumps([{"id": "C1", "name": "general"}]))
        archive.writestr("general/2016-01-01.json", json.dumps([{"type": "message", "ts": "1451606400.000100"}]))
    people = root / "people"
    people.mkdir()
    (people / "roster.csv").write_text("email,department,team,manager_email,location,hire_date,timezone\n"
                                       "ann@example.org,Eng,,,,,\n")
    (people / "roster.xlsx").write_bytes(b"PK not parsed")

    expected = {  # units, unrecognised
        "email": (10 + 2 + 1, 3),  # 10 .eml, 2 maildir messages, 1 mbox; LICENSE, NOTICE, SOURCE.md
        "calendar": (3, 1),
        "chat": (2, 3),  # the folder export, the zip; LICENSE, README, SOURCE.md
        "people": (1, 1),
    }
    for source, folder in (("email", email), ("calendar", calendar), ("chat", chat), ("people", people)):
        units, unrecognised = landing.landing_units(source, folder, pseudo)
        assert (len(units), unrecognised) == expected[source], source
        outcome = PARSERS[source](folder, pseudo)
        carried = {r["file_ref"] for r in outcome.rows} | {r.file_ref for r in outcome.rejections}
        # Every file_ref a record carries belongs to exactly one unit.
        owners = {ref: [u for u in units if ref in u.file_refs] for ref in carried}
        assert all(len(o) == 1 for o in owners.values()), source
        for unit in units:
            assert unit.unit_ref == pseudo.ref("file", unit.rel)
            if source != "chat":  # a Slack export's records carry the refs of its day files
                assert unit.file_refs == {unit.unit_ref}
            only = PARSERS[source](folder, pseudo, only={unit.rel})
            mine = {r["file_ref"] for r in only.rows} | {r.file_ref for r in only.rejections}
            assert mine <= unit.file_refs, source
            assert only.read == sum(1 for r in outcome.rows if r["file_ref"] in unit.file_refs) + sum(
                1 for r in outcome.rejections if r.file_ref in unit.file_refs)
        # Units print as keyed refs: no path, no name.
        assert "houston" not in repr(units) and "ann" not in repr(units) and ".ics" not in repr(units)

    maildir = {u.rel: u for u in landing.landing_units("email", email, pseudo)[0]}
    assert {"ann/1711.M1.host", "ann/1712.M2.host"} <= set(maildir)
    houston = next(u for u in landing.landing_units("chat", chat, pseudo)[0] if u.rel == "houston")
    assert pseudo.ref("file", "houston/general/2016-07-27.json") in houston.file_refs


def test_content_hash_is_keyed(tmp_path):
    (tmp_path / "a.ics").write_bytes(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    plain = hashlib.sha256(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n").hexdigest()
    refs = set()
    for key in (b"one", b"two"):
        pseudo = Pseudonymiser(key=key)
        (unit,), _ = landing.landing_units("calendar", tmp_path, pseudo)
        assert unit.content_hash() == pseudo.ref("content", plain) != plain
        refs.add(unit.content_hash())
    assert len(refs) == 2


# --------------------------------------------------------------------------- Spark


def test_manifest_first_pass_new_then_nothing_touch_change(spark, tmp_path, pseudo, shared_data, monkeypatch):
    folder = tmp_path / "landing" / "calendar"
    folder.mkdir(parents=True)
    for rel in REAL_ICS:
        shutil.copy(shared_data / rel, folder / Path(rel).name)
    (folder / "notes.txt").write_text("not a calendar")
    (folder / "_READY").write_text("")
    lake_root = tmp_path / "lake"
    hashed = _count_hashing(monkeypatch)

    units, unrecognised = landing.landing_units("calendar", folder, pseudo)
    assert unrecognised == 1
    first = _plan(spark, lake_root, "calendar", units)
    assert (len(first.new), first.changed, first.unchanged) == (3, [], [])
    assert first.to_parse == {"Germany.ics", "ms_tzid.ics", "issue_18_cancel_status.ics"}
    landing.record(spark, lake_root, units, "run-1")
    rows = _manifest_rows(spark, lake_root, "calendar")
    assert set(rows) == {pseudo.ref("file", n) for n in first.to_parse}
    germany = rows[pseudo.ref("file", "Germany.ics")]
    assert germany["size"] == (folder / "Germany.ics").stat().st_size and germany["run_id"] == "run-1"
    assert germany["mtime"] == datetime.fromtimestamp((folder / "Germany.ics").stat().st_mtime_ns // 1000 / 1e6,
                                                      tz=timezone.utc).replace(tzinfo=None)
    text = json.dumps([list(map(str, r.values())) for r in rows.values()])
    assert ".ics" not in text and "Germany" not in text

    # Second pass, nothing touched: all unchanged, and no file is read to tell.
    hashed.clear()
    units, _ = landing.landing_units("calendar", folder, pseudo)
    second = _plan(spark, lake_root, "calendar", units)
    assert (second.new, second.changed, len(second.unchanged)) == ([], [], 3) and second.to_parse == set()
    assert hashed == []
    landing.record(spark, lake_root, units, "run-2")  # nothing to write
    assert _manifest_rows(spark, lake_root, "calendar") == rows

    # A touched file (same bytes, new mtime) is unchanged; the manifest learns its new mtime
    # but keeps the run that ingested it. A file whose bytes changed is changed; a new one new.
    _touch(folder / "ms_tzid.ics", 60)
    changed = folder / "issue_18_cancel_status.ics"
    changed.write_bytes(changed.read_bytes().replace(b"STATUS:CANCELLED", b"STATUS:CONFIRMED"))
    shutil.copy(folder / "Germany.ics", folder / "copy-of-germany.ics")
    units, _ = landing.landing_units("calendar", folder, pseudo)
    third = _plan(spark, lake_root, "calendar", units)
    assert [u.rel for u in third.new] == ["copy-of-germany.ics"]
    assert [u.rel for u in third.changed] == ["issue_18_cancel_status.ics"]
    assert sorted(u.rel for u in third.unchanged) == ["Germany.ics", "ms_tzid.ics"]
    assert third.to_parse == {"copy-of-germany.ics", "issue_18_cancel_status.ics"}
    assert third.replaced_file_refs == {pseudo.ref("file", "issue_18_cancel_status.ics")}
    out = parse_calendar(folder, pseudo, only=third.to_parse)
    assert {r["file_ref"] for r in out.rows} == {pseudo.ref("file", n) for n in third.to_parse}
    landing.record(spark, lake_root, units, "run-3")
    rows = _manifest_rows(spark, lake_root, "calendar")
    assert {rows[u.unit_ref]["run_id"] for u in third.unchanged} == {"run-1"}
    assert {rows[u.unit_ref]["run_id"] for u in third.new + third.changed} == {"run-3"}

    hashed.clear()
    units, _ = landing.landing_units("calendar", folder, pseudo)
    fourth = _plan(spark, lake_root, "calendar", units)
    assert (fourth.new, fourth.changed, len(fourth.unchanged)) == ([], [], 4) and hashed == []


def test_maildir_move_is_unchanged_and_export_growth_is_a_change(spark, tmp_path, pseudo):
    root = tmp_path / "landing"
    box = root / "email" / "ann"
    for part in ("cur", "new", "tmp"):
        (box / part).mkdir(parents=True)
    (box / "new" / "1711.M1.host").write_text(MESSAGE.format(n=1))
    export = root / "chat" / "slack" / "acme"
    (export / "general").mkdir(parents=True)
    (export / "users.json").write_text(json.dumps([{"id": "U1", "profile": {"email": "ann@example.org"}}]))
    (export / "channels.json").write_text(json.dumps([{"id": "C1", "name": "general"}]))
    (export / "general" / "2026-03-30.json").write_text(json.dumps([{"type": "message", "user": "U1", "ts": "1774861200.000100"}]))
    lake_root = tmp_path / "lake"
    for source, folder in (("email", root / "email"), ("chat", root / "chat" / "slack")):
        units, _ = landing.landing_units(source, folder, pseudo)
        assert len(_plan(spark, lake_root, source, units).new) == 1
        landing.record(spark, lake_root, units, "run-1")

    # The mail client reads the message: new/ -> cur/ with flags. Same unit, same content.
    os.rename(box / "new" / "1711.M1.host", box / "cur" / "1711.M1.host:2,S")
    units, _ = landing.landing_units("email", root / "email", pseudo)
    moved = _plan(spark, lake_root, "email", units)
    assert [u.rel for u in moved.unchanged] == ["ann/1711.M1.host"] and moved.to_parse == set()

    # The next export of the workspace has one more day: the export is changed as a whole,
    # and its rows are replaced under the file_refs of all its day files.
    (export / "general" / "2026-03-31.json").write_text(json.dumps([{"type": "message", "user": "U1", "ts": "1774947600.000100"}]))
    units, _ = landing.landing_units("chat", root / "chat" / "slack", pseudo)
    grown = _plan(spark, lake_root, "chat", units)
    assert [u.rel for u in grown.changed] == ["acme"] and grown.to_parse == {"acme"}
    out = parse_slack(root / "chat" / "slack", pseudo, only=grown.to_parse)
    assert {r["file_ref"] for r in out.rows} <= grown.replaced_file_refs
    assert len(out.rows) == 2

    # Both sources recorded together, as `ona run` records its sources: one MERGE over their two
    # partitions. The moved message keeps the run that ingested it; the grown export is run-2's.
    from deltalake import DeltaTable

    manifest = str(lake_root / "state" / "landing_manifest")
    version = DeltaTable(manifest).version()
    landing.record(spark, lake_root, moved.unchanged + grown.changed, "run-2")
    assert DeltaTable(manifest).version() == version + 1
    assert [r["run_id"] for r in _manifest_rows(spark, lake_root, "email").values()] == ["run-1"]
    assert [r["run_id"] for r in _manifest_rows(spark, lake_root, "chat").values()] == ["run-2"]
    known = landing.known_units(spark, lake_root, ["email", "chat", "people"])
    assert {source: len(units) for source, units in known.items()} == {"email": 1, "chat": 1, "people": 0}


def test_merge_with_replace_file_refs_replaces_a_changed_files_records(spark, tmp_path):
    from pyspark.sql.types import StringType, StructField, StructType

    from schemas import Table

    table = Table("bronze/test", StructType([
        StructField("record_id", StringType(), False),
        StructField("file_ref", StringType(), True),
        StructField("value", StringType(), True),
    ]), ("record_id",))
    lake_root = tmp_path / "lake"
    first = [("a", "f1", "old"), ("b", "f1", "old"), ("c", "f2", "old")]
    lake.merge_rows(spark, lake_root, table, spark.createDataFrame(first, table.schema))

    # f1 changed: it now holds a (updated) and d; b is gone from it. f2 was not re-read; a new
    # file f3 comes in the same load.
    new_rows = [("a", "f1", "new"), ("d", "f1", "new"), ("e", "f3", "new")]
    lake.merge_rows(spark, lake_root, table, replace_file_refs={"f1"}, df=spark.createDataFrame(new_rows, table.schema))
    after = sorted(tuple(r) for r in lake.read(spark, lake_root, table).collect())
    assert after == [("a", "f1", "new"), ("c", "f2", "old"), ("d", "f1", "new"), ("e", "f3", "new")]

    # Rerunning the same load changes nothing; a changed file that now yields no record
    # leaves none behind.
    lake.merge_rows(spark, lake_root, table, replace_file_refs={"f1"}, df=spark.createDataFrame(new_rows, table.schema))
    assert sorted(tuple(r) for r in lake.read(spark, lake_root, table).collect()) == after
    lake.merge_rows(spark, lake_root, table, replace_file_refs={"f2"}, df=spark.createDataFrame([], table.schema))
    assert sorted(r["record_id"] for r in lake.read(spark, lake_root, table).collect()) == ["a", "d", "e"]

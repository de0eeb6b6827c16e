"""The synthetic organisation: deterministic, real formats, the shape the pipeline expects."""

from __future__ import annotations

import csv
import json
import mailbox
import os
import re
import statistics
import subprocess
import sys
from collections import Counter
from datetime import date, datetime, timedelta
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

import icalendar
import pytest
import recurring_ical_events

from demo.synthetic import BROKEN, ROSTER_HEADER, DemoSpec, write_landing

# Small enough to be fast (about a second); three weeks so that the weekly team meeting has
# an occurrence left on each side of its EXDATE.
SPEC = DemoSpec(n_people=60, weeks=3)
SLACK = Path("chat", "slack", "northwind-export")


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("landing")
    return root, write_landing(root, SPEC)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _roster(root: Path) -> list[dict]:
    with (root / "people" / "roster.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def _unique_messages(root: Path) -> dict[str, mailbox.mboxMessage]:
    out = {}
    for path in sorted((root / "email").glob("*.mbox")):
        for msg in mailbox.mbox(path):
            out.setdefault(msg["Message-ID"], msg)
    return out


def _recipients(msg) -> list[str]:
    return [addr for _, addr in getaddresses(msg.get_all("To", []) + msg.get_all("Cc", [])) if addr]


# ----------------------------------------------------------------------------- determinism


def test_same_spec_gives_identical_bytes(landing, tmp_path):
    root, counts = landing
    again = tmp_path / "again"
    assert write_landing(again, SPEC) == counts
    assert _files(again) == _files(root)


def test_identical_bytes_under_another_hash_seed(landing, tmp_path):
    """String hashing is randomised per process: a set iterated anywhere would show here."""
    root, _ = landing
    other = tmp_path / "other"
    code = (
        "import sys; from pathlib import Path;"
        "from demo.synthetic import DemoSpec, write_landing;"
        f"write_landing(Path(sys.argv[1]), DemoSpec(n_people={SPEC.n_people}, weeks={SPEC.weeks}))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code, str(other)], check=True, env=env, timeout=120,
                   cwd=Path(__file__).resolve().parents[2])  # demo/ is beside the package, not installed
    assert _files(other) == _files(root)


def test_rewriting_into_the_same_folder_replaces_the_files(landing, tmp_path):
    root, _ = landing
    target = tmp_path / "twice"
    write_landing(target, DemoSpec(n_people=80, weeks=2, seed=3))
    write_landing(target, SPEC)
    assert _files(target) == _files(root)


def test_another_seed_gives_another_organisation(landing, tmp_path):
    root, _ = landing
    other = tmp_path / "seed8"
    write_landing(other, DemoSpec(n_people=SPEC.n_people, weeks=SPEC.weeks, seed=8))
    assert (other / "people" / "roster.csv").read_bytes() != (root / "people" / "roster.csv").read_bytes()


def test_spec_is_validated():
    with pytest.raises(ValueError):
        DemoSpec(n_people=20)
    with pytest.raises(ValueError):
        DemoSpec(first_monday=date(2026, 3, 3))
    with pytest.raises(ValueError):
        DemoSpec(weeks=0)


def test_counts_for_the_summary(landing):
    _, counts = landing
    assert {"people", "emails", "meetings", "chat_messages", "broken_records_by_source"} <= set(counts)
    assert counts["people"] == SPEC.n_people
    assert counts["broken_records_by_source"] == BROKEN
    workday_people = SPEC.n_people * len(SPEC.workdays)
    assert 2.0 <= counts["emails"] / workday_people <= 4.5
    assert 7.0 <= counts["chat_messages"] / workday_people <= 13.0
    assert counts["meetings"] > SPEC.n_people * SPEC.weeks  # ~2 ad-hoc per person-week + series


# ---------------------------------------------------------------------------------- people


def test_roster_header_rows_and_hierarchy(landing):
    root, _ = landing
    with (root / "people" / "roster.csv").open(newline="") as fh:
        assert next(csv.reader(fh)) == list(ROSTER_HEADER)
    rows = _roster(root)
    assert len(rows) == SPEC.n_people
    emails = [r["email"] for r in rows]
    assert len(set(emails)) == len(emails)
    assert all(re.fullmatch(r"[a-z]+\.[a-z]+\d*@northwind\.example", e) for e in emails)
    # One CEO without a manager; every other manager is someone on the roster.
    assert [r["manager_email"] for r in rows].count("") == 1
    assert {r["manager_email"] for r in rows} - {""} <= set(emails)


def test_one_department_is_below_the_suppression_threshold(landing):
    root, _ = landing
    sizes = Counter(r["department"] for r in _roster(root))
    assert set(sizes) == {"Engineering", "Sales", "Marketing", "Finance", "HR", "Operations", "Product",
                          "Support", "Legal"}
    assert [d for d, n in sizes.items() if n < 5] == ["Legal"]
    assert sizes["Engineering"] == max(sizes.values())


def test_teams_locations_and_newcomers(landing):
    root, _ = landing
    rows = _roster(root)
    teams = Counter((r["department"], r["team"]) for r in rows)
    assert all(4 <= n <= 10 for (dept, _), n in teams.items() if dept != "Legal")
    zones = {"London": "Europe/London", "New York": "America/New_York", "Berlin": "Europe/Berlin",
             "Singapore": "Asia/Singapore"}
    assert all(zones[r["location"]] == r["timezone"] for r in rows)
    hired = [date.fromisoformat(r["hire_date"]) for r in rows]
    assert min(hired).year <= 2016
    recent = [d for d in hired if d >= SPEC.first_monday - timedelta(days=14)]
    assert 2 <= len(recent) <= 0.1 * SPEC.n_people
    assert any(d >= SPEC.first_monday for d in recent)  # someone joins during the weeks


# ----------------------------------------------------------------------------------- email


def test_every_mbox_parses_with_the_expected_counts(landing):
    root, counts = landing
    per_file = {p.name: len(mailbox.mbox(p)) for p in sorted((root / "email").glob("*.mbox"))}
    assert per_file == counts["email_files"]
    assert len(per_file) == 9  # one per department
    assert sum(per_file.values()) == counts["email_messages_written"]
    assert sum(per_file.values()) == counts["emails"] + counts["email_duplicate_copies"] + BROKEN["email"]

    ids = Counter(msg["Message-ID"] for p in sorted((root / "email").glob("*.mbox")) for msg in mailbox.mbox(p))
    assert sum(1 for n in ids.values() if n == 2) == counts["email_duplicate_copies"] >= 1
    assert max(ids.values()) == 2


def test_email_headers_and_broken_records(landing):
    root, _ = landing
    messages = _unique_messages(root)
    no_date, bad_date, offsets = 0, 0, set()
    for msg in messages.values():
        assert msg["From"] and msg["To"] and msg["Message-ID"].endswith(">")
        if msg["Date"] is None:
            no_date += 1
            continue
        try:
            sent = parsedate_to_datetime(msg["Date"])
        except (TypeError, ValueError):
            bad_date += 1
            continue
        assert sent.tzinfo is not None
        offsets.add(sent.utcoffset())
    assert (no_date, bad_date) == (2, 1)
    assert len(offsets) >= 3  # senders write in their own zones
    replies = [m for m in messages.values() if m["In-Reply-To"]]
    assert replies and all(m["In-Reply-To"] in m["References"] for m in replies)
    senders = [getaddresses([m["From"]])[0][1] for m in messages.values()]
    domains = {addr.split("@")[1] for m in messages.values() for addr in _recipients(m)} | {
        addr.split("@")[1] for addr in senders}
    assert {"northwind.example", "partner.example", "client.example"} <= domains


def test_broadcast_mail_has_more_than_25_recipients(landing):
    root, _ = landing
    assert max(len(_recipients(m)) for m in _unique_messages(root).values()) > 25


def test_email_activity_is_heavy_tailed(landing):
    root, _ = landing
    staff = {r["email"] for r in _roster(root)}
    sent = Counter(getaddresses([m["From"]])[0][1] for m in _unique_messages(root).values())
    per_person = [sent.get(e, 0) for e in sorted(staff)]
    assert max(per_person) >= 4 * statistics.median(per_person)


# -------------------------------------------------------------------------------- calendar


def _calendars(root: Path) -> dict[str, icalendar.Calendar]:
    return {p.name: icalendar.Calendar.from_ical(p.read_bytes()) for p in sorted((root / "calendar").glob("*.ics"))}


def test_every_ics_parses_and_expands(landing):
    root, counts = landing
    cals = _calendars(root)
    assert set(cals) == set(counts["calendar_files"])
    start = datetime.combine(SPEC.first_monday, datetime.min.time())
    end = start + timedelta(weeks=SPEC.weeks + 1)
    expanded = 0
    series = 0
    for cal in cals.values():
        assert cal.walk("VTIMEZONE")
        for ev in cal.walk("VEVENT"):
            assert str(ev["ORGANIZER"]).startswith("mailto:") and ev["ORGANIZER"].params["CN"]
            series += "RECURRENCE-ID" not in ev
        expanded += len(recurring_ical_events.of(cal).between(start, end))
    assert series == counts["meetings"] + BROKEN["calendar"]
    # The broken events expand too (the parser, not the expander, rejects them).
    assert expanded == counts["meeting_occurrences"] + BROKEN["calendar"]


def test_weekly_team_meeting_expands_to_weeks_minus_the_exdate(landing):
    root, _ = landing
    start = datetime.combine(SPEC.first_monday, datetime.min.time())
    end = start + timedelta(weeks=SPEC.weeks + 1)
    # 3 weeks: occurrences in weeks 1, 2, 3; EXDATE removes week 2; the RECURRENCE-ID
    # override moves week 1 by a day (still one occurrence).
    expected = 3 - 1
    checked = 0
    for cal in _calendars(root).values():
        weekly = [ev for ev in cal.walk("VEVENT") if "RRULE" in ev and ev["RRULE"]["FREQ"] == ["WEEKLY"]
                  and "INTERVAL" not in ev["RRULE"]]
        for ev in weekly:
            assert ev["RRULE"]["COUNT"] == [SPEC.weeks] and "EXDATE" in ev
            occurrences = [o for o in recurring_ical_events.of(cal).between(start, end) if o["UID"] == ev["UID"]]
            assert len(occurrences) == expected
            first = ev.decoded("DTSTART")
            assert sorted(o.decoded("DTSTART") for o in occurrences) == [first + timedelta(days=1),
                                                                          first + timedelta(weeks=2)]
            checked += 1
    assert checked >= 8  # one per team


def test_calendar_has_large_cancelled_and_varied_partstat_meetings(landing):
    root, _ = landing
    events = [ev for cal in _calendars(root).values() for ev in cal.walk("VEVENT")]

    def attendees(ev):
        value = ev.get("ATTENDEE", [])
        return value if isinstance(value, list) else [value]

    assert max(len(attendees(ev)) for ev in events) > 25
    assert any(ev.get("STATUS") == "CANCELLED" for ev in events)
    partstats = Counter(a.params["PARTSTAT"] for ev in events for a in attendees(ev))
    assert {"ACCEPTED", "TENTATIVE", "DECLINED", "NEEDS-ACTION"} <= set(partstats)
    assert partstats["ACCEPTED"] > sum(partstats.values()) / 2
    biweekly = [ev for ev in events if "RRULE" in ev and ev["RRULE"].get("INTERVAL") == [2]]
    assert len(biweekly) >= SPEC.n_people // 2  # 1:1s
    backwards = [ev for ev in events if ev.decoded("DTEND") < ev.decoded("DTSTART")]
    mars = [ev for ev in events if ev["DTSTART"].params.get("TZID") == "Mars/Olympus_Mons"]
    assert len(backwards) == 1 and len(mars) == 1


# ------------------------------------------------------------------------------------ chat


def test_slack_users_match_the_roster(landing):
    root, _ = landing
    users = json.loads((root / SLACK / "users.json").read_text())
    humans = [u for u in users if not u.get("is_bot")]
    bots = [u for u in users if u.get("is_bot")]
    assert sorted(u["profile"]["email"] for u in humans) == sorted(r["email"] for r in _roster(root))
    assert len(bots) == 1 and "email" not in bots[0]["profile"]
    assert all(re.fullmatch(r"U[A-Z0-9]{10}", u["id"]) for u in users)


def test_slack_export_layout_and_messages(landing):
    root, counts = landing
    export = root / SLACK
    channels = json.loads((export / "channels.json").read_text())
    dms = json.loads((export / "dms.json").read_text())
    mpims = json.loads((export / "mpims.json").read_text())
    assert all(c["id"].startswith("C") and c["members"] for c in channels)
    assert all(d["id"].startswith("D") and len(d["members"]) == 2 for d in dms)
    assert all(m["id"].startswith("G") and 3 <= len(m["members"]) <= 5 for m in mpims)
    folders = {p.name for p in export.iterdir() if p.is_dir()}
    private_folders = {d["id"] for d in dms} | {m["name"] for m in mpims} | {m["id"] for m in mpims}
    known = {c["name"] for c in channels} | private_folders
    assert folders <= known
    assert any(d["id"] in folders for d in dms)

    broken = root / counts["chat_broken_file"]
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken.read_text())

    total, private, subtypes, kinds = 0, 0, Counter(), Counter()
    for path in sorted(export.glob("*/*.json")):
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}\.json", path.name)
        if path == broken:
            continue
        day = json.loads(path.read_text())
        for msg in day:
            assert msg["type"] == "message" and re.fullmatch(r"\d{10}\.\d{6}", msg["ts"])
            subtypes[msg.get("subtype")] += 1
            kinds["thread_reply"] += "parent_user_id" in msg
            kinds["reactions"] += "reactions" in msg
            kinds["mention"] += "<@U" in msg.get("text", "") and msg.get("subtype") is None
        total += len(day)
        private += len(day) * (path.parent.name in private_folders)
    assert total == counts["chat_messages"]
    assert private / total >= 0.85
    assert subtypes["channel_join"] >= 1 and subtypes["bot_message"] >= 1
    assert all(kinds[k] > 0 for k in ("thread_reply", "reactions", "mention"))

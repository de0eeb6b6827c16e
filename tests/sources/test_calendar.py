from datetime import datetime, timezone
from pathlib import Path

import pytest

from jobs.privacy.pseudonym import Pseudonymiser
from jobs.sources.calendar import parse_calendar

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "calendar"
UTC = timezone.utc
ROW_KEYS = {
    "record_id", "file_ref", "event_ref", "starts_at", "ends_at", "duration_minutes", "organizer",
    "attendees", "status", "is_recurring", "is_all_day",
}


@pytest.fixture
def pseudo():
    return Pseudonymiser(key=b"test-key")


def utc(*args):
    return datetime(*args, tzinfo=UTC)


# Weekly on Mondays 10:00 Berlin, six times from 2024-03-04, 18 March deleted, 25 March moved
# to 14:00. Europe moves to summer time on 2024-03-31: 10:00 Berlin is 09:00Z before, 08:00Z after.
ICS = """\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//hand made//EN
BEGIN:VEVENT
UID:weekly-1
DTSTART;TZID=Europe/Berlin:20240304T100000
DTEND;TZID=Europe/Berlin:20240304T103000
RRULE:FREQ=WEEKLY;COUNT=6
EXDATE;TZID=Europe/Berlin:20240318T100000
SUMMARY:Secret project sync
ORGANIZER;CN=Ann:mailto:ann@example.org
ATTENDEE;PARTSTAT=accepted;ROLE=chair:mailto:ann@example.org
ATTENDEE;PARTSTAT=DECLINED:MAILTO:Bob@Example.org
ATTENDEE:mailto:carol@partner.com
ATTENDEE;CN=Meeting room:room-without-address
STATUS:confirmed
END:VEVENT
BEGIN:VEVENT
UID:weekly-1
RECURRENCE-ID;TZID=Europe/Berlin:20240325T100000
DTSTART;TZID=Europe/Berlin:20240325T140000
DTEND;TZID=Europe/Berlin:20240325T150000
ORGANIZER:mailto:ann@example.org
ATTENDEE;PARTSTAT=TENTATIVE:mailto:dave@example.org
END:VEVENT
BEGIN:VEVENT
UID:cancelled-1
DTSTART:20240306T150000Z
DURATION:PT45M
STATUS:CANCELLED
END:VEVENT
BEGIN:VEVENT
UID:floating-1
DTSTART:20240307T120000
DTEND:20240307T123000
END:VEVENT
BEGIN:VEVENT
UID:allday-1
DTSTART;VALUE=DATE:20240308
END:VEVENT
BEGIN:VEVENT
UID:broken-tz
DTSTART;TZID=Mars/Olympus_Mons:20240309T100000
DTEND;TZID=Mars/Olympus_Mons:20240309T110000
END:VEVENT
BEGIN:VEVENT
UID:no-start
SUMMARY:nothing to place
END:VEVENT
BEGIN:VEVENT
UID:backwards
DTSTART:20240310T100000Z
DTEND:20240310T090000Z
END:VEVENT
BEGIN:VEVENT
DTSTART:20240311T080000Z
END:VEVENT
END:VCALENDAR
"""

WINDOW = (utc(2024, 3, 1), utc(2024, 5, 1))


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "cal.ics").write_text(ICS.replace("\n", "\r\n"))
    (tmp_path / "notes.txt").write_text("not a calendar")
    return tmp_path


def _by_uid(out, pseudo, uid):
    return sorted((r for r in out.rows if r["event_ref"] == pseudo.ref("uid", uid)), key=lambda r: r["starts_at"])


def test_counts_and_rejections(folder, pseudo):
    out = parse_calendar(folder, pseudo, WINDOW)
    # weekly 5 (6 minus EXDATE, one of them the override) + cancelled + floating + all-day + no-UID
    assert len(out.rows) == 9
    assert all(set(r) == ROW_KEYS for r in out.rows)
    reasons = {r.record_ref: r.reason for r in out.rejections}
    rel = "team/cal.ics"
    # Component positions: 0 weekly, 1 override, 2 cancelled, 3 floating, 4 all-day, 5 broken-tz...
    assert reasons == {
        pseudo.ref("cal-pos", rel, 5): "unknown time zone",
        pseudo.ref("cal-pos", rel, 6): "no DTSTART",
        pseudo.ref("cal-pos", rel, 7): "DTEND before DTSTART",
    }
    assert {r.file_ref for r in out.rejections} == {pseudo.ref("file", rel)}


def test_weekly_series_with_exdate_override_and_dst(folder, pseudo):
    out = parse_calendar(folder, pseudo, WINDOW)
    weekly = _by_uid(out, pseudo, "weekly-1")
    assert [r["starts_at"] for r in weekly] == [
        utc(2024, 3, 4, 9),
        utc(2024, 3, 11, 9),
        utc(2024, 3, 25, 13),  # the override: 14:00 Berlin (still winter time)
        utc(2024, 4, 1, 8),  # summer time from 31 March
        utc(2024, 4, 8, 8),
    ]
    assert [r["duration_minutes"] for r in weekly] == [30.0, 30.0, 60.0, 30.0, 30.0]
    assert weekly[0]["ends_at"] == utc(2024, 3, 4, 9, 30)
    assert all(r["is_recurring"] and not r["is_all_day"] for r in weekly)
    assert weekly[0]["record_id"] == pseudo.ref("cal", "weekly-1", "2024-03-04T09:00:00+00:00")
    assert len({r["record_id"] for r in weekly}) == 5

    master = weekly[0]
    assert master["organizer"] == pseudo.person("ann@example.org")
    assert master["status"] == "CONFIRMED"
    assert master["attendees"] == [
        {"person": pseudo.person("ann@example.org"), "partstat": "ACCEPTED", "role": "CHAIR"},
        {"person": pseudo.person("bob@example.org"), "partstat": "DECLINED", "role": "REQ-PARTICIPANT"},
        {"person": pseudo.person("carol@partner.com"), "partstat": "NEEDS-ACTION", "role": "REQ-PARTICIPANT"},
    ]  # the room has no address: dropped
    moved = weekly[2]
    assert moved["attendees"] == [
        {"person": pseudo.person("dave@example.org"), "partstat": "TENTATIVE", "role": "REQ-PARTICIPANT"}
    ]
    assert moved["status"] is None


def test_single_events(folder, pseudo):
    out = parse_calendar(folder, pseudo, WINDOW)
    (cancelled,) = _by_uid(out, pseudo, "cancelled-1")
    assert (cancelled["starts_at"], cancelled["ends_at"]) == (utc(2024, 3, 6, 15), utc(2024, 3, 6, 15, 45))
    assert cancelled["duration_minutes"] == 45.0
    assert cancelled["status"] == "CANCELLED" and cancelled["is_recurring"] is False

    (floating,) = _by_uid(out, pseudo, "floating-1")  # floating time read as UTC
    assert (floating["starts_at"], floating["ends_at"]) == (utc(2024, 3, 7, 12), utc(2024, 3, 7, 12, 30))

    (allday,) = _by_uid(out, pseudo, "allday-1")
    assert (allday["starts_at"], allday["ends_at"]) == (utc(2024, 3, 8), utc(2024, 3, 9))
    assert allday["is_all_day"] is True and allday["duration_minutes"] == 1440.0

    no_uid = [r for r in out.rows if r["starts_at"] == utc(2024, 3, 11, 8)]
    assert len(no_uid) == 1
    assert no_uid[0]["event_ref"] == pseudo.ref("uid-none", "team/cal.ics", "20240311T080000Z", 8)
    assert no_uid[0]["duration_minutes"] == 0.0  # timed, no DTEND/DURATION
    assert no_uid[0]["organizer"] is None and no_uid[0]["attendees"] == []


def test_window_start_inclusive_end_exclusive(folder, pseudo):
    out = parse_calendar(folder, pseudo, (utc(2024, 3, 11, 9), utc(2024, 4, 8, 8)))
    starts = [r["starts_at"] for r in _by_uid(out, pseudo, "weekly-1")]
    assert starts == [utc(2024, 3, 11, 9), utc(2024, 3, 25, 13), utc(2024, 4, 1, 8)]


def test_default_window_reaches_four_weeks_past_the_latest_start(folder, pseudo):
    # Earliest DTSTART 2024-03-04 09:00Z; latest 2024-03-25 13:00Z (the override), later than
    # "now": the horizon ends after the ISO week of 2024-04-22, so the whole series is in.
    out = parse_calendar(folder, pseudo, now=utc(2024, 3, 1))
    starts = [r["starts_at"] for r in _by_uid(out, pseudo, "weekly-1")]
    assert starts[-1] == utc(2024, 4, 8, 8)
    assert len(out.rows) == 9


OPEN_ENDED = """\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//open ended//EN
BEGIN:VEVENT
UID:forever-weekly
DTSTART:20240304T090000Z
DTEND:20240304T093000Z
RRULE:FREQ=WEEKLY
END:VEVENT
BEGIN:VEVENT
UID:one-off
DTSTART:20240306T100000Z
END:VEVENT
END:VCALENDAR
"""


def test_open_ended_series_expand_to_four_weeks_after_now(tmp_path, pseudo):
    (tmp_path / "cal.ics").write_text(OPEN_ENDED)
    # now = Wednesday 2024-06-12. +4 weeks = Wednesday 2024-07-10, in the ISO week of Monday
    # 2024-07-08: the horizon ends Monday 2024-07-15 00:00Z (exclusive).
    out = parse_calendar(tmp_path, pseudo, now=utc(2024, 6, 12, 15))
    weekly = [r["starts_at"] for r in _by_uid(out, pseudo, "forever-weekly")]
    assert weekly[0] == utc(2024, 3, 4, 9) and weekly[-1] == utc(2024, 7, 8, 9)
    assert len(weekly) == 19  # 4 March .. 8 July, every Monday
    # A horizon ending on a Monday 00:00 leaves that Monday's meeting out.
    out = parse_calendar(tmp_path, pseudo, now=utc(2024, 6, 9, 23))  # Sunday: week of 3 June
    assert max(r["starts_at"] for r in _by_uid(out, pseudo, "forever-weekly")) == utc(2024, 7, 1, 9)
    # With a window the horizon plays no part.
    out = parse_calendar(tmp_path, pseudo, (utc(2024, 3, 1), utc(2024, 3, 18)), now=utc(2030, 1, 1))
    assert [r["starts_at"] for r in _by_uid(out, pseudo, "forever-weekly")] == [utc(2024, 3, 4, 9), utc(2024, 3, 11, 9)]


def test_only_reads_the_named_files(folder, pseudo, tmp_path):
    (folder / "other.ics").write_text(OPEN_ENDED)
    out = parse_calendar(folder, pseudo, WINDOW, only={"other.ics"})
    assert {r["file_ref"] for r in out.rows} == {pseudo.ref("file", "other.ics")}
    assert out.rejections == []


def test_naive_window_is_refused(folder, pseudo):
    with pytest.raises(ValueError):
        parse_calendar(folder, pseudo, (datetime(2024, 1, 1), datetime(2024, 2, 1)))


def test_unparseable_and_empty_files(tmp_path, pseudo):
    (tmp_path / "garbage.ics").write_text("this is not\r\nan iCalendar file at all\r\n")
    (tmp_path / "unterminated.ics").write_text("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\n")
    (tmp_path / "empty.ics").write_text("")
    out = parse_calendar(tmp_path, pseudo, WINDOW)
    assert out.rows == []
    reasons = {r.file_ref: r.reason for r in out.rejections}
    assert reasons[pseudo.ref("file", "garbage.ics")].startswith("unparseable file: ")
    assert reasons[pseudo.ref("file", "unterminated.ics")] == "no calendar found in file"
    assert pseudo.ref("file", "empty.ics") not in reasons


def test_no_raw_content_leaves_the_parser(folder, pseudo):
    out = parse_calendar(folder, pseudo, WINDOW)
    texts = [str(v) for row in out.rows for v in row.values()] + [r.reason for r in out.rejections]
    for text in texts:
        for needle in ("@", "example.org", "Secret", "Ann", "weekly-1", "Mars", "room"):
            assert needle not in text


# --------------------------------------------------------------------------- real data

real = pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data absent")


@real
def test_issue42_google_export_parses_completely(pseudo):
    # Its parse time is a benchmark figure, not a test: tests never assert a time.
    out = parse_calendar(DATA / "recurring-ical-events" / "benchmark", pseudo)
    assert out.rejections == []
    # 4,778 VEVENTs, 8 of them RECURRENCE-ID overrides of other UIDs: 4,770 distinct UIDs.
    assert len({r["event_ref"] for r in out.rows}) == 4770
    assert len(out.rows) >= 4770
    assert {r["status"] for r in out.rows} <= {"CONFIRMED", "TENTATIVE", "CANCELLED", None}
    assert all(r["starts_at"].tzinfo is UTC and r["duration_minutes"] >= 0 for r in out.rows)


@pytest.fixture(scope="module")
def real_outcome():
    if not DATA.is_dir():
        pytest.skip("../shared/data absent")
    pseudo = Pseudonymiser(key=b"test-key")
    return pseudo, {
        sub: parse_calendar(DATA / sub, pseudo)
        for sub in ("icalendar-tests", "vobject-tests", "recurring-ical-events/calendars")
    }


def _reasons(outcome, pseudo, rel):
    return [r.reason for r in outcome.rejections if r.file_ref == pseudo.ref("file", rel)]


@real
def test_known_broken_files_are_rejected_with_a_reason(real_outcome):
    pseudo, outs = real_outcome
    ical = outs["icalendar-tests"]
    cal = "src/icalendar/tests/calendars/"
    assert _reasons(ical, pseudo, cal + "invalid_duration.ics") == ["invalid DURATION"]
    assert _reasons(ical, pseudo, cal + "issue_722_missing_VTIMEZONE_custom.ics") == ["unknown time zone"]
    assert _reasons(ical, pseudo, cal + "broken_dtstart.ics") == ["invalid DTSTART"]
    assert _reasons(ical, pseudo, cal + "pacific_fiji.ics") == ["more than one DTSTART"]
    assert _reasons(ical, pseudo, cal + "fuzz_testcase_invalid_month.ics")[0].startswith("unparseable file")
    assert _reasons(ical, pseudo, cal + "big_bad_calendar.ics") == ["no calendar found in file"]
    rie = outs["recurring-ical-events/calendars"]
    assert _reasons(rie, pseudo, "end_before_start_event.ics") == ["DTEND before DTSTART"]
    vob = outs["vobject-tests"]
    assert _reasons(vob, pseudo, "test_files/vobject_0050.ics") == ["invalid DTEND"]  # " 20240812T223000Z"


@real
def test_real_quirks_are_read(real_outcome):
    pseudo, outs = real_outcome
    vob, rie = outs["vobject-tests"], outs["recurring-ical-events/calendars"]
    # Outlook TZID "Canberra, Melbourne, Sydney": 2008-05-30 15:00 local (AEST, +10) = 05:00Z.
    ms = [r for r in vob.rows if r["file_ref"] == pseudo.ref("file", "test_files/ms_tzid.ics")]
    assert [r["starts_at"] for r in ms] == [utc(2008, 5, 30, 5)]
    # Daily at 22:00 Berlin three times; the middle occurrence is overridden as CANCELLED.
    cancel = sorted(
        (r for r in rie.rows if r["file_ref"] == pseudo.ref("file", "issue_18_cancel_status.ics")),
        key=lambda r: r["starts_at"],
    )
    assert [(r["starts_at"], r["status"]) for r in cancel] == [
        (utc(2020, 1, 28, 21), None),
        (utc(2020, 1, 29, 21), "CANCELLED"),
        (utc(2020, 1, 30, 21), None),
    ]


@real
def test_real_calendars_account_and_leak_nothing(real_outcome):
    _, outs = real_outcome
    for out in outs.values():
        assert out.read == len(out.rows) + len(out.rejections)
        for row in out.rows:
            assert row["ends_at"] >= row["starts_at"]
            for value in row.values():
                assert "@" not in str(value)
        for rejection in out.rejections:
            assert "@" not in rejection.reason


DENSE = """\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//dense//EN
BEGIN:VEVENT
UID:every-minute
DTSTART:20240301T000000Z
RRULE:FREQ=MINUTELY
END:VEVENT
BEGIN:VEVENT
UID:five-minutes
DTSTART:20240301T090000Z
RRULE:FREQ=MINUTELY;INTERVAL=5;COUNT=3
END:VEVENT
BEGIN:VEVENT
UID:daily
DTSTART:20240301T090000Z
RRULE:FREQ=DAILY
END:VEVENT
END:VCALENDAR
"""


def test_runaway_recurrences_are_rejected_not_expanded(tmp_path, pseudo, monkeypatch):
    import jobs.sources.calendar as calendar_module

    monkeypatch.setattr(calendar_module, "MAX_OCCURRENCES", 20)
    (tmp_path / "dense.ics").write_text(DENSE)
    out = parse_calendar(tmp_path, pseudo, (utc(2024, 3, 1), utc(2024, 4, 1)))
    # The bounded minutely rule is kept: 09:00, 09:05, 09:10.
    assert [r["starts_at"] for r in out.rows] == [utc(2024, 3, 1, 9), utc(2024, 3, 1, 9, 5), utc(2024, 3, 1, 9, 10)]
    assert {r.record_ref: r.reason for r in out.rejections} == {
        pseudo.ref("cal-pos", "dense.ics", 0): "recurrence too frequent",
        pseudo.ref("cal-pos", "dense.ics", 2): "too many occurrences in window",  # 31 days > 20
    }


GOOGLE_STYLE = """\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Google Inc//Google Calendar 70.9054//EN
X-WR-TIMEZONE:America/New_York
BEGIN:VEVENT
UID:standup
DTSTART:20240304T150000Z
DTEND:20240304T151500Z
RRULE:FREQ=WEEKLY;COUNT=3
END:VEVENT
BEGIN:VEVENT
UID:floating-ny
DTSTART:20240307T120000
END:VEVENT
END:VCALENDAR
"""


def test_x_wr_timezone_keeps_wall_clock_across_dst(tmp_path, pseudo):
    (tmp_path / "google.ics").write_text(GOOGLE_STYLE)
    out = parse_calendar(tmp_path, pseudo, (utc(2024, 3, 1), utc(2024, 4, 1)))
    # 10:00 New York every Monday: 15:00Z in EST, 14:00Z once the US moves clocks on 10 March.
    assert [r["starts_at"] for r in _by_uid(out, pseudo, "standup")] == [
        utc(2024, 3, 4, 15), utc(2024, 3, 11, 14), utc(2024, 3, 18, 14)
    ]
    # In such a calendar a floating time is New York time (EST, -5), not UTC.
    assert [r["starts_at"] for r in _by_uid(out, pseudo, "floating-ny")] == [utc(2024, 3, 7, 17)]

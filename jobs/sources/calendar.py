"""Calendar metadata from iCalendar (.ics) files: one row per occurrence of a VEVENT.

Recurrences (RRULE, RDATE, EXDATE, RECURRENCE-ID overrides, RANGE=THISANDFUTURE) are expanded
with ``recurring_ical_events``; titles, descriptions, locations and attachments are never read.

Time conventions (all output times are aware UTC):

* a DATE value (all-day event) starts at 00:00 UTC of that date; ``is_all_day`` is True;
* a floating DATE-TIME (no TZID, no ``Z``) is read as UTC, because the zone it was meant in
  is unknown; the exception is a calendar that declares ``X-WR-TIMEZONE`` (Google exports):
  its floating and UTC times are first put in that zone with ``x_wr_timezone``, exactly as
  ``recurring_ical_events.of()`` does, so that weekly meetings keep their wall-clock time
  across daylight saving changes;
* an end missing both DTEND and DURATION is one day after the start for an all-day event and
  equal to the start (0 minutes) for a timed one (RFC 5545, 3.6.1).

Only occurrences that start inside the window are returned (start inclusive, end exclusive).
The window is the run's weeks (``--weeks``). Without one, each file gets a horizon: from the
file's earliest DTSTART to the end (Monday 00:00 UTC after) of the ISO week that falls
``HORIZON_WEEKS`` (4) weeks after the later of the file's latest DTSTART and now. So an
open-ended series in an export made today yields its meetings up to four weeks ahead, however
long ago the series began, and an old export still reaches four weeks past its last event.

Rejected (with a short reason; parsing goes on with the next event or file): a file that
cannot be parsed or holds no calendar, an event without DTSTART (or with two), a value that
cannot be read (DTSTART, DTEND, DURATION, RRULE, RDATE, EXDATE, RECURRENCE-ID), a TZID that
neither a VTIMEZONE nor the time-zone database resolves, DTEND before DTSTART, a negative
DURATION, an open-ended RRULE repeating every second or minute, a series with more than
``MAX_OCCURRENCES`` occurrences in the window, and a series whose recurrence cannot be
computed.
"""

from __future__ import annotations

import warnings
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import icalendar
import recurring_ical_events
import x_wr_timezone

from jobs.privacy.pseudonym import Pseudonymiser
from jobs.sources.base import ParseOutcome, Rejection, files_under, to_utc

# Without a window, series expand until the end of the ISO week HORIZON_WEEKS weeks after
# max(latest DTSTART of the file, now) (module docstring).
HORIZON_WEEKS = 4
# A daily meeting over 130 years. Beyond that a series is a generator bug or an attack, and
# expanding it would exhaust memory (dateutil builds the whole list of a span at once).
MAX_OCCURRENCES = 50_000
_TOO_DENSE = {"SECONDLY", "MINUTELY"}

# Properties whose value decides when an event happens: a broken one makes the event unusable.
_TIMING_PROPERTIES = ("DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID")
_ZONED_PROPERTIES = ("DTSTART", "DTEND", "RECURRENCE-ID", "RDATE", "EXDATE")


def parse_calendar(
    folder: Path,
    pseudo: Pseudonymiser,
    window: tuple[datetime, datetime] | None = None,
    only: set[str] | None = None,
    now: datetime | None = None,
) -> ParseOutcome:
    """One row per VEVENT occurrence starting in ``window`` from every *.ics below ``folder``.

    ``window`` is ``(start, end)`` as aware datetimes, start inclusive and end exclusive.
    When it is None, each file gets its own window (``horizon``): from the earliest DTSTART
    in that file to the end of the ISO week ``HORIZON_WEEKS`` weeks after the later of the
    file's latest DTSTART and ``now`` (the current time unless given). See the module
    docstring for how floating, all-day and zone-less times are placed. ``only``: the relative
    paths of the files to read (``landed_units``), None for all.
    """
    if window is not None:
        if any(w.tzinfo is None or w.utcoffset() is None for w in window):
            raise ValueError("window must be aware datetimes")
        window = (to_utc(window[0]), to_utc(window[1]))
    now = to_utc(now) if now is not None else datetime.now(timezone.utc)
    folder = Path(folder)
    outcome = ParseOutcome()
    for path in files_under(folder, ".ics"):
        rel = path.relative_to(folder).as_posix()
        if only is None or rel in only:
            outcome.extend(_parse_file(path, rel, pseudo, window, now))
    return outcome


def landed_units(folder: Path) -> list[tuple[str, list[Path]]]:
    """(relative path, [file]) of every .ics file this parser reads below ``folder``."""
    folder = Path(folder)
    return [(path.relative_to(folder).as_posix(), [path]) for path in files_under(folder, ".ics")]


def horizon(starts: list[datetime], now: datetime) -> tuple[datetime, datetime]:
    """The window of a file read without one: [earliest start, Monday 00:00 UTC after the ISO
    week that is ``HORIZON_WEEKS`` weeks after max(latest start, now))."""
    last = max(max(starts), to_utc(now)) + timedelta(weeks=HORIZON_WEEKS)
    monday = last.date() - timedelta(days=last.weekday())
    return min(starts), datetime.combine(monday + timedelta(days=7), datetime.min.time(), tzinfo=timezone.utc)


# ------------------------------------------------------------------------------ per file


@dataclass
class _Event:
    component: icalendar.cal.Component  # as found in the file
    expanded: icalendar.cal.Component  # X-WR-TIMEZONE applied, used for recurrence maths
    position: int
    uid: str | None
    event_ref: str


class _TooMany(Exception):
    pass


class _Adapter(recurring_ical_events.EventAdapter):
    """Carries our bookkeeping to the occurrences, so that every occurrence is traced to the
    component (master or override) whose attendees and status it has."""

    def __init__(self, event: _Event):
        super().__init__(event.expanded)
        self.event = event


class _Series(recurring_ical_events.Series):
    def occurrence(self, adapter, start=None, end=None):
        occurrence = super().occurrence(adapter, start, end)
        occurrence.source = adapter
        return occurrence


def _parse_file(
    path: Path, rel: str, pseudo: Pseudonymiser, window: tuple[datetime, datetime] | None, now: datetime
) -> ParseOutcome:
    outcome = ParseOutcome()
    file_ref = pseudo.ref("file", rel)

    def reject(position: object, reason: str) -> None:
        outcome.rejections.append(Rejection(pseudo.ref("cal-pos", rel, position), reason, file_ref))

    try:
        data = path.read_bytes()
    except OSError as exc:
        reject("file", f"unreadable file: {type(exc).__name__}")
        return outcome
    try:
        with warnings.catch_warnings():
            # Vendor-prefixed TZIDs are guessed with a warning: the guess is what we want.
            warnings.simplefilter("ignore")
            tops = icalendar.Calendar.from_ical(data, multiple=True)
    except Exception as exc:  # noqa: BLE001 - any failure of the whole file is one rejection
        reject("file", f"unparseable file: {type(exc).__name__}")
        return outcome
    if not tops:
        if data.strip():
            reject("file", "no calendar found in file")
        return outcome

    groups: list[list[_Event]] = []
    position = 0
    for top in tops:
        walker = _x_wr_walker(top)
        by_uid: dict[str, list[_Event]] = defaultdict(list)
        for component in top.walk("VEVENT"):
            this = position
            position += 1
            reason = _problem(component)
            if reason:
                reject(this, reason)
                continue
            uid = _text(component.get("UID"))
            if uid:
                event_ref = pseudo.ref("uid", uid)
            else:
                event_ref = pseudo.ref("uid-none", rel, _ical(component["DTSTART"]), this)
            expanded = component
            if walker is not None:
                try:
                    expanded = walker.walk_event(component)
                except Exception:  # noqa: BLE001 - keep the file's own times then
                    expanded = component
            event = _Event(component, expanded, this, uid, event_ref)
            # An event without UID cannot be tied to overrides: it is a series of its own.
            by_uid[uid or f"\x00{this}"].append(event)
        groups.extend(by_uid.values())

    if window is None:
        starts = [_instant(g.expanded["DTSTART"].dt) for group in groups for g in group]
        if not starts:
            return outcome
        window = horizon(starts, now)

    for group in groups:
        try:
            series = _Series([_Adapter(event) for event in group])
            occurrences = []
            for occurrence in series.between(*window):
                occurrences.append(occurrence)
                if len(occurrences) > MAX_OCCURRENCES:
                    raise _TooMany
        except _TooMany:
            for event in group:
                reject(event.position, "too many occurrences in window")
            continue
        except Exception as exc:  # noqa: BLE001 - rrule/dateutil raise many types
            for event in group:
                reject(event.position, f"recurrence cannot be computed: {type(exc).__name__}")
            continue
        has_rules = any(
            ("RRULE" in e.component or "RDATE" in e.component)
            for e in group
            if "RECURRENCE-ID" not in e.component
        )
        for occurrence in occurrences:
            row = _row(occurrence, has_rules, window, file_ref, pseudo)
            if row is not None:
                outcome.rows.append(row)
    return outcome


def _x_wr_walker(top: icalendar.cal.Component):
    name = top.get("X-WR-TIMEZONE") if top.name == "VCALENDAR" else None
    if not name:
        return None
    try:
        return x_wr_timezone.UTCChangingWalker(zoneinfo.ZoneInfo(str(name).strip()))
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return None  # an unknown X-WR-TIMEZONE is ignored: the times stay as written


def _row(occurrence, has_rules: bool, window, file_ref: str, pseudo: Pseudonymiser) -> dict | None:
    event: _Event = occurrence.source.event
    starts_at = _instant(occurrence.start)
    if not window[0] <= starts_at < window[1]:
        return None
    component = event.component
    return meeting_row(
        pseudo,
        record_id=occurrence_record_id(pseudo, event.uid or event.event_ref, starts_at),
        event_ref=event.event_ref,
        starts_at=starts_at,
        ends_at=_instant(occurrence.end),
        organizer=_organizer(component, pseudo),
        attendees=_attendees(component, pseudo),
        status=_text(component.get("STATUS")),
        is_recurring=has_rules or "RECURRENCE-ID" in component,
        is_all_day=_is_date(occurrence.start),
        file_ref=file_ref,
    )


def occurrence_record_id(pseudo: Pseudonymiser, uid: str, original_start: datetime) -> str:
    """One meeting occurrence, wherever it was read: the series UID (iCalendar UID, Google
    iCalUID, Graph uid) and the occurrence's original start in UTC. A moved or re-answered
    occurrence keeps its id, so an API update replaces the row instead of adding one."""
    return pseudo.ref("cal", uid, to_utc(original_start).isoformat())


def meeting_row(pseudo: Pseudonymiser, *, record_id: str, event_ref: str, starts_at: datetime,
                ends_at: datetime, organizer: str | None, attendees: list[dict], status: str | None,
                is_recurring: bool, is_all_day: bool, file_ref: str | None = None) -> dict:
    """The bronze/calendar row of one occurrence (files and calendar APIs alike). People are
    pseudonyms already; ``attendees`` holds ``{"person", "partstat", "role"}`` with iCalendar
    PARTSTAT / ROLE values."""
    starts_at, ends_at = to_utc(starts_at), to_utc(ends_at)
    return {
        "record_id": record_id,
        "file_ref": file_ref,
        "event_ref": event_ref,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "duration_minutes": (ends_at - starts_at).total_seconds() / 60.0,
        "organizer": organizer,
        "attendees": attendees,
        "status": (status or "").strip().upper() or None,
        "is_recurring": is_recurring,
        "is_all_day": is_all_day,
    }


# ---------------------------------------------------------------------------- validation


def _problem(component: icalendar.cal.Component) -> str | None:
    """Why this VEVENT cannot be placed in time, or None."""
    broken = {name.upper() for name, _ in getattr(component, "errors", []) if name}
    start_prop = component.get("DTSTART")
    if start_prop is None:
        return "no DTSTART"
    if isinstance(start_prop, list):
        return "more than one DTSTART"
    for name in _TIMING_PROPERTIES:
        if name in broken:
            return f"invalid {name}"
    start = _value(start_prop)
    if not _is_moment(start):
        return "invalid DTSTART"
    for name in _ZONED_PROPERTIES:
        if _unresolved_zone(component.get(name)):
            return "unknown time zone"
    for name in ("DTEND", "DURATION", "RECURRENCE-ID"):
        if isinstance(component.get(name), list):
            return f"more than one {name}"
    if "RECURRENCE-ID" in component and not _is_moment(_value(component["RECURRENCE-ID"])):
        return "invalid RECURRENCE-ID"
    for name in ("RDATE", "EXDATE"):
        if not _dates_only(component.get(name), periods=name == "RDATE"):
            return f"invalid {name}"
    if _too_dense(component.get("RRULE")):
        return "recurrence too frequent"
    if "DTEND" in component:
        end = _value(component["DTEND"])
        if not _is_moment(end):
            return "invalid DTEND"
        if _instant(end) < _instant(start):
            return "DTEND before DTSTART"
    elif "DURATION" in component:
        duration = _value(component["DURATION"])
        if not isinstance(duration, timedelta):
            return "invalid DURATION"
        if duration < timedelta(0):
            return "negative DURATION"
    return None


def _value(prop):
    try:
        return prop.dt
    except Exception:  # noqa: BLE001 - broken properties raise on access
        return None


def _too_dense(prop) -> bool:
    """An open-ended rule repeating every second or minute: checked before expansion, because
    one such rule over a year is tens of millions of datetimes."""
    for rule in prop if isinstance(prop, list) else [prop]:
        if rule is None or not hasattr(rule, "get"):
            continue
        freq = {str(f).upper() for f in rule.get("FREQ", [])}
        counts = [c for c in rule.get("COUNT", []) if isinstance(c, int)]
        if freq & _TOO_DENSE and not (counts and counts[0] <= MAX_OCCURRENCES):
            return True
    return False


def _dates_only(prop, periods: bool) -> bool:
    """RDATE/EXDATE hold dates, date-times (and for RDATE periods): a VALUE=TIME list
    (seen in the wild) gives no day to recur on."""
    for item in prop if isinstance(prop, list) else [prop]:
        if item is None:
            continue
        for entry in getattr(item, "dts", []):
            value = _value(entry)
            if periods and isinstance(value, tuple) and value and _is_moment(value[0]):
                continue
            if not _is_moment(value):
                return False
    return True


def _unresolved_zone(prop) -> bool:
    """A TZID the parser could not resolve leaves the value naive: its instant is unknown."""
    for item in prop if isinstance(prop, list) else [prop]:
        if item is None or "TZID" not in getattr(item, "params", {}):
            continue
        values = [d.dt for d in getattr(item, "dts", [])] or [_value(item)]
        for value in values:
            if isinstance(value, tuple):  # RDATE period
                value = value[0]
            if isinstance(value, datetime) and value.tzinfo is None:
                return True
    return False


# -------------------------------------------------------------------------------- values


def _is_date(value) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def _is_moment(value) -> bool:
    return isinstance(value, date)


def _instant(value: date | datetime) -> datetime:
    if _is_date(value):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=timezone.utc)
    return to_utc(value)


def _text(value) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return None
    return str(value).strip() or None


def _ical(prop) -> str:
    try:
        return prop.to_ical().decode()
    except Exception:  # noqa: BLE001
        return str(_value(prop))


def _organizer(component, pseudo: Pseudonymiser) -> str | None:
    value = component.get("ORGANIZER")
    if isinstance(value, list):
        value = value[0] if value else None
    return pseudo.person(str(value)) if value is not None else None


def _attendees(component, pseudo: Pseudonymiser) -> list[dict]:
    values = component.get("ATTENDEE")
    if values is None:
        return []
    out = []
    for value in values if isinstance(values, list) else [values]:
        person = pseudo.person(str(value))
        if person is None:
            continue
        params = getattr(value, "params", {})
        out.append(
            {
                "person": person,
                "partstat": _param(params, "PARTSTAT") or "NEEDS-ACTION",
                # RFC 5545 3.2.16: an ATTENDEE without ROLE is a required participant.
                "role": _param(params, "ROLE") or "REQ-PARTICIPANT",
            }
        )
    return out


def _param(params, name: str) -> str | None:
    value = params.get(name)
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    if value is None:
        return None
    return str(value).strip().upper() or None

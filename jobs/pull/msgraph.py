"""Microsoft Graph puller: the directory, mail metadata and calendars of a Microsoft 365 tenant.

Kinds (``KINDS``), each ``(PullContext) -> PullOutcome``:

* ``people``: ``GET /domains`` (the verified domains are the internal ones; members' mail
  domains stand in when the app may not read them), then
  ``GET /users?$select=id,mail,userType,department,officeLocation,employeeHireDate``
  (all pages), then ``GET /users/{id}/manager?$select=mail`` per member with a usable mail
  (404: no manager). A person is the lower-cased ``mail``; ``userPrincipalName`` is never
  read. Users without ``mail`` (rooms, service accounts) and guests (``userType`` Guest:
  their domain is not the organisation's) are counted in ``outcome.unjoined`` and skipped.
  ``outcome.users`` lists the members to read mail and calendars of, ``outcome.domains`` the
  domains of the members' mail.
* ``email``: per user and folder (``inbox``, ``sentitems``) one message delta round,
  ``$select`` of the header fields only; without a cursor the round is bounded by
  ``$filter=receivedDateTime ge <window start>``. Each message becomes a header dict given to
  ``jobs.sources.email.message_from_headers`` (shared with mbox/maildir files), so one
  ``internetMessageId`` is one ``record_id`` in every mailbox that holds a copy; the copies
  stay in ``rows`` (the loader counts them as duplicates). ``@removed`` items are ignored:
  deleting a copy does not unsend a message.
* ``calendar``: a calendarView delta round is bound to the window of its first request, so
  cursors are per user and per ISO week of ``ctx.window``. Each item is one occurrence;
  ``record_id`` is ``occurrence_record_id(uid or iCalUId, originalStart or start)``. The
  copies of one occurrence in several calendars give one row: the organizer's copy when read,
  else the first one, with each mailbox owner's own ``responseStatus`` (when not ``none``)
  overriding that attendee's status. Series masters are skipped.

State (``ctx.state``), names keyed by directory id or keyed reference only:

* ``mail:<directory id>:<inbox|sentitems>`` and ``cal:<directory id>:<YYYY-Www>``: the
  ``@odata.deltaLink`` of the scope. Without one (or with ``ctx.explicit_window``) the scope
  is read within the window. A delta link answered with 410 (``SyncStateNotFound``,
  ``resyncRequired``) is dropped and the scope re-read within the window
  (``outcome.resyncs``); record ids do not depend on the round, so a resync adds no duplicate.
* ``item:<ref(directory id, item id)>`` = ``<record_id>|<"o" or the owner's pseudonym>|<week>`` for
  every calendar item read, because an ``@removed`` item carries only its id. Removed from
  the organizer's calendar -> ``outcome.cancelled``; from an attendee's ->
  ``outcome.declined`` (unless that occurrence is cancelled in the same pull). A removal is
  not reported when the same calendar returns the occurrence live in the same pull (it moved
  to another week). A single instance moved in time gets a new ``record_id`` (its start is
  part of it): the old one is reported in ``outcome.cancelled``.

Nothing else of a record is read: subjects, bodies, previews, locations and display names are
neither requested (``$select``) nor looked at when a server sends them anyway.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote

from tzlocal.windows_tz import win_tz

from jobs.privacy.pseudonym import PERSON_PREFIX, Pseudonymiser, canonical_address
from jobs.pull.base import DirectoryUser, PullContext, PullOutcome, item_entry, parse_item_entry, prune_before
from jobs.pull.http import ApiError
from jobs.sources.base import ParseOutcome, Rejection
from jobs.sources.calendar import meeting_row, occurrence_record_id
from jobs.sources.email import message_from_headers
from jobs.sources.people import directory_row
from jobs.weeks import label, week_start

DEFAULT_BASE_URL = "https://graph.microsoft.com/v1.0"
log = logging.getLogger("ona.pull")

USER_SELECT = "id,mail,userType,department,officeLocation,employeeHireDate"
MAIL_SELECT = "internetMessageId,sentDateTime,from,sender,toRecipients,ccRecipients,bccRecipients,conversationId"
MAIL_FOLDERS = ("inbox", "sentitems")
MAX_PAGES = 100_000  # one round; a server handing out the same link forever is an error

UTC = timezone.utc
NO_MAIL = "directory users without mail"
UNUSABLE_MAIL = "directory users with an unusable mail"
GUESTS = "directory guest users"
OUTSIDE = "directory users outside internal domains"

_PARTSTAT = {
    "none": "NEEDS-ACTION",
    "organizer": "ACCEPTED",
    "tentativelyaccepted": "TENTATIVE",
    "accepted": "ACCEPTED",
    "declined": "DECLINED",
    "notresponded": "NEEDS-ACTION",
}
_ROLE = {"required": "REQ-PARTICIPANT", "optional": "OPT-PARTICIPANT", "resource": "NON-PARTICIPANT"}
_UTC_NAMES = {"utc", "etc/utc", "gmt", "etc/gmt", "z", "coordinated universal time",
              "tzone://microsoft/utc", "(utc) coordinated universal time"}

# Windows time-zone names Graph may return (events created in Outlook with a zone and read
# without ``Prefer: outlook.timezone``) -> IANA: tzlocal keeps CLDR's windowsZones table.
WINDOWS_ZONES = win_tz


# =========================================================================== people


def pull_people(ctx: PullContext) -> PullOutcome:
    """One bronze/people row per member with a mail; see the module docstring."""
    outcome = PullOutcome()
    verified = _verified_domains(ctx)
    pseudo = ctx.pseudo
    if verified and not pseudo.internal_domains:
        # The tenant's verified domains say who is internal: a member whose mail is at another
        # domain (a synced contractor's private address) must not make that domain internal.
        pseudo = Pseudonymiser(key=pseudo.key, internal_domains=frozenset(verified))
    for user in _all_pages(ctx, "/users", {"$select": USER_SELECT}):
        directory_id = user.get("id")
        raw_mail = user.get("mail")
        if not directory_id or not raw_mail or not str(raw_mail).strip():
            _count(outcome, NO_MAIL)
            continue
        address = canonical_address(str(raw_mail))
        if address is None:
            _count(outcome, UNUSABLE_MAIL)
            continue
        if str(user.get("userType") or "").lower() == "guest":
            _count(outcome, GUESTS)
            continue
        if not verified:
            outcome.domains.add(address.rsplit("@", 1)[1])
        person = pseudo.person(address)
        if person is None or not person.startswith(PERSON_PREFIX):
            _count(outcome, OUTSIDE)
            continue
        row = directory_row(
            pseudo, "msgraph", address,
            department=user.get("department"),
            location=user.get("officeLocation"),
            hire_date=_date(user.get("employeeHireDate")),
            manager_address=_manager_mail(ctx, directory_id),
        )
        if row is None:  # pragma: no cover - person() said internal; directory_row agrees
            _count(outcome, OUTSIDE)
            continue
        outcome.rows.append(row)
        outcome.users.append(DirectoryUser(directory_id, address))
    outcome.domains |= verified
    return outcome


def _verified_domains(ctx: PullContext) -> set[str]:
    """The tenant's verified domains (``GET /domains``), lower-cased; empty when the app lacks
    Domain.Read.All (403), and then the members' mail domains stand in for them."""
    status, body = ctx.client.get("/domains", {"$select": "id,isVerified"}, allow=(403,))
    if status == 403:
        log.warning("msgraph: GET /domains refused (Domain.Read.All): internal domains taken from members' mail")
        return set()
    return {str(d["id"]).strip().lower() for d in (body or {}).get("value", [])
            if isinstance(d, dict) and d.get("id") and d.get("isVerified")}


def _manager_mail(ctx: PullContext, directory_id: str) -> str | None:
    status, body = ctx.client.get(f"/users/{quote(directory_id, safe='')}/manager", {"$select": "mail"},
                                  allow=(404,))
    if status == 404 or not isinstance(body, dict):
        return None
    mail = body.get("mail")
    return str(mail) if mail else None


def _all_pages(ctx: PullContext, path: str, params: dict | None) -> Iterator[dict]:
    url: str | None = path
    seen: set[str] = set()
    while url:
        _, body = ctx.client.get(url, params)
        body = body if isinstance(body, dict) else {}
        yield from (v for v in body.get("value") or [] if isinstance(v, dict))
        url, params = body.get("@odata.nextLink"), None
        if url in seen:
            raise ApiError("msgraph: the server repeated an @odata.nextLink")
        if url:
            seen.add(url)


def _date(value: Any) -> date | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).strip()).date()
    except ValueError:
        return None


def _count(outcome: PullOutcome, reason: str) -> None:
    outcome.unjoined[reason] = outcome.unjoined.get(reason, 0) + 1


# =========================================================================== delta rounds


class _Expired(Exception):
    """A delta link the server no longer knows (HTTP 410)."""


def _delta_round(ctx: PullContext, url: str, params: dict | None) -> tuple[list[dict], str]:
    """(every item of the round, its @odata.deltaLink). Items are kept until the round ends,
    so a round cut short by a 410 leaves nothing half-read."""
    items: list[dict] = []
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        status, body = ctx.client.get(url, params, allow=(410,))
        if status == 410:
            raise _Expired
        body = body if isinstance(body, dict) else {}
        items.extend(v for v in body.get("value") or [] if isinstance(v, dict))
        if body.get("@odata.nextLink"):
            url, params = body["@odata.nextLink"], None
            if url in seen:
                raise ApiError("msgraph: the server repeated an @odata.nextLink")
            seen.add(url)
            continue
        if not body.get("@odata.deltaLink"):
            raise ApiError("msgraph: a delta round ended without @odata.deltaLink")
        return items, body["@odata.deltaLink"]
    raise ApiError(f"msgraph: a delta round ran over {MAX_PAGES} pages")


def _sync(ctx: PullContext, outcome: PullOutcome, name: str, path: str, params: dict) -> list[dict]:
    """The items of one scope: changes since its cursor, or everything in the window (first
    pull, --weeks, expired cursor). Stores the new cursor under ``name``."""
    cursor = ctx.state.get(name)
    if cursor and not ctx.explicit_window:
        try:
            items, link = _delta_round(ctx, cursor, None)
            ctx.state[name] = link
            return items
        except _Expired:
            ctx.state.pop(name, None)
            outcome.resyncs += 1
    try:
        items, link = _delta_round(ctx, path, params)
    except _Expired:
        raise ApiError(f"msgraph: HTTP 410 on a new delta round ({path.rsplit('/', 2)[-2]})") from None
    ctx.state[name] = link
    return items


def _window(ctx: PullContext) -> tuple[datetime, datetime]:
    if ctx.window is None:
        raise ValueError("msgraph: ctx.window is required")
    start, end = ctx.window
    return start.astimezone(UTC), end.astimezone(UTC)


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _user_path(user: DirectoryUser) -> str:
    return f"/users/{quote(user.directory_id, safe='')}"


# =========================================================================== email


def pull_email(ctx: PullContext) -> PullOutcome:
    """Header metadata of every message in each user's inbox and sent items."""
    start, _ = _window(ctx)
    outcome = PullOutcome()
    for user in ctx.users:
        for folder in MAIL_FOLDERS:
            items = _sync(ctx, outcome, f"mail:{user.directory_id}:{folder}",
                          f"{_user_path(user)}/mailFolders/{folder}/messages/delta",
                          {"$select": MAIL_SELECT, "$filter": f"receivedDateTime ge {_z(start)}"})
            for item in items:
                if "@removed" in item:
                    continue  # a deleted copy does not unsend the message
                outcome.extend(message_outcome(item, user.directory_id, ctx.pseudo))
    return outcome


def message_outcome(item: dict, directory_id: str, pseudo: Pseudonymiser) -> ParseOutcome:
    """The bronze/email row (or rejection) of one Graph message resource."""
    record_ref = pseudo.ref("msgraph-email", directory_id, item.get("id"))
    headers: dict[str, list[str]] = {}
    if item.get("internetMessageId"):
        headers["message-id"] = [str(item["internetMessageId"])]
    sent = _instant(item.get("sentDateTime"))
    if sent is not None:
        headers["date"] = [format_datetime(sent)]
    for name, key in (("from", "from"), ("sender", "sender")):
        address = _address(item.get(key))
        if address:
            headers[name] = [address]
    for name, key in (("to", "toRecipients"), ("cc", "ccRecipients"), ("bcc", "bccRecipients")):
        addresses = [a for a in map(_address, item.get(key) or []) if a]
        if addresses:
            headers[name] = [", ".join(addresses)]
    conversation = item.get("conversationId")
    return message_from_headers(headers, record_ref, pseudo, thread_key=str(conversation) if conversation else None)


def _address(recipient: Any) -> str | None:
    """The address of a Graph recipient ``{"emailAddress": {"name", "address"}}`` (the
    display name is never read)."""
    if not isinstance(recipient, dict) or not isinstance(recipient.get("emailAddress"), dict):
        return None
    address = recipient["emailAddress"].get("address")
    address = canonical_address(str(address)) if address else None
    return address


def _instant(value: Any) -> datetime | None:
    """An ISO 8601 DateTimeOffset ("2026-03-30T09:00:00Z") as aware UTC; None if unusable."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC)


# =========================================================================== calendar


@dataclass
class _Copy:
    """One mailbox's copy of an occurrence, already pseudonymised."""

    mailbox: str  # directory id
    owner: str | None  # the mailbox owner's pseudonym
    is_organizer: bool
    own_response: str | None  # the owner's partstat from responseStatus (None: no answer)
    cancelled: bool
    fields: dict = field(default_factory=dict)  # meeting_row arguments


def pull_calendar(ctx: PullContext) -> PullOutcome:
    """One row per occurrence in the users' calendars over the ISO weeks of ``ctx.window``
    (from ``ctx.poll_from`` on, for rolling pulls that already hold cursors)."""
    start, end = _window(ctx)
    if ctx.poll_from is not None and not ctx.explicit_window:
        start = max(start, ctx.poll_from)
    outcome = PullOutcome()
    copies: dict[str, list[_Copy]] = {}
    removals: list[tuple[str, str, str]] = []  # (mailbox, record_id, "o" or owner pseudonym)
    for user in ctx.users:
        owner = ctx.pseudo.person(user.address)
        for monday in _weeks(start, end):
            iso = monday.isocalendar()
            items = _sync(ctx, outcome, f"cal:{user.directory_id}:{iso.year}-W{iso.week:02d}",
                          f"{_user_path(user)}/calendarView/delta",
                          {"startDateTime": _z(monday), "endDateTime": _z(monday + timedelta(weeks=1))})
            for item in items:
                _read_item(ctx, outcome, user, owner, item, copies, removals)

    cancelled: dict[str, None] = {}  # ordered set
    live = {(c.mailbox, rid) for rid, cs in copies.items() for c in cs if not c.cancelled}
    for record_id, these in copies.items():
        row = _merged_row(ctx.pseudo, these)
        outcome.rows.append(row)
        if row["status"] == "CANCELLED":
            cancelled[record_id] = None
    declined: dict[tuple[str, str], None] = {}
    for mailbox, record_id, who in removals:
        if (mailbox, record_id) in live:
            continue  # the same calendar has it live: it moved (another week), not gone
        if who == "o":
            cancelled[record_id] = None
        elif who.startswith(PERSON_PREFIX):
            declined[(record_id, who)] = None
    outcome.cancelled.extend(cancelled)
    outcome.declined.extend(pair for pair in declined if pair[0] not in cancelled)
    if not ctx.explicit_window:
        prune_before(ctx.state, label(week_start(start)))
    return outcome


def _weeks(start: datetime, end: datetime) -> Iterator[datetime]:
    """Monday 00:00 UTC of every ISO week overlapping [start, end)."""
    day = start.date() - timedelta(days=start.weekday())
    monday = datetime(day.year, day.month, day.day, tzinfo=UTC)
    while monday < end:
        yield monday
        monday += timedelta(weeks=1)


def _read_item(ctx: PullContext, outcome: PullOutcome, user: DirectoryUser, owner: str | None, item: dict,
               copies: dict[str, list[_Copy]], removals: list[tuple[str, str, str]]) -> None:
    item_id = item.get("id")
    key = f"item:{ctx.pseudo.ref(user.directory_id, item_id)}"
    if "@removed" in item:
        entry = parse_item_entry(ctx.state.pop(key, None))
        if entry:
            removals.append((user.directory_id, *entry))
        return
    if item.get("type") == "seriesMaster":
        return
    parsed = event_fields(item, ctx.pseudo)
    if isinstance(parsed, str):
        outcome.rejections.append(Rejection(ctx.pseudo.ref("msgraph-calendar", user.directory_id, item_id), parsed))
        return
    record_id = parsed["record_id"]
    is_organizer = item.get("isOrganizer")
    if not isinstance(is_organizer, bool):
        is_organizer = owner is not None and parsed["organizer"] == owner
    previous = parse_item_entry(ctx.state.get(key))
    if previous and previous[0] != record_id:
        # A single instance moved in time: its old occurrence no longer happens.
        removals.append((user.directory_id, previous[0], "o"))
    ctx.state[key] = item_entry(record_id, "o" if is_organizer else (owner or ""), parsed["starts_at"])
    response = item.get("responseStatus") if isinstance(item.get("responseStatus"), dict) else {}
    answer = str(response.get("response") or "").lower()
    own = _PARTSTAT.get(answer) if answer not in ("", "none", "organizer") else None
    copies.setdefault(record_id, []).append(
        _Copy(user.directory_id, owner, is_organizer, own, parsed["status"] == "CANCELLED", parsed))


def event_fields(item: dict, pseudo: Pseudonymiser) -> dict | str:
    """``meeting_row`` arguments of one Graph event occurrence, or a rejection reason."""
    uid = item.get("uid") or item.get("iCalUId")
    if not uid:
        return "no event uid"
    is_all_day = item.get("isAllDay") is True
    # As for calendar files, an all-day entry starts at 00:00 UTC of its own date.
    read = _midnight if is_all_day else _event_time
    try:
        starts_at = read(item.get("start"))
        ends_at = read(item.get("end"))
    except _UnknownZone:
        return "unknown time zone"
    if starts_at is None:
        return "invalid start"
    if ends_at is None:
        return "invalid end"
    if ends_at < starts_at:
        return "end before start"
    original = _instant(item.get("originalStart"))
    record_id = occurrence_record_id(pseudo, str(uid), original or starts_at)
    attendees = []
    for attendee in item.get("attendees") or []:
        person = pseudo.person(_address(attendee))
        if person is None:
            continue
        status = attendee.get("status") if isinstance(attendee.get("status"), dict) else {}
        attendees.append({
            "person": person,
            "partstat": _PARTSTAT.get(str(status.get("response") or "none").lower(), "NEEDS-ACTION"),
            "role": _ROLE.get(str(attendee.get("type") or "required").lower(), "REQ-PARTICIPANT"),
        })
    return {
        "record_id": record_id,
        "event_ref": pseudo.ref("uid", str(uid)),
        "starts_at": starts_at,
        "ends_at": ends_at,
        "organizer": pseudo.person(_address(item.get("organizer"))),
        "attendees": attendees,
        "status": "CANCELLED" if item.get("isCancelled") is True else "CONFIRMED",
        "is_recurring": item.get("type") in ("occurrence", "exception") or bool(item.get("seriesMasterId")),
        "is_all_day": is_all_day,
    }


def _merged_row(pseudo: Pseudonymiser, these: list[_Copy]) -> dict:
    base = next((c for c in these if c.is_organizer), these[0])
    fields = dict(base.fields)
    attendees = [dict(a) for a in fields["attendees"]]
    for copy in these:
        if copy.owner is None or copy.own_response is None or copy.is_organizer:
            continue
        if copy.owner == fields["organizer"]:
            continue
        mine = next((a for a in attendees if a["person"] == copy.owner), None)
        if mine is None:
            attendees.append({"person": copy.owner, "partstat": copy.own_response, "role": "REQ-PARTICIPANT"})
        else:
            mine["partstat"] = copy.own_response
    fields["attendees"] = attendees
    if any(c.cancelled for c in these):
        fields["status"] = "CANCELLED"
    return meeting_row(pseudo, **fields)


class _UnknownZone(Exception):
    pass


def _zone(name: str) -> timezone | zoneinfo.ZoneInfo:
    text = name.strip()
    if text.lower() in _UTC_NAMES:
        return UTC
    candidates = [WINDOWS_ZONES.get(text), text]
    for candidate in candidates:
        if not candidate:
            continue
        try:
            return zoneinfo.ZoneInfo(candidate)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            continue
    raise _UnknownZone


def _wall(value: Any) -> datetime | None:
    """The naive wall-clock ``dateTime`` of a dateTimeTimeZone (7 fraction digits allowed)."""
    if not isinstance(value, dict) or not value.get("dateTime"):
        return None
    text = str(value["dateTime"]).strip()
    head, dot, fraction = text.partition(".")
    if dot:
        digits = "".join(ch for ch in fraction if ch.isdigit())
        text = f"{head}.{digits[:6]}{fraction[len(digits):]}" if digits else head
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _event_time(value: Any) -> datetime | None:
    wall = _wall(value)
    if wall is None:
        return None
    if wall.tzinfo is not None:
        return wall.astimezone(UTC)
    zone = _zone(str(value.get("timeZone") or "UTC"))
    return wall.replace(tzinfo=zone).astimezone(UTC)


def _midnight(value: Any) -> datetime | None:
    wall = _wall(value)
    return None if wall is None else datetime(wall.year, wall.month, wall.day, tzinfo=UTC)


KINDS = {"people": pull_people, "email": pull_email, "calendar": pull_calendar}

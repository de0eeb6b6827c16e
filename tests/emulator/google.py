"""Google Workspace as the pull sees it: Admin SDK Directory users, Gmail, Calendar v3.

Served under ``emu.base("google")`` with the APIs' own paths (``/admin/directory/v1/users``,
``/gmail/v1/users/{address}/...``, ``/calendar/v3/calendars/{address}/events``), in Google's
response shapes (discovery documents in /work/shared/data/api/google-discovery), content
fields included (Directory ``name``, Gmail ``snippet`` and ``Subject``, Calendar ``summary``,
``description``, ``location``, every ``displayName``) so that leak tests mean something.

* Gmail: a message is in its sender's mailbox (if internal) and in each internal recipient's,
  with the same Message-ID header and a different Gmail id per mailbox. ``fields`` and
  ``metadataHeaders`` are honoured; without ``fields`` a message carries its ``snippet``.
* Calendar: an occurrence is in its organizer's and each internal attendee's calendar, with
  the same event id everywhere; instances of a series are ``<base>_<YYYYMMDDTHHMMSSZ>``.
  Cancelled and removed occurrences are ``status: "cancelled"`` items carrying only their id
  (plus ``recurringEventId`` / ``originalStartTime`` for instances), as Google sends them.
* History ids and sync tokens encode the org's change number (``seq``): "what changed after".
* Pages hold ``emu.page_size`` items (or fewer when ``maxResults`` asks).
* ``me`` / ``primary`` -> 400, as a service identity gets.

Knobs (``emu.state``):

* ``google_expired = True``: history ids and sync tokens issued so far answer 404 (Gmail
  history) / 410 ``fullSyncRequired`` (Calendar), once per mailbox / calendar. The emulator
  replaces ``True`` by the number of that expiry; set ``True`` again for another one.
* ``google_metadata_scope = True``: the token holds only ``gmail.metadata``: ``q`` on
  messages.list answers 403 "Metadata scope does not support 'q' parameter".
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import datetime, timezone
from email.utils import format_datetime
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from tests.emulator.org import Email, Meeting, Org
from tests.emulator.server import Emulator, Request, Response, error, handler, ok

UTC = timezone.utc
ZONE = "Europe/Berlin"  # calendars show local times with an offset, as Google does
ROOM = "room-zircon@resource.calendar.google.com"

_ROUTES = [
    (re.compile(r"^/admin/directory/v1/users$"), "users"),
    (re.compile(r"^/gmail/v1/users/([^/]+)/profile$"), "profile"),
    (re.compile(r"^/gmail/v1/users/([^/]+)/messages$"), "messages"),
    (re.compile(r"^/gmail/v1/users/([^/]+)/messages/([^/]+)$"), "message"),
    (re.compile(r"^/gmail/v1/users/([^/]+)/history$"), "history"),
    (re.compile(r"^/calendar/v3/calendars/([^/]+)/events$"), "events"),
]


@handler("google")
def google(emu: Emulator, request: Request) -> Response:
    _note_expiry(emu)
    path = unquote(request.path)
    for pattern, name in _ROUTES:
        match = pattern.match(path)
        if match:
            args = match.groups()
            if args and args[0] in ("me", "primary"):
                return _error(400, "invalidArgument", "Invalid argument: a service identity has no 'me' / 'primary'")
            return _VIEWS[name](emu, request, *args)
    return _error(404, "notFound", "Not Found")


# ------------------------------------------------------------------------------ shared


def _error(status: int, reason: str, message: str) -> Response:
    return error(status, {"error": {"code": status, "message": message,
                                    "errors": [{"domain": "global", "reason": reason, "message": message}]}})


def _hash(*parts: object, n: int = 16) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:n]


def _page(emu: Emulator, request: Request, items: list) -> tuple[list, str | None]:
    """(this page's items, nextPageToken or None)."""
    try:
        offset = int(base64.urlsafe_b64decode(request.query["pageToken"]).decode()) if request.query.get("pageToken") else 0
    except ValueError:
        offset = 0
    size = emu.page_size
    if request.query.get("maxResults"):
        size = max(1, min(size, int(request.query["maxResults"])))
    more = offset + size < len(items)
    return items[offset:offset + size], (base64.urlsafe_b64encode(str(offset + size).encode()).decode() if more else None)


def _person_key(org: Org, address: str) -> str | None:
    address = address.strip().lower()
    return next((p.key for p in org.people if p.address == address), None)


def _note_expiry(emu: Emulator) -> None:
    """``google_expired = True`` -> a new expiry epoch: tokens of earlier epochs are too old."""
    state = emu.state
    if state.get("google_expired") is True:
        state["google_epoch"] = state.get("google_epoch", 0) + 1
        state["google_expired"] = state["google_epoch"]
        state["google_expired_scopes"] = set()


def _epoch(emu: Emulator) -> int:
    return emu.state.get("google_epoch", 0)


def _too_old(emu: Emulator, epoch: int, scope: str) -> bool:
    limit = emu.state.get("google_expired")
    if not limit or epoch >= limit:
        return False
    done = emu.state.setdefault("google_expired_scopes", set())
    if scope in done:
        return False
    done.add(scope)
    return True


# ------------------------------------------------------------------------------ directory


def _users(emu: Emulator, request: Request) -> Response:
    if not (request.query.get("customer") or request.query.get("domain")):
        return _error(400, "badRequest", "Bad Request: customer or domain is required")
    org = emu.org
    users = []
    for p in org.people:
        given, family = p.name.split(" ", 1)
        user = {
            "kind": "admin#directory#user",
            "id": p.google_id,
            "etag": f'"{_hash("user", p.key, n=20)}"',
            "primaryEmail": p.address,
            "name": {"givenName": given, "familyName": family, "fullName": p.name},
            "isAdmin": p.manager is None,
            "isDelegatedAdmin": False,
            "lastLoginTime": "2026-03-27T08:00:00.000Z",
            "creationTime": f"{p.hire_date.isoformat()}T09:00:00.000Z",
            "agreedToTerms": True,
            "suspended": False,
            "archived": False,
            "changePasswordAtNextLogin": False,
            "ipWhitelisted": False,
            "emails": [{"address": p.address, "primary": True}],
            "organizations": [
                {"title": f"{p.department} staff", "primary": False, "customType": "", "department": "Former team"},
                {"title": f"{p.department} staff", "primary": True, "customType": "", "department": p.department},
            ],
            "locations": [{"type": "desk", "area": "desk", "buildingId": p.location, "floorName": "1"}],
            "customerId": "C01emul8r",
            "orgUnitPath": f"/{p.department}",
            "isMailboxSetup": True,
            "includeInGlobalAddressList": True,
        }
        if p.manager:
            user["relations"] = [{"value": org.person(p.manager).address, "type": "manager"}]
        users.append(user)
    page, token = _page(emu, request, users)
    body = {"kind": "admin#directory#users", "etag": '"emulator"', "users": page}
    if token:
        body["nextPageToken"] = token
    return ok(body)


# ------------------------------------------------------------------------------ gmail


def _history_id(seq: int, epoch: int) -> str:
    return str(seq * 1000 + epoch)


def _copies(org: Org, key: str) -> list[tuple[str, Email, list[str]]]:
    """(Gmail id in this mailbox, email, labels) of every message the mailbox holds."""
    out = []
    for email in org.emails:
        recipients = [who for who in email.to + email.cc if org.is_person(who)]
        if email.sender == key:
            labels = ["SENT"] + (["INBOX", "UNREAD"] if key in recipients else [])
        elif key in recipients:
            labels = ["INBOX", "UNREAD", "CATEGORY_PERSONAL"]
        else:
            continue
        out.append((_hash("gmail", key, email.message_id), email, labels))
    return out


def _mailbox(emu: Emulator, address: str) -> str | Response:
    key = _person_key(emu.org, address)
    if key is None:
        return _error(400, "failedPrecondition", "Mail service not enabled")
    return key


def _profile(emu: Emulator, request: Request, address: str) -> Response:
    key = _mailbox(emu, address)
    if isinstance(key, Response):
        return key
    copies = _copies(emu.org, key)
    return ok({"emailAddress": emu.org.person(key).address, "messagesTotal": len(copies),
               "threadsTotal": len(copies), "historyId": _history_id(emu.org.seq, _epoch(emu))})


def _messages(emu: Emulator, request: Request, address: str) -> Response:
    key = _mailbox(emu, address)
    if isinstance(key, Response):
        return key
    copies = sorted(_copies(emu.org, key), key=lambda c: c[1].sent_at, reverse=True)  # newest first
    if "q" in request.query:
        if emu.state.get("google_metadata_scope"):
            return _error(403, "forbidden", "Metadata scope does not support 'q' parameter")
        after = before = None
        for term in request.query["q"].split():
            name, _, value = term.partition(":")
            if name not in ("after", "before") or not value.isdigit():
                return _error(400, "invalidArgument", "Invalid search query")
            moment = datetime.fromtimestamp(int(value), tz=UTC)
            after, before = (moment, before) if name == "after" else (after, moment)
        copies = [c for c in copies if (after is None or c[1].sent_at >= after) and (before is None or c[1].sent_at < before)]
    page, token = _page(emu, request, copies)
    body: dict = {"resultSizeEstimate": len(copies)}
    if page:
        body["messages"] = [{"id": gid, "threadId": gid} for gid, _, _ in page]
    if token:
        body["nextPageToken"] = token
    return ok(body)


def _message(emu: Emulator, request: Request, address: str, gmail_id: str) -> Response:
    key = _mailbox(emu, address)
    if isinstance(key, Response):
        return key
    found = next(((gid, e, labels) for gid, e, labels in _copies(emu.org, key) if gid == gmail_id), None)
    if found is None:
        return _error(404, "notFound", "Requested entity was not found.")
    gid, email, labels = found
    org = emu.org

    def mailbox(who: str) -> str:
        if org.is_person(who):
            person = org.person(who)
            return f'"{person.name}" <{person.address}>'
        return f"Paloma Partner <{who}>"

    headers = [
        ("Delivered-To", org.person(key).address),
        ("Received", f"by 2002:a05:6000:1:b0:1 with SMTP id {gid}; {format_datetime(email.sent_at)}"),
        ("MIME-Version", "1.0"),
        ("Date", format_datetime(email.sent_at)),
        ("Message-ID", email.message_id),
        ("Subject", email.subject),
        ("From", mailbox(email.sender)),
        ("To", ", ".join(mailbox(w) for w in email.to)),
    ]
    if email.cc:
        headers.append(("Cc", ", ".join(mailbox(w) for w in email.cc)))
    headers.append(("Content-Type", 'text/plain; charset="UTF-8"'))
    fmt = request.query.get("format", "full")
    wanted = {h.lower() for h in request.multi.get("metadataHeaders", [])}
    if fmt == "metadata" and wanted:
        headers = [h for h in headers if h[0].lower() in wanted]
    payload: dict = {"partId": "", "mimeType": "text/plain", "filename": "",
                     "headers": [{"name": n, "value": v} for n, v in headers]}
    if fmt != "metadata":
        payload["body"] = {"size": len(email.body), "data": base64.urlsafe_b64encode(email.body.encode()).decode()}
    message = {
        "id": gid,
        "threadId": gid,
        "labelIds": labels,
        "snippet": email.body[:200],
        "payload": payload,
        "sizeEstimate": 1200 + len(email.body),
        "historyId": _history_id(email.seq, _epoch(emu)),
        "internalDate": str(int(email.sent_at.timestamp() * 1000)),
    }
    if request.query.get("fields"):
        message = _select(message, request.query["fields"])
    return ok(message)


def _select(resource: dict, fields: str) -> dict:
    """The partial response of a ``fields`` mask of names and a/b paths (no parentheses)."""
    out: dict = {}
    for spec in fields.split(","):
        parts = [p for p in spec.strip().split("/") if p]
        src, dst = resource, out
        for i, part in enumerate(parts):
            if not isinstance(src, dict) or part not in src:
                break
            if i == len(parts) - 1:
                dst[part] = src[part]
            else:
                dst = dst.setdefault(part, {})
                src = src[part]
    return out


def _history(emu: Emulator, request: Request, address: str) -> Response:
    key = _mailbox(emu, address)
    if isinstance(key, Response):
        return key
    start = request.query.get("startHistoryId", "")
    if not start.isdigit():
        return _error(400, "invalidArgument", "Invalid startHistoryId")
    seq, epoch = divmod(int(start), 1000)
    if _too_old(emu, epoch, f"gmail:{key}") or seq > emu.org.seq:
        return _error(404, "notFound", "Requested entity was not found.")
    types = request.multi.get("historyTypes") or ["messageAdded"]
    added = sorted((c for c in _copies(emu.org, key) if c[1].seq > seq), key=lambda c: c[1].seq)
    records = []
    if "messageAdded" in types:
        for gid, email, labels in added:
            message = {"id": gid, "threadId": gid, "labelIds": labels}
            records.append({"id": _history_id(email.seq, _epoch(emu)), "messages": [message],
                            "messagesAdded": [{"message": message}]})
    page, token = _page(emu, request, records)
    body: dict = {"historyId": _history_id(emu.org.seq, _epoch(emu))}
    if page:
        body["history"] = page
    if token:
        body["nextPageToken"] = token
    return ok(body)


# ------------------------------------------------------------------------------ calendar


def _event_id(m: Meeting) -> str:
    if m.series_id:
        original = (m.original_start or m.start).astimezone(UTC)
        suffix = original.strftime("%Y%m%d") if m.all_day else original.strftime("%Y%m%dT%H%M%SZ")
        return f"{_hash('series', m.uid, n=26)}_{suffix}"
    return _hash("event", m.occurrence_id, n=26)


def _gone(m: Meeting) -> bool:
    return m.cancelled or m.removed_seq is not None


def _changed_at(m: Meeting) -> int:
    return max(m.seq, m.removed_seq or 0)


def _when(moment: datetime, all_day: bool) -> dict:
    if all_day:
        return {"date": moment.astimezone(UTC).date().isoformat()}
    return {"dateTime": moment.astimezone(ZoneInfo(ZONE)).isoformat(), "timeZone": ZONE}


def _event(org: Org, m: Meeting, owner: str) -> dict:
    if _gone(m):
        item = {"kind": "calendar#event", "etag": f'"{_changed_at(m)}"', "id": _event_id(m), "status": "cancelled"}
        if m.series_id:
            item["recurringEventId"] = _event_id(m).split("_")[0]
            item["originalStartTime"] = _when(m.original_start or m.start, m.all_day)
        return item

    def who(key_or_address: str) -> dict:
        entry = {"email": org.address(key_or_address)}
        if org.is_person(key_or_address):
            entry["displayName"] = org.person(key_or_address).name
        if key_or_address == owner:
            entry["self"] = True
        return entry

    responses = {"accepted": "accepted", "tentative": "tentative", "declined": "declined", "none": "needsAction"}
    attendees = []
    for key, response in m.attendees.items():
        entry = {**who(key), "responseStatus": responses.get(response, "needsAction")}
        if key == m.organizer:
            entry["organizer"] = True
        attendees.append(entry)
    if len(m.attendees) >= 4:  # big meetings book a room
        attendees.append({"email": ROOM, "displayName": f"Room for {m.subject}", "resource": True,
                          "responseStatus": "accepted"})
    item = {
        "kind": "calendar#event",
        "etag": f'"{m.seq}"',
        "id": _event_id(m),
        "status": "confirmed",
        "htmlLink": f"https://www.google.com/calendar/event?eid={_hash('link', m.occurrence_id, owner)}",
        "created": "2026-03-01T10:00:00.000Z",
        "updated": f"2026-03-{1 + m.seq % 27:02d}T10:00:00.000Z",
        "summary": m.subject,
        "description": m.body,
        "location": f"Room for {m.subject}",
        "creator": who(m.organizer),
        "organizer": who(m.organizer),
        "start": _when(m.start, m.all_day),
        "end": _when(m.end, m.all_day),
        "iCalUID": m.uid,
        "sequence": 0,
        "attendees": attendees,
        "reminders": {"useDefault": True},
        "eventType": "default",
    }
    if m.all_day:
        item["transparency"] = "transparent"
    if m.series_id:
        item["recurringEventId"] = _event_id(m).split("_")[0]
        item["originalStartTime"] = _when(m.original_start or m.start, m.all_day)
    return item


def _sync_token(seq: int, epoch: int, time_min: str | None, time_max: str | None) -> str:
    raw = json.dumps([seq, epoch, time_min, time_max]).encode()
    return "CPD" + base64.urlsafe_b64encode(raw).decode()


def _read_sync_token(token: str):
    try:
        seq, epoch, time_min, time_max = json.loads(base64.urlsafe_b64decode(token[3:]))
        return int(seq), int(epoch), time_min, time_max
    except (ValueError, TypeError):
        return None


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _in_range(m: Meeting, time_min: str | None, time_max: str | None) -> bool:
    low, high = _moment(time_min), _moment(time_max)
    return (low is None or m.end > low) and (high is None or m.start < high)


def _events(emu: Emulator, request: Request, calendar: str) -> Response:
    org = emu.org
    owner = _person_key(org, calendar)
    if owner is None:
        return _error(404, "notFound", "Not Found")
    query = request.query
    held = [m for m in org.meetings if m.organizer == owner or owner in m.attendees]
    if query.get("syncToken"):
        if any(query.get(p) for p in ("timeMin", "timeMax", "q", "iCalUID", "orderBy", "updatedMin")):
            return _error(400, "invalid", "Invalid request: syncToken cannot be combined with these parameters")
        token = _read_sync_token(query["syncToken"])
        if token is None:
            return _error(400, "invalid", "Invalid sync token value.")
        seq, epoch, time_min, time_max = token
        if _too_old(emu, epoch, f"gcal:{owner}"):
            return error(410, {"error": {"code": 410, "message": "Sync token is no longer valid, a full sync is required.",
                                         "errors": [{"domain": "calendar", "reason": "fullSyncRequired",
                                                     "message": "Sync token is no longer valid, a full sync is required."}]}})
        # Deletions always come; other changes within the range the token was started with.
        chosen = [m for m in held if _changed_at(m) > seq and (_gone(m) or _in_range(m, time_min, time_max))]
    else:
        time_min, time_max = query.get("timeMin"), query.get("timeMax")
        show_deleted = query.get("showDeleted") == "true"
        chosen = [m for m in held if _in_range(m, time_min, time_max) and (show_deleted or not _gone(m))]
    chosen.sort(key=lambda m: (m.start, m.occurrence_id))
    page, token = _page(emu, request, chosen)
    body = {"kind": "calendar#events", "etag": f'"{org.seq}"', "summary": org.person(owner).address,
            "description": "", "updated": "2026-04-15T10:00:00.000Z", "timeZone": ZONE, "accessRole": "owner",
            "defaultReminders": [{"method": "popup", "minutes": 10}],
            "items": [_event(org, m, owner) for m in page]}
    if token:
        body["nextPageToken"] = token
    else:
        body["nextSyncToken"] = _sync_token(org.seq, _epoch(emu), time_min, time_max)
    return ok(body)


_VIEWS = {
    "users": _users,
    "profile": _profile,
    "messages": _messages,
    "message": _message,
    "history": _history,
    "events": _events,
}

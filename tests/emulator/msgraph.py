"""Microsoft Graph v1.0, as far as the puller reads it, served from ``emu.org``.

Endpoints (below ``emu.base("msgraph")``):

* ``GET /users``: every person (``mail`` = ``person.graph_mail``, mixed case for one of them,
  ``userPrincipalName`` = ``person.upn``), ``emu.page_size`` per page, ``@odata.nextLink``
  with a ``$skiptoken``; then the raw entries of ``emu.state["msgraph_extra_users"]`` (knob:
  guests, rooms and service accounts without ``mail``...).
* ``GET /users/{id}/manager``: the manager as a ``#microsoft.graph.user`` directoryObject,
  404 ``Request_ResourceNotFound`` when there is none.
* ``GET /users/{id}/mailFolders/{inbox|sentitems}/messages/delta``: a delta round over the
  copies in that folder (the sender's sent items when the sender is a person, each person
  To/Cc recipient's inbox), honouring ``$filter=receivedDateTime ge <ISO>``.
* ``GET /users/{id}/calendarView/delta?startDateTime=..&endDateTime=..``: a delta round over
  the occurrences overlapping that window in that person's calendar. The organizer's
  calendar holds a meeting unless it was cancelled or removed; an attendee's unless it was
  removed or the attendee declined it (Outlook deletes a declined invitation). Attendee
  copies show the other attendees' status as ``none``; ``responseStatus`` is the owner's
  own answer. The organizer is not listed among the attendees (as in Graph).

Delta rounds: the first request fixes a snapshot (``org.seq``); pages follow through
``@odata.nextLink`` (``$skiptoken``); the last page carries ``@odata.deltaLink``
(``$deltatoken``) that encodes the snapshot seq, the scope and the window/filter. A delta
link returns the scope's records changed after that seq, and ``{"id", "@removed":
{"reason": "deleted"}}`` for copies that left the scope after it (meetings removed,
cancelled from the organizer's calendar, declined from an attendee's).

Content fields (subject, bodyPreview, body, location, display names, UPN) are always served,
whatever ``$select`` asks for, so that the leak scans mean something.

Knobs (``emu.state``):

* ``msgraph_expired = True``: every delta link issued before the knob was set answers
  410 ``SyncStateNotFound``; fresh (full) rounds work. The scopes that answered 410 are
  collected in ``msgraph_expired_scopes``.
* ``msgraph_extra_users``: list of raw user dicts appended to ``/users``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

from tests.emulator.org import Email, Meeting, Org, Person
from tests.emulator.server import Emulator, Request, Response, error, handler, ok

GRAPH = "https://graph.microsoft.com/v1.0"
UTC = timezone.utc
FOLDERS = ("inbox", "sentitems")
_FILTER = re.compile(r"receivedDateTime\s+ge\s+(\S+)", re.IGNORECASE)
_RESPONSES = {"accepted": "accepted", "tentative": "tentativelyAccepted", "declined": "declined",
              "none": "none"}
_lock = threading.Lock()


# ---------------------------------------------------------------------------------- entry


@handler("msgraph")
def serve(emu: Emulator, request: Request) -> Response:
    _apply_knobs(emu)
    if request.method != "GET":
        return error(405, {"error": {"code": "Request_BadRequest", "message": "Method not allowed."}})
    parts = [p for p in request.path.split("/") if p]
    if parts == ["users"]:
        return _users(emu, request)
    if parts == ["domains"]:
        return _domains(emu)
    if len(parts) < 3 or parts[0] != "users":
        return _bad_segment(parts)
    person = _person(emu.org, parts[1])
    rest = parts[2:]
    if rest == ["manager"]:
        return _manager(emu, parts[1], person)
    if person is None:
        return error(404, {"error": {"code": "ErrorInvalidUser",
                                     "message": "The requested user is invalid."}})
    if len(rest) == 4 and rest[0].lower() == "mailfolders" and rest[2:] == ["messages", "delta"]:
        folder = rest[1].lower()
        if folder not in FOLDERS:
            return error(404, {"error": {"code": "ErrorItemNotFound",
                                         "message": "The specified object was not found in the store."}})
        return _mail_delta(emu, request, person, folder)
    if rest == ["calendarView", "delta"]:
        return _calendar_delta(emu, request, person)
    return _bad_segment(parts)


def _domains(emu: Emulator) -> Response:
    """GET /domains: the tenant's domains (Domain.Read.All). Knob: emu.state
    ["msgraph_domains_forbidden"] answers 403, as for an app without that permission."""
    if emu.state.get("msgraph_domains_forbidden"):
        return error(403, {"error": {"code": "Authorization_RequestDenied",
                                     "message": "Insufficient privileges to complete the operation."}})
    return ok({
        "@odata.context": f"{emu.base('msgraph')}/$metadata#domains",
        "value": [
            {"id": "Example.org", "isVerified": True, "isDefault": True, "authenticationType": "Managed"},
            {"id": "example.onmicrosoft.com", "isVerified": True, "isInitial": True, "authenticationType": "Managed"},
            {"id": "unverified.example", "isVerified": False, "authenticationType": "Managed"},
        ],
    })


def _bad_segment(parts: list[str]) -> Response:
    return error(400, {"error": {"code": "BadRequest",
                                 "message": f"Resource not found for the segment '{parts[-1] if parts else ''}'."}})


def _apply_knobs(emu: Emulator) -> None:
    with _lock:
        if emu.state.get("msgraph_expired") is True:
            emu.state["msgraph_expired"] = "applied"
            emu.state["msgraph_expired_before"] = emu.state.get("msgraph_issued", 0)


def _person(org: Org, id_or_upn: str) -> Person | None:
    wanted = id_or_upn.lower()
    return next((p for p in org.people if p.graph_id == id_or_upn or p.upn.lower() == wanted), None)


# ---------------------------------------------------------------------------------- tokens


def _encode(payload: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(token: str) -> dict | None:
    try:
        return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, TypeError):
        return None


def _link(emu: Emulator, path: str, **params: str) -> str:
    return f"{emu.base('msgraph')}{path}?{urlencode(params, safe='$')}"


def _issue(emu: Emulator) -> int:
    with _lock:
        emu.state["msgraph_issued"] = emu.state.get("msgraph_issued", 0) + 1
        return emu.state["msgraph_issued"]


def _sync_state_not_found(emu: Emulator, scope: str) -> Response:
    with _lock:
        emu.state.setdefault("msgraph_expired_scopes", set()).add(scope)
    return error(410, {"error": {
        "code": "SyncStateNotFound",
        "message": "The sync state generation is not found. The delta token is expired and data must be synchronized again.",
        "innerError": {"date": "2026-04-13T08:00:00", "request-id": "emulator"},
    }})


def _round(emu: Emulator, request: Request, path: str, scope: dict, fresh: dict) -> tuple[dict, int] | Response:
    """(round descriptor, offset) of a delta request, or the error to answer. A descriptor
    holds the scope, ``since`` (None: full round), ``snap`` and the window/filter."""
    query = request.query
    if "$skiptoken" in query:
        token = _decode(query["$skiptoken"])
        if not token or token.get("scope") != scope:
            return error(400, {"error": {"code": "BadRequest", "message": "Invalid skip token."}})
        return token, int(token["off"])
    if "$deltatoken" in query:
        token = _decode(query["$deltatoken"])
        if not token or token.get("scope") != scope:
            return error(400, {"error": {"code": "BadRequest", "message": "Invalid delta token."}})
        if token["n"] <= emu.state.get("msgraph_expired_before", 0):
            return _sync_state_not_found(emu, "|".join([*map(str, scope.values()), token.get("ws") or ""]))
        return {**token, "since": token["snap"], "snap": emu.org.seq}, 0
    return {"scope": scope, "since": None, "snap": emu.org.seq, **fresh}, 0


def _page(emu: Emulator, path: str, context: str, round_: dict, offset: int, items: list[dict]) -> Response:
    size = max(1, emu.page_size)
    body = {"@odata.context": context, "value": items[offset:offset + size]}
    if offset + size < len(items):
        token = {k: v for k, v in round_.items() if k != "n"}
        body["@odata.nextLink"] = _link(emu, path, **{"$skiptoken": _encode({**token, "off": offset + size})})
    else:
        token = {k: v for k, v in round_.items() if k not in ("off", "since")}
        body["@odata.deltaLink"] = _link(emu, path, **{"$deltatoken": _encode({**token, "n": _issue(emu)})})
    return ok(body)


# ---------------------------------------------------------------------------------- directory


def _user_json(p: Person) -> dict:
    first, _, last = p.name.partition(" ")
    return {
        "businessPhones": [],
        "displayName": p.name,
        "givenName": first,
        "surname": last,
        "jobTitle": None,
        "mail": p.graph_mail,
        "mobilePhone": None,
        "officeLocation": p.location,
        "preferredLanguage": "en-GB",
        "userPrincipalName": p.upn,
        "id": p.graph_id,
        "department": p.department,
        "employeeHireDate": f"{p.hire_date.isoformat()}T00:00:00Z",
        "userType": "Member",
    }


def _users(emu: Emulator, request: Request) -> Response:
    users = [_user_json(p) for p in emu.org.people] + list(emu.state.get("msgraph_extra_users", []))
    offset = 0
    if "$skiptoken" in request.query:
        token = _decode(request.query["$skiptoken"]) or {}
        offset = int(token.get("off", 0))
    size = max(1, emu.page_size)
    if request.query.get("$top", "").isdigit():
        size = min(size, int(request.query["$top"]))
    select = request.query.get("$select")
    body = {"@odata.context": f"{GRAPH}/$metadata#users" + (f"({select})" if select else ""),
            "value": users[offset:offset + size]}
    if offset + size < len(users):
        params = {k: v for k, v in request.query.items() if k != "$skiptoken"}
        params["$skiptoken"] = _encode({"off": offset + size})
        body["@odata.nextLink"] = _link(emu, "/users", **params)
    return ok(body)


def _manager(emu: Emulator, raw_id: str, person: Person | None) -> Response:
    if person is None or person.manager is None:
        return error(404, {"error": {
            "code": "Request_ResourceNotFound",
            "message": "Resource 'manager' does not exist or one of its queried reference-property objects are not present.",
            "innerError": {"date": "2026-04-13T08:00:00", "request-id": "emulator"},
        }})
    manager = emu.org.person(person.manager)
    return ok({"@odata.context": f"{GRAPH}/$metadata#directoryObjects/$entity",
               "@odata.type": "#microsoft.graph.user", **_user_json(manager)})


# ---------------------------------------------------------------------------------- mail


def _who(org: Org, who: str) -> dict:
    """Graph's recipient shape; a person is shown with their Graph ``mail``."""
    if org.is_person(who):
        p = org.person(who)
        return {"emailAddress": {"name": p.name, "address": p.graph_mail}}
    local = who.split("@")[0]
    return {"emailAddress": {"name": local.replace(".", " ").title(), "address": who}}


def _id(prefix: str, *parts: object) -> str:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return prefix + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _holds(email: Email, person: Person, folder: str) -> bool:
    if folder == "sentitems":
        return email.sender == person.key
    return person.key in (*email.to, *email.cc)


def _received(email: Email, folder: str) -> datetime:
    return email.sent_at if folder == "sentitems" else email.sent_at + timedelta(seconds=4)


def _message_json(org: Org, email: Email, person: Person, folder: str) -> dict:
    received = _received(email, folder)
    return {
        "@odata.type": "#microsoft.graph.message",
        "@odata.etag": f'W/"{_id("CQAAAB", email.message_id, email.seq)}"',
        "id": _id("AAMkAGI2T", person.graph_id, folder, email.message_id),
        "createdDateTime": _iso(received),
        "lastModifiedDateTime": _iso(received),
        "changeKey": _id("CQAAAB", email.message_id, email.seq),
        "categories": [],
        "receivedDateTime": _iso(received),
        "sentDateTime": _iso(email.sent_at),
        "hasAttachments": False,
        "internetMessageId": email.message_id,
        "subject": email.subject,
        "bodyPreview": email.body[:255],
        "importance": "normal",
        "parentFolderId": _id("AQMkAD", person.graph_id, folder),
        "conversationId": _id("AAQkAD", email.subject),
        "conversationIndex": "AQHZ" + _id("", email.message_id)[:20],
        "isDeliveryReceiptRequested": False,
        "isReadReceiptRequested": False,
        "isRead": folder == "sentitems",
        "isDraft": False,
        "webLink": f"https://outlook.office365.com/owa/?ItemID={_id('AAMkAGI2T', person.graph_id, folder, email.message_id)}&exvsurl=1&viewmodel=ReadMessageItem",
        "inferenceClassification": "focused",
        "body": {"contentType": "html", "content": f"<html><body><p>{email.body}</p></body></html>"},
        "sender": _who(org, email.sender),
        "from": _who(org, email.sender),
        "toRecipients": [_who(org, w) for w in email.to],
        "ccRecipients": [_who(org, w) for w in email.cc],
        "bccRecipients": [],
        "replyTo": [],
        "flag": {"flagStatus": "notFlagged"},
    }


def _mail_delta(emu: Emulator, request: Request, person: Person, folder: str) -> Response:
    path = f"/users/{person.graph_id}/mailFolders/{folder}/messages/delta"
    fresh = {"ge": None}
    match = _FILTER.search(request.query.get("$filter", ""))
    if match:
        try:
            fresh["ge"] = _iso(datetime.fromisoformat(match.group(1).strip("'")))
        except ValueError:
            return error(400, {"error": {"code": "ErrorInvalidUrlQueryFilter",
                                         "message": "The query filter contains one or more invalid nodes."}})
    found = _round(emu, request, path, {"kind": "mail", "user": person.graph_id, "folder": folder}, fresh)
    if isinstance(found, Response):
        return found
    round_, offset = found
    since, snap = round_["since"], round_["snap"]
    ge = datetime.fromisoformat(round_["ge"]) if round_.get("ge") else None
    items = [
        _message_json(emu.org, e, person, folder)
        for e in sorted(emu.org.emails, key=lambda e: (e.seq, e.message_id))
        if _holds(e, person, folder)
        and (since is None or e.seq > since) and e.seq <= snap
        and (ge is None or _received(e, folder) >= ge)
    ]
    return _page(emu, path, f"{GRAPH}/$metadata#Collection(message)", round_, offset, items)


# ---------------------------------------------------------------------------------- calendar


def _copy_state(m: Meeting, person: Person) -> tuple[bool, bool, int | None]:
    """(related, present, seq at which it left this calendar) of ``person``'s copy."""
    is_organizer = m.organizer == person.key
    related = is_organizer or person.key in m.attendees
    if not related:
        return False, False, None
    if m.removed_seq is not None:
        return True, False, m.removed_seq
    if is_organizer and m.cancelled:
        return True, False, m.seq  # cancelling deletes the organizer's copy
    if not is_organizer and m.attendees.get(person.key) == "declined":
        return True, False, m.seq  # a declined invitation leaves the attendee's calendar
    return True, True, None


def _wall(moment: datetime) -> dict:
    return {"dateTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}


def _event_id(m: Meeting, person: Person) -> str:
    return _id("AAMkAGIAAAoZDOFAAA", person.graph_id, m.occurrence_id)


def _event_json(org: Org, m: Meeting, person: Person) -> dict:
    is_organizer = m.organizer == person.key
    attendees = []
    for who, answer in m.attendees.items():
        if who == m.organizer:
            continue  # Graph does not list the organizer among the attendees
        response = _RESPONSES.get(answer, "none") if is_organizer else "none"
        attendees.append({"type": "required",
                          "status": {"response": response,
                                     "time": "0001-01-01T00:00:00Z" if response == "none" else _iso(m.start - timedelta(days=3))},
                          **_who(org, who)})
    own = "organizer" if is_organizer else _RESPONSES.get(m.attendees.get(person.key, "none"), "none")
    item_id = _event_id(m, person)
    return {
        "@odata.type": "#microsoft.graph.event",
        "@odata.etag": f'W/"{_id("ZlnW4RIAV06KYYwlrfNZvQ", m.occurrence_id, m.seq)}"',
        "id": item_id,
        "createdDateTime": _iso(m.start - timedelta(days=7)),
        "lastModifiedDateTime": _iso(m.start - timedelta(days=1)),
        "changeKey": _id("ZlnW4RIAV06KYYwlrfNZvQ", m.occurrence_id, m.seq),
        "categories": [],
        "transactionId": None,
        "originalStartTimeZone": "UTC",
        "originalEndTimeZone": "UTC",
        "iCalUId": "040000008200E00074C5B7101A82E008" + hashlib.sha256(m.occurrence_id.encode()).hexdigest()[:48].upper(),
        "uid": m.uid,
        "reminderMinutesBeforeStart": 15,
        "isReminderOn": True,
        "hasAttachments": False,
        "subject": m.subject,
        "bodyPreview": m.body[:255],
        "importance": "normal",
        "sensitivity": "normal",
        "isAllDay": m.all_day,
        "isCancelled": m.cancelled,
        "isOrganizer": is_organizer,
        "responseRequested": True,
        "seriesMasterId": _id("AAMkAGIAAAoZDOFAAA", person.graph_id, m.series_id) if m.series_id else None,
        "showAs": "free" if m.all_day else "busy",
        "type": "occurrence" if m.series_id else "singleInstance",
        "webLink": f"https://outlook.office365.com/owa/?itemid={item_id}&exvsurl=1&path=/calendar/item",
        "onlineMeetingUrl": None,
        "isOnlineMeeting": False,
        "onlineMeetingProvider": "unknown",
        "allowNewTimeProposals": True,
        "isDraft": False,
        "hideAttendees": False,
        **({"originalStart": _iso(m.original_start or m.start)} if m.series_id else {}),
        "responseStatus": {"response": own,
                           "time": "0001-01-01T00:00:00Z" if own in ("none", "organizer") else _iso(m.start - timedelta(days=3))},
        "body": {"contentType": "html", "content": f"<html><head></head><body><p>{m.body}</p></body></html>"},
        "start": _wall(m.start),
        "end": _wall(m.end),
        "location": {"displayName": f"Room {m.subject}", "locationType": "default",
                     "uniqueId": f"Room {m.subject}", "uniqueIdType": "private"},
        "locations": [{"displayName": f"Room {m.subject}", "locationType": "default", "uniqueIdType": "unknown"}],
        "recurrence": None,
        "attendees": attendees,
        "organizer": _who(org, m.organizer),
        "onlineMeeting": None,
    }


def _calendar_delta(emu: Emulator, request: Request, person: Person) -> Response:
    path = f"/users/{person.graph_id}/calendarView/delta"
    query = {k.lower(): v for k, v in request.query.items()}
    fresh = {}
    if "$skiptoken" not in query and "$deltatoken" not in query:
        try:
            fresh = {"ws": _iso(datetime.fromisoformat(query["startdatetime"])),
                     "we": _iso(datetime.fromisoformat(query["enddatetime"]))}
        except (KeyError, ValueError):
            return error(400, {"error": {"code": "ErrorInvalidParameter",
                                         "message": "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime."}})
    found = _round(emu, request, path, {"kind": "cal", "user": person.graph_id}, fresh)
    if isinstance(found, Response):
        return found
    round_, offset = found
    since, snap = round_["since"], round_["snap"]
    ws, we = datetime.fromisoformat(round_["ws"]), datetime.fromisoformat(round_["we"])
    items = []
    for m in sorted(emu.org.meetings, key=lambda m: (m.start, m.occurrence_id)):
        if not (m.start < we and m.end > ws):
            continue
        related, present, left_at = _copy_state(m, person)
        if not related:
            continue
        if present and (since is None or m.seq > since) and m.seq <= snap:
            items.append(_event_json(emu.org, m, person))
        elif not present and since is not None and left_at is not None and since < left_at <= snap:
            items.append({"@odata.type": "#microsoft.graph.event", "id": _event_id(m, person),
                          "@removed": {"reason": "deleted"}})
    return _page(emu, path, f"{GRAPH}/$metadata#Collection(event)", round_, offset, items)

"""Google Workspace: Directory users, Gmail message headers and Calendar occurrences.

One domain-wide token reads every user's mailbox and calendar by address (a service identity
has no ``me`` / ``primary``): ``/gmail/v1/users/{address}/...`` and
``/calendar/v3/calendars/{address}/events``. The address travels in request paths only;
cursors are named by the user's directory id (docs/pull.md).

Hosts: every request uses a full API path (``/admin/directory/v1/...``, ``/gmail/v1/...``,
``/calendar/v3/...``) under the one host of the connection, so one ``ApiClient`` serves the
three APIs. ``DEFAULT_HOSTS`` lists each API's public host (``default_base_url(kind)``) for a
runner that makes one client per kind; ``https://www.googleapis.com`` also answers all three.

Cursors (``ctx.state``):

* ``gmail:<directory id>``: the mailbox's Gmail ``historyId``;
* ``gcal:<directory id>``: the calendar's ``nextSyncToken`` (rolling pulls), or
  ``gcal:<directory id>:<YYYY-Www>..<YYYY-Www>`` for a ``--weeks`` pull, because a sync token
  keeps the time range of the query that started it;
* ``item:<ref of directory id and event id>``: ``<record_id>|o|<week>`` when that calendar's owner
  organises the occurrence, else ``<record_id>|<owner pseudonym>|<week>``, so that a cancelled
  item that carries nothing but its id can still be placed. Rolling pulls forget entries of
  weeks before their window (``prune_before``).

Default-deny: Gmail messages are read with ``format=metadata``, the address headers only and a
``fields`` mask (no ``snippet``); Calendar summaries, descriptions, locations and every
``displayName`` are never read into rows, rejections or state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Iterator
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jobs.pull.base import DirectoryUser, PullContext, PullOutcome, item_entry, parse_item_entry, prune_before
from jobs.pull.http import ApiClient, AuthError
from jobs.sources.base import Rejection, to_utc
from jobs.sources.calendar import meeting_row, occurrence_record_id
from jobs.sources.email import message_from_headers
from jobs.sources.people import directory_row
from jobs.weeks import label, week_start

DEFAULT_BASE_URL = None  # each API's public host: see DEFAULT_HOSTS
DEFAULT_HOSTS = {
    "directory": "https://admin.googleapis.com",
    "gmail": "https://gmail.googleapis.com",
    "calendar": "https://www.googleapis.com",
}
KIND_API = {"people": "directory", "email": "gmail", "calendar": "calendar"}

DIRECTORY = "/admin/directory/v1"
GMAIL = "/gmail/v1"
CALENDAR = "/calendar/v3"

DIRECTORY_PAGE = 500  # the Directory API's maximum
GMAIL_PAGE = 500  # messages.list / history.list maximum
CALENDAR_PAGE = 2500  # events.list maximum

METADATA_HEADERS = ("From", "Sender", "To", "Cc", "Bcc", "Date", "Message-ID", "References", "In-Reply-To")
# labelIds: drafts are not sent mail; internalDate: windowing when `q` is refused (below).
MESSAGE_FIELDS = "id,threadId,historyId,internalDate,labelIds,payload/headers"
SKIPPED_LABELS = frozenset({"DRAFT", "CHAT"})

RESPONSE = {"needsAction": "NEEDS-ACTION", "declined": "DECLINED", "tentative": "TENTATIVE", "accepted": "ACCEPTED"}
STATUS = {"confirmed": "CONFIRMED", "tentative": "TENTATIVE", "cancelled": "CANCELLED"}

UTC = timezone.utc


def default_base_url(kind: str) -> str:
    """The public host of the API a kind reads (``people`` -> Admin SDK Directory...)."""
    return DEFAULT_HOSTS[KIND_API[kind]]


# ============================================================================ people


def pull_people(ctx: PullContext) -> PullOutcome:
    """Every Directory user of the customer: a bronze/people row each, and the users (and
    their domains) whose mail and calendars the next kinds read."""
    outcome = PullOutcome()
    params = [("customer", "my_customer"), ("maxResults", DIRECTORY_PAGE)]
    for page in _pages(ctx.client, f"{DIRECTORY}/users", params):
        for user in page.get("users") or []:
            _take_user(ctx, user, outcome)
    return outcome


def _take_user(ctx: PullContext, user: dict, outcome: PullOutcome) -> None:
    pseudo = ctx.pseudo
    user_id = str(user.get("id") or "")
    address = str(user.get("primaryEmail") or "").strip().lower()
    record_ref = pseudo.ref("google-people", user_id)
    if not user_id or "@" not in address:
        outcome.rejections.append(Rejection(record_ref, "no id or primaryEmail"))
        return
    organizations = [o for o in user.get("organizations") or [] if isinstance(o, dict)]
    primary = next((o for o in organizations if o.get("primary")), organizations[0] if organizations else {})
    manager = next((r.get("value") for r in user.get("relations") or []
                    if isinstance(r, dict) and r.get("type") == "manager"), None)
    locations = [loc for loc in user.get("locations") or [] if isinstance(loc, dict)]
    row = directory_row(pseudo, "google", address, department=primary.get("department"), team=None,
                        manager_address=manager, location=(locations[0].get("buildingId") if locations else None))
    if row is None:
        outcome.rejections.append(Rejection(record_ref, "no usable internal address"))
    else:
        outcome.rows.append(row)
    outcome.domains.add(address.rsplit("@", 1)[1])
    if not user.get("suspended") and not user.get("archived"):
        # A suspended or archived user's mailbox and calendar answer errors, not data.
        outcome.users.append(DirectoryUser(user_id, address))


# ============================================================================ email


def pull_email(ctx: PullContext) -> PullOutcome:
    """Message headers of every directory user's mailbox: changes since the mailbox's Gmail
    history id, or (no history id yet, expired one, or ``--weeks``) the messages in
    ``ctx.window``. A message in several mailboxes gives one row per copy, all with the
    record_id of its Message-ID (ingest keeps one)."""
    outcome = PullOutcome()
    lister = _Lister()
    for user in ctx.users:
        _pull_mailbox(ctx, user, outcome, lister)
    return outcome


def _pull_mailbox(ctx: PullContext, user: DirectoryUser, outcome: PullOutcome, lister: "_Lister") -> None:
    client = ctx.client
    base = f"{GMAIL}/users/{_segment(user.address)}"
    name = f"gmail:{user.directory_id}"
    # A --weeks pull reads its window and leaves the rolling cursor alone: moving it would skip
    # whatever changed outside those weeks since the last rolling pull.
    cursor = None if ctx.explicit_window else ctx.state.get(name)
    if cursor:
        added = _history(client, base, cursor)
        if added is not None:
            ids, new_cursor = added
            for message_id in ids:
                _take_message(ctx, user, base, message_id, outcome)
            if new_cursor:
                ctx.state[name] = new_cursor
            return
        ctx.state.pop(name, None)  # too old: Gmail keeps about a week of history
        outcome.resyncs += 1
    new_cursor = None
    if not ctx.explicit_window:
        # Taken before listing: whatever arrives while we list is in the next pass's history.
        _, profile = client.get(f"{base}/profile")
        new_cursor = str((profile or {}).get("historyId") or "") or None
    lister.read_window(ctx, user, base, outcome)
    if new_cursor:
        ctx.state[name] = new_cursor


def _history(client: ApiClient, base: str, cursor: str) -> tuple[list[str], str | None] | None:
    """(ids of messages added since ``cursor``, the mailbox's new history id), or None when
    Gmail no longer has that history (404: a full resync is due)."""
    ids: dict[str, None] = {}
    new_cursor = None
    params = [("startHistoryId", cursor), ("historyTypes", "messageAdded"), ("maxResults", GMAIL_PAGE)]
    token = None
    while True:
        status, page = client.get(f"{base}/history", params + ([("pageToken", token)] if token else []),
                                  allow=(404,))
        if status == 404:
            return None
        page = page or {}
        for record in page.get("history") or []:
            for added in record.get("messagesAdded") or []:
                message = (added or {}).get("message") or {}
                if message.get("id") and not SKIPPED_LABELS & set(message.get("labelIds") or []):
                    ids[str(message["id"])] = None
        new_cursor = str(page.get("historyId") or "") or new_cursor
        token = page.get("nextPageToken")
        if not token:
            return list(ids), new_cursor


@dataclass
class _Lister:
    """Reads a mailbox's messages in ``ctx.window``, with the ``q`` search
    (``after:<epoch s> before:<epoch s>``). Gmail refuses ``q`` to a token holding the
    ``gmail.metadata`` scope (403 "Metadata scope does not support 'q' parameter"): the first
    such answer switches the pull to an unfiltered, newest-first listing that keeps the
    messages whose ``internalDate`` is in the window and stops after a page of older ones."""

    use_query: bool = True

    def read_window(self, ctx: PullContext, user: DirectoryUser, base: str, outcome: PullOutcome) -> None:
        start, end = ctx.window
        if self.use_query:
            query = f"after:{int(start.timestamp())} before:{int(end.timestamp())}"
            params = [("q", query), ("maxResults", GMAIL_PAGE)]
            status, first = ctx.client.get(f"{base}/messages", params, allow=(403,))
            if status != 403:
                for page in _pages(ctx.client, f"{base}/messages", params, first=first or {}):
                    for message in page.get("messages") or []:
                        if message.get("id"):
                            _take_message(ctx, user, base, str(message["id"]), outcome)
                return
            if not _refuses_query(first):
                raise AuthError(f"google: HTTP 403 on GET {GMAIL}/users/{{address}}/messages: the token was refused")
            self.use_query = False
        for page in _pages(ctx.client, f"{base}/messages", [("maxResults", GMAIL_PAGE)]):
            listed = older = 0
            for message in page.get("messages") or []:
                if not message.get("id"):
                    continue
                listed += 1
                moment = _take_message(ctx, user, base, str(message["id"]), outcome, window=(start, end))
                older += moment is not None and moment < start
            if listed and older == listed:
                return  # newest first: the rest is older still


def _refuses_query(body: Any) -> bool:
    error = body.get("error") if isinstance(body, dict) else None
    text = str(error.get("message") or "") if isinstance(error, dict) else ""
    return "'q'" in text or "Metadata scope" in text


def _take_message(ctx: PullContext, user: DirectoryUser, base: str, message_id: str, outcome: PullOutcome,
                  window: tuple[datetime, datetime] | None = None) -> datetime | None:
    """Read one message's headers into a row (or rejection); its internalDate. With
    ``window``, a message received outside it is read but not kept."""
    params = [("format", "metadata"), *(("metadataHeaders", h) for h in METADATA_HEADERS),
              ("fields", MESSAGE_FIELDS)]
    status, message = ctx.client.get(f"{base}/messages/{_segment(message_id)}", params, allow=(404,))
    if status == 404 or not isinstance(message, dict):
        return None  # deleted between listing and reading: nothing to count
    moment = _internal_date(message.get("internalDate"))
    if window is not None and (moment is None or not window[0] <= moment < window[1]):
        return moment
    if SKIPPED_LABELS & set(message.get("labelIds") or []):
        return moment
    headers: dict[str, list[str]] = {}
    for header in (message.get("payload") or {}).get("headers") or []:
        name, value = (header or {}).get("name"), (header or {}).get("value")
        if name and value is not None:
            headers.setdefault(str(name).strip().lower(), []).append(str(value))
    record_ref = ctx.pseudo.ref("google-email", user.directory_id, message_id)
    thread = message.get("threadId")
    outcome.extend(message_from_headers(headers, record_ref, ctx.pseudo, thread_key=str(thread) if thread else None))
    return moment


def _internal_date(value) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


# ============================================================================ calendar


@dataclass
class _Copy:
    """One occurrence as read from one or more calendars during this pull."""

    fields: dict  # meeting_row keyword arguments except the attendees
    attendees: list[dict]
    from_organizer: bool
    own: dict[str, dict] = field(default_factory=dict)  # attendee pseudonym -> its self entry


def pull_calendar(ctx: PullContext) -> PullOutcome:
    """Occurrences in every directory user's calendar: changes since the calendar's sync
    token, or (no token yet, expired token) the occurrences in ``ctx.window``. One row per
    occurrence (record_id) per pull, whichever calendars it was read from; cancelled items
    become ``outcome.cancelled`` (organizer's calendar) or ``outcome.declined`` (an
    attendee's)."""
    outcome = PullOutcome()
    copies: dict[str, _Copy] = {}
    for user in ctx.users:
        _pull_one_calendar(ctx, user, outcome, copies)

    cancelled = set(outcome.cancelled)
    outcome.cancelled = list(dict.fromkeys(outcome.cancelled))
    # An organizer's cancellation also cancels every attendee's copy: one fact, not several.
    outcome.declined = [d for d in dict.fromkeys(outcome.declined) if d[0] not in cancelled]
    for record_id, copy in copies.items():
        if record_id in cancelled:
            continue
        attendees = []
        for attendee in copy.attendees:
            own = copy.own.get(attendee["person"])
            attendees.append({**attendee, "partstat": own["partstat"]} if own else attendee)
        known = {a["person"] for a in attendees}
        attendees += [own for person, own in copy.own.items() if person not in known]
        outcome.rows.append(meeting_row(ctx.pseudo, record_id=record_id, attendees=attendees, **copy.fields))
    if not ctx.explicit_window and ctx.window:
        # The item map only needs the occurrences a rolling sync can still cancel.
        prune_before(ctx.state, label(week_start(ctx.window[0])))
    return outcome


def _sync_name(ctx: PullContext, user: DirectoryUser) -> str:
    name = f"gcal:{user.directory_id}"
    if ctx.explicit_window and ctx.window:
        start, end = ctx.window
        name += f":{label(week_start(start))}..{label(week_start(end - timedelta(microseconds=1)))}"
    return name


class _Gone(Exception):
    """410: the sync token expired."""


def _pull_one_calendar(ctx: PullContext, user: DirectoryUser, outcome: PullOutcome, copies: dict[str, _Copy]) -> None:
    path = f"{CALENDAR}/calendars/{_segment(user.address)}/events"
    name = _sync_name(ctx, user)
    owner = ctx.pseudo.person(user.address)
    token = ctx.state.get(name)
    base = [("singleEvents", "true"), ("maxResults", CALENDAR_PAGE)]
    if token:
        try:
            new_token = _read_events(ctx, user, owner, path, base + [("syncToken", token)], outcome, copies)
            if new_token:
                ctx.state[name] = new_token
            return
        except _Gone:
            ctx.state.pop(name, None)
            outcome.resyncs += 1
    start, end = ctx.window
    params = base + [("timeMin", _rfc3339(start))]
    if ctx.explicit_window:
        # Rolling pulls leave the end open, so that later meetings still reach their sync.
        params.append(("timeMax", _rfc3339(end)))
    if token:
        # A resync: what was deleted while the token was valid comes back as cancelled items.
        params.append(("showDeleted", "true"))
    new_token = _read_events(ctx, user, owner, path, params, outcome, copies)
    if new_token:
        ctx.state[name] = new_token


def _read_events(ctx: PullContext, user: DirectoryUser, owner: str | None, path: str, params: list,
                 outcome: PullOutcome, copies: dict[str, _Copy]) -> str | None:
    """Read every page; the last page's nextSyncToken. Raises _Gone on 410."""
    token = None
    while True:
        status, page = ctx.client.get(path, params + ([("pageToken", token)] if token else []),
                                      allow=(410,) if any(k == "syncToken" for k, _ in params) else ())
        if status == 410:
            raise _Gone()
        page = page or {}
        for item in page.get("items") or []:
            if isinstance(item, dict):
                _take_event(ctx, user, owner, item, outcome, copies)
        token = page.get("nextPageToken")
        if not token:
            return page.get("nextSyncToken")


def _take_event(ctx: PullContext, user: DirectoryUser, owner: str | None, item: dict, outcome: PullOutcome,
                copies: dict[str, _Copy]) -> None:
    pseudo = ctx.pseudo
    item_id = str(item.get("id") or "")
    key = f"item:{pseudo.ref(user.directory_id, item_id)}"
    organizer_here = bool((item.get("organizer") or {}).get("self")) or (
        str((item.get("organizer") or {}).get("email") or "").strip().lower() == user.address.lower())

    if item.get("status") == "cancelled":
        known = parse_item_entry(ctx.state.pop(key, None))
        if known:
            record_id, who = known
            organizer_here = who == "o"
        else:
            original = _when(item.get("originalStartTime")) or _when(item.get("start"))
            if not item.get("iCalUID") or original is None:
                return  # never seen and cannot be placed: nothing to cancel
            record_id = occurrence_record_id(pseudo, str(item["iCalUID"]), original[0])
        if organizer_here:
            outcome.cancelled.append(record_id)
        elif owner:
            outcome.declined.append((record_id, owner))
        return

    def reject(reason: str) -> None:
        outcome.rejections.append(Rejection(pseudo.ref("google-calendar", user.directory_id, item_id), reason))

    uid = item.get("iCalUID")
    start, end = _when(item.get("start")), _when(item.get("end"))
    if not uid:
        return reject("no iCalUID")
    if start is None or end is None:
        return reject("missing or unparseable start or end")
    if end[0] < start[0]:
        return reject("ends before it starts")
    original = _when(item.get("originalStartTime")) or start
    record_id = occurrence_record_id(pseudo, str(uid), original[0])
    previous = parse_item_entry(ctx.state.get(key))
    if previous and previous[0] != record_id:
        # A one-off meeting moved in time (its start is part of its record_id): the old
        # occurrence no longer happens, for every calendar that held it.
        outcome.cancelled.append(previous[0])
    ctx.state[key] = item_entry(record_id, "o" if organizer_here else (owner or ""), start[0])

    attendees, own = [], {}
    for attendee in item.get("attendees") or []:
        if not isinstance(attendee, dict) or attendee.get("resource"):
            continue
        person = pseudo.person(attendee.get("email"))
        if person is None:
            continue
        entry = {"person": person,
                 "partstat": RESPONSE.get(str(attendee.get("responseStatus") or ""), "NEEDS-ACTION"),
                 "role": "OPT-PARTICIPANT" if attendee.get("optional") else "REQ-PARTICIPANT"}
        attendees.append(entry)
        if attendee.get("self"):
            own[person] = entry
    fields = {
        "event_ref": pseudo.ref("uid", str(uid)),
        "starts_at": start[0],
        "ends_at": end[0],
        "organizer": pseudo.person((item.get("organizer") or {}).get("email")),
        "status": STATUS.get(str(item.get("status") or "").lower()),
        "is_recurring": bool(item.get("recurringEventId")),
        "is_all_day": start[1],
    }
    copy = copies.get(record_id)
    if copy is None:
        copies[record_id] = _Copy(fields, attendees, organizer_here, own)
        return
    if organizer_here or not copy.from_organizer:
        # The organizer's copy is the reference; otherwise the latest one read.
        copy.fields, copy.attendees, copy.from_organizer = fields, attendees, organizer_here or copy.from_organizer
    copy.own.update(own)


def _when(value) -> tuple[datetime, bool] | None:
    """(instant in UTC, all-day?) of a Calendar EventDateTime; all-day dates are 00:00 UTC."""
    if not isinstance(value, dict):
        return None
    if value.get("dateTime"):
        try:
            moment = datetime.fromisoformat(str(value["dateTime"]).replace("Z", "+00:00"))
        except ValueError:
            return None
        if moment.tzinfo is None:
            try:
                moment = moment.replace(tzinfo=ZoneInfo(str(value.get("timeZone") or "")))
            except (ValueError, ZoneInfoNotFoundError):
                return None
        return to_utc(moment), False
    if value.get("date"):
        try:
            day = date.fromisoformat(str(value["date"]))
        except ValueError:
            return None
        return datetime(day.year, day.month, day.day, tzinfo=UTC), True
    return None


# ============================================================================ helpers


def _segment(value: str) -> str:
    """A path segment (an address, a message id), percent-encoded but for '@'."""
    return quote(str(value), safe="@")


def _rfc3339(moment: datetime) -> str:
    return to_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pages(client: ApiClient, path: str, params: list, first: Any = None) -> Iterator[dict]:
    """Every page of a Google list (``nextPageToken`` -> ``pageToken``); ``first``: the first
    page when the caller already has it."""
    page = first
    token = None
    while True:
        if page is None:
            _, page = client.get(path, params + ([("pageToken", token)] if token else []))
        page = page or {}
        yield page
        token = page.get("nextPageToken")
        if not token:
            return
        page = None


KINDS: dict[str, Callable[[PullContext], PullOutcome]] = {
    "people": pull_people,
    "email": pull_email,
    "calendar": pull_calendar,
}

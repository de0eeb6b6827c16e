"""The Microsoft Graph puller against the emulator (tests/emulator/msgraph.py).

Planted counts are written by hand from tests/emulator/org.py:

* 7 people, all members with a mail; managers: bob, cat -> ann; eve, fay, gus -> dan.
* 5 messages, 14 mailbox copies: m1 ann -> bob, cat (3: ann's sent items, 2 inboxes);
  m2 bob -> ann cc dan (3); m3 partner -> eve, fay (2 inboxes); m4 eve -> dan, gus cc ann (4);
  m5 fay -> eve (2).
* 5 occurrences, 13 calendar copies: standup-1 ann, bob, cat (3); standup-2 ann, bob (cat
  declined it, so Outlook removed it from her calendar: 2); review-1 dan, eve, fay, ann (4);
  partner-1 (external organizer) eve, gus (2); offsite-1 (all day) dan, eve (2).
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta

import httpx
import pytest

import tests.emulator.msgraph  # noqa: F401 - registers the "msgraph" handler
from jobs.privacy.pseudonym import Pseudonymiser
from jobs.pull import msgraph
from jobs.pull.base import DirectoryUser, PullContext, PullOutcome
from jobs.pull.http import ApiClient, ApiError, AuthError
from jobs.sources.calendar import occurrence_record_id
from tests.emulator.org import UTC, W14, W15, Email, leak_markers, make_org
from tests.emulator.server import TOKEN, Emulator

KEY = b"msgraph-test-key"
WINDOW = (W14, W15 + timedelta(weeks=1))
SCOPES = 7 * 2  # mail: 7 users x (inbox, sentitems); calendar: 7 users x 2 ISO weeks

EMAIL_COPIES = {
    "<m1.kestrel@example.org>": 3,
    "<m2.heron@example.org>": 3,
    "<m3.osprey@vendor-firm.example>": 2,
    "<m4.plover@example.org>": 4,
    "<m5.avocet@example.org>": 2,
}
OCCURRENCES = {  # occurrence id -> (uid, original start)
    "standup-1": ("uid-standup-series@example.org", W14 + timedelta(days=1, hours=9)),
    "standup-2": ("uid-standup-series@example.org", W15 + timedelta(days=1, hours=9)),
    "review-1": ("uid-pipeline-review@example.org", W14 + timedelta(days=3, hours=13)),
    "partner-1": ("uid-partner-call@vendor-firm.example", W15 + timedelta(days=2, hours=15)),
    "offsite-1": ("uid-offsite@example.org", datetime(2026, 4, 9, tzinfo=UTC)),
}


@pytest.fixture
def pseudo() -> Pseudonymiser:
    return Pseudonymiser(KEY, frozenset({"example.org"}))


class Graph:
    """An emulator, one client (no real sleeping) and the saved state of each kind."""

    def __init__(self, emu: Emulator, pseudo: Pseudonymiser):
        self.emu, self.pseudo, self.org = emu, pseudo, emu.org
        self.waits: list[float] = []
        self.client = ApiClient("msgraph", emu.base("msgraph"), token=TOKEN, sleep=self.waits.append)
        self.state: dict[str, dict[str, str]] = {"people": {}, "email": {}, "calendar": {}}
        self.users: list[DirectoryUser] = []

    def pull(self, kind: str, explicit_window: bool = False) -> PullOutcome:
        ctx = PullContext(self.client, self.pseudo, self.state[kind], WINDOW, explicit_window, list(self.users))
        outcome = msgraph.KINDS[kind](ctx)
        if kind == "people":
            self.users = outcome.users
        return outcome

    def person(self, key: str) -> str:
        return self.pseudo.person(self.org.person(key).address)

    def rid(self, occurrence: str) -> str:
        return occurrence_record_id(self.pseudo, *OCCURRENCES[occurrence])


@pytest.fixture
def graph(pseudo):
    with Emulator(make_org(), page_size=2) as emu:
        g = Graph(emu, pseudo)
        yield g
        g.client.close()


def _ids(outcome: PullOutcome) -> list[str]:
    return [r["record_id"] for r in outcome.rows]


def _by_id(outcome: PullOutcome) -> dict[str, dict]:
    return {r["record_id"]: r for r in outcome.rows}


def _partstats(row: dict) -> dict[str, str]:
    return {a["person"]: a["partstat"] for a in row["attendees"]}


def test_verified_domains_decide_who_is_internal(pseudo, graph):
    """A member whose mail sits at an outside domain (a contractor's private address) does not
    make that domain internal; without Domain.Read.All the members' mail domains stand in."""
    contractor = {"id": "member-9", "mail": "Quill.Contractor@freemail.example", "userType": "Member"}
    graph.emu.state["msgraph_extra_users"] = [contractor]
    everyone_internal = Pseudonymiser(pseudo.key, frozenset())  # a first pull: no domains known yet
    people = msgraph.pull_people(PullContext(graph.client, everyone_internal, window=WINDOW))
    assert people.domains == {"example.org", "example.onmicrosoft.com"}
    assert people.unjoined == {msgraph.OUTSIDE: 1} and len(people.rows) == 7

    graph.emu.state["msgraph_domains_forbidden"] = True
    people = msgraph.pull_people(PullContext(graph.client, everyone_internal, window=WINDOW))
    assert people.domains == {"example.org", "freemail.example"}
    assert len(people.rows) == 8


# ------------------------------------------------------------------------------ first pass


def test_paging_reads_every_planted_record(pseudo):
    with Emulator(make_org(), page_size=1) as emu:
        g = Graph(emu, pseudo)
        people = g.pull("people")
        assert len(emu.requests("msgraph", "/users")) == 7 + 7  # 7 pages of one user + 7 managers
        email = g.pull("email")
        calendar = g.pull("calendar")

        # One request per page; nextLinks followed on every endpoint.
        assert len(emu.requests("msgraph", "/messages/delta")) == 17
        assert len(emu.requests("msgraph", "/calendarView/delta")) == 16
        for needle in ("/users", "/messages/delta", "/calendarView/delta"):
            assert any("$skiptoken" in r.query for r in emu.requests("msgraph", needle)), needle
        assert len(emu.requests("msgraph", "/domains")) == 1
        assert g.client.sent == len(emu.log) == 1 + 14 + 17 + 16
        assert all(r.status == 200 or r.path.endswith("/manager") for r in emu.log)

    assert len(people.rows) == 7 and len(people.users) == 7
    # The tenant's verified domains (GET /domains), not the unverified one.
    assert people.domains == {"example.org", "example.onmicrosoft.com"} and people.unjoined == {}
    rows = {r["person"]: r for r in people.rows}
    assert rows[g.person("bob")]["manager"] == rows[g.person("cat")]["manager"] == g.person("ann")
    assert {rows[g.person(k)]["manager"] for k in ("eve", "fay", "gus")} == {g.person("dan")}
    assert rows[g.person("ann")]["manager"] is None and rows[g.person("dan")]["manager"] is None
    assert rows[g.person("ann")]["hire_date"] == date(2024, 1, 8)
    assert rows[g.person("ann")]["department"] == "Engineering"
    assert rows[g.person("ann")]["location"] == "Floor-1-Tower-Zircon"
    assert {r["origin"] for r in people.rows} == {"msgraph"}

    assert len(email.rows) == sum(EMAIL_COPIES.values()) == 14 and not email.rejections
    ids = _ids(email)
    assert {i: ids.count(i) for i in set(ids)} == {pseudo.ref("email", m): n for m, n in EMAIL_COPIES.items()}
    m3 = next(r for r in email.rows if r["record_id"] == pseudo.ref("email", "<m3.osprey@vendor-firm.example>"))
    assert m3["sender"] == pseudo.person("someone@vendor-firm.example")  # the partner's domain
    assert m3["sent_at"] == W14 + timedelta(days=2, hours=8)

    assert len(calendar.rows) == 5 and not calendar.rejections
    assert calendar.cancelled == [] and calendar.declined == []
    rows = _by_id(calendar)
    assert set(rows) == {g.rid(o) for o in OCCURRENCES}
    standup1, standup2 = rows[g.rid("standup-1")], rows[g.rid("standup-2")]
    assert standup1["organizer"] == g.person("ann")
    assert _partstats(standup1) == {g.person("bob"): "ACCEPTED", g.person("cat"): "TENTATIVE"}
    assert _partstats(standup2) == {g.person("bob"): "ACCEPTED", g.person("cat"): "DECLINED"}
    assert standup1["is_recurring"] and standup1["event_ref"] == standup2["event_ref"]
    assert standup1["duration_minutes"] == 30.0 and standup1["status"] == "CONFIRMED"
    assert {a["role"] for r in rows.values() for a in r["attendees"]} == {"REQ-PARTICIPANT"}
    review = rows[g.rid("review-1")]
    assert _partstats(review) == {g.person(k): "ACCEPTED" for k in ("eve", "fay", "ann")}
    assert not review["is_recurring"]
    # External organizer: only attendee copies exist; each owner's own answer is used.
    partner = rows[g.rid("partner-1")]
    assert partner["organizer"] == pseudo.person("x@vendor-firm.example")
    assert _partstats(partner) == {g.person("eve"): "ACCEPTED", g.person("gus"): "ACCEPTED"}
    offsite = rows[g.rid("offsite-1")]
    assert offsite["is_all_day"] and offsite["starts_at"] == datetime(2026, 4, 9, tzinfo=UTC)
    assert offsite["duration_minutes"] == 24 * 60


def test_rate_limits_and_unavailable_are_retried(graph):
    graph.emu.faults.rate_limit_every = 5
    graph.emu.faults.retry_after = "3"
    graph.emu.faults.unavailable_once = {"/calendarView/delta"}
    graph.pull("people")
    email = graph.pull("email")
    calendar = graph.pull("calendar")

    throttled = [r for r in graph.emu.log if r.status == 429]
    assert throttled and graph.client.requests["retry 429"] == len(throttled)
    assert graph.waits.count(3.0) == len(throttled)  # Retry-After honoured, every time
    assert graph.client.requests["retry 503"] == 1
    backoff = [w for w in graph.waits if w != 3.0]
    assert len(backoff) == 1 and 0 < backoff[0] < 3.0
    assert len(email.rows) == 14 and len(calendar.rows) == 5


def test_refused_token_raises_auth_error(graph):
    graph.emu.faults.reject_token = True
    with pytest.raises(AuthError):
        graph.pull("people")
    graph.users = [DirectoryUser(graph.org.person("ann").graph_id, "x@example.org")]
    with pytest.raises(AuthError):
        graph.pull("calendar")
    assert len(graph.emu.log) == 2  # no retry of a refused token


def test_identity_is_the_lower_cased_mail_never_the_upn(graph, pseudo):
    ann = graph.org.person("ann")
    assert ann.graph_mail != ann.address and ann.upn.split("@")[1] != "example.org"
    graph.emu.state["msgraph_extra_users"] = [
        {"id": "room-1", "displayName": "Room Marker", "mail": None, "userType": "Member",
         "userPrincipalName": "room-1@example.org"},
        {"id": "guest-1", "displayName": "Paloma Partner", "mail": "paloma.partner@vendor-firm.example",
         "userType": "Guest", "userPrincipalName": "paloma.partner_vendor-firm.example#EXT#@example.onmicrosoft.com"},
    ]
    people = graph.pull("people")
    email = graph.pull("email")

    ann_pseudonym = pseudo.person(ann.slack_email)  # what the Slack side sees
    assert ann_pseudonym == pseudo.person(ann.graph_mail) == pseudo.person(ann.address)
    assert ann_pseudonym in {r["person"] for r in people.rows}
    cat = graph.org.person("cat")
    assert cat.slack_email != cat.address and pseudo.person(cat.slack_email) in {r["person"] for r in people.rows}
    assert DirectoryUser(ann.graph_id, ann.address) in people.users  # lower-cased mail
    m1 = next(r for r in email.rows if r["record_id"] == pseudo.ref("email", "<m1.kestrel@example.org>"))
    assert m1["sender"] == ann_pseudonym

    upn_pseudonym = pseudo.person(ann.upn)
    dumped = json.dumps([people.rows, email.rows], default=str)
    assert upn_pseudonym not in dumped and ann.upn not in dumped
    # The room (no mail) and the guest are counted, not loaded; the guest's domain is not ours.
    assert people.unjoined == {msgraph.NO_MAIL: 1, msgraph.GUESTS: 1}
    assert people.domains == {"example.org", "example.onmicrosoft.com"}
    assert len(people.rows) == len(people.users) == 7
    assert len(graph.emu.requests("msgraph", "/manager")) == 7


def test_a_message_in_several_mailboxes_is_one_record(graph, pseudo):
    graph.pull("people")
    email = graph.pull("email")
    plover = [r for r in email.rows if r["record_id"] == pseudo.ref("email", "<m4.plover@example.org>")]
    assert len(plover) == 4  # eve's sent items, dan's, gus's and ann's inboxes
    assert len({json.dumps(r, default=str, sort_keys=True) for r in plover}) == 1  # identical rows
    row = plover[0]
    assert row["sender"] == graph.person("eve")
    assert set(row["to"]) == {graph.person("dan"), graph.person("gus")} and row["cc"] == [graph.person("ann")]
    assert row["n_recipients"] == 3
    assert row["thread_ref"] is not None and row["message_ref"] == pseudo.ref("message-id", "<m4.plover@example.org>")


# ------------------------------------------------------------------------------ later passes


def _change_org(org):
    new = org.add_email(Email("<m6.curlew@example.org>", "cat", ["dan"], [], W15 + timedelta(days=4, hours=11),
                              "Subject-Marker-Curlew", "Body-Marker-Curlew"))
    org.cancel_meeting("review-1")
    org.remove_meeting("offsite-1")
    org.respond("standup-2", "bob", "declined")  # Outlook removes it from bob's calendar
    org.respond("standup-1", "cat", "accepted")  # was tentative
    return new


def test_second_pass_reads_only_delta_links_and_changes(graph, pseudo):
    graph.pull("people")
    first_email, first_calendar = graph.pull("email"), graph.pull("calendar")
    assert len(first_email.rows) == 14 and len(first_calendar.rows) == 5
    assert len(graph.state["email"]) == SCOPES
    assert len([n for n in graph.state["calendar"] if n.startswith("cal:")]) == SCOPES
    assert len([n for n in graph.state["calendar"] if n.startswith("item:")]) == 13

    new = _change_org(graph.org)
    graph.emu.clear_log()
    email, calendar = graph.pull("email"), graph.pull("calendar")

    assert len(graph.emu.log) == 2 * SCOPES  # one delta-link page per scope
    assert all("$deltatoken" in r.query and r.status == 200 for r in graph.emu.log)
    assert _ids(email) == [pseudo.ref("email", new.message_id)] * 2  # cat's sent items, dan's inbox
    rows = _by_id(calendar)
    assert set(rows) == {graph.rid("review-1"), graph.rid("standup-1"), graph.rid("standup-2")}
    assert len(calendar.rows) == 3 and not calendar.rejections
    assert rows[graph.rid("review-1")]["status"] == "CANCELLED"
    assert _partstats(rows[graph.rid("standup-1")])[graph.person("cat")] == "ACCEPTED"
    assert _partstats(rows[graph.rid("standup-2")])[graph.person("bob")] == "DECLINED"
    # review-1: removed from dan's (organizer) calendar; offsite-1: removed everywhere.
    assert sorted(calendar.cancelled) == sorted([graph.rid("review-1"), graph.rid("offsite-1")])
    assert calendar.declined == [(graph.rid("standup-2"), graph.person("bob"))]
    assert email.resyncs == calendar.resyncs == 0

    graph.emu.clear_log()
    email, calendar = graph.pull("email"), graph.pull("calendar")
    assert len(graph.emu.log) == 2 * SCOPES and all("$deltatoken" in r.query for r in graph.emu.log)
    assert email.rows == calendar.rows == [] and calendar.cancelled == calendar.declined == []


def test_expired_delta_links_resync_without_duplicates(graph, pseudo):
    graph.pull("people")
    first_email, first_calendar = graph.pull("email"), graph.pull("calendar")

    graph.emu.state["msgraph_expired"] = True
    new = graph.org.add_email(Email("<m7.dunlin@example.org>", "dan", ["eve"], [], W15 + timedelta(days=2, hours=10),
                                    "Subject-Marker-Dunlin", "Body-Marker-Dunlin"))
    graph.emu.clear_log()
    email, calendar = graph.pull("email"), graph.pull("calendar")

    assert email.resyncs == calendar.resyncs == SCOPES
    assert len(graph.emu.state["msgraph_expired_scopes"]) == 2 * SCOPES
    assert len([r for r in graph.emu.log if r.status == 410]) == 2 * SCOPES  # one per scope
    assert set(_ids(email)) == set(_ids(first_email)) | {pseudo.ref("email", new.message_id)}
    assert len(email.rows) == 14 + 2
    assert sorted(_ids(calendar)) == sorted(_ids(first_calendar))  # same ids: no duplicates
    assert len(set(_ids(calendar))) == len(calendar.rows) == 5
    assert calendar.cancelled == calendar.declined == []

    graph.emu.clear_log()
    email, calendar = graph.pull("email"), graph.pull("calendar")
    assert email.resyncs == calendar.resyncs == 0 and email.rows == calendar.rows == []
    assert len(graph.emu.log) == 2 * SCOPES and all("$deltatoken" in r.query for r in graph.emu.log)


def test_explicit_window_rereads_despite_cursors(graph):
    graph.pull("people")
    graph.pull("email")
    links = dict(graph.state["email"])
    graph.emu.clear_log()
    again = graph.pull("email", explicit_window=True)
    assert len(again.rows) == 14 and again.resyncs == 0
    assert not any("$deltatoken" in r.query for r in graph.emu.log)
    assert all("$filter" in r.query for r in graph.emu.log if "$skiptoken" not in r.query)
    assert graph.state["email"].keys() == links.keys() and graph.state["email"] != links


def test_moved_single_instance_cancels_its_old_record(graph):
    graph.pull("people")
    graph.pull("calendar")
    review = next(m for m in graph.org.meetings if m.occurrence_id == "review-1")
    review.start += timedelta(hours=2)
    review.end += timedelta(hours=2)
    review.seq = graph.org.tick()
    calendar = graph.pull("calendar")
    moved = occurrence_record_id(graph.pseudo, review.uid, review.start)
    assert _ids(calendar) == [moved]
    assert calendar.cancelled == [graph.rid("review-1")] and calendar.declined == []


# ------------------------------------------------------------------------------ leak scan


def test_nothing_leaks_into_rows_rejections_state_or_logs(graph, caplog):
    caplog.set_level(logging.DEBUG, logger="ona.pull")
    graph.emu.state["msgraph_extra_users"] = [
        {"id": "guest-1", "displayName": "Paloma Partner", "mail": "paloma.partner@vendor-firm.example",
         "userType": "Guest", "userPrincipalName": "paloma.partner_vendor-firm.example#EXT#@example.onmicrosoft.com"},
    ]
    outcomes = [graph.pull("people"), graph.pull("email"), graph.pull("calendar")]
    _change_org(graph.org)
    outcomes += [graph.pull("email"), graph.pull("calendar")]
    graph.emu.state["msgraph_expired"] = True
    outcomes += [graph.pull("email"), graph.pull("calendar")]

    dumped = json.dumps({
        "rows": [o.rows for o in outcomes],
        "rejections": [[r.__dict__ for r in o.rejections] for o in outcomes],
        "unjoined": [o.unjoined for o in outcomes],
        "cancelled": [o.cancelled for o in outcomes],
        "declined": [o.declined for o in outcomes],
        "state": graph.state,
    }, default=str)
    assert sum(len(o.rows) for o in outcomes) > 30
    markers = leak_markers(graph.org)
    assert "Subject-Marker-Curlew" in markers and "uid-offsite@example.org" in markers
    assert [m for m in markers if m.lower() in dumped.lower()] == []
    assert [m for m in markers if m.lower() in caplog.text.lower()] == []
    for name in graph.state["calendar"]:  # names: directory ids and keyed references only
        assert name.startswith(("cal:", "item:"))


# ------------------------------------------------------------------------------ unit level


def _event(**overrides) -> dict:
    event = {
        "id": "AAMk-1", "uid": "uid-x@example.org", "type": "singleInstance", "isOrganizer": True,
        "isAllDay": False, "isCancelled": False, "subject": "Subject-Unit",
        "start": {"dateTime": "2026-03-31T10:00:00.0000000", "timeZone": "W. Europe Standard Time"},
        "end": {"dateTime": "2026-03-31T11:00:00.0000000", "timeZone": "Europe/Berlin"},
        "organizer": {"emailAddress": {"name": "Ann", "address": "Ann@Example.org"}},
        "attendees": [
            {"type": "optional", "status": {"response": "tentativelyAccepted"},
             "emailAddress": {"name": "Bob", "address": "bob@example.org"}},
            {"type": "resource", "status": {"response": "accepted"},
             "emailAddress": {"name": "Room", "address": "room@example.org"}},
            {"type": "required", "status": {"response": "notResponded"},
             "emailAddress": {"name": "Nobody", "address": ""}},
        ],
    }
    event.update(overrides)
    return event


def test_event_fields_zones_roles_and_rejections(pseudo):
    fields = msgraph.event_fields(_event(), pseudo)
    assert fields["starts_at"] == datetime(2026, 3, 31, 8, 0, tzinfo=UTC)  # CEST is UTC+2
    assert fields["ends_at"] == datetime(2026, 3, 31, 9, 0, tzinfo=UTC)
    assert [(a["partstat"], a["role"]) for a in fields["attendees"]] == [
        ("TENTATIVE", "OPT-PARTICIPANT"), ("ACCEPTED", "NON-PARTICIPANT")]
    assert fields["organizer"] == pseudo.person("ann@example.org")
    assert fields["record_id"] == occurrence_record_id(pseudo, "uid-x@example.org", fields["starts_at"])
    exception = msgraph.event_fields(_event(type="exception", originalStart="2026-03-31T07:00:00Z"), pseudo)
    assert exception["is_recurring"]
    assert exception["record_id"] == occurrence_record_id(pseudo, "uid-x@example.org", datetime(2026, 3, 31, 7, tzinfo=UTC))
    fallback = msgraph.event_fields(_event(uid=None, iCalUId="040000008200E0"), pseudo)
    assert fallback["event_ref"] == pseudo.ref("uid", "040000008200E0")

    bad_zone = {"dateTime": "2026-03-31T10:00:00", "timeZone": "Atlantis Standard Time"}
    assert msgraph.event_fields(_event(start=bad_zone), pseudo) == "unknown time zone"
    assert msgraph.event_fields(_event(uid=None), pseudo) == "no event uid"
    assert msgraph.event_fields(_event(end={"dateTime": "2026-03-31T07:00:00", "timeZone": "UTC"}), pseudo) == "end before start"
    assert msgraph.event_fields(_event(start={"timeZone": "UTC"}), pseudo) == "invalid start"
    for name in msgraph.WINDOWS_ZONES.values():  # every mapped zone exists
        assert msgraph._zone(name) is not None


def _mock_client(routes: dict[str, list[tuple[int, dict]]]) -> ApiClient:
    """A client whose server answers each path with the next of its canned responses."""
    def answer(request: httpx.Request) -> httpx.Response:
        status, body = routes[request.url.path].pop(0)
        return httpx.Response(status, json=body)

    return ApiClient("msgraph", "https://graph.test/v1.0", token="t", sleep=lambda s: None,
                     transport=httpx.MockTransport(answer))


def test_removed_mail_and_series_masters_are_skipped_and_fresh_410_is_an_error(pseudo):
    mail = "/v1.0/users/u1/mailFolders/{}/messages/delta"
    message = {"id": "m-1", "internetMessageId": "<x@example.org>", "sentDateTime": "2026-03-31T10:00:00Z",
               "subject": "Subject-Unit", "from": {"emailAddress": {"name": "B", "address": "bob@example.org"}},
               "toRecipients": [{"emailAddress": {"name": "A", "address": "ann@example.org"}}]}
    client = _mock_client({
        mail.format("inbox"): [(200, {"value": [message, {"id": "m-0", "@removed": {"reason": "deleted"}}],
                                      "@odata.deltaLink": "https://graph.test/v1.0/x?$deltatoken=1"})],
        mail.format("sentitems"): [(200, {"value": [], "@odata.deltaLink": "https://graph.test/v1.0/y?$deltatoken=2"})],
        "/v1.0/users/u1/calendarView/delta": [
            (200, {"value": [_event(type="seriesMaster"), _event(id="AAMk-2", uid="uid-y")],
                   "@odata.deltaLink": "https://graph.test/v1.0/z?$deltatoken=3"}),
            (410, {"error": {"code": "SyncStateNotFound"}}),
        ],
    })
    users = [DirectoryUser("u1", "ann@example.org")]
    window = (W14, W14 + timedelta(weeks=1))
    email = msgraph.pull_email(PullContext(client, pseudo, {}, window, users=users))
    assert _ids(email) == [pseudo.ref("email", "<x@example.org>")] and not email.rejections
    state: dict[str, str] = {}
    calendar = msgraph.pull_calendar(PullContext(client, pseudo, state, window, users=users))
    assert len(calendar.rows) == 1 and calendar.rows[0]["event_ref"] == pseudo.ref("uid", "uid-y")
    with pytest.raises(ApiError):  # 410 on a round without cursor cannot be fixed by a resync
        msgraph.pull_calendar(PullContext(client, pseudo, {}, window, users=users))

"""The Google Workspace puller against the local emulator (no Spark, no network).

Planted counts, from tests/emulator/org.py (7 people, page size 2):

* Directory: 7 users -> 4 pages.
* Gmail copies per mailbox (sender + internal To/Cc): ann 3 (m1 m2 m4), bob 2 (m1 m2),
  cat 1 (m1), dan 2 (m2 m4), eve 3 (m3 m4 m5), fay 2 (m3 m5), gus 1 (m4): 14 copies of
  5 messages; list pages 2+1+1+1+2+1+1 = 9.
* Calendar items per calendar: ann 3 (standup-1, standup-2, review-1), bob 2, cat 2,
  dan 2 (review-1, offsite-1), eve 3 (review-1, partner-1, offsite-1), fay 1, gus 1:
  14 items of 5 occurrences; pages 2+1+1+1+2+1+1 = 9.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pytest

import tests.emulator.google  # noqa: F401 - registers the "google" handler
from jobs.privacy.pseudonym import Pseudonymiser
from jobs.pull import google
from jobs.pull.base import DirectoryUser, PullContext, PullOutcome
from jobs.pull.http import ApiClient, ApiError, AuthError
from jobs.sources.calendar import occurrence_record_id
from tests.emulator.org import W14, W15, Email, leak_markers, make_org
from tests.emulator.server import TOKEN, Emulator

UTC = timezone.utc
WINDOW = (W14, W15 + timedelta(weeks=1))
PASS1_EMAIL_REQUESTS = 7 + 9 + 14  # profiles, list pages, message reads
PASS1_CALENDAR_REQUESTS = 9


@pytest.fixture
def pseudo():
    return Pseudonymiser(b"test-key-google", frozenset({"example.org"}))


@pytest.fixture
def emu():
    with Emulator(make_org(), page_size=2) as server:
        yield server


class Session:
    """One vendor's pulls over several passes: a client, per-kind state, the directory users."""

    def __init__(self, emu: Emulator, pseudo: Pseudonymiser):
        self.emu, self.pseudo = emu, pseudo
        self.waits: list[float] = []
        self.client = ApiClient("google", emu.base("google"), token=TOKEN, sleep=self.waits.append)
        self.state: dict[str, dict[str, str]] = {"people": {}, "email": {}, "calendar": {}}
        self.users: list[DirectoryUser] = []

    def pull(self, kind: str, window=WINDOW, explicit: bool = False) -> PullOutcome:
        ctx = PullContext(self.client, self.pseudo, self.state[kind], window, explicit, self.users)
        outcome = google.KINDS[kind](ctx)
        if kind == "people":
            self.users = outcome.users
        return outcome

    def first_pass(self, kind: str) -> tuple[PullOutcome, int]:
        """The directory, then a first pull of ``kind`` with a clean request log: (outcome,
        requests it sent)."""
        self.pull("people")
        self.emu.clear_log()
        return self.sent(self.pull, kind)

    def sent(self, fn, *args, **kwargs):
        """(result, requests sent by it)."""
        before = self.client.sent
        result = fn(*args, **kwargs)
        return result, self.client.sent - before


def person(emu, pseudo, key):
    return pseudo.person(emu.org.person(key).address)


def meeting_id(emu, pseudo, occurrence_id):
    m = next(m for m in emu.org.meetings if m.occurrence_id == occurrence_id)
    return occurrence_record_id(pseudo, m.uid, m.original_start or m.start)


def email_id(pseudo, message_id):
    return pseudo.ref("email", message_id)


def paths(emu, contains=""):
    return [r for r in emu.requests("google", contains)]


# ------------------------------------------------------------------------------ people


def test_people_pages_users_and_rows(emu, pseudo):
    s = Session(emu, pseudo)
    outcome, sent = s.sent(s.pull, "people")
    assert sent == 4  # 7 users, 2 a page
    assert [r.query.get("customer") for r in paths(emu, "/admin/directory/v1/users")] == ["my_customer"] * 4
    assert len(outcome.rows) == 7 and not outcome.rejections
    assert outcome.domains == {"example.org"}
    assert [u.directory_id for u in outcome.users] == [p.google_id for p in emu.org.people]
    assert all(u.address == u.address.lower() for u in outcome.users)
    bob = next(r for r in outcome.rows if r["person"] == person(emu, pseudo, "bob"))
    # The primary organization, not the first one listed; the manager relation; buildingId.
    assert bob["department"] == "Engineering"
    assert bob["manager"] == person(emu, pseudo, "ann")
    assert bob["location"] == emu.org.person("bob").location
    assert bob["origin"] == "google" and bob["team"] is None


def test_hosts_and_kinds():
    assert google.DEFAULT_BASE_URL is None
    assert set(google.KINDS) == {"people", "email", "calendar"}
    assert google.default_base_url("people") == "https://admin.googleapis.com"
    assert google.default_base_url("email") == "https://gmail.googleapis.com"
    assert google.default_base_url("calendar") == "https://www.googleapis.com"


# ------------------------------------------------------------------------------ email


def test_email_first_pass_pages_every_mailbox_and_one_message_is_one_record(emu, pseudo):
    s = Session(emu, pseudo)
    outcome, sent = s.first_pass("email")
    assert sent == PASS1_EMAIL_REQUESTS
    assert len(paths(emu, "/profile")) == 7
    lists = [r for r in paths(emu) if r.path.endswith("/messages")]
    assert len(lists) == 9
    assert lists[0].query["q"] == f"after:{int(WINDOW[0].timestamp())} before:{int(WINDOW[1].timestamp())}"
    reads = [r for r in paths(emu) if "/messages/" in r.path]
    assert len(reads) == 14
    assert reads[0].query["format"] == "metadata" and "snippet" not in reads[0].query["fields"]
    assert reads[0].multi["metadataHeaders"] == list(google.METADATA_HEADERS)
    # By address, never me: requests name each user's mailbox.
    assert {r.path.split("/")[4] for r in reads} == {p.address for p in emu.org.people}

    assert len(outcome.rows) == 14 and not outcome.rejections
    ids = [r["record_id"] for r in outcome.rows]
    assert set(ids) == {email_id(pseudo, e.message_id) for e in emu.org.emails}
    assert ids.count(email_id(pseudo, "<m4.plover@example.org>")) == 4  # eve, dan, gus, ann
    m1 = next(r for r in outcome.rows if r["record_id"] == email_id(pseudo, "<m1.kestrel@example.org>"))
    assert m1["sender"] == person(emu, pseudo, "ann")
    assert m1["to"] == [person(emu, pseudo, "bob"), person(emu, pseudo, "cat")]
    assert m1["sent_at"] == W14 + timedelta(hours=9)
    m3 = next(r for r in outcome.rows if r["record_id"] == email_id(pseudo, "<m3.osprey@vendor-firm.example>"))
    assert m3["sender"].startswith("x_")
    assert set(s.state["email"]) == {f"gmail:{p.google_id}" for p in emu.org.people}


def test_gmail_metadata_scope_lists_without_q_and_filters_by_internal_date(emu, pseudo):
    emu.state["google_metadata_scope"] = True
    s = Session(emu, pseudo)
    s.pull("people")
    window = (W14, W14 + timedelta(weeks=1))  # m1, m2, m3 only
    emu.clear_log()
    outcome = s.pull("email", window=window)
    assert len([r for r in paths(emu) if r.path.endswith("/messages") and "q" in r.query]) == 1  # refused once
    assert {r["record_id"] for r in outcome.rows} == {
        email_id(pseudo, m) for m in ("<m1.kestrel@example.org>", "<m2.heron@example.org>", "<m3.osprey@vendor-firm.example>")}
    assert len(outcome.rows) == 3 + 3 + 2  # m1 x3, m2 x3, m3 x2


# ------------------------------------------------------------------------------ calendar


def test_calendar_first_pass_one_row_per_occurrence(emu, pseudo):
    s = Session(emu, pseudo)
    outcome, sent = s.first_pass("calendar")
    assert sent == PASS1_CALENDAR_REQUESTS
    first_pages = [r for r in paths(emu, "/events") if "pageToken" not in r.query]
    assert all(r.query["timeMin"] == "2026-03-30T00:00:00Z" and "timeMax" not in r.query for r in first_pages)
    assert all(r.query["singleEvents"] == "true" for r in first_pages)
    assert not outcome.rejections and not outcome.cancelled and not outcome.declined

    rows = {r["record_id"]: r for r in outcome.rows}
    assert len(outcome.rows) == len(rows) == 5
    s1, s2 = rows[meeting_id(emu, pseudo, "standup-1")], rows[meeting_id(emu, pseudo, "standup-2")]
    assert s1["event_ref"] == s2["event_ref"] == pseudo.ref("uid", "uid-standup-series@example.org")
    assert s1["is_recurring"] and s2["is_recurring"]
    assert s1["starts_at"] == W14 + timedelta(days=1, hours=9)  # 11:00+02:00 in Berlin
    assert s1["duration_minutes"] == 30 and s1["status"] == "CONFIRMED"
    partstat = {a["person"]: a["partstat"] for a in s1["attendees"]}
    assert partstat[person(emu, pseudo, "cat")] == "TENTATIVE"
    assert {a["person"]: a["partstat"] for a in s2["attendees"]}[person(emu, pseudo, "cat")] == "DECLINED"
    review = rows[meeting_id(emu, pseudo, "review-1")]
    assert len(review["attendees"]) == 4  # the room (resource) is not a person
    assert review["organizer"] == person(emu, pseudo, "dan")
    offsite = rows[meeting_id(emu, pseudo, "offsite-1")]
    assert offsite["is_all_day"] and offsite["starts_at"] == datetime(2026, 4, 9, tzinfo=UTC)
    partner = rows[meeting_id(emu, pseudo, "partner-1")]
    assert partner["organizer"].startswith("x_") and not partner["is_recurring"]

    state = s.state["calendar"]
    assert {k for k in state if k.startswith("gcal:")} == {f"gcal:{p.google_id}" for p in emu.org.people}
    assert len([k for k in state if k.startswith("item:")]) == 14
    ann = emu.org.person("ann")
    standup_item = state[f"item:{pseudo.ref(ann.google_id, tests.emulator.google._event_id(emu.org.meetings[0]))}"]
    assert standup_item == f"{meeting_id(emu, pseudo, 'standup-1')}|o|2026-W14"


def test_explicit_window_has_its_own_sync_token_and_leaves_gmail_cursor(emu, pseudo):
    s = Session(emu, pseudo)
    s.pull("people")
    s.pull("email")
    cursors = dict(s.state["email"])
    window = (W14, W14 + timedelta(weeks=1))
    emu.clear_log()
    calendar = s.pull("calendar", window=window, explicit=True)
    assert all(r.query["timeMax"] == "2026-04-06T00:00:00Z" for r in paths(emu, "/events"))
    assert {r["record_id"] for r in calendar.rows} == {meeting_id(emu, pseudo, o) for o in ("standup-1", "review-1")}
    assert {k for k in s.state["calendar"] if k.startswith("gcal:")} == {
        f"gcal:{p.google_id}:2026-W14..2026-W14" for p in emu.org.people}
    email = s.pull("email", window=window, explicit=True)
    assert len({r["record_id"] for r in email.rows}) == 3
    assert s.state["email"] == cursors and not paths(emu, "/history")


# ------------------------------------------------------------------------------ faults


def test_rate_limit_waits_retry_after_and_503_is_retried(emu, pseudo):
    s = Session(emu, pseudo)
    emu.faults.rate_limit_every = 4
    emu.faults.retry_after = "7"
    emu.faults.unavailable_once = {"/calendar/v3/calendars/"}
    s.pull("people")
    email = s.pull("email")
    calendar = s.pull("calendar")
    assert len(email.rows) == 14 and len(calendar.rows) == 5
    retries_429 = s.client.requests["retry 429"]
    assert retries_429 >= 10
    assert s.client.requests["retry 503"] == 1
    assert s.waits.count(7.0) == retries_429  # every 429 waited its Retry-After
    assert len(s.waits) == retries_429 + 1  # and one backoff for the 503


def test_refused_token_is_an_auth_error(emu, pseudo):
    s = Session(emu, pseudo)
    emu.faults.reject_token = True
    with pytest.raises(AuthError):
        s.pull("people")
    assert s.client.sent == 1  # no retry can fix a token


def test_service_identity_has_no_me_or_primary(emu, pseudo):
    client = ApiClient("google", emu.base("google"), token=TOKEN, sleep=lambda _: None)
    for path in ("/gmail/v1/users/me/profile", "/calendar/v3/calendars/primary/events"):
        with pytest.raises(ApiError):
            client.get(path)


def test_errors_and_debug_logs_name_no_address(emu, pseudo, caplog):
    s = Session(emu, pseudo)
    s.pull("people")
    caplog.set_level(logging.DEBUG, logger="ona.pull")
    emu.faults.reject_token = True
    with pytest.raises(AuthError) as raised:
        s.pull("email")
    assert "@" not in str(raised.value)
    assert "@" not in caplog.text


# ------------------------------------------------------------------------------ passes


def test_second_pass_reads_only_changes(emu, pseudo):
    s = Session(emu, pseudo)
    s.pull("people")
    s.pull("email")
    first = s.pull("calendar")
    org = emu.org
    standup1, standup2 = meeting_id(emu, pseudo, "standup-1"), meeting_id(emu, pseudo, "standup-2")

    org.add_email(Email("<m6.curlew@example.org>", "ann", ["bob"], [], W15 + timedelta(days=4, hours=9),
                        "Subject-Marker-Curlew", "Body-Marker-Curlew"))
    org.cancel_meeting("standup-1")
    org.respond("standup-2", "cat", "accepted")
    emu.clear_log()

    email, email_sent = s.sent(s.pull, "email")
    assert email_sent == 7 + 2  # one history page per mailbox, then the two new copies
    assert len(paths(emu, "/history")) == 7
    assert not paths(emu, "/profile") and not [r for r in paths(emu) if r.path.endswith("/messages")]
    assert [r["record_id"] for r in email.rows] == [email_id(pseudo, "<m6.curlew@example.org>")] * 2
    assert email.resyncs == 0

    emu.clear_log()
    calendar, calendar_sent = s.sent(s.pull, "calendar")
    assert calendar_sent == 7  # one sync page per calendar
    assert all("syncToken" in r.query and "timeMin" not in r.query for r in paths(emu, "/events"))
    assert calendar.cancelled == [standup1]
    assert calendar.declined == []  # the attendees' cancelled copies are the same cancellation
    assert [r["record_id"] for r in calendar.rows] == [standup2]
    (row,) = calendar.rows
    assert {a["person"]: a["partstat"] for a in row["attendees"]}[person(emu, pseudo, "cat")] == "ACCEPTED"
    assert standup2 in {r["record_id"] for r in first.rows}  # an update, not a new occurrence
    assert calendar.resyncs == 0

    emu.clear_log()
    third = s.pull("calendar")
    assert not third.rows and not third.cancelled and len(paths(emu, "/events")) == 7


def test_a_moved_one_off_meeting_cancels_its_old_occurrence(emu, pseudo):
    s = Session(emu, pseudo)
    s.pull("people")
    s.pull("calendar")
    review = next(m for m in emu.org.meetings if m.occurrence_id == "review-1")
    old = meeting_id(emu, pseudo, "review-1")
    review.start += timedelta(hours=2)
    review.end += timedelta(hours=2)
    review.seq = emu.org.tick()
    calendar = s.pull("calendar")
    moved = occurrence_record_id(pseudo, review.uid, review.start)
    assert [r["record_id"] for r in calendar.rows] == [moved] and moved != old
    assert calendar.cancelled == [old]  # once, although four calendars held it


def test_gone_from_attendee_calendars_only_is_declines(emu, pseudo):
    s = Session(emu, pseudo)
    s.pull("people")
    s.pull("calendar")
    meeting = emu.org.remove_meeting("partner-1")  # organised outside: no organizer calendar here
    calendar = s.pull("calendar")
    record_id = meeting_id(emu, pseudo, "partner-1")
    assert calendar.cancelled == []
    assert sorted(calendar.declined) == sorted([(record_id, person(emu, pseudo, "eve")),
                                                (record_id, person(emu, pseudo, "gus"))])
    assert meeting.removed_seq and not calendar.rows


def test_expired_history_and_sync_tokens_resync_without_duplicates(emu, pseudo):
    s = Session(emu, pseudo)
    s.pull("people")
    email1 = s.pull("email")
    calendar1 = s.pull("calendar")
    emu.org.cancel_meeting("review-1")
    emu.state["google_expired"] = True
    emu.clear_log()

    email2, email_sent = s.sent(s.pull, "email")
    assert email_sent == 7 + PASS1_EMAIL_REQUESTS  # a 404 per mailbox, then the first pass again
    assert email2.resyncs == 7
    assert len([r for r in paths(emu, "/history") if r.status == 404]) == 7
    assert sorted(r["record_id"] for r in email2.rows) == sorted(r["record_id"] for r in email1.rows)

    calendar2, calendar_sent = s.sent(s.pull, "calendar")
    assert calendar_sent == 7 + PASS1_CALENDAR_REQUESTS  # the cancelled review still fills ann's page
    assert calendar2.resyncs == 7
    gone = [r for r in paths(emu, "/events") if r.status == 410]
    assert len(gone) == 7
    resynced = [r for r in paths(emu, "/events") if r.status == 200 and "pageToken" not in r.query]
    assert all(r.query.get("showDeleted") == "true" and "syncToken" not in r.query for r in resynced)
    review = meeting_id(emu, pseudo, "review-1")
    assert calendar2.cancelled == [review] and calendar2.declined == []
    assert len(calendar2.rows) == len({r["record_id"] for r in calendar2.rows}) == 4
    assert {r["record_id"] for r in calendar2.rows} == {r["record_id"] for r in calendar1.rows} - {review}

    emu.clear_log()
    email3, calendar3 = s.pull("email"), s.pull("calendar")  # new tokens work: no more resyncs
    assert email3.resyncs == calendar3.resyncs == 0 and not email3.rows and not calendar3.rows
    assert all(r.status == 200 for r in paths(emu))


# ------------------------------------------------------------------------------ mapping


def test_event_mapping_edge_cases(pseudo):
    user = DirectoryUser("42", "ann@example.org")
    ctx = PullContext(client=None, pseudo=pseudo, state={}, window=WINDOW, users=[user])
    outcome = PullOutcome()
    copies = {}
    owner = pseudo.person(user.address)
    naive_with_zone = {"id": "e1", "status": "confirmed", "iCalUID": "u1",
                       "start": {"dateTime": "2026-03-31T11:00:00", "timeZone": "Europe/Berlin"},
                       "end": {"dateTime": "2026-03-31T12:00:00", "timeZone": "Europe/Berlin"},
                       "organizer": {"email": "ann@example.org", "self": True},
                       "attendees": [{"email": "bob@example.org", "optional": True}]}
    google._take_event(ctx, user, owner, naive_with_zone, outcome, copies)
    google._take_event(ctx, user, owner, {"id": "e2", "status": "confirmed", "iCalUID": "u2",
                                          "start": {"dateTime": "junk"}, "end": {}}, outcome, copies)
    google._take_event(ctx, user, owner, {"id": "e3", "status": "confirmed", "start": {"date": "2026-04-01"},
                                          "end": {"date": "2026-04-02"}}, outcome, copies)
    google._take_event(ctx, user, owner, {"id": "unknown", "status": "cancelled"}, outcome, copies)
    (copy,) = copies.values()
    assert copy.fields["starts_at"] == datetime(2026, 3, 31, 9, tzinfo=UTC)
    assert copy.attendees == [{"person": pseudo.person("bob@example.org"), "partstat": "NEEDS-ACTION",
                               "role": "OPT-PARTICIPANT"}]
    assert [r.reason for r in outcome.rejections] == ["missing or unparseable start or end", "no iCalUID"]
    assert outcome.rejections[0].record_ref == pseudo.ref("google-calendar", "42", "e2")
    assert not outcome.cancelled and not outcome.declined


def test_own_response_is_authoritative_and_organizer_copy_preferred(pseudo):
    ann, bob = DirectoryUser("1", "ann@example.org"), DirectoryUser("2", "bob@example.org")
    ctx = PullContext(client=None, pseudo=pseudo, state={}, window=WINDOW, users=[bob, ann])
    outcome, copies = PullOutcome(), {}

    def item(owner_address, bob_says, start="2026-03-31T09:00:00Z"):
        return {"id": "e1", "status": "confirmed", "iCalUID": "u1", "start": {"dateTime": start},
                "end": {"dateTime": "2026-03-31T10:00:00Z"},
                "organizer": {"email": "ann@example.org", **({"self": True} if owner_address == "ann@example.org" else {})},
                "attendees": [{"email": "ann@example.org", "organizer": True, "responseStatus": "accepted"},
                              {"email": "bob@example.org", "responseStatus": bob_says,
                               **({"self": True} if owner_address == "bob@example.org" else {})}]}

    # Bob's calendar already has his new answer; the organizer's copy still shows the old one.
    google._take_event(ctx, bob, pseudo.person(bob.address), item("bob@example.org", "declined"), outcome, copies)
    google._take_event(ctx, ann, pseudo.person(ann.address), item("ann@example.org", "accepted"), outcome, copies)
    (copy,) = copies.values()
    assert copy.from_organizer
    assert copy.own[pseudo.person(bob.address)]["partstat"] == "DECLINED"


# ------------------------------------------------------------------------------ leaks


def test_emulator_serves_content_unless_masked(emu):
    """So that the leak scan means something: content is there to leak."""
    client = ApiClient("google", emu.base("google"), token=TOKEN, sleep=lambda _: None)
    ann = emu.org.person("ann").address
    _, listing = client.get(f"/gmail/v1/users/{ann}/messages")
    _, full = client.get(f"/gmail/v1/users/{ann}/messages/{listing['messages'][0]['id']}")
    assert "Body-Marker" in full["snippet"]
    assert any(h["name"] == "Subject" for h in full["payload"]["headers"])
    _, events = client.get(f"/calendar/v3/calendars/{ann}/events", {"singleEvents": "true"})
    assert events["items"][0]["summary"].startswith("Subject-Marker")
    _, users = client.get("/admin/directory/v1/users", {"customer": "my_customer"})
    assert users["users"][0]["name"]["fullName"] == emu.org.people[0].name


def test_nothing_identifying_leaves_in_rows_rejections_or_state(emu, pseudo, caplog):
    caplog.set_level(logging.DEBUG)
    s = Session(emu, pseudo)
    outcomes = [s.pull(kind) for kind in ("people", "email", "calendar")]
    emu.org.add_email(Email("<m6.curlew@example.org>", "ann", ["bob"], [], W15 + timedelta(days=4, hours=9),
                            "Subject-Marker-Curlew", "Body-Marker-Curlew"))
    emu.org.cancel_meeting("standup-1")
    outcomes += [s.pull("email"), s.pull("calendar")]
    emu.state["google_expired"] = True
    outcomes += [s.pull("email"), s.pull("calendar")]
    emu.state["google_metadata_scope"] = True
    outcomes += [s.pull("email", window=WINDOW, explicit=True)]

    text = repr([(o.rows, o.rejections, o.cancelled, o.declined, o.unjoined) for o in outcomes])
    text += repr(s.state) + caplog.text
    markers = leak_markers(emu.org)
    assert "Body-Marker-Curlew" in markers
    found = [m for m in markers if m.lower() in text.lower()]
    assert found == []
    assert all("@" not in k + v for kind in s.state.values() for k, v in kind.items())

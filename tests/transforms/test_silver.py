"""Bronze -> silver on tiny inline bronze tables; every expected value is written by hand."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from jobs.config import TieRules
from jobs.transforms import silver
from schemas import bronze
from schemas import silver as silver_schemas

RULES = TieRules()
MON = date(2024, 3, 4)  # ISO week of 4-10 March 2024
NEXT_MON = date(2024, 3, 11)
EXT = "x_0123456789abcdef"  # an external domain


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def _provenance(record_id: str, source: str) -> dict:
    return {
        "record_id": record_id, "source": source, "pulled_at": _utc(2024, 3, 12),
        "run_id": "run-1", "key_version": "k1", "file_ref": None,
    }


def _events_by_id(events_df) -> dict:
    return {
        r["event_id"]: (
            r["kind"], r["week_start"], r["actor"], tuple(sorted(r["participants"])),
            r["n_participants"], r["is_broadcast"], r["is_cancelled"], r["forms_ties"],
        )
        for r in events_df.collect()
    }


def _ties(interactions_df) -> list[tuple]:
    return sorted(
        (r["event_id"], r["week_start"], r["source"], r["kind"], r["src"], r["dst"],
         round(r["weight"], 12), r["meeting_minutes"])
        for r in interactions_df.collect()
    )


# email ----------------------------------------------------------------------------------


def _email(record_id, sent_at, sender, to, cc=(), bcc=(), n=None) -> dict:
    to, cc, bcc = list(to), list(cc), list(bcc)
    return {
        **_provenance(record_id, "email"), "message_ref": None, "thread_ref": None,
        "sent_at": sent_at, "sender": sender, "to": to, "cc": cc, "bcc": bcc,
        # as the parser counts: distinct To + Cc other than the sender (Bcc forms no ties)
        "n_recipients": len(set(to + cc) - {sender}) if n is None else n,
    }


def test_email_events_and_interactions(spark):
    many = [f"p_r{i:02d}" for i in range(30)]
    rows = [
        # 2 To + 1 external Cc: 1/3 to each internal recipient, nothing to the domain
        _email("e1", _utc(2024, 3, 5, 9), "p_ann", ["p_bob", "p_cat"], cc=[EXT]),
        # Sunday 23:30 UTC belongs to the week that started the previous Monday;
        # the sender copies herself: no self-tie
        _email("e2", _utc(2024, 3, 10, 23, 30), "p_ann", ["p_dan"], cc=["p_ann"]),
        # 30 recipients: a broadcast, load only
        _email("e3", _utc(2024, 3, 6, 12), "p_bob", many),
        # Monday 00:00 UTC opens the next week
        _email("e4", _utc(2024, 3, 11, 0, 0), "p_cat", ["p_ann"]),
        # no recipient at all (e.g. only undisclosed ones that could not be parsed)
        _email("e5", _utc(2024, 3, 7, 8), "p_eve", [], n=0),
    ]
    bronze_df = spark.createDataFrame(rows, bronze.EMAIL)
    events_df = silver.email_events(bronze_df, RULES)
    interactions_df = silver.interactions(events_df, RULES)
    assert events_df.columns == [f.name for f in silver_schemas.EVENTS]
    assert interactions_df.columns == [f.name for f in silver_schemas.INTERACTIONS]
    events = _events_by_id(events_df)
    ties = _ties(interactions_df)

    assert events == {
        "e1": ("email", MON, "p_ann", ("p_bob", "p_cat", EXT), 3, False, False, True),
        "e2": ("email", MON, "p_ann", ("p_dan",), 1, False, False, True),
        "e3": ("email", MON, "p_bob", tuple(many), 30, True, False, False),
        "e4": ("email", NEXT_MON, "p_cat", ("p_ann",), 1, False, False, True),
        "e5": ("email", MON, "p_eve", (), 0, False, False, False),
    }
    third = round(1 / 3, 12)
    assert ties == [
        ("e1", MON, "email", "email", "p_ann", "p_bob", third, 0.0),
        ("e1", MON, "email", "email", "p_ann", "p_cat", third, 0.0),
        # weight 1 / n_recipients: the sender's copy to herself is not a recipient
        ("e2", MON, "email", "email", "p_ann", "p_dan", 1.0, 0.0),
        ("e4", NEXT_MON, "email", "email", "p_cat", "p_ann", 1.0, 0.0),
    ]


# calendar -------------------------------------------------------------------------------


def _attendee(person, partstat="ACCEPTED"):
    return {"person": person, "partstat": partstat, "role": "REQ-PARTICIPANT"}


def _meeting(record_id, starts_at, minutes, organizer, attendees, status="CONFIRMED", all_day=False):
    return {
        **_provenance(record_id, "calendar"), "event_ref": f"ref-{record_id}",
        "starts_at": starts_at, "ends_at": starts_at, "duration_minutes": float(minutes),
        "organizer": organizer, "attendees": attendees, "status": status,
        "is_recurring": False, "is_all_day": all_day,
    }


def test_meeting_events_and_interactions(spark):
    rows = [
        # organizer + 2 accepted + 1 tentative present, 1 declined absent: 4 people, 90 min
        _meeting("m1", _utc(2024, 3, 6, 14), 90, "p_ann", [
            _attendee("p_bob"), _attendee("p_cat"), _attendee("p_dan", "DECLINED"),
            _attendee("p_eve", "TENTATIVE"),
        ]),
        # cancelled (lower-case status as some servers write it)
        _meeting("m2", _utc(2024, 3, 7, 10), 60, "p_bob", [_attendee("p_ann"), _attendee("p_cat")],
                 status="cancelled"),
        # all-day entry: load only
        _meeting("m3", _utc(2024, 3, 8), 1440, "p_cat", [_attendee("p_dan")], all_day=True),
        # no organizer, no status, one attendee without PARTSTAT: the first attendee acts
        _meeting("m4", _utc(2024, 3, 8, 9), 30, None, [
            _attendee("p_dan"), _attendee("p_fay"), _attendee("p_eve", None),
        ], status=None),
    ]
    bronze_df = spark.createDataFrame(rows, bronze.CALENDAR)
    events_df = silver.meeting_events(bronze_df, RULES)
    events = _events_by_id(events_df)
    ties = _ties(silver.interactions(events_df, RULES))

    assert events == {
        "m1": ("meeting", MON, "p_ann", ("p_bob", "p_cat", "p_eve"), 3, False, False, True),
        "m2": ("meeting", MON, "p_bob", ("p_ann", "p_cat"), 2, False, True, False),
        "m3": ("meeting", MON, "p_cat", ("p_dan",), 1, False, False, False),
        "m4": ("meeting", MON, "p_dan", ("p_fay",), 1, False, False, True),
    }
    present = ["p_ann", "p_bob", "p_cat", "p_eve"]
    expected_m1 = [
        ("m1", MON, "calendar", "meeting", a, b, 0.5, 90.0)  # 1.5 h / (4 - 1)
        for a in present for b in present if a != b
    ]
    assert len(expected_m1) == 12
    assert ties == sorted(expected_m1 + [
        ("m4", MON, "calendar", "meeting", "p_dan", "p_fay", 0.5, 30.0),  # 0.5 h / (2 - 1)
        ("m4", MON, "calendar", "meeting", "p_fay", "p_dan", 0.5, 30.0),
    ])


def test_meeting_without_organizer_or_attendees_is_dropped(spark):
    # A personal calendar entry: no ORGANIZER, no ATTENDEE (the calendar parser emits these as
    # organizer=None, attendees=[]). It has no actor, so it cannot be an event.
    rows = [
        _meeting("m1", _utc(2024, 3, 6, 14), 60, "p_ann", [_attendee("p_bob")]),
        _meeting("m9", _utc(2024, 3, 6, 16), 30, None, []),
    ]
    bronze_df = spark.createDataFrame(rows, bronze.CALENDAR)
    events = _events_by_id(silver.meeting_events(bronze_df, RULES))
    assert set(events) == {"m1"}


# chat -----------------------------------------------------------------------------------


def _chat(record_id, sender, channel_kind="channel", subtype=None, members=(), mentions=(),
          reply=False, parent=None, reactors=()):
    return {
        **_provenance(record_id, "chat"), "conversation_ref": "conv",
        "channel_kind": channel_kind, "sent_at": _utc(2024, 3, 5, 11), "sender": sender,
        "subtype": subtype, "members": list(members), "mentions": list(mentions),
        "thread_ref": "t1" if reply else None, "is_thread_reply": reply,
        "parent_author": parent, "reactors": list(reactors),
    }


def test_chat_events_and_interactions(spark):
    rows = [
        _chat("c1", "p_ann", "dm", members=["p_ann", "p_bob"]),
        # a channel post mentioning two people and the poster herself; one reaction
        _chat("c2", "p_bob", mentions=["p_cat", "p_dan", "p_bob"], reactors=["p_ann"]),
        _chat("c3", "p_cat", reply=True, parent="p_bob"),
        # system message: dropped with its reactions even though it names someone
        _chat("c4", "p_eve", subtype="channel_join", mentions=["p_ann"], reactors=["p_fay"]),
        # bot post (no sender): dropped
        _chat("c5", None, subtype="bot_message", mentions=["p_ann"]),
        # a post that addresses nobody; the poster reacts to herself, another person reacts
        _chat("c6", "p_dan", reactors=["p_dan", "p_eve"]),
    ]
    bronze_df = spark.createDataFrame(rows, bronze.CHAT)
    events_df = silver.chat_events(bronze_df, RULES)
    events = _events_by_id(events_df)
    ties = _ties(silver.interactions(events_df, RULES))

    assert events == {
        "c1": ("dm", MON, "p_ann", ("p_bob",), 1, False, False, True),
        "c2": ("channel_post", MON, "p_bob", ("p_cat", "p_dan"), 2, False, False, True),
        "c2:reaction:0": ("reaction", MON, "p_ann", ("p_bob",), 1, False, False, True),
        "c3": ("thread_reply", MON, "p_cat", ("p_bob",), 1, False, False, True),
        "c6": ("channel_post", MON, "p_dan", (), 0, False, False, False),
        "c6:reaction:0": ("reaction", MON, "p_dan", (), 0, False, False, False),
        "c6:reaction:1": ("reaction", MON, "p_eve", ("p_dan",), 1, False, False, True),
    }
    assert ties == [
        ("c1", MON, "chat", "dm", "p_ann", "p_bob", 1.0, 0.0),
        ("c2", MON, "chat", "channel_post", "p_bob", "p_cat", 0.5, 0.0),
        ("c2", MON, "chat", "channel_post", "p_bob", "p_dan", 0.5, 0.0),
        ("c2:reaction:0", MON, "chat", "reaction", "p_ann", "p_bob", 0.25, 0.0),
        ("c3", MON, "chat", "thread_reply", "p_cat", "p_bob", 1.0, 0.0),
        ("c6:reaction:1", MON, "chat", "reaction", "p_eve", "p_dan", 0.25, 0.0),
    ]


# people ---------------------------------------------------------------------------------


def test_people_keeps_the_latest_roster_row(spark):
    def person(record_id, person_id, pulled_at, department, hire_date=None):
        return {
            **_provenance(record_id, "people"), "pulled_at": pulled_at, "person": person_id,
            "department": department, "team": None, "manager": None, "location": None,
            "hire_date": hire_date, "timezone": None,
        }

    rows = [
        person("r1", "p_ann", _utc(2024, 1, 1), "Sales", date(2020, 1, 6)),
        person("r2", "p_ann", _utc(2024, 2, 1), "Eng", date(2020, 1, 6)),
        person("r4", "p_bob", _utc(2024, 2, 1), "Ops"),
        person("r3", "p_bob", _utc(2024, 2, 1), "Legal"),  # same pull: smallest record_id wins
        person("r5", "p_cat", _utc(2024, 1, 1), None),
    ]
    result = silver.people(spark.createDataFrame(rows, bronze.PEOPLE)).collect()
    assert sorted((r["person"], r["department"], r["hire_date"]) for r in result) == [
        ("p_ann", "Eng", date(2020, 1, 6)),
        ("p_bob", "Legal", None),
        ("p_cat", None, None),
    ]


def test_people_roster_wins_for_the_fields_it_has_directories_fill_the_rest(spark):
    def person(record_id, person_id, pulled_at, origin, department, location, hire_date=None):
        return {
            **_provenance(record_id, "people"), "pulled_at": pulled_at, "person": person_id,
            "department": department, "team": None, "manager": None, "location": location,
            "hire_date": hire_date, "timezone": None, "origin": origin,
        }

    rows = [
        # Roster has the department but no location: the directory fills the location only.
        person("r1", "p_ann", _utc(2024, 1, 1), "roster", "Eng", None),
        person("g1", "p_ann", _utc(2024, 3, 1), "google", "Engineering (dir)", "Tower A", date(2020, 1, 6)),
        # Two directory pulls: the newer one stands for that origin.
        person("m1", "p_bob", _utc(2024, 1, 1), "msgraph", "Ops", "Old Floor"),
        person("m2", "p_bob", _utc(2024, 2, 1), "msgraph", "Sales", None),
        # The newest roster row cleared the location: an older roster value does not come back.
        person("r2", "p_cat", _utc(2024, 1, 1), "roster", "Legal", "Basement"),
        person("r3", "p_cat", _utc(2024, 2, 1), "roster", "Legal", None),
        person("r9", "p_dan", _utc(2024, 2, 1), None, "Finance", None),  # no origin: roster
        person("m9", "p_dan", _utc(2024, 3, 1), "msgraph", "Directory Finance", None),
    ]
    result = silver.people(spark.createDataFrame(rows, bronze.PEOPLE)).collect()
    assert sorted((r["person"], r["department"], r["location"], r["hire_date"]) for r in result) == [
        ("p_ann", "Eng", "Tower A", date(2020, 1, 6)),
        ("p_bob", "Sales", None, None),
        ("p_cat", "Legal", None, None),
        ("p_dan", "Finance", None, None),
    ]


def test_meeting_with_26_attendees_is_a_broadcast(spark):
    # docs/metrics.md: the organizer is an attendee (weight = hours / (n_attendees - 1)
    # over organizer + present attendees) and "meetings above 25 attendees form no ties".
    # Organizer + 25 accepted = 26 attendees: a broadcast. Organizer + 24 = 25: not one.
    big = [_attendee(f"p_g{i:02d}") for i in range(25)]
    rows = [
        _meeting("m26", _utc(2024, 3, 6, 14), 60, "p_ann", big),
        _meeting("m25", _utc(2024, 3, 6, 16), 60, "p_bob", big[:24]),
    ]
    events_df = silver.meeting_events(spark.createDataFrame(rows, bronze.CALENDAR), RULES)
    flags = {r["event_id"]: (r["is_broadcast"], r["forms_ties"]) for r in events_df.collect()}
    assert flags == {"m26": (True, False), "m25": (False, True)}

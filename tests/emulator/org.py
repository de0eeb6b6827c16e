"""The fictional organisation every emulated API serves, in one vendor-neutral model.

Every record carries ``seq``, the org-wide change number of its last change, and removed ones
keep ``removed_seq``: delta links, Gmail history ids, Calendar sync tokens and Slack
watermarks are all "what changed after seq N", so a second pass sees only what a test changed.

Names, subjects, bodies, channel names and message text are unique marker strings
(``LEAK_MARKERS``): the leak scan looks for every one of them in the lake.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

UTC = timezone.utc
DOMAIN = "example.org"
W14 = datetime(2026, 3, 30, tzinfo=UTC)  # Monday of 2026-W14
W15 = W14 + timedelta(weeks=1)


@dataclass
class Person:
    key: str
    name: str  # display name: must never reach the lake
    address: str  # canonical mail; sources show it in other cases (see *_email fields)
    department: str
    location: str
    hire_date: date
    manager: str | None  # key
    graph_id: str
    upn: str  # Graph userPrincipalName: differs from mail for some people
    graph_mail: str  # Graph `mail` as the directory returns it (case varies)
    google_id: str
    slack_id: str
    slack_email: str | None  # None: a Slack user whose profile has no e-mail


@dataclass
class Email:
    message_id: str
    sender: str  # person key, or an external address
    to: list[str]
    cc: list[str]
    sent_at: datetime
    subject: str
    body: str
    seq: int = 0
    # Which mailboxes hold a copy: the sender's sent items and each internal recipient's inbox.


@dataclass
class Meeting:
    """One occurrence. A series is several occurrences sharing ``uid`` (and ``series_id``)."""

    uid: str
    occurrence_id: str  # vendor-neutral id of this occurrence (Google instance id, Graph item)
    organizer: str  # person key or external address
    attendees: dict[str, str]  # key or address -> accepted / tentative / declined / none
    start: datetime
    end: datetime
    subject: str
    body: str
    series_id: str | None = None
    original_start: datetime | None = None
    all_day: bool = False
    cancelled: bool = False
    seq: int = 0
    removed_seq: int | None = None  # deleted outright (Graph @removed)


@dataclass
class ChatMessage:
    ts: str
    user: str | None  # person key; None for bot/system
    text: str
    thread_ts: str | None = None
    reply_count: int = 0
    reactions: dict[str, list[str]] = field(default_factory=dict)
    subtype: str | None = None
    seq: int = 0


@dataclass
class Channel:
    id: str
    name: str  # content: must never reach the lake
    kind: str  # channel, private_channel, group_dm, dm
    members: list[str]
    messages: list[ChatMessage] = field(default_factory=list)


@dataclass
class Org:
    people: list[Person]
    emails: list[Email]
    meetings: list[Meeting]
    channels: list[Channel]
    seq: int = 0

    def person(self, key: str) -> Person:
        return next(p for p in self.people if p.key == key)

    def is_person(self, who: str) -> bool:
        return any(p.key == who for p in self.people)

    def address(self, who: str) -> str:
        return self.person(who).address if self.is_person(who) else who

    def tick(self) -> int:
        self.seq += 1
        return self.seq

    # ------------------------------------------------------------ changes between passes
    def add_email(self, email: Email) -> Email:
        email.seq = self.tick()
        self.emails.append(email)
        return email

    def add_meeting(self, meeting: Meeting) -> Meeting:
        meeting.seq = self.tick()
        self.meetings.append(meeting)
        return meeting

    def cancel_meeting(self, occurrence_id: str) -> Meeting:
        meeting = next(m for m in self.meetings if m.occurrence_id == occurrence_id)
        meeting.cancelled = True
        meeting.seq = self.tick()
        return meeting

    def remove_meeting(self, occurrence_id: str) -> Meeting:
        meeting = next(m for m in self.meetings if m.occurrence_id == occurrence_id)
        meeting.removed_seq = self.tick()
        return meeting

    def respond(self, occurrence_id: str, who: str, response: str) -> Meeting:
        meeting = next(m for m in self.meetings if m.occurrence_id == occurrence_id)
        meeting.attendees[who] = response
        meeting.seq = self.tick()
        return meeting

    def post(self, channel_id: str, message: ChatMessage) -> ChatMessage:
        channel = next(c for c in self.channels if c.id == channel_id)
        message.seq = self.tick()
        channel.messages.append(message)
        if message.thread_ts and message.thread_ts != message.ts:
            parent = next(m for m in channel.messages if m.ts == message.thread_ts)
            parent.reply_count += 1
        return message


def _person(i: int, key: str, first: str, last: str, department: str, manager: str | None,
            hire: date, *, graph_mail: str | None = None, upn: str | None = None,
            slack_email: str | None = "same") -> Person:
    address = f"{first.lower()}.{last.lower()}@{DOMAIN}"
    return Person(
        key=key,
        name=f"{first} {last}",
        address=address,
        department=department,
        location=f"Floor-{i % 3}-Tower-Zircon",
        hire_date=hire,
        manager=manager,
        graph_id=f"00000000-0000-4000-8000-{i:012d}",
        upn=upn or address,
        graph_mail=graph_mail or address,
        google_id=f"1{i:020d}",
        slack_id=f"U0{i:07d}",
        slack_email=address if slack_email == "same" else slack_email,
    )


def make_org() -> Org:
    """Seven people in two departments, an outside partner, two weeks of activity."""
    people = [
        # Mixed-case Graph mail and a UPN on another domain: identity must come from `mail`.
        _person(1, "ann", "Annabelle", "Quixotica", "Engineering", None, date(2024, 1, 8),
                graph_mail="Annabelle.Quixotica@Example.ORG", upn="aquix@example.onmicrosoft.com"),
        _person(2, "bob", "Bartholomew", "Zanzibarre", "Engineering", "ann", date(2025, 6, 2)),
        _person(3, "cat", "Catriona", "Vellumshade", "Engineering", "ann", date(2026, 3, 2),
                slack_email="CATRIONA.VELLUMSHADE@example.org"),
        _person(4, "dan", "Dashiell", "Ombrewick", "Sales", None, date(2023, 9, 4)),
        _person(5, "eve", "Evangeline", "Thistlewaite", "Sales", "dan", date(2025, 1, 6)),
        _person(6, "fay", "Fenella", "Brightwater", "Sales", "dan", date(2026, 2, 2)),
        # A Slack user without an e-mail in her profile: her messages cannot be joined.
        _person(7, "gus", "Gustavus", "Mirrorvane", "Sales", "dan", date(2022, 5, 9), slack_email=None),
    ]
    partner = "paloma.partner@vendor-firm.example"

    def at(week: datetime, day: int, hour: int, minute: int = 0) -> datetime:
        return week + timedelta(days=day, hours=hour, minutes=minute)

    emails = [
        Email("<m1.kestrel@example.org>", "ann", ["bob", "cat"], [], at(W14, 0, 9),
              "Subject-Marker-Kestrel", "Body-Marker-Kestrel about the reorg"),
        Email("<m2.heron@example.org>", "bob", ["ann"], ["dan"], at(W14, 1, 14, 30),
              "Subject-Marker-Heron", "Body-Marker-Heron"),
        Email("<m3.osprey@vendor-firm.example>", partner, ["eve", "fay"], [], at(W14, 2, 8),
              "Subject-Marker-Osprey", "Body-Marker-Osprey from outside"),
        Email("<m4.plover@example.org>", "eve", ["dan", "gus"], ["ann"], at(W15, 0, 10),
              "Subject-Marker-Plover", "Body-Marker-Plover"),
        Email("<m5.avocet@example.org>", "fay", ["eve"], [], at(W15, 3, 16),
              "Subject-Marker-Avocet", "Body-Marker-Avocet"),
    ]

    meetings = [
        Meeting("uid-standup-series@example.org", "standup-1", "ann",
                {"ann": "accepted", "bob": "accepted", "cat": "tentative"},
                at(W14, 1, 9), at(W14, 1, 9, 30), "Subject-Marker-Standup", "Body-Marker-Standup",
                series_id="standup", original_start=at(W14, 1, 9)),
        Meeting("uid-standup-series@example.org", "standup-2", "ann",
                {"ann": "accepted", "bob": "accepted", "cat": "declined"},
                at(W15, 1, 9), at(W15, 1, 9, 30), "Subject-Marker-Standup", "Body-Marker-Standup",
                series_id="standup", original_start=at(W15, 1, 9)),
        Meeting("uid-pipeline-review@example.org", "review-1", "dan",
                {"dan": "accepted", "eve": "accepted", "fay": "accepted", "ann": "accepted"},
                at(W14, 3, 13), at(W14, 3, 14), "Subject-Marker-Review", "Body-Marker-Review"),
        # Organised by an outsider: it still counts (its internal attendees meet).
        Meeting("uid-partner-call@vendor-firm.example", "partner-1", partner,
                {partner: "accepted", "eve": "accepted", "gus": "accepted"},
                at(W15, 2, 15), at(W15, 2, 16), "Subject-Marker-Partner", "Body-Marker-Partner"),
        Meeting("uid-offsite@example.org", "offsite-1", "dan",
                {"dan": "accepted", "eve": "accepted"},
                datetime(2026, 4, 9, tzinfo=UTC), datetime(2026, 4, 10, tzinfo=UTC),
                "Subject-Marker-Offsite", "Body-Marker-Offsite", all_day=True),
    ]

    channels = [
        Channel("C0000001", "channel-marker-zephyr", "channel", ["ann", "bob", "cat", "dan", "gus"], [
            ChatMessage("1774861200.000100", "ann", "Text-Marker-One hello <@U00000002> and <!here>",
                        thread_ts="1774861200.000100", reply_count=2,
                        reactions={"tada": ["bob", "cat"]}),
            ChatMessage("1774861260.000200", "bob", "Text-Marker-Two reply",
                        thread_ts="1774861200.000100", reactions={"eyes": ["ann"]}),
            ChatMessage("1774861320.000300", "cat", "Text-Marker-Three reply <@U00000004>",
                        thread_ts="1774861200.000100"),
            ChatMessage("1774861380.000400", "dan", "Text-Marker-Join", subtype="channel_join"),
            ChatMessage("1774864800.000500", "gus", "Text-Marker-Gus unjoinable"),
        ]),
        Channel("G0000001", "private-marker-nimbus", "private_channel", ["dan", "eve", "fay"], [
            ChatMessage("1774947600.000100", "eve", "Text-Marker-Private <@U00000006>"),
        ]),
        Channel("D0000001", "", "dm", ["ann", "dan"], [
            ChatMessage("1775034000.000100", "dan", "Text-Marker-DM-One"),
            ChatMessage("1775034060.000200", "ann", "Text-Marker-DM-Two"),
        ]),
        Channel("M0000001", "mpdm-marker-cirrus", "group_dm", ["bob", "eve", "fay"], [
            ChatMessage("1775466000.000100", "fay", "Text-Marker-Group"),  # 2026-W15
        ]),
    ]
    org = Org(people, emails, meetings, channels)
    for record in [*emails, *meetings, *(m for c in channels for m in c.messages)]:
        record.seq = org.tick()
    return org


def leak_markers(org: Org) -> list[str]:
    """Every string that must never reach the lake: names, addresses, subjects, bodies,
    channel names, message text, raw ids."""
    out = []
    for p in org.people:
        out += [p.name, *p.name.split(), p.address, p.graph_mail, p.upn]
        if p.slack_email:
            out.append(p.slack_email)
    out.append("paloma.partner@vendor-firm.example")
    for e in org.emails:
        out += [e.subject, e.body, e.message_id.strip("<>")]
    for m in org.meetings:
        out += [m.subject, m.body, m.uid]
    for c in org.channels:
        if c.name:
            out.append(c.name)
        out += [msg.text.split()[0] for msg in c.messages]
    return sorted(set(out))

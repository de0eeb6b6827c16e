"""A deterministic synthetic organisation, written as REAL export formats into a landing folder.

``write_landing(landing, spec)`` writes::

    landing/people/roster.csv                      HR roster (one row per person)
    landing/email/<department>.mbox                mbox files (stdlib ``mailbox`` + ``EmailMessage``)
    landing/calendar/<department>.ics              iCalendar files (``icalendar``, with VTIMEZONEs)
    landing/chat/slack/northwind-export/           an official-shaped Slack export folder:
        users.json channels.json dms.json mpims.json
        <channel name>/<YYYY-MM-DD>.json           one folder per public channel
        <D... id>/<YYYY-MM-DD>.json                one folder per DM
        <mpdm-...-1>/<YYYY-MM-DD>.json             one folder per group DM (see MPIM_FOLDER_BY)

Shape of the organisation: a CEO, nine departments of unequal size (Engineering large, HR
small, Legal with 3 people so that small-group suppression has something to do), teams of
4-10 people each with a lead, leads reporting to department heads, heads to the CEO; four
cities with their IANA zones; about 5% of people hired during or just before the generated
weeks. Activity is heavy-tailed (a lognormal multiplier per person), mostly within team and
department, with a few "brokers" who hold many cross-department ties.

Every source also carries the things real exports carry and the pipeline must cope with:
subjects, bodies, titles and display names (filler the pipeline must ignore), broadcasts to
more than 25 people, external addresses, the same message copied into two mailboxes, and a
handful of deliberately broken records for the quarantine path (see ``BROKEN``).

Everything is a function of the spec: randomness comes from ``random.Random`` and
``numpy.random.default_rng`` seeded from ``spec.seed``, no wall clock is read, no set of
strings is iterated, and the mbox ``From_`` lines carry the message's own date. Writing the
same spec twice gives byte-identical files.
"""

from __future__ import annotations

import csv
import email.policy
import io
import json
import mailbox
import math
import random
import shutil
import textwrap
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from icalendar import Calendar, Event, Timezone, vCalAddress

UTC = timezone.utc

ROSTER_HEADER = ("email", "department", "team", "manager_email", "location", "hire_date", "timezone")
SLACK_EXPORT_DIR = ("chat", "slack", "northwind-export")
# How group-DM folders are named. Slack's own exports name channel and group-DM folders after
# the conversation's name ("mpdm-a--b--c-1") and DM folders after the id ("D..."); set "id" to
# name group-DM folders after their "G..." id instead. Parsers should accept both.
MPIM_FOLDER_BY = "name"
MIN_PEOPLE = 50
ACTIVITY_SIGMA = 1.0  # spread of the lognormal per-person activity multiplier (heavy tail)

# Deliberately broken records written per source (what the quarantine path should see).
BROKEN = {
    "email": 3,  # two messages without a Date header, one with an unparseable Date
    "calendar": 2,  # one event with DTEND before DTSTART, one with an unknown TZID
    "chat": 1,  # one truncated Slack day file (invalid JSON)
    "people": 0,
}

CITIES = {
    "London": "Europe/London",
    "New York": "America/New_York",
    "Berlin": "Europe/Berlin",
    "Singapore": "Asia/Singapore",
}
_TZ = {tz: ZoneInfo(tz) for tz in CITIES.values()}
_TZ_LABEL = {
    "Europe/London": "Greenwich Mean Time",
    "America/New_York": "Eastern Standard Time",
    "Europe/Berlin": "Central European Time",
    "Asia/Singapore": "Singapore Standard Time",
}

# name, share of the headcount left after Legal, minimum size, city weights
DEPARTMENTS = (
    ("Engineering", 0.34, 5, {"London": 3, "Berlin": 3, "Singapore": 2, "New York": 1}),
    ("Sales", 0.16, 5, {"New York": 4, "London": 3, "Singapore": 2}),
    ("Support", 0.12, 5, {"Singapore": 3, "London": 3, "New York": 3}),
    ("Product", 0.10, 5, {"London": 5, "Berlin": 3, "New York": 2}),
    ("Marketing", 0.09, 5, {"New York": 1, "London": 1}),
    ("Operations", 0.09, 9, {"London": 6, "Berlin": 2, "New York": 2}),  # + the Executive Office
    ("Finance", 0.06, 5, {"London": 7, "New York": 3}),
    ("HR", 0.04, 5, {"London": 1}),
)
LEGAL = ("Legal", 3, {"London": 2, "New York": 1})
EXEC_TEAM = "Executive Office"
EXEC_TEAM_SIZE = 4  # the CEO and three staff, counted in Operations

TEAM_NAMES = {
    "Engineering": [
        "Platform", "Payments", "Mobile", "Data", "Search", "Infrastructure", "Web", "Security",
        "Reliability", "Identity", "Tooling", "Integrations", "Checkout", "Analytics",
        "Messaging", "Storage", "Billing", "Notifications",
    ],
    "Sales": [
        "EMEA Sales", "Americas Sales", "APAC Sales", "Enterprise Accounts", "Inside Sales",
        "Sales Engineering", "Renewals", "Channel Sales",
    ],
    "Support": [
        "Tier 1 Support", "Tier 2 Support", "Customer Success", "Support Operations",
        "Onboarding", "Escalations", "Knowledge Base",
    ],
    "Product": ["Core Product", "Growth Product", "Design", "User Research", "Product Analytics", "Pricing"],
    "Marketing": ["Brand", "Demand Generation", "Content", "Product Marketing", "Events", "Communications"],
    "Operations": ["Business Operations", "Facilities", "IT", "Procurement", "Workplace"],
    "Finance": ["Accounting", "FP&A", "Payroll", "Treasury", "Tax"],
    "HR": ["People Partners", "Talent Acquisition", "Learning", "Total Rewards"],
    "Legal": ["Legal"],
}

FIRST_NAMES = (
    "Aisha", "Alex", "Amara", "Ana", "Andrei", "Anika", "Arjun", "Ben", "Carla", "Chen", "Chloe",
    "Daniel", "Dmitri", "Elena", "Emeka", "Emma", "Fatima", "Felix", "Grace", "Hana", "Hugo",
    "Ines", "Isaac", "Jamal", "Jana", "Javier", "Jin", "Joao", "Julia", "Kai", "Kavya", "Kenji",
    "Laila", "Lars", "Leah", "Leon", "Lina", "Lucas", "Maya", "Mei", "Mia", "Mohammed", "Nadia",
    "Naveen", "Nia", "Noah", "Olga", "Omar", "Oscar", "Paula", "Priya", "Rafael", "Rahul", "Rosa",
    "Ruth", "Sami", "Sara", "Sofia", "Tariq", "Theo", "Tom", "Uma", "Valentina", "Victor", "Wei",
    "Yara", "Yusuf", "Zara", "Zoe", "Ivan", "Nora", "Pedro", "Hiro", "Esther", "Kofi", "Marta",
)
LAST_NAMES = (
    "Adams", "Ahmed", "Alvarez", "Andersen", "Baker", "Bauer", "Becker", "Brown", "Campbell",
    "Chen", "Clarke", "Costa", "Cruz", "Das", "Dubois", "Edwards", "Evans", "Fischer", "Fernandes",
    "Garcia", "Gupta", "Hansen", "Hoffmann", "Hughes", "Ibrahim", "Ito", "Jensen", "Johnson",
    "Kaur", "Khan", "Kim", "Klein", "Kowalski", "Kumar", "Lee", "Lim", "Lopez", "Martin",
    "Meyer", "Morris", "Murphy", "Nakamura", "Nguyen", "Novak", "O'Brien", "Okafor", "Olsen",
    "Patel", "Perez", "Petrov", "Quinn", "Rossi", "Santos", "Schmidt", "Schneider", "Silva",
    "Singh", "Smith", "Suzuki", "Tan", "Taylor", "Thomas", "Walker", "Wang", "Weber", "Williams",
    "Wong", "Wright", "Yamamoto", "Young", "Zhang", "Zimmermann", "Mensah", "Haddad", "Larsen",
)
EXTERNALS = (
    ("Dana Whitfield", "dana.whitfield@client.example", "America/Chicago"),
    ("Marco Bellini", "marco.bellini@client.example", "Europe/Rome"),
    ("Procurement Desk", "procurement@client.example", "America/Chicago"),
    ("Ravi Menon", "ravi.menon@client.example", "Asia/Kolkata"),
    ("Sophie Laurent", "sophie.laurent@partner.example", "Europe/Paris"),
    ("Greg Olafsson", "greg.olafsson@partner.example", "Atlantic/Reykjavik"),
    ("Partner Support", "support@partner.example", "Europe/Paris"),
    ("Lucia Moreno", "lucia.moreno@partner.example", "Europe/Madrid"),
)
LOREM = (
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut "
    "labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris "
    "nisi aliquip ex ea commodo consequat duis aute irure in reprehenderit voluptate velit esse "
    "cillum fugiat nulla pariatur excepteur sint occaecat cupidatat non proident sunt culpa qui "
    "officia deserunt mollit anim id est laborum roadmap sync review draft budget launch quarter "
    "update notes agenda follow up deck numbers plan"
).split()
REACTIONS = ("+1", "white_check_mark", "eyes", "tada", "pray", "joy", "heart", "raised_hands", "100")
PROJECTS = ("apollo", "borealis", "cobalt", "delta-migration", "ember", "fjord", "granite", "helix", "ion", "juniper")
_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@dataclass(frozen=True)
class DemoSpec:
    n_people: int = 300
    weeks: int = 4
    first_monday: date = date(2026, 3, 2)  # ISO week 2026-W10
    seed: int = 7
    domain: str = "northwind.example"

    def __post_init__(self) -> None:
        if self.n_people < MIN_PEOPLE:
            raise ValueError(f"n_people must be at least {MIN_PEOPLE} (nine departments, teams of 4+)")
        if self.weeks < 1:
            raise ValueError("weeks must be at least 1")
        if self.first_monday.weekday() != 0:
            raise ValueError("first_monday must be a Monday")

    @property
    def days(self) -> list[date]:
        return [self.first_monday + timedelta(days=i) for i in range(7 * self.weeks)]

    @property
    def workdays(self) -> list[date]:
        return [d for d in self.days if d.weekday() < 5]


# ---------------------------------------------------------------------------- organisation


@dataclass
class Person:
    idx: int
    first: str
    last: str
    email: str
    department: str
    team: str
    role: str  # ceo, head, lead, member
    city: str
    manager: int | None = None
    hire_date: date = date(2020, 1, 1)
    newcomer: bool = False
    broker: bool = False
    email_act: float = 1.0
    chat_act: float = 1.0
    meet_act: float = 1.0
    slack_id: str = ""

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    @property
    def tz(self) -> str:
        return CITIES[self.city]

    @property
    def zone(self) -> ZoneInfo:
        return _TZ[self.tz]


@dataclass
class Org:
    people: list[Person]
    departments: dict[str, list[int]]  # department -> members (roster order)
    teams: dict[str, list[int]]  # team -> members, lead first
    reports: dict[int, list[int]]  # manager -> direct reports
    brokers: list[int]
    ceo: int = 0


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _department_sizes(n: int) -> list[int]:
    rest = n - LEGAL[1]
    raw = [share * rest for _, share, _, _ in DEPARTMENTS]
    mins = [minimum for _, _, minimum, _ in DEPARTMENTS]
    sizes = [max(m, int(r)) for m, r in zip(mins, raw)]
    while sum(sizes) > rest:
        i = max((j for j in range(len(sizes)) if sizes[j] > mins[j]), key=lambda j: (sizes[j] - raw[j], -j))
        sizes[i] -= 1
    while sum(sizes) < rest:
        i = max(range(len(sizes)), key=lambda j: (raw[j] - sizes[j], -j))
        sizes[i] += 1
    return sizes


def _team_sizes(total: int, rng: random.Random) -> list[int]:
    """Split a headcount into teams of 4-10 (one smaller team when total < 4)."""
    if total < 4:
        return [total]
    k = math.ceil(total / 8)
    sizes = [4] * k
    for _ in range(total - 4 * k):
        open_ = [i for i in range(k) if sizes[i] < 10]
        sizes[rng.choice(open_)] += 1
    return sizes


def _random_day(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randint(0, (end - start).days))


def build_org(spec: DemoSpec) -> Org:
    rng = random.Random(f"{spec.seed}:org")
    nrng = np.random.default_rng([spec.seed, 1])
    people: list[Person] = []
    taken: dict[str, int] = {}

    def new_person(department: str, team: str, role: str, city: str, manager: int | None) -> Person:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        local = "".join(ch for ch in f"{first}.{last}".lower() if ch.isalnum() or ch == ".")
        count = taken.get(local, 0) + 1
        taken[local] = count
        if count > 1:
            local = f"{local}{count}"
        p = Person(len(people), first, last, f"{local}@{spec.domain}", department, team, role, city, manager)
        people.append(p)
        return p

    departments: dict[str, list[int]] = {}
    teams: dict[str, list[int]] = {}
    reports: dict[int, list[int]] = {}

    def add(p: Person) -> Person:
        departments.setdefault(p.department, []).append(p.idx)
        teams.setdefault(p.team, []).append(p.idx)
        if p.manager is not None:
            reports.setdefault(p.manager, []).append(p.idx)
        return p

    ceo = add(new_person("Operations", EXEC_TEAM, "ceo", "London", None))
    for _ in range(EXEC_TEAM_SIZE - 1):
        add(new_person("Operations", EXEC_TEAM, "member", "London", ceo.idx))

    plan = [(name, size, cities) for (name, _, _, cities), size in zip(DEPARTMENTS, _department_sizes(spec.n_people))]
    plan.append((LEGAL[0], LEGAL[1], LEGAL[2]))
    for name, size, cities in plan:
        headcount = size - (EXEC_TEAM_SIZE if name == "Operations" else 0)
        names = TEAM_NAMES[name]
        head: Person | None = None
        for t, team_size in enumerate(_team_sizes(headcount, rng)):
            team = names[t] if t < len(names) else f"{name} {t + 1}"
            team_city = _weighted(rng, cities)
            if head is None:
                lead = head = add(new_person(name, team, "head", team_city, ceo.idx))
            else:
                lead = add(new_person(name, team, "lead", team_city, head.idx))
            for _ in range(team_size - 1):
                city = team_city if rng.random() < 0.85 else _weighted(rng, cities)
                add(new_person(name, team, "member", city, lead.idx))

    # Hire dates: heads long-tenured, members skewed to recent years, ~5% newcomers.
    for p in people:
        if p.role == "ceo":
            p.hire_date = date(2011, 5, 16)
        elif p.role == "head":
            p.hire_date = _random_day(rng, date(2012, 1, 1), date(2019, 12, 31))
        elif p.role == "lead":
            p.hire_date = _random_day(rng, date(2014, 1, 1), date(2022, 12, 31))
        else:
            p.hire_date = spec.first_monday - timedelta(days=int(rng.triangular(21, 3650, 90)))
    candidates = [p.idx for p in people if p.role == "member" and p.team != EXEC_TEAM]
    newcomers = rng.sample(candidates, max(2, round(0.05 * spec.n_people)))
    before = [spec.first_monday - timedelta(days=k) for k in range(1, 15)]
    before = [d for d in before if d.weekday() < 5]
    for i, idx in enumerate(newcomers):
        people[idx].newcomer = True
        people[idx].hire_date = rng.choice(spec.workdays) if i % 2 == 0 else rng.choice(before)

    brokers = sorted(rng.sample([p.idx for p in people if p.role in ("member", "lead") and not p.newcomer],
                                max(2, round(0.03 * spec.n_people))))
    for idx in brokers:
        people[idx].broker = True

    # Heavy-tailed activity: one lognormal "busyness" per person, a little noise per channel.
    n = len(people)
    base = nrng.lognormal(0.0, ACTIVITY_SIGMA, n)
    boost = np.array([{"ceo": 1.0, "head": 1.5, "lead": 1.25}.get(p.role, 1.0) * (0.6 if p.newcomer else 1.0)
                      * (1.5 if p.broker else 1.0) for p in people])
    base = base * boost
    acts = {}
    for channel, sigma in (("email", 0.3), ("chat", 0.35), ("meet", 0.3)):
        a = base * nrng.lognormal(0.0, sigma, n)
        acts[channel] = a / a.mean()
    for p in people:
        p.email_act = float(acts["email"][p.idx])
        p.chat_act = float(acts["chat"][p.idx])
        p.meet_act = float(acts["meet"][p.idx])
    return Org(people, departments, teams, reports, brokers, ceo.idx)


class _Picker:
    """Who someone contacts: mostly their team, then department, manager and reports, some
    cross-department (brokers much more, and brokers attract cross-department contact)."""

    def __init__(self, org: Org, weight: list[float]):
        self.org = org
        self.people = org.people

        def pool(idxs: list[int]) -> tuple[list[int], list[float]]:
            cum, total = [], 0.0
            for i in idxs:
                total += weight[i]
                cum.append(total)
            return idxs, cum

        self.team = {t: pool(m) for t, m in org.teams.items()}
        self.dept = {d: pool(m) for d, m in org.departments.items()}
        everyone = [p.idx for p in org.people]
        self.outside = {d: pool([i for i in everyone if org.people[i].department != d]) for d in org.departments}
        self.brokers_outside = {d: [b for b in org.brokers if org.people[b].department != d] for d in org.departments}

    def pick(self, rng: random.Random, who: int, k: int, day: date, cross: float | None = None) -> list[int]:
        p = self.people[who]
        cross_p = cross if cross is not None else (0.45 if p.broker else 0.12)
        boss = ([p.manager] if p.manager is not None else []) + self.org.reports.get(who, [])
        chosen: list[int] = []
        for _ in range(12 * k):
            if len(chosen) >= k:
                break
            r = rng.random()
            if r < 0.10 and boss:
                c = rng.choice(boss)
            elif r < 0.10 + cross_p:
                brokers = self.brokers_outside[p.department]
                if brokers and rng.random() < 0.3:
                    c = rng.choice(brokers)
                else:
                    idxs, cum = self.outside[p.department]
                    c = rng.choices(idxs, cum_weights=cum)[0]
            elif r < 0.35 + cross_p:
                idxs, cum = self.dept[p.department]
                c = rng.choices(idxs, cum_weights=cum)[0]
            else:
                idxs, cum = self.team[p.team]
                c = rng.choices(idxs, cum_weights=cum)[0]
            if c == who or c in chosen or self.people[c].hire_date > day:
                continue
            chosen.append(c)
        return chosen


def _words(rng: random.Random, lo: int, hi: int) -> str:
    return " ".join(rng.choices(LOREM, k=rng.randint(lo, hi)))


def _sentence(rng: random.Random, lo: int = 4, hi: int = 12) -> str:
    return _words(rng, lo, hi).capitalize()


def _body(rng: random.Random) -> str:
    paragraphs = (". ".join(_sentence(rng) for _ in range(rng.randint(1, 3))) + "." for _ in range(rng.randint(1, 3)))
    return "\n\n".join(textwrap.fill(text, 72) for text in paragraphs) + "\n"


_HOURS = list(range(7, 20))
_HOUR_WEIGHTS = [1, 4, 8, 10, 9, 5, 7, 9, 9, 7, 5, 2, 1]


def _work_time(rng: random.Random, day: date, zone: ZoneInfo) -> datetime:
    hour = rng.choices(_HOURS, weights=_HOUR_WEIGHTS)[0]
    return datetime(day.year, day.month, day.day, hour, rng.randrange(60), rng.randrange(60), tzinfo=zone)


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


# -------------------------------------------------------------------------------- people


def _write_roster(landing: Path, org: Org) -> None:
    folder = landing / "people"
    folder.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(ROSTER_HEADER)
    for p in org.people:
        manager = org.people[p.manager].email if p.manager is not None else ""
        writer.writerow([p.email, p.department, p.team, manager, p.city, p.hire_date.isoformat(), p.tz])
    (folder / "roster.csv").write_bytes(buf.getvalue().encode("utf-8"))


# --------------------------------------------------------------------------------- email


@dataclass
class _Mail:
    mid: str
    sender: tuple[str, str]  # (display name, address)
    when: datetime | None  # aware, in the sender's zone; None: no Date header
    to: list[tuple[str, str]]
    cc: list[tuple[str, str]] = field(default_factory=list)
    subject: str = ""
    body: str = ""
    refs: list[str] = field(default_factory=list)  # References; the last is In-Reply-To
    boxes: list[str] = field(default_factory=list)  # mbox files (department slugs)
    raw_date: str | None = None  # an unparseable Date header, written as is


def _slug(department: str) -> str:
    return department.lower().replace(" ", "-")


def _generate_email(spec: DemoSpec, org: Org) -> tuple[list[_Mail], dict]:
    rng = random.Random(f"{spec.seed}:email")
    nrng = np.random.default_rng([spec.seed, 2])
    people = org.people
    picker = _Picker(org, [p.email_act for p in people])
    mails: list[_Mail] = []
    used_ids: dict[str, None] = {}

    def mid() -> str:
        while True:
            value = f"<{rng.getrandbits(64):016x}.{rng.getrandbits(24):06x}@{spec.domain}>"
            if value not in used_ids:
                used_ids[value] = None
                return value

    def who(i: int) -> tuple[str, str]:
        return people[i].name, people[i].email

    lam = np.array([p.email_act for p in people]) * 2.0  # originals; replies bring it to ~3/day
    window_end = datetime.combine(spec.days[-1], datetime.min.time(), UTC) + timedelta(hours=20)
    originals: list[tuple[_Mail, int, list[int], list[int]]] = []
    for day in spec.workdays:
        counts = nrng.poisson(lam)
        for p in people:
            if p.hire_date > day:
                continue
            for _ in range(int(counts[p.idx])):
                n_to = rng.choices((1, 2, 3, 4, 6), weights=(60, 20, 10, 6, 4))[0]
                n_cc = rng.randint(1, 2) if rng.random() < 0.25 else 0
                chosen = picker.pick(rng, p.idx, n_to + n_cc, day)
                if not chosen:
                    continue
                to, cc = chosen[:n_to], chosen[n_to:]
                mail = _Mail(mid(), who(p.idx), _work_time(rng, day, p.zone), [who(i) for i in to],
                             [who(i) for i in cc], _sentence(rng, 2, 7), _body(rng), [], [_slug(p.department)])
                mails.append(mail)
                originals.append((mail, p.idx, to, cc))
                # A thread of replies going back and forth (reply-all now and then).
                current, cur_sender, cur_to, cur_cc, prob = mail, p.idx, to, cc, 0.38
                while rng.random() < prob:
                    replier = rng.choices(cur_to, weights=[people[i].email_act for i in cur_to])[0]
                    delay = min(max(2.0, rng.lognormvariate(math.log(60), 1.2)), 2880.0)
                    when = (current.when + timedelta(minutes=delay)).astimezone(people[replier].zone)
                    if when >= window_end:
                        break  # the thread goes on after the generated weeks
                    reply_all = rng.random() < 0.3
                    reply_cc = [i for i in cur_to + cur_cc if i not in (replier, cur_sender)] if reply_all else []
                    reply = _Mail(mid(), who(replier), when, [who(cur_sender)], [who(i) for i in reply_cc],
                                  "Re: " + mail.subject, _body(rng), current.refs + [current.mid],
                                  [_slug(people[replier].department)])
                    mails.append(reply)
                    current, cur_sender, cur_to, cur_cc = reply, replier, [cur_sender], reply_cc
                    prob *= 0.7

    # Broadcasts: a weekly all-hands note from the CEO, a weekly department update per head.
    heads = [p for p in people if p.role == "head"]
    for w in range(spec.weeks):
        monday = spec.first_monday + timedelta(weeks=w)
        ceo = people[org.ceo]
        everyone = [who(p.idx) for p in people if p.idx != ceo.idx and p.hire_date <= monday]
        start = datetime(monday.year, monday.month, monday.day, 8, 30, tzinfo=ceo.zone)
        mails.append(_Mail(mid(), who(ceo.idx), start, everyone, [], f"All-hands note, week {w + 1}",
                           _body(rng), [], [_slug(ceo.department)]))
        for h in heads:
            tuesday = monday + timedelta(days=1)
            members = [who(i) for i in org.departments[h.department] if i != h.idx and people[i].hire_date <= tuesday]
            if members:
                mails.append(_Mail(mid(), who(h.idx), _work_time(rng, tuesday, h.zone), members, [],
                                   f"{h.department} weekly update", _body(rng), [], [_slug(h.department)]))

    # External partners and clients, both directions.
    facing = [p for p in people if p.department in ("Sales", "Support", "Product", "Operations", "Legal")
              and p.role != "ceo" and not p.newcomer]
    n_external = 0
    for w in range(spec.weeks):
        week_days = [d for d in spec.workdays if (d - spec.first_monday).days // 7 == w]
        for _ in range(max(4, spec.n_people // 25)):
            day = rng.choice(week_days)
            ext_name, ext_addr, ext_tz = rng.choice(EXTERNALS)
            p = rng.choice(facing)
            if rng.random() < 0.5:
                cc = [who(people[p.manager].idx)] if p.manager is not None and rng.random() < 0.3 else []
                mails.append(_Mail(mid(), who(p.idx), _work_time(rng, day, p.zone), [(ext_name, ext_addr)], cc,
                                   _sentence(rng, 2, 6), _body(rng), [], [_slug(p.department)]))
            else:
                ext_id = f"<{rng.getrandbits(80):020x}@{ext_addr.split('@')[1]}>"
                mails.append(_Mail(ext_id, (ext_name, ext_addr), _work_time(rng, day, ZoneInfo(ext_tz)),
                                   [who(p.idx)], [], _sentence(rng, 2, 6), _body(rng), [], [_slug(p.department)]))
            n_external += 1

    # The same message landed in two mailboxes: copy some cross-department mails.
    cross = [m for m, s, to, cc in originals
             if any(people[i].department != people[s].department for i in to)]
    n_dup = min(len(cross), max(3, spec.n_people // 50))
    for mail in rng.sample(cross, n_dup):
        sender_dept = mail.boxes[0]
        other = next(_slug(people[i].department) for i in _indices(org, mail.to)
                     if _slug(people[i].department) != sender_dept)
        mail.boxes.append(other)

    # Broken records for quarantine: two without Date, one with an unparseable Date.
    first = people[org.departments["Engineering"][1]]
    second = people[org.departments["Sales"][1]]
    broken = ((first, second, None), (second, first, None), (first, second, "Tuesday sometime after lunch"))
    for sender, to, raw in broken:
        mails.append(_Mail(mid(), who(sender.idx), None, [who(to.idx)], [], _sentence(rng, 2, 5),
                           _body(rng), [], [_slug(sender.department)], raw))

    valid = sum(1 for m in mails if m.when is not None)
    stats = {"emails": valid, "email_duplicate_copies": n_dup, "external_emails": n_external,
             "email_messages_written": sum(len(m.boxes) for m in mails)}
    return mails, stats


def _indices(org: Org, pairs: list[tuple[str, str]]) -> list[int]:
    by_email = {p.email: p.idx for p in org.people}
    return [by_email[addr] for _, addr in pairs if addr in by_email]


def _fold_addresses(pairs: list[tuple[str, str]]) -> str:
    """An address list folded the way mail clients do (RFC 5322 lines well under 998)."""
    lines, line = [], ""
    for text in (formataddr(pair) for pair in pairs):
        if line and len(line) + len(text) + 2 > 76:
            lines.append(line + ",")
            line = " " + text
        else:
            line = f"{line}, {text}" if line else text
    lines.append(line)
    return "\n".join(lines)


# Parsed once: the generator asks for the content type of every message it writes.
_CONTENT_TYPE = email.policy.default.header_factory("Content-Type", 'text/plain; charset="utf-8"')


def _to_message(mail: _Mail, spec: DemoSpec) -> EmailMessage:
    # Headers are stored pre-formatted with set_raw: the default policy's header parsing
    # and refolding would dominate the run time for no change in the bytes that matter.
    msg = EmailMessage()
    msg.set_raw("From", formataddr(mail.sender))
    msg.set_raw("To", _fold_addresses(mail.to))
    if mail.cc:
        msg.set_raw("Cc", _fold_addresses(mail.cc))
    if mail.when is not None:
        msg.set_raw("Date", format_datetime(mail.when))
    elif mail.raw_date is not None:
        msg.set_raw("Date", mail.raw_date)
    msg.set_raw("Message-ID", mail.mid)
    msg.set_raw("Subject", mail.subject)
    if mail.refs:
        msg.set_raw("In-Reply-To", mail.refs[-1])
        msg.set_raw("References", "\n ".join(mail.refs))
    msg.set_raw("MIME-Version", "1.0")
    msg.set_raw("Content-Type", _CONTENT_TYPE)
    msg.set_raw("Content-Transfer-Encoding", "7bit")
    msg.set_payload(mail.body)
    stamp = mail.when.astimezone(UTC) if mail.when is not None else datetime.combine(
        spec.first_monday, datetime.min.time(), UTC) + timedelta(hours=12)
    msg.set_unixfrom(f"From {mail.sender[1]} {time.asctime(stamp.timetuple())}")
    return msg


def _sort_key(mail: _Mail) -> tuple:
    when = mail.when.astimezone(UTC) if mail.when is not None else datetime.max.replace(tzinfo=UTC)
    return when, mail.mid


def _write_email(landing: Path, spec: DemoSpec, mails: list[_Mail]) -> dict[str, int]:
    folder = landing / "email"
    folder.mkdir(parents=True, exist_ok=True)
    by_box: dict[str, list[_Mail]] = {}
    for mail in mails:
        for box in mail.boxes:
            by_box.setdefault(box, []).append(mail)
    written = {}
    for box in sorted(by_box):
        path = folder / f"{box}.mbox"
        path.unlink(missing_ok=True)
        mbox = mailbox.mbox(path, create=True)
        try:
            for mail in sorted(by_box[box], key=_sort_key):
                mbox.add(_to_message(mail, spec))
            mbox.flush()
        finally:
            mbox.close()
        written[path.name] = len(by_box[box])
    return written


# ------------------------------------------------------------------------------ calendar

_PARTSTATS = ("ACCEPTED", "TENTATIVE", "DECLINED", "NEEDS-ACTION")


def _attendee(p: Person, partstat: str, role: str = "REQ-PARTICIPANT") -> vCalAddress:
    a = vCalAddress(f"mailto:{p.email}")
    a.params["CN"] = p.name
    a.params["CUTYPE"] = "INDIVIDUAL"
    a.params["ROLE"] = role
    a.params["PARTSTAT"] = partstat
    a.params["RSVP"] = "TRUE" if role != "CHAIR" else "FALSE"
    return a


def _organizer(p: Person) -> vCalAddress:
    o = vCalAddress(f"mailto:{p.email}")
    o.params["CN"] = p.name
    return o


class _CalendarWriter:
    def __init__(self, spec: DemoSpec, org: Org):
        self.spec, self.org = spec, org
        self.rng = random.Random(f"{spec.seed}:calendar")
        self.events: dict[str, list[Event]] = {}
        self.uids: dict[str, None] = {}
        self.meetings = 0
        self.occurrences = 0
        self.cancelled = 0
        self.large = 0

    def uid(self) -> str:
        while True:
            value = f"{self.rng.getrandbits(96):024X}@{self.spec.domain}"
            if value not in self.uids:
                self.uids[value] = None
                return value

    def partstat(self, large: bool = False) -> str:
        weights = (55, 10, 8, 27) if large else (78, 8, 6, 8)
        return self.rng.choices(_PARTSTATS, weights=weights)[0]

    def event(self, organizer: Person, attendees: list[Person], start: datetime, minutes: int, summary: str,
              uid: str | None = None, status: str = "CONFIRMED", large: bool = False,
              end: datetime | None = None) -> Event:
        rng = self.rng
        ahead = timedelta(days=rng.randint(2, 20), minutes=rng.randrange(600))
        stamp = (start.astimezone(UTC) - ahead).replace(second=0)
        ev = Event()
        ev.add("uid", uid or self.uid())
        ev.add("dtstamp", stamp)
        ev.add("created", stamp)
        ev.add("last-modified", stamp)
        ev.add("dtstart", start)
        ev.add("dtend", end if end is not None else start + timedelta(minutes=minutes))
        ev.add("summary", summary)
        ev.add("description", _sentence(rng, 6, 20) + ".")
        ev.add("location", rng.choice(("Video call", f"{organizer.city} office", "Meeting room 2", "Teams")))
        ev.add("status", status)
        ev.add("transp", "OPAQUE")
        ev.add("sequence", 0)
        ev.add("organizer", _organizer(organizer))
        ev.add("attendee", _attendee(organizer, "ACCEPTED", "CHAIR"))
        for a in attendees:
            if a.idx != organizer.idx:
                role = "OPT-PARTICIPANT" if rng.random() < 0.2 else "REQ-PARTICIPANT"
                ev.add("attendee", _attendee(a, self.partstat(large), role))
        return ev

    def put(self, organizer: Person, ev: Event) -> None:
        self.events.setdefault(_slug(organizer.department), []).append(ev)

    def local(self, day: date, hour: int, minute: int, who: Person) -> datetime:
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=who.zone)

    def build(self) -> None:
        spec, org, rng = self.spec, self.org, self.rng
        people = org.people
        weeks = spec.weeks
        # Weekly team meetings: one EXDATE (2nd week) and one RECURRENCE-ID override (1st occurrence moved a day).
        for team, members in org.teams.items():
            lead = people[members[0]]
            day = spec.first_monday + timedelta(days=rng.choice((1, 2, 3)))
            hour, minute = rng.choice(((9, 30), (10, 0), (11, 0), (14, 0), (15, 30)))
            minutes = rng.choice((30, 45, 60))
            start = self.local(day, hour, minute, lead)
            ev = self.event(lead, [people[i] for i in members], start, minutes, f"{team} weekly sync")
            ev.add("rrule", {"freq": "weekly", "count": weeks})
            occurrences = weeks
            if weeks >= 2:
                ev.add("exdate", start + timedelta(weeks=1))
                occurrences -= 1
            self.put(lead, ev)
            moved = self.event(lead, [people[i] for i in members], start + timedelta(days=1), minutes,
                               f"{team} weekly sync (moved)", uid=str(ev["uid"]))
            moved.add("recurrence-id", start)
            moved["sequence"] = 1
            self.put(lead, moved)
            self.meetings += 1
            self.occurrences += occurrences
        # Biweekly 1:1s between every manager and each direct report.
        for manager, reports in org.reports.items():
            boss = people[manager]
            for r in reports:
                report = people[r]
                w0 = rng.randint(0, min(1, weeks - 1))
                day = spec.first_monday + timedelta(weeks=w0, days=rng.randrange(5))
                if report.hire_date > day:
                    continue
                count = len(range(w0, weeks, 2))
                start = self.local(day, rng.randint(9, 16), rng.choice((0, 30)), boss)
                ev = self.event(boss, [report], start, 30, f"{boss.first} / {report.first} 1:1")
                ev.add("rrule", {"freq": "weekly", "interval": 2, "count": count})
                self.put(boss, ev)
                self.meetings += 1
                self.occurrences += count
        # Ad-hoc meetings: ~2 organised per person-week, 3-6 attendees, some cross-department.
        nrng = np.random.default_rng([spec.seed, 3])
        picker = _Picker(org, [p.meet_act for p in people])
        lam = np.array([p.meet_act for p in people]) * 2.0
        for w in range(weeks):
            counts = nrng.poisson(lam)
            week_days = [d for d in spec.workdays if (d - spec.first_monday).days // 7 == w]
            for p in people:
                for _ in range(int(counts[p.idx])):
                    day = rng.choice(week_days)
                    if p.hire_date > day:
                        continue
                    invitees = picker.pick(rng, p.idx, rng.choices((2, 3, 4, 5), weights=(35, 30, 20, 15))[0], day)
                    if not invitees:
                        continue
                    start = self.local(day, rng.randint(8, 16), rng.choice((0, 0, 15, 30, 30, 45)), p)
                    status = "CANCELLED" if rng.random() < 0.04 else "CONFIRMED"
                    ev = self.event(p, [people[i] for i in invitees], start, rng.choice((30, 30, 45, 60, 60, 90)),
                                    _sentence(rng, 2, 5), status=status)
                    self.put(p, ev)
                    self.meetings += 1
                    self.occurrences += 1
                    self.cancelled += status == "CANCELLED"
        # Large meetings: a monthly all-hands, and a monthly all-hands per department of 25+.
        ceo = people[org.ceo]
        for w in range(0, weeks, 4):
            day = spec.first_monday + timedelta(weeks=w, days=3)
            everyone = [p for p in people if p.hire_date <= day]
            ev = self.event(ceo, everyone, self.local(day, 16, 0, ceo), 60, "Company all-hands", large=True)
            self.put(ceo, ev)
            self.meetings += 1
            self.occurrences += 1
            self.large += 1
            for dept, members in org.departments.items():
                if len(members) > 25:
                    head = next(people[i] for i in members if people[i].role in ("head", "ceo"))
                    day2 = day - timedelta(days=1)
                    ev = self.event(head, [people[i] for i in members if people[i].hire_date <= day2],
                                    self.local(day2, 15, 0, head), 45, f"{dept} all-hands", large=True)
                    self.put(head, ev)
                    self.meetings += 1
                    self.occurrences += 1
                    self.large += 1
        # Broken: DTEND before DTSTART; an unknown TZID.
        a = people[org.departments["Product"][0]]
        b = people[org.departments["Product"][1]]
        day = spec.first_monday + timedelta(days=2)
        start = self.local(day, 11, 0, a)
        self.put(a, self.event(a, [b], start, 30, "Backwards meeting", end=start - timedelta(minutes=30)))
        c = people[org.departments["Sales"][0]]
        d = people[org.departments["Sales"][1]]
        ev = self.event(c, [d], self.local(day, 10, 0, c), 30, "Meeting on Mars")
        naive = datetime(day.year, day.month, day.day, 10, 0)
        for name, moment in (("DTSTART", naive), ("DTEND", naive + timedelta(minutes=30))):
            del ev[name]
            ev.add(name, moment, parameters={"TZID": "Mars/Olympus_Mons"})
        self.put(c, ev)

    def write(self, landing: Path) -> dict[str, int]:
        folder = landing / "calendar"
        folder.mkdir(parents=True, exist_ok=True)
        year = self.spec.first_monday.year
        written = {}
        for slug in sorted(self.events):
            cal = Calendar()
            cal.add("prodid", "-//Northwind//Synthetic Calendar Export 1.0//EN")
            cal.add("version", "2.0")
            cal.add("calscale", "GREGORIAN")
            cal.add("method", "PUBLISH")
            cal.add("x-wr-calname", f"{slug} calendars")
            for ev in self.events[slug]:
                cal.add_component(ev)
            # Calendar.add_missing_timezones() walks a set (order varies with PYTHONHASHSEED):
            # add the VTIMEZONEs in sorted order instead. Unknown zones (Mars) get none.
            vtimezones = []
            for tzid in sorted(cal.get_missing_tzids()):
                try:
                    vtimezones.append(Timezone.from_tzid(tzid, first_date=date(year - 1, 1, 1),
                                                         last_date=date(year + 1, 12, 31)))
                except ValueError:
                    continue
            cal.subcomponents[0:0] = vtimezones
            path = folder / f"{slug}.ics"
            path.write_bytes(cal.to_ical())
            written[path.name] = len(self.events[slug])
        return written


# ---------------------------------------------------------------------------------- chat


class _SlackWriter:
    def __init__(self, spec: DemoSpec, org: Org):
        self.spec, self.org = spec, org
        self.rng = random.Random(f"{spec.seed}:chat")
        self.nrng = np.random.default_rng([spec.seed, 4])
        self.ids: dict[str, None] = {}
        self.team_id = self.new_id("T")
        self.convs: list[dict] = []  # {meta, kind, folder, members, messages, ts}
        self.messages = 0

    def new_id(self, prefix: str, k: int = 10) -> str:
        while True:
            value = prefix + "".join(self.rng.choices(_ID_CHARS, k=k))
            if value not in self.ids:
                self.ids[value] = None
                return value

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def created(self) -> int:
        start = datetime.combine(self.spec.first_monday, datetime.min.time(), UTC)
        return _epoch(start) - self.rng.randint(30, 900) * 86400 - self.rng.randrange(86400)

    def conv(self, kind: str, meta: dict, folder: str, members: list[int]) -> dict:
        c = {"kind": kind, "meta": meta, "folder": folder, "members": members, "messages": [], "ts": {}}
        members_cum, total = [], 0.0
        for i in members:
            total += self.org.people[i].chat_act
            members_cum.append(total)
        c["cum"] = members_cum
        self.convs.append(c)
        return c

    def ts(self, conv: dict, second: int) -> str:
        micro = self.rng.randrange(1_000_000)
        while True:
            value = f"{second}.{micro:06d}"
            if value not in conv["ts"]:
                conv["ts"][value] = None
                return value
            micro = (micro + 1) % 1_000_000
            if micro == 0:
                second += 1

    def message(self, conv: dict, sender: Person, second: int, text: str) -> dict:
        msg = {
            "client_msg_id": self.uuid(),
            "type": "message",
            "text": text,
            "user": sender.slack_id,
            "ts": self.ts(conv, second),
            "team": self.team_id,
            "user_team": self.team_id,
            "source_team": self.team_id,
            "user_profile": {
                "avatar_hash": f"{self.rng.getrandbits(48):012x}",
                "first_name": sender.first,
                "real_name": sender.name,
                "display_name": sender.first,
                "team": self.team_id,
                "name": sender.email.split("@")[0],
                "is_restricted": False,
                "is_ultra_restricted": False,
            },
        }
        conv["messages"].append(msg)
        return msg

    def react(self, msg: dict, candidates: list[int], sender: int, many: bool = False) -> None:
        rng = self.rng
        others = [i for i in candidates if i != sender]
        if not others:
            return
        reactions = []
        for name in rng.sample(REACTIONS, rng.choice((1, 1, 1, 2))):
            if many and len(others) >= 5:
                k = rng.randint(5, min(40, len(others)))
            else:
                k = rng.randint(1, min(3, len(others)))
            users = rng.sample(others, k)
            reactions.append({"name": name, "users": [self.org.people[i].slack_id for i in users], "count": k})
        msg["reactions"] = reactions

    def build(self) -> None:
        spec, org, rng, nrng = self.spec, self.org, self.rng, self.nrng
        people = org.people
        for p in people:
            p.slack_id = self.new_id("U")
        self.bot_user = self.new_id("U")
        self.bot_id = self.new_id("B")
        last_day = spec.days[-1]
        everyone = [p.idx for p in people]
        ceo = people[org.ceo]

        def channel(name: str, members: list[int], purpose: str, creator: Person, general: bool = False) -> dict:
            meta = {
                "id": self.new_id("C"),
                "name": name,
                "created": self.created(),
                "creator": creator.slack_id,
                "is_archived": False,
                "is_general": general,
                "members": [people[i].slack_id for i in members],
                "pins": [],
                "topic": {"value": "", "creator": "", "last_set": 0},
                "purpose": {"value": purpose, "creator": creator.slack_id, "last_set": 0},
            }
            meta["purpose"]["last_set"] = meta["created"]
            return self.conv("channel", meta, name, members)

        general = channel("general", everyone, "Company-wide chatter", ceo, general=True)
        announcements = channel("announcements", everyone, "Company announcements", ceo)
        random_members = [i for i in everyone if rng.random() < 0.6 or people[i].newcomer]
        random_ch = channel("random", random_members, "Non-work banter", ceo)
        dept_ch = {}
        for dept, members in org.departments.items():
            head = next(people[i] for i in members if people[i].role in ("head", "ceo"))
            dept_ch[dept] = channel(f"dept-{_slug(dept)}", members, f"{dept} department", head)
        team_ch = {}
        for team, members in org.teams.items():
            slug = "".join(ch if ch.isalnum() else "-" for ch in team.lower()).strip("-")
            team_ch[team] = channel(f"team-{slug}", members, f"{team} team", people[members[0]])
        picker = _Picker(org, [p.chat_act for p in people])
        projects = []
        for k in range(max(3, spec.n_people // 40)):
            owner = people[rng.choice(org.brokers) if k % 2 == 0 else rng.randrange(len(people))]
            members = [owner.idx] + picker.pick(rng, owner.idx, rng.randint(7, 19), last_day, cross=0.6)
            name = f"proj-{PROJECTS[k % len(PROJECTS)]}" + (f"-{k // len(PROJECTS) + 1}" if k >= len(PROJECTS) else "")
            projects.append(channel(name, sorted(members), _sentence(rng, 3, 6), owner))
        eng = org.departments["Engineering"]
        deploys = channel("eng-deploys", eng, "Deploy notifications", people[eng[0]])
        deploys["meta"]["members"].append(self.bot_user)

        # DMs and group DMs.
        dm_pairs: dict[tuple[int, int], dict] = {}
        for p in people:
            k = min(15, 2 + int(nrng.poisson(3 * p.chat_act)))
            for other in picker.pick(rng, p.idx, k, last_day):
                key = (min(p.idx, other), max(p.idx, other))
                if key in dm_pairs:
                    continue
                meta = {"id": self.new_id("D"), "created": self.created(),
                        "members": [p.slack_id, people[other].slack_id]}
                dm_pairs[key] = self.conv("dm", meta, meta["id"], [p.idx, other])
        mpim_sets: dict[tuple[int, ...], dict] = {}
        weights = [p.chat_act for p in people]
        for _ in range(max(5, spec.n_people // 3)):
            seed_person = rng.choices(range(len(people)), weights=weights)[0]
            others = picker.pick(rng, seed_person, rng.randint(2, 4), last_day)
            members = tuple(sorted([seed_person] + others))
            if len(members) < 3 or members in mpim_sets:
                continue
            handles = [people[i].email.split("@")[0] for i in members]
            meta = {
                "id": self.new_id("G"),
                "name": "mpdm-" + "--".join(handles) + "-1",
                "created": self.created(),
                "creator": people[seed_person].slack_id,
                "is_archived": False,
                "members": [people[i].slack_id for i in members],
                "topic": {"value": "", "creator": "", "last_set": 0},
                "purpose": {"value": "Group messaging", "creator": people[seed_person].slack_id, "last_set": 0},
            }
            folder = meta["id"] if MPIM_FOLDER_BY == "id" else meta["name"]
            mpim_sets[members] = self.conv("mpim", meta, folder, list(members))

        private: dict[int, list[dict]] = {p.idx: [] for p in people}
        private_w: dict[int, list[float]] = {p.idx: [] for p in people}
        for (a, b), c in dm_pairs.items():
            for me, other in ((a, b), (b, a)):
                private[me].append(c)
                private_w[me].append(0.5 + people[other].chat_act)
        for members, c in mpim_sets.items():
            for me in members:
                private[me].append(c)
                private_w[me].append(0.8)
        channels_of: dict[int, list[tuple[dict, float]]] = {p.idx: [] for p in people}
        for p in people:
            channels_of[p.idx] += [(team_ch[p.team], 45.0), (dept_ch[p.department], 20.0),
                                   (random_ch, 8.0 if p.idx in random_members else 0.0), (general, 5.0)]
        for c in projects:
            for i in c["members"]:
                channels_of[i].append((c, 15.0))
        for i in eng:
            channels_of[i].append((deploys, 4.0))

        # Conversations in bursts: ~10 messages per person per workday, ~90% private.
        burst_rate = np.array([p.chat_act for p in people]) * 10.0 / 4.0
        for day in spec.workdays:
            bursts = nrng.poisson(burst_rate)
            for p in people:
                if p.hire_date > day:
                    continue
                for _ in range(int(bursts[p.idx])):
                    if private[p.idx] and rng.random() < 0.9:
                        conv = rng.choices(private[p.idx], weights=private_w[p.idx])[0]
                    else:
                        options = [(c, w) for c, w in channels_of[p.idx] if w > 0]
                        conv = rng.choices([c for c, _ in options], weights=[w for _, w in options])[0]
                    self.burst(conv, p, day)

        # CEO's weekly announcement (reacted to by many), the deploy bot, newcomers joining.
        for w in range(spec.weeks):
            monday = spec.first_monday + timedelta(weeks=w)
            second = _epoch(datetime(monday.year, monday.month, monday.day, 9, 0, tzinfo=ceo.zone))
            members = [i for i in announcements["members"] if people[i].hire_date <= monday]
            msg = self.message(announcements, ceo, second, "<!channel> " + _sentence(rng, 10, 25) + ".")
            self.react(msg, members, ceo.idx, many=True)
        for day in spec.workdays:
            for _ in range(1 + int(nrng.poisson(3))):
                second = _epoch(datetime(day.year, day.month, day.day, rng.randint(7, 18), rng.randrange(60),
                                         rng.randrange(60), tzinfo=UTC))
                deploys["messages"].append({
                    "type": "message",
                    "subtype": "bot_message",
                    "text": f"Deployed {rng.choice(('api', 'web', 'billing', 'search'))} "
                            f"build #{rng.randint(1000, 9999)} to production",
                    "ts": self.ts(deploys, second),
                    "bot_id": self.bot_id,
                    "username": "deploy-bot",
                })
        for p in people:
            if p.newcomer and spec.first_monday <= p.hire_date <= last_day:
                second = _epoch(datetime(p.hire_date.year, p.hire_date.month, p.hire_date.day, 9, 5, tzinfo=p.zone))
                for c in (general, announcements, random_ch, dept_ch[p.department], team_ch[p.team]):
                    if p.idx in c["members"]:
                        c["messages"].append({
                            "type": "message",
                            "subtype": "channel_join",
                            "ts": self.ts(c, second + rng.randrange(120)),
                            "user": p.slack_id,
                            "text": f"<@{p.slack_id}> has joined the channel",
                        })

    def burst(self, conv: dict, starter: Person, day: date) -> None:
        rng, people = self.rng, self.org.people
        members = [i for i in conv["members"] if people[i].hire_date <= day]
        if len(members) < 2:
            return
        length = 1
        while rng.random() < 0.75 and length < 25:
            length += 1
        second = _epoch(_work_time(rng, day, starter.zone))
        kind = conv["kind"]
        threaded = kind == "channel" and length >= 2 and rng.random() < 0.5
        parent = None
        sender = starter.idx
        replies: list[tuple[int, str]] = []
        for i in range(length):
            if i > 0:
                second += 5 + int(rng.expovariate(1 / 90))
                if kind == "dm":
                    if rng.random() < 0.7:
                        sender = members[0] if sender == members[1] else members[1]
                elif rng.random() < 0.65:
                    if kind == "channel":
                        sender = rng.choices(conv["members"], cum_weights=conv["cum"])[0]
                        if people[sender].hire_date > day:
                            sender = starter.idx
                    else:
                        sender = rng.choice(members)
            text = _sentence(rng, 2, 18)
            mention_p = {"channel": 0.2, "mpim": 0.1, "dm": 0.03}[kind]
            if rng.random() < mention_p:
                target = rng.choice(members)
                if target != sender:
                    text = f"<@{people[target].slack_id}> {text}"
            msg = self.message(conv, people[sender], second, text)
            if threaded and i == 0:
                parent = msg
            elif threaded and parent is not None:
                msg["thread_ts"] = parent["ts"]
                msg["parent_user_id"] = parent["user"]
                replies.append((sender, msg["ts"]))
            if rng.random() < (0.2 if kind == "channel" else 0.1):
                self.react(msg, members, sender)
        if parent is not None and replies:
            users = list(dict.fromkeys(people[s].slack_id for s, _ in replies))
            parent["thread_ts"] = parent["ts"]
            parent["reply_count"] = len(replies)
            parent["reply_users_count"] = len(users)
            parent["latest_reply"] = replies[-1][1]
            parent["reply_users"] = users
            parent["replies"] = [{"user": people[s].slack_id, "ts": t} for s, t in replies]
            parent["is_locked"] = False
            parent["subscribed"] = False

    def write(self, landing: Path) -> dict:
        spec, people = self.spec, self.org.people
        root = landing.joinpath(*SLACK_EXPORT_DIR)
        if root.exists():
            shutil.rmtree(root)  # our own export folder: stale day files would linger otherwise
        root.mkdir(parents=True)
        at = datetime.combine(spec.first_monday, datetime.min.time(), UTC)
        users = []
        for p in people:
            offset = int(p.zone.utcoffset(at.replace(tzinfo=None)).total_seconds())
            handle = p.email.split("@")[0]
            users.append({
                "id": p.slack_id,
                "team_id": self.team_id,
                "name": handle,
                "deleted": False,
                "color": f"{self.rng.getrandbits(24):06x}",
                "real_name": p.name,
                "tz": p.tz,
                "tz_label": _TZ_LABEL[p.tz],
                "tz_offset": offset,
                "profile": {
                    "title": {"ceo": "Chief Executive Officer", "head": f"Head of {p.department}",
                              "lead": f"{p.team} Lead"}.get(p.role, ""),
                    "phone": "",
                    "skype": "",
                    "real_name": p.name,
                    "real_name_normalized": p.name,
                    "display_name": p.first,
                    "display_name_normalized": p.first,
                    "email": p.email,
                    "first_name": p.first,
                    "last_name": p.last,
                    "team": self.team_id,
                },
                "is_admin": p.role == "ceo",
                "is_owner": p.role == "ceo",
                "is_primary_owner": p.role == "ceo",
                "is_restricted": False,
                "is_ultra_restricted": False,
                "is_bot": False,
                "is_app_user": False,
                "updated": _epoch(at) - self.rng.randint(1, 400) * 86400,
            })
        users.append({
            "id": self.bot_user,
            "team_id": self.team_id,
            "name": "deploy-bot",
            "deleted": False,
            "real_name": "Deploy Bot",
            "profile": {"real_name": "Deploy Bot", "display_name": "", "bot_id": self.bot_id,
                        "api_app_id": self.new_id("A"), "always_active": True, "team": self.team_id},
            "is_bot": True,
            "is_app_user": False,
            "updated": _epoch(at) - 90 * 86400,
        })
        dump = lambda obj: json.dumps(obj, indent=4, ensure_ascii=False).encode("utf-8")  # noqa: E731
        (root / "users.json").write_bytes(dump(users))
        for kind, name in (("channel", "channels.json"), ("dm", "dms.json"), ("mpim", "mpims.json")):
            (root / name).write_bytes(dump([c["meta"] for c in self.convs if c["kind"] == kind]))

        day_files: list[tuple[Path, int, dict]] = []
        for c in self.convs:
            by_day: dict[str, list[dict]] = {}
            for msg in sorted(c["messages"], key=lambda m: (int(m["ts"].split(".")[0]), m["ts"])):
                day = datetime.fromtimestamp(int(msg["ts"].split(".")[0]), UTC).date().isoformat()
                by_day.setdefault(day, []).append(msg)
            if not by_day:
                continue
            folder = root / c["folder"]
            folder.mkdir()
            for day in sorted(by_day):
                path = folder / f"{day}.json"
                path.write_bytes(dump(by_day[day]))
                day_files.append((path, len(by_day[day]), c))
        total = sum(n for _, n, _ in day_files)

        # One truncated day file: the busiest day of the general channel, cut mid-way.
        general = [(path, n) for path, n, c in day_files if c["meta"].get("name") == "general"]
        pool = general or [(path, n) for path, n, _ in day_files]
        broken_path, broken_n = max(pool, key=lambda item: (item[1], item[0].name))
        data = broken_path.read_bytes()
        broken_path.write_bytes(data[: len(data) // 2])

        counts = {"channel": 0, "dm": 0, "mpim": 0}
        for c in self.convs:
            counts[c["kind"]] += len(c["messages"])
        return {
            "chat_messages": total - broken_n,
            "chat_messages_in_broken_files": broken_n,
            "chat_messages_by_kind": counts,
            "chat_day_files": len(day_files),
            "chat_broken_file": broken_path.relative_to(landing).as_posix(),
            "slack_conversations": {"channels": sum(c["kind"] == "channel" for c in self.convs),
                                    "dms": sum(c["kind"] == "dm" for c in self.convs),
                                    "mpims": sum(c["kind"] == "mpim" for c in self.convs)},
        }


# ---------------------------------------------------------------------------------- entry


def write_landing(landing: Path, spec: DemoSpec = DemoSpec()) -> dict:
    """Writes landing/email/, landing/calendar/, landing/chat/slack/, landing/people/; returns counts
    (people, emails, meetings, chat_messages, broken_records_by_source) for the summary.

    ``emails`` counts distinct messages with a usable Date (duplicate copies and broken records
    excluded; ``email_messages_written`` is what the mbox files hold). ``meetings`` counts
    VEVENT series and single events (RECURRENCE-ID overrides and broken events excluded;
    ``meeting_occurrences`` expands the recurrences, EXDATEs removed). ``chat_messages``
    counts the messages in readable day files (joins and bot messages included).
    """
    landing = Path(landing)
    org = build_org(spec)

    _write_roster(landing, org)

    mails, email_stats = _generate_email(spec, org)
    email_files = _write_email(landing, spec, mails)

    cal = _CalendarWriter(spec, org)
    cal.build()
    calendar_files = cal.write(landing)

    slack = _SlackWriter(spec, org)
    slack.build()
    chat_stats = slack.write(landing)

    return {
        "people": len(org.people),
        "emails": email_stats["emails"],
        "meetings": cal.meetings,
        "chat_messages": chat_stats["chat_messages"],
        "broken_records_by_source": dict(BROKEN),
        "email_duplicate_copies": email_stats["email_duplicate_copies"],
        "email_messages_written": email_stats["email_messages_written"],
        "external_emails": email_stats["external_emails"],
        "email_files": email_files,
        "meeting_occurrences": cal.occurrences,
        "meetings_cancelled": cal.cancelled,
        "large_meetings": cal.large,
        "calendar_files": calendar_files,
        "departments": {d: len(m) for d, m in org.departments.items()},
        "teams": len(org.teams),
        "newcomers": sum(p.newcomer for p in org.people),
        "brokers": len(org.brokers),
        **chat_stats,
    }

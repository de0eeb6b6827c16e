"""The benchmark workload (bench/README.md): one generated organisation, one ISO week.

Everything is vectorised with numpy/pyarrow (no Python loop per event or per recipient) and a
function of (n_people, seed). Per person and workday about 18 internal emails (about 2.5
recipients each) and 50 chat messages (90% one-to-one DMs, 10% channel posts with 1-2
mentions, some thread replies and reactions); 2 meetings organised per person-week (about 5
attendees: the organizer and ~4 invitees, mostly ACCEPTED). Activity is heavy-tailed (a
lognormal multiplier per person, mean 1) and mostly within team and department.

A little of what real data holds is mixed in so that the pipeline's rules have something to do
and the baselines must implement them too: external recipients/attendees (``x_`` domain
pseudonyms), a few broadcast emails (> 25 recipients) and all-hands meetings, cancelled and
all-day meetings, declined invitees, duplicated recipients, Slack system and bot messages, and
one 3-person department (k = 5 suppression).

The output matches the bronze schemas (schemas/bronze.py) as pandas DataFrames whose string and
list columns are Arrow-backed (``pd.ArrowDtype``): Spark takes them through Arrow, and the same
events are dumped as parquet for the baselines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from jobs.privacy.pseudonym import Pseudonymiser
from schemas.bronze import BRONZE

UTC = timezone.utc
WEEK = "2026-W10"
WEEK_START = datetime(2026, 3, 2, tzinfo=UTC)  # Monday of ISO week 2026-W10
WEEK_START_DATE = date(2026, 3, 2)
PULLED_AT = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)
RUN_ID = "bench"
KEY = b"247109393d4fb9c8f8a9db0132874ac90d4e2ca2b1b5503372095e56bdfe44e5"  # a fixed key in the documented form (64 hex digits)
KEY_VERSION = Pseudonymiser(key=KEY).key_version
WORKDAYS = 5
DAY_US = 86_400 * 1_000_000
HOUR_US = 3_600 * 1_000_000

DEPARTMENT_NAMES = [
    "Engineering", "Sales", "Operations", "Customer Support", "Marketing", "Product", "Finance",
    "Research", "Manufacturing", "Logistics", "Data", "Design", "Security", "Procurement",
    "Quality", "Partnerships", "Facilities", "IT", "Compliance", "Strategy", "Training",
    "Communications", "Risk", "Treasury",
]
TINY_DEPARTMENT = "Legal"  # 3 people: every pair with it is suppressed (k = 5)
CITIES = [("London", "Europe/London"), ("New York", "America/New_York"),
          ("Berlin", "Europe/Berlin"), ("Singapore", "Asia/Singapore")]
N_EXTERNAL_DOMAINS = 40
N_TEAM_CONTACTS, N_DEPT_CONTACTS, N_ORG_CONTACTS = 9, 12, 5


@dataclass(frozen=True)
class Spec:
    n_people: int
    seed: int = 20260302
    emails_per_day: float = 18.0
    extra_recipients: float = 1.5  # recipients per email = 1 + Poisson(1.5): mean 2.5
    chats_per_day: float = 50.0
    dm_share: float = 0.90
    meetings_per_week: float = 2.0
    extra_invitees: float = 3.0  # invitees = 1 + Poisson(3): with the organizer ~5 attendees
    activity_sigma: float = 0.8
    external_share: float = 0.03  # of email recipients and meeting invitees
    broadcast_email_share: float = 0.001
    all_hands_share: float = 0.002  # meetings with 40-80 invitees (no ties)
    thread_reply_share: float = 0.3  # of channel posts
    reaction_share: float = 0.2  # of channel posts (1-2 reactions each)
    system_share: float = 0.005  # of channel posts: channel_join / bot_message
    week: int = 0  # weeks after 2026-W10: the backfill generates weeks 0..11 of one organisation

    @property
    def week_start(self) -> datetime:
        return WEEK_START + timedelta(weeks=self.week)

    def tag(self, tag: int) -> int:
        """An id-space tag unique to this week, so that record and message ids never repeat
        across the weeks of a backfill (week 0 keeps the original tags)."""
        return tag + 64 * self.week

    def rng(self, stream: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, stream] if self.week == 0 else [self.seed, stream, self.week])


# docs/performance.md ("The targets") names a "heavy" profile: about 120 emails and 150 chat messages a day per
# person, external and bulk traffic included.
PROFILES = {
    "standard": {},
    "heavy": {"emails_per_day": 120.0, "chats_per_day": 150.0, "external_share": 0.15,
              "broadcast_email_share": 0.01},
}


@dataclass
class Workload:
    spec: Spec
    email: pd.DataFrame
    calendar: pd.DataFrame
    chat: pd.DataFrame
    people: pd.DataFrame

    @property
    def frames(self) -> dict[str, pd.DataFrame]:
        return {"email": self.email, "calendar": self.calendar, "chat": self.chat, "people": self.people}

    @property
    def n_events(self) -> int:
        """Bronze event records: emails + meeting occurrences + chat messages."""
        return len(self.email) + len(self.calendar) + len(self.chat)

    def counts(self) -> dict[str, int]:
        return {name: len(df) for name, df in self.frames.items()} | {"events": self.n_events}


# ------------------------------------------------------------------ vectorised helpers

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijection on uint64, so distinct inputs give distinct ids."""
    z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def hex_ids(values: np.ndarray, prefix: str = "") -> pa.StringArray:
    """prefix + 16 lower-case hex digits of each uint64, built as one Arrow buffer."""
    n = len(values)
    raw = np.ascontiguousarray(values.astype(">u8")).view(np.uint8).reshape(n, 8)
    digits = np.empty((n, 16), dtype=np.uint8)
    digits[:, 0::2] = _HEX[raw >> 4]
    digits[:, 1::2] = _HEX[raw & 15]
    head = np.frombuffer(prefix.encode(), dtype=np.uint8)
    rows = np.concatenate([np.broadcast_to(head, (n, len(head))), digits], axis=1)
    width = rows.shape[1]
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(rows)))


def _ids(tag: int, n: int, prefix: str = "") -> pa.StringArray:
    return hex_ids(_mix64((np.uint64(tag) << np.uint64(40)) + np.arange(n, dtype=np.uint64)), prefix)


def _list(offsets: np.ndarray, values: pa.Array) -> pa.ListArray:
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), values)


def _offsets(lengths: np.ndarray) -> np.ndarray:
    out = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    return out


def _sublist(row_of_slot: np.ndarray, keep: np.ndarray, n_rows: int, values: pa.Array) -> pa.ListArray:
    """The list per row of the kept slots (slots are grouped by row, in row order)."""
    lengths = np.bincount(row_of_slot[keep], minlength=n_rows)
    return _list(_offsets(lengths), values.filter(pa.array(keep)))


def _timestamps(spec: Spec, rng: np.random.Generator, n: int, first_hour: float, hours: float) -> np.ndarray:
    """Microseconds since the epoch on a random workday of the week, within working hours."""
    day = rng.integers(0, WORKDAYS, n)
    offset = (first_hour * HOUR_US + rng.random(n) * hours * HOUR_US).astype(np.int64)
    base = int(spec.week_start.timestamp() * 1_000_000)
    return base + day * DAY_US + offset


def _ts_array(us: np.ndarray) -> pa.TimestampArray:
    return pa.array(us, type=pa.timestamp("us", tz="UTC"))


class Org:
    """People laid out in contiguous blocks: teams inside departments."""

    def __init__(self, spec: Spec, rng: np.random.Generator):
        n = spec.n_people
        if n < 50:
            raise ValueError("the benchmark organisation needs at least 50 people")
        n_big = int(np.clip(round(np.sqrt(n) / 5), 5, len(DEPARTMENT_NAMES)))
        weights = rng.lognormal(0.0, 0.6, n_big)
        sizes = np.maximum(8, np.floor(weights / weights.sum() * (n - 3))).astype(int)
        sizes[0] += (n - 3) - sizes.sum()  # the largest share absorbs the rounding
        sizes = np.append(sizes, 3)
        names = DEPARTMENT_NAMES[:n_big] + [TINY_DEPARTMENT]
        dept = np.repeat(np.arange(len(sizes)), sizes)
        # Teams of 4-10 inside each department (a loop per team, not per event).
        team_sizes: list[int] = []
        for size in sizes:
            left, block = int(size), []
            while left > 0:
                t = int(rng.integers(4, 11))
                if left - t < 4:
                    t = left
                block.append(t)
                left -= t
            team_sizes.extend(block)
        team_sizes_arr = np.array(team_sizes)
        team = np.repeat(np.arange(len(team_sizes_arr)), team_sizes_arr)

        self.n = n
        self.dept, self.team = dept, team
        self.dept_names = names
        self.dept_start = _offsets(sizes)[:-1]
        self.dept_size = sizes
        self.team_start = _offsets(team_sizes_arr)[:-1]
        self.team_size = team_sizes_arr
        self.team_dept = dept[self.team_start]
        self.pos_in_team = np.arange(n) - self.team_start[team]
        self.pos_in_dept = np.arange(n) - self.dept_start[dept]
        # Heavy-tailed activity, mean 1.
        sigma = spec.activity_sigma
        self.activity = rng.lognormal(0.0, sigma, n) / np.exp(sigma**2 / 2)
        cum = np.cumsum(self.activity)
        self._cum = cum / cum[-1]
        # Pseudonym-shaped ids: p_ + 16 hex digits, unique; then the external domains.
        raw = np.frombuffer(rng.bytes(8 * n), dtype=np.uint64)
        while len(np.unique(raw)) < n:  # astronomically unlikely
            raw = np.frombuffer(rng.bytes(8 * n), dtype=np.uint64)
        self.person_ids = hex_ids(raw, "p_")
        external = hex_ids(np.frombuffer(rng.bytes(8 * N_EXTERNAL_DOMAINS), dtype=np.uint64), "x_")
        self.all_ids = pa.concat_arrays([self.person_ids, external])  # index >= n: external

    # Picks return person indexes; "other" picks never return the person themself.
    def team_other(self, who: np.ndarray, u: np.ndarray) -> np.ndarray:
        return self._other(self.team_start[self.team[who]], self.team_size[self.team[who]], self.pos_in_team[who], who, u)

    def dept_other(self, who: np.ndarray, u: np.ndarray) -> np.ndarray:
        return self._other(self.dept_start[self.dept[who]], self.dept_size[self.dept[who]], self.pos_in_dept[who], who, u)

    @staticmethod
    def _other(start, size, pos, who, u):
        j = np.floor(u * (size - 1)).astype(np.int64)
        j += j >= pos
        return np.where(size > 1, start + j, who)

    def anyone(self, u: np.ndarray) -> np.ndarray:
        """Activity-weighted pick across the organisation (may be the person themself)."""
        return np.minimum(np.searchsorted(self._cum, u, side="right"), self.n - 1)

    def external(self, rng: np.random.Generator, k: int) -> np.ndarray:
        return self.n + rng.integers(0, N_EXTERNAL_DOMAINS, k)

    def build_contacts(self, rng: np.random.Generator) -> None:
        """Each person's contact list, most frequent first: up to 9 team mates (repeated in
        small teams), 12 people of the department, 5 of the whole organisation. Interactions
        pick a contact with Zipf-like odds (1 / rank), so that people talk to the same
        colleagues again and again (~30 distinct contacts each, ~320k edges at 10k people)."""
        n = self.n
        j = np.arange(N_TEAM_CONTACTS)
        size = self.team_size[self.team][:, None]
        team_part = self.team_start[self.team][:, None] + (self.pos_in_team[:, None] + 1 + j) % size
        who = np.repeat(np.arange(n), N_DEPT_CONTACTS)
        dept_part = self.dept_other(who, rng.random(len(who))).reshape(n, N_DEPT_CONTACTS)
        org_part = self.anyone(rng.random(n * N_ORG_CONTACTS)).reshape(n, N_ORG_CONTACTS)
        self.contacts = np.concatenate([team_part, dept_part, org_part], axis=1)
        odds = 1.0 / np.arange(1, self.contacts.shape[1] + 1)
        self._rank_cum = np.cumsum(odds) / odds.sum()

    def contact(self, rng: np.random.Generator, who: np.ndarray, external_share: float = 0.0) -> np.ndarray:
        """One contact per entry of `who` (an external domain with probability external_share)."""
        k = len(who)
        rank = np.minimum(np.searchsorted(self._rank_cum, rng.random(k), side="right"), self.contacts.shape[1] - 1)
        out = self.contacts[who, rank]
        if external_share > 0:
            out = np.where(rng.random(k) < external_share, self.external(rng, k), out)
        return out

    def names(self, index: np.ndarray) -> pa.Array:
        return self.all_ids.take(pa.array(index))


def _provenance_columns(spec: Spec, source: str, tag: int, n: int) -> dict[str, pa.Array]:
    pulled_at = PULLED_AT + timedelta(weeks=spec.week)
    return {
        "record_id": _ids(spec.tag(tag), n),
        "source": pa.DictionaryArray.from_arrays(np.zeros(n, np.int32), [source]).cast(pa.string()),
        "pulled_at": _ts_array(np.full(n, int(pulled_at.timestamp() * 1_000_000), dtype=np.int64)),
        "run_id": pa.DictionaryArray.from_arrays(np.zeros(n, np.int32), [RUN_ID]).cast(pa.string()),
        "key_version": pa.DictionaryArray.from_arrays(np.zeros(n, np.int32), [KEY_VERSION]).cast(pa.string()),
        "file_ref": pa.nulls(n, pa.string()),
    }


def _categorical(values: list[str], codes: np.ndarray) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), values).cast(pa.string())


def _frame(columns: dict[str, pa.Array], source: str) -> pd.DataFrame:
    schema = BRONZE[source].schema
    table = pa.table({name: columns[name] for name in schema.fieldNames()})
    return table.to_pandas(
        types_mapper=lambda t: pd.ArrowDtype(t) if (pa.types.is_string(t) or pa.types.is_list(t)) else None
    )


# ------------------------------------------------------------------ sources

def _people(org: Org, spec: Spec, rng: np.random.Generator) -> pd.DataFrame:
    n = org.n
    idx = np.arange(n)
    # Leads are the first of their team and report to their department head (its first
    # person); members report to their lead; heads have no manager.
    lead = org.team_start[org.team]
    head = org.dept_start[org.dept]
    manager = np.where(idx == lead, head, lead)
    has_manager = idx != head
    city = rng.integers(0, len(CITIES), n)
    hire = (np.datetime64("2014-01-01") + rng.integers(0, 4400, n)).astype("datetime64[D]")
    columns = _provenance_columns(spec, "people", 4, n) | {
        "person": org.person_ids,
        "department": _categorical(org.dept_names, org.dept),
        "team": _categorical([f"T{t:05d}" for t in range(len(org.team_size))], org.team),
        "manager": pc.if_else(pa.array(has_manager), org.names(manager), pa.nulls(n, pa.string())),
        "location": _categorical([c for c, _ in CITIES], city),
        "hire_date": pa.array(hire, type=pa.date32()),
        "timezone": _categorical([z for _, z in CITIES], city),
        "origin": pa.array(["roster"] * n, type=pa.string()),
    }
    return _frame(columns, "people")


def _email(org: Org, spec: Spec, rng: np.random.Generator) -> pd.DataFrame:
    per_person = rng.poisson(spec.emails_per_day * WORKDAYS * org.activity)
    sender = np.repeat(np.arange(org.n), per_person)
    m = len(sender)
    k = 1 + rng.poisson(spec.extra_recipients, m)
    is_broadcast = rng.random(m) < spec.broadcast_email_share
    k = np.where(is_broadcast, rng.integers(30, 81, m), k)
    row = np.repeat(np.arange(m), k)
    slot_sender = sender[row]
    recipient = org.contact(rng, slot_sender, spec.external_share)
    # Broadcast recipients come from the sender's department (with repeats: deduplicated later).
    in_broadcast = is_broadcast[row]
    recipient = np.where(in_broadcast, org.dept_other(slot_sender, rng.random(len(row))), recipient)
    rank = np.arange(len(row)) - _offsets(k)[:-1][row]
    field = np.where(rank == 0, 0, np.searchsorted([0.5, 0.95], rng.random(len(row)), side="right"))
    names = org.names(recipient)
    sent = _timestamps(spec, rng, m, 7.0, 11.0)
    columns = _provenance_columns(spec, "email", 1, m) | {
        "message_ref": _ids(spec.tag(11), m),
        "thread_ref": _ids(spec.tag(12), m),
        "sent_at": _ts_array(sent),
        "sender": org.names(sender),
        "to": _sublist(row, field == 0, m, names),
        "cc": _sublist(row, field == 1, m, names),
        "bcc": _sublist(row, field == 2, m, names),
        "n_recipients": pa.array(_distinct_to_cc(row, field, recipient, sender, m, org.n + N_EXTERNAL_DOMAINS)),
    }
    return _frame(columns, "email")


def _distinct_to_cc(row, field, recipient, sender, m: int, id_space: int) -> np.ndarray:
    """n_recipients as the email parser computes it: distinct To/Cc mailboxes other than the
    sender's, external ones included (Bcc is not counted)."""
    keep = (field < 2) & (recipient != sender[row])
    keys = np.unique(row[keep].astype(np.int64) * id_space + recipient[keep])
    return np.bincount(keys // id_space, minlength=m).astype(np.int32)


def _calendar(org: Org, spec: Spec, rng: np.random.Generator) -> pd.DataFrame:
    per_person = rng.poisson(spec.meetings_per_week * org.activity)
    organizer = np.repeat(np.arange(org.n), per_person)
    m = len(organizer)
    invitees = 1 + rng.poisson(spec.extra_invitees, m)
    all_hands = rng.random(m) < spec.all_hands_share
    invitees = np.where(all_hands, rng.integers(40, 81, m), invitees)
    k = invitees + 1  # the organizer is listed first, as CHAIR
    row = np.repeat(np.arange(m), k)
    rank = np.arange(len(row)) - _offsets(k)[:-1][row]
    slot_org = organizer[row]
    person = org.contact(rng, slot_org, spec.external_share)
    person = np.where(all_hands[row], org.dept_other(slot_org, rng.random(len(row))), person)
    person = np.where(rank == 0, slot_org, person)
    partstat_codes = np.searchsorted([0.72, 0.82, 0.92], rng.random(len(row)), side="right")
    partstat_codes = np.where(rank == 0, 0, partstat_codes)
    attendees = pa.StructArray.from_arrays(
        [
            org.names(person),
            _categorical(["ACCEPTED", "TENTATIVE", "DECLINED", "NEEDS-ACTION"], partstat_codes),
            _categorical(["REQ-PARTICIPANT", "CHAIR"], (rank == 0).astype(np.int32)),
        ],
        names=["person", "partstat", "role"],
    )
    duration = rng.choice(np.array([15.0, 30.0, 30.0, 30.0, 45.0, 60.0, 60.0, 90.0]), m)
    is_all_day = rng.random(m) < 0.005
    day = rng.integers(0, WORKDAYS, m)
    quarter = rng.integers(8 * 4, 17 * 4, m)
    base = int(spec.week_start.timestamp() * 1_000_000)
    starts = base + day * DAY_US + np.where(is_all_day, 0, quarter * 15 * 60 * 1_000_000)
    duration = np.where(is_all_day, 1440.0, duration)
    ends = starts + (duration * 60 * 1_000_000).astype(np.int64)
    status = np.where(rng.random(m) < 0.03, 1, 0)
    columns = _provenance_columns(spec, "calendar", 2, m) | {
        "event_ref": _ids(spec.tag(21), m),
        "starts_at": _ts_array(starts),
        "ends_at": _ts_array(ends),
        "duration_minutes": pa.array(duration),
        "organizer": org.names(organizer),
        "attendees": _list(_offsets(k), attendees),
        "status": _categorical(["CONFIRMED", "CANCELLED"], status),
        "is_recurring": pa.array(rng.random(m) < 0.4),
        "is_all_day": pa.array(is_all_day),
    }
    return _frame(columns, "calendar")


def _chat(org: Org, spec: Spec, rng: np.random.Generator) -> pd.DataFrame:
    per_person = rng.poisson(spec.chats_per_day * WORKDAYS * org.activity)
    sender = np.repeat(np.arange(org.n), per_person)
    m = len(sender)
    is_dm = rng.random(m) < spec.dm_share
    post = ~is_dm
    # DMs: one partner, members = [sender, partner] (Slack lists both).
    partner = org.contact(rng, sender)
    lo, hi = np.minimum(sender, partner), np.maximum(sender, partner)
    dm_conversation = _mix64((np.uint64(31) << np.uint64(48)) + lo.astype(np.uint64) * np.uint64(org.n) + hi.astype(np.uint64))
    # Channel posts: in the team or the department channel, 1-2 mentions from team/department.
    in_team_channel = rng.random(m) < 0.6
    channel_id = np.where(in_team_channel, org.team[sender], len(org.team_size) + org.dept[sender])
    post_conversation = _mix64((np.uint64(32) << np.uint64(48)) + channel_id.astype(np.uint64))
    conversation = hex_ids(np.where(is_dm, dm_conversation, post_conversation))
    system = post & (rng.random(m) < spec.system_share)
    subtype_code = np.where(system, np.where(rng.random(m) < 0.5, 1, 2), 0)  # 0: null
    is_reply = post & ~system & (rng.random(m) < spec.thread_reply_share)
    n_mentions = np.where(post & ~system, 1 + (rng.random(m) < 0.4), 0)
    n_reactions = np.where(post & ~system & (rng.random(m) < spec.reaction_share), 1 + (rng.random(m) < 0.5), 0)

    members_len = np.where(is_dm, 2, 0)
    mrow = np.repeat(np.arange(m), members_len)
    first = np.r_[True, mrow[1:] != mrow[:-1]] if len(mrow) else np.zeros(0, bool)
    members = _list(_offsets(members_len), org.names(np.where(first, sender[mrow], partner[mrow])))

    def contacts(lengths: np.ndarray) -> pa.ListArray:
        slot_row = np.repeat(np.arange(m), lengths)
        who = org.contact(rng, sender[slot_row])
        return _list(_offsets(lengths), org.names(who))

    parent = org.contact(rng, sender)
    bot = subtype_code == 2
    sent = _timestamps(spec, rng, m, 7.0, 11.0)
    columns = _provenance_columns(spec, "chat", 3, m) | {
        "conversation_ref": conversation,
        "channel_kind": _categorical(["channel", "dm"], is_dm.astype(np.int32)),
        "sent_at": _ts_array(sent),
        "sender": pc.if_else(pa.array(bot), pa.nulls(m, pa.string()), org.names(sender)),
        "subtype": pc.if_else(
            pa.array(subtype_code > 0),
            _categorical(["", "channel_join", "bot_message"], subtype_code),
            pa.nulls(m, pa.string()),
        ),
        "members": members,
        "mentions": contacts(n_mentions),
        "thread_ref": pc.if_else(pa.array(is_reply), _ids(spec.tag(33), m), pa.nulls(m, pa.string())),
        "is_thread_reply": pa.array(is_reply),
        "parent_author": pc.if_else(pa.array(is_reply), org.names(parent), pa.nulls(m, pa.string())),
        "reactors": contacts(n_reactions),
    }
    return _frame(columns, "chat")


def generate(n_people: int, seed: int = Spec.seed, profile: str = "standard", week: int = 0) -> Workload:
    """One week of one organisation. The organisation (people, teams, contacts, activity) is a
    function of (n_people, seed) alone, so every `week` of a backfill is the same company; the
    events of each week come from their own random streams."""
    spec = Spec(n_people=n_people, seed=seed, week=week, **PROFILES[profile])
    org = Org(spec, np.random.default_rng(seed))
    org.build_contacts(np.random.default_rng([seed, 5]))
    return Workload(
        spec=spec,
        people=_people(org, spec, np.random.default_rng([seed, 4])),
        email=_email(org, spec, spec.rng(1)),
        calendar=_calendar(org, spec, spec.rng(2)),
        chat=_chat(org, spec, spec.rng(3)),
    )


# ------------------------------------------------------------------ outputs

def to_arrow(df: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(df, preserve_index=False)


def write_parquet(workload: Workload, folder: Path) -> dict[str, str]:
    """The same bronze records as parquet files (the baselines' input)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, df in workload.frames.items():
        path = folder / f"{name}.parquet"
        # Without the pandas metadata: pd.read_parquet cannot rebuild ArrowDtype list columns.
        pq.write_table(to_arrow(df).replace_schema_metadata(None), path)
        paths[name] = str(path)
    return paths


def write_bronze(spark, workload: Workload, lake_root: Path, parquet_paths: dict[str, str] | None = None,
                 append: bool = False) -> dict[str, str]:
    """Write the four bronze Delta tables (the paths of schemas.bronze.BRONZE) with Spark;
    `append` adds a further week's events to them (the roster, the same every week, is kept).

    From the pandas frames (spark.createDataFrame through Arrow) by default; from the parquet
    dump when given: at 10k people that is 3-5x faster and gives a compact bronze (Arrow
    createDataFrame makes one file per 10,000-row batch: 253 files for the chat table)."""
    from jobs import lake

    paths = {}
    for name, df in workload.frames.items():
        if append and name == "people":
            continue
        table = BRONZE[name]
        path = lake.table_path(lake_root, table)
        if parquet_paths:
            frame = spark.read.schema(table.schema).parquet(parquet_paths[name])
        else:
            frame = spark.createDataFrame(df, schema=table.schema)
        frame.write.format("delta").mode("append" if append else "overwrite").options(
            **lake.table_properties(table)).save(path)
        paths[name] = path
    return paths

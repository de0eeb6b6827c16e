"""What every API source module returns, so that pulled records load exactly like landed ones.

A vendor module (``msgraph``, ``google``, ``slack``) pages through its API with an
``ApiClient`` and turns each raw record into the same bronze row a file parser would produce
(``jobs/sources/*``: the pseudonymising and default-deny code is shared, not copied). It keeps
its cursors in ``PullContext.state``: a plain ``{name: value}`` dict that ``jobs.pull.run``
loads from, and saves back to, the lake (``state/pull_state``) once bronze is written.

State names never hold an address or a channel name: key them by directory id or by a keyed
reference (``pseudo.ref``), e.g. ``mail:<directory id>:inbox`` or ``slack:<ref of channel>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import re

from jobs.privacy.pseudonym import Pseudonymiser
from jobs.pull.http import ApiClient
from jobs.sources.base import ParseOutcome
from jobs.weeks import label, week_start

ITEM_PREFIX = "item:"
_WEEK_SUFFIX = re.compile(r":(\d{4}-W\d{2})$")


@dataclass(frozen=True)
class DirectoryUser:
    """A mailbox / calendar to read. ``address`` is used in request URLs only, never stored."""

    directory_id: str
    address: str


@dataclass
class PullContext:
    client: ApiClient
    pseudo: Pseudonymiser
    # This vendor+kind's saved state, mutated in place by the puller (cursors, item map).
    state: dict[str, str] = field(default_factory=dict)
    # [start, end) of what to fetch when a scope has no cursor yet (first pull, --weeks, or a
    # full resync after an expired token). Aware UTC datetimes.
    window: tuple[datetime, datetime] | None = None
    # True when --weeks was given: windowed requests even where a cursor exists.
    explicit_window: bool = False
    # The directory's users (from the vendor's people pull): whose mail and calendars to read.
    users: list[DirectoryUser] = field(default_factory=list)
    # The pull's "now" (injectable, so tests and the offline demo can live in a fixed week).
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    # Rolling pulls only: scopes whose window is fixed per cursor (Graph calendar weeks) are
    # polled from here on (the late-changes horizon); None: from the window's start.
    poll_from: datetime | None = None


@dataclass
class PullOutcome(ParseOutcome):
    """Rows and rejections as for files, plus what an API can say that a file cannot."""

    # bronze/calendar record_ids cancelled since the last pull (Graph @removed from the
    # organizer's calendar, isCancelled, Google status=cancelled).
    cancelled: list[str] = field(default_factory=list)
    # (record_id, attendee pseudonym): an attendee removed the meeting from their calendar.
    declined: list[tuple[str, str]] = field(default_factory=list)
    # Scopes (mailboxes, calendars, channels) whose expired token forced a full resync.
    resyncs: int = 0
    # People pulls only: the directory users whose mail and calendars to read next.
    users: list[DirectoryUser] = field(default_factory=list)
    # People pulls only: the lower-cased domains of the directory's addresses.
    domains: set[str] = field(default_factory=set)

    def extend(self, other: "ParseOutcome") -> None:
        super().extend(other)
        if isinstance(other, PullOutcome):
            self.cancelled.extend(other.cancelled)
            self.declined.extend(other.declined)
            self.resyncs += other.resyncs
            self.users.extend(other.users)
            self.domains |= other.domains


# ---------------------------------------------------------------- calendar item map
# An API's "removed"/"cancelled" item may carry nothing but its id, so calendar pullers keep
# ``item:<ref of mailbox and item id>`` = ``<record_id>|<"o" or the owner's pseudonym>|<week>``.


def item_entry(record_id: str, who: str, starts_at: datetime) -> str:
    """The item map value: the bronze record, whose copy it is ("o": the organizer's, else the
    calendar owner's pseudonym), and the ISO week of the occurrence (for pruning)."""
    return f"{record_id}|{who}|{label(week_start(starts_at))}"


def parse_item_entry(value: str | None) -> tuple[str, str] | None:
    """(record_id, who) of an item map value (entries written before weeks were kept too)."""
    if not value or "|" not in value:
        return None
    record_id, who = value.split("|")[:2]
    return record_id, who


def prune_before(state: dict[str, str], first_week: str) -> int:
    """Forget what a rolling pull no longer polls: per-week cursors (names ending in
    ``:<YYYY-Www>``) and item map entries of occurrences before ``first_week``. Without this,
    state grows by every user's every meeting, every week. Returns how many were dropped."""
    stale = []
    for name, value in state.items():
        week = _WEEK_SUFFIX.search(name)
        if week and week.group(1) < first_week:
            stale.append(name)
        elif name.startswith(ITEM_PREFIX) and value.count("|") >= 2 and value.rsplit("|", 1)[1] < first_week:
            stale.append(name)
    for name in stale:
        del state[name]
    return len(stale)

"""The one registry of source kinds: where each kind lands, how its files are parsed, which
APIs pull it, which bronze table and event-time column it has, and how silver turns it into
events. Adding a source touches this file (plus its parser / API module and its schema).

Importing this module loads neither Spark nor any parser (DAG files import it at parse time):
callables are resolved on use.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Callable

from schemas import SOURCES


def _lazy(target: str) -> Callable:
    """``"module:function"`` resolved at call time."""
    module, _, name = target.partition(":")

    def call(*args, **kwargs):
        return getattr(import_module(module), name)(*args, **kwargs)

    call.__qualname__ = call.__name__ = name
    return call


def _parser(target: str, takes_window: bool = False) -> Callable:
    """A parser called uniformly as ``parse(folder, pseudo, window=None, only=None)``: only
    calendars use the week window (to expand recurrences); ``only`` limits parsing to the new
    or changed landing units (jobs/landing.py)."""
    parse = _lazy(target)

    def call(folder, pseudo, window=None, only=None):
        kwargs = {"only": only} if only is not None else {}
        if takes_window:
            kwargs["window"] = window
        return parse(folder, pseudo, **kwargs)

    call.__qualname__ = call.__name__ = parse.__name__
    return call


def _single_file_units(target: str) -> Callable:
    """Units whose records name the unit itself (an mbox, an .ics, a CSV): (rel, files, [rel])."""
    units = _lazy(target)

    def call(folder):
        return [(rel, files, [rel]) for rel, files in units(folder)]

    return call


@dataclass(frozen=True)
class SourceKind:
    name: str  # bronze/<name>, quarantine/<name>
    landing_folder: str  # below the landing root
    parse: Callable  # (folder, pseudo, window, only) -> ParseOutcome
    event_time: str | None  # bronze column that places a record in a week (None: not an event)
    events: Callable | None  # silver: (bronze_df, TieRules) -> events_df
    apis: tuple[str, ...]  # vendors whose API pull yields this kind
    # (folder) -> [(unit path, files, record file names)]: what the landing manifest tracks.
    units: Callable | None = None


KINDS: dict[str, SourceKind] = {
    kind.name: kind
    for kind in (
        SourceKind("email", "email", _parser("jobs.sources.email:parse_email"), "sent_at",
                   _lazy("jobs.transforms.silver:email_events"), ("msgraph", "google"),
                   _single_file_units("jobs.sources.email:landed_units")),
        SourceKind("calendar", "calendar", _parser("jobs.sources.calendar:parse_calendar", takes_window=True), "starts_at",
                   _lazy("jobs.transforms.silver:meeting_events"), ("msgraph", "google"),
                   _single_file_units("jobs.sources.calendar:landed_units")),
        SourceKind("chat", "chat/slack", _parser("jobs.sources.chat:parse_slack"), "sent_at",
                   _lazy("jobs.transforms.silver:chat_events"), ("slack",),
                   _lazy("jobs.sources.chat:landed_units")),
        SourceKind("people", "people", _parser("jobs.sources.people:parse_people"), None, None,
                   ("msgraph", "google"), _single_file_units("jobs.sources.people:landed_units")),
    )
}
assert tuple(KINDS) == SOURCES, "schemas.SOURCES and the registry must list the same kinds"

# API vendors: the module that pulls them (KINDS: kind -> pull function, DEFAULT_BASE_URL) and
# the Airflow connection that configures them.
VENDORS: dict[str, str] = {
    "msgraph": "jobs.pull.msgraph",
    "google": "jobs.pull.google",
    "slack": "jobs.pull.slack",
}


def connection_id(vendor: str) -> str:
    return f"ona_{vendor}"


def vendor_kinds(vendor: str) -> tuple[str, ...]:
    """The kinds a vendor's pull yields, people first (mail and calendars need the directory)."""
    return tuple(k for k in ("people", "email", "calendar", "chat") if vendor in KINDS[k].apis)


LANDING_FOLDERS = {name: kind.landing_folder for name, kind in KINDS.items()}
# The opt-out list lives next to the rosters, in the people folder (docs/privacy.md, "Opt-out"),
# but is not a roster: nobody on it may become a person, a domain or a row.
OPT_OUT_FILE = "opt_out.csv"

# The flag file a writer drops in a landing folder once an export is complete (not data): the
# Airflow watchers trigger on it, the landing manifest does not count it as a file.
READY_FLAG = "_READY"
EVENT_TIME = {name: kind.event_time for name, kind in KINDS.items() if kind.event_time}

"""The HR roster: one CSV row per person (``email,department,team,manager_email,location,
hire_date,timezone``), read from every *.csv below a folder.

Empty cells become None. Header names are matched without regard to case or surrounding
spaces; extra columns are ignored (and never read into rows), except people's names (``name``,
``full_name``, ``display_name``, ``first_name`` + ``last_name``, ...: ``NAME_COLUMNS``), which
leave only as keyed refs in ``ParseOutcome.name_refs`` (``jobs.privacy.names``). A file that is not a roster
(a missing column: another CSV dropped in the folder, or the wrong export) or that is not
UTF-8 is rejected as a whole, with one rejection naming the missing columns or the encoding;
the other roster files still load.
"""

from __future__ import annotations

import csv
import io
import re
import zoneinfo
from datetime import date
from pathlib import Path
from typing import Iterator

from jobs.privacy.names import name_refs
from jobs.privacy.pseudonym import PERSON_PREFIX, Pseudonymiser, canonical_address
from jobs.source_kinds import OPT_OUT_FILE
from jobs.sources.base import ParseOutcome, Rejection, files_under

COLUMNS = ("email", "department", "team", "manager_email", "location", "hire_date", "timezone")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Optional columns holding a whole name, and (given, family) pairs read as one name.
NAME_COLUMNS = ("name", "full_name", "display_name", "preferred_name", "employee_name", "real_name")
NAME_PARTS = (("first_name", "last_name"), ("given_name", "family_name"), ("given_name", "surname"),
              ("first_name", "surname"), ("preferred_name", "last_name"))
_NAMES = "\x00names"  # the cells key of a row's names: no CSV header can collide with it


def roster_csvs(folder: Path) -> list[Path]:
    """The roster files below ``folder``: every *.csv except the opt-out list."""
    return [p for p in files_under(folder, ".csv") if p.name.lower() != OPT_OUT_FILE]


def roster_domains(folder: Path) -> frozenset[str]:
    """The lower-cased e-mail domains of the roster: the organisation's internal domains
    (files that are not rosters are skipped)."""
    domains = set()
    for _, rows in _roster_files(Path(folder)):
        for _, row in rows if not isinstance(rows, str) else []:
            address = canonical_address(row["email"])
            if address:
                domains.add(address.rsplit("@", 1)[1])
    return frozenset(domains)


def landed_units(folder: Path) -> list[tuple[str, list[Path]]]:
    """(relative path, [file]) of every roster file this parser reads below ``folder``."""
    folder = Path(folder)
    return [(path.relative_to(folder).as_posix(), [path]) for path in roster_csvs(folder)]


def parse_people(folder: Path, pseudo: Pseudonymiser, only: set[str] | None = None) -> ParseOutcome:
    """One row per roster line; lines that cannot be used are rejected with a reason, and so
    is a whole file that is not a roster. ``only``: the relative paths of the files to read
    (``landed_units``), None for all."""
    outcome = ParseOutcome()
    for rel, rows in _roster_files(Path(folder), only):
        file_ref = pseudo.ref("file", rel)
        if isinstance(rows, str):
            outcome.rejections.append(Rejection(pseudo.ref("people-pos", rel, "file"), rows, file_ref))
            continue
        for index, row in rows:
            # Also for rows rejected below: a name is a name whether or not the row loads.
            outcome.name_refs |= name_refs(pseudo, *row[_NAMES])
            _parse_row(outcome, pseudo, rel, file_ref, index, row)
    return outcome


def _parse_row(outcome: ParseOutcome, pseudo: Pseudonymiser, rel: str, file_ref: str, index: int, row: dict) -> None:
    record_ref = pseudo.ref("people-pos", rel, index)

    def reject(reason: str) -> None:
        outcome.rejections.append(Rejection(record_ref, reason, file_ref))

    person = pseudo.person(row["email"])
    if person is None:
        return reject("no usable email")
    if not person.startswith(PERSON_PREFIX):
        # Outside the organisation's domains the pseudonym is the domain's: attributes
        # of one person must not be pinned on everybody at that domain.
        return reject("email outside the internal domains")
    hire_date = _cell(row["hire_date"])
    if hire_date is not None:
        try:
            if not _ISO_DATE.match(hire_date):
                raise ValueError
            hire_date = date.fromisoformat(hire_date)
        except ValueError:
            return reject("unparseable hire_date")
    zone = _cell(row["timezone"])
    if zone is not None and not _is_zone(zone):
        return reject("unknown time zone")
    manager_email = _cell(row["manager_email"])
    outcome.rows.append(
        {
            "record_id": person,
            "file_ref": file_ref,
            "person": person,
            "department": _cell(row["department"]),
            "team": _cell(row["team"]),
            "manager": pseudo.person(manager_email) if manager_email else None,
            "location": _cell(row["location"]),
            "hire_date": hire_date,
            "timezone": zone,
            "origin": "roster",
        }
    )


def directory_row(pseudo: Pseudonymiser, origin: str, address: str | None, *, department: str | None = None,
                  team: str | None = None, manager_address: str | None = None, location: str | None = None,
                  hire_date: date | None = None, timezone: str | None = None) -> dict | None:
    """The bronze/people row of one directory user (Graph /users, Google Directory), or None
    when the address is unusable or outside the internal domains (a directory entry for a
    guest must not pin attributes on a whole outside domain)."""
    person = pseudo.person(address)
    if person is None or not person.startswith(PERSON_PREFIX):
        return None
    manager = pseudo.person(manager_address) if manager_address else None
    return {
        "record_id": pseudo.ref("directory", origin, person),
        "file_ref": None,
        "person": person,
        "department": _cell(department),
        "team": _cell(team),
        "manager": manager if manager and manager.startswith(PERSON_PREFIX) else None,
        "location": _cell(location),
        "hire_date": hire_date,
        "timezone": timezone if timezone and _is_zone(timezone) else None,
        "origin": origin,
    }


def _roster_files(folder: Path, only: set[str] | None = None) -> Iterator[tuple[str, list[tuple[int, dict]] | str]]:
    """(relative path, [(data-row index, {column: cell})]) of every roster file, or
    (relative path, reason) for a file that cannot be read as a roster. A file is read
    whole before any of its rows is used: rosters are small, and a file that turns out not
    to be UTF-8 half-way through must not load half of its rows."""
    for path in roster_csvs(folder):
        rel = path.relative_to(folder).as_posix()
        if only is not None and rel not in only:
            continue
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError:
            yield rel, "roster is not UTF-8"
            continue
        except OSError as exc:
            yield rel, f"unreadable file: {type(exc).__name__}"
            continue
        try:
            reader = csv.DictReader(io.StringIO(text, newline=""))
            header = {(name or "").strip().lower(): name for name in reader.fieldnames or []}
            missing = [c for c in COLUMNS if c not in header]
            if missing:
                yield rel, f"not a roster: missing column(s) {', '.join(missing)}"
                continue
            rows = [(index, {**{c: raw.get(header[c]) for c in COLUMNS}, _NAMES: _names(raw, header)})
                    for index, raw in enumerate(reader)]
        except csv.Error:
            yield rel, "unparseable CSV"
            continue
        yield rel, rows


def _names(raw: dict, header: dict[str, str]) -> list[str]:
    # HR exports spell these "Full Name", "first-name", "FirstName" as often as "full_name".
    columns = {re.sub(r"[^a-z]", "", name): original for name, original in header.items()}

    def cell(column: str) -> str | None:
        original = columns.get(column.replace("_", ""))
        # DictReader files a row's surplus cells under the key None: never read those.
        return _cell(raw.get(original)) if original is not None else None

    names = [cell(c) for c in NAME_COLUMNS]
    names += [f"{cell(a)} {cell(b)}" for a, b in NAME_PARTS if cell(a) and cell(b)]
    return [n for n in names if n]


def _cell(value) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _is_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True

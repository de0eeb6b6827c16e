"""The HR roster: one CSV row per person (``email,department,team,manager_email,location,
hire_date,timezone``), read from every *.csv below a folder.

Empty cells become None. Header names are matched without regard to case or surrounding
spaces; extra columns are ignored (and never read into rows); a missing column is an error
of the whole file (ValueError), because it means the export is not the one we expect.
"""

from __future__ import annotations

import csv
import re
import zoneinfo
from datetime import date
from pathlib import Path
from typing import Iterator

from jobs.privacy.pseudonym import PERSON_PREFIX, Pseudonymiser, canonical_address
from jobs.sources.base import ParseOutcome, Rejection, files_under

COLUMNS = ("email", "department", "team", "manager_email", "location", "hire_date", "timezone")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def roster_domains(folder: Path) -> frozenset[str]:
    """The lower-cased e-mail domains of the roster: the organisation's internal domains."""
    domains = set()
    for _, _, _, row in _rows(Path(folder)):
        address = canonical_address(row["email"])
        if address:
            domains.add(address.rsplit("@", 1)[1])
    return frozenset(domains)


def parse_people(folder: Path, pseudo: Pseudonymiser) -> ParseOutcome:
    """One row per roster line; lines that cannot be used are rejected with a reason."""
    outcome = ParseOutcome()
    for rel, file_ref, index, row in _rows(Path(folder), pseudo):
        record_ref = pseudo.ref("people-pos", rel, index)

        def reject(reason: str) -> None:
            outcome.rejections.append(Rejection(record_ref, reason, file_ref))

        person = pseudo.person(row["email"])
        if person is None:
            reject("no usable email")
            continue
        if not person.startswith(PERSON_PREFIX):
            # Outside the organisation's domains the pseudonym is the domain's: attributes
            # of one person must not be pinned on everybody at that domain.
            reject("email outside the internal domains")
            continue
        hire_date = _cell(row["hire_date"])
        if hire_date is not None:
            try:
                if not _ISO_DATE.match(hire_date):
                    raise ValueError
                hire_date = date.fromisoformat(hire_date)
            except ValueError:
                reject("unparseable hire_date")
                continue
        zone = _cell(row["timezone"])
        if zone is not None and not _is_zone(zone):
            reject("unknown time zone")
            continue
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
    return outcome


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


def _rows(folder: Path, pseudo: Pseudonymiser | None = None) -> Iterator[tuple[str, str | None, int, dict]]:
    """(relative path, file_ref, data-row index, {column: cell}) for every roster line."""
    for path in files_under(folder, ".csv"):
        rel = path.relative_to(folder).as_posix()
        file_ref = pseudo.ref("file", rel) if pseudo else None
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = {(name or "").strip().lower(): name for name in reader.fieldnames or []}
            missing = [c for c in COLUMNS if c not in header]
            if missing:
                raise ValueError(f"{rel}: roster is missing column(s): {', '.join(missing)}")
            for index, raw in enumerate(reader):
                yield rel, file_ref, index, {c: raw.get(header[c]) for c in COLUMNS}


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

"""The opt-out list: people who are dropped at ingest and erased from what the lake held.

`<landing>/people/opt_out.csv` (or the file named by ONA_OPT_OUT_FILE), one column `email`.
It is read here only, into pseudonyms held in memory for the run; it is not a roster (the
people parser skips it) and nothing from it is written anywhere but counts.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from pathlib import Path

from jobs.privacy.pseudonym import PERSON_PREFIX, Pseudonymiser
from jobs.source_kinds import LANDING_FOLDERS, OPT_OUT_FILE

log = logging.getLogger("ona")


class OptOutFileError(ValueError):
    """The list cannot be read: refusing beats running without it."""


@dataclass(frozen=True)
class OptOut:
    people: frozenset[str]  # pseudonyms of the internal people on the list
    rows: int = 0  # data rows in the file
    unusable: int = 0  # rows without a usable address
    external: int = 0  # outside addresses: never held as individuals, nothing to drop


def opt_out_path(landing: Path | None, configured: str | None) -> Path | None:
    if configured:
        return Path(configured)
    if landing is not None:
        return Path(landing) / LANDING_FOLDERS["people"] / OPT_OUT_FILE
    return None


def read_opt_out(path: Path | None, pseudo: Pseudonymiser, required: bool = False) -> OptOut:
    """The list's people as pseudonyms. A missing file is an empty list, unless it was named
    explicitly (`required`): then it is an error, as is a file without an `email` column."""
    if path is None or not path.is_file():
        if required:
            raise OptOutFileError(f"opt-out file not found: {path}")
        return OptOut(frozenset())
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise OptOutFileError(f"opt-out file is not UTF-8: {path.name}") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = {(name or "").strip().lower(): name for name in reader.fieldnames or []}
    if "email" not in header:
        raise OptOutFileError(f"opt-out file {path.name} has no `email` column")
    # A separate pseudonymiser: the list's values must not count as the sources' unusable or
    # external addresses.
    quiet = Pseudonymiser(key=pseudo.key, internal_domains=pseudo.internal_domains)
    people, rows, unusable, external = set(), 0, 0, 0
    for row in reader:
        rows += 1
        person = quiet.person(row.get(header["email"]))
        if person is None:
            unusable += 1
        elif person.startswith(PERSON_PREFIX):
            people.add(person)
        else:
            external += 1
    if unusable:
        log.warning("opt-out list: %d row(s) without a usable address were ignored", unusable)
    return OptOut(frozenset(people), rows, unusable, external)

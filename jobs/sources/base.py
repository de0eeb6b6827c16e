"""What every source parser returns, so that ingest can count and load them the same way."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path


@dataclass(frozen=True)
class Rejection:
    """A record that could not be parsed. Never holds raw content: refs are keyed hashes."""

    record_ref: str
    reason: str
    file_ref: str | None = None


@dataclass
class ParseOutcome:
    """Rows follow the bronze schema of their source (schemas/bronze.py) minus the provenance
    columns that ingest fills in (source, pulled_at, run_id, key_version). Every record read
    ends up either in ``rows`` (duplicates included: ingest drops and counts them by
    ``record_id``) or in ``rejections``, so read == len(rows) + len(rejections)."""

    rows: list[dict] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    # Records read but deliberately not joined to a person, by reason (e.g. Slack messages whose
    # author has no e-mail): reported in the run summary, never dropped silently.
    unjoined: dict[str, int] = field(default_factory=dict)
    # Keyed refs of the people's names the parser saw (jobs/privacy/names.py), never the names:
    # the gates block a week whose group label is one of them.
    name_refs: set[str] = field(default_factory=set)

    @property
    def read(self) -> int:
        return len(self.rows) + len(self.rejections)

    def extend(self, other: "ParseOutcome") -> None:
        self.rows.extend(other.rows)
        self.rejections.extend(other.rejections)
        for reason, n in other.unjoined.items():
            self.unjoined[reason] = self.unjoined.get(reason, 0) + n
        self.name_refs |= other.name_refs


def files_under(folder: Path, *suffixes: str) -> list[Path]:
    """Files below a folder with one of the suffixes, in a stable order (deterministic runs)."""
    if not folder.is_dir():
        return []
    wanted = tuple(s.lower() for s in suffixes)
    # Landing folders are often links to where exports were unpacked: follow them.
    return sorted(
        Path(dirpath) / name
        for dirpath, _, names in os.walk(folder, followlinks=True)
        for name in names
        if name.lower().endswith(wanted) and (Path(dirpath) / name).is_file()
    )


def to_utc(moment: datetime) -> datetime:
    """The same instant as an aware UTC datetime. Naive input is an error: a wall-clock time
    without a zone cannot be placed (PySpark would silently read it in the machine's zone)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: no time zone")
    return moment.astimezone(timezone.utc)

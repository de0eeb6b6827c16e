"""Landed files ingested once: a manifest of landing units in the lake (``state/landing_manifest``).

A *unit* is what a parser ingests as a whole: an mbox file, an .eml file, one maildir message,
an .ics file, a roster CSV, a Slack export (a folder export: all its .json files together; a
zip: the file). Each unit is named by its path below the source's landing folder (``rel``),
exactly the path its rows' ``file_ref`` is made of, and kept in the manifest as
``unit_ref = pseudo.ref("file", rel)``, with its size, mtime and a keyed content hash
(``pseudo.ref("content", sha256)``: without the key nobody can tell from the lake whether a
given file was landed).

A run:

1. ``landing_units(source, folder, pseudo)`` lists the units (and counts the files no parser
   reads, never naming them);
2. ``known_units(spark, lake, sources)`` reads the manifest rows of the sources in one read,
   and ``plan(units, known)`` splits a source's units into new, changed and unchanged: equal
   size and mtime -> unchanged without reading the file; otherwise the content hash decides (a
   file touched or copied again with the same bytes is unchanged);
3. the parser reads only ``plan.to_parse`` (``only=``); a changed unit's old bronze rows are
   replaced (``jobs.lake.merge_rows(..., replace_file_refs=plan.replaced_file_refs)``);
4. ``record(spark, lake, units, run_id)`` once bronze is written: one MERGE for the units of
   every source the run ingested. Recording after the load means a run that fails half-way
   parses the same units again next time (bronze merges on ``record_id``, so that is
   harmless).

Nothing here logs or stores a path: units print as their ``unit_ref``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs import lake
from jobs.frames import frame_from_rows
from jobs.privacy.pseudonym import Pseudonymiser
from jobs.source_kinds import KINDS, READY_FLAG
from schemas.state import LANDING_MANIFEST

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_CHUNK = 1 << 20


@dataclass
class LandingUnit:
    source: str
    rel: str = field(repr=False)  # path below the source folder: never logged
    unit_ref: str
    files: tuple[tuple[str, Path], ...] = field(repr=False)  # (name inside the unit, file), hashed in order
    size: int
    mtime_us: int  # microseconds since the epoch (the newest file or folder of the unit)
    file_refs: frozenset[str] = field(repr=False)  # the file_ref values its rows and rejections carry
    _pseudo: Pseudonymiser = field(repr=False, compare=False)
    _hash: str | None = field(default=None, repr=False, compare=False)
    _known: tuple | None = field(default=None, repr=False, compare=False)  # its manifest row, seen by plan

    @property
    def mtime(self) -> datetime:
        return _EPOCH + timedelta(microseconds=self.mtime_us)

    def content_hash(self) -> str:
        """``ref("content", sha256)`` of the unit's bytes (of a folder export: of its files'
        names, sizes and bytes in name order). Read once, on first use."""
        if self._hash is None:
            digest = hashlib.sha256()
            single = len(self.files) == 1 and self.files[0][0] == ""
            for name, path in self.files:
                if not single:
                    digest.update(name.encode("utf-8", "surrogateescape") + b"\0")
                    digest.update(str(path.stat().st_size).encode() + b"\0")
                with path.open("rb") as fh:
                    for chunk in iter(lambda: fh.read(_CHUNK), b""):
                        digest.update(chunk)
            self._hash = self._pseudo.ref("content", digest.hexdigest())
        return self._hash


@dataclass
class IngestPlan:
    new: list[LandingUnit] = field(default_factory=list)
    changed: list[LandingUnit] = field(default_factory=list)
    unchanged: list[LandingUnit] = field(default_factory=list)

    @property
    def to_parse(self) -> set[str]:
        """The ``only=`` argument of the source's parser: new and changed units."""
        return {u.rel for u in self.new + self.changed}

    @property
    def replaced_file_refs(self) -> set[str]:
        """``replace_file_refs`` of ``jobs.lake.merge_rows``: the file_refs of the changed units."""
        return {ref for u in self.changed for ref in u.file_refs}


def landing_units(source: str, folder: Path, pseudo: Pseudonymiser) -> tuple[list[LandingUnit], int]:
    """The units below a source's landing folder, and how many files there no parser reads
    (the ``_READY`` flag, hidden files and a maildir's tmp/ are not counted)."""
    folder = Path(folder)
    units: dict[str, LandingUnit] = {}
    read: set[Path] = set()
    for rel, files, record_names in KINDS[source].units(folder):
        read.update(files)
        root = folder / rel if (folder / rel).is_dir() else None  # a Slack folder export
        try:
            stats = [f.stat() for f in files]
            mtimes = [s.st_mtime_ns for s in stats]
            if root is not None:
                # A folder export also changes when a file is added, removed or renamed: its
                # folders' mtimes say so even when no file's size or mtime moved.
                mtimes += [d.stat().st_mtime_ns for d in {f.parent for f in files} | {root}]
        except OSError:
            continue  # gone since it was listed: not landed
        named = [("", f) if root is None else (f.relative_to(root).as_posix(), f) for f in files]
        unit = LandingUnit(
            source=source, rel=rel, unit_ref=pseudo.ref("file", rel),
            files=tuple(sorted(named, key=lambda item: item[0])),
            size=sum(s.st_size for s in stats), mtime_us=max(mtimes) // 1000,
            file_refs=frozenset(pseudo.ref("file", name) for name in record_names),
            _pseudo=pseudo,
        )
        units[unit.unit_ref] = unit
    return list(units.values()), _count_unrecognised(source, folder, read)


def _count_unrecognised(source: str, folder: Path, read: set[Path]) -> int:
    """Files below the folder that no unit holds, except the ``_READY`` flag, hidden files
    (or in hidden folders), the files of a maildir's tmp/ (deliveries under way) and the
    people folder's opt-out list (read by the privacy step, not by a parser)."""
    from jobs.source_kinds import OPT_OUT_FILE

    if not folder.is_dir():
        return 0
    count = 0
    for dirpath, _, filenames in os.walk(folder, followlinks=True):
        here = Path(dirpath)
        if any(part.startswith(".") for part in here.relative_to(folder).parts):
            continue
        if source == "email" and here.name == "tmp" and all((here.parent / d).is_dir() for d in ("cur", "new")):
            continue
        for name in filenames:
            path = here / name
            if source == "people" and name.lower() == OPT_OUT_FILE:
                continue
            if path not in read and name != READY_FLAG and not name.startswith(".") and path.is_file():
                count += 1
    return count


def known_units(spark: SparkSession, lake_root: Path | str,
                sources: Collection[str]) -> dict[str, dict[str, tuple[int, int, str]]]:
    """{source: {unit_ref: (size, mtime in microseconds, content_hash)}} of the sources'
    manifest rows, in one read (every source named has an entry)."""
    known: dict[str, dict[str, tuple[int, int, str]]] = {source: {} for source in sources}
    rows = (
        lake.read(spark, lake_root, LANDING_MANIFEST)
        .where(F.col("source").isin(sorted(known)))
        .select("source", "unit_ref", "size", F.unix_micros("mtime").alias("mtime_us"), "content_hash")
        .collect()
    )
    for r in rows:
        known[r["source"]][r["unit_ref"]] = (int(r["size"]), int(r["mtime_us"]), r["content_hash"])
    return known


def plan(units: list[LandingUnit], known: Mapping[str, tuple[int, int, str]]) -> IngestPlan:
    """Which units to ingest, given the source's manifest rows (its entry of ``known_units``):
    those the manifest does not know (new), and those whose size or mtime moved and whose
    content hash differs (changed). Equal size and mtime: unchanged, without reading the file."""
    out = IngestPlan()
    for unit in units:
        seen = known.get(unit.unit_ref)
        unit._known = seen
        if seen is None:
            out.new.append(unit)
            continue
        size, mtime_us, content_hash = seen
        if unit.size == size and unit.mtime_us == mtime_us:
            unit._hash = unit._hash or content_hash  # trusted: the same size and mtime
            out.unchanged.append(unit)
        elif unit.content_hash() == content_hash:
            out.unchanged.append(unit)
        else:
            out.changed.append(unit)
    return out


def record(spark: SparkSession, lake_root: Path | str, units: list[LandingUnit], run_id: str) -> None:
    """MERGE the units, of one source or several, into the manifest in one commit. New or
    changed content gets this run's ``run_id`` and ``ingested_at``; a unit with the same
    content keeps those of the run that ingested it and only its size and mtime are refreshed
    (so the next plan does not hash it again). Pass every unit of the plans, unchanged ones
    included: those already recorded as they are (as ``plan`` saw them) are skipped. The MERGE
    names the sources' partitions, so ingests of other sources may record at the same time."""
    now = datetime.now(timezone.utc)
    rows = {}
    for unit in units:
        if unit._known == (unit.size, unit.mtime_us, unit._hash):
            continue
        rows[(unit.source, unit.unit_ref)] = (unit.source, unit.unit_ref, unit.size, unit.mtime, unit.content_hash(),
                                              run_id, now)
    if not rows:
        return
    df = frame_from_rows(spark, rows.values(), LANDING_MANIFEST.schema)
    same = "t.content_hash = s.content_hash"
    sources = tuple(sorted({source for source, _ in rows}))
    lake.merge_rows(spark, lake_root, LANDING_MANIFEST, df, clauses=lambda merge: (
        merge.whenMatchedUpdate(condition=same, set={"size": "s.size", "mtime": "s.mtime"})
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()), partition={"source": sources})
    for unit in units:
        unit._known = (unit.size, unit.mtime_us, unit._hash)

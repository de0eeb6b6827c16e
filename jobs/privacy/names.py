"""People's names, kept only as keyed hashes so that the gates can tell a name used as a
group label without the lake holding any name.

A name is normalised (Unicode NFKC, case-folded, white space collapsed) and hashed with the
pseudonym key: ``pseudo.ref("name", normalised)``. Parsers collect the refs of every name they
see into ``ParseOutcome.name_refs``; ingest records them in ``state/name_refs``; the gates
hash each distinct gold label the same way and look it up.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from jobs.privacy.pseudonym import Pseudonymiser

if TYPE_CHECKING:  # the parsers import this module: no Spark at import time
    from pyspark.sql import SparkSession

# Names of one word are not recorded: a given name alone does not single anybody out, and
# one-word role accounts ("Finance", "Security") would match ordinary department labels and
# block every week.
MIN_WORDS = 2


def normalise_name(raw: object) -> str | None:
    if not isinstance(raw, str):
        return None
    # NFKC again after case folding: folding can leave a string that is not NFKC-normal.
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", raw).casefold())
    text = " ".join(text.split())
    return text or None


def name_ref(pseudo: Pseudonymiser, raw_name: object) -> str | None:
    """The keyed ref of a name or label, None when it holds no text."""
    text = normalise_name(raw_name)
    return pseudo.ref("name", text) if text else None


def name_refs(pseudo: Pseudonymiser, *raw_names: object) -> set[str]:
    """Refs of the names worth recording (see MIN_WORDS) among ``raw_names``."""
    out = set()
    for raw in raw_names:
        text = normalise_name(raw)
        if text and len(text.split(" ")) >= MIN_WORDS:
            out.add(pseudo.ref("name", text))
    return out


def record_name_refs(spark: SparkSession, lake_root: Path | str, refs: Iterable[str]) -> int:
    """Add refs not yet known to state/name_refs (first_seen stays that of the first sighting);
    the number of refs offered."""
    from jobs import lake
    from jobs.frames import frame_from_rows
    from schemas.state import NAME_REFS

    refs = sorted(set(refs))
    if not refs:
        return 0
    now = datetime.now(timezone.utc)
    df = frame_from_rows(spark, [(r, now) for r in refs], NAME_REFS.schema)
    lake.merge_rows(spark, lake_root, NAME_REFS, df, clauses=lambda merge: merge.whenNotMatchedInsertAll())
    return len(refs)


def known_name_refs(spark: SparkSession, lake_root: Path | str) -> frozenset[str]:
    from jobs import lake
    from schemas.state import NAME_REFS

    if not lake.exists(spark, lake_root, NAME_REFS):
        return frozenset()
    return frozenset(r["ref"] for r in lake.read(spark, lake_root, NAME_REFS).select("ref").collect())

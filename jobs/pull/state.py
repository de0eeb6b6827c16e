"""Pull state in the lake (``state/pull_state``): cursors and item maps per vendor and kind,
plus the internal domains each directory reported.

Loaded once per vendor at the start of a pull and saved kind by kind right after that kind's
bronze rows are merged: a crash in between re-fetches what was already loaded, which the
bronze MERGE on ``record_id`` absorbs (no duplicates, nothing lost).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs import lake
from jobs.frames import frame_from_rows
from schemas.state import PULL_STATE



def load(spark: SparkSession, lake_root: Path, vendor: str) -> dict[str, dict[str, str]]:
    """{kind: {name: value}} of one vendor."""
    out: dict[str, dict[str, str]] = defaultdict(dict)
    if lake.exists(spark, lake_root, PULL_STATE):
        rows = lake.read(spark, lake_root, PULL_STATE).where(F.col("vendor") == vendor).collect()
        for row in rows:
            if row["value"] is not None:
                out[row["kind"]][row["name"]] = row["value"]
    return out


def save(spark: SparkSession, lake_root: Path, vendor: str, kind: str, before: dict[str, str],
         after: dict[str, str], run_id: str) -> int:
    """Write the entries that changed and delete those the puller dropped (an expired cursor,
    a pruned item); returns how many changed."""
    now = datetime.now(timezone.utc)
    changed = [(vendor, kind, name, after.get(name), run_id, now)
               for name in sorted(set(before) | set(after)) if before.get(name) != after.get(name)]
    if not changed:
        return 0
    df = frame_from_rows(spark, changed, PULL_STATE.schema)
    if not lake.exists(spark, lake_root, PULL_STATE):
        lake.merge_rows(spark, lake_root, PULL_STATE, df.where(F.col("value").isNotNull()))
        return len(changed)
    lake.merge_rows(spark, lake_root, PULL_STATE, df, clauses=lambda merge: (
        merge.whenMatchedDelete(condition="s.value IS NULL")
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll(condition="s.value IS NOT NULL")))
    return len(changed)

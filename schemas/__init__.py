"""The lake contract (docs/lake.md): every table's path, schema, grain and key columns.

Names here are what BI tools see: change one only with a migration and a note.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # keeps `import schemas.sources` free of Spark for DAG parsing
    from pyspark.sql.types import StructType

# The source kinds: landing sub-folders, bronze/<source> and quarantine/<source> tables.
SOURCES = ("email", "calendar", "chat", "people")


@dataclass(frozen=True)
class Table:
    path: str  # relative to the lake root, e.g. "gold/edges_weekly"
    schema: StructType
    keys: tuple[str, ...]  # the grain: unique together
    partition_by: tuple[str, ...] = ()
    description: str = ""

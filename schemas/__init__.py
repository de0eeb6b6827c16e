"""The lake contract (PRODUCT.md section 4): every table's path, schema, grain and key columns.

Names here are what BI tools see: change one only with a migration and a note.
"""

from dataclasses import dataclass

from pyspark.sql.types import StructType


@dataclass(frozen=True)
class Table:
    path: str  # relative to the lake root, e.g. "gold/edges_weekly"
    schema: StructType
    keys: tuple[str, ...]  # the grain: unique together
    partition_by: tuple[str, ...] = ()
    description: str = ""

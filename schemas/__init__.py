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

# How a column holds person pseudonyms, i.e. what erasing one person does to it
# (jobs/privacy/scrub.py, docs/privacy.md "Erasure"):
DROP_ROW = "row"  # the row is about the person (sender, edge end, metrics row): delete it
SET_NULL = "null"  # the person is named in passing (organizer, manager): null the value
ARRAY_ELEMENT = "element"  # an array of pseudonyms (recipients, members): remove the element
ATTENDEE_ELEMENT = "attendee"  # an array of structs with a `person` field: remove the struct
CONTAINS_TEXT = "text"  # a free string that may embed a pseudonym (pull state): delete the row


# The column of run-tagged tables that names the build run that wrote a row.
RUN_ID = "run_id"

# Columns besides the time columns that reads filter on: the current run's rows, the current
# key's bronze rows. Each file holds one value of them, so their statistics skip whole files.
FILTERED_COLUMNS = (RUN_ID, "key_version")


@dataclass(frozen=True)
class Table:
    path: str  # relative to the lake root, e.g. "gold/edges_weekly"
    schema: StructType
    keys: tuple[str, ...]  # the grain: unique together
    partition_by: tuple[str, ...] = ()
    description: str = ""
    # (column, how) for every column that holds a person pseudonym; erasure, opt-out and
    # retention walk these. A table with none holds nothing about any one person.
    person_columns: tuple[tuple[str, str], ...] = ()
    # (column, vocabulary) for string columns whose values come from a fixed list computed
    # from the network (a person's network role), never from a person's attributes: the gates
    # refuse any other value, so such a column cannot carry a department or a name.
    closed_labels: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Rows carry, after the contract columns, the `run_id` of the build that wrote them, and a
    # week's rows become current only when quality/published_weeks names that run (an atomic
    # publish: docs/lake.md, "Publishing a week").
    run_tagged: bool = False

    @property
    def stored_schema(self) -> StructType:
        """The columns in the lake: the contract's, plus `run_id` on run-tagged tables."""
        if not self.run_tagged:
            return self.schema
        from pyspark.sql.types import StringType, StructField, StructType

        return StructType([*self.schema.fields, StructField(RUN_ID, StringType(), False)])

    @property
    def stats_columns(self) -> tuple[str, ...]:
        """The columns whose per-file minimum and maximum Delta keeps in its log, for skipping
        files: the time columns and FILTERED_COLUMNS, partition columns excepted (Delta prunes
        those by value). Never a person column: statistics on every column cost a third of a
        large write and put pseudonyms in the log in plain text (docs/lake.md, "File
        statistics")."""
        from pyspark.sql.types import DateType, TimestampType

        return tuple(
            field.name for field in self.stored_schema.fields
            if field.name not in self.partition_by
            and (isinstance(field.dataType, (DateType, TimestampType)) or field.name in FILTERED_COLUMNS))

    @property
    def zone(self) -> str:
        """`gold` and `quality` are the BI zone; everything else is restricted (docs/privacy.md)."""
        return self.path.split("/", 1)[0]

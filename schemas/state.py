"""What the pipeline remembers between runs, kept in the lake (not in Airflow, the home folder
or /tmp), so that a lake copied elsewhere resumes where it stopped.

Nothing here identifies a person: state is keyed by directory ids and keyed references
(``pseudo.ref``), never by an address or a channel name.
"""

from pyspark.sql.types import StringType, StructField, StructType, TimestampType

from schemas import Table

# API cursors (delta links, sync tokens, history ids, watermarks) and the item map that lets a
# later "@removed"/"cancelled" item find its bronze record: one row per (vendor, kind, name).
PULL_STATE = Table(
    "state/pull_state",
    StructType(
        [
            StructField("vendor", StringType(), False),  # msgraph, google, slack
            StructField("kind", StringType(), False),  # people, email, calendar, chat
            StructField("name", StringType(), False),  # e.g. mail:<directory id>:inbox
            StructField("value", StringType(), True),
            StructField("run_id", StringType(), False),
            StructField("updated_at", TimestampType(), False),
        ]
    ),
    ("vendor", "kind", "name"),
    description="API cursors and item map of `ona pull` (docs/pull.md)",
)

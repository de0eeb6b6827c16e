"""What the pipeline remembers between runs, kept in the lake (not in Airflow, the home folder
or /tmp), so that a lake copied elsewhere resumes where it stopped.

State is keyed by directory ids and keyed references (``pseudo.ref``), never by an address or
a channel name; the calendar item map's values may name an attendee's pseudonym, which
erasure removes.
"""

from pyspark.sql.types import LongType, StringType, StructField, StructType, TimestampType

from schemas import CONTAINS_TEXT, Table

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
    person_columns=(("value", CONTAINS_TEXT),),
    description="API cursors and item map of `ona pull` (docs/pull.md)",
)
# The row (kind "people") under which a vendor's directory pull keeps the internal domains it
# reported: comma-separated, lower-cased. A run without ONA_INTERNAL_DOMAINS reads them back.
DOMAINS_NAME = "domains"

# Landed files already ingested (jobs/landing.py): one row per landing unit (an mbox, an .eml,
# one maildir message, an .ics, a roster CSV, a Slack export folder or zip). A unit whose size
# and mtime are unchanged is skipped without being read; otherwise its content hash decides.
LANDING_MANIFEST = Table(
    "state/landing_manifest",
    StructType(
        [
            StructField("source", StringType(), False),  # email, calendar, chat, people
            StructField("unit_ref", StringType(), False),  # ref("file", <path below the source folder>)
            StructField("size", LongType(), False),  # bytes (a folder export: all its files)
            StructField("mtime", TimestampType(), False),  # UTC (a folder export: the newest)
            StructField("content_hash", StringType(), False),  # ref("content", <sha256 hex>): keyed
            StructField("run_id", StringType(), False),  # the run that ingested this content
            StructField("ingested_at", TimestampType(), False),
        ]
    ),
    ("source", "unit_ref"),
    # One partition per source: each ingest's MERGE reads and writes its source's partition
    # only, so the four ingest DAGs record their files at once without a commit conflict.
    ("source",),
    description="Landed files already ingested, so that a run parses only new or changed ones (docs/lake.md)",
)

# Names of people seen by the parsers (roster name columns, Slack profiles), kept only as keyed
# hashes (jobs/privacy/names.py): the gates hash each gold group label and block a week whose
# label is a known name. Without the key a ref cannot be tested against a guessed name.
NAME_REFS = Table(
    "state/name_refs",
    StructType(
        [
            StructField("ref", StringType(), False),  # pseudo.ref("name", <normalised name>)
            StructField("first_seen", TimestampType(), False),
        ]
    ),
    ("ref",),
    description="Keyed hashes of people's names seen at ingest, for the no-name-as-label gate (docs/privacy.md)",
)

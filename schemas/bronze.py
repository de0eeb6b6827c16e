"""Bronze and quarantine: one row per pulled (or rejected) record, pseudonymised at the edge.

No subject, body, title, description, attachment or display name exists in these schemas:
the parsers cannot write one (default-deny).
"""

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DateType,
    DoubleType,
    IntegerType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from schemas import ARRAY_ELEMENT, ATTENDEE_ELEMENT, DROP_ROW, SET_NULL, SOURCES, Table

_PROVENANCE = [
    StructField("record_id", StringType(), False),  # keyed hash; the dedup key
    StructField("source", StringType(), False),
    StructField("pulled_at", TimestampType(), False),
    StructField("run_id", StringType(), False),
    StructField("key_version", StringType(), False),
    StructField("file_ref", StringType(), True),  # keyed hash of the landed file's path
]

EMAIL = StructType(
    _PROVENANCE
    + [
        StructField("message_ref", StringType(), True),
        StructField("thread_ref", StringType(), True),
        StructField("sent_at", TimestampType(), False),  # UTC
        StructField("sender", StringType(), False),
        StructField("to", ArrayType(StringType(), False), False),
        StructField("cc", ArrayType(StringType(), False), False),
        StructField("bcc", ArrayType(StringType(), False), False),
        StructField("n_recipients", IntegerType(), False),  # all recipients, external included
    ]
)

ATTENDEE = StructType(
    [
        StructField("person", StringType(), False),
        StructField("partstat", StringType(), True),  # ACCEPTED, TENTATIVE, DECLINED, NEEDS-ACTION...
        StructField("role", StringType(), True),
    ]
)

CALENDAR = StructType(
    _PROVENANCE
    + [
        StructField("event_ref", StringType(), False),  # keyed hash of the UID
        StructField("starts_at", TimestampType(), False),  # UTC, one row per occurrence
        StructField("ends_at", TimestampType(), False),
        StructField("duration_minutes", DoubleType(), False),
        StructField("organizer", StringType(), True),
        StructField("attendees", ArrayType(ATTENDEE, False), False),
        StructField("status", StringType(), True),  # CONFIRMED, TENTATIVE, CANCELLED
        StructField("is_recurring", BooleanType(), False),
        StructField("is_all_day", BooleanType(), False),
    ]
)

CHAT = StructType(
    _PROVENANCE
    + [
        StructField("conversation_ref", StringType(), False),
        StructField("channel_kind", StringType(), False),  # dm, group_dm, channel, private_channel
        StructField("sent_at", TimestampType(), False),
        StructField("sender", StringType(), True),  # null for bot/system messages
        StructField("subtype", StringType(), True),  # Slack subtype (channel_join, bot_message...)
        StructField("members", ArrayType(StringType(), False), False),  # dm / group dm members
        StructField("mentions", ArrayType(StringType(), False), False),
        StructField("thread_ref", StringType(), True),
        StructField("is_thread_reply", BooleanType(), False),
        StructField("parent_author", StringType(), True),
        StructField("reactors", ArrayType(StringType(), False), False),  # one entry per reaction
    ]
)

PEOPLE = StructType(
    _PROVENANCE
    + [
        StructField("person", StringType(), False),
        StructField("department", StringType(), True),
        StructField("team", StringType(), True),
        StructField("manager", StringType(), True),
        StructField("location", StringType(), True),
        StructField("hire_date", DateType(), True),
        StructField("timezone", StringType(), True),
        # Where the row comes from: "roster" (a landed CSV) or a directory API ("msgraph",
        # "google"). silver/people lets the roster win for the fields it has.
        StructField("origin", StringType(), True),
    ]
)

QUARANTINE = StructType(
    [
        StructField("record_ref", StringType(), False),  # keyed hash of file + position
        StructField("source", StringType(), False),
        StructField("reason", StringType(), False),
        StructField("run_id", StringType(), False),
        StructField("rejected_at", TimestampType(), False),
        StructField("file_ref", StringType(), True),
    ]
)

BRONZE = {
    "email": Table("bronze/email", EMAIL, ("record_id",), person_columns=(
        ("sender", DROP_ROW), ("to", ARRAY_ELEMENT), ("cc", ARRAY_ELEMENT), ("bcc", ARRAY_ELEMENT))),
    "calendar": Table("bronze/calendar", CALENDAR, ("record_id",), person_columns=(
        ("organizer", SET_NULL), ("attendees", ATTENDEE_ELEMENT))),
    "chat": Table("bronze/chat", CHAT, ("record_id",), person_columns=(
        ("sender", DROP_ROW), ("members", ARRAY_ELEMENT), ("mentions", ARRAY_ELEMENT),
        ("parent_author", SET_NULL), ("reactors", ARRAY_ELEMENT))),
    "people": Table("bronze/people", PEOPLE, ("record_id",), person_columns=(
        ("person", DROP_ROW), ("manager", SET_NULL))),
}
QUARANTINE_TABLES = {
    source: Table(f"quarantine/{source}", QUARANTINE, ("record_ref", "reason")) for source in SOURCES
}

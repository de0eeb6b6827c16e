"""Silver: canonical events from every source, directed person-to-person interactions, people."""

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DateType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from schemas import ARRAY_ELEMENT, DROP_ROW, SET_NULL, Table

EVENTS = StructType(
    [
        StructField("event_id", StringType(), False),  # the bronze record_id
        StructField("source", StringType(), False),  # email, calendar, chat
        StructField("kind", StringType(), False),  # email, meeting, dm, channel_post, thread_reply, reaction
        StructField("occurred_at", TimestampType(), False),  # UTC
        StructField("week_start", DateType(), False),  # ISO Monday (UTC) of occurred_at
        StructField("actor", StringType(), False),  # sender / organizer / poster / reactor
        StructField("participants", ArrayType(StringType(), False), False),  # others, deduplicated
        StructField("n_participants", IntegerType(), False),
        StructField("duration_minutes", DoubleType(), True),  # meetings only
        StructField("is_broadcast", BooleanType(), False),  # above the fan-out limit: no ties
        StructField("is_cancelled", BooleanType(), False),
        StructField("forms_ties", BooleanType(), False),
    ]
)

INTERACTIONS = StructType(
    [
        StructField("week_start", DateType(), False),
        StructField("source", StringType(), False),
        StructField("kind", StringType(), False),
        StructField("src", StringType(), False),
        StructField("dst", StringType(), False),
        StructField("weight", DoubleType(), False),
        StructField("meeting_minutes", DoubleType(), False),
        StructField("event_id", StringType(), False),
    ]
)

PEOPLE = StructType(
    [
        StructField("person", StringType(), False),
        StructField("department", StringType(), True),
        StructField("team", StringType(), True),
        StructField("manager", StringType(), True),
        StructField("location", StringType(), True),
        StructField("hire_date", DateType(), True),
        StructField("timezone", StringType(), True),
    ]
)

PERSON_BROKERAGE = StructType(
    [
        StructField("week_start", DateType(), False),
        StructField("person", StringType(), False),
        StructField("cross_group_ties", LongType(), False),  # distinct neighbours in another department
        # Gould-Fernandez brokerage counts over department labels (jobs/graph/contract.py)
        StructField("coordinator", LongType(), True),
        StructField("gatekeeper", LongType(), True),
        StructField("representative", LongType(), True),
        StructField("liaison", LongType(), True),
        StructField("itinerant", LongType(), True),
    ]
)

SILVER_EVENTS = Table("silver/events", EVENTS, ("event_id",), ("week_start",),
                      person_columns=(("actor", DROP_ROW), ("participants", ARRAY_ELEMENT)), run_tagged=True)
SILVER_INTERACTIONS = Table(
    "silver/interactions", INTERACTIONS, ("week_start", "event_id", "src", "dst"), ("week_start",),
    person_columns=(("src", DROP_ROW), ("dst", DROP_ROW)), run_tagged=True,
)
# Person figures derived from department labels: restricted, like the labels (docs/privacy.md).
# Written with the gold tables of a week that passed its gates; cohorts read its history.
PERSON_BROKERAGE_WEEKLY = Table(
    "silver/person_brokerage_weekly", PERSON_BROKERAGE, ("week_start", "person"), ("week_start",),
    person_columns=(("person", DROP_ROW),), run_tagged=True,
)
SILVER_PEOPLE = Table("silver/people", PEOPLE, ("person",),
                      person_columns=(("person", DROP_ROW), ("manager", SET_NULL)))

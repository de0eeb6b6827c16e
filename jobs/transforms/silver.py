"""Bronze -> silver: canonical events, directed interactions, people.

Pure DataFrame -> DataFrame functions (README.md, Layout). Each opens or closes with an
explicit select: that is its schema contract.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from jobs.config import TieRules
from jobs.privacy.pseudonym import PERSON_PREFIX

EVENT_COLUMNS = [
    "event_id", "source", "kind", "occurred_at", "week_start", "actor", "participants",
    "n_participants", "duration_minutes", "is_broadcast", "is_cancelled", "forms_ties",
]


def week_start_of(ts: Column) -> Column:
    """ISO week start (Monday) of a UTC timestamp."""
    return F.to_date(F.date_trunc("week", ts))


def _without(array: Column, value: Column) -> Column:
    return F.array_distinct(F.array_remove(array, value))


def _event_columns(
    df: DataFrame, rules: TieRules, no_ties: Column | None = None, size: Column | None = None
) -> DataFrame:
    """Week, broadcast and tie flags. `size` is what the broadcast limit is compared with
    (default: the participants; meetings count the organizer too)."""
    no_ties = F.lit(False) if no_ties is None else no_ties
    size = F.col("n_participants") if size is None else size
    is_broadcast = size > F.lit(rules.broadcast_limit)
    return (
        df.withColumn("week_start", week_start_of(F.col("occurred_at")))
        .withColumn("is_broadcast", is_broadcast)
        .withColumn(
            "forms_ties",
            ~F.col("is_broadcast")
            & ~F.col("is_cancelled")
            & (F.size("participants") > 0)
            & ~no_ties,
        )
        .select(*EVENT_COLUMNS)
    )


def email_events(bronze_df: DataFrame, rules: TieRules) -> DataFrame:
    """One event per message: sender -> To and Cc. The weight denominator counts every distinct
    To/Cc recipient, external too; Bcc stays in bronze and forms no ties (docs/metrics.md)."""
    recipients = F.concat(F.col("to"), F.col("cc"))
    return bronze_df.select(
        F.col("record_id").alias("event_id"),
        F.lit("email").alias("source"),
        F.lit("email").alias("kind"),
        F.col("sent_at").alias("occurred_at"),
        F.col("sender").alias("actor"),
        _without(recipients, F.col("sender")).alias("participants"),
        F.col("n_recipients").alias("n_participants"),
        F.lit(None).cast("double").alias("duration_minutes"),
        F.lit(False).alias("is_cancelled"),
    ).transform(lambda df: _event_columns(df, rules))


def meeting_events(bronze_df: DataFrame, rules: TieRules) -> DataFrame:
    """One event per occurrence; the organizer is the actor, present attendees participate.
    All-day entries (out of office, holidays) are kept for load but form no ties."""
    present = F.filter(
        "attendees", lambda a: a["partstat"].isin(list(rules.meeting_partstats))
    )
    # F.get: null (not an ANSI error) when a personal entry has no attendee at all.
    actor = F.coalesce(F.col("organizer"), F.get(F.col("attendees"), 0)["person"])
    participants = _without(F.transform(present, lambda a: a["person"]), actor)
    return (
        bronze_df.select(
            F.col("record_id").alias("event_id"),
            F.lit("calendar").alias("source"),
            F.lit("meeting").alias("kind"),
            F.col("starts_at").alias("occurred_at"),
            actor.alias("actor"),
            participants.alias("participants"),
            F.size(participants).alias("n_participants"),
            F.col("duration_minutes"),
            (F.upper(F.col("status")) == "CANCELLED").alias("is_cancelled_raw"),
            F.col("is_all_day"),
        )
        .where(F.col("actor").isNotNull())
        .withColumn("is_cancelled", F.coalesce(F.col("is_cancelled_raw"), F.lit(False)))
        .transform(
            lambda df: _event_columns(
                df, rules, no_ties=F.col("is_all_day"), size=F.col("n_participants") + 1
            )
        )
    )


def chat_events(bronze_df: DataFrame, rules: TieRules) -> DataFrame:
    """Messages (system subtypes and bot posts dropped) plus one event per reaction."""
    messages_df = bronze_df.where(
        F.col("sender").isNotNull()
        & (F.col("subtype").isNull() | ~F.col("subtype").isin(list(rules.chat_system_subtypes)))
    )
    is_dm = F.col("channel_kind").isin("dm", "group_dm")
    kind = (
        F.when(is_dm, "dm").when(F.col("is_thread_reply"), "thread_reply").otherwise("channel_post")
    )
    reply_targets = F.concat(
        F.when(F.col("parent_author").isNotNull(), F.array("parent_author")).otherwise(
            F.array().cast("array<string>")
        ),
        F.col("mentions"),
    )
    targets = (
        F.when(is_dm, F.col("members"))
        .when(F.col("is_thread_reply"), reply_targets)
        .otherwise(F.col("mentions"))
    )
    posts_df = messages_df.select(
        F.col("record_id").alias("event_id"),
        kind.alias("kind"),
        F.col("sent_at").alias("occurred_at"),
        F.col("sender").alias("actor"),
        _without(targets, F.col("sender")).alias("participants"),
    )
    reactions_df = messages_df.select(
        "record_id", "sent_at", "sender", F.posexplode("reactors").alias("pos", "reactor")
    ).select(
        F.concat_ws(":", "record_id", F.lit("reaction"), F.col("pos").cast("string")).alias("event_id"),
        F.lit("reaction").alias("kind"),
        F.col("sent_at").alias("occurred_at"),
        F.col("reactor").alias("actor"),
        _without(F.array("sender"), F.col("reactor")).alias("participants"),
    )
    return (
        posts_df.unionByName(reactions_df)
        .withColumn("source", F.lit("chat"))
        .withColumn("n_participants", F.size("participants"))
        .withColumn("duration_minutes", F.lit(None).cast("double"))
        .withColumn("is_cancelled", F.lit(False))
        .transform(lambda df: _event_columns(df, rules))
    )


def interactions(events_df: DataFrame, rules: TieRules) -> DataFrame:
    """Directed person-to-person ties of the events that form ties (docs/metrics.md).

    Fan-out events (email, chat): actor -> each participant, base weight / n_participants.
    Meetings: both directions between every pair of present people (organizer included),
    hours / (n_attendees - 1). External domains and self-ties never become interactions.
    """
    tie_events_df = events_df.where(F.col("forms_ties"))
    fan_out_df = tie_events_df.where(F.col("kind") != "meeting").select(
        "week_start", "source", "kind", "event_id",
        F.col("actor").alias("src"),
        F.explode("participants").alias("dst"),
        (
            F.when(F.col("kind") == "reaction", F.lit(rules.reaction_weight))
            .when(F.col("source") == "chat", F.lit(rules.chat_weight))
            .otherwise(F.lit(rules.email_weight))
            / F.col("n_participants")
        ).alias("weight"),
        F.lit(0.0).alias("meeting_minutes"),
    )
    meetings_df = tie_events_df.where(F.col("kind") == "meeting").select(
        "week_start", "source", "kind", "event_id", "duration_minutes",
        F.array_distinct(F.concat(F.array("actor"), F.col("participants"))).alias("present"),
    )
    meeting_pairs_df = (
        meetings_df.select("*", F.explode("present").alias("src"))
        .select("*", F.explode("present").alias("dst"))
        .where(F.col("src") != F.col("dst"))
        .select(
            "week_start", "source", "kind", "event_id", "src", "dst",
            (F.col("duration_minutes") / 60.0 / (F.size("present") - 1)).alias("weight"),
            F.col("duration_minutes").alias("meeting_minutes"),
        )
    )
    is_person = lambda c: F.col(c).startswith(PERSON_PREFIX)  # noqa: E731
    return (
        fan_out_df.unionByName(meeting_pairs_df)
        .where(is_person("src") & is_person("dst") & (F.col("src") != F.col("dst")))
        .select(
            "week_start", "source", "kind", "src", "dst",
            F.col("weight").cast("double").alias("weight"),
            F.col("meeting_minutes").cast("double").alias("meeting_minutes"),
            "event_id",
        )
    )


PERSON_ATTRIBUTES = ["department", "team", "manager", "location", "hire_date", "timezone"]


def people(bronze_people_df: DataFrame) -> DataFrame:
    """One row per person. Each origin's newest row stands for that origin (a field the roster
    cleared stays cleared); then each attribute comes from the roster when the roster has it
    (an HR export is the reference), else from the newest directory row (Graph, Google) that
    has it. Rows without an origin predate directory pulls and are roster rows."""
    origin = F.coalesce(F.col("origin"), F.lit("roster"))
    newest_per_origin = Window.partitionBy("person", origin).orderBy(F.col("pulled_at").desc(), "record_id")
    preference = Window.partitionBy("person").orderBy(
        (origin == "roster").desc(), F.col("pulled_at").desc(), "record_id"
    ).rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
    return (
        bronze_people_df.withColumn("rank", F.row_number().over(newest_per_origin))
        .where(F.col("rank") == 1)
        .select(
            "person",
            *[F.first(c, ignorenulls=True).over(preference).alias(c) for c in PERSON_ATTRIBUTES],
        )
        .dropDuplicates(["person"])
        .select("person", *PERSON_ATTRIBUTES)
    )

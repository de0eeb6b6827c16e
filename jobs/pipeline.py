"""The job: landing -> bronze -> silver -> gold, gated. The CLI and the Airflow DAGs both call
these functions; `main`-style wiring only, the transforms live in jobs/transforms/.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from dataclasses import asdict, dataclass, field
from functools import partial
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import lake, publish
from jobs.config import Settings
from jobs.privacy.opt_out import OptOut, opt_out_path, read_opt_out
from jobs.privacy.pseudonym import Pseudonymiser, load_key
from jobs.privacy.scrub import drops, scrub
from jobs.quality.checks import CheckResult, GateResult, SuiteInputs
from jobs.quality.gates import newest_ingests, run_gates
from jobs.sources.base import ParseOutcome
from jobs.sources.registry import EVENT_TIME, KINDS, LANDING_FOLDERS
from jobs.transforms import silver
from jobs.transforms.build import HISTORY_COLUMNS, GoldInputs, build_gold, history_weeks
from jobs.weeks import buildable_weeks, label, parse_week, week_start
from schemas import RUN_ID
from schemas.bronze import BRONZE, QUARANTINE_TABLES, SOURCES
from schemas.gold import EDGES_WEEKLY, GOLD_TABLES, GROUP_METRICS_WEEKLY, PERSON_METRICS_WEEKLY
from schemas.quality import INGEST_RUNS_TABLE, VALIDATION_RUNS_TABLE
from schemas.silver import PERSON_BROKERAGE_WEEKLY, SILVER_EVENTS, SILVER_INTERACTIONS, SILVER_PEOPLE

log = logging.getLogger("ona")

# Run-summary reasons for records that are not anyone's tie (docs/privacy.md, "What is counted").
BOT_MESSAGES = "bot and system messages"
OPTED_OUT_RECORDS = "records by opted-out people (dropped)"
OTHER_KEY_VERSION = "bronze records of another key version (not used)"


@dataclass
class SourceSummary:
    """One ingest of one source kind, from a landing folder ("files") or an API vendor."""

    source: str
    origin: str = "files"
    read: int = 0
    accepted: int = 0
    quarantined: int = 0
    duplicates: int = 0
    weeks: list[str] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)
    unjoined: dict[str, int] = field(default_factory=dict)
    requests: int | None = None
    resyncs: int | None = None
    cancelled: int | None = None
    files_ingested: int | None = None
    files_skipped: int | None = None
    files_unrecognised: int | None = None


@dataclass
class RunContext:
    spark: SparkSession
    lake: Path
    pseudo: Pseudonymiser
    settings: Settings = field(default_factory=Settings)
    run_id: str = field(default_factory=lambda: datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6])
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    # When this run's build (silver, gold, gates) started: ingests of the same run finish
    # before it, so their weeks count as built (pending_weeks).
    build_started_at: datetime | None = None
    # People on the opt-out list (pseudonyms, in memory only): dropped before bronze.
    opt_out: OptOut = field(default_factory=lambda: OptOut(frozenset()))

    @property
    def report_dir(self) -> Path:
        return self.lake / "reports" / self.run_id


class NoInternalDomainsError(RuntimeError):
    """Fail closed: without known internal domains every address would count as internal."""

    def __init__(self) -> None:
        super().__init__(
            "no internal domains known: land a roster under people/, pull a directory (ona pull), "
            "or set ONA_INTERNAL_DOMAINS=example.org,... Without one, outside correspondents "
            "would become individual people, so nothing is ingested."
        )


class EmptyLakeError(RuntimeError):
    """Fail loudly: a build without a landing folder reads the lake's ingests, and there are none."""

    def __init__(self, lake_root: Path) -> None:
        super().__init__(
            f"the lake at {lake_root} holds no ingest yet: give --landing with files to ingest, "
            "or pull an API first (ona pull). Nothing was built."
        )


def internal_domains(landing: Path | None, spark: SparkSession | None = None,
                     lake_root: Path | None = None) -> frozenset[str]:
    """The organisation's mail domains: ONA_INTERNAL_DOMAINS, else those of the roster and of
    the directories pulled into the lake (docs/privacy.md)."""
    from jobs.sources.people import roster_domains

    configured = os.environ.get("ONA_INTERNAL_DOMAINS", "")
    if configured.strip():
        return frozenset(d.strip().lower() for d in configured.split(",") if d.strip())
    domains = set(roster_domains(landing / LANDING_FOLDERS["people"])) if landing else set()
    if spark is not None and lake_root is not None:
        from jobs.pull.state import directory_domains

        domains |= directory_domains(spark, lake_root)
    return frozenset(domains)


def make_pseudonymiser(landing: Path | None, key_file: str | None = None, spark: SparkSession | None = None,
                       lake_root: Path | None = None, require_domains: bool = True,
                       key: bytes | None = None) -> Pseudonymiser:
    """The run's pseudonymiser (with ``key`` when the caller loaded it already). Anything that
    reads addresses needs the internal domains and refuses without them
    (NoInternalDomainsError); a build from bronze reads none."""
    key = key or load_key(key_file)
    domains = internal_domains(landing, spark, lake_root)
    if not domains and require_domains:
        raise NoInternalDomainsError()
    return Pseudonymiser(key=key, internal_domains=domains)


def load_opt_out(landing: Path | None, pseudo: Pseudonymiser, settings: Settings | None = None) -> OptOut:
    """The opt-out list of <landing>/people/opt_out.csv, or of ONA_OPT_OUT_FILE (required then)."""
    configured = (settings or Settings.from_env()).privacy.opt_out_file
    return read_opt_out(opt_out_path(Path(landing) if landing else None, configured), pseudo,
                        required=bool(configured))


# ---------------------------------------------------------------- ingest (extract + load)

def ingest_source(ctx: RunContext, landing: Path, source: str, window=None) -> SourceSummary:
    """Parse one source's new and changed landed files (the manifest, jobs/landing.py) and
    merge them into bronze, a changed file's rows replacing its old ones; rejections go to
    quarantine.

    Calendar files are expanded for a window. With explicit weeks every calendar file is
    expanded for those weeks only, so nothing is replaced (its other weeks' rows must stay)
    and only the files the manifest already knows unchanged are recorded: a new or changed
    file is expanded in full by the next run without weeks."""
    from jobs import landing as manifest

    kind = KINDS[source]
    folder = landing / kind.landing_folder
    units, unrecognised = manifest.landing_units(source, folder, ctx.pseudo)
    plan = manifest.plan(ctx.spark, ctx.lake, source, units)
    partial = source == "calendar" and window is not None
    only = {u.rel for u in units} if partial else plan.to_parse
    if unrecognised:
        log.warning("ingest %s: %d file(s) under %s/ that no parser reads were skipped", source, unrecognised,
                    kind.landing_folder)
    summary = SourceSummary(source=source, files_ingested=len(only), files_skipped=len(units) - len(only),
                            files_unrecognised=unrecognised)
    outcome = kind.parse(folder, ctx.pseudo, window=window, only=only) if only else ParseOutcome()
    replaced = frozenset() if partial else plan.replaced_file_refs
    summary = load_outcome(ctx, source, outcome, summary, replace_file_refs=replaced)
    manifest.record(ctx.spark, ctx.lake, source, plan.unchanged if partial else units, ctx.run_id)
    return summary


def load_outcome(ctx: RunContext, source: str, outcome: ParseOutcome, summary: SourceSummary,
                 replace_file_refs: frozenset[str] | set[str] = frozenset()) -> SourceSummary:
    """Merge parsed or pulled rows into bronze/<source> (deduplicated on record_id), their
    rejections into quarantine/<source>, apply an API's cancellations, and record the ingest
    in quality/ingest_runs. Files and API pulls load through here alike."""
    table = BRONZE[source]
    summary.read += outcome.read
    summary.quarantined += len(outcome.rejections)
    # What pseudonymisation could not use or collapsed while these rows were read.
    for reason, n in [*outcome.unjoined.items(), *ctx.pseudo.take_tally().items()]:
        summary.unjoined[reason] = summary.unjoined.get(reason, 0) + n
    provenance = {
        "source": source, "pulled_at": ctx.started_at, "run_id": ctx.run_id,
        "key_version": ctx.pseudo.key_version,
    }
    unique: dict[str, dict] = {}
    for row in outcome.rows:
        if row["record_id"] in unique:
            summary.duplicates += 1
        else:
            unique[row["record_id"]] = row
    summary.accepted += len(unique)
    weeks = set(summary.weeks)
    if source in EVENT_TIME:
        weeks |= {label(week_start(r[EVENT_TIME[source]])) for r in unique.values()}
    for rejection in outcome.rejections:
        summary.reasons[rejection.reason] = summary.reasons.get(rejection.reason, 0) + 1

    if replace_file_refs and source in EVENT_TIME:
        weeks |= _weeks_of_dropped_rows(ctx, source, replace_file_refs, set(unique))
    if outcome.name_refs:
        # Keyed hashes of the names seen (never the names): the "no name as a group label" check.
        from jobs.privacy.names import record_name_refs

        record_name_refs(ctx.spark, ctx.lake, outcome.name_refs)
    if source == "chat":
        bots = sum(1 for r in unique.values() if r.get("sender") is None and r.get("subtype"))
        if bots:
            summary.unjoined[BOT_MESSAGES] = summary.unjoined.get(BOT_MESSAGES, 0) + bots
    names = table.schema.fieldNames()
    if unique or replace_file_refs:
        rows = [tuple({**provenance, **row}.get(n) for n in names) for row in unique.values()]
        rows_df = ctx.spark.createDataFrame(rows, table.schema)
        if ctx.opt_out.people:
            # Dropped before bronze: rows about them go, their mentions are removed.
            dropped = rows_df.where(drops(table, ctx.opt_out.people)).count()
            if dropped:
                summary.unjoined[OPTED_OUT_RECORDS] = summary.unjoined.get(OPTED_OUT_RECORDS, 0) + dropped
            rows_df = scrub(rows_df, table, ctx.opt_out.people)
        lake.merge_rows(ctx.spark, ctx.lake, table, rows_df, replace_file_refs=replace_file_refs)
    if outcome.rejections or replace_file_refs:
        q_table = QUARANTINE_TABLES[source]
        q_rows = [
            (r.record_ref, source, r.reason, ctx.run_id, ctx.started_at, r.file_ref)
            for r in {(r.record_ref, r.reason): r for r in outcome.rejections}.values()
        ]
        lake.merge_rows(ctx.spark, ctx.lake, q_table, ctx.spark.createDataFrame(q_rows, q_table.schema),
                        replace_file_refs=replace_file_refs)
    if source == "calendar" and (getattr(outcome, "cancelled", None) or getattr(outcome, "declined", None)):
        changed = apply_meeting_changes(ctx, outcome.cancelled, outcome.declined)
        summary.cancelled = (summary.cancelled or 0) + len(changed)
        weeks |= {label(week_start(moment)) for moment in changed.values()}
    summary.weeks = sorted(weeks)
    _record_ingest_run(ctx, summary)
    log.info("ingest %s from %s: read=%d accepted=%d quarantined=%d duplicates=%d", source, summary.origin,
             summary.read, summary.accepted, summary.quarantined, summary.duplicates)
    return summary


def _weeks_of_dropped_rows(ctx: RunContext, source: str, file_refs, kept: set[str]) -> set[str]:
    """ISO weeks of the bronze rows that changed files no longer hold (about to be deleted):
    those weeks lose records, so they are rebuilt too."""
    table = BRONZE[source]
    if not lake.exists(ctx.spark, ctx.lake, table):
        return set()
    column = EVENT_TIME[source]
    rows = (lake.read(ctx.spark, ctx.lake, table)
            .where(F.col("file_ref").isin(sorted(file_refs)))
            .select("record_id", column).collect())
    return {label(week_start(r[column])) for r in rows if r["record_id"] not in kept}


def apply_meeting_changes(ctx: RunContext, cancelled: list[str], declined: list[tuple[str, str]]) -> dict[str, datetime]:
    """Mark bronze meetings cancelled, or one attendee as having declined (a meeting removed
    from an attendee's calendar), and return {record_id: starts_at} of the rows changed, so
    that their weeks are rebuilt. Only ids already in bronze can change."""
    ids = set(cancelled) | {record_id for record_id, _ in declined}
    table = BRONZE["calendar"]
    if not ids or not lake.exists(ctx.spark, ctx.lake, table):
        return {}
    rows = [r.asDict(recursive=True) for r in
            lake.read(ctx.spark, ctx.lake, table).where(F.col("record_id").isin(sorted(ids))).collect()]
    by_id = {r["record_id"]: r for r in rows}
    for record_id, person in declined:
        row = by_id.get(record_id)
        if row is not None:
            row["attendees"] = [
                {**a, "partstat": "DECLINED"} if a["person"] == person else a for a in row["attendees"]
            ]
    for record_id in cancelled:
        if record_id in by_id:
            by_id[record_id]["status"] = "CANCELLED"
    if by_id:
        for row in by_id.values():
            row.update(pulled_at=ctx.started_at, run_id=ctx.run_id)
        names = table.schema.fieldNames()
        df = ctx.spark.createDataFrame([tuple(r[n] for n in names) for r in by_id.values()], table.schema)
        lake.merge_rows(ctx.spark, ctx.lake, table, df)
    return {record_id: row["starts_at"] for record_id, row in by_id.items()}


def _record_ingest_run(ctx: RunContext, summary: SourceSummary) -> None:
    values = {**asdict(summary), "run_id": ctx.run_id, "key_version": ctx.pseudo.key_version,
              "finished_at": datetime.now(timezone.utc)}
    row = tuple(values.get(name) for name in INGEST_RUNS_TABLE.schema.fieldNames())
    lake.merge_rows(ctx.spark, ctx.lake, INGEST_RUNS_TABLE,
                    ctx.spark.createDataFrame([row], INGEST_RUNS_TABLE.schema))


def latest_ingest_runs(spark: SparkSession, lake_root: Path) -> list[SourceSummary]:
    """The most recent ingest of each source and origin: the record counts the report shows."""
    from pyspark.sql import Window

    if not lake.exists(spark, lake_root, INGEST_RUNS_TABLE):
        return []
    newest = Window.partitionBy("source", F.coalesce(F.col("origin"), F.lit("files"))).orderBy(F.col("finished_at").desc())
    rows = (
        lake.read(spark, lake_root, INGEST_RUNS_TABLE)
        .withColumn("rank", F.row_number().over(newest))
        .where(F.col("rank") == 1)
        .collect()
    )
    fields = set(SourceSummary.__dataclass_fields__)
    summaries = []
    for r in sorted(rows, key=lambda r: (SOURCES.index(r["source"]), r["origin"] or "files")):
        values = {k: v for k, v in r.asDict().items() if k in fields}
        values["origin"] = values.get("origin") or "files"
        values["weeks"] = list(values["weeks"])
        values["reasons"] = dict(values["reasons"])
        values["unjoined"] = dict(values.get("unjoined") or {})
        summaries.append(SourceSummary(**values))
    return summaries


def pending_weeks(spark: SparkSession, lake_root: Path, now: datetime | None = None) -> list[date]:
    """The weeks that `ona run` without --weeks builds (docs/pull.md, "Which weeks are
    rebuilt"): each week an ingest (landed or pulled) touched after the start of the last build
    of that week, or that was never built, less the weeks after the current one
    (`jobs.weeks.buildable_weeks`). A build of other weeks leaves a week pending; an ingest
    that finished while a build ran is not taken as built."""
    if not lake.exists(spark, lake_root, INGEST_RUNS_TABLE):
        return []
    touched = (lake.read(spark, lake_root, INGEST_RUNS_TABLE)
               .select(F.explode("weeks").alias("week"), "finished_at")
               .groupBy("week").agg(F.max("finished_at").alias("last_ingest")))
    if lake.exists(spark, lake_root, VALIDATION_RUNS_TABLE):
        # Rows written before builds recorded their start fall back to the check time.
        built = (lake.read(spark, lake_root, VALIDATION_RUNS_TABLE)
                 .groupBy("week_start")
                 .agg(F.max(F.coalesce("build_started_at", "checked_at")).alias("last_build")))
        last_build = {label(r["week_start"]): r["last_build"] for r in built.collect()}
    else:
        last_build = {}
    weeks = [r["week"] for r in touched.collect()
             if r["week"] not in last_build or r["last_ingest"] > last_build[r["week"]]]
    return [parse_week(w) for w in buildable_weeks(weeks, now or datetime.now(timezone.utc))]


# ---------------------------------------------------------------- silver

def week_window(weeks: list[date]) -> tuple[datetime, datetime]:
    """[Monday 00:00 UTC of the first week, Monday 00:00 UTC after the last week)."""
    midnight = datetime.min.time()
    return (datetime.combine(min(weeks), midnight, tzinfo=timezone.utc),
            datetime.combine(max(weeks) + timedelta(days=7), midnight, tzinfo=timezone.utc))


def _bronze_weeks(ctx: RunContext, source: str, weeks: list[date], current_key: bool = True) -> DataFrame:
    """Bronze rows of the weeks, of the current key version only (or, with current_key=False,
    of every other one): after a key rotation the old copies of the same records stay in
    bronze under other record ids, and must not be counted twice (docs/privacy.md, "Keys")."""
    column = EVENT_TIME[source]
    start, end = week_window(weeks)
    same_key = F.col("key_version") == F.lit(ctx.pseudo.key_version)
    return lake.read(ctx.spark, ctx.lake, BRONZE[source]).where(
        (F.col(column) >= F.lit(start)) & (F.col(column) < F.lit(end)) & (same_key if current_key else ~same_key)
    )


def other_key_rows(ctx: RunContext, weeks: list[date]) -> int:
    """Bronze rows of the weeks (and people rows) that another key version wrote: not used."""
    people = lake.read(ctx.spark, ctx.lake, BRONZE["people"])
    n = people.where(F.col("key_version") != F.lit(ctx.pseudo.key_version)).count()
    return n + sum(_bronze_weeks(ctx, kind.name, weeks, current_key=False).count()
                   for kind in KINDS.values() if kind.events is not None)


def silver_events(ctx: RunContext, weeks: list[date]) -> DataFrame:
    from functools import reduce

    frames = [kind.events(_bronze_weeks(ctx, kind.name, weeks), ctx.settings.ties)
              for kind in KINDS.values() if kind.events is not None]
    return reduce(DataFrame.unionByName, frames).where(F.col("week_start").isin(weeks))


@dataclass
class SilverCandidate:
    """What a build made of silver: the week rows are written as the run's candidates
    (jobs/publish.py); the people snapshot is written only when a week passes its gates."""

    people: DataFrame  # silver/people as of this build, computed once
    counts: dict  # events per kind: the run summary's silver section


def build_silver(ctx: RunContext, weeks: list[date]) -> SilverCandidate:
    """Rebuild silver for the weeks (from all of bronze) and the people snapshot."""
    from jobs.spark import computed

    spark = ctx.spark
    people_df = computed(silver.people(lake.read(spark, ctx.lake, BRONZE["people"])
                                       .where(F.col("key_version") == F.lit(ctx.pseudo.key_version))))
    events_df = silver_events(ctx, weeks).persist()
    publish.write_candidate(spark, ctx.lake, SILVER_EVENTS, events_df, weeks, ctx.run_id)
    interactions_df = silver.interactions(events_df, ctx.settings.ties)
    publish.write_candidate(spark, ctx.lake, SILVER_INTERACTIONS, interactions_df, weeks, ctx.run_id)
    counts = (
        events_df.groupBy("kind")
        .agg(
            F.count("*").alias("events"),
            F.sum(F.col("is_broadcast").cast("int")).alias("broadcast"),
            F.sum(F.col("is_cancelled").cast("int")).alias("cancelled"),
            F.sum((~F.col("forms_ties")).cast("int")).alias("no_ties"),
        )
        .collect()
    )
    events_df.unpersist()
    return SilverCandidate(people_df, {r["kind"]: {k: int(r[k] or 0) for k in ("events", "broadcast", "cancelled", "no_ties")}
                                       for r in counts})


# ---------------------------------------------------------------- gold + gates + publish

def gold_frames(ctx: RunContext, weeks: list[date], people_df: DataFrame) -> dict[str, DataFrame]:
    """Candidate gold tables for the weeks, from this run's silver candidates and the
    published gold history (nothing is written here)."""
    spark = ctx.spark
    week_filter = F.col("week_start").isin(weeks)
    this_run = week_filter & (F.col(RUN_ID) == F.lit(ctx.run_id))
    first, last = history_weeks(weeks)
    earlier = F.col("week_start").between(first, last) & ~week_filter

    def history(table, columns) -> DataFrame:
        # Tables written before a column existed read it as null.
        df = lake.read_published(spark, ctx.lake, table).where(earlier)
        return df.select(*[F.col(c) if c in df.columns else F.lit(None).cast(table.schema[c].dataType).alias(c)
                           for c in columns])

    previous_weeks = [w - timedelta(weeks=1) for w in weeks]
    inputs = GoldInputs(
        interactions=lake.read(spark, ctx.lake, SILVER_INTERACTIONS).where(this_run).drop(RUN_ID),
        events=lake.read(spark, ctx.lake, SILVER_EVENTS).where(this_run).drop(RUN_ID),
        people=people_df,
        weeks=weeks,
        person_history=history(PERSON_METRICS_WEEKLY, HISTORY_COLUMNS).join(
            history(PERSON_BROKERAGE_WEEKLY, ("week_start", "person", "cross_group_ties")),
            on=["week_start", "person"], how="left"),
        edge_history=history(EDGES_WEEKLY, ("week_start", "src", "dst")).where(F.col("week_start").isin(previous_weeks)),
    )
    return build_gold(inputs, ctx.settings)


def _budget_refusals(ctx: RunContext, weeks: list[date]) -> dict[date, CheckResult]:
    """The failed check of each week whose differential-privacy budget cannot pay for another
    release: it joins the group table's gate, so the week is blocked like by any other check."""
    rules = ctx.settings.dp
    if not rules.enabled:
        return {}
    from jobs.privacy.dp import BudgetLedger, fits_budget

    ledger = BudgetLedger(ctx.spark, ctx.lake, rules)
    refused = {}
    for week in weeks:
        spent = ledger.spent(week)
        if not fits_budget(spent, rules.epsilon_per_release, rules.weekly_budget):
            refused[week] = CheckResult(
                check="privacy: the week's differential-privacy budget allows this release",
                expectation="budget", column=None, level="fail", success=False, table=GROUP_METRICS_WEEKLY.path,
                observed=f"spent {spent:g} of {rules.weekly_budget:g}, a release costs {rules.epsilon_per_release:g}")
    return refused


def _record_budget(ctx: RunContext, weeks: list[date]) -> None:
    if not ctx.settings.dp.enabled or not weeks:
        return
    from jobs.privacy.dp import BudgetLedger

    ledger = BudgetLedger(ctx.spark, ctx.lake, ctx.settings.dp)
    for week in weeks:
        ledger.record(week, ctx.run_id, GROUP_METRICS_WEEKLY.path, ctx.settings.dp.epsilon_per_release)


def _published_row_counts(ctx: RunContext, table) -> dict[date, int]:
    """Rows per published week of a gold table: the volume baseline of its suite."""
    if not lake.exists(ctx.spark, ctx.lake, table):
        return {}
    rows = lake.read_published(ctx.spark, ctx.lake, table).groupBy("week_start").count().collect()
    return {r["week_start"]: int(r["count"]) for r in rows}


def _trailing(counts: dict[date, int], week: date) -> tuple[int, ...]:
    """Published row counts of the four weeks before: the volume baseline."""
    return tuple(n for w, n in sorted(counts.items()) if week - timedelta(weeks=4) <= w < week)


@dataclass
class GateOutcome:
    results: list[GateResult]
    published: list[date]
    groups_suppressed: int
    suppressed_by_reason: dict[str, int] = field(default_factory=dict)
    waiting: list[date] = field(default_factory=list)  # passed, staged for approval
    budget_refused: list[date] = field(default_factory=list)  # DP budget spent: not released


def gate_and_publish(ctx: RunContext, weeks: list[date], people_df: DataFrame) -> GateOutcome:
    """Validate the gold tables of all the weeks together (run_gates); a week whose fail-level
    checks all pass (every table of the week) is published with its silver (jobs/publish.py),
    or staged for approval when approval is required; otherwise the previous run stays
    current and this run's candidates of the week are discarded."""
    from jobs.privacy import approval
    from jobs.privacy.names import known_name_refs, name_ref

    frames = gold_frames(ctx, weeks, people_df)
    # The roster checks anti-join the build's silver/people; name refs let a check tell a
    # person's name used as a group label without holding any name.
    roster_df = people_df.select("person")
    names = known_name_refs(ctx.spark, ctx.lake)
    ingests = newest_ingests(ctx.spark, ctx.lake)
    counts = {table.path: _published_row_counts(ctx, table) for table in GOLD_TABLES}
    inputs = {
        week: {
            table.path: SuiteInputs(
                trailing_row_counts=_trailing(counts[table.path], week),
                min_group_size=ctx.settings.privacy.min_group_size,
                name_refs=names, name_ref=partial(name_ref, ctx.pseudo),
                newest_ingests=ingests, built_at=ctx.build_started_at)
            for table in GOLD_TABLES
        }
        for week in weeks
    }
    log.info("gates for weeks %s", ", ".join(label(w) for w in sorted(weeks)))
    results = run_gates(frames, inputs, roster_df)
    refusals = _budget_refusals(ctx, weeks)
    for week, refusal in refusals.items():
        # One result per table and week (the key of quality/validation_runs): the budget
        # check joins the group table's.
        next(r for r in results if r.table == GROUP_METRICS_WEEKLY.path and r.week_start == week).checks.append(refusal)
    passed: list[date] = []
    for week in sorted(weeks):
        week_results = [r for r in results if r.week_start == week]
        if all(r.success for r in week_results):
            passed.append(week)
        else:
            failed = [f"{r.table}: {c.check}" for r in week_results for c in r.failed_fail]
            log.error("week %s NOT published; failed checks: %s", label(week), "; ".join(failed))
    published: list[date] = []
    waiting: list[date] = []
    if passed:
        # Restricted: a candidate like the week's silver, current with the week's gold.
        publish.write_candidate(ctx.spark, ctx.lake, PERSON_BROKERAGE_WEEKLY,
                                frames[PERSON_BROKERAGE_WEEKLY.path].where(F.col("week_start").isin(passed)),
                                passed, ctx.run_id)
        lake.overwrite(ctx.spark, ctx.lake, SILVER_PEOPLE, people_df)
    if passed and ctx.settings.privacy.require_approval:
        log.info("staging weeks %s for approval", ", ".join(label(w) for w in passed))
        approval.stage(ctx.spark, ctx.lake, frames, passed, ctx.run_id)
        waiting = passed
    elif passed:
        log.info("publishing weeks %s", ", ".join(label(w) for w in passed))
        for table in GOLD_TABLES:
            frame = frames[table.path].where(F.col("week_start").isin(passed))
            publish.write_candidate(ctx.spark, ctx.lake, table, frame, passed, ctx.run_id)
        publish.make_current(ctx.spark, ctx.lake, passed, ctx.run_id, ctx.build_started_at)
        published = passed
    publish.discard_candidate(ctx.spark, ctx.lake, [w for w in weeks if w not in passed], ctx.run_id)
    _record_budget(ctx, passed)
    _record_validation_runs(ctx, results, published)
    by_reason = {r["suppression"]: int(r["count"]) for r in
                 frames[GROUP_METRICS_WEEKLY.path].where(F.col("is_suppressed")).groupBy("suppression").count().collect()}
    for frame in frames.values():
        frame.unpersist()
    return GateOutcome(results, published, sum(by_reason.values()), by_reason, waiting, sorted(refusals))


def _record_validation_runs(ctx: RunContext, results: list[GateResult], published: list[date]) -> None:
    report = str(ctx.report_dir / "validation.html")
    checked_at = datetime.now(timezone.utc)
    rows = [
        (ctx.run_id, r.table, r.week_start, r.suite, r.success, r.week_start in published,
         len(r.checks), len(r.failed_fail), len(r.failed_warn),
         [f"{c.level}: {c.check}" for c in r.failed_fail + r.failed_warn],
         ctx.pseudo.key_version, checked_at, report, ctx.build_started_at or ctx.started_at)
        for r in results
    ]
    if rows:
        lake.merge_rows(ctx.spark, ctx.lake, VALIDATION_RUNS_TABLE,
                        ctx.spark.createDataFrame(rows, VALIDATION_RUNS_TABLE.schema))


# ---------------------------------------------------------------- the whole run

@dataclass
class RunSummary:
    run_id: str
    key_version: str
    weeks: list[str]
    sources: dict[str, dict]
    silver: dict
    gates: list[dict]
    published_weeks: list[str]
    groups_suppressed: int
    report: str
    waiting_weeks: list[str] = field(default_factory=list)  # passed, waiting for `ona approve`
    # What the privacy officer's report shows (jobs/quality/report.py): counts only.
    privacy: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, default=str)


def build_weeks(ctx: RunContext, weeks: list[date], sources: list[SourceSummary]) -> RunSummary:
    from jobs.quality.report import write_report

    ctx.build_started_at = datetime.now(timezone.utc)
    candidate = build_silver(ctx, weeks) if weeks else None
    log.info("silver built for %s", ", ".join(label(w) for w in weeks))
    outcome = gate_and_publish(ctx, weeks, candidate.people) if candidate else GateOutcome([], [], 0)
    results = outcome.results
    privacy = privacy_facts(ctx, sources, weeks, outcome)
    summary = RunSummary(
        run_id=ctx.run_id,
        key_version=ctx.pseudo.key_version,
        weeks=[label(w) for w in weeks],
        sources={source_label(s): asdict(s) for s in sources},
        silver=candidate.counts if candidate else {},
        gates=[
            {"table": r.table, "week": label(r.week_start), "success": r.success,
             "failed": [c.check for c in r.failed_fail], "warnings": [c.check for c in r.failed_warn]}
            for r in results
        ],
        published_weeks=[label(w) for w in outcome.published],
        groups_suppressed=outcome.groups_suppressed,
        report=str(ctx.report_dir / "validation.html"),
        waiting_weeks=[label(w) for w in outcome.waiting],
        privacy=privacy,
    )
    write_report(ctx, summary, results)
    return summary


def privacy_facts(ctx: RunContext, sources: list[SourceSummary], weeks: list[date], outcome: GateOutcome) -> dict:
    """The privacy section of the run summary and report: what was excluded or collapsed and
    why, suppressed cells, DP budget, retention, erasures and approval state. Counts only."""
    from jobs.privacy import approval
    from schemas.quality import ERASURES_TABLE, RETENTION_RUNS_TABLE

    excluded: dict[str, int] = {}
    if ctx.opt_out.people:
        excluded["people on the opt-out list"] = len(ctx.opt_out.people)
    for summary in sources:
        for reason, n in summary.unjoined.items():
            excluded[reason] = excluded.get(reason, 0) + int(n)
    other_key = other_key_rows(ctx, weeks) if weeks else 0
    excluded[OTHER_KEY_VERSION] = other_key
    spark = ctx.spark
    retention = None
    if lake.exists(spark, ctx.lake, RETENTION_RUNS_TABLE):
        runs = lake.read(spark, ctx.lake, RETENTION_RUNS_TABLE)
        latest = runs.orderBy(F.col("applied_at").desc()).select("run_id", "applied_at").first()
        if latest is not None:
            rows = runs.where(F.col("run_id") == latest["run_id"]).orderBy("table").collect()
            retention = {"applied_at": latest["applied_at"].isoformat(), "tables": [
                {"table": r["table"], "window_weeks": r["window_weeks"], "cutoff": r["cutoff"].isoformat(),
                 "rows_removed": r["rows_removed"]} for r in rows]}
    erasures = []
    if lake.exists(spark, ctx.lake, ERASURES_TABLE):
        for r in lake.read(spark, ctx.lake, ERASURES_TABLE).orderBy("erased_at").collect():
            erasures.append({"erased_at": r["erased_at"].isoformat(), "reason": r["reason"], "people": r["people"],
                             "rows_removed": sum(r["rows_removed"].values()),
                             "rows_changed": sum(r["rows_changed"].values()),
                             "weeks_rebuilt": list(r["weeks_rebuilt"])})
    return {
        "key_id": ctx.pseudo.key_version,
        "k": ctx.settings.privacy.min_group_size,
        "excluded": excluded,
        "suppressed": outcome.suppressed_by_reason,
        "dp": dp_facts(ctx, weeks, outcome.budget_refused),
        "retention": retention,
        "erasures": erasures,
        "approval": approval.approval_state(spark, ctx.lake, ctx.settings.privacy.require_approval),
    }


def dp_facts(ctx: RunContext, weeks: list[date], refused: list[date]) -> dict | None:
    """The budget of each week built, after this run's releases, and whether this run's
    release of the week was refused; None when DP is off."""
    rules = ctx.settings.dp
    if not rules.enabled:
        return None
    from jobs.privacy.dp import BudgetLedger

    ledger = BudgetLedger(ctx.spark, ctx.lake, rules)
    rows = []
    for week in sorted(weeks):
        spent = ledger.spent(week)
        rows.append({"week": label(week), "spent": spent, "remaining": max(rules.weekly_budget - spent, 0.0),
                     "refused": week in refused})
    return {"epsilon_per_release": rules.epsilon_per_release, "weekly_budget": rules.weekly_budget,
            "weight_clip": rules.weight_clip, "weeks": rows}


def source_label(summary: SourceSummary) -> str:
    """How a source appears in run summaries: its kind, plus the API vendor when pulled."""
    return summary.source if summary.origin == "files" else f"{summary.source} ({summary.origin})"


def _context(landing: Path | None, lake_root: Path, settings: Settings | None, spark: SparkSession | None,
             reads_addresses: bool) -> RunContext:
    """The run's context. Reading addresses (an ingest) needs the internal domains and the
    opt-out list; a build from bronze needs neither."""
    from jobs.spark import get_spark

    settings = settings or Settings.from_env()
    key = load_key()  # a missing or weak key is refused before Spark starts
    spark = spark or get_spark()
    landing = Path(landing) if landing else None
    pseudo = make_pseudonymiser(landing, spark=spark, lake_root=Path(lake_root), require_domains=reads_addresses,
                                key=key)
    opt_out = load_opt_out(landing, pseudo, settings) if reads_addresses else OptOut(frozenset())
    return RunContext(spark=spark, lake=Path(lake_root), pseudo=pseudo, settings=settings, opt_out=opt_out)


def _mark_weeks_touched(ctx: RunContext, weeks: list[date]) -> None:
    """Record an ingest-like touch of the weeks an opt-out erasure changed, so that the next
    build (this run's, or the weekly DAG's) rebuilds them (pending_weeks)."""
    if weeks:
        _record_ingest_run(ctx, SourceSummary(source="people", origin="opt-out", weeks=sorted(label(w) for w in weeks)))


def erase_opted_out(ctx: RunContext) -> list[date]:
    """Erase what the lake already held about the people on the opt-out list (as `ona erase`
    does, without rebuilding: the caller builds the weeks returned)."""
    if not ctx.opt_out.people:
        return []
    from jobs.privacy.erase import erase

    record = erase(ctx.spark, ctx.lake, set(ctx.opt_out.people), reason="opt-out", settings=ctx.settings,
                   rebuild=False, skip_if_absent=True)
    return [parse_week(w) for w in record.weeks_not_rebuilt] if record is not None else []


def ingest(landing: Path, lake_root: Path, source: str, weeks: list[date] | None = None,
           settings: Settings | None = None, spark: SparkSession | None = None) -> SourceSummary:
    """One source's landed files into bronze (the ingest DAGs' task). Opted-out people are
    dropped here and erased from what the lake held (the weeks they touched rebuild next)."""
    ctx = _context(landing, lake_root, settings, spark, reads_addresses=True)
    summary = ingest_source(ctx, Path(landing), source, week_window(weeks) if weeks else None)
    _mark_weeks_touched(ctx, erase_opted_out(ctx))
    return summary


def build(landing: Path | None, lake_root: Path, weeks: list[date],
          settings: Settings | None = None, spark: SparkSession | None = None) -> RunSummary:
    """Silver, gold, gates and publish for the weeks (the weekly graph DAG's task); the report
    shows the latest ingest of each source."""
    ctx = _context(landing, lake_root, settings, spark, reads_addresses=False)
    return build_weeks(ctx, weeks, latest_ingest_runs(ctx.spark, ctx.lake))


def run(landing: Path | None, lake_root: Path, weeks: list[date] | None = None,
        settings: Settings | None = None, spark: SparkSession | None = None,
        now: datetime | None = None) -> RunSummary:
    """`ona run`: ingest the landing folder when given (new and changed files only), then
    build, gate and publish the given weeks, or else every week that ingests (landed or
    pulled) touched since the lake's last build (`pending_weeks`)."""
    ctx = _context(landing, lake_root, settings, spark, reads_addresses=landing is not None)
    if landing is None and not lake.exists(ctx.spark, ctx.lake, INGEST_RUNS_TABLE):
        raise EmptyLakeError(ctx.lake)
    window = week_window(weeks) if weeks else None
    summaries = [ingest_source(ctx, Path(landing), source, window) for source in SOURCES] if landing else []
    _mark_weeks_touched(ctx, erase_opted_out(ctx))
    to_build = weeks or pending_weeks(ctx.spark, ctx.lake, now)
    shown = summaries or latest_ingest_runs(ctx.spark, ctx.lake)
    return build_weeks(ctx, to_build, shown)

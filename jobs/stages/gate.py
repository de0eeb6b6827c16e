"""Gate: every gold suite on the candidate weeks at once (jobs/quality/gates.py), then each
week is published with its silver (jobs/publish.py), staged for approval, or blocked; the
results land in quality/validation_runs."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import partial

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs import lake, publish
from jobs.frames import frame_from_rows
from jobs.progress import stage
from jobs.quality.checks import CheckResult, GateResult, SuiteInputs
from jobs.quality.gates import newest_ingests, run_gates
from jobs.stages import gold
from jobs.stages.context import RunContext
from jobs.weeks import label
from schemas.gold import GOLD_TABLES, GROUP_METRICS_WEEKLY
from schemas.quality import VALIDATION_RUNS_TABLE
from schemas.silver import PERSON_BROKERAGE_WEEKLY, SILVER_PEOPLE

log = logging.getLogger("ona")


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
    from jobs.privacy.names import known_name_refs, name_ref

    with stage("gold"):
        frames = gold.gold_frames(ctx, weeks, people_df)
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
    with stage("gates"):
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
    with stage("publish"):
        published, waiting = _publish_passed(ctx, frames, weeks, passed, people_df)
        _record_budget(ctx, passed)
        _record_validation_runs(ctx, results, published)
    by_reason = {r["suppression"]: int(r["count"]) for r in
                 frames[GROUP_METRICS_WEEKLY.path].where(F.col("is_suppressed")).groupBy("suppression").count().collect()}
    for frame in frames.values():
        frame.unpersist()
    return GateOutcome(results, published, sum(by_reason.values()), by_reason, waiting, sorted(refusals))


def _publish_passed(ctx: RunContext, frames: dict[str, DataFrame], weeks: list[date], passed: list[date],
                    people_df: DataFrame) -> tuple[list[date], list[date]]:
    """Publish the weeks that passed (or stage them for approval) and discard the candidates of
    the others; returns (published, waiting)."""
    from jobs.privacy import approval

    blocked = [w for w in weeks if w not in passed]
    publish.discard_candidate(ctx.spark, ctx.lake, blocked, ctx.run_id)
    if not passed:
        return [], []
    approving = ctx.settings.privacy.require_approval
    # The restricted brokerage is a candidate like the week's silver, current with its gold;
    # with approval on, the gold candidates wait in staging/ instead.
    tables = [PERSON_BROKERAGE_WEEKLY, *([] if approving else GOLD_TABLES)]
    in_passed = F.col("week_start").isin(passed)
    publish.write_candidates(ctx.spark, ctx.lake, {t: frames[t.path].where(in_passed) for t in tables},
                             passed, ctx.run_id)
    lake.overwrite(ctx.spark, ctx.lake, SILVER_PEOPLE, people_df)
    if approving:
        log.info("staging weeks %s for approval", ", ".join(label(w) for w in passed))
        approval.stage(ctx.spark, ctx.lake, frames, passed, ctx.run_id)
        return [], passed
    log.info("publishing weeks %s", ", ".join(label(w) for w in passed))
    publish.make_current(ctx.spark, ctx.lake, passed, ctx.run_id, ctx.build_started_at)
    return passed, []


def _record_validation_runs(ctx: RunContext, results: list[GateResult], published: list[date]) -> None:
    report = lake.join(ctx.report_dir, "validation.html")
    checked_at = datetime.now(timezone.utc)
    rows = [
        (ctx.run_id, r.table, r.week_start, r.suite, r.success, r.week_start in published,
         len(r.checks), len(r.failed_fail), len(r.failed_warn),
         [f"{c.level}: {c.check}" for c in r.failed_fail + r.failed_warn],
         ctx.pseudo.key_version, checked_at, report, ctx.build_started_at or ctx.started_at)
        for r in results
    ]
    if rows:  # one row per run, table and week (the table's key), written once: appended
        lake.append_once(ctx.spark, ctx.lake, VALIDATION_RUNS_TABLE,
                         frame_from_rows(ctx.spark, rows, VALIDATION_RUNS_TABLE.schema),
                         write_id=f"validation_runs/{ctx.run_id}")

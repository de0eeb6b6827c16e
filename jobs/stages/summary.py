"""What a run did: the summary the CLI prints, the DAG task logs and the report shows
(jobs/quality/report.py), with its privacy facts (counts only)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date

from pyspark.sql import functions as F

from jobs import lake
from jobs.stages.context import RunContext
from jobs.stages.gate import GateOutcome
from jobs.stages.ingest import SourceSummary
from jobs.stages.silver import other_key_rows
from jobs.weeks import label

OTHER_KEY_VERSION = "bronze records of another key version (not used)"


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

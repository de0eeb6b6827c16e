"""`ona pull`: every configured API vendor, incrementally, into bronze and quarantine.

For each vendor (its Airflow connection ``ona_<vendor>`` configured): load its cursors from
the lake, pull its kinds in order (the directory first: mail and calendars are read per
directory user), load each kind through the same path as landed files
(``jobs.stages.ingest.load_outcome``), then save that kind's cursors. Which weeks the pulled
records touch is recorded in ``quality/ingest_runs`` and returned, so the weekly build
rebuilds exactly those (docs/pull.md).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from importlib import import_module
from pathlib import Path

from pyspark.sql import SparkSession

from jobs import lake
from jobs.pull import connections, state
from jobs.pull.base import DirectoryUser, PullContext, PullOutcome
from jobs.source_kinds import VENDORS, vendor_kinds
from jobs.weeks import week_start
from schemas.state import DOMAINS_NAME

log = logging.getLogger("ona.pull")

# Without --weeks, a scope with no cursor (first pull, a new user or channel, a full resync
# after an expired token) is read this far back, and later pulls re-poll scopes whose window is
# fixed per cursor (Graph calendar weeks) this far back for late changes (docs/pull.md).
HISTORY = timedelta(weeks=8)
LATE_CHANGES = timedelta(weeks=2)
AHEAD = timedelta(weeks=2)  # calendars: meetings already scheduled this far ahead


@dataclass
class PullSummary:
    run_id: str
    vendors: dict[str, dict] = field(default_factory=dict)  # vendor -> requests, resyncs, kinds
    kinds: dict[str, dict] = field(default_factory=dict)  # "<kind> (<vendor>)" -> SourceSummary
    weeks: list[str] = field(default_factory=list)  # ISO weeks the new records touch

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, default=str)


def _monday(moment: datetime) -> datetime:
    return datetime.combine(week_start(moment), datetime.min.time(), tzinfo=timezone.utc)


def default_window(now: datetime) -> tuple[datetime, datetime]:
    """[Monday 00:00 UTC HISTORY back, Monday 00:00 UTC after the week AHEAD): what a scope
    without a cursor reads when no --weeks are given."""
    return _monday(now - HISTORY), _monday(now + AHEAD) + timedelta(weeks=1)


def configured_vendors() -> list[str]:
    return [v for v in VENDORS if connections.is_configured(v)]


def pull(lake_root: Path, vendors: list[str] | None = None, weeks: list[date] | None = None,
         landing: Path | None = None, spark: SparkSession | None = None, now: datetime | None = None,
         transport=None, sleep=None) -> PullSummary:
    """Pull the vendors (default: every configured one). Raises PullError subclasses with one
    clear line (auth refused, API unreachable, not configured); what was loaded before the
    error stays loaded, with its cursors."""
    from jobs.stages.context import RunContext, load_opt_out, make_pseudonymiser
    from jobs.stages.ingest import SourceSummary, load_outcome
    from jobs.weeks import week_window
    from jobs.spark import get_spark

    lake_root = lake.location(lake_root)
    now = now or datetime.now(timezone.utc)
    unknown = [v for v in vendors or [] if v not in VENDORS]
    if unknown:
        raise connections.NotConfiguredError(f"unknown source(s) {', '.join(unknown)}; known: {', '.join(VENDORS)}")
    vendors = list(vendors) if vendors else configured_vendors()
    if not vendors:
        raise connections.NotConfiguredError(
            "no API source is configured: set AIRFLOW_CONN_ONA_MSGRAPH, AIRFLOW_CONN_ONA_GOOGLE "
            "or AIRFLOW_CONN_ONA_SLACK (docs/pull.md)")
    spark = spark or get_spark()
    # No warning without domains: a directory pull supplies them, other kinds refuse (below).
    pseudo = make_pseudonymiser(Path(landing) if landing else None, spark=spark, lake_root=lake_root,
                                require_domains=False)
    ctx = RunContext(spark=spark, lake=lake_root, pseudo=pseudo, opt_out=load_opt_out(landing, pseudo))
    summary = PullSummary(run_id=ctx.run_id)
    touched: set[str] = set()
    client_args = {k: v for k, v in (("transport", transport), ("sleep", sleep)) if v is not None}

    for vendor in vendors:
        module = import_module(VENDORS[vendor])
        clients = _Clients(vendor, module, client_args)
        saved = state.load(spark, lake_root, vendor)
        window = week_window(weeks) if weeks else default_window(now)
        users: list[DirectoryUser] = []
        vendor_summary = {"requests": 0, "resyncs": 0, "kinds": []}
        try:
            for kind in vendor_kinds(vendor):
                before = dict(saved.get(kind, {}))
                client = clients.for_kind(kind)
                poll_from = _monday(now - LATE_CHANGES) if before and not weeks else None
                pull_ctx = PullContext(client=client, pseudo=ctx.pseudo, state=dict(before), window=window,
                                       explicit_window=bool(weeks), users=users, now=now, poll_from=poll_from)
                if kind != "people" and not ctx.pseudo.internal_domains:
                    # Fail closed. (A directory pull may run without known domains: it lists the
                    # organisation's own people, and the domains it reports are kept.)
                    raise connections.NotConfiguredError(
                        f"{vendor}: no internal domains known (no roster, directory pull or "
                        "ONA_INTERNAL_DOMAINS): refusing to treat every address as internal")
                sent_before = client.sent
                outcome: PullOutcome = module.KINDS[kind](pull_ctx)
                if kind == "people":
                    users = outcome.users
                    if outcome.domains:
                        pull_ctx.state[DOMAINS_NAME] = ",".join(sorted(outcome.domains))
                        ctx.pseudo = _with_domains(ctx.pseudo, outcome.domains)
                kind_summary = SourceSummary(source=kind, origin=vendor, requests=client.sent - sent_before,
                                             resyncs=outcome.resyncs)
                kind_summary = load_outcome(ctx, kind, outcome, kind_summary)
                state.save(spark, lake_root, vendor, kind, before, pull_ctx.state, ctx.run_id)
                summary.kinds[f"{kind} ({vendor})"] = asdict(kind_summary)
                touched |= set(kind_summary.weeks)
                vendor_summary["kinds"].append(kind)
                vendor_summary["resyncs"] += outcome.resyncs
        finally:
            vendor_summary["requests"] = clients.sent
            vendor_summary["retries"] = clients.retries
            summary.vendors[vendor] = vendor_summary
            clients.close()
    summary.weeks = sorted(touched)
    return summary


class _Clients:
    """The vendor's API clients: one for its connection's host, or, when the connection names
    no host, one per public host of the kind's API (Google's APIs live on several hosts)."""

    def __init__(self, vendor: str, module, client_args: dict):
        self.vendor, self.module, self.client_args = vendor, module, client_args
        self.by_url = {}
        conn = connections.get(vendor)
        self.host = conn.host if conn else None

    def for_kind(self, kind: str):
        url = self.host or (self.module.default_base_url(kind) if hasattr(self.module, "default_base_url")
                            else self.module.DEFAULT_BASE_URL)
        if url not in self.by_url:
            self.by_url[url] = connections.client(self.vendor, url, **self.client_args)
        return self.by_url[url]

    @property
    def sent(self) -> int:
        return sum(c.sent for c in self.by_url.values())

    @property
    def retries(self) -> int:
        return sum(n for c in self.by_url.values() for k, n in c.requests.items() if k.startswith("retry"))

    def close(self) -> None:
        for c in self.by_url.values():
            c.close()


def _with_domains(pseudo, domains: set[str]):
    from jobs.privacy.pseudonym import Pseudonymiser

    return Pseudonymiser(key=pseudo.key, internal_domains=frozenset(pseudo.internal_domains | domains))



"""A run's context: Spark, the lake, the pseudonymiser with its key and internal domains, the
settings, the opt-out list and the run id. Opening one refuses early (no key, no domains)."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs import lake
from jobs.config import Settings
from jobs.privacy.opt_out import OptOut, opt_out_path, read_opt_out
from jobs.privacy.pseudonym import Pseudonymiser, load_key
from jobs.source_kinds import LANDING_FOLDERS
from schemas.state import DOMAINS_NAME, PULL_STATE


@dataclass
class RunContext:
    spark: SparkSession
    lake: str  # the lake root: a local folder or a URL (jobs.lake.location)
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
    def report_dir(self) -> str:
        from jobs.lake import join

        return join(self.lake, "reports", self.run_id)


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

    def __init__(self, lake_root: str) -> None:
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
        domains |= _directory_domains(spark, lake_root)
    return frozenset(domains)


def _directory_domains(spark: SparkSession, lake_root: Path) -> set[str]:
    """Internal domains that the directory pulls recorded in state/pull_state."""
    if not lake.exists(spark, lake_root, PULL_STATE):
        return set()
    rows = (lake.read(spark, lake_root, PULL_STATE)
            .where((F.col("kind") == "people") & (F.col("name") == DOMAINS_NAME)).collect())
    return {d for r in rows if r["value"] for d in r["value"].split(",") if d}


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


def open_context(landing: Path | None, lake_root: Path | str, settings: Settings | None, spark: SparkSession | None,
                 reads_addresses: bool) -> RunContext:
    """The run's context. Reading addresses (an ingest) needs the internal domains and the
    opt-out list; a build from bronze needs neither."""
    from jobs.lake import location
    from jobs.spark import concurrent_actions, get_spark, interpreted_below_rows

    settings = settings or Settings.from_env()
    concurrent_actions()  # bad values are refused here, not at the run's first table write
    interpreted_below_rows()
    key = load_key()  # a missing or weak key is refused before Spark starts
    spark = spark or get_spark()
    landing = Path(landing) if landing else None
    lake_root = location(lake_root)
    pseudo = make_pseudonymiser(landing, spark=spark, lake_root=lake_root, require_domains=reads_addresses,
                                key=key)
    opt_out = load_opt_out(landing, pseudo, settings) if reads_addresses else OptOut(frozenset())
    return RunContext(spark=spark, lake=lake_root, pseudo=pseudo, settings=settings, opt_out=opt_out)

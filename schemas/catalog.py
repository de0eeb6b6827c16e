"""Every table of the lake contract, by zone: what erasure, retention and the BI-zone gate walk."""

from schemas import Table
from schemas.bronze import BRONZE, QUARANTINE_TABLES
from schemas.gold import GOLD_TABLES, STAGING_TABLES
from schemas.quality import INGEST_RUNS_TABLE, VALIDATION_RUNS_TABLE
from schemas.silver import PERSON_BROKERAGE_WEEKLY, SILVER_EVENTS, SILVER_INTERACTIONS, SILVER_PEOPLE
from schemas.state import LANDING_MANIFEST, NAME_REFS, PULL_STATE


def all_tables() -> tuple[Table, ...]:
    """Every table the pipeline writes (the privacy tables register themselves in schemas.quality)."""
    from schemas import quality

    return (*BRONZE.values(), *QUARANTINE_TABLES.values(), SILVER_EVENTS, SILVER_INTERACTIONS, SILVER_PEOPLE,
            PERSON_BROKERAGE_WEEKLY,
            *GOLD_TABLES, *STAGING_TABLES.values(), *quality.QUALITY_TABLES, PULL_STATE, LANDING_MANIFEST, NAME_REFS)


# BI tools see these zones only (docs/privacy.md, "Two zones"); the rest is restricted.
BI_ZONES = ("gold", "quality")

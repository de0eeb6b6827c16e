"""Airflow Assets and DAG params shared by the pull, ingest and weekly graph DAGs.

They live in the package (not in dags/) so that every DAG file imports them the same way,
whatever the scheduler puts on sys.path. Parse-time cheap: nothing here imports Spark, GX or
the parsers (the scheduler's DAG processor imports this module on every parse).

The event chain (docs/orchestration.md):

    <landing>/<folder>/_READY --watcher--> ona_landing_<source> --> ona_ingest_<source>
    ona_ingest_<source>, ona_pull_<vendor> (nightly) --> ona_bronze_<kind> --> ona_weekly_graph
"""

from __future__ import annotations

import os
from pathlib import Path

from airflow.sdk import Asset, AssetWatcher, Param

from jobs.lake_location import location
from jobs.source_kinds import LANDING_FOLDERS, READY_FLAG  # parse-time cheap (no Spark, no parser)
from schemas import SOURCES

# READY_FLAG: the triggerer sees it, deletes it and updates that folder's landing asset (one
# ingest run per flag).
# How often the triggerer looks for a flag (seconds).
WATCH_POKE_SECONDS = 5.0

BRONZE_ASSETS = {
    source: Asset(name=f"ona_bronze_{source}", uri=f"file:///ona/bronze/{source}") for source in SOURCES
}


def ready_flag(landing: str | Path, source: str) -> Path:
    """`<landing>/<folder>/_READY` for a source (absolute: the triggerer has its own cwd)."""
    return Path(os.path.abspath(os.path.expanduser(str(landing)))) / LANDING_FOLDERS[source] / READY_FLAG


def landing_asset(source: str, landing: str | None) -> Asset:
    """The asset of a landing folder, watched for its flag file when the landing root is known.

    Without a landing root (ONA_LANDING unset at parse time) the asset has no watcher: the ingest
    DAG then runs only when triggered by hand (or an asset event posted through the API).
    """
    watchers = []
    if landing:
        from airflow.providers.standard.triggers.file import FileDeleteTrigger

        watchers.append(
            AssetWatcher(
                name=f"ona_landing_{source}_ready",
                trigger=FileDeleteTrigger(filepath=str(ready_flag(landing, source)),
                                          poke_interval=WATCH_POKE_SECONDS),
            )
        )
    return Asset(name=f"ona_landing_{source}", uri=f"file:///ona/landing/{source}", watchers=watchers)


LANDING_ASSETS = {source: landing_asset(source, os.environ.get("ONA_LANDING")) for source in SOURCES}


def path_params() -> dict[str, Param]:
    """Landing and lake folders: ONA_LANDING / ONA_LAKE by default, overridable per run."""
    return {
        "landing": Param(os.environ.get("ONA_LANDING", ""), type="string", description="landing folder"),
        "lake": Param(os.environ.get("ONA_LAKE", ""), type="string", description="lake root"),
    }


class MissingFolderParam(ValueError):
    """A DAG run without its landing or lake folder: refused, never the worker's working directory."""


def folder_param(params: dict | None, name: str, required: bool = True) -> Path | str | None:
    """The run's ``landing`` or ``lake`` folder. An empty value (ONA_LANDING / ONA_LAKE unset and
    no run conf) is a clear error for a required one, None for an optional one: ``Path("")`` would
    be the worker's working directory, where a lake must never appear by accident."""
    value = str((params or {}).get(name) or "").strip()
    if value:
        # A lake may be a URL (s3a://bucket/lake), which pathlib would break; a landing is a folder.
        return location(value) if name == "lake" else Path(value)
    if required:
        raise MissingFolderParam(
            f"the DAG param {name!r} is empty: set ONA_{name.upper()} in the Airflow environment or pass "
            f'{{"{name}": "/path"}} in the run conf')
    return None

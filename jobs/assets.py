"""Airflow Assets and DAG params shared by the ingest DAGs and the weekly graph DAG.

They live in the package (not in dags/) so that every DAG file imports them the same way,
whatever the scheduler puts on sys.path.
"""

from __future__ import annotations

import os

from airflow.sdk import Asset, Param

from schemas import SOURCES

BRONZE_ASSETS = {
    source: Asset(name=f"ona_bronze_{source}", uri=f"file:///ona/bronze/{source}") for source in SOURCES
}


def path_params() -> dict[str, Param]:
    """Landing and lake folders: ONA_LANDING / ONA_LAKE by default, overridable per run."""
    return {
        "landing": Param(os.environ.get("ONA_LANDING", ""), type="string", description="landing folder"),
        "lake": Param(os.environ.get("ONA_LAKE", ""), type="string", description="lake root"),
    }

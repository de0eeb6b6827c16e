"""One local Spark session for the whole suite (starting one costs 5-9 s)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"

# Airflow reads these at import: a project-local home and our dags folder, set before any test.
os.environ.setdefault("AIRFLOW_HOME", str(PROJECT_ROOT / ".airflow"))
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(PROJECT_ROOT / "dags"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
# `ona` commands called by tests write their log files here, not under the home folder.
os.environ.setdefault("ONA_LOG_DIR", tempfile.mkdtemp(prefix="ona-test-logs-"))


def pytest_collection_modifyitems(items):
    """Mark every test that needs the Spark session (directly or through a fixture) `spark`:
    `make test-fast` runs the others."""
    for item in items:
        if "spark" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.spark)


@pytest.fixture(scope="session")
def spark():
    """The suite's session interprets expressions, as every run of the suite's size does
    (jobs/spark.py, expressions_for): the tests' own reads of the lake and the transforms and
    gates they call directly would otherwise compile code for every query of a few hundred
    rows. A test that needs compiled expressions asks for `compiled_expressions`."""
    from jobs.spark import INTERPRETED, get_spark

    session = get_spark("ona-tests")
    for key, value in INTERPRETED.items():
        session.conf.set(key, value)
    yield session
    session.stop()


@pytest.fixture
def compiled_expressions(spark):
    """The session compiles expressions during the test (Spark's defaults), as a large run does."""
    from jobs.spark import INTERPRETED, session_conf

    with session_conf(spark, dict.fromkeys(INTERPRETED)):
        yield


@pytest.fixture(scope="session")
def small_org(spark, tmp_path_factory):
    """The first run of a 60-person, 2-week organisation, built once (tests/small_org.py):
    ``small_org.copy_to(folder)`` gives a test its own landing and lake."""
    from tests.small_org import first_run

    return first_run(spark, tmp_path_factory.mktemp("small-org"))


@pytest.fixture
def expression_modes(spark, monkeypatch, compiled_expressions) -> list[str]:
    """How the session ran expressions ("interpreted" or "compiled", jobs/spark.py's
    expressions_for) each time a build computed its gold frames during the test. The test
    starts compiled (Spark's defaults, not the suite's), so a build that interprets is one
    that chose to."""
    from jobs.stages import gold as gold_stage

    real_gold_frames, modes = gold_stage.gold_frames, []

    def recording(ctx, weeks, people_df):
        factory = spark.conf.get("spark.sql.codegen.factoryMode", None)
        modes.append("interpreted" if factory == "NO_CODEGEN" else "compiled")
        return real_gold_frames(ctx, weeks, people_df)

    monkeypatch.setattr(gold_stage, "gold_frames", recording)
    return modes


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real sample data not found at {SHARED_DATA}")
    return SHARED_DATA

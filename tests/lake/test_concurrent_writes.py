"""Jobs that write the lake at the same time: the four ingest DAGs and the weekly build share
the audit and state tables (quality/ingest_runs, state/landing_manifest, state/name_refs), and
the first of them creates those tables. Delta commits optimistically; jobs/lake.py runs a
write again when a concurrent commit beat it. Each job here is a thread on the suite's one
Spark session: Delta's conflict detection works per commit, so threads conflict exactly like
separate processes do."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest

from jobs import lake
from schemas.quality import INGEST_RUNS_TABLE

KEY = "f440d0c926b9728a93427bc6789cbf9798e99dc9049d3ef8691cbdd62395a16a"
JOBS = 4  # the four ingest DAGs


def _at_once(n: int, job) -> list:
    """Run job(0..n-1) on n threads released together; every outcome, exceptions included."""
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait()
        try:
            return job(i)
        except Exception as error:  # noqa: BLE001 - the outcome is what the tests look at
            return error

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def _record_ingest(spark, lake_root, run: str):
    row = {"run_id": run, "source": "email", "read": 1, "accepted": 1, "quarantined": 0, "duplicates": 0,
           "reasons": {}, "weeks": ["2026-W10"], "key_version": "k1", "finished_at": datetime.now(timezone.utc),
           "origin": "files"}
    names = INGEST_RUNS_TABLE.schema.fieldNames()
    df = spark.createDataFrame([tuple(row.get(n) for n in names)], INGEST_RUNS_TABLE.schema)
    lake.merge_rows(spark, lake_root, INGEST_RUNS_TABLE, df)


def _rounds_of_contention(spark, lake_root, rounds: int) -> list:
    """Round 0: JOBS jobs create and write the table at once; later rounds: JOBS MERGEs at once."""
    outcomes = []
    for r in range(rounds):
        outcomes += _at_once(JOBS, lambda i, r=r: _record_ingest(spark, lake_root, f"run-{r}-{i}"))
    return outcomes


def test_jobs_writing_one_table_at_once_all_land(spark, tmp_path):
    outcomes = _rounds_of_contention(spark, tmp_path, rounds=2)
    assert [o for o in outcomes if o is not None] == []
    runs = sorted(r["run_id"] for r in lake.read(spark, tmp_path, INGEST_RUNS_TABLE).collect())
    assert runs == sorted(f"run-{r}-{i}" for r in range(2) for i in range(JOBS))


def test_without_retries_the_same_jobs_conflict(spark, tmp_path, monkeypatch):
    """The contention above is real: with one attempt per write, some job fails."""
    monkeypatch.setattr(lake, "COMMIT_ATTEMPTS", 1)
    failures = []
    for r in range(3):  # the creation round nearly always conflicts; MERGE rounds as well
        outcomes = _at_once(JOBS, lambda i, r=r: _record_ingest(spark, tmp_path, f"run-{r}-{i}"))
        failures = [o for o in outcomes if o is not None]
        if failures:
            break
    assert failures, "no two writes conflicted: the test above proves nothing"
    assert all(isinstance(o, (*lake.DELTA_CONFLICTS, lake._TableCreatedMeanwhile))
               for o in failures), failures


def _ingest_row(spark, run: str):
    names = INGEST_RUNS_TABLE.schema.fieldNames()
    row = {"run_id": run, "source": "chat", "origin": "files", "read": 2, "accepted": 2, "quarantined": 0,
           "duplicates": 0, "reasons": {}, "weeks": ["2026-W11"], "key_version": "k1",
           "finished_at": datetime.now(timezone.utc)}
    return spark.createDataFrame([tuple(row.get(n) for n in names)], INGEST_RUNS_TABLE.schema)


def test_appends_of_audit_rows_never_conflict_and_land_once(spark, tmp_path, monkeypatch):
    """How an ingest records itself (lake.append_once): once the table exists, appends at once
    need no second attempt, and an append retried with the same id adds nothing."""
    lake.append_once(spark, tmp_path, INGEST_RUNS_TABLE, _ingest_row(spark, "first"), write_id="first")
    monkeypatch.setattr(lake, "COMMIT_ATTEMPTS", 1)
    for r in range(2):
        outcomes = _at_once(JOBS, lambda i, r=r: lake.append_once(
            spark, tmp_path, INGEST_RUNS_TABLE, _ingest_row(spark, f"run-{r}-{i}"), write_id=f"run-{r}-{i}"))
        assert [o for o in outcomes if o is not None] == []
    lake.append_once(spark, tmp_path, INGEST_RUNS_TABLE, _ingest_row(spark, "run-0-0"), write_id="run-0-0")
    runs = sorted(r["run_id"] for r in lake.read(spark, tmp_path, INGEST_RUNS_TABLE).collect())
    assert runs == sorted(["first", *(f"run-{r}-{i}" for r in range(2) for i in range(JOBS))])


@pytest.mark.slow
def test_four_ingests_at_once_then_a_build_beside_them(spark, tmp_path, monkeypatch):
    """The four ingest DAGs start together on an empty lake; then the weekly build runs while
    they ingest again. Nothing fails, and nothing is lost: bronze holds what was planted."""
    from jobs import pipeline
    from demo.synthetic import DemoSpec, write_landing
    from jobs.weeks import parse_week
    from schemas.bronze import BRONZE, SOURCES
    from schemas.state import LANDING_MANIFEST

    monkeypatch.setenv("ONA_PSEUDONYM_KEY", KEY)
    landing, lake_root = tmp_path / "landing", tmp_path / "lake"
    planted = write_landing(landing, DemoSpec(n_people=50, weeks=2))

    ingests = _at_once(len(SOURCES), lambda i: pipeline.ingest(landing, lake_root, SOURCES[i], spark=spark))
    assert not [o for o in ingests if isinstance(o, Exception)], ingests
    bronze = {s: lake.read(spark, lake_root, BRONZE[s]).count() for s in SOURCES}
    assert bronze["people"] == planted["people"] == 50
    assert bronze["email"] == planted["emails"]
    assert {s.source: s.accepted for s in ingests} == bronze
    assert lake.read(spark, lake_root, INGEST_RUNS_TABLE).count() == len(SOURCES)
    manifest = lake.read(spark, lake_root, LANDING_MANIFEST).groupBy("source").count().collect()
    assert {r["source"] for r in manifest} == set(SOURCES)

    weeks = [parse_week("2026-W11")]

    def job(i):
        if i == len(SOURCES):
            return pipeline.build(None, lake_root, weeks, spark=spark)
        return pipeline.ingest(landing, lake_root, SOURCES[i], spark=spark)

    outcomes = _at_once(len(SOURCES) + 1, job)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert outcomes[-1].published_weeks == ["2026-W11"]
    # The second ingests found every file unchanged; each recorded its run.
    assert all(o.read == 0 for o in outcomes[:-1])
    assert lake.read(spark, lake_root, INGEST_RUNS_TABLE).count() == 2 * len(SOURCES)
    assert {s: lake.read(spark, lake_root, BRONZE[s]).count() for s in SOURCES} == bronze


def test_an_append_brings_new_contract_columns_to_an_older_table(spark, tmp_path):
    """A lake written before `origin` and the file counts existed: the next ingest's row adds
    them (old rows: null), as a MERGE did (docs/lake.md, "Migrations")."""
    newer = ("origin", "files_ingested", "files_skipped", "files_unrecognised")
    old_df = _ingest_row(spark, "old").drop(*newer)
    old_df.write.format("delta").save(lake.table_path(tmp_path, INGEST_RUNS_TABLE))
    lake.append_once(spark, tmp_path, INGEST_RUNS_TABLE, _ingest_row(spark, "new"), write_id="new")
    rows = {r["run_id"]: r for r in lake.read(spark, tmp_path, INGEST_RUNS_TABLE).collect()}
    assert rows["new"]["origin"] == "files" and rows["old"]["origin"] is None
    assert set(newer) <= set(rows["old"].asDict())


def _manifest_rows(spark, source: str, units: list[int], run: str):
    from schemas.state import LANDING_MANIFEST

    now = datetime.now(timezone.utc)
    rows = [(source, f"{source}-{u}", 10, now, f"content-{u}", run, now) for u in units]
    return spark.createDataFrame(rows, LANDING_MANIFEST.schema)


def _record_files(spark, lake_root, source: str, units: list[int], run: str, partitioned: bool = True):
    """A MERGE of one source's manifest rows, naming its partition or not."""
    from schemas.state import LANDING_MANIFEST

    lake.merge_rows(spark, lake_root, LANDING_MANIFEST, _manifest_rows(spark, source, units, run),
                    partition={"source": source} if partitioned else None)


def _files_per_source(spark, lake_root) -> dict[str, int]:
    from schemas.state import LANDING_MANIFEST

    return {r["source"]: r["count"] for r in lake.read(spark, lake_root, LANDING_MANIFEST).groupBy("source").count().collect()}


def _landed(tmp_path, source: str, units: list[int]):
    """Landing units of one small file each, as jobs/landing.py plans them."""
    from jobs.landing import LandingUnit
    from jobs.privacy.pseudonym import Pseudonymiser

    pseudo = Pseudonymiser(key=bytes.fromhex(KEY))
    landed = []
    for u in units:
        path = tmp_path / "landing" / source / f"file-{u}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{source} {u}")
        landed.append(LandingUnit(source=source, rel=path.name, unit_ref=f"{source}-{u}", files=(("", path),),
                                  size=path.stat().st_size, mtime_us=path.stat().st_mtime_ns // 1000,
                                  file_refs=frozenset(), _pseudo=pseudo))
    return landed


def test_four_sources_record_their_files_at_once_without_a_conflict(spark, tmp_path, monkeypatch):
    """The manifest has one partition per source and each ingest's record (jobs/landing.py)
    names its own, so the four ingest DAGs record their files at once with a single attempt each."""
    from jobs import landing
    from schemas.bronze import SOURCES

    for source in SOURCES:
        landing.record(spark, tmp_path, _landed(tmp_path, source, [0]), "first")
    monkeypatch.setattr(lake, "COMMIT_ATTEMPTS", 1)
    for r in range(3):
        outcomes = _at_once(len(SOURCES), lambda i, r=r: landing.record(
            spark, tmp_path, _landed(tmp_path, SOURCES[i], [r + 1, r + 2]), f"run-{r}"))
        assert [o for o in outcomes if o is not None] == []
    # Units 0, then 1-2, 2-3 and 3-4: five files per source, each once.
    assert _files_per_source(spark, tmp_path) == {source: 5 for source in SOURCES}


def test_merges_of_the_whole_manifest_at_once_conflict(spark, tmp_path, monkeypatch):
    """The test above is not luck: the same MERGEs without naming their partition, on a manifest
    laid out before it was partitioned, conflict with one another."""
    from schemas.bronze import SOURCES
    from schemas.state import LANDING_MANIFEST

    _manifest_rows(spark, "email", [0], "first").write.format("delta").save(lake.table_path(tmp_path, LANDING_MANIFEST))
    monkeypatch.setattr(lake, "COMMIT_ATTEMPTS", 1)
    failures = []
    for r in range(3):
        outcomes = _at_once(len(SOURCES), lambda i, r=r: _record_files(
            spark, tmp_path, SOURCES[i], [r + 1], f"run-{r}", partitioned=False))
        failures = [o for o in outcomes if o is not None]
        if failures:
            break
    assert failures, "no two MERGEs conflicted: the test above proves nothing"
    assert all(isinstance(o, lake.DELTA_CONFLICTS) for o in failures), failures


def test_a_manifest_written_before_it_was_partitioned_is_laid_out_by_source_on_its_next_record(spark, tmp_path):
    """docs/lake.md, "Migrations": the rows stay, the table is rewritten once, partitioned."""
    from delta.tables import DeltaTable

    from schemas.state import LANDING_MANIFEST

    path = lake.table_path(tmp_path, LANDING_MANIFEST)
    _manifest_rows(spark, "email", [0, 1], "old").unionByName(_manifest_rows(spark, "chat", [0], "old")) \
        .write.format("delta").save(path)
    _record_files(spark, tmp_path, "email", [1, 2], "new")
    assert list(DeltaTable.forPath(spark, path).detail().first()["partitionColumns"]) == ["source"]
    rows = {r["unit_ref"]: r["run_id"] for r in lake.read(spark, tmp_path, LANDING_MANIFEST).collect()}
    assert rows == {"email-0": "old", "email-1": "new", "email-2": "new", "chat-0": "old"}


@pytest.mark.parametrize("partition", [{"source": "email' OR '1'='1"}, {"source": ("chat", "email') OR ('1'='1")},
                                       {"source": ()}, {"unit_ref": "email"}, {}])
def test_a_merge_names_only_a_whole_partition_with_a_plain_value(partition):
    from schemas.state import LANDING_MANIFEST

    with pytest.raises(ValueError):
        lake._partition_condition(LANDING_MANIFEST, partition)

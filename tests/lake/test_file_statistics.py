"""Delta's per-file statistics (docs/lake.md, "File statistics"): kept only for the columns
reads filter on, never for a person column, so that no transaction log holds a pseudonym in
plain text; tables created before the rule get it on their next write."""

from __future__ import annotations

from datetime import date, datetime, timezone

from pyspark.sql import functions as F

from jobs import lake
from schemas import RUN_ID
from schemas.bronze import BRONZE
from schemas.catalog import all_tables
from schemas.gold import PERSON_METRICS_WEEKLY
from schemas.silver import SILVER_EVENTS, SILVER_INTERACTIONS
from tests.delta_log import added_file_stats, log_texts

WEEK = date(2026, 3, 2)
# Pseudonyms as jobs/privacy/pseudonym.py makes them (PERSON_PREFIX and a digest).
PEOPLE = [f"p_{i:016x}c0ffee" for i in range(1, 6)]


def test_statistics_are_kept_for_time_and_filter_columns_only():
    assert SILVER_EVENTS.stats_columns == ("occurred_at", RUN_ID)
    assert SILVER_INTERACTIONS.stats_columns == (RUN_ID,)
    assert PERSON_METRICS_WEEKLY.stats_columns == (RUN_ID,)
    assert BRONZE["email"].stats_columns == ("pulled_at", RUN_ID, "key_version", "sent_at")
    for table in all_tables():
        person = {column for column, _ in table.person_columns}
        assert table.stats_columns, table.path
        assert set(table.stats_columns) <= set(table.stored_schema.fieldNames()), table.path
        assert not set(table.stats_columns) & (person | set(table.partition_by)), table.path


def _events(spark, run_id: str | None = None):
    """Five planted events of the week, each sent by one of PEOPLE to the next."""
    rows = [(f"e{i}", "email", "email", datetime(2026, 3, 3, 9, i, tzinfo=timezone.utc), WEEK, sender,
             [PEOPLE[(i + 1) % len(PEOPLE)]], 1, None, False, False, True)
            for i, sender in enumerate(PEOPLE)]
    df = spark.createDataFrame(rows, SILVER_EVENTS.schema)
    return df if run_id is None else df.withColumn(RUN_ID, F.lit(run_id))


def test_a_new_table_keeps_statistics_of_its_contract_columns_only(spark, tmp_path):
    lake.replace_run_weeks(spark, tmp_path, SILVER_EVENTS, _events(spark), [WEEK], "run-1", set())
    folder = tmp_path / SILVER_EVENTS.path
    stats = added_file_stats(folder)
    assert stats and all(set(s["minValues"]) == {"occurred_at", RUN_ID} for s in stats)
    # Row counts still come from the log: five planted rows.
    assert sum(s["numRecords"] for s in stats) == 5
    assert lake.row_count(spark, tmp_path, SILVER_EVENTS) == 5
    text = log_texts(folder)
    assert [p for p in PEOPLE if p in text] == []


def test_a_table_created_before_the_rule_gets_it_on_its_next_write(spark, tmp_path):
    folder = tmp_path / SILVER_EVENTS.path
    # A table as an older version wrote it: Delta's default statistics, on every column.
    _events(spark, "run-0").write.format("delta").partitionBy("week_start").save(str(folder))
    assert any(p in log_texts(folder) for p in PEOPLE)
    before = len(added_file_stats(folder))

    lake.replace_run_weeks(spark, tmp_path, SILVER_EVENTS, _events(spark), [WEEK], "run-1", set())
    new = added_file_stats(folder)[before:]
    assert new and all(set(s["minValues"]) == {"occurred_at", RUN_ID} for s in new)
    properties = {r["key"]: r["value"] for r in spark.sql(f"SHOW TBLPROPERTIES delta.`{folder}`").collect()}
    assert properties[lake.STATS_COLUMNS] == "occurred_at,run_id"
    assert sorted(r[RUN_ID] for r in lake.read(spark, tmp_path, SILVER_EVENTS).collect()) == ["run-1"] * 5


def test_jobs_writing_an_older_table_at_once_all_land_and_it_gets_the_rule_once(spark, tmp_path):
    """Four ingests record themselves at once in a quality/ingest_runs an older version created:
    each job's first write looks at the table's properties and sets them when they differ.
    Whatever conflicts the property change causes are retried: every row lands once, and the
    table ends with the contract's property."""
    from schemas.quality import INGEST_RUNS_TABLE
    from tests.lake.test_concurrent_writes import JOBS, _at_once, _ingest_row

    folder = tmp_path / INGEST_RUNS_TABLE.path
    _ingest_row(spark, "old").write.format("delta").save(str(folder))
    outcomes = _at_once(JOBS, lambda i: lake.append_once(
        spark, tmp_path, INGEST_RUNS_TABLE, _ingest_row(spark, f"run-{i}"), write_id=f"run-{i}"))
    assert [o for o in outcomes if o is not None] == []
    runs = sorted(r["run_id"] for r in lake.read(spark, tmp_path, INGEST_RUNS_TABLE).collect())
    assert runs == ["old", *(f"run-{i}" for i in range(JOBS))]
    properties = {r["key"]: r["value"] for r in spark.sql(f"SHOW TBLPROPERTIES delta.`{folder}`").collect()}
    assert properties[lake.STATS_COLUMNS] == "run_id,key_version,finished_at"
    new = added_file_stats(folder)[1:]
    assert len(new) == JOBS and all(set(s["minValues"]) <= {"run_id", "key_version", "finished_at"} for s in new)

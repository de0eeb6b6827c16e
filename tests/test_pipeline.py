"""The whole job on a small synthetic organisation: ingest, silver, gold, gates, publish.

Slow (the session's first run of the organisation, then reruns); marked, and still run in CI.
"""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from jobs.spark import DEFAULT_INTERPRETED_BELOW_ROWS
from tests.delta_log import log_texts
from tests.small_org import KEY

pytestmark = pytest.mark.slow

ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")

GOLD = ["gold/edges_weekly", "gold/person_metrics_weekly", "gold/group_metrics_weekly",
        "gold/group_cohesion_weekly", "gold/onboarding_cohorts_weekly", "gold/network_summary_weekly"]
SILVER_WEEK_TABLES = ["silver/events", "silver/interactions", "silver/person_brokerage_weekly"]
GOLD_KEYS = {
    "gold/edges_weekly": ["week_start", "src", "dst"],
    "gold/person_metrics_weekly": ["week_start", "person"],
    "gold/group_metrics_weekly": ["week_start", "group_kind", "group_a", "group_b"],
    "gold/group_cohesion_weekly": ["week_start", "group_kind", "group_name"],
    "gold/onboarding_cohorts_weekly": ["week_start", "cohort_month", "weeks_since_hire"],
    "gold/network_summary_weekly": ["week_start"],
}


def delta_frame(lake: Path, table: str):
    """Read with delta-rs, an independent Delta reader (what BI tools use)."""
    from deltalake import DeltaTable

    return DeltaTable(str(lake / table)).to_pandas()


@pytest.fixture(scope="module")
def org(spark, small_org, tmp_path_factory):
    from jobs import pipeline
    from jobs.weeks import parse_week

    os.environ["ONA_PSEUDONYM_KEY"] = KEY
    # The first run of the organisation is the session's (tests/small_org.py): a copy of it.
    landing, lake = small_org.copy_to(tmp_path_factory.mktemp("org"))
    first, counts = small_org.summary, small_org.counts
    snapshot = {t: delta_frame(lake, t) for t in GOLD}
    # Nothing new landed: no file is parsed again and no week is rebuilt.
    second = pipeline.run(landing, lake, spark=spark)
    # An explicit rebuild of the same weeks (every calendar file is expanded again for them).
    third = pipeline.run(landing, lake, [parse_week(w) for w in first.weeks], spark=spark)
    return {"landing": landing, "lake": lake, "counts": counts, "first": first, "second": second,
            "third": third, "gold_after_first": snapshot}


def test_every_record_is_accounted_for(org):
    # The generator planted 3 broken mails, 2 broken events, 1 truncated Slack day file and
    # 3 mails copied into two mailboxes (demo/synthetic.py), and counts what it wrote.
    sources, planted = org["first"].sources, org["counts"]
    assert sources["email"]["read"] == planted["email_messages_written"]
    assert sources["email"]["accepted"] == planted["emails"]
    assert sources["email"]["quarantined"] == 3 and sources["email"]["duplicates"] == 3
    assert sources["calendar"]["accepted"] == planted["meeting_occurrences"]
    assert sources["calendar"]["quarantined"] == 2
    assert sources["chat"]["accepted"] == planted["chat_messages"]
    assert sources["chat"]["quarantined"] == 1
    assert sources["people"]["accepted"] == 60


def test_quarantine_rows_have_reasons_and_no_content(org):
    frame = delta_frame(org["lake"], "quarantine/email")
    assert len(frame) == 3
    assert set(frame["reason"]) == {"missing or unparseable Date"}
    assert not frame.astype(str).apply(lambda col: col.str.contains("@")).any().any()


def test_all_weeks_published_with_gates_passing(org):
    first = org["first"]
    assert first.weeks == ["2026-W10", "2026-W11"]
    assert first.published_weeks == first.weeks
    assert len(first.gates) == 2 * len(GOLD) and all(g["success"] for g in first.gates)
    runs = delta_frame(org["lake"], "quality/validation_runs")
    assert set(runs["table"]) == set(GOLD)
    assert runs["published"].all()


def test_gold_tables_open_with_delta_rs_and_are_consistent(org):
    lake = org["lake"]
    metrics = delta_frame(lake, "gold/person_metrics_weekly")
    edges = delta_frame(lake, "gold/edges_weekly")
    summary = delta_frame(lake, "gold/network_summary_weekly")
    for week, week_metrics in metrics.groupby("week_start"):
        ranked = week_metrics.dropna(subset=["pagerank"])
        assert ranked["pagerank"].sum() == pytest.approx(1.0, abs=1e-6)
        week_edges = edges[edges["week_start"] == week]
        row = summary[summary["week_start"] == week].iloc[0]
        assert row["edges"] == len(week_edges)
        assert row["nodes"] == len(ranked)
        # Out-strength summed over people is the total edge weight.
        assert week_metrics["out_strength"].sum() == pytest.approx(week_edges["weight"].sum())
    # Everyone on the roster has a row each week (60 people, nobody hired after W11).
    assert metrics.groupby("week_start")["person"].nunique().min() >= 60


def _pairs(edges) -> set[frozenset]:
    return {frozenset(p) for p in zip(edges["src"], edges["dst"])}


def test_change_and_cohesion_agree_with_the_published_edges(org):
    """Week-over-week change and E-I figures recomputed with pandas from what the lake holds
    (edges with delta-rs, departments from silver/people): an independent reference."""
    lake = org["lake"]
    edges, metrics = delta_frame(lake, "gold/edges_weekly"), delta_frame(lake, "gold/person_metrics_weekly")
    summary = delta_frame(lake, "gold/network_summary_weekly").set_index("week_start").sort_index()
    first_week, second_week = summary.index
    before = _pairs(edges[edges["week_start"] == first_week])
    after = _pairs(edges[edges["week_start"] == second_week])
    assert summary.loc[first_week, ["ties_formed", "tie_churn"]].isna().all()  # no week before it
    assert summary.loc[second_week, "ties_formed"] == len(after - before)
    assert summary.loc[second_week, "ties_lost"] == len(before - after)
    assert summary.loc[second_week, "tie_churn"] == pytest.approx(len(after ^ before) / len(after | before))
    assert 0 <= summary.loc[second_week, "community_stability"] <= 1
    assert set(summary["graph_engine"]) == {"native"}

    def neighbours(pairs, person):
        return {q for p in pairs if person in p for q in p if q != person}

    week_two = metrics[(metrics["week_start"] == second_week) & metrics["pagerank"].notna()]
    for _, row in week_two.head(10).iterrows():
        mine_after, mine_before = neighbours(after, row["person"]), neighbours(before, row["person"])
        assert (row["ties_formed"], row["ties_lost"]) == (len(mine_after - mine_before), len(mine_before - mine_after))
    assert set(metrics["network_role"]) <= {"overloaded", "broker", "connector", "peripheral", "isolated", "member"}

    department = delta_frame(lake, "silver/people").set_index("person")["department"].fillna("(unassigned)")
    cohesion = delta_frame(lake, "gold/group_cohesion_weekly")
    published = cohesion[(cohesion["week_start"] == second_week) & (cohesion["group_kind"] == "department")
                         & ~cohesion["is_suppressed"]]
    assert len(published) > 0
    week_edges = edges[edges["week_start"] == second_week].assign(
        a=lambda f: f["src"].map(department), b=lambda f: f["dst"].map(department))
    for _, row in published.iterrows():
        inside = week_edges[(week_edges["a"] == row["group_name"]) & (week_edges["b"] == row["group_name"])]
        outside = week_edges[(week_edges["a"] == row["group_name"]) ^ (week_edges["b"] == row["group_name"])]
        internal, external = inside["weight"].sum(), outside["weight"].sum()
        assert row["ei_index"] == pytest.approx((external - internal) / (external + internal))
        assert (row["internal_ties"], row["external_ties"]) == (len(inside), len(outside))
    # Department-derived per-person figures are restricted: written, but not in gold.
    brokerage = delta_frame(lake, "silver/person_brokerage_weekly")
    assert len(brokerage) == metrics["pagerank"].notna().sum()
    assert not {"liaison", "cross_group_ties"} & set(metrics.columns)


def test_small_groups_are_suppressed(org):
    groups = delta_frame(org["lake"], "gold/group_metrics_weekly")
    published = groups[~groups["is_suppressed"]]
    assert len(published) > 0 and (published[["n_people_a", "n_people_b"]] >= 5).all().all()
    # Legal has 3 people in the generated roster: every pair touching it is suppressed.
    legal = groups[(groups["group_a"] == "Legal") | (groups["group_b"] == "Legal")]
    assert len(legal) > 0 and legal["is_suppressed"].all() and legal["weight"].isna().all()
    assert set(legal["suppression"]) == {"fewer than k people"}
    hidden = groups[groups["is_suppressed"]]
    assert hidden[["weight", "n_people_pairs", "n_people_a", "n_people_b"]].isna().all().all()
    assert org["first"].groups_suppressed == len(hidden)
    # No BI-visible person table carries a department: pseudonym + metrics only.
    metrics = delta_frame(org["lake"], "gold/person_metrics_weekly")
    assert not {"department", "team", "manager", "location", "hire_date", "timezone"} & set(metrics.columns)


def test_rerun_without_new_files_reads_and_builds_nothing(org):
    second = org["second"]
    assert second.weeks == [] and second.gates == []
    for source, s in second.sources.items():
        assert s["read"] == 0 and s["files_ingested"] == 0, source
        assert s["files_skipped"] == org["first"].sources[source]["files_ingested"] > 0, source
    assert org["third"].weeks == org["first"].weeks


def test_rerun_is_idempotent(org):
    lake = org["lake"]
    for table in GOLD:
        # Each rebuild publishes its own run: the row values, not the run ids, stay the same.
        before = org["gold_after_first"][table].drop(columns="run_id")
        after = delta_frame(lake, table).drop(columns="run_id")
        keys = GOLD_KEYS[table]
        assert not after.duplicated(keys).any(), table
        left = before.sort_values(keys).reset_index(drop=True)
        right = after.sort_values(keys).reset_index(drop=True)
        # Same rows and values; sums may differ in the last bits (addition order in shuffles).
        pd.testing.assert_frame_equal(left, right, check_exact=False, rtol=1e-9)
    for source in ("email", "calendar", "chat", "people"):
        bronze = delta_frame(lake, f"bronze/{source}")
        assert not bronze["record_id"].duplicated().any()
        assert len(bronze) == org["first"].sources[source]["accepted"]
    events = delta_frame(lake, "silver/events")
    assert not events["event_id"].duplicated().any()


def test_every_week_row_belongs_to_the_run_that_published_it(org):
    """The third run rebuilt both weeks: quality/published_weeks names it for each, and the
    other runs' rows are gone from every run-tagged table."""
    third = org["third"].run_id
    pointer = delta_frame(org["lake"], "quality/published_weeks")
    assert sorted(pointer["week_start"].astype(str)) == ["2026-03-02", "2026-03-09"]
    assert set(pointer["run_id"]) == {third}
    for table in [*GOLD, *SILVER_WEEK_TABLES]:
        assert set(delta_frame(org["lake"], table)["run_id"]) == {third}, table


def _roster_identifiers(landing: Path) -> set[str]:
    with open(landing / "people" / "roster.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    found = set()
    for row in rows:
        found.add(row["email"].lower())
        local = row["email"].split("@")[0]
        found.update(part for part in re.split(r"[._\d]+", local) if len(part) > 3)
    return found


def test_no_raw_identifier_reaches_the_lake_or_the_report(org):
    """Every string in every table and every report file is free of addresses and names."""
    import pyarrow.parquet as pq

    lake = org["lake"]
    identifiers = _roster_identifiers(org["landing"])
    names = {i for i in identifiers if "@" not in i}
    texts = []
    for parquet in lake.rglob("*.parquet"):
        table = pq.read_table(parquet)
        for column in table.column_names:
            texts.extend(str(v) for v in table.column(column).to_pylist() if v is not None)
    for report in (lake / "reports").rglob("*"):
        if report.is_file():
            texts.append(report.read_text(encoding="utf-8"))
    for log in lake.rglob("_delta_log/*.json"):
        texts.append(log.read_text(encoding="utf-8"))
    blob = "\n".join(texts).lower()
    assert ADDRESS.search(blob) is None
    leaked = sorted(n for n in names if re.search(rf"\b{re.escape(n.lower())}\b", blob))
    assert leaked == []


def test_no_transaction_log_holds_a_pseudonym(org):
    """Delta keeps file statistics only on columns that name no one (docs/lake.md, "File
    statistics"): after three runs, no commit or checksum of any table holds a pseudonym of
    the roster or of anyone who sent an event."""
    people = set(delta_frame(org["lake"], "silver/people")["person"])
    people |= set(delta_frame(org["lake"], "silver/events")["actor"])
    assert len(people) >= 60
    assert len({log.parent for log in org["lake"].rglob("_delta_log/*.json")}) >= 20  # every table's log is read
    text = log_texts(org["lake"])
    assert sorted(p for p in people if p in text) == []


def test_pseudonym_cli_matches_the_lake(org, capsys, monkeypatch):
    monkeypatch.delenv("ONA_INTERNAL_DOMAINS", raising=False)
    from jobs.cli import main

    with open(org["landing"] / "people" / "roster.csv", encoding="utf-8") as handle:
        email = next(csv.DictReader(handle))["email"]
    assert main(["pseudonym", email, "--landing", str(org["landing"])]) == 0
    printed = capsys.readouterr().out.strip()
    people = delta_frame(org["lake"], "silver/people")
    assert printed in set(people["person"])
    # Without a roster or ONA_INTERNAL_DOMAINS it refuses, as an ingest does: with no domain
    # known, an outside address would get a person's pseudonym.
    assert main(["pseudonym", email]) == 2
    assert "no internal domains known" in capsys.readouterr().err
    # An outside address is its domain's pseudonym, as in the lake.
    assert main(["pseudonym", "someone@elsewhere.example", "--landing", str(org["landing"])]) == 0
    assert capsys.readouterr().out.strip().startswith("x_")


def test_report_is_self_contained_html(org):
    page = Path(org["first"].report).read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>")
    assert "http://" not in page and "https://" not in page  # nothing loaded from a network
    assert "Key identifier" in page and org["first"].privacy["key_id"] in page
    assert page.count("<h3>") == 2 * len(GOLD)  # one section per table and week


def test_failed_gate_blocks_publish_and_keeps_previous_version(org, spark, monkeypatch):
    """Corrupt one gold table for W11: the week is not published, the last good one stays."""
    from deltalake import DeltaTable
    from pyspark.sql import functions as F

    from jobs import pipeline
    from jobs.weeks import parse_week

    lake, week = org["lake"], parse_week("2026-W11")
    versions = {t: DeltaTable(str(lake / t)).version() for t in GOLD}
    from jobs.stages import gold as gold_stage

    real_gold_frames = gold_stage.gold_frames

    def corrupted(ctx, weeks, people_df):
        frames = real_gold_frames(ctx, weeks, people_df)
        path = "gold/person_metrics_weekly"
        frames[path] = frames[path].withColumn("pagerank", F.col("pagerank") * 3)
        return frames

    monkeypatch.setattr(gold_stage, "gold_frames", corrupted)
    summary = pipeline.build(org["landing"], lake, [week], spark=spark)
    assert summary.published_weeks == []
    failed = [g for g in summary.gates if not g["success"]]
    assert [g["table"] for g in failed] == ["gold/person_metrics_weekly"]
    assert "pagerank sums to 1" in failed[0]["failed"]
    # Nothing was written to gold: every table is at the version it had.
    assert {t: DeltaTable(str(lake / t)).version() for t in GOLD} == versions
    runs = delta_frame(lake, "quality/validation_runs")
    mine = runs[runs["run_id"] == summary.run_id]
    assert len(mine) == len(GOLD) and not mine["published"].any()
    assert "Not published" in Path(summary.report).read_text(encoding="utf-8")
    # The blocked run's silver candidates are discarded: silver keeps the published run's rows.
    for table in SILVER_WEEK_TABLES:
        assert set(delta_frame(lake, table)["run_id"]) == {org["third"].run_id}, table


# Run in a child process: build one week and die by SIGKILL right after the second gold table
# is written (no finally block, no clean-up: what a lost node or an OOM kill does).
KILL_BETWEEN_WRITES = """
import os, signal, sys
from pathlib import Path
from jobs import lake, pipeline
from jobs.weeks import parse_week

written = []
real_write = lake.replace_run_weeks

def write_then_die(spark, lake_root, table, *args):
    real_write(spark, lake_root, table, *args)
    if table.path.startswith("gold/"):
        written.append(table.path)
        if len(written) == 2:
            os.kill(os.getpid(), signal.SIGKILL)

lake.replace_run_weeks = write_then_die
pipeline.build(None, Path(sys.argv[1]), [parse_week(sys.argv[2])])
"""


def _published(lake: Path, table: str):
    """A table's current rows, read as BI would: joined to quality/published_weeks (delta-rs)."""
    pointer = delta_frame(lake, "quality/published_weeks")[["week_start", "run_id"]]
    return delta_frame(lake, table).merge(pointer, on=["week_start", "run_id"])


def _values(frame, keys):
    return frame.drop(columns="run_id").sort_values(keys).reset_index(drop=True)


def test_a_run_killed_between_writes_leaves_the_week_as_it_was_and_the_next_build_repairs_it(
        org, spark, monkeypatch, expression_modes):
    """A build killed (SIGKILL) after its second gold table: every table of the week is still
    the previous run's, through quality/published_weeks. Then the next build of the week
    publishes it again and removes what the killed run left. (What `ona run` shows a person
    is tests/test_fresh_machine.py's: it runs one in a process of its own.)"""
    from jobs import pipeline
    from jobs.weeks import parse_week

    lake = org["lake"]
    pointer_before = delta_frame(lake, "quality/published_weeks")
    before = {t: _published(lake, t) for t in [*GOLD, *SILVER_WEEK_TABLES]}
    keys = {**GOLD_KEYS, "silver/events": ["event_id"], "silver/interactions": ["week_start", "event_id", "src", "dst"],
            "silver/person_brokerage_weekly": ["week_start", "person"]}

    # One table at a time, so that the kill falls at a known point: with several writes at once
    # the tables finished beside the second gold one vary from run to run (the pointer decides
    # what is current either way).
    child = subprocess.run([sys.executable, "-c", KILL_BETWEEN_WRITES, str(lake), "2026-W11"],
                           env={**os.environ, "ONA_CONCURRENT_ACTIONS": "1"},
                           cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=900)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]

    # The kill left candidate rows of its run in silver and in exactly the two gold tables
    # written before it died...
    pointer_runs = set(pointer_before["run_id"])
    killed = {t: set(delta_frame(lake, t)["run_id"]) - pointer_runs for t in [*GOLD, *SILVER_WEEK_TABLES]}
    (killed_run,) = set().union(*killed.values())
    assert [t for t in GOLD if killed[t]] == GOLD[:2]
    assert all(killed[t] == {killed_run} for t in SILVER_WEEK_TABLES)
    # ...but the week is still the previous run's, through the pointer, in every table.
    pd.testing.assert_frame_equal(delta_frame(lake, "quality/published_weeks"), pointer_before)
    for table, rows in before.items():
        pd.testing.assert_frame_equal(_values(_published(lake, table), keys[table]), _values(rows, keys[table]))
    assert killed_run not in set(delta_frame(lake, "quality/validation_runs")["run_id"])

    # The next build publishes the week again and removes what the killed run left. It runs
    # compiled, where the first run interpreted its expressions (a small build): the values
    # compared below must not depend on that.
    monkeypatch.setenv("ONA_INTERPRETED_BELOW_ROWS", "0")
    rerun_id = pipeline.run(None, lake, [parse_week("2026-W11")], spark=spark).run_id
    assert expression_modes == ["compiled"]
    # ...while the first run interpreted (tests/small_org.py leaves the limit at its default):
    assert sum(kind["events"] for kind in org["first"].silver.values()) < DEFAULT_INTERPRETED_BELOW_ROWS
    pointer = delta_frame(lake, "quality/published_weeks").set_index("week_start")["run_id"]
    assert pointer[pd.Timestamp("2026-03-09").date()] == rerun_id
    assert rerun_id not in pointer_runs | {killed_run}
    for table, rows in before.items():
        stored = delta_frame(lake, table)
        in_week = stored[stored["week_start"].astype(str) == "2026-03-09"]
        assert set(in_week["run_id"]) == {rerun_id}, table
        assert killed_run not in set(stored["run_id"]), table
        # Same inputs, same values (sums to the last bits aside).
        pd.testing.assert_frame_equal(_values(_published(lake, table), keys[table]), _values(rows, keys[table]),
                                      check_exact=False, rtol=1e-9)

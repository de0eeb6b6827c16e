"""Privacy through the whole job on a hand-made landing: counts of what was collapsed or
dropped, opt-out at ingest and of what the lake held, key rotation, approval before publish.
Expected values are planted here by hand (the messages below), never taken from the code."""

from __future__ import annotations

import hashlib
import hmac
import shutil
from pathlib import Path

import pytest

from jobs.stages.ingest import OPTED_OUT_RECORDS
from jobs.stages.summary import OTHER_KEY_VERSION

pytestmark = pytest.mark.slow

KEY = "3c9d1f5e7a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e1f3a5b7c9d1e3f5a7b9c2d"
NEW_KEY = "a7c3e9b1d5f7092e4c6a8b0d2f4e6a8c1b3d5f7e9a0c2e4b6d8f1a3c5e7b9d0f"
ROSTER = ["ann", "bob", "cat", "dan", "eve", "fay", "gus", "olga"]


def pseudonym(name: str, key: str = KEY) -> str:
    """Computed here from the documented definition (docs/privacy.md), not by the pipeline."""
    return "p_" + hmac.new(key.encode(), f"{name}@example.org".encode(), hashlib.sha256).hexdigest()[:16]


def eml(sender: str, to: str, cc: str = "", day: int = 10, n: int = 0) -> str:
    return (f"From: {sender}\r\nTo: {to}\r\n" + (f"Cc: {cc}\r\n" if cc else "")
            + f"Date: Tue, {day} Mar 2026 09:{n:02d}:00 +0000\r\nMessage-ID: <m{n}@example.org>\r\n"
            + "Subject: not read\r\n\r\nbody not read\r\n")


def write_landing(root: Path) -> Path:
    landing = root / "landing"
    (landing / "people").mkdir(parents=True)
    (landing / "email").mkdir()
    rows = "".join(f"{n}@example.org,{'Eng' if i < 4 else 'Ops'},,,,,\n" for i, n in enumerate(ROSTER))
    (landing / "people" / "roster.csv").write_text(
        "email,department,team,manager_email,location,hire_date,timezone\n" + rows)
    messages = [
        # 2 distinct outside addresses (x1 twice), 1 unusable value, olga named in Cc.
        eml("ann@example.org", "bob@example.org, x1@partner.com, not-an-address", "olga@example.org, x2@partner.com", n=1),
        eml("olga@example.org", "ann@example.org", n=2),  # by the person who will opt out
        eml("bob@example.org", "ann@example.org", "X1@Partner.com", n=3),
        eml("cat@example.org", "dan@example.org, eve@example.org", n=4),
    ]
    for i, text in enumerate(messages):
        (landing / "email" / f"m{i}.eml").write_text(text)
    return landing


def every_file_holds(lake: Path, needle: str) -> list[str]:
    return [str(p.relative_to(lake)) for p in lake.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("ONA_PSEUDONYM_KEY", KEY)
    for name in ("ONA_INTERNAL_DOMAINS", "ONA_REQUIRE_APPROVAL", "ONA_OPT_OUT_FILE", "ONA_DP"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture(scope="module")
def first_run(spark, tmp_path_factory):
    """The landing's first run under KEY, built once: each test that starts from it gets a copy
    of the landing and the lake (Delta tables hold relative paths) and its summary."""
    from jobs import pipeline

    root = tmp_path_factory.mktemp("first-run")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ONA_PSEUDONYM_KEY", KEY)
        for name in ("ONA_INTERNAL_DOMAINS", "ONA_REQUIRE_APPROVAL", "ONA_OPT_OUT_FILE", "ONA_DP"):
            env.delenv(name, raising=False)
        summary = pipeline.run(write_landing(root), root / "lake", spark=spark)
    return root, summary


def copy_of(first_run, tmp_path: Path):
    root, summary = first_run
    for folder in ("landing", "lake"):
        shutil.copytree(root / folder, tmp_path / folder)
    return tmp_path / "landing", tmp_path / "lake", summary


def test_collapsed_and_dropped_are_counted_and_opt_out_reaches_back_through_history(spark, tmp_path, env, first_run):
    from deltalake import DeltaTable

    from jobs import pipeline
    from jobs.privacy.pseudonym import EXTERNAL, UNUSABLE

    landing, lake, first = copy_of(first_run, tmp_path)
    assert first.weeks == ["2026-W11"] and first.published_weeks == ["2026-W11"], first.gates
    excluded = first.privacy["excluded"]
    assert excluded[EXTERNAL] == 2 and excluded[UNUSABLE] == 1
    assert excluded[OTHER_KEY_VERSION] == 0
    olga = pseudonym("olga")
    assert every_file_holds(lake, olga)  # before the opt-out, the lake knows her

    # She opts out: her message goes, her Cc goes, and everything the lake held is erased.
    (landing / "people" / "opt_out.csv").write_text("email\nOlga@Example.org\nz@elsewhere.com\nnonsense\n")
    (landing / "email" / "m4.eml").write_text(eml("olga@example.org", "bob@example.org", day=11, n=5))
    second = pipeline.run(landing, lake, spark=spark)
    assert second.privacy["excluded"]["people on the opt-out list"] == 1
    assert second.privacy["excluded"][OPTED_OUT_RECORDS] == 1  # m4, the new one
    assert "2026-W11" in second.published_weeks
    assert every_file_holds(lake, olga) == []
    senders = DeltaTable(str(lake / "bronze/email")).to_pandas()["sender"]
    assert sorted(senders) == sorted([pseudonym("ann"), pseudonym("bob"), pseudonym("cat")])
    people = DeltaTable(str(lake / "silver/people")).to_pandas()["person"]
    assert len(people) == 7 and olga not in set(people)
    # Nothing about who: the report and the erasure record hold counts only.
    assert [e["reason"] for e in second.privacy["erasures"]] == ["opt-out"]


def test_a_rotated_key_never_double_counts(spark, tmp_path, env, first_run):
    from deltalake import DeltaTable

    from jobs import pipeline

    landing, lake, first = copy_of(first_run, tmp_path)
    env.setenv("ONA_PSEUDONYM_KEY", NEW_KEY)
    # The manifest is keyed too: every file is new to the new key and is read again.
    second = pipeline.run(landing, lake, spark=spark)
    assert first.privacy["key_id"] != second.privacy["key_id"]
    bronze = DeltaTable(str(lake / "bronze/email")).to_pandas()
    assert len(bronze) == 8  # 4 messages under each key
    events = DeltaTable(str(lake / "silver/events")).to_pandas()
    assert len(events[events["source"] == "email"]) == 4  # not 8
    # 4 old messages + 8 old roster rows are kept in bronze but not used.
    assert second.privacy["excluded"][OTHER_KEY_VERSION] == 12
    metrics = DeltaTable(str(lake / "gold/person_metrics_weekly")).to_pandas()
    assert set(metrics["person"]) == {pseudonym(n, NEW_KEY) for n in ROSTER}


def test_a_build_under_another_key_than_the_lake_stops_before_publishing_an_empty_week(spark, tmp_path, env, capsys):
    from jobs import pipeline
    from jobs.cli import main
    from jobs.weeks import parse_weeks

    landing, lake = write_landing(tmp_path), tmp_path / "lake"
    for source in ("people", "email"):
        pipeline.ingest(landing, lake, source, spark=spark)
    # A wrong key (or a rotation before the week was ingested again): none of W11's 4 mails
    # is under it. Built, W11 would publish empty with every gate passing.
    env.setenv("ONA_PSEUDONYM_KEY", NEW_KEY)
    env.setenv("ONA_INTERNAL_DOMAINS", "example.org")
    assert main(["run", "--lake", str(lake), "--weeks", "2026-W11"]) == 2
    *stages, error = capsys.readouterr().err.splitlines()
    assert all(line.startswith(("ok ", "x ")) for line in stages)  # the stage marks, then one line
    assert error.startswith("ona run: ") and "2026-W11 (4 records)" in error and "another pseudonym key" in error
    assert not (lake / "gold").exists() and not (lake / "silver/events").exists()
    # Under the lake's key the same build publishes the week.
    env.setenv("ONA_PSEUDONYM_KEY", KEY)
    assert main(["run", "--lake", str(lake), "--weeks", "2026-W11", "--json"]) == 0
    # A proper rotation: W11 ingested again under the new key, so it holds records of both keys.
    # W10 and W12 hold none at all: they build (empty) and W11's old copies do not stop them.
    env.setenv("ONA_PSEUDONYM_KEY", NEW_KEY)
    rotated = pipeline.run(landing, lake, parse_weeks("2026-W10..2026-W12"), spark=spark)
    assert rotated.weeks == ["2026-W10", "2026-W11", "2026-W12"] and "2026-W11" in rotated.published_weeks


def test_with_approval_required_bi_readers_see_the_week_only_after_approve(spark, tmp_path, env, capsys):
    from deltalake import DeltaTable

    from jobs import pipeline
    from jobs.cli import main

    env.setenv("ONA_REQUIRE_APPROVAL", "1")
    landing, lake = write_landing(tmp_path), tmp_path / "lake"
    summary = pipeline.run(landing, lake, spark=spark)
    assert summary.published_weeks == [] and summary.waiting_weeks == ["2026-W11"]
    assert not (lake / "gold/edges_weekly").exists()
    assert summary.privacy["approval"]["waiting"] == [{"week": "2026-W11", "run_id": summary.run_id}]
    assert main(["approve", "--lake", str(lake), "--week", "2026-W11", "--run", "not-a-run"]) == 2
    assert main(["approve", "--lake", str(lake), "--week", "2026-W11", "--run", summary.run_id]) == 0
    edges = DeltaTable(str(lake / "gold/edges_weekly")).to_pandas()
    # ann->bob, ann->olga, olga->ann, bob->ann, cat->dan, cat->eve (outside addresses form no ties)
    assert len(edges) == 6
    # Deciding twice is refused; the staged rows are gone.
    assert main(["reject", "--lake", str(lake), "--week", "2026-W11", "--run", summary.run_id]) == 2
    staged = DeltaTable(str(lake / "staging/edges_weekly")).to_pandas()
    assert len(staged) == 0


def test_the_dp_budget_refuses_a_release_past_the_weekly_limit(spark, tmp_path, env):
    from deltalake import DeltaTable

    from jobs import pipeline
    from jobs.weeks import parse_weeks

    env.setenv("ONA_DP", "1")
    env.setenv("ONA_DP_EPSILON", "0.5")
    env.setenv("ONA_DP_WEEKLY_BUDGET", "0.9")
    landing, lake = write_landing(tmp_path), tmp_path / "lake"
    runs = [pipeline.run(landing, lake, spark=spark), pipeline.run(None, lake, parse_weeks("2026-W11"), spark=spark)]
    # 0.5 fits a budget of 0.9; a second release of the same week (0.5 + 0.5) is refused.
    # The budget's edge (a release that spends it exactly) is tests/privacy/test_dp.py's.
    assert [r.published_weeks for r in runs] == [["2026-W11"], []]
    failed = [g for g in runs[1].gates if not g["success"]]
    assert [f["failed"] for f in failed] == [["privacy: the week's differential-privacy budget allows this release"]]
    assert runs[1].privacy["dp"]["weeks"] == [{"week": "2026-W11", "spent": 0.5, "remaining": 0.4, "refused": True}]
    budget = DeltaTable(str(lake / "quality/privacy_budget")).to_pandas()
    assert list(budget["epsilon"]) == [0.5] and set(budget["run_id"]) == {runs[0].run_id}

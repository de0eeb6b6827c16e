"""`ona erase` on a small synthetic organisation: the person is gone from every table, every
version of every table and every file of the lake; everyone else is still there.

Slow (a copy of the session's first run of the organisation, then the erasure); marked, and
still run in CI. Expected counts come from
the landing files (and the pseudonym from an HMAC computed here), never from the code under test.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import mailbox
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from io import StringIO
from pathlib import Path

import pytest

from schemas.gold import GOLD_TABLES
from tests.small_org import KEY

pytestmark = pytest.mark.slow



def pseudonym_of(address: str) -> str:
    """The documented pseudonym, computed independently: p_ + HMAC-SHA256(key, address)[:16]."""
    return "p_" + hmac.new(KEY.encode(), address.lower().encode(), hashlib.sha256).hexdigest()[:16]


def roster(landing: Path) -> list[dict]:
    with open(landing / "people" / "roster.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def dated_messages(landing: Path):
    """Every landed message with a usable, zoned Date: the ones bronze keeps as records."""
    for path in sorted((landing / "email").rglob("*.mbox")):
        for message in mailbox.mbox(str(path)):
            try:
                when = parsedate_to_datetime(message["Date"]) if message["Date"] else None
            except (TypeError, ValueError):
                when = None
            if when is not None and when.tzinfo is not None:
                yield message


def sender_of(message) -> str:
    return parseaddr(message["From"])[1].lower()


def sent_from_landing(landing: Path) -> Counter:
    """Distinct messages (by Message-ID) with a usable Date, per sender address: what bronze
    holds (duplicate copies and messages without a date are not records)."""
    return Counter({m["Message-ID"]: sender_of(m) for m in dated_messages(landing)}.values())


def recipients_in_landing(landing: Path, address: str) -> int:
    """Distinct dated messages NOT from the address that list it in To or Cc."""
    return len({
        m["Message-ID"] for m in dated_messages(landing)
        if sender_of(m) != address
        and address in {a.lower() for _, a in getaddresses(m.get_all("To", []) + m.get_all("Cc", []))}
    })


def delta_tables(lake: Path) -> list[Path]:
    return sorted(p.parent for p in lake.rglob("_delta_log") if p.is_dir())


@pytest.fixture(scope="module")
def erased(spark, small_org, tmp_path_factory):
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    from jobs.cli import main

    # The organisation's first run is the session's (tests/small_org.py): a copy of it.
    landing, lake = small_org.copy_to(tmp_path_factory.mktemp("erase"))
    first = small_org.summary
    people = roster(landing)
    domains = sorted({r["email"].rsplit("@", 1)[1].lower() for r in people})
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ONA_PSEUDONYM_KEY", KEY)
        env.setenv("ONA_INTERNAL_DOMAINS", ",".join(domains))
        env.delenv("ONA_PSEUDONYM_KEY_FILE", raising=False)

        # The person: a manager (their reports' rows name them in passing) who sends the most mail.
        sent = sent_from_landing(landing)
        managers = Counter(r["manager_email"].lower() for r in people if r["manager_email"])
        address = max(managers, key=lambda a: (sent[a], a))
        person = pseudonym_of(address)
        bronze_sent = (spark.read.format("delta").load(str(lake / "bronze/email"))
                       .where(F.col("sender") == person).count())
        edges = spark.read.format("delta").load(str(lake / "gold/edges_weekly"))
        others = (edges.where((F.col("src") != person) & (F.col("dst") != person))
                  .select("src", "dst").distinct().collect())
        versions_before = {t.relative_to(lake).as_posix(): DeltaTable.forPath(spark, str(t)).history(1).first()[0]
                           for t in delta_tables(lake)}

        out, err = StringIO(), StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = main(["erase", "--lake", str(lake), address.upper()])  # case does not matter
        yield {
            "landing": landing, "lake": lake, "first": first, "address": address, "person": person,
            "sent_in_landing": sent[address], "bronze_sent": bronze_sent,
            "reports_to": managers[address], "cc_or_to": recipients_in_landing(landing, address),
            "other_edges": {(r["src"], r["dst"]) for r in others}, "versions_before": versions_before,
            "exit": code, "stdout": out.getvalue(), "stderr": err.getvalue(), "domains": domains,
        }


def test_planted_counts_are_what_the_erasure_removed(erased):
    assert erased["exit"] == 0, erased["stderr"]
    # The independent counts agree with each other before they are compared with the erasure's.
    assert erased["sent_in_landing"] > 0
    assert erased["bronze_sent"] == erased["sent_in_landing"]
    record = json.loads(erased["stdout"])
    assert record["rows_removed"]["bronze/email"] == erased["sent_in_landing"]
    assert record["rows_removed"]["bronze/people"] == 1
    # Their reports' roster rows name them as manager: those rows stay, without the name.
    assert record["rows_changed"]["bronze/people"] == erased["reports_to"]
    # Mails from others that list them as a recipient stay, without them.
    assert record["rows_changed"]["bronze/email"] >= erased["cc_or_to"] > 0
    assert record["people"] == 1 and record["reason"] == "request"
    assert record["weeks_rebuilt"] == erased["first"].published_weeks == ["2026-W10", "2026-W11"]
    assert record["tables_vacuumed"] == len(delta_tables(erased["lake"])) - 1  # all but quality/erasures itself


def test_output_names_nobody(erased):
    printed = (erased["stdout"] + erased["stderr"]).lower()
    assert erased["address"] not in printed and erased["person"] not in printed


def test_no_version_of_any_table_names_the_person(erased, spark):
    from deltalake import DeltaTable as RustTable
    from pyspark.sql import functions as F

    lake, person = erased["lake"], erased["person"]
    checked = 0
    for table in delta_tables(lake):
        name = table.relative_to(lake).as_posix()
        latest = max(RustTable(str(table)).version(), erased["versions_before"].get(name, 0))
        for version in range(latest + 1):
            try:
                frame = spark.read.format("delta").option("versionAsOf", version).load(str(table))
                hits = frame.where(F.to_json(F.struct(*frame.columns)).contains(person)).count()
            except Exception:  # noqa: BLE001 - a purged version cannot be loaded: that is the point
                continue
            checked += 1
            assert hits == 0, (name, version)
        # An independent reader (delta-rs) sees no older version either.
        current = RustTable(str(table)).version()
        for version in range(current):
            with pytest.raises(Exception):
                RustTable(str(table), version=version).to_pandas()
    assert checked >= len(delta_tables(lake))


def test_no_file_under_the_lake_holds_the_person(erased):
    import pyarrow.parquet as pq

    lake = erased["lake"]
    needles = [erased["person"].encode(), erased["address"].encode(), erased["address"].upper().encode()]
    files = [p for p in lake.rglob("*") if p.is_file()]
    assert any(p.suffix == ".html" for p in files)  # the reports are walked too
    for path in files:
        blob = path.read_bytes()
        assert not any(n in blob for n in needles), path.relative_to(lake)
        if path.suffix == ".parquet" and not path.name.startswith("."):
            # Compressed pages could hide a value from a byte search: decode them too.
            text = str(pq.read_table(path).to_pylist())
            assert erased["person"] not in text, path.relative_to(lake)
    # Hadoop's checksum sidecars went with the files they belonged to.
    for path in files:
        if path.name.startswith(".") and path.name.endswith(".crc"):
            assert (path.parent / path.name[1:-4]).exists(), path.relative_to(lake)


def test_everyone_else_is_still_there(erased, spark):
    from deltalake import DeltaTable as RustTable

    lake = erased["lake"]
    people = RustTable(str(lake / "silver/people")).to_pandas()
    assert len(people) == 59 and erased["person"] not in set(people["person"])
    edges = RustTable(str(lake / "gold/edges_weekly")).to_pandas()
    left = set(zip(edges["src"], edges["dst"]))
    # Ties between other people survive (a meeting or a mail they shared with the person still
    # joins the others); none is lost.
    assert erased["other_edges"] and erased["other_edges"] <= left
    for table in ("gold/person_metrics_weekly", "gold/group_metrics_weekly", "gold/network_summary_weekly"):
        frame = RustTable(str(lake / table)).to_pandas()
        assert sorted(frame["week_start"].astype(str).unique()) == ["2026-03-02", "2026-03-09"], table
    runs = RustTable(str(lake / "quality/validation_runs")).to_pandas()
    latest = runs[runs["checked_at"] == runs["checked_at"].max()]
    assert len(latest) == 2 * len(GOLD_TABLES) and latest["published"].all()  # both weeks rebuilt and published again


def test_the_erasure_is_recorded_without_who(erased):
    from deltalake import DeltaTable as RustTable

    frame = RustTable(str(erased["lake"] / "quality/erasures")).to_pandas()
    assert len(frame) == 1
    row = frame.iloc[0]
    assert row["people"] == 1 and row["reason"] == "request"
    assert dict(row["rows_removed"])["bronze/email"] == erased["sent_in_landing"]
    assert erased["person"] not in str(frame.to_dict()) and erased["address"] not in str(frame.to_dict())


def test_cli_refuses_external_and_unusable_addresses(erased):
    from jobs.cli import main

    before = sorted(str(p) for p in erased["lake"].rglob("*"))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ONA_PSEUDONYM_KEY", KEY)
        env.setenv("ONA_INTERNAL_DOMAINS", ",".join(erased["domains"]))
        for address in ("someone@partner-firm.example", "not an address"):
            out, err = StringIO(), StringIO()
            with redirect_stdout(out), redirect_stderr(err):
                code = main(["erase", "--lake", str(erased["lake"]), address])
            assert code == 2, address
            assert "nothing erased" in err.getvalue()
            assert address not in out.getvalue() + err.getvalue()
        # A valid address next to a refused one: nothing is done for either.
        err = StringIO()
        with redirect_stdout(StringIO()), redirect_stderr(err):
            assert main(["erase", "--lake", str(erased["lake"]), erased["address"], "x@partner-firm.example"]) == 2
        assert "address 2" in err.getvalue()
    assert sorted(str(p) for p in erased["lake"].rglob("*")) == before


def test_a_week_held_back_by_its_gates_keeps_the_scrubbed_gold(erased, monkeypatch):
    """Runs last (it erases a second person). The rebuild is replaced by one whose gates block
    every week: the erasure still completes, gold keeps the scrubbed rows, and the exit code
    says so (3)."""
    from types import SimpleNamespace

    from deltalake import DeltaTable as RustTable

    from jobs import lake as lake_io
    from jobs import pipeline
    from jobs.cli import main

    sent = sent_from_landing(erased["landing"])
    address = max((a for a in sent if a != erased["address"]), key=lambda a: (sent[a], a))
    person = pseudonym_of(address)
    gold = RustTable(str(erased["lake"] / "gold/person_metrics_weekly")).to_pandas()
    assert person in set(gold["person"])

    builds = []
    monkeypatch.setattr(pipeline, "build", lambda landing, lake, weeks, settings=None, spark=None: (
        builds.append(weeks) or SimpleNamespace(published_weeks=[], waiting_weeks=[])))
    monkeypatch.setattr(lake_io, "purge_history", lambda spark, lake, table: 0)  # covered above; slow
    monkeypatch.setenv("ONA_PSEUDONYM_KEY", KEY)
    monkeypatch.setenv("ONA_INTERNAL_DOMAINS", ",".join(erased["domains"]))
    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["erase", "--lake", str(erased["lake"]), address])
    assert code == 3, err.getvalue()
    record = json.loads(out.getvalue())
    assert record["weeks_held"] == ["2026-W10", "2026-W11"] and record["weeks_rebuilt"] == []
    assert len(builds) == 1
    for table in ("gold/person_metrics_weekly", "gold/edges_weekly"):
        frame = RustTable(str(erased["lake"] / table)).to_pandas()
        assert person not in set(frame.filter(regex="^(person|src|dst)$").stack()), table
    assert person not in out.getvalue() + err.getvalue()

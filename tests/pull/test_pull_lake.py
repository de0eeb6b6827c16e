"""`ona pull` end to end into a real lake: the three emulated APIs, two passes, the build.

Graph, Google and Slack serve the same fictional organisation (tests/emulator/org.py), so the
same mail, meeting and person reach bronze through two or three APIs: unification into one
record and one pseudonym is asserted on the Delta tables, as BI and the build see them.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.emulator import serve
from tests.emulator.org import W15, ChatMessage, Email, leak_markers, make_org

pytestmark = pytest.mark.slow

KEY = "0f259c6b8ad61e860bd65af49d8566eeac24d74a28373e69d214ce54cc028017"
NOW = datetime(2026, 4, 9, 18, 0, tzinfo=timezone.utc)  # Thursday of 2026-W15


def delta(lake: Path, table: str):
    from deltalake import DeltaTable

    return DeltaTable(str(lake / table)).to_pandas()


@pytest.fixture(scope="module")
def pulled(spark, tmp_path_factory):
    from jobs import pipeline
    from jobs.privacy.pseudonym import Pseudonymiser
    from jobs.pull.connections import NotConfiguredError
    from jobs.pull.run import pull

    monkeypatch = pytest.MonkeyPatch()
    org = make_org()
    emulator = serve.start(page_size=2, org=org)
    emulator.faults.rate_limit_every, emulator.faults.retry_after = 9, "0"
    monkeypatch.setenv("ONA_PSEUDONYM_KEY", KEY)
    monkeypatch.delenv("ONA_INTERNAL_DOMAINS", raising=False)
    for vendor in ("msgraph", "google", "slack"):
        monkeypatch.setenv(f"AIRFLOW_CONN_ONA_{vendor.upper()}", emulator.connection_json(vendor))
    lake = tmp_path_factory.mktemp("pull") / "lake"
    try:
        # Fail closed: Slack has no directory, and nothing else tells internal from external.
        with pytest.raises(NotConfiguredError, match="no internal domains"):
            pull(lake, ["slack"], spark=spark, now=NOW)
        first = pull(lake, spark=spark, now=NOW)
        first_requests = {r.vendor: 0 for r in emulator.log}
        for r in emulator.log:
            first_requests[r.vendor] += 1
        bronze_first = {k: delta(lake, f"bronze/{k}") for k in ("email", "calendar", "chat", "people")}
        emulator.clear_log()

        org.add_email(Email("<m6.late@example.org>", "cat", ["ann"], [], W15 + timedelta(days=2, hours=11),
                            "Subject-Marker-Late", "Body-Marker-Late"))
        org.cancel_meeting("standup-2")
        thread = next(c for c in org.channels if c.id == "C0000001")
        org.post(thread.id, ChatMessage("1775559600.000100", "dan", "Text-Marker-Late <@U00000001>",
                                        thread_ts="1774861200.000100"))
        second = pull(lake, spark=spark, now=NOW)
        second_log = list(emulator.log)
        built = pipeline.run(None, lake, spark=spark, now=NOW)
        yield {
            "org": org, "lake": lake, "first": first, "second": second, "built": built,
            "first_requests": first_requests, "second_log": second_log, "bronze_first": bronze_first,
            "pseudo": Pseudonymiser(key=KEY.encode(), internal_domains=frozenset({"example.org"})),
        }
    finally:
        emulator.stop()
        monkeypatch.undo()


def test_first_pull_unifies_every_copy_into_one_record(pulled):
    bronze = pulled["bronze_first"]
    # org.py plants 5 messages (m4 sits in 4 Graph and 4 Gmail mailboxes), 5 meeting
    # occurrences (in several calendars of two APIs), 9 Slack messages.
    assert sorted(bronze["email"]["record_id"].value_counts().tolist()) == [1] * 5
    assert len(bronze["calendar"]) == 5 and bronze["calendar"]["record_id"].is_unique
    assert len(bronze["chat"]) == 9 and bronze["chat"]["record_id"].is_unique
    kinds = pulled["first"].kinds
    assert kinds["email (msgraph)"]["accepted"] == 5 and kinds["email (google)"]["accepted"] == 5
    assert kinds["email (msgraph)"]["duplicates"] > 0  # the same message from several mailboxes
    assert kinds["chat (slack)"]["unjoined"] == {"slack users without e-mail": 1,
                                                  "messages by users without e-mail": 1}
    assert pulled["first"].weeks == ["2026-W14", "2026-W15"]


def test_one_pseudonym_per_person_across_graph_google_and_slack(pulled):
    pseudo, org, lake = pulled["pseudo"], pulled["org"], pulled["lake"]
    expected = {pseudo.person(p.address) for p in org.people}
    people = delta(lake, "silver/people")
    assert set(people["person"]) == expected and len(people) == 7
    ann = people.set_index("person").loc[pseudo.person("annabelle.quixotica@example.org")]
    assert ann["department"] == "Engineering"
    bob = people.set_index("person").loc[pseudo.person("bartholomew.zanzibarre@example.org")]
    assert bob["manager"] == pseudo.person("annabelle.quixotica@example.org")
    # Every internal actor and participant of every chat, meeting and mail joins silver/people.
    events = delta(lake, "silver/events")
    actors = set(events["actor"]) | {p for ps in events["participants"] for p in ps}
    internal = {a for a in actors if a and a.startswith("p_")}
    assert internal and internal <= expected
    for kind in ("meeting", "dm", "thread_reply", "email"):
        kind_actors = {a for a in events.loc[events["kind"] == kind, "actor"] if a.startswith("p_")}
        assert kind_actors, kind
        assert kind_actors <= expected, kind
    # Catriona's Slack profile e-mail is upper case: her Slack pseudonym is her mail pseudonym.
    cat = pseudo.person("catriona.vellumshade@example.org")
    assert cat in set(events.loc[events["source"] == "chat", "actor"])
    # The outside partner organised a meeting: it counts, with her domain's pseudonym.
    assert pseudo.person("paloma.partner@vendor-firm.example") in set(events.loc[events["kind"] == "meeting", "actor"])


def test_second_pull_fetches_only_changes_and_duplicates_nothing(pulled):
    lake, second = pulled["lake"], pulled["second"]
    requests = {v: s["requests"] for v, s in second.vendors.items()}
    for vendor, n in requests.items():
        assert 0 < n < pulled["first_requests"][vendor], vendor
    # Nothing is listed again: Graph reads delta links, Gmail its history, Calendar its sync
    # tokens, Slack its `oldest` watermark.
    paths = [r.path for r in pulled["second_log"]]
    assert not any(p.endswith("/messages") and "gmail" in p for p in paths)
    assert all("oldest" in r.query for r in pulled["second_log"] if r.path == "/conversations.history")
    kinds = second.kinds
    assert kinds["email (msgraph)"]["accepted"] == 1 and kinds["email (google)"]["accepted"] == 1
    assert kinds["chat (slack)"]["accepted"] == 1
    assert (kinds["calendar (msgraph)"]["cancelled"] or 0) + (kinds["calendar (google)"]["cancelled"] or 0) >= 1
    assert second.weeks == ["2026-W15"]
    for table, planted in (("email", 6), ("calendar", 5), ("chat", 10)):
        bronze = delta(lake, f"bronze/{table}")
        assert len(bronze) == planted and bronze["record_id"].is_unique, table
    calendar = delta(lake, "bronze/calendar")
    cancelled = calendar[calendar["status"] == "CANCELLED"]
    assert len(cancelled) == 1 and cancelled.iloc[0]["starts_at"].isoformat().startswith("2026-04-07T09:00")


def test_build_takes_the_pulled_weeks_from_the_lake(pulled):
    built = pulled["built"]
    assert built.weeks == ["2026-W14", "2026-W15"]
    runs = delta(pulled["lake"], "quality/ingest_runs")
    assert set(runs["origin"]) == {"msgraph", "google", "slack"}
    # Over both pulls each API delivered what org.py planted: 6 mails (5, then the late one),
    # 10 Slack messages (9, then the late reply); the extra copies of a mail in other mailboxes
    # are duplicates, never accepted twice.
    accepted = runs.groupby(["origin", "source"])["accepted"].sum().to_dict()
    assert accepted[("msgraph", "email")] == 6 and accepted[("google", "email")] == 6
    assert accepted[("slack", "chat")] == 10
    assert runs.loc[runs["origin"] == "msgraph", "duplicates"].sum() > 0
    assert runs["requests"].min() > 0
    state = delta(pulled["lake"], "state/pull_state")
    assert set(state["vendor"]) == {"msgraph", "google", "slack"}
    # The privacy officer's report names each API and says who could not be joined.
    html = Path(built.report).read_text()
    assert "chat (slack)" in html and "email (msgraph)" in html
    assert "slack users without e-mail: 1" in html


def test_nothing_the_apis_said_reaches_the_lake(pulled):
    """Every file of the lake (Delta logs with their column statistics, reports, state) and
    every value of every table, for the emulator's names, addresses, subjects, bodies, channel
    names and message text."""
    import pyarrow.parquet as pq

    lake, org = pulled["lake"], pulled["org"]
    markers = [m.lower() for m in leak_markers(org)] + ["subject-marker-late", "text-marker-late"]
    found = []
    for path in sorted(p for p in lake.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            text = json.dumps(pq.read_table(path).to_pylist(), default=str).lower()
        else:
            text = path.read_bytes().decode("utf-8", "replace").lower()
        found += [(path.relative_to(lake).as_posix(), m) for m in markers if m in text]
    assert found == []
    assert len(list(lake.rglob("*.parquet"))) > 20  # the scan did read the tables

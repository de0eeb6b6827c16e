from datetime import date

import pytest

from jobs.privacy.pseudonym import Pseudonymiser
from jobs.sources.people import parse_people, roster_domains

ROW_KEYS = {"record_id", "file_ref", "person", "department", "team", "manager", "location", "hire_date", "timezone", "origin"}

ROSTER = (
    "\ufeffEmail , department,team,manager_email,location,hire_date,timezone,salary\n"
    "ann@Example.org,Engineering,Platform,,Berlin,2019-04-01,Europe/Berlin,100\n"
    "bob@example.org,Engineering,Platform,ann@example.org,Remote,,America/New_York,90\n"
    "carol@sub.example.org,Sales,,ann@example.org,,2021-11-30,,80\n"
    "not-an-address,Sales,EMEA,,,2020-01-01,UTC,70\n"
    "dave@example.org,Sales,EMEA,carol@sub.example.org,London,2020-13-01,Europe/London,60\n"
    "erin@example.org,Sales,EMEA,,London,2020-02-03,Mars/Olympus,50\n"
    "frank@example.org,Ops,,,,20200203,UTC,40\n"
)


@pytest.fixture
def pseudo():
    return Pseudonymiser(key=b"test-key")


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "hr").mkdir()
    (tmp_path / "hr" / "roster.csv").write_text(ROSTER, encoding="utf-8")
    (tmp_path / "hr" / "contractors.csv").write_text(
        "email,department,team,manager_email,location,hire_date,timezone\n"
        "gus@Vendor.COM,Ops,,,,,\n",
        encoding="utf-8",
    )
    return tmp_path


def test_roster_domains(folder):
    assert roster_domains(folder) == frozenset({"example.org", "sub.example.org", "vendor.com"})


def test_rows_and_rejections(folder, pseudo):
    out = parse_people(folder, pseudo)
    assert out.read == 8
    assert len(out.rows) == 4  # ann, bob, carol, gus
    assert all(set(r) == ROW_KEYS for r in out.rows)
    reasons = {r.record_ref: r.reason for r in out.rejections}
    assert reasons == {
        pseudo.ref("people-pos", "hr/roster.csv", 3): "no usable email",
        pseudo.ref("people-pos", "hr/roster.csv", 4): "unparseable hire_date",
        pseudo.ref("people-pos", "hr/roster.csv", 5): "unknown time zone",
        pseudo.ref("people-pos", "hr/roster.csv", 6): "unparseable hire_date",  # not YYYY-MM-DD
    }


def test_row_values(folder, pseudo):
    rows = {r["person"]: r for r in parse_people(folder, pseudo).rows}
    ann = rows[pseudo.person("ann@example.org")]
    assert ann == {
        "record_id": pseudo.person("ann@example.org"),
        "file_ref": pseudo.ref("file", "hr/roster.csv"),
        "person": pseudo.person("ann@example.org"),
        "department": "Engineering",
        "team": "Platform",
        "manager": None,
        "location": "Berlin",
        "hire_date": date(2019, 4, 1),
        "timezone": "Europe/Berlin",
        "origin": "roster",
    }
    bob = rows[pseudo.person("bob@example.org")]
    assert bob["manager"] == pseudo.person("ann@example.org") and bob["hire_date"] is None
    carol = rows[pseudo.person("carol@sub.example.org")]
    assert carol["team"] is None and carol["location"] is None and carol["timezone"] is None
    assert "salary" not in carol


def test_external_email_is_not_a_person(folder):
    pseudo = Pseudonymiser(key=b"test-key", internal_domains=frozenset({"example.org", "sub.example.org"}))
    out = parse_people(folder, pseudo)
    assert [r.reason for r in out.rejections if r.record_ref == pseudo.ref("people-pos", "hr/contractors.csv", 0)] == [
        "email outside the internal domains"
    ]
    assert all(r["person"].startswith("p_") for r in out.rows)


def test_files_that_are_not_rosters_are_rejected_and_the_rest_loads(folder, pseudo):
    # A roster export missing columns, a stray CSV that is no roster at all, a Latin-1 roster
    # (the "é" is one byte 0xE9: not UTF-8), and an empty file, next to the good rosters.
    (folder / "hr" / "old_export.csv").write_text("email,department,team\nann@example.org,Eng,Platform\n")
    (folder / "hr" / "budget.csv").write_text("cost centre;amount\nCC-1;1000\n")
    (folder / "hr" / "latin1.csv").write_bytes(
        "email,department,team,manager_email,location,hire_date,timezone\n"
        "zoe@example.org,Ventes,Régions,,Paris,,Europe/Paris\n".encode("latin-1")
    )
    (folder / "hr" / "empty.csv").write_text("")
    out = parse_people(folder, pseudo)
    file_reasons = {r.record_ref: (r.reason, r.file_ref) for r in out.rejections if r.record_ref in {
        pseudo.ref("people-pos", f"hr/{name}", "file") for name in ("old_export.csv", "budget.csv", "latin1.csv", "empty.csv")
    }}
    assert file_reasons == {
        pseudo.ref("people-pos", "hr/old_export.csv", "file"): (
            "not a roster: missing column(s) manager_email, location, hire_date, timezone",
            pseudo.ref("file", "hr/old_export.csv"),
        ),
        pseudo.ref("people-pos", "hr/budget.csv", "file"): (
            "not a roster: missing column(s) email, department, team, manager_email, location, hire_date, timezone",
            pseudo.ref("file", "hr/budget.csv"),
        ),
        pseudo.ref("people-pos", "hr/latin1.csv", "file"): ("roster is not UTF-8", pseudo.ref("file", "hr/latin1.csv")),
        pseudo.ref("people-pos", "hr/empty.csv", "file"): (
            "not a roster: missing column(s) email, department, team, manager_email, location, hire_date, timezone",
            pseudo.ref("file", "hr/empty.csv"),
        ),
    }
    # The good rosters load as before: 4 rows and the 4 line rejections of ROSTER.
    assert len(out.rows) == 4 and len(out.rejections) == 4 + 4
    assert pseudo.person("zoe@example.org") not in {r["person"] for r in out.rows}
    assert roster_domains(folder) == frozenset({"example.org", "sub.example.org", "vendor.com"})


def test_only_reads_the_named_files(folder, pseudo):
    out = parse_people(folder, pseudo, only={"hr/contractors.csv"})
    assert [r["person"] for r in out.rows] == [pseudo.person("gus@vendor.com")] and out.rejections == []
    assert parse_people(folder, pseudo, only=set()).read == 0


def test_no_raw_content_leaves_the_parser(folder, pseudo):
    out = parse_people(folder, pseudo)
    texts = [str(v) for row in out.rows for v in row.values()] + [r.reason for r in out.rejections]
    for text in texts:
        assert "@" not in text and "example" not in text and "not-an-address" not in text

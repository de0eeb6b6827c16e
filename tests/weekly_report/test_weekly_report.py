"""The weekly ONA report (`ona report`, jobs/weekly_report/) on the small organisation's lake.

Expected values come from the lake itself, read independently of jobs/: delta-rs and a
hand-written join on the publish pointer (quality/published_weeks, on week_start and run_id),
or from numbers written here. The page is written once per module through the CLI, on a copy
of the shared first run (tests/small_org.py), and read by the tests below: those carry the
`slow` marker of whole-run tests; the guard and usage-error tests need no run.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from contextlib import redirect_stderr, redirect_stdout
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from deltalake import DeltaTable

from jobs.cli import main
from jobs.weekly_report import RestrictedTableError
from jobs.weekly_report.data import read_bi_table
from schemas.catalog import BI_ZONES, all_tables
from tests.browser import RenderedPage, chromium, run_chromium

# The sections, in the order a reader meets them (hand-written: the seven questions).
SECTIONS = [
    "Key players and brokers",
    "How departments connect",
    "Department-to-department collaboration",
    "Silos: who keeps to themselves",
    "Collaboration load and after-hours work",
    "Onboarding: how new hires connect",
    "What changed since last week",
]
PSEUDONYM = re.compile(r"\bp_[0-9a-f]{16}\b")
ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def _monday(week_label: str) -> date:
    year, week = week_label.split("-W")
    return date.fromisocalendar(int(year), int(week), 1)


def published(lake: Path, table: str) -> pd.DataFrame:
    """A run-tagged table's current rows, as a BI tool reads them: delta-rs, joined by hand to
    the publish pointer."""
    rows = DeltaTable(str(lake / table)).to_pandas()
    pointer = DeltaTable(str(lake / "quality/published_weeks")).to_pandas()[["week_start", "run_id"]]
    return rows.merge(pointer, on=["week_start", "run_id"])


@pytest.fixture(scope="module")
def report(small_org, tmp_path_factory):
    """`ona report` for the small organisation's last published week, on a copy of its lake,
    recording every table the report read."""
    from jobs import lake as lake_io

    _, lake = small_org.copy_to(tmp_path_factory.mktemp("weekly-report"))
    week = small_org.summary.published_weeks[-1]
    tables_read: list[str] = []
    real_read = lake_io.read

    def recording(spark, root, table):
        tables_read.append(table.path)
        return real_read(spark, root, table)

    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, redirect_stdout(stdout), redirect_stderr(stderr):
        patch.setattr(lake_io, "read", recording)
        code = main(["report", "--lake", str(lake), "--week", week])
    assert code == 0, stderr.getvalue()
    path = lake / "reports" / week / "index.html"
    html = path.read_text(encoding="utf-8")
    page = RenderedPage()
    page.feed(html)
    return dict(lake=lake, week=week, monday=_monday(week), stdout=stdout.getvalue(), path=path, html=html,
                page=page, tables_read=tables_read)


def _table(page: RenderedPage, first_header: str) -> tuple[list[str], list[list[str]]]:
    """The header and body rows of the page's table whose first column is ``first_header``."""
    start = next(i for i, row in enumerate(page.rows) if row and row[0] == first_header)
    body = []
    for row in page.rows[start + 1:]:
        if len(row) != len(page.rows[start]) or row[0] in ("Pseudonym", "Department", "From \\ to"):
            break
        body.append(row)
    return page.rows[start], body


# ------------------------------------------------------------------ the BI-zone guard


def test_the_guard_refuses_every_restricted_table(tmp_path):
    """Refused before Spark is touched (no session here): the report cannot show a restricted figure."""
    restricted = [t for t in all_tables() if t.zone not in BI_ZONES]
    assert {"silver/people", "bronze/people", "silver/person_brokerage_weekly"} <= {t.path for t in restricted}
    for table in restricted:
        with pytest.raises(RestrictedTableError, match=re.escape(table.path)):
            read_bi_table(None, tmp_path, table)


@pytest.mark.slow
def test_the_report_read_bi_tables_only(report):
    read = set(report["tables_read"])
    assert {path.split("/")[0] for path in read} <= set(BI_ZONES), read
    assert {"gold/person_metrics_weekly", "gold/group_metrics_weekly", "gold/group_cohesion_weekly",
            "gold/onboarding_cohorts_weekly", "gold/network_summary_weekly", "quality/published_weeks"} <= read


def test_labels_from_the_data_cannot_write_markup_into_a_chart():
    """Department names reach the SVG that the page inlines as markup: matplotlib must escape them."""
    from jobs.weekly_report import charts

    name = '<script>alert("x")</script>'
    matrix = pd.DataFrame({
        "group_a": [name, name, "Sales", "Sales"], "group_b": [name, "Sales", name, "Sales"],
        "weight": [12.0, 3.5, None, 40.0], "is_suppressed": [False, False, True, False],
        "suppression": [None, None, "fewer than k people", None]})
    cohesion = pd.DataFrame({"group_name": [name, "Sales"], "ei_index": [-0.2, 0.1], "is_suppressed": [False, False]})
    for svg in (charts.department_heatmap(matrix), charts.department_map(matrix, cohesion), charts.ei_bars(cohesion)):
        assert "<script" not in svg and "&lt;script&gt;" in svg
    assert "suppressed" in charts.department_heatmap(matrix)


# ------------------------------------------------------------------ the page


@pytest.mark.slow
def test_the_page_has_every_section_in_order(report):
    headings = report["page"].headings
    assert headings[0] == f"Weekly collaboration report: {report['week']}"
    assert headings[1:] == SECTIONS


@pytest.mark.slow
def test_the_page_loads_nothing_from_anywhere(report):
    html = report["html"].lower()
    for needle in ("<script", "<link", "<img", "<iframe", "src=", "@import", "https://"):
        assert needle not in html, f"the page must be self-contained: found {needle!r}"
    # In-page references (#id), and the bitmaps matplotlib embeds in an SVG (colour bars) as data.
    targets = re.findall(r'href="([^"]{0,22})', html)
    assert targets and all(t.startswith(("#", "data:image/png;base64,")) for t in targets), "a link that leaves the page"
    assert set(re.findall(r"url\((.)", html)) <= {"#"}, "a CSS url() that leaves the page"


@pytest.mark.slow
def test_suppressed_cells_are_marked_and_show_no_value(report):
    """Every department cell of the week in the heatmap's table: a suppressed one says
    "suppressed" and holds no digit; a published one shows its weight."""
    cells = published(report["lake"], "gold/group_metrics_weekly")
    cells = cells[(cells["week_start"] == report["monday"]) & (cells["group_kind"] == "department")]
    suppressed = cells[cells["suppression"].notna()]
    # The small organisation has departments of fewer than 5 people (k = 5 by default), so its
    # matrix has suppressed cells: no need to plant one.
    assert len(suppressed) > 0 and suppressed["weight"].isna().all()
    header, rows = _table(report["page"], "From \\ to")
    by_name = {row[0]: dict(zip(header[1:], row[1:])) for row in rows}
    for cell in cells.itertuples():
        shown = by_name[cell.group_a][cell.group_b]
        if pd.notna(cell.suppression):
            assert shown == "suppressed", (cell.group_a, cell.group_b, shown)
            assert not re.search(r"\d", shown)
        else:
            assert shown == f"{cell.weight:,.1f}", (cell.group_a, cell.group_b, shown)
    assert sum(value == "suppressed" for row in by_name.values() for value in row.values()) == len(suppressed)


@pytest.mark.slow
def test_suppressed_departments_show_no_cohesion_figure(report):
    cohesion = published(report["lake"], "gold/group_cohesion_weekly")
    cohesion = cohesion[(cohesion["week_start"] == report["monday"]) & (cohesion["group_kind"] == "department")]
    assert cohesion["suppression"].notna().any()
    _, rows = _table(report["page"], "Department")
    shown = {row[0]: row[1:] for row in rows}
    assert set(shown) == set(cohesion["group_name"])
    for group in cohesion.itertuples():
        if pd.notna(group.suppression):
            assert shown[group.group_name] == ["suppressed"] * 5
        else:
            assert shown[group.group_name][:2] == [f"{group.n_people:,.0f}", f"{group.ei_index:+.2f}"]


@pytest.mark.slow
def test_no_address_anywhere_and_no_department_beside_a_pseudonym(report):
    page = report["page"]
    assert not ADDRESS.search(report["html"]), ADDRESS.search(report["html"])
    departments = set(published(report["lake"], "gold/group_metrics_weekly")["group_a"])
    assert departments
    person_rows = [row for row in page.rows if any(PSEUDONYM.fullmatch(cell) for cell in row)]
    assert len(person_rows) >= 10  # key players, brokers and movers are listed
    for row in person_rows:
        text = " ".join(row)
        for name in departments:
            assert not re.search(rf"\b{re.escape(name)}\b", text), (name, row)


@pytest.mark.slow
def test_the_numbers_in_words_match_the_lake(report):
    """A few figures of each kind, against the lake read independently."""
    lake, monday, text = report["lake"], report["monday"], report["page"].flat
    people = published(lake, "gold/person_metrics_weekly")
    week_people = people[people["week_start"] == monday]
    summary = published(lake, "gold/network_summary_weekly").set_index("week_start").loc[monday]

    assert f"People with a tie {summary['nodes']:,}" in text
    top = week_people.sort_values(["pagerank", "person"], ascending=[False, True]).iloc[0]
    _, key_players = _table(report["page"], "Pseudonym")
    assert key_players[0][:2] == [top["person"], "1"]
    assert (f"the median person spent {week_people['meeting_hours'].median():.1f} hours in meetings") in text
    assert (f"{int(summary['ties_formed']):,} ties formed and {int(summary['ties_lost']):,} lost; "
            f"tie churn {summary['tie_churn']:.0%}") in text

    cohorts = published(lake, "gold/onboarding_cohorts_weekly")
    assert cohorts[cohorts["week_start"] == monday]["is_suppressed"].all()  # 60 people: no cohort of 5
    assert f"No cohort of at least k = 5 people has figures as of {report['week']}" in text


@pytest.mark.slow
def test_a_published_week_nobody_worked_in_still_has_every_section(spark, report):
    """A week past the landed data publishes with no person row (a scheduled run can build one):
    each section says so in a sentence, and the load section does not pass off an earlier week's
    figures as this week's."""
    import dataclasses

    from jobs.weekly_report.data import load_report_data, weeks_up_to
    from jobs.weekly_report.page import render

    data = load_report_data(spark, report["lake"], weeks_up_to(spark, report["lake"], report["monday"]), 5)
    assert len(data.load_trend) == 2 and not data.people.empty
    summary = data.summary_trend.copy()
    summary.loc[summary.index[-1], ["nodes", "edges"]] = 0
    nobody = dataclasses.replace(  # the week's rows gone, the week before kept
        data, people=data.people.iloc[:0], load_trend=data.load_trend.iloc[:-1], group_matrix=data.group_matrix.iloc[:0],
        cohesion=data.cohesion.iloc[:0], cohorts=data.cohorts.iloc[:0], summary_trend=summary)
    page = RenderedPage()
    page.feed(render(nobody))
    assert [h for h in page.headings if h in SECTIONS] == SECTIONS
    assert f"Nobody has collaboration figures in {report['week']}: there is no load to show." in page.flat
    assert not PSEUDONYM.search(page.flat)


# ------------------------------------------------------------------ the command line


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err and "\n" not in err and "Traceback" not in err
    return err


@pytest.mark.slow
def test_the_command_prints_the_path_it_wrote(report, capsys, tmp_path):
    assert report["stdout"].strip() == str(report["path"])  # default: <lake>/reports/<week>/index.html

    assert main(["report", "--lake", str(report["lake"]), "--week", report["week"], "--out", str(tmp_path)]) == 0
    written = tmp_path / report["week"] / "index.html"
    assert capsys.readouterr().out.strip() == str(written)
    assert "<h2>Key players and brokers</h2>" in written.read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_week_with_nothing_published_is_one_line_and_exit_2(report, capsys, tmp_path):
    lake = report["lake"]
    assert main(["report", "--lake", str(lake), "--week", "2026-W30", "--out", str(tmp_path)]) == 2
    assert _one_line(capsys).startswith(f"ona report: nothing published for 2026-W30 in the lake {lake}")
    (tmp_path / "empty").mkdir()
    assert main(["report", "--lake", str(tmp_path / "empty"), "--week", "2026-W11", "--out", str(tmp_path)]) == 2
    assert _one_line(capsys).endswith("(it publishes no week)")
    assert main(["report", "--lake", str(tmp_path / "nowhere"), "--week", "2026-W11"]) == 2
    assert _one_line(capsys) == f"ona report: no lake at {tmp_path / 'nowhere'}"
    assert [p.name for p in tmp_path.iterdir()] == ["empty"]  # nothing written


@pytest.mark.parametrize("week, expected", [("2026-W99", "2026 has no week 99"), ("W11", "not an ISO week: 'W11'")])
def test_a_malformed_week_is_one_line_and_exit_2(capsys, tmp_path, week, expected):
    with pytest.raises(SystemExit) as exit_:
        main(["report", "--lake", str(tmp_path), "--week", week])
    assert exit_.value.code == 2
    err = _one_line(capsys)
    assert err.startswith("ona report: ") and expected in err
    assert not (tmp_path / "reports").exists()


# ------------------------------------------------------------------ in a browser


@pytest.mark.slow
def test_the_page_renders_in_a_browser(report, tmp_path):
    from PIL import Image

    binary = chromium()
    url = report["path"].resolve().as_uri()
    png = tmp_path / "weekly-report.png"
    run_chromium(binary, tmp_path / "profile-shot", f"--screenshot={png}", url, window_size="1280,4000")
    assert png.is_file() and png.stat().st_size > 0, "chromium wrote no screenshot"
    if os.environ.get("ONA_WEEKLY_REPORT_SCREENSHOT"):  # to look at it
        shutil.copy(png, os.environ["ONA_WEEKLY_REPORT_SCREENSHOT"])
    with Image.open(png) as shot:
        assert shot.size == (1280, 4000)
        grey = shot.convert("L")
        inked = sum(grey.histogram()[:245])  # pixels darker than near-white
        assert inked / (1280 * 4000) > 0.05, "screenshot nearly blank"
        assert len(shot.convert("RGB").getcolors(maxcolors=1280 * 4000)) > 50, "hardly any colour"

    dom = run_chromium(binary, tmp_path / "profile-dom", "--dump-dom", url).stdout
    page = RenderedPage()
    page.feed(dom)
    assert page.headings[1:] == SECTIONS
    assert dom.count("<svg") >= 4  # the network map, heatmap, E-I bars and load trends at least

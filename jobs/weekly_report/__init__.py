"""The weekly ONA report: one self-contained HTML page per published week, for leaders and HR
(`ona report --lake DIR --week 2026-W10 [--out DIR]`, docs/report.md).

data.py reads the BI-zone tables (and nothing else) into small pandas frames, charts.py draws
them as inline SVG with matplotlib, page.py puts words, pictures and tables on the page.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from jobs.weekly_report.data import NothingPublishedError, RestrictedTableError

__all__ = ["NothingPublishedError", "RestrictedTableError", "report_path", "write_weekly_report"]


def report_path(lake: str | Path, week: date, out: Path | None = None) -> str:
    """`<lake>/reports/<week label>/index.html` (the lake local or at a URL), or
    `<out>/<week label>/index.html`."""
    from jobs.lake_location import join
    from jobs.weeks import label

    return join(out if out is not None else join(lake, "reports"), label(week), "index.html")


def write_weekly_report(spark, lake: str | Path, week: date, out: Path | None = None) -> str:
    """Write the week's page and return its path. NothingPublishedError when the lake has not
    published the week; nothing is written then."""
    from jobs.config import Settings
    from jobs.lake import write_text
    from jobs.progress import stage
    from jobs.weekly_report.data import load_report_data, weeks_up_to
    from jobs.weekly_report.page import render

    # Checked before the stages start: a refusal is the CLI's one line, not a failed stage too.
    weeks = weeks_up_to(spark, lake, week)
    with stage("read gold"):
        data = load_report_data(spark, lake, weeks, Settings.from_env().privacy.min_group_size)
    with stage("draw"):
        html = render(data)
    path = report_path(lake, week, out)
    write_text(spark, path, html)
    return path

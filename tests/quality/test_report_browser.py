"""The validation report as a privacy officer sees it: rendered by a real (headless) browser.

Reading the HTML as text cannot tell a page that renders from one whose markup swallows a
section or paints nothing; Chromium's screenshot and its parsed DOM can.
"""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from dataclasses import asdict, fields
from datetime import date
from pathlib import Path

import pytest

from jobs.stages.ingest import SourceSummary
from jobs.stages.summary import RunSummary
from jobs.quality.checks import CheckResult, GateResult
from jobs.quality.report import write_report
from tests.browser import RenderedPage, chromium, run_chromium

KEY_ID = "kid_3f9a0c1b2d4e"
ERASED_PERSON = "p_00aa11bb22cc33dd"  # must never reach the page: erasures are counts only
FAILED_CHECK = "no address-like value in any string column"

PRIVACY = {
    "key_id": KEY_ID,
    "excluded": {
        "opted out": 3,
        "unusable addresses": 2,
        "external participants (collapsed to their domain)": 41,
        "Slack users without an e-mail": 1,
        "bots and system messages": 12,
        "records of another key version": 0,
    },
    "suppressed": {"fewer than k people": 4, "complementary": 1},
    "k": 5,
    "dp": {
        "epsilon_per_release": 0.5, "weekly_budget": 1.0, "weight_clip": 5.0,
        "weeks": [
            {"week": "2026-W09", "spent": 1.0, "remaining": 0.0, "refused": True},
            {"week": "2026-W10", "spent": 0.5, "remaining": 0.5, "refused": False},
        ],
    },
    "retention": {
        "applied_at": "2026-11-29T03:00:00+00:00",
        "tables": [
            {"table": "bronze/email", "window_weeks": 13, "cutoff": "2026-08-31", "rows_removed": 120},
            {"table": "silver/interactions", "window_weeks": 26, "cutoff": "2026-06-01", "rows_removed": 3456},
        ],
    },
    "erasures": [
        {"erased_at": "2026-03-09T10:15:00+00:00", "reason": "request", "people": 1, "rows_removed": 57,
         "rows_changed": 12, "weeks_rebuilt": ["2026-W10"], "person": ERASED_PERSON},
    ],
    "approval": {
        "required": True,
        "waiting": [{"week": "2026-W10", "run_id": "run-20260309-0300"}],
        "approved": [{"week": "2026-W09", "run_id": "run-20260302-0300"}],
        "rejected": [],
    },
}

# The page's CSS colours of "pass" and "FAIL" (--pass #0b6b2b, --fail #b00020).
PASS_RGB = (0x0B, 0x6B, 0x2B)
FAIL_RGB = (0xB0, 0x00, 0x20)


def _week(text: str) -> date:
    year, week = text.split("-W")
    return date.fromisocalendar(int(year), int(week), 1)


def _summary(privacy: dict | None) -> RunSummary:
    sources = {
        "email": SourceSummary(source="email", read=1840, accepted=1822, quarantined=11, duplicates=7,
                               reasons={"no sender": 9, "unparseable date": 2},
                               unjoined={"external sender": 301}),
        "meeting (graph)": SourceSummary(source="meeting", origin="graph", read=412, accepted=410,
                                         quarantined=2, reasons={"no organiser": 2}),
        "chat": SourceSummary(source="chat", read=5120, accepted=5120),
    }
    values = dict(
        run_id="run-20260309-0300", key_version="k_5e1f0c2a9b3d",
        weeks=["2026-W09", "2026-W10", "2026-W11"],
        sources={name: asdict(s) for name, s in sources.items()},
        silver={"email": {"broadcast": 23}, "meeting": {"broadcast": 4, "cancelled": 6}},
        gates=[], published_weeks=["2026-W09"], groups_suppressed=5, report="",
    )
    # The privacy field is wired into RunSummary separately: work with and without it.
    if "privacy" in {f.name for f in fields(RunSummary)}:
        return RunSummary(**values, privacy=privacy)
    summary = RunSummary(**values)
    if privacy is not None:
        object.__setattr__(summary, "privacy", privacy)
    return summary


def _results() -> list[GateResult]:
    def passing(name: str, level: str = "fail") -> CheckResult:
        return CheckResult(name, "expect_something", None, level, True, "ok")

    results = []
    for week in ("2026-W09", "2026-W10"):
        results.append(GateResult("gold/person_metrics_weekly", _week(week), "person_metrics", [
            passing("columns match the contract"), passing("person is a pseudonym"),
            passing("row count within the trailing range", "warn"),
        ]))
    results.append(GateResult("gold/person_metrics_weekly", _week("2026-W11"), "person_metrics", [
        passing("columns match the contract"),
        CheckResult(FAILED_CHECK, "expect_column_values_to_not_match_regex", "group", "fail", False,
                    "2 unexpected values"),
        CheckResult("row count within the trailing range", "expect_table_row_count_to_be_between", None,
                    "warn", False, "row count 12, expected 80-120"),
    ]))
    return results


def _render(tmp_path: Path, privacy: dict | None) -> Path:
    write_report(None, tmp_path / "report", _summary(privacy), _results())
    return tmp_path / "report" / "validation.html"


def _png_pixels(path: Path) -> tuple[int, int, list[tuple[int, int, int]]]:
    """Decode an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes) into RGB tuples."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, bytearray(), None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, f"unsupported PNG {header}"
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(bytes(idat))
    stride = width * bpp
    previous = bytearray(stride)
    pixels = []
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = previous[i], previous[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        pixels.extend(zip(line[0::bpp], line[1::bpp], line[2::bpp]))
        previous = line
    return width, height, pixels


def _near(pixel: tuple[int, int, int], rgb: tuple[int, int, int], tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, rgb))


def test_report_has_nothing_external(tmp_path):
    page = _render(tmp_path, PRIVACY).read_text(encoding="utf-8").lower()
    for needle in ("http://", "https://", "//cdn", "<script", "<link", "<img", "<iframe", "@import", "url("):
        assert needle not in page, f"the report must load nothing: found {needle!r}"
    assert ERASED_PERSON not in page


def test_report_without_privacy_summary_still_renders(tmp_path):
    page = _render(tmp_path, None).read_text(encoding="utf-8")
    assert "Key identifier" in page and "k_5e1f0c2a9b3d" in page
    assert page.count("Not recorded for this run.") == 5  # excluded, DP, retention, erasures, approval
    assert FAILED_CHECK in page


def test_report_says_when_a_protection_is_off_or_empty(tmp_path):
    privacy = {**PRIVACY, "dp": None, "retention": None, "erasures": [], "excluded": {}, "suppressed": {},
               "approval": {"required": False, "waiting": [], "approved": [], "rejected": []}}
    page = _render(tmp_path, privacy).read_text(encoding="utf-8")
    for state in ("Differential privacy off", "No retention run recorded.", "<p class=\"state\">None.</p>",
                  "Nothing excluded.", "No cell suppressed.", "Not required: a week is published"):
        assert state in page
    assert "Waiting for approval" not in page and "Not recorded for this run." not in page


@pytest.mark.slow
def test_report_renders_in_a_browser(tmp_path):
    binary = chromium()
    html = _render(tmp_path, PRIVACY)
    url = html.resolve().as_uri()

    png = tmp_path / "report.png"
    run_chromium(binary, tmp_path / "profile-shot", f"--screenshot={png}", url)
    assert png.is_file() and png.stat().st_size > 0, "chromium wrote no screenshot"
    if os.environ.get("ONA_REPORT_SCREENSHOT"):
        shutil.copy(png, os.environ["ONA_REPORT_SCREENSHOT"])

    width, height, pixels = _png_pixels(png)
    assert (width, height) == (1280, 1600)
    inked = sum(1 for p in pixels if min(p) < 245)
    assert inked / len(pixels) > 0.05, f"screenshot nearly blank: {inked / len(pixels):.1%} non-white"
    assert len(set(pixels)) > 50, "screenshot has hardly any distinct colours"
    assert sum(1 for p in pixels if _near(p, PASS_RGB)) > 50, "no green (pass) on the page"
    assert sum(1 for p in pixels if _near(p, FAIL_RGB)) > 50, "no red (FAIL) on the page"

    dom = run_chromium(binary, tmp_path / "profile-dom", "--dump-dom", url).stdout
    page = RenderedPage()
    page.feed(dom)
    text, rows = page.flat, page.rows

    # The order an officer reads in: who and which key, the outcome, privacy, then the detail.
    order = [text.find(s) for s in (KEY_ID, "Not published:", "Waiting for approval:", "Privacy summary",
                                    "Records per source", "gold/person_metrics_weekly · week")]
    assert -1 not in order and order == sorted(order), order
    assert "Not published: 2026-W11" in text
    # The run id is on the page: `ona approve` needs it.
    assert "Waiting for approval: 2026-W10 (run run-20260309-0300)" in text
    assert "Published: 2026-W09" in text

    for reason, count in PRIVACY["excluded"].items():
        assert [reason, str(count)] in rows
    assert "(k = 5)" in text
    assert ["fewer than k people", "4"] in rows and ["complementary", "1"] in rows
    assert ["2026-W10", "0.5", "0.5", "released"] in rows
    assert ["2026-W09", "1", "0", "refused: budget spent"] in rows
    assert ["bronze/email", "13 weeks", "2026-08-31", "120"] in rows
    assert ["silver/interactions", "26 weeks", "2026-06-01", "3,456"] in rows
    assert ["2026-03-09 10:15 UTC", "request", "1", "57", "12", "2026-W10"] in rows
    assert ["Waiting", "2026-W10 (run run-20260309-0300)"] in rows
    assert ["Approved", "2026-W09 (run run-20260302-0300)"] in rows
    assert ["Rejected", "none"] in rows
    assert [FAILED_CHECK, "fail", "FAIL", "2 unexpected values"] in rows
    assert ["row count within the trailing range", "warn", "warn", "row count 12, expected 80-120"] in rows
    assert ERASED_PERSON not in dom

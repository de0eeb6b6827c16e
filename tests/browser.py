"""Headless Chromium for the tests of our HTML pages (the validation report, the weekly report).

Reading HTML as text cannot tell a page that renders from one whose markup swallows a section
or paints nothing; Chromium's screenshot and its parsed DOM can. Debian's `chromium` binary:
missing, the test is skipped, except under CI=true, where it fails (CI must check the pages).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest


def chromium() -> str:
    binary = shutil.which("chromium")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed: CI must check the report in a browser (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium): report not checked in a browser")
    return binary


def run_chromium(binary: str, profile: Path, *args: str, window_size: str = "1280,1600") -> subprocess.CompletedProcess:
    command = [
        binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
        f"--window-size={window_size}",
        # A throwaway profile: never a developer's own, and parallel runs do not share a lock.
        f"--user-data-dir={profile}", "--no-first-run", "--disable-extensions",
        "--disable-background-networking", "--disable-dev-shm-usage",
        # Pixels in the CSS's sRGB values, whatever the machine's display profile.
        "--force-color-profile=srgb", "--force-device-scale-factor=1",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, f"chromium exited {done.returncode}:\n{done.stderr[-3000:]}"
    return done


class RenderedPage(HTMLParser):
    """A page as a reader sees it: its text, every table row as its cells' text, and the text
    of every heading (h1-h3)."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.rows: list[list[str]] = []
        self.headings: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._heading: list[str] | None = None
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script", "title"):
            self._skip += 1
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag in ("h1", "h2", "h3"):
            self._heading = []

    def handle_endtag(self, tag):
        if tag in ("style", "script", "title"):
            self._skip -= 1
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        elif tag in ("h1", "h2", "h3") and self._heading is not None:
            self.headings.append(" ".join("".join(self._heading).split()))
            self._heading = None

    def handle_data(self, data):
        if self._skip:
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._heading is not None:
            self._heading.append(data)

    @property
    def flat(self) -> str:
        return " ".join(" ".join(self.text).split())

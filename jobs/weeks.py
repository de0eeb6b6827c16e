"""ISO weeks: parsing `2026-W10` and `2026-W10..2026-W12`, and week starts (Mondays)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def parse_week(text: str) -> date:
    match = _WEEK.match(text.strip())
    if not match:
        raise ValueError(f"not an ISO week: {text!r} (expected e.g. 2026-W10)")
    return date.fromisocalendar(int(match[1]), int(match[2]), 1)


def parse_weeks(text: str) -> list[date]:
    """`2026-W10` -> [Monday]; `2026-W10..2026-W12` -> the Mondays of W10, W11, W12."""
    first, _, last = text.partition("..")
    start = parse_week(first)
    end = parse_week(last) if last else start
    if end < start:
        raise ValueError(f"empty week range: {text!r}")
    return [start + timedelta(weeks=i) for i in range((end - start).days // 7 + 1)]


def week_start(moment: datetime | date) -> date:
    day = moment.date() if isinstance(moment, datetime) else moment
    return day - timedelta(days=day.weekday())


def label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"

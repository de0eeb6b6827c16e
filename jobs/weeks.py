"""ISO weeks: parsing `2026-W10` and `2026-W10..2026-W12`, week starts (Mondays), and which
weeks a weekly graph run builds (the late/future data rule, docs/orchestration.md)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def parse_week(text: str) -> date:
    match = _WEEK.match(text.strip())
    if not match:
        raise ValueError(f"not an ISO week: {text!r} (expected e.g. 2026-W10)")
    try:
        return date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise ValueError(f"not an ISO week: {text!r} ({match[1]} has no week {match[2]})") from None


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


def buildable_weeks(weeks: Iterable[str], now: datetime) -> list[str]:
    """The late/future data rule: the weeks to build, sorted and unique, with every week after
    the ISO week containing `now` (UTC) left out.

    A future week (meetings already on calendars) is not built now: its records are in bronze,
    and the weekly run after that week ends builds it. A late record's week is in the past, so
    it is kept and rebuilt. The current week may be built (partially) and is rebuilt when it ends.
    """
    current = week_start(_utc(now))
    return sorted({label(monday) for monday in map(parse_week, weeks) if monday <= current})


def weeks_for_run(*, requested: Iterable[str], touched: Iterable[str], asset_triggered: bool,
                  interval_start: datetime | None, now: datetime) -> list[str]:
    """Which weeks a weekly graph run builds (before the future-week rule above is applied):

    - the weeks asked for (the `weeks` param: backfills, `make demo`), else
    - for a run triggered by bronze updates: exactly the weeks those updates touched (from the
      asset events' `weeks`; none -> nothing to build), else
    - for a scheduled (or plain manual) run: the ISO week of the data interval start, i.e. the
      week that just ended (the week before `now` when the run has no data interval).
    """
    requested = list(requested)
    if requested:
        candidates = requested
    elif asset_triggered:
        candidates = list(touched)
    else:
        candidates = [label(week_start(_utc(interval_start or now - timedelta(weeks=1))))]
    return buildable_weeks(candidates, now)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc) if moment.tzinfo is not None else moment


def week_window(weeks: list[date]) -> tuple[datetime, datetime]:
    """[Monday 00:00 UTC of the first week, Monday 00:00 UTC after the last week)."""
    midnight = datetime.min.time()
    return (datetime.combine(min(weeks), midnight, tzinfo=timezone.utc),
            datetime.combine(max(weeks) + timedelta(days=7), midnight, tzinfo=timezone.utc))

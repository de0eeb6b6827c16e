from datetime import date, datetime, timezone

import pytest

from jobs.weeks import buildable_weeks, label, parse_weeks, week_start, weeks_for_run


def test_parse_single_week_and_range():
    assert parse_weeks("2026-W10") == [date(2026, 3, 2)]
    # 2026 has 53 ISO weeks (it starts on a Thursday).
    assert parse_weeks("2026-W52..2027-W01") == [date(2026, 12, 21), date(2026, 12, 28), date(2027, 1, 4)]


@pytest.mark.parametrize("bad", ["2026-10", "2026-W99", "2026-W12..2026-W10", "W10"])
def test_parse_rejects_bad_weeks(bad):
    with pytest.raises(ValueError):
        parse_weeks(bad)


def test_week_start_and_label():
    sunday_night = datetime(2026, 3, 8, 23, 30, tzinfo=timezone.utc)
    assert week_start(sunday_night) == date(2026, 3, 2)
    assert label(date(2026, 3, 2)) == "2026-W10"
    assert label(date(2027, 1, 4)) == "2027-W01"


# Wednesday 2026-04-01, late evening UTC: inside 2026-W14 (Monday 2026-03-30).
NOW = datetime(2026, 4, 1, 23, 30, tzinfo=timezone.utc)


def test_buildable_weeks_drops_weeks_after_the_current_one():
    weeks = ["2026-W15", "2026-W13", "2026-W14", "2026-W13", "2025-W52", "2027-W01"]
    # Late weeks stay (rebuilt), the current week stays, future weeks go; sorted and unique.
    assert buildable_weeks(weeks, NOW) == ["2025-W52", "2026-W13", "2026-W14"]
    assert buildable_weeks([], NOW) == []


def test_buildable_weeks_reads_now_in_utc():
    from datetime import timedelta

    # Sunday 2026-04-05 22:00 in UTC-5 is Monday 03:00 UTC: W15 has begun.
    sunday_evening = datetime(2026, 4, 5, 22, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert buildable_weeks(["2026-W15"], sunday_evening) == ["2026-W15"]
    assert buildable_weeks(["2026-W15"], datetime(2026, 4, 5, 23, 59, tzinfo=timezone.utc)) == []


def test_weeks_for_run_by_run_kind():
    touched = ["2026-W14", "2026-W10", "2026-W16"]
    # Triggered by bronze updates: exactly the touched weeks, never a future one.
    assert weeks_for_run(requested=[], touched=touched, asset_triggered=True,
                         interval_start=None, now=NOW) == ["2026-W10", "2026-W14"]
    # An update that touched no week (a roster) builds nothing.
    assert weeks_for_run(requested=[], touched=[], asset_triggered=True,
                         interval_start=None, now=NOW) == []
    # Monday cron: the data interval starts on the previous Monday -> the week that just ended.
    monday_run = datetime(2026, 3, 30, 2, 0, tzinfo=timezone.utc)
    assert weeks_for_run(requested=[], touched=[], asset_triggered=False,
                         interval_start=monday_run, now=datetime(2026, 4, 6, 2, 0, tzinfo=timezone.utc)) == ["2026-W14"]
    # Manual run with no interval: the week before now.
    assert weeks_for_run(requested=[], touched=touched, asset_triggered=False,
                         interval_start=None, now=NOW) == ["2026-W13"]
    # The weeks param wins (backfills), with the same future rule.
    assert weeks_for_run(requested=["2026-W12", "2026-W20"], touched=touched, asset_triggered=True,
                         interval_start=None, now=NOW) == ["2026-W12"]

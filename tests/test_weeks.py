from datetime import date, datetime, timezone

import pytest

from jobs.weeks import label, parse_weeks, week_start


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

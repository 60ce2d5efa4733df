"""Working days per the State Council holiday notices (调休 included)."""

from __future__ import annotations

import datetime as dt

import pytest

from creditx.standard.workdays import china_calendar, parse_calendar

D = dt.date.fromisoformat


@pytest.mark.parametrize(
    "day, working",
    [
        ("2026-02-14", True),  # Saturday, make-up working day before the Spring Festival
        ("2026-02-16", False),  # Spring Festival holiday, Monday
        ("2026-02-28", True),  # Saturday, make-up working day after it
        ("2026-10-10", True),  # Saturday, make-up working day after National Day
        ("2025-10-08", False),  # National Day and Mid-Autumn together, a Wednesday
        ("2025-09-28", True),  # Sunday, make-up working day
        ("2024-02-18", True),  # Sunday, make-up working day
        ("2024-06-10", False),  # Dragon Boat Festival, Monday
        ("2026-03-07", False),  # an ordinary Saturday
        ("2026-03-09", True),  # an ordinary Monday
    ],
)
def test_holidays_and_make_up_days(day, working):
    assert china_calendar().is_working_day(D(day)) is working


def test_seven_working_days_across_the_spring_festival():
    cal = china_calendar()
    # Decided Friday 2026-02-13; Sat 14 is a working day, 15-23 holiday; then 24, 25, 26, 27, 28 (Sat).
    assert cal.working_days_between(D("2026-02-13"), D("2026-02-24")) == 2
    assert cal.working_days_between(D("2026-02-13"), D("2026-02-28")) == 6
    assert cal.working_days_between(D("2026-02-13"), D("2026-03-02")) == 7
    assert cal.working_days_between(D("2026-03-02"), D("2026-03-02")) == 0
    assert cal.working_days_between(D("2026-03-05"), D("2026-03-02")) == 0


def test_coverage_and_a_broken_calendar_is_refused():
    cal = china_calendar()
    assert cal.covered(D("2024-05-01")) and cal.covered(D("2026-12-31")) and not cal.covered(D("2030-01-01"))
    with pytest.raises(ValueError, match="both"):
        parse_calendar({"years": {"2026": {"holidays": ["2026-01-04"], "workdays": ["2026-01-04"]}}})

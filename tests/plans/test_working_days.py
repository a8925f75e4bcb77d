"""The bank holiday table in plans/working_days.py, checked against England's bank holidays
as the `holidays` package has them, for every year the table covers."""

from __future__ import annotations

import datetime as dt

import holidays

from publisher.plans.working_days import (
    BANK_HOLIDAYS,
    FIRST_YEAR,
    LAST_YEAR,
    add_working_days,
    covers,
)


def _england(year: int) -> set[dt.date]:
    """England's bank holidays in `year` on the days they are taken: the package lists a
    holiday that falls on a weekend on its own day as well as on the day in lieu; GOV.UK
    (and our table) lists only the day in lieu, so weekend days are left out."""
    days = holidays.country_holidays("GB", subdiv="ENG", years=year)
    return {day for day in days if day.weekday() < 5}


def test_every_year_of_the_table_agrees_with_englands_bank_holidays() -> None:
    for year in range(FIRST_YEAR, LAST_YEAR + 1):
        ours = {day for day in BANK_HOLIDAYS if day.year == year}
        assert ours == _england(year), year


def test_the_days_in_lieu_are_the_weekdays_after_a_weekend_holiday() -> None:
    # Boxing Day 2026 is a Saturday; Christmas 2027 a Saturday; New Year's Day 2028 too
    assert dt.date(2026, 12, 26) not in BANK_HOLIDAYS
    assert {dt.date(2026, 12, 28), dt.date(2027, 12, 27), dt.date(2027, 12, 28)} <= BANK_HOLIDAYS
    assert dt.date(2028, 1, 3) in BANK_HOLIDAYS


def test_a_year_past_the_table_gives_no_day_and_says_so() -> None:
    assert covers(LAST_YEAR) and not covers(LAST_YEAR + 1) and not covers(FIRST_YEAR - 1)
    # the package knows later years; the table does not, so no day is made up from it
    assert _england(LAST_YEAR + 1)
    assert add_working_days(dt.date(LAST_YEAR + 1, 6, 1), 8) is None
    assert add_working_days(dt.date(LAST_YEAR, 12, 20), 8) is None  # runs into the next year

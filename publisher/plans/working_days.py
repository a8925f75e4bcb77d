"""Working days in England, for the 8 working days of a Provider Selection Regime standstill.

A working day is any day but a Saturday, a Sunday or a bank holiday in England (Christmas
Day and Good Friday are in the list). The bank holidays are a small table kept here, not a
run-time dependency.

Where the table came from: GOV.UK's https://www.gov.uk/bank-holidays.json, division
"england-and-wales", which lists each holiday on the weekday it is taken (a holiday that
falls on a weekend is listed on the Monday or Tuesday in lieu). 2028 was written from the
usual rules (the first and last Mondays of May, the last Monday of August, Easter from
the calendar) before GOV.UK published it.

How it was checked: tests/plans/test_working_days.py compares every year of the table with
England's bank holidays in the `holidays` package (a dev dependency, in the lock:
`holidays.country_holidays("GB", subdiv="ENG")`). That package lists a holiday on its own
day as well as on the day in lieu, so the test compares the weekdays only: weekend days are
never working days either way. On 2026-12-07, with holidays 0.109, every year 2024 to 2028
agreed, day for day. To add a year: add its days here from GOV.UK's file, and the test
checks them against the package.

Past the table (before 2024, or after its last year) no day is worked out:
`add_working_days` gives None, and the notice says it cannot work out the day yet because
the list of bank holidays does not reach that far (templates/_award.html), rather than give
a date that may be wrong. `covers(year)` says whether a year
is in the table.
"""

from __future__ import annotations

import datetime as dt

BANK_HOLIDAYS: frozenset[dt.date] = frozenset(
    dt.date.fromisoformat(day)
    for day in (
        # 2024
        "2024-01-01", "2024-03-29", "2024-04-01", "2024-05-06",
        "2024-05-27", "2024-08-26", "2024-12-25", "2024-12-26",
        # 2025
        "2025-01-01", "2025-04-18", "2025-04-21", "2025-05-05",
        "2025-05-26", "2025-08-25", "2025-12-25", "2025-12-26",
        # 2026 (Boxing Day is a Saturday: Monday 28 December instead)
        "2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04",
        "2026-05-25", "2026-08-31", "2026-12-25", "2026-12-28",
        # 2027 (Christmas is a Saturday: 27 and 28 December instead)
        "2027-01-01", "2027-03-26", "2027-03-29", "2027-05-03",
        "2027-05-31", "2027-08-30", "2027-12-27", "2027-12-28",
        # 2028 (New Year's Day is a Saturday: Monday 3 January instead)
        "2028-01-03", "2028-04-14", "2028-04-17", "2028-05-01",
        "2028-05-29", "2028-08-28", "2028-12-25", "2028-12-26",
    )
)  # fmt: skip
FIRST_YEAR = min(day.year for day in BANK_HOLIDAYS)
LAST_YEAR = max(day.year for day in BANK_HOLIDAYS)


def covers(year: int) -> bool:
    """Whether the table holds `year`'s bank holidays, so its working days can be counted."""
    return FIRST_YEAR <= year <= LAST_YEAR


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in BANK_HOLIDAYS


def add_working_days(start: dt.date, count: int) -> dt.date | None:
    """The `count`th working day after `start` (not counting `start` itself), or None when
    the days run outside the years the bank holiday table covers."""
    if not covers(start.year):
        return None
    day = start
    left = count
    while left > 0:
        day += dt.timedelta(days=1)
        if not covers(day.year):
            return None
        if is_working_day(day):
            left -= 1
    return day

"""Working days in England, for the 8 working days of a Provider Selection Regime standstill.

A working day is any day but a Saturday, a Sunday or a bank holiday in England (Christmas
Day and Good Friday are in the list). The bank holidays are a small table kept here, not a
dependency: the source is GOV.UK's https://www.gov.uk/bank-holidays.json, division
"england-and-wales". The 2028 days follow the usual rules (the first and last Mondays of
May, the last Monday of August, a weekday in lieu of a holiday on a weekend); check them
against that file when GOV.UK publishes 2028, and add each new year the same way.
Past the table's last year no day is worked out: `add_working_days` gives None, and the
notice says "8 working days after" without a date, rather than a wrong date.
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


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in BANK_HOLIDAYS


def add_working_days(start: dt.date, count: int) -> dt.date | None:
    """The `count`th working day after `start` (not counting `start` itself), or None when
    the days run outside the years the bank holiday table covers."""
    if start.year < FIRST_YEAR:
        return None
    day = start
    left = count
    while left > 0:
        day += dt.timedelta(days=1)
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            return None
        if is_working_day(day):
            left -= 1
    return day

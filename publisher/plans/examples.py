"""Example plans stay current: an example plan says the day it was written for
(`written_for`), and is read as if written for today, every date in it moved by the same
whole number of weeks, so the demo site reads on any day as it did on that day.

Day dates move by whole weeks, so a Tuesday evening event stays on a Tuesday evening.
Approximate dates keep their precision: a month moves by whole months, a quarter by whole
quarters, a year by years, each by as many as the weeks carry that date's kind of period
over (23 November 2026 + 54 weeks is 6 December 2027: 13 months, 4 quarters, 1 year on).
Dates written in the plan's sentences ("closes on 8 January 2027", "in spring 2027") move
the same way, so the words and the dates agree. The shift is made once, as the plan is read
(`plans.check.read_plan`), so the check, the model and every format see the same dates.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from publisher.plans.dates import MONTHS, PlanDate, Precision
from publisher.plans.model import Opportunity, PlanHeader


@dataclass(frozen=True, slots=True)
class Shift:
    """How far an example plan's dates move: whole weeks, and the months, quarters and
    years those weeks carry a date over."""

    weeks: int
    months: int
    quarters: int
    years: int

    @classmethod
    def between(cls, written_for: dt.date, today: dt.date) -> Shift:
        # Whole weeks, rounded down: within a week the example ages as a real plan would,
        # and on the written_for weekday it is back where it was written.
        weeks = (today - written_for).days // 7
        moved = written_for + dt.timedelta(weeks=weeks)
        years = moved.year - written_for.year
        return cls(
            weeks,
            years * 12 + moved.month - written_for.month,
            years * 4 + (moved.month - 1) // 3 - (written_for.month - 1) // 3,
            years,
        )

    @property
    def days(self) -> int:
        return self.weeks * 7

    def __bool__(self) -> bool:
        return self.weeks != 0

    def day(self, day: dt.date) -> dt.date:
        return day + dt.timedelta(weeks=self.weeks)

    def moment(self, when: dt.datetime) -> dt.datetime:
        return when + dt.timedelta(weeks=self.weeks)

    def month(self, year: int, month: int) -> tuple[int, int]:
        """A month (year, 1-12) moved by whole months."""
        index = year * 12 + month - 1 + self.months
        return index // 12, index % 12 + 1

    def plan_date(self, date: PlanDate) -> PlanDate:
        """A plan date moved, as precise as it was written."""
        if date.precision is Precision.YEAR:
            return PlanDate(date.year + self.years, Precision.YEAR)
        if date.precision is Precision.QUARTER:
            assert date.quarter is not None
            index = date.year * 4 + date.quarter - 1 + self.quarters
            return PlanDate(index // 4, Precision.QUARTER, quarter=index % 4 + 1)
        if date.precision is Precision.MONTH:
            assert date.month is not None
            year, month = self.month(date.year, date.month)
            return PlanDate(year, Precision.MONTH, month=month)
        day = self.day(date.first_day)
        return PlanDate(day.year, date.precision, None, day.month, day.day, date.hour, date.minute)


def shift_for(header: PlanHeader, today: dt.date) -> Shift | None:
    """How far this plan's dates move when read on `today`: only an example plan that says
    the day it was written for moves (a real plan's dates are promises, never moved)."""
    if not header.example or header.written_for is None:
        return None
    shift = Shift.between(header.written_for, today)
    return shift if shift else None


def shifted(item: Opportunity, shift: Shift) -> Opportunity:
    """The opportunity with every date in it, and every date its sentences name, moved.

    Every field is walked, so a date field added to the format later moves too."""
    moved: Opportunity = _walk(item, shift)
    return moved


def _walk(value: Any, shift: Shift) -> Any:
    if isinstance(value, BaseModel):
        # Only the fields that moved are replaced, so the fields the plan set stay the
        # ones it set (what a diff and the open data compare)
        changed = {}
        for name in type(value).model_fields:
            before = getattr(value, name)
            after = _walk(before, shift)
            if after != before:
                changed[name] = after
        return value.model_copy(update=changed) if changed else value
    if isinstance(value, PlanDate):
        return shift.plan_date(value)
    if isinstance(value, dt.datetime):
        return shift.moment(value)
    if isinstance(value, dt.date):
        return shift.day(value)
    if isinstance(value, dict):
        return {key: _walk(inner, shift) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_walk(inner, shift) for inner in value)
    if isinstance(value, str) and " " in value:
        # Only sentences: ids, web addresses and emails have no spaces, and must not move.
        return shift_words(value, shift)
    return value


_MONTH = "|".join(MONTHS)
_WORDS = re.compile(
    rf"""(?<![\w£$,.])(?:
        (?P<day>\d{{1,2}})\ (?P<day_month>{_MONTH})\ (?P<day_year>20\d\d)
      | (?P<month>{_MONTH})\ (?P<month_year>20\d\d)
      | (?P<year>20\d\d)
      | (?P<preposition>(?:in|by|from|until|before|after|since|of|to|and|between)\ )
        (?P<bare>{_MONTH})(?!\ 20\d\d)
    )(?!\w|[,.]\d)""",
    re.VERBOSE,
)


def shift_words(text: str, shift: Shift) -> str:
    """A sentence with the dates it names moved: "8 January 2027" by whole weeks,
    "March 2027" by months, a year ("spring 2027", "2026 to 2027") by years, and a month
    named alone after "in", "by" and the like ("in January") by months."""

    def moved(match: re.Match[str]) -> str:
        if match["day"] is not None:
            month = MONTHS.index(match["day_month"]) + 1
            try:
                day = shift.day(dt.date(int(match["day_year"]), month, int(match["day"])))
            except ValueError:
                return match[0]  # not a real day: not ours to correct
            return f"{day.day} {MONTHS[day.month - 1]} {day.year}"
        if match["month"] is not None:
            year, month = shift.month(int(match["month_year"]), MONTHS.index(match["month"]) + 1)
            return f"{MONTHS[month - 1]} {year}"
        if match["year"] is not None:
            return str(int(match["year"]) + shift.years)
        _, month = shift.month(2000, MONTHS.index(match["bare"]) + 1)
        return f"{match['preposition']}{MONTHS[month - 1]}"

    return _WORDS.sub(moved, text)

"""Dates, periods and money as OCDS writes them: approximate plan dates mapped honestly
(the first moment of their period, with their precision stated in our extension)."""

from __future__ import annotations

import calendar
import datetime as dt

from publisher.formats.data import Json, number
from publisher.plans.dates import LONDON, PlanDate, Precision
from publisher.plans.model import Duration, Money, Range


def timestamp(day: dt.date | dt.datetime) -> str:
    """A release or package date: a day is its first moment in UTC, so builds agree."""
    if isinstance(day, dt.datetime):
        return day.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return f"{day.isoformat()}T00:00:00Z"


def moment(date: PlanDate, end: bool = False) -> str:
    """A plan date as an OCDS date-time in London time. An approximate date is the first
    moment of its month, quarter or year (its precision says which): a reader who ignores
    the precision then prepares early rather than late. A known day ends at 23:59:59."""
    if date.precision is Precision.DAY and end:
        day = date.first_day
        return dt.datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=LONDON).isoformat()
    return date.start.replace(tzinfo=LONDON).isoformat()


def period(start: PlanDate | None = None, end: PlanDate | None = None) -> Json | None:
    out: Json = {}
    precision: Json = {}
    if start is not None:
        out["startDate"] = moment(start)
        precision["startDate"] = start.precision.value
    if end is not None:
        out["endDate"] = moment(end, end=True)
        precision["endDate"] = end.precision.value
    if not out:
        return None
    out["datePrecision"] = precision
    return out


def months(years: float | None, months: int | None) -> int:
    return round((years or 0) * 12) + (months or 0)


def add_months(day: dt.date, count: int) -> dt.date:
    year, month = divmod(day.month - 1 + count, 12)
    year += day.year
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def as_precise_as(date: PlanDate, day: dt.date) -> PlanDate:
    """The plan date, as precise as `date`, that `day` falls in."""
    quarter = f"%Y-Q{(day.month + 2) // 3}"
    shapes = {Precision.YEAR: "%Y", Precision.QUARTER: quarter, Precision.MONTH: "%Y-%m"}
    return PlanDate.parse(day.strftime(shapes.get(date.precision, "%Y-%m-%d")))


def contract_period(starts: PlanDate | None, length: Duration | None) -> Json | None:
    """From service_starts and the duration; the end and the furthest extension are as
    precise as the start, since they are worked out from it."""
    if length is None:
        return period(starts)
    term = months(length.years, length.months)
    extended = term + months(length.extension_years, length.extension_months)
    if starts is None:
        # No start, so no calendar: an average month.
        return {"durationInDays": round(term * 365.25 / 12)}
    first = starts.first_day
    last = as_precise_as(starts, add_months(first, term) - dt.timedelta(days=1))
    out = period(starts, last)
    assert out is not None
    if extended > term:
        furthest = as_precise_as(starts, add_months(first, extended) - dt.timedelta(days=1))
        out["maxExtentDate"] = moment(furthest, end=True)
        out["datePrecision"]["maxExtentDate"] = furthest.precision.value
    out["durationInDays"] = (add_months(first, term) - first).days
    out["datePrecision"] = out.pop("datePrecision")  # last, after every date it describes
    return out


def pounds(amount: float) -> Json:
    return {"amount": number(amount), "currency": "GBP"}


def values(money: Money | None, minimum: str) -> Json:
    """Money as OCDS values: a range's top is `value` and its bottom `minimum` (minValue on a
    tender, minimumValue on a lot); a yearly amount goes in our extension's annualValue."""
    out: Json = {}
    if money is None:
        return out
    total = money.total
    if money.min is not None and money.max is not None:
        total = Range(min=money.min, max=money.max)
    for amount, top, bottom in (
        (total, "value", minimum),
        (money.per_year, "annualValue", "annualMinValue"),
    ):
        if isinstance(amount, Range):
            out[top] = pounds(amount.max)
            out[bottom] = pounds(amount.min)
        elif amount is not None:
            out[top] = pounds(amount)
    return out

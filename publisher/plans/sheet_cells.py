"""One spreadsheet cell read as a plan value: money like "£50k" or "£1.2m to £1.5m", dates
like 31/03/2027, "March 2027" or "Q1 2027/28", and lengths like "3 + 2 years" (publisher
import, docs/commissioners.md; the words for status, funding and route: sheet_words.py).

Each reader returns the value as a plan file writes it, None for an empty cell (or one
that says "TBC"), or raises CellError with a plain reason.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from pydantic_core import PydanticCustomError

from publisher.plans.dates import EARLIEST_YEAR, LATEST_YEAR, MONTHS, PlanDate

Number = int | float


class CellError(ValueError):
    """A cell that cannot be read as what its column holds; the message says why."""


# Cells that mean "not known yet": a gap, not a mistake.
_EMPTY = frozenset(
    {"", "-", "--", "—", "–", "?", "tbc", "tbd", "tba", "n/a", "na", "none", "unknown",
     "to be confirmed", "to be decided", "to be agreed", "not known", "not yet known"}
)  # fmt: skip


def plain(value: object) -> object:
    """The cell with text tidied (spaces, non-breaking spaces); None for an empty cell."""
    if isinstance(value, str):
        text = " ".join(value.replace("\u00a0", " ").split())
        return None if text.lower().rstrip(".") in _EMPTY else text
    return value


def whole(number: float) -> Number:
    """Whole pounds as an int, so the plan says 50000 and not 50000.0."""
    return int(number) if float(number).is_integer() else round(number, 2)


# Money ------------------------------------------------------------------------------------

_SCALE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "million": 1e6, "bn": 1e9}
_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*(k|thousand|mn|million|m|bn)?\b")
_PER_YEAR = re.compile(
    r"\b(?:pa|p\.a\.?|per annum|per year|a year|each year|annually|/ ?yr|/ ?year)"
)
_UP_TO = re.compile(r"^(?:up to|upto|max(?:imum)?|not more than|no more than|under|below)\b")


@dataclass(frozen=True)
class Money:
    """What a money cell said: an amount, a range, or an upper limit; and whether yearly."""

    low: Number | None
    high: Number
    per_year: bool = False

    @property
    def exact(self) -> bool:
        return self.low == self.high


def read_money(value: object, scale: float = 1) -> Money | None:
    """A money cell: 50000, "£50k", "£1.2m", "50,000", "£50k - £100k", "up to £4,000",
    "£30k pa". `scale` is 1000 when the heading says "£k" or "£000s"."""
    value = plain(value)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise CellError("this is not an amount of money")
    if isinstance(value, int | float):
        if value < 0:
            raise CellError("an amount of money cannot be below nothing")
        amount = whole(value * scale)
        return Money(amount, amount)
    text = value.lower().replace(",", "").replace("£", " ").replace("gbp", " ")
    per_year = bool(_PER_YEAR.search(text))
    text = _PER_YEAR.sub(" ", text)
    up_to = bool(_UP_TO.match(text.strip()))
    amounts = [
        whole(float(number) * _SCALE.get(unit or "", scale))
        for number, unit in _AMOUNT.findall(text)
    ]
    # A unit given once applies to both ends: "50-100k" is £50,000 to £100,000.
    found = _AMOUNT.findall(text)
    if len(found) == 2 and not found[0][1] and found[1][1]:
        amounts[0] = whole(float(found[0][0]) * _SCALE[found[1][1]])
    leftover = _AMOUNT.sub(" ", text)
    leftover = re.sub(r"\b(?:to|and|between|from|up|upto|max|maximum|approx|approximately|"
                      r"around|about|circa|c|est|estimated|under|below|not|no|more|than)\b|"
                      r"[-–—~.()/]", " ", leftover)  # fmt: skip
    if not amounts or leftover.strip() or len(amounts) > 2:
        raise CellError(
            f"'{value}' is not an amount we can read: write it like 50000, £50k or "
            "£1.2m, or a range like £50k to £100k"
        )
    if up_to:
        if len(amounts) != 1:
            raise CellError(f"'{value}' is not an amount we can read")
        return Money(None, amounts[0], per_year)
    if len(amounts) == 2:
        low, high = amounts
        if low > high:
            raise CellError(f"'{value}' starts above where it ends")
        return Money(low, high, per_year)
    return Money(amounts[0], amounts[0], per_year)


# Dates ------------------------------------------------------------------------------------

_EXCEL_DAY_ZERO = dt.date(1899, 12, 30)
_MONTH_NAMES = {m.lower(): i for i, m in enumerate(MONTHS, 1)} | {
    m[:3].lower(): i for i, m in enumerate(MONTHS, 1)
} | {"sept": 9}  # fmt: skip
_HEDGES = re.compile(
    r"\(?\b(?:tbc|tbd|approx(?:imately)?|around|circa|c\.|est(?:imated)?\.?|expected|"
    r"anticipated|provisional|indicative)\b\)?",
)
_DAY_FIRST = re.compile(
    r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})(?:\s+(\d{1,2}):(\d{2})(?::\d{2})?)?$"
)
_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)\.?,?\s+(\d{4})$")
_MONTH_YEAR = re.compile(r"^([a-z]+)\.?[\s-]+(\d{4}|\d{2})$")
_FINANCIAL_QUARTER = re.compile(
    r"^(?:q([1-4])\s*(?:fy\s*)?(\d{4}|\d{2})\s*[/-]\s*(\d{2,4})"
    r"|(?:fy\s*)?(\d{4}|\d{2})\s*[/-]\s*(\d{2,4})\s*q([1-4]))$"
)
_CALENDAR_QUARTER = re.compile(r"^(?:q([1-4])[\s-]*(\d{4})|(\d{4})[\s-]*q([1-4]))$")
_QUARTER_WORDS = re.compile(r"^([a-z]+) to ([a-z]+) (\d{4})$")
_DATE_ADVICE = "write it like 31/03/2027, March 2027, Q1 2027/28 or 2027"
_FINANCIAL_YEAR = re.compile(r"^(?:fy\s*)?(\d{4})\s*[/-]\s*(\d{2,4})$")


def _year(text: str) -> int:
    year = int(text)
    return 2000 + year if year < 100 else year


def _month(name: str, whole_cell: str) -> int:
    month = _MONTH_NAMES.get(name)
    if month is None:
        raise CellError(f"'{whole_cell}' is not a date we can read: {_DATE_ADVICE}")
    return month


def _checked(text: str, whole_cell: str) -> str:
    try:
        return PlanDate.parse(text).text
    except PydanticCustomError as err:
        raise CellError(err.message().replace(f"'{text}'", f"'{whole_cell}'")) from None


def read_date(value: object) -> str | None:
    """A date cell as a plan date ("2027-03-31", "2027-03", "2027-Q2", "2027"): Excel dates,
    31/03/2027 (UK style: the day first), 14 March 2027, March 2027, Q1 2027/28 (a
    financial year's quarter: April to June 2027), Q1 2027, 2027."""
    value = plain(value)
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if (value.hour, value.minute) == (0, 0):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise CellError("this is not a date")
    if isinstance(value, int | float):
        if EARLIEST_YEAR <= value <= LATEST_YEAR and float(value).is_integer():
            return str(int(value))
        if 30000 <= value <= 80000:  # an Excel day number that lost its date format
            return (_EXCEL_DAY_ZERO + dt.timedelta(days=int(value))).isoformat()
        raise CellError(f"{value} is not a date we can read")
    return _date_text(value)


def _date_text(cell: str) -> str:
    text = " ".join(_HEDGES.sub(" ", cell.lower()).split()).strip(" ,")
    try:
        return PlanDate.parse(text.upper() if "-q" in text else text).text
    except PydanticCustomError:
        pass
    if match := _DAY_FIRST.match(text):
        day, month, year, hour, minute = match.groups()
        if int(month) > 12:
            raise CellError(
                f"'{cell}' is read day first, as in the UK, and {int(month)} is not a "
                f"month: for {MONTHS[int(day) - 1] if int(day) <= 12 else 'that day'}, "
                f"write {int(month):02d}/{int(day):02d}/{year}"
            )
        iso = f"{_year(year)}-{int(month):02d}-{int(day):02d}"
        if hour is not None:
            iso += f"T{int(hour):02d}:{minute}"
        return _checked(iso, cell)
    if match := _DAY_MONTH_YEAR.match(text):
        day, name, year = match.groups()
        return _checked(f"{year}-{_month(name, cell):02d}-{int(day):02d}", cell)
    if match := _MONTH_YEAR.match(text):
        name, year = match.groups()
        return _checked(f"{_year(year)}-{_month(name, cell):02d}", cell)
    if match := _FINANCIAL_QUARTER.match(text):
        quarter = int(match[1] or match[6])
        start = _year(match[2] or match[4])
        # The financial year starts in April: its Q1 is April to June, its Q4 January to March.
        return _checked(f"{start + 1}-Q1" if quarter == 4 else f"{start}-Q{quarter + 1}", cell)
    if match := _CALENDAR_QUARTER.match(text):
        number, year = (match[1], match[2]) if match[1] else (match[4], match[3])
        return _checked(f"{year}-Q{number}", cell)
    if match := _QUARTER_WORDS.match(text):
        first, last, year = _month(match[1], cell), _month(match[2], cell), match[3]
        if first % 3 == 1 and last == first + 2:
            return _checked(f"{year}-Q{(first + 2) // 3}", cell)
    if match := _FINANCIAL_YEAR.match(text):
        start = int(match[1])
        raise CellError(
            f"'{cell}' is a whole financial year (April {start} to March {start + 1}), "
            "which a plan cannot give as one date: give the quarter (Q1 "
            f"{start}/{str(start + 1)[2:]}), the month, or the day"
        )
    raise CellError(f"'{cell}' is not a date we can read: {_DATE_ADVICE}")


# Lengths of time --------------------------------------------------------------------------

_LENGTH = re.compile(r"(\d+(?:\.\d+)?)\s*(years?|yrs?|y|months?|mths?|m)?\b")


def _part(text: str, unit: str | None, cell: str) -> dict[str, Number]:
    found = _LENGTH.findall(text)
    if not found or _LENGTH.sub(" ", text).strip(" ,()and"):
        raise CellError(
            f"'{cell}' is not a length of time we can read: write it like 3 years, "
            "18 months or 3 + 2 years"
        )
    out: dict[str, Number] = {}
    for number, word in found:
        kind = "months" if (word or unit or "").startswith("m") else "years"
        if not (word or unit):
            raise CellError(f"'{cell}': say whether that is years or months")
        amount = float(number)
        if kind in out:
            raise CellError(f"'{cell}' gives the {kind} twice")
        if kind == "months" and not amount.is_integer():
            raise CellError(f"'{cell}': write whole months")
        out[kind] = whole(amount)
    return out


def read_duration(value: object, unit: str | None = None) -> dict[str, Number] | None:
    """How long it lasts: "3 years", "18 months", "3 + 2 years" or "3 years plus 2 years"
    (an extension), "1 year 6 months". `unit` ("years" or "months") comes from a heading
    such as "Duration (months)" and applies to bare numbers."""
    value = plain(value)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise CellError("this is not a length of time")
    cell = str(value)
    text = cell.lower().replace(" plus ", "+").replace("extension", "").replace("optional", "")
    parts = [p.strip() for p in text.split("+")]
    if isinstance(value, int | float) and unit is None:
        raise CellError(f"'{cell}': say whether that is years or months")
    # The unit of the last part applies to the bare numbers before it: "3 + 2 years".
    last = _LENGTH.findall(parts[-1])
    shared = next((w for _, w in reversed(last) if w), None) or unit
    main = _part(parts[0], shared, cell)
    out: dict[str, Number] = dict(main)
    extension: dict[str, float] = {}
    for extra in parts[1:]:
        for kind, amount in _part(extra, shared, cell).items():
            extension[kind] = extension.get(kind, 0) + amount
    for kind, amount in extension.items():
        out[f"extension_{kind}"] = whole(amount)
    return out


def duration_between(start: str, end: str) -> dict[str, Number] | None:
    """The length from a start day to an end day, in whole years or months (an end date is
    usually the day before an anniversary); None when it is not a whole number of months."""
    first, last = PlanDate.parse(start), PlanDate.parse(end)
    following = last.last_day + dt.timedelta(days=1)
    begin = first.first_day
    months = (following.year - begin.year) * 12 + following.month - begin.month
    if following.day != begin.day or months <= 0:
        return None
    return {"years": months // 12} if months % 12 == 0 else {"months": months}


def duration_text(years: float | None, months: int | None) -> str:
    parts = []
    if years is not None:
        parts.append(f"{whole(years)} year" + ("" if years == 1 else "s"))
    if months is not None:
        parts.append(f"{months} month" + ("" if months == 1 else "s"))
    return " ".join(parts)

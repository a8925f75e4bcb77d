"""Plan dates that may be exact or approximate, and stay as precise as the plan said."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
# Plan dates are London wall-clock dates; every layer that turns one into a moment uses this zone.
LONDON = ZoneInfo("Europe/London")
EARLIEST_YEAR = 2000
LATEST_YEAR = 2100

_PATTERN = re.compile(
    r"""^(?P<year>\d{4})
    (?:
        -[Qq](?P<quarter>\d+)
      | -(?P<month>\d{1,2})
        (?:-(?P<day>\d{1,2})
            (?:[T ](?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?)?
        )?
    )?$""",
    re.VERBOSE,
)
_UK_STYLE = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$")
JSON_PATTERN = r"^\d{4}(-Q[1-4]|-\d{2}(-\d{2}([T ]\d{2}:\d{2})?)?)?$"
HOW_TO_WRITE = "write 2027-03-14 for a day, 2027-03 for a month, 2027-Q2 for a quarter or 2027"


class Precision(Enum):
    """How precisely a plan date is known, from least to most precise."""

    YEAR = "year"
    QUARTER = "quarter"
    MONTH = "month"
    DAY = "day"
    MINUTE = "minute"


_RANK = {p: i for i, p in enumerate(Precision)}


def _year_first(first: int, second: int, year: int) -> str:
    """Advice for a date written with the year last: day first (14/03/2027) as in the UK,
    or month first (03/31/2027) when that is the only way it is a real date. The hint is
    always a real date; when the numbers make none, there is no hint."""
    real = []
    for day, month in ((first, second), (second, first)):
        try:
            real.append(dt.date(year, month, day))
        except ValueError:
            continue
    if not real or not EARLIEST_YEAR <= year <= LATEST_YEAR:
        return "'{value}' is not a real date; " + HOW_TO_WRITE
    order = "day" if real[0].day == first else "month"
    return f"'{{value}}' is written {order} first; write it year first, as {real[0].isoformat()}"


def _date_error(message: str, value: object) -> PydanticCustomError:
    return PydanticCustomError("plan_date", message, {"value": str(value)})


@dataclass(frozen=True, slots=True)
class PlanDate:
    """A date from a plan: a year, quarter, month, day or a day and time (Europe/London).

    An approximate date is never turned into a made-up day: `start` and `end` give the
    period it may fall in, and `text` is the canonical way to write it.
    """

    year: int
    precision: Precision
    quarter: int | None = None
    month: int | None = None
    day: int | None = None
    hour: int | None = None
    minute: int | None = None

    @classmethod
    def parse(cls, value: object) -> PlanDate:
        """Read a date as a plan file writes it; raise PydanticCustomError with advice."""
        if isinstance(value, PlanDate):
            return value
        if isinstance(value, bool):
            raise _date_error("'{value}' is not a date: " + HOW_TO_WRITE, value)
        if isinstance(value, dt.datetime):
            return cls(
                value.year, Precision.MINUTE, None, value.month, value.day, value.hour, value.minute
            )
        if isinstance(value, dt.date):
            return cls(value.year, Precision.DAY, None, value.month, value.day)
        if isinstance(value, int):
            value = str(value)
        if not isinstance(value, str):
            raise _date_error("this should be a date: " + HOW_TO_WRITE, value)
        text = value.strip()
        match = _PATTERN.match(text)
        if match is None:
            uk = _UK_STYLE.match(text)
            if uk:
                raise _date_error(_year_first(*(int(part) for part in uk.groups())), value)
            raise _date_error("'{value}' is not a date we can read: " + HOW_TO_WRITE, value)
        year = int(match["year"])
        if not EARLIEST_YEAR <= year <= LATEST_YEAR:
            raise _date_error(
                f"the year in '{{value}}' should be between {EARLIEST_YEAR} and {LATEST_YEAR}",
                value,
            )
        if match["quarter"] is not None:
            quarter = int(match["quarter"])
            if not 1 <= quarter <= 4:
                raise _date_error(
                    "'{value}' names a quarter that does not exist: quarters are Q1 to Q4",
                    value,
                )
            return cls(year, Precision.QUARTER, quarter=quarter)
        if match["month"] is None:
            return cls(year, Precision.YEAR)
        month = int(match["month"])
        if not 1 <= month <= 12:
            raise _date_error("'{value}' has month " + f"{month}: months are 01 to 12", value)
        if match["day"] is None:
            return cls(year, Precision.MONTH, month=month)
        day = int(match["day"])
        days_in_month = calendar.monthrange(year, month)[1]
        if not 1 <= day <= days_in_month:
            raise _date_error(
                f"'{{value}}' is not a real day: {MONTHS[month - 1]} {year} has "
                f"{days_in_month} days",
                value,
            )
        if match["hour"] is None:
            return cls(year, Precision.DAY, month=month, day=day)
        hour, minute = int(match["hour"]), int(match["minute"])
        if hour > 23 or minute > 59 or int(match["second"] or 0) > 59:
            raise _date_error("'{value}' has a time that does not exist: use 00:00 to 23:59", value)
        return cls(year, Precision.MINUTE, month=month, day=day, hour=hour, minute=minute)

    @property
    def text(self) -> str:
        """The canonical way to write this date in a plan file."""
        if self.precision is Precision.YEAR:
            return f"{self.year}"
        if self.precision is Precision.QUARTER:
            return f"{self.year}-Q{self.quarter}"
        if self.precision is Precision.MONTH:
            return f"{self.year}-{self.month:02d}"
        if self.precision is Precision.DAY:
            return f"{self.year}-{self.month:02d}-{self.day:02d}"
        return f"{self.year}-{self.month:02d}-{self.day:02d}T{self.hour:02d}:{self.minute:02d}"

    def __str__(self) -> str:
        return self.text

    @property
    def is_approximate(self) -> bool:
        """True when the plan does not name the day."""
        return _RANK[self.precision] < _RANK[Precision.DAY]

    @property
    def first_day(self) -> dt.date:
        """The first day this date may fall on."""
        if self.precision is Precision.YEAR:
            return dt.date(self.year, 1, 1)
        if self.precision is Precision.QUARTER:
            assert self.quarter is not None
            return dt.date(self.year, 3 * self.quarter - 2, 1)
        assert self.month is not None
        return dt.date(self.year, self.month, self.day or 1)

    @property
    def last_day(self) -> dt.date:
        """The last day this date may fall on."""
        if self.precision is Precision.YEAR:
            return dt.date(self.year, 12, 31)
        if self.precision is Precision.QUARTER:
            assert self.quarter is not None
            month = 3 * self.quarter
            return dt.date(self.year, month, calendar.monthrange(self.year, month)[1])
        assert self.month is not None
        if self.day is None:
            return dt.date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])
        return dt.date(self.year, self.month, self.day)

    @property
    def start(self) -> dt.datetime:
        """The earliest moment this date may mean (naive, Europe/London wall time)."""
        day = self.first_day
        return dt.datetime(day.year, day.month, day.day, self.hour or 0, self.minute or 0)

    @property
    def end(self) -> dt.datetime:
        """The moment just after the latest this date may mean."""
        if self.precision is Precision.MINUTE:
            return self.start + dt.timedelta(minutes=1)
        day = self.last_day + dt.timedelta(days=1)
        return dt.datetime(day.year, day.month, day.day)

    def surely_before(self, other: PlanDate) -> bool:
        """True when every moment this date may mean comes before every moment of `other`."""
        return self.end <= other.start

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls.parse,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda value: value.text, when_used="json"
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "anyOf": [
                {"type": "string", "pattern": JSON_PATTERN},
                {"type": "integer", "minimum": EARLIEST_YEAR, "maximum": LATEST_YEAR},
            ],
            "examples": ["2027-03-14", "2027-03-14T10:00", "2027-03", "2027-Q2", 2027],
        }

"""Which days a file's content depends on, so the next day's build makes again only what
reads differently that day.

A build renders with `Day`, a date that watches how it is used. Compared with a date
("has the closing date passed?"), it notes the first day on which the answer changes (for
`day < closes`, the closing day; for `day <= closes`, the day after; an equality, both);
any other use (days left, the day in words, the year) marks the content as changing every
day. What one file's making noted is its `Rule`: the content is the same on any other day
that falls on the same side of every day noted, since the making then takes every branch
it took before and reads nothing else of the day. `Rule.sign(day)` names that side, and
goes into the file's key in place of the day itself. (Noting where each answer changes,
not the date compared with, makes a file again once when a date passes, not on the day
and again the day after.)

The day is watched only while `watching` a file's making; a build watches each plan file's
rendering and each file made from many opportunities on its own.
"""

from __future__ import annotations

import datetime as dt
import operator
import weakref
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

# dt.date's own methods, which read the day without Day's watching
_ordinal = dt.date.toordinal


def plain(day: dt.date) -> dt.date:
    """`day` as a plain date, read without being noted."""
    return dt.date.fromordinal(_ordinal(day))


@dataclass(frozen=True)
class Rule:
    """The days on which a file reads the same: none but its own (`daily`), or those on
    the same side of each of `dates` (plain dates, sorted: each the first day on which an
    answer the making read changes)."""

    dates: tuple[dt.date, ...] = ()
    daily: bool = False

    def sign(self, day: dt.date) -> str:
        """What the file's key says of `day` (a plain date)."""
        if self.daily:
            return f"the day {day.isoformat()}"
        dates = " ".join(one.isoformat() for one in self.dates)
        return f"after {bisect_right(self.dates, day)} of {dates}"

    def union(self, other: Rule) -> Rule:
        """The days on which what both read reads the same."""
        if self.daily or other.daily:
            return DAILY
        return Rule(tuple(sorted({*self.dates, *other.dates})))


DAILY = Rule(daily=True)
# Weak: a service that builds every day for months keeps only the rules still in use.
_SHARED: weakref.WeakValueDictionary[tuple[tuple[dt.date, ...], bool], Rule] = (
    weakref.WeakValueDictionary()
)


def shared(rule: Rule) -> Rule:
    """The one `Rule` equal to `rule` this process has: most files read the day alike, and
    a manifest of 86,000 files then pickles each rule once, not once per file."""
    key = (rule.dates, rule.daily)  # not the rule itself, which would keep it forever
    found = _SHARED.get(key)
    if found is None:
        _SHARED[key] = found = rule
    return found


class _Notes:
    __slots__ = ("daily", "dates")

    def __init__(self) -> None:
        self.dates: set[dt.date] = set()
        self.daily = False

    def rule(self) -> Rule:
        return DAILY if self.daily else Rule(tuple(sorted(self.dates)))


_notes: _Notes | None = None


@contextmanager
def watching() -> Iterator[Callable[[], Rule]]:
    """Note every use of a `Day` made inside; gives a function returning the rule."""
    global _notes  # noqa: PLW0603 - one making watched at a time, per process
    outer, _notes = _notes, _Notes()
    notes = _notes
    try:
        yield notes.rule
    finally:
        _notes = outer
        _read(notes.dates, notes.daily)  # what is watched inside is read outside too


def note(rule: Rule) -> None:
    """Note, in what is being watched, what an earlier making noted (`rule`): what it
    read of the day is read again when its result is taken instead of made again."""
    _read(rule.dates, rule.daily)


def _read(dates: Iterable[dt.date], daily: bool) -> None:
    if _notes is not None:
        _notes.dates.update(dates)
        _notes.daily = _notes.daily or daily


def _daily() -> None:
    if _notes is not None:
        _notes.daily = True


def _compared(day: Day, other: object, op: Callable[[Any, Any], bool]) -> Any:
    if isinstance(other, dt.datetime) or not isinstance(other, dt.date):
        return NotImplemented
    if isinstance(other, Day):  # two readings of the same day: a fixed difference
        return op(day.offset, other.offset)
    if _notes is not None:
        try:
            # the build's day on which `day` is `other`: from there `<` and `>=` answer
            # differently; from the day after, `<=` and `>`; `==` and `!=` on both
            same = plain(other) - dt.timedelta(days=day.offset)
            if op in _FROM_THE_DAY or op in _ON_THE_DAY:
                _notes.dates.add(same)
            if op in _FROM_THE_DAY_AFTER or op in _ON_THE_DAY:
                _notes.dates.add(same + _ONE_DAY)
        except OverflowError:
            _notes.daily = True
    return op(day.value, other)


_ONE_DAY = dt.timedelta(days=1)
_FROM_THE_DAY = (operator.lt, operator.ge)
_FROM_THE_DAY_AFTER = (operator.le, operator.gt)
_ON_THE_DAY = (operator.eq, operator.ne)


class Day(dt.date):
    """The day a build is for (or a fixed number of days from it), watched."""

    offset: int  # days from the build's day
    value: dt.date  # the plain date

    def __new__(cls, today: dt.date, offset: int = 0) -> Day:
        value = plain(today) + dt.timedelta(days=offset)
        self = super().__new__(cls, value.year, value.month, value.day)
        self.offset, self.value = offset, value
        return self

    @property
    def origin(self) -> dt.date:
        """The build's day (self is `offset` days from it)."""
        return self.value - dt.timedelta(days=self.offset)

    # Comparisons note the date compared with.
    def __lt__(self, other: object) -> Any:
        return _compared(self, other, operator.lt)

    def __le__(self, other: object) -> Any:
        return _compared(self, other, operator.le)

    def __gt__(self, other: object) -> Any:
        return _compared(self, other, operator.gt)

    def __ge__(self, other: object) -> Any:
        return _compared(self, other, operator.ge)

    def __eq__(self, other: object) -> Any:
        return _compared(self, other, operator.eq)

    def __ne__(self, other: object) -> Any:
        return _compared(self, other, operator.ne)

    # A day some days on is watched the same way.
    def __add__(self, other: object) -> Any:
        if isinstance(other, dt.timedelta):
            return Day(self.origin, self.offset + other.days)
        return NotImplemented

    __radd__ = __add__

    def __sub__(self, other: object) -> Any:
        if isinstance(other, dt.timedelta):
            return Day(self.origin, self.offset - other.days)
        if isinstance(other, Day):
            return dt.timedelta(days=self.offset - other.offset)
        if isinstance(other, dt.date) and not isinstance(other, dt.datetime):
            _daily()
            return self.value - other
        return NotImplemented

    def __rsub__(self, other: object) -> Any:
        if isinstance(other, dt.date) and not isinstance(other, dt.datetime):
            _daily()
            return other - self.value
        return NotImplemented

    # Anything else reads the day itself.
    def __hash__(self) -> int:
        _daily()
        return hash(self.value)

    @property
    def year(self) -> int:
        _daily()
        return self.value.year

    @property
    def month(self) -> int:
        _daily()
        return self.value.month

    @property
    def day(self) -> int:
        _daily()
        return self.value.day

    def __str__(self) -> str:
        _daily()
        return str(self.value)

    def __repr__(self) -> str:
        _daily()
        return repr(self.value)

    def __format__(self, spec: str) -> str:
        _daily()
        return format(self.value, spec)

    def __reduce__(self) -> Any:
        _daily()
        return (dt.date, (self.value.year, self.value.month, self.value.day))

    def __reduce_ex__(self, protocol: Any) -> Any:
        return self.__reduce__()

    def __getattribute__(self, name: str) -> Any:
        if name in _READING:
            _daily()
            return getattr(object.__getattribute__(self, "value"), name)
        return object.__getattribute__(self, name)


# dt.date's methods that read the day; Day answers them from its plain date, noted.
_READING = frozenset(
    {
        "isoformat", "strftime", "ctime", "timetuple", "toordinal", "weekday", "isoweekday",
        "isocalendar", "replace",
    }
)  # fmt: skip

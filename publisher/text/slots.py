"""Counts of days that change every day ("11 days left", "that is in 3 days"), kept out of
what a build renders and filled in when a file is written.

Rendered outside a build, `days_until` and `days_since` give the words at once. While a
build renders (`held`), they give a slot instead: a mark naming the date counted to or
from, which `fill` turns into the words for the build's day as the file is written. The
page as rendered then reads the same whatever the day, so the next day's build fills the
slots of the page it kept instead of rendering it again (builder/days.py, builder/tasks.py).

A slot is the date between two NUL characters, which nothing else in a page can hold (the
plans' text cannot carry control characters). A file written with a slot left in it is a
bug, and `fill` is the only way a slot leaves the build.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager

from markupsafe import Markup

from publisher.text.words import count

_SLOT = re.compile(rb"\x00(until|since):(\d{4}-\d{2}-\d{2})\x00")
MARK = b"\x00"  # in a file's bytes: it has a slot (or, outside a build, a bug)

_held = False


@contextmanager
def held() -> Iterator[None]:
    """Render slots, not counts, inside (a build filling them as it writes)."""
    global _held  # noqa: PLW0603 - one rendering at a time, per process
    outer, _held = _held, True
    try:
        yield
    finally:
        _held = outer


def _plain(day: dt.date) -> dt.date:
    # dt.date's own method: a build's watched day (builder/days.py) is not read by it
    return dt.date.fromordinal(dt.date.toordinal(day))


def _words(which: str, day: dt.date, today: dt.date) -> str:
    days = (day - today).days if which == "until" else (today - day).days
    return count(max(days, 0), "day")


def days_until(day: dt.date, today: dt.date) -> str:
    """'11 days' from `today` to `day` (none when it has passed): a slot while `held`."""
    if _held:
        return Markup(f"\x00until:{_plain(day).isoformat()}\x00")
    return _words("until", day, today)


def days_since(day: dt.date, today: dt.date) -> str:
    """'11 days' from `day` to `today` (none when it is still to come): a slot while
    `held`."""
    if _held:
        return Markup(f"\x00since:{_plain(day).isoformat()}\x00")
    return _words("since", day, today)


def fill(data: bytes, today: dt.date) -> bytes:
    """`data` with its slots filled in for `today` (a plain date)."""
    if MARK not in data:
        return data
    return _SLOT.sub(
        lambda m: _words(m[1].decode(), dt.date.fromisoformat(m[2].decode()), today).encode(
            "utf-8"
        ),
        data,
    )


def left_in(data: bytes) -> bool:
    """Whether `data` holds a slot: in what is written or kept unfilled, a bug."""
    return MARK in data and _SLOT.search(data) is not None


FILTERS = {"days_until": days_until, "days_since": days_since}

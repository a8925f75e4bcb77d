"""A list's pages and their keys, kept from one build for the next (`formats.base.Paged`).

Knowing which files a list page makes, and each one's key, means putting its current
opportunities in groups and pages: some 40,000 cards shaped like England, every build, even
one where nothing changed. What paging gives (each page's path, key and size) depends only
on the list's members and what it says of itself (`Bundle.key`), on what the site says of
itself (`Whole.said`), on the site-wide inputs (`base`: code, places...) and on the day as
far as paging read it. So a build keeps it, by list, with a digest of all those, and the
next build whose digest is the same takes the pages from there; it pages the list again
only to make one of them.

The same holds for a list's keys besides its own (`Keys`: its feeds', made from its members'
feed items alone, and the OCDS packages'), each made from every member's digest: they are
kept by list too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from functools import partial
from typing import NamedTuple

from publisher.builder import days
from publisher.formats.base import Bundle, Layout, Make, Output, digest

# A list's key besides its own (`formats.base.own_key`), as one build worked it out: its
# own key (`Bundle.key`), then that key
Key = tuple[bytes, bytes]


class Kept(NamedTuple):
    """A list's pages as one build worked them out (a tuple: a manifest holds thousands,
    read back on every build)."""

    key: bytes  # of its members, what it and the site say of themselves, `base`
    rule: days.Rule  # what paging read of the day
    sign: str  # rule.sign(the day it was paged)
    pages: tuple[tuple[str, bytes, int], ...]  # each page's path, key and size


class Memo:
    """Each list's pages, from the last build (`before`) where its key and the day as far
    as paging read it are the same, otherwise paged; `kept` is for the next build."""

    def __init__(
        self, base: bytes, said: str, today: dt.date, before: dict[str, Kept] | None
    ) -> None:
        self.base, self.said, self.today = base, said, today
        self.before = before or {}
        self.kept: dict[str, Kept] = {}
        self.paged: list[str] = []  # the lists paged, by path

    def __call__(self, bundle: Bundle, make: Callable[[], Iterator[Output]]) -> Iterator[Output]:
        key = digest(self.base, bundle.key, self.said)
        known = self.before.get(bundle.path)
        if known is not None and known.key == key and known.rule.sign(self.today) == known.sign:
            days.note(known.rule)  # as if paged again: the day is read as it was then
            self.kept[bundle.path] = known
            again = _Again(make)
            for path, page_key, size in known.pages:
                yield Output(path, page_key, partial(again.page, path), size)
            return
        self.paged.append(bundle.path)
        with days.watching() as read:
            made = list(make())
        rule = days.shared(read())
        pages = tuple((one.path, one.key, one.size) for one in made)
        self.kept[bundle.path] = Kept(key, rule, rule.sign(self.today), pages)
        yield from made


class _Again:
    """A list paged again, once, when one of its pages is to be made after all."""

    def __init__(self, make: Callable[[], Iterator[Output]]) -> None:
        self.make = make
        self.made: dict[str, Make] | None = None

    def page(self, path: str) -> bytes | str | Layout:
        if self.made is None:
            self.made = {one.path: one.make for one in self.make()}
        return self.made[path]()


class Keys:
    """A list's keys besides its own (`formats.base.Keyed`), each made from its members'
    digests sorted (630,000 members in England's lists: about a quarter of a second, in
    the one process, on every build): from the last build (`before`) where the list's own
    key is the same (they are made from what it is made from), otherwise worked out;
    `kept` is for the next build."""

    def __init__(self, before: dict[str, Key] | None) -> None:
        self.before = before or {}
        self.kept: dict[str, Key] = {}

    def __call__(self, name: str, bundle: Bundle, make: Callable[[], bytes]) -> bytes:
        at = f"{bundle.path} {name}"
        known = self.before.get(at)
        key = known[1] if known is not None and known[0] == bundle.key else make()
        self.kept[at] = (bundle.key, key)
        return key

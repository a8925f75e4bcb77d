"""The files made from many opportunities at once, put together from their parts: the home
page, each list page with its RSS, Atom, iCalendar and JSON, the feeds of everything and the
site-wide OCDS packages. The URLs are a public contract.

Each file comes with a key: a digest of everything it is made from (its members' digests in
order, and what it says of itself). A build whose key for a file is the same as last time
links last time's file instead of making it again.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import chain
from operator import attrgetter
from typing import overload

from publisher.build.cache import digest
from publisher.build.parts import CARD_TOP, FEED, ICS, JSON, OCDS, Kept, fragment
from publisher.build.splice import Layout
from publisher.formats import calendar, data, feeds, ocds, pages
from publisher.model.views import Listing, Scope, SiteData

# How to make a file: its bytes, or for the big ones a layout the next build can splice.
Make = Callable[[], bytes | str | Layout]


@dataclass(frozen=True)
class Output:
    path: str
    key: bytes
    make: Make
    size: int  # how many opportunities it carries: the largest are made first


@dataclass(frozen=True)
class Bundle(Scope):
    """A collection as kept parts: everything, or one list page's."""

    listing: Listing | None
    members: list[Kept]


def bundles(site: SiteData, parts: list[Kept]) -> list[Bundle]:
    """'all' and one per list page, each with its members in list order."""
    by_path: dict[str, list[Kept]] = {}
    for one in parts:
        for path in one.listed_on:
            by_path.setdefault(path, []).append(one)
    return [Bundle(None, parts)] + [Bundle(x, by_path.get(x.path, [])) for x in site.listings]


_digest_of = attrgetter("digest")


class Fragments(Sequence[memoryview]):
    """The fragments of `members` of one kind, read from the stores only when asked for:
    a file spliced from the last one asks only for its changed members'."""

    def __init__(self, members: Sequence[Kept], which: int) -> None:
        self.members, self.which = members, which

    def __len__(self) -> int:
        return len(self.members)

    @overload
    def __getitem__(self, index: int) -> memoryview: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[memoryview]: ...
    def __getitem__(self, index: int | slice) -> memoryview | Sequence[memoryview]:
        if isinstance(index, slice):
            return Fragments(self.members[index], self.which)
        return fragment(self.members[index], self.which)


class FeedOrder:
    """Every feed item of the site in feed order, worked out once (per process) when a
    feed is made: a feed's newest items are then its members' smallest positions."""

    def __init__(self, parts: list[Kept]) -> None:
        self.parts = parts
        self.found: list[tuple[Kept, int]] = []  # by position: the member and its item
        self.positions: dict[int, list[int]] = {}  # by id(member)

    def newest(self, members: Sequence[Kept]) -> list[feeds.Made]:
        if not self.found:
            ranked = sorted(
                (one.rank, index, n)
                for index, member in enumerate(self.parts)
                for n, one in enumerate(member.feed)
            )
            for position, (_, index, n) in enumerate(ranked):
                member = self.parts[index]
                self.found.append((member, n))
                self.positions.setdefault(id(member), []).append(position)
        chosen = heapq.nsmallest(
            feeds.FEED_ITEMS,
            chain.from_iterable(self.positions.get(id(m), ()) for m in members),
        )
        return [
            replace(m.feed[n], rss=fragment(m, FEED, n), atom=fragment(m, FEED + 1, n))
            for m, n in (self.found[position] for position in chosen)
        ]


def outputs(site: SiteData, parts: list[Kept]) -> Iterator[Output]:
    """Every file made from many opportunities, with its key. `site` holds every
    commissioner and no views; `parts` are every opportunity's, in list order."""
    every = b"".join(map(_digest_of, parts))
    said = repr([(c.id, c.name) for c in site.commissioners]) + repr(site.listings)
    counts = pages.counts_of((one.current, one.listed_on) for one in parts)
    order = FeedOrder(parts)

    def index() -> Layout:
        shown = [one for one in parts if one.current]
        html = pages.index_page(site, [one.card for one in shown], counts, bool(parts), True)
        return _cards(html, shown, "index.html")

    yield Output("index.html", digest("index.html", said, every), index, len(parts))
    yield Output("glossary.html", digest("glossary.html"), lambda: pages.glossary(site), 0)
    for name, content in pages.STATIC.items():
        yield Output(f"static/{name}", digest(name), lambda content=content: content, 0)  # type: ignore[misc]
    for bundle in bundles(site, parts):
        yield from _collection(site, bundle, bool(parts), order)
    yield from _packages(site, parts, every)


def _collection(
    site: SiteData, bundle: Bundle, packaged: bool, order: FeedOrder
) -> Iterator[Output]:
    members = bundle.members
    stem = bundle.path
    own = ""
    listing = bundle.listing
    if listing is not None and listing.kind == "commissioner":
        packaged = bool(members)  # its own package, which it has when it has opportunities
        own = repr(next((c for c in site.commissioners if c.id == listing.slug), None))
    digests = b"".join(map(_digest_of, members))
    key = digest(stem, repr(listing), own, repr(packaged), digests)
    size = len(members)

    def items() -> list[feeds.Made]:
        return order.newest(members)

    def page() -> Layout:
        shown = [m for m in members if m.current]
        settled = [m.card for m in members if not m.current]
        html = pages.listing_page(
            site, bundle, [m.card for m in shown], settled, packaged, framed=True
        )
        return _cards(html, shown, f"{stem}.html")

    def ics() -> Layout:
        head, tail = calendar.frame(site, bundle, [m.years for m in members])
        return Layout(head, digests, Fragments(members, ICS), b"", tail)

    def json() -> Layout:
        head, sep, tail = data.frame(site, bundle, bool(members))
        return Layout(head, digests, Fragments(members, JSON), sep, tail)

    if listing is not None:
        yield Output(f"{stem}.html", key, page, size)
    yield Output(f"{stem}.rss", key, lambda: feeds.feed(site, bundle, items(), atom=False), size)
    yield Output(f"{stem}.atom", key, lambda: feeds.feed(site, bundle, items(), atom=True), size)
    yield Output(f"{stem}.ics", key, ics, size)
    yield Output(f"{stem}.json", key, json, size)


def _cards(html: str, shown: list[Kept], page: str) -> Layout:
    """A list page as a layout: the cards of `shown` between what the template wrote
    before and after them."""
    head, tail = pages.frame(html)
    depth = page.count("/")
    assert depth < 2, "cards are kept as seen from the top folder and one folder down"
    return Layout(
        head, b"".join(map(_digest_of, shown)), Fragments(shown, CARD_TOP + depth), b"", tail
    )


def releases(parts: Sequence[Kept]) -> list[ocds.Made]:
    """Every release of `parts`, in package order."""
    made = [one for member in parts for one in member.ocds]
    made.sort(key=lambda one: one.order)
    return made


def release_package(site: SiteData, parts: Sequence[Kept]) -> Layout:
    """The package of every release: each opportunity's releases together (its ocid comes
    first in package order), so the next build can splice it."""
    head, sep, tail = ocds.package_frame(site, ocds.RELEASES)
    kept = sorted((m for m in parts if m.ocds), key=lambda m: m.ocds[0].order)
    return Layout(head, b"".join(map(_digest_of, kept)), Fragments(kept, OCDS), sep, tail)


def _packages(site: SiteData, parts: list[Kept], every: bytes) -> Iterator[Output]:
    """The OCDS extension, and the packages of everything (a package must have at least one
    release: with no opportunities there are none). Each commissioner's own package is
    written with its plan file's other files."""
    for name in ocds.EXTENSION_FILES:
        path = f"{ocds.EXTENSION}/{name}"
        yield Output(path, digest(path), lambda name=name: ocds.extension_file(site, name), 0)  # type: ignore[misc]
    if not parts:
        return
    key = digest("ocds", every)
    size = len(parts)
    yield Output(
        ocds.RELEASES,
        key,
        lambda: release_package(site, parts),
        size,
    )
    yield Output(ocds.RECORDS, key, lambda: ocds.record_package_text(site, releases(parts)), size)

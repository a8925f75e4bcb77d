"""The one interface between the build engine and the output formats.

A format is one module (pages, feeds, calendar, data, ocds, csv) with one `Format` object,
listed once in registry.py. The engine asks each format four things, and knows nothing
else about it:

- `part(site, view)`: what the format keeps of one opportunity: small facts, read back
  whole by the next build, and fragments (bytes), read only where a file needs them;
- `view_files(site, view)`: the files of one opportunity (its notice), made again only
  when it reads differently;
- `plan_files(site, commissioner, views)`: the other files written with a plan file (a
  transparency page, a commissioner's package), made again only when the file changes;
- `outputs(whole, shelf)`: the files made from many opportunities (lists, feeds,
  calendars, packages), each with a key: the engine links last build's file when the key
  is the same, and otherwise calls `make`. A big file is made as a `Layout` (a head, each
  member's fragment, a tail) so that the next build can splice it.

`shelf` is the format's view of what the engine keeps of each opportunity: its own facts,
fragments and memo, whichever process and whichever build made them.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar, overload

from publisher.model.views import CommissionerView, Listing, OpportunityView, Scope, SiteData

T = TypeVar("T")


@dataclass(frozen=True)
class Layout:
    """A file made of a head, each member's fragment (with its digest) joined by `sep`,
    and a tail."""

    head: bytes
    digests: bytes  # each member's, 16 bytes each, in file order
    members: Sequence[bytes | memoryview]  # their fragments
    sep: bytes
    tail: bytes

    def whole(self) -> bytes:
        return b"".join([self.head, self.sep.join(self.members), self.tail])


class Lazily(Sequence[T]):
    """`make(item)` for each of `items`, made only when asked for: a big file spliced from
    the last one asks only for its changed members' pieces."""

    def __init__(self, items: Sequence[Any], make: Callable[[Any], T]) -> None:
        self.items, self.make = items, make

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[T]: ...
    def __getitem__(self, index: int | slice) -> T | Sequence[T]:
        if isinstance(index, slice):
            return Lazily(self.items[index], self.make)
        return self.make(self.items[index])


# How to make a file: its bytes or text, or for the big ones a layout the next build splices.
Make = Callable[[], bytes | str | Layout]


@dataclass(frozen=True)
class Output:
    """A file made from many opportunities."""

    path: str  # its site path: 'place/leeds.rss'
    key: bytes  # a digest of everything it is made from
    make: Make
    size: int  # how many opportunities it carries: the largest are made first


def digest(*parts: bytes | str) -> bytes:
    """16 bytes naming what `parts` are (the build's keys and members' digests)."""
    made = hashlib.blake2b(digest_size=16)
    for part in parts:
        made.update(part.encode("utf-8") if isinstance(part, str) else part)
        made.update(b"\0")
    return made.digest()


def digest_after(*parts: bytes | str) -> Callable[..., bytes]:
    """`digest` of `parts` and then of what the function returned is given, `parts`
    hashed once (a build keys 65,000 files after the same site-wide digest)."""
    start = hashlib.blake2b(digest_size=16)
    for part in parts:
        start.update(part.encode("utf-8") if isinstance(part, str) else part)
        start.update(b"\0")

    def then(*more: bytes | str) -> bytes:
        made = start.copy()
        for part in more:
            made.update(part.encode("utf-8") if isinstance(part, str) else part)
            made.update(b"\0")
        return made.digest()

    return then


@dataclass(frozen=True)
class Part:
    """What one format keeps of one opportunity."""

    facts: Any = None  # small and picklable; what it says of itself (without its bytes)
    fragments: tuple[bytes | memoryview, ...] = ()  # its pieces of the big files
    memo: str = ""  # what the next build that renders its plan file again needs to know


class Member(Protocol):
    """An opportunity as the engine keeps it between builds."""

    @property
    def uid(self) -> str: ...
    @property
    def commissioner(self) -> str: ...  # its commissioner's id
    @property
    def sort_key(self) -> tuple[int, int, int, str]: ...  # list order
    @property
    def current(self) -> bool: ...  # on the lists (not awarded, cancelled or withdrawn)
    @property
    def listed_on(self) -> tuple[str, ...]: ...  # list pages: 'place/leeds', ...
    @property
    def digest(self) -> bytes: ...  # of every format's part: when it changes, so do files


class Shelf(Protocol):
    """One format's parts of the opportunities, as kept."""

    def facts(self, member: Member) -> Any: ...
    def fragment(self, member: Member, which: int = 0) -> memoryview: ...
    def fragments(self, members: Sequence[Member], which: int = 0) -> Sequence[memoryview]:
        """Fragment `which` of each of `members`, read only when asked for: a file spliced
        from the last one asks only for its changed members'."""
        ...

    def memo(self, member: Member) -> str: ...
    def digests(self, members: Sequence[Member]) -> Iterator[bytes]:
        """What this format keeps of each of `members`, named (`own_key`)."""
        ...


@dataclass(frozen=True)
class Bundle(Scope):
    """A collection as kept members: everything, or one list page's."""

    listing: Listing | None
    members: Sequence[Member]
    key: bytes  # what its files are made from: its members, and what it says of itself
    packaged: bool  # whether the OCDS package its page links to exists
    about: bytes = b""  # what it says of itself (`key` without its members)


Paged = Callable[[Bundle, Callable[[], Iterator[Output]]], Iterator[Output]]
# A key of a bundle's, named, and how to work it out: `own_key` for one format
Keyed = Callable[[str, Bundle, Callable[[], bytes]], bytes]


@dataclass(frozen=True)
class Whole:
    """Everything the files made from many opportunities are made from."""

    site: SiteData  # every commissioner, no views
    members: list[Member]  # every opportunity's, in list order
    every: bytes  # their digests, joined
    # a digest of what the site says of itself on its home page: commissioners and lists
    # (in every list page's key: the whole text, 200 KB shaped like England, hashed once)
    said: str
    bundles: list[Bundle]  # 'all', then one per list page
    # how a list's pages are had: by paging it (`make`), or, where the engine kept them from
    # a build whose list had the same members, from what it kept (builder/paged.py)
    paged: Paged = field(default=lambda _bundle, make: make())
    # how a list's keys besides its own are had (`own_key`: its members' digests sorted):
    # worked out, or, where the engine kept one from a build whose list had the same
    # members, taken from there (builder/paged.py)
    keyed: Keyed = field(default=lambda _name, _bundle, make: make())


_digest_of: Callable[[Member], bytes] = operator.attrgetter("digest")  # 600,000 calls a build


def whole(site: SiteData, members: list[Member]) -> Whole:
    """`members` (in list order) with their collections, each keyed."""
    every = b"".join(map(_digest_of, members))
    by_path: dict[str, list[Member]] = {}
    for one in members:
        for path in one.listed_on:
            by_path.setdefault(path, []).append(one)
    bundles = [_bundle(site, None, members, bool(members))]
    for listing in site.listings:
        bundles.append(_bundle(site, listing, by_path.get(listing.path, []), bool(members)))
    said = digest(repr([(c.id, c.name) for c in site.commissioners]), repr(site.listings))
    return Whole(site, members, every, said.hex(), bundles)


def _bundle(
    site: SiteData, listing: Listing | None, members: list[Member], packaged: bool
) -> Bundle:
    own = ""
    if listing is not None and listing.kind == "commissioner":
        packaged = bool(members)  # its own package, which it has when it has opportunities
        own = repr(next((c for c in site.commissioners if c.id == listing.slug), None))
    stem = listing.path if listing is not None else "all"
    about = digest(stem, repr(listing), own, repr(packaged))
    key = digest(about, b"".join(map(_digest_of, members)))
    return Bundle(listing, members, key, packaged, about)


def own_key(bundle: Bundle, shelf: Shelf, in_order: bool = True) -> bytes:
    """The key of a bundle's file that reads, of its members, only what this format keeps
    of each (facts and fragments) and, `in_order`, their order: an opportunity that changed
    in nothing the file says (a closing date passing changes its data, not its feed items)
    does not make the file again."""
    digests = shelf.digests(bundle.members)
    return digest(bundle.about, b"".join(digests if in_order else sorted(digests)))


class Format:
    """An output kind. Subclasses override what they make; the defaults make nothing."""

    name: ClassVar[str]  # short and unique: 'html', 'feeds', 'ics', 'json', 'ocds', 'csv'

    def part(self, site: SiteData, view: OpportunityView) -> Part:
        return Part()

    def view_files(
        self, site: SiteData, view: OpportunityView
    ) -> Iterator[tuple[str, bytes | str]]:
        """The files of one opportunity alone: they read nothing of the others."""
        return iter(())

    def plan_files(
        self, site: SiteData, commissioner: CommissionerView | None, views: list[OpportunityView]
    ) -> Iterator[tuple[str, bytes | str]]:
        """The other files written with one plan file: `views` are its opportunities, with those
        taken out of it since (a commissioner of None: taken out of a plan file that is
        itself gone)."""
        return iter(())

    def outputs(self, whole: Whole, shelf: Shelf) -> Iterator[Output]:
        return iter(())

    def recall(
        self, site: SiteData, last: Sequence[Member] | None, shelf: Shelf, out: Path
    ) -> None:
        """Before plan files are rendered again: take what the last build kept (`last`,
        None when there is no cache and `out` is the last site as published)."""

"""What every format's files carry of one opportunity (`formats.base.Part`), made once per
build from its view, and kept for the next.

Parts are text and bytes, not pydantic models. A build keeps them between builds in two
pieces (`keep`): the small facts (`Kept`), read back in full, and the fragments, one blob per
plan file, read only where a file needs them, through a memory map (`Shelf`). So the
next build neither reads nor copies hundreds of megabytes it does not write, and forked
workers share the fragments without copying them.
"""

from __future__ import annotations

import hashlib
import mmap
import sys
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import partial
from operator import attrgetter, itemgetter
from pathlib import Path

from publisher.formats.base import Lazily, Member, Part
from publisher.formats.registry import FORMATS
from publisher.model.views import OpportunityView, SiteData, listed_on


@dataclass(frozen=True)  # no slots: pickled without dataclasses' slow __setstate__
class Parts:
    """One opportunity as every format's collections carry it."""

    uid: str
    commissioner: str  # its commissioner's id
    sort_key: tuple[int, int, int, str]  # list order
    current: bool  # shown on the lists (not awarded, cancelled or withdrawn)
    listed_on: tuple[str, ...]  # the list pages that carry it: 'place/leeds', ...
    made: tuple[Part, ...]  # each format's, in FORMATS order
    digest: bytes  # of everything above: when it changes, so do the files carrying it
    digests: tuple[bytes, ...]  # of each format's part alone (`Shelf.digests`)


def of(site: SiteData, view: OpportunityView) -> Parts:
    """The opportunity's parts, each format's made once per site and view."""
    made = tuple(one.part(site, view) for one in FORMATS)
    sort_key = view.sort_key()
    # one string for each list: an entry then keeps each once, not once per opportunity
    # (15 MB of 57 at 20,000 opportunities, a quarter of the time to read them back)
    lists = tuple(map(sys.intern, listed_on(view)))
    digests = tuple(_digest_of(part) for part in made)
    digest = hashlib.blake2b(digest_size=16)
    for text in (view.uid, repr(sort_key), repr(view.is_current), " ".join(lists)):
        digest.update(text.encode("utf-8"))
        digest.update(b"\0")
    for own in digests:
        digest.update(own)
    return Parts(
        view.uid,
        view.commissioner.id,
        sort_key,
        view.is_current,
        lists,
        made,
        digest.digest(),
        digests,
    )


def _digest_of(part: Part) -> bytes:
    """What one format keeps of an opportunity, named: its facts and its fragments."""
    digest = hashlib.blake2b(repr(part.facts).encode("utf-8"), digest_size=16)
    for piece in part.fragments:
        digest.update(b"\0")
        digest.update(piece)
    return digest.digest()


@dataclass(frozen=True)
class Kept:
    """An opportunity's parts as a build keeps them: the facts here, the fragments in the
    store of its plan file (see `Shelf.fragment`). It is a `formats.base.Member`."""

    uid: str
    commissioner: str
    sort_key: tuple[int, int, int, str]
    current: bool
    listed_on: tuple[str, ...]
    digest: bytes
    digests: tuple[bytes, ...]  # each format's part's, in FORMATS order
    facts: tuple[object, ...]  # each format's, in FORMATS order
    memos: tuple[str, ...]  # each format's
    store: str  # the store's name
    first: tuple[int, ...]  # each format's first fragment's place among the store's
    last: int = 0  # the place after its last fragment's


def keep(made: Sequence[Parts | Kept], store: str) -> tuple[list[Kept], bytes, bytes]:
    """Parts as kept in `store`: their facts, and their fragments as one blob with the
    bounds of each fragment (array('Q'), one more than there are fragments). Parts kept
    before (`Kept`, their stores open) are kept again with their fragments copied."""
    pieces: list[bytes | memoryview] = []
    bounds = array("Q", [0])
    kept = []
    for one in made:
        if isinstance(one, Kept):
            kept.append(_again(one, store, pieces, bounds))
            continue
        first = []
        for part in one.made:
            first.append(len(pieces))
            for piece in part.fragments:
                pieces.append(piece)
                bounds.append(bounds[-1] + len(piece))
        kept.append(
            Kept(
                uid=one.uid,
                commissioner=one.commissioner,
                sort_key=one.sort_key,
                current=one.current,
                listed_on=one.listed_on,
                digest=one.digest,
                digests=one.digests,
                facts=tuple(part.facts for part in one.made),
                memos=tuple(part.memo for part in one.made),
                store=store,
                first=tuple(first),
                last=len(pieces),
            )
        )
    return kept, b"".join(pieces), bounds.tobytes()


def _again(one: Kept, store: str, pieces: list[bytes | memoryview], bounds: array[int]) -> Kept:
    """`one`, kept before, kept again at the end of `pieces`."""
    blob, old = _STORES[one.store]
    start = len(pieces)
    for at in range(one.first[0], one.last):
        piece = blob[old[at] : old[at + 1]]
        pieces.append(piece)
        bounds.append(bounds[-1] + len(piece))
    moved = start - one.first[0]
    return replace(
        one, store=store, first=tuple(at + moved for at in one.first), last=one.last + moved
    )


# Open stores, by name: their bytes (usually a memory map of a file) and bounds.
_STORES: dict[str, tuple[memoryview, array[int]]] = {}


def register(name: str, blob: bytes | memoryview, bounds: bytes) -> None:
    found = array("Q")
    found.frombytes(bounds)
    _STORES[name] = (memoryview(blob), found)


def open_store(name: str, path: Path, bounds: bytes) -> bool:
    """Map the store file at `path`; False when it is missing or not the size expected."""
    try:
        with path.open("rb") as file:
            size = file.seek(0, 2)
            blob: bytes | mmap.mmap = (
                mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
            )
    except (OSError, ValueError):
        return False
    found = array("Q")
    found.frombytes(bounds)
    if not found or found[-1] != size:
        return False
    _STORES[name] = (memoryview(blob), found)
    return True


class Shelf:
    """One format's parts of kept opportunities (a `formats.base.Shelf`). Its members are
    always `Kept`: the engine makes them, and hands them to formats as `Member`s."""

    def __init__(self, index: int) -> None:
        self.index = index  # the format's place in FORMATS
        self._own = itemgetter(index)

    def facts(self, member: Member) -> object:
        return member.facts[self.index]  # type: ignore[attr-defined]

    def memo(self, member: Member) -> str:
        found: str = member.memos[self.index]  # type: ignore[attr-defined]
        return found

    def digests(self, members: Sequence[Member]) -> Iterator[bytes]:
        # no step of Python per member: the lists of England carry 630,000 in all
        return map(self._own, map(_DIGESTS, members))

    def fragment(self, member: Member, which: int = 0) -> memoryview:
        kept: Kept = member  # type: ignore[assignment]
        blob, bounds = _STORES[kept.store]
        at = kept.first[self.index] + which
        return blob[bounds[at] : bounds[at + 1]]

    def fragments(self, members: Sequence[Member], which: int = 0) -> Sequence[memoryview]:
        """Fragment `which` of each of `members`, read from the stores only when asked for."""
        return Lazily(members, partial(self.fragment, which=which))


_DIGESTS = attrgetter("digests")
SHELVES = tuple(Shelf(index) for index in range(len(FORMATS)))

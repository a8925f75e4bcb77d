"""What the lists, feeds, calendars, data files and OCDS packages carry of one opportunity,
made once per build from its view.

Parts are text and bytes, not pydantic models. A build keeps them between builds in two
pieces (`keep`): the small facts (`Kept`), read back in full, and the fragments, one blob per
plan file, read only where a file needs them, through a memory map (`fragment`). So the
next build neither reads nor copies hundreds of megabytes it does not write, and forked
workers share the fragments without copying them.
"""

from __future__ import annotations

import hashlib
import json as json_module
import mmap
from array import array
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from publisher.formats import calendar, data, feeds, ocds, pages
from publisher.model.views import OpportunityView, SiteData, listed_on


@dataclass(frozen=True)  # no slots: pickled without dataclasses' slow __setstate__
class Parts:
    """One opportunity as every collection that carries it shows it."""

    uid: str
    commissioner: str  # its commissioner's id
    sort_key: tuple[int, int, int, str]  # list order
    current: bool  # shown on the lists (not awarded, cancelled or withdrawn)
    listed_on: tuple[str, ...]  # the list pages that carry it: 'place/leeds', ...
    card: pages.Card
    cards: tuple[bytes, bytes]  # the card's HTML as seen from the top folder and one down
    feed: tuple[feeds.Made, ...]  # its own item, then one per announced change
    ics: calendar.Serialised  # without its SEQUENCE numbers: those are in `sequences`
    json: bytes
    ocds: tuple[ocds.Made, ...]
    digest: bytes  # of everything above: when it changes, so do the files carrying it
    # its events' UID, fingerprint and SEQUENCE, as JSON: one string, read only by a build
    # that renders a plan file again, to know when a date moved
    sequences: str = "[]"


def of(site: SiteData, view: OpportunityView) -> Parts:
    """The opportunity's parts, each made once per site and view (see feeds.per_view)."""
    card = pages.card(site, view)
    feed = feeds.per_view(site, view, "feed", lambda: feeds.made(site, view))
    ics = feeds.per_view(site, view, "ics", lambda: calendar.fragment(site, view))
    json = feeds.per_view(site, view, "json", lambda: data.fragment(site, view))
    releases = feeds.per_view(site, view, "ocds", lambda: ocds.fragment(site, view))
    sort_key = view.sort_key()
    lists = listed_on(view)
    digest = hashlib.blake2b(digest_size=16)
    for text in (
        view.uid,
        repr(sort_key),
        repr(view.is_current),
        " ".join(lists),
        card.url,
        card.title,
        card.status_words,
        card.html,
        repr(ics.years),
        *(f"{one.id} {one.updated.isoformat()}" for one in feed),
        *(f"{one.ocid} {one.date} {one.id} {one.tag} {one.text}" for one in releases),
    ):
        digest.update(text.encode("utf-8"))
        digest.update(b"\0")
    for raw in (*(piece for one in feed for piece in (one.rss, one.atom)), ics.ical, json):
        digest.update(raw)
        digest.update(b"\0")
    return Parts(
        uid=view.uid,
        commissioner=view.commissioner.id,
        sort_key=sort_key,
        current=view.is_current,
        listed_on=lists,
        card=card,
        cards=(
            pages.card_at(card, "index.html").encode("utf-8"),
            pages.card_at(card, "place/x.html").encode("utf-8"),
        ),
        feed=feed,
        ics=calendar.Serialised(ics.ical, ics.years),
        json=json,
        ocds=releases,
        digest=digest.digest(),
        sequences=json_module.dumps([[uid, p, n] for uid, (p, n) in ics.sequences]),
    )


# The order of an opportunity's fragments in its store: its card as seen from the top folder
# and from one folder down, its calendar events, its JSON record, its OCDS releases (joined
# by commas, in package order), then each feed item's RSS and Atom.
CARD_TOP, CARD_BELOW, ICS, JSON, OCDS, FEED = range(6)


@dataclass(frozen=True)
class Kept:
    """An opportunity's parts as a build keeps them: the facts here, the fragments in the
    store of its plan file (see `fragment`)."""

    uid: str
    commissioner: str
    sort_key: tuple[int, int, int, str]
    current: bool
    listed_on: tuple[str, ...]
    card: pages.Card  # without its HTML: the store has it, at each depth
    years: tuple[int, ...]  # of its events' times of day
    feed: tuple[feeds.Made, ...]  # without their XML
    ocds: tuple[ocds.Made, ...]  # without their text
    digest: bytes
    sequences: str
    store: str  # the store's name
    first: int  # its first fragment's place among the store's

    def sequence_map(self) -> dict[str, tuple[str, int]]:
        return {uid: (print_, number) for uid, print_, number in json_module.loads(self.sequences)}


def keep(made: list[Parts], store: str) -> tuple[list[Kept], bytes, bytes]:
    """Parts as kept: their facts, and their fragments as one blob with the bounds of each
    fragment (array('Q'), one more than there are fragments)."""
    pieces: list[bytes | memoryview] = []
    bounds = array("Q", [0])
    kept = []
    for one in made:
        first = len(pieces)
        releases = sorted(one.ocds, key=lambda release: release.order)
        found: list[bytes | memoryview] = [
            *one.cards,
            one.ics.ical,
            one.json,
            b",".join(r.text.encode() for r in releases),
        ]
        for item in one.feed:
            found += [item.rss, item.atom]
        for piece in found:
            pieces.append(piece)
            bounds.append(bounds[-1] + len(piece))
        kept.append(
            Kept(
                uid=one.uid,
                commissioner=one.commissioner,
                sort_key=one.sort_key,
                current=one.current,
                listed_on=one.listed_on,
                card=replace(one.card, html=""),
                years=one.ics.years,
                feed=tuple(replace(item, rss=b"", atom=b"") for item in one.feed),
                ocds=tuple(replace(release, text="") for release in releases),
                digest=one.digest,
                sequences=one.sequences,
                store=store,
                first=first,
            )
        )
    return kept, b"".join(pieces), bounds.tobytes()


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


def fragment(kept: Kept, which: int, item: int = 0) -> memoryview:
    """One of an opportunity's fragments (for FEED, the `item`th item's RSS; its Atom is
    FEED + 1 of the same item)."""
    blob, bounds = _STORES[kept.store]
    at = kept.first + which + 2 * item
    return blob[bounds[at] : bounds[at + 1]]


class Sequences(Mapping[str, tuple[str, int]]):
    """Each calendar event's fingerprint and SEQUENCE in the last site, by event UID, read
    from the kept parts of its opportunity only when asked for: a build that renders one
    plan file again asks for that file's events alone."""

    def __init__(self, kept: Iterable[Kept]) -> None:
        self.kept = {one.uid: one for one in kept}
        self.read: dict[str, dict[str, tuple[str, int]]] = {}

    def _of(self, uid: str) -> dict[str, tuple[str, int]]:
        # An event's UID starts with its opportunity's: 'commissioner/id/field@host'.
        owner = "/".join(uid.split("/", 2)[:2])
        found = self.read.get(owner)
        if found is None:
            one = self.kept.get(owner)
            found = self.read[owner] = one.sequence_map() if one is not None else {}
        return found

    def __getitem__(self, uid: str) -> tuple[str, int]:
        return self._of(uid)[uid]

    def __iter__(self) -> Iterator[str]:
        for owner in self.kept:
            yield from self._of(owner + "/")

    def __len__(self) -> int:
        return sum(1 for _ in self)

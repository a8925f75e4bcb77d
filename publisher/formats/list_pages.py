"""The pages that list opportunities a page at a time: each group of the home page
('open.html', then 'open/page-2.html'...) and each list page ('place/leeds.html', then
'place/leeds/page-2.html'...), each page keyed by its own cards, so that a change makes
again only the page that holds it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from publisher.formats.base import Bundle, Member, Output, Shelf, Whole, digest
from publisher.formats.cards import (
    Card,
    Filler,
    Pager,
    Section,
    filled,
    left_out,
    overview,
    page_path,
    paginate,
)
from publisher.formats.page_context import GROUPS, place_group
from publisher.formats.page_render import card, render
from publisher.model.views import Collection, CommissionerView, Listing, Scope, SiteData


def when_of(card: Card) -> str:
    """Which group of the home page a card is in: 'open', 'soon' or 'later'."""
    return card.group


WHEN = [(key, "") for key in GROUPS]

# Awarded, cancelled or withdrawn opportunities a list page names under its cards, on its
# last page: the first few in list order; its spreadsheet and the transparency pages have
# every one.
SETTLED_SHOWN = 10


def _filled(page: Sequence[Section], fill: Filler) -> list[Section]:
    # Made directly: dataclasses.replace looks up every field, section after section.
    return [
        Section(s.key, s.name, [fill(c) for c in s.cards], s.total, s.more, s.start, s.continued)
        for s in page
    ]


def _pager(stem: str, pages: Sequence[object], number: int) -> Pager:
    return Pager(number, _addresses(stem, pages))


def _addresses(stem: str, pages: Sequence[object]) -> list[str]:
    return [page_path(stem, n) for n in range(1, len(pages) + 1)]


@dataclass(frozen=True)
class Across:
    """What every page of one list shows of the whole list, worked out once per list
    rather than on each of its (up to 50) pages: each group as it starts, how many cards
    are past its last page, every page's address, and its commissioner."""

    groups: list[Section]
    left_out: int
    addresses: list[str]
    commissioner: CommissionerView | None


def across(site: SiteData, collection: Scope, pages: Sequence[Sequence[Section]]) -> Across:
    """What the pages of the list `collection` (in `pages`) show of the whole list."""
    shown = collection.listing
    assert shown is not None, "'all' is the index page"
    return Across(
        overview(pages),
        left_out(pages),
        _addresses(collection.path, pages),
        commissioner_of(site, shown),
    )


def when_paged(group: str, current: Sequence[Card]) -> list[list[Section]]:
    """The pages of one group of the home page ('open.html', then 'open/page-2.html'...)."""
    return paginate([one for one in current if one.group == group], [(group, "")], when_of)


def when_page(
    site: SiteData,
    group: str,
    pages: Sequence[Sequence[Section]],
    number: int,
    fill: Filler = filled,
) -> str:
    """Page `number` of every current opportunity in one group: 'open.html'..."""
    pager = _pager(group, pages, number)
    return render(
        "when.html",
        site,
        pager.address(number),
        group=group,
        sections=_filled(pages[number - 1], fill),
        pager=pager,
        left_out=left_out(pages),
    )


def whens(site: SiteData) -> Iterator[tuple[str, str]]:
    current = [card(site, v) for v in site.opportunities if v.is_current]
    for group in GROUPS:
        pages = when_paged(group, current)
        for number in range(1, len(pages) + 1):
            yield page_path(group, number), when_page(site, group, pages, number)


def listing(site: SiteData, collection: Collection) -> Iterator[tuple[str, str]]:
    """Every page of a list: 'place/leeds.html', then 'place/leeds/page-2.html'..."""
    members = collection.members
    listing = collection.listing
    assert listing is not None, "'all' is the index page"
    packaged = bool(members) if listing.kind == "commissioner" else bool(site.opportunities)
    current = [card(site, v) for v in members if v.is_current]
    settled = [card(site, v) for v in members if not v.is_current]
    pages = listing_paged(site, listing, current)
    whole = across(site, collection, pages)
    for number in range(1, len(pages) + 1):
        yield (
            page_path(collection.path, number),
            listing_page(site, collection, pages, number, settled, packaged, whole_list=whole),
        )


def listing_paged(site: SiteData, shown: Listing, current: Sequence[Card]) -> list[list[Section]]:
    """A list page's current opportunities in groups and pages: a place's by how far they
    reach (in the place, across each wider place), any other list's as the home page
    groups them."""
    if shown.kind != "place":
        return paginate(current, WHEN, when_of)
    places = site.places
    wider = [(slug, places.name(slug)) for slug in places.chain(shown.slug)[1:]]
    # Most cards of a list share their places with others (a system's list has thousands
    # of cards and a few hundred sets of places): each set's group is worked out once.
    groups: dict[tuple[str, ...], str] = {}

    def key_of(one: Card) -> str:
        found = groups.get(one.places)
        if found is None:
            found = groups[one.places] = place_group(one.places, shown.slug, places)
        return found

    return paginate(current, [("in", shown.name), *wider], key_of)


def commissioner_of(site: SiteData, shown: Listing) -> CommissionerView | None:
    """The commissioner whose list `shown` is (only a commissioner's list has one: the
    others are not looked for among some 300 commissioners, page after page)."""
    if shown.kind != "commissioner":
        return None
    return next((c for c in site.commissioners if c.listing == shown), None)


def listing_page(
    site: SiteData,
    collection: Scope,
    pages: Sequence[Sequence[Section]],
    number: int,
    settled: Sequence[Card],
    packaged: bool,
    fill: Filler = filled,
    whole_list: Across | None = None,
) -> str:
    """Page `number` of a list page; the last page also names the list's awarded and
    cancelled opportunities (`settled`); `packaged` says whether the OCDS package it links
    exists (a commissioner's own, else the site's). `whole_list` is what the list's pages show
    of the whole list (`across`), when it was worked out for them all."""
    shown = collection.listing
    assert shown is not None, "'all' is the index page"
    whole = whole_list or across(site, collection, pages)
    groups = whole.groups
    pager = Pager(number, whole.addresses)
    last = number == len(pages)
    return render(
        "list.html",
        site,
        pager.address(number),
        collection=collection,
        shown=shown,
        groups=groups,
        sections=_filled(pages[number - 1], fill),
        pager=pager,
        left_out=whole.left_out,
        total=sum(one.total for one in groups),
        settled=settled[:SETTLED_SHOWN] if last else (),
        settled_total=len(settled),
        commissioner=whole.commissioner,
        packaged=packaged,
    )


def when_outputs(whole: Whole, current: Sequence[Card], fill: Fill) -> Iterator[Output]:
    """The pages of each group of the home page, each keyed by its own cards and the
    group's shape."""
    for group in GROUPS:
        pages = when_paged(group, current)
        base = digest(group, whole.said, repr(_shape(pages)))
        for number, page in enumerate(pages, 1):

            def when(
                group: str = group, pages: list[list[Section]] = pages, number: int = number
            ) -> str:
                return when_page(whole.site, group, pages, number, fill)

            key = digest(base, str(number), fill.digests(page))
            yield Output(page_path(group, number), key, when, _size(page))


def _shape(pages: Sequence[Sequence[Section]]) -> list[list[tuple[str, int, int, bool]]]:
    """What a page shows of its list besides its own cards: every group's count and where
    it starts, and the number of pages."""
    return [[(s.key, s.total, s.start, s.continued) for s in page] for page in pages]


def _size(page: Sequence[Section]) -> int:
    return sum(len(one.cards) for one in page)


def list_outputs(site: SiteData, whole: Whole, bundle: Bundle, shelf: Shelf) -> Iterator[Output]:
    """A list's pages, each keyed by its own cards and the list's shape: a change to one
    opportunity makes again only the page it is on (and the last, which names the settled
    ones, when it is one of those)."""
    listing = bundle.listing
    assert listing is not None
    shown = [m for m in bundle.members if m.current]
    settled_members = [m for m in bundle.members if not m.current]
    settled = [shelf.facts(m) for m in settled_members]
    pages = listing_paged(site, listing, [shelf.facts(m) for m in shown])
    fill = Fill(shelf, shown)
    whole_list = across(site, bundle, pages)
    own = repr(whole_list.commissioner)
    base = digest(
        bundle.path, repr(listing), own, repr(bundle.packaged), whole.said, repr(_shape(pages))
    )
    ends = b"".join(m.digest for m in settled_members[:SETTLED_SHOWN])
    for number, page in enumerate(pages, 1):
        last = ends + str(len(settled)).encode() if number == len(pages) else b""

        def make(pages: list[list[Section]] = pages, number: int = number) -> str:
            return listing_page(
                site, bundle, pages, number, settled, bundle.packaged, fill, whole_list
            )

        key = digest(base, str(number), fill.digests(page), last)
        yield Output(page_path(bundle.path, number), key, make, _size(page))


class Fill:
    """Gives a kept card its HTML, as seen from the top folder: a page reads only its own
    cards' fragments."""

    def __init__(self, shelf: Shelf, members: Sequence[Member]) -> None:
        self.shelf = shelf
        self.members = members
        self.by_url: dict[str, Member] = {}

    def _member(self, card: Card) -> Member:
        if not self.by_url:
            self.by_url = {self.shelf.facts(one).url: one for one in self.members}
        return self.by_url[card.url]

    def __call__(self, card: Card) -> Card:
        html = str(self.shelf.fragment(self._member(card), 0), "utf-8")
        # Made directly: dataclasses.replace looks up every field, card after card.
        return Card(card.url, card.title, card.status_words, html, card.group, card.places)

    def digests(self, page: Sequence[Section]) -> bytes:
        """What the cards on a page are made from: their members' digests."""
        return b"".join(self._member(c).digest for one in page for c in one.cards)

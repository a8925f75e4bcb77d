"""The site's HTML pages (notices, lists, the glossary and transparency pages) from the Jinja2
templates in templates/. Only facts and numbers are worked out here; every sentence a reader
sees is in a template.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

from markupsafe import Markup

from publisher.formats.base import (
    Bundle,
    Format,
    Member,
    Output,
    Part,
    Shelf,
    Whole,
    digest,
)
from publisher.formats.cards import (
    Card,
    Filler,
    Pager,
    Section,
    filled,
    overview,
    page_path,
    paginate,
    sections,
)
from publisher.formats.page_context import (
    FIRST_CARDS,
    GROUPS,
    Terms,
    glossary_groups,
    group_of,
    jargon_index,
    other_unknowns,
    place_group,
    proper_words,
    relative,
    timeline,
)
from publisher.formats.page_lists import finder, listing_groups
from publisher.model.transparency import record as transparency_record
from publisher.model.views import (
    Collection,
    CommissionerView,
    Listing,
    OpportunityView,
    Scope,
    SiteData,
    listed_on,
)
from publisher.text import templates

# The package's own templates. The OCDS extension is the package's alone; the static
# files are the package's, with a deployment's templates folder's static/ files beside
# them (`static_files`).
TEMPLATES = templates.PACKAGE
STATIC_DIR = TEMPLATES / "static"
STATIC: dict[str, bytes] = {
    path.name: path.read_bytes() for path in sorted(STATIC_DIR.iterdir()) if path.is_file()
}


def static_files() -> dict[str, bytes]:
    """The site's static/ files by name: the package's, then each in the static/ folder of
    a deployment's templates folder (at any depth: 'img/logo.png'), which wins over the
    package's file of the same name."""
    found = dict(STATIC)
    for folder in reversed(templates.search_path()[:-1]):
        own = folder / "static"
        if own.is_dir():
            for path in sorted(own.rglob("*")):
                if path.is_file():
                    found[path.relative_to(own).as_posix()] = path.read_bytes()
    if templates.brand().coloured:  # the deployment's colours (text/brand.py)
        found["brand.css"] = templates.environment().get_template("brand.css").render().encode()
    return found


# --- the environment and the pages ---------------------------------------------------------


def counts_of(members: Iterable[tuple[bool, Sequence[str]]]) -> Counter[str]:
    """How many current opportunities each list page has, by its path, from each
    opportunity's (is current, the list pages it is on)."""
    counts: Counter[str] = Counter()
    for current, paths in members:
        if current:
            counts.update(paths)
    return counts


class _Memo:
    """What every page of one site shares, worked out once per site: the words that keep
    their capitals, each commissioner's opportunities, and each opportunity's card and
    headline (rendered once, then reused by every page that shows them)."""

    def __init__(self, site: SiteData) -> None:
        self.site = site
        self.proper = proper_words(site)
        self.by_commissioner: dict[str, list[OpportunityView]] = {}
        for view in site.opportunities:
            self.by_commissioner.setdefault(view.commissioner.id, []).append(view)
        self.cards: dict[int, tuple[OpportunityView, Card]] = {}
        self.headlines: dict[int, tuple[OpportunityView, Markup]] = {}

    def card(self, view: OpportunityView) -> Card:
        known = self.cards.get(id(view))
        if known is None or known[0] is not view:
            html = _render("card.html", self.site, "index.html", view=view)
            made = Card(
                view.url,
                view.item.title,
                view.status_words,
                html,
                group_of(view),
                tuple(view.item.places),
            )
            known = (view, made)
            self.cards[id(view)] = known
        return known[1]

    def headline(self, view: OpportunityView) -> Markup:
        """The one-sentence headline: the same on its notice, in every list and feed."""
        known = self.headlines.get(id(view))
        if known is None or known[0] is not view:
            html = _render("headline.html", self.site, "index.html", view=view).strip()
            known = (view, Markup(html))
            self.headlines[id(view)] = known
        return known[1]


def cards_for(cards: Sequence[Card], page: str) -> Markup:
    """The cards as seen from `page`."""
    return Markup("".join(card_at(card, page) for card in cards))


def card_at(card: Card, page: str) -> str:
    """A card as seen from `page`. Rendered from the top folder: a card's only links are
    to pages of this site, so from a folder below, each gains a '../'."""
    depth = page.count("/")
    return card.html.replace('href="', 'href="' + "../" * depth) if depth else card.html


_MEMO: list[_Memo] = []


def _memo(site: SiteData) -> _Memo:
    """The memo of the site being rendered; one site at a time."""
    if not _MEMO or _MEMO[0].site is not site:
        _MEMO[:] = [_Memo(site)]
    return _MEMO[0]


def _render(name: str, site: SiteData, page: str, **context: Any) -> str:
    """A template as the page at `page`."""
    href = partial(relative, page)
    memo = _memo(site)
    cards = partial(cards_for, page=page)
    template = templates.environment().get_template(name)
    return template.render(
        site=site,
        page=page,
        href=href,
        terms=Terms(site.glossary, jargon_index(site.glossary), href),
        today=site.today,
        proper=memo.proper,
        cards=cards,
        headline=memo.headline,
        **context,
    )


def card(site: SiteData, view: OpportunityView) -> Card:
    """An opportunity's card as the home page shows it (list pages adjust its links)."""
    return _memo(site).card(view)


def headline(site: SiteData, view: OpportunityView) -> str:
    """The notice's one-sentence headline as plain text, for feeds and emails to reuse:
    'Leeds City Council plans a contract for ..., with the tender opening on 7 June 2027.'"""
    return _memo(site).headline(view).unescape()


def _group(card: Card) -> str:
    return card.group


WHEN = [(key, "") for key in GROUPS]

# Awarded, cancelled or withdrawn opportunities a list page names under its cards, on its
# last page: the first few in list order; its spreadsheet and the transparency pages have
# every one.
SETTLED_SHOWN = 10


def index(site: SiteData) -> str:
    current = [v for v in site.opportunities if v.is_current]
    return index_page(
        site,
        [card(site, v) for v in current],
        counts_of((v.is_current, listed_on(v)) for v in site.opportunities),
        packaged=bool(site.opportunities),
    )


def index_page(
    site: SiteData,
    current: Sequence[Card],
    counts: Counter[str],
    packaged: bool,
    fill: Filler = filled,
) -> str:
    """The home page: how many current opportunities are open now, opening soon and later,
    the first few of each, and every list with its count; `packaged` says whether the site
    has OCDS packages (it has any opportunity)."""
    return _render(
        "index.html",
        site,
        "index.html",
        sections=sections(current, WHEN, _group, FIRST_CARDS, fill),
        total=len(current),
        groups=listing_groups(site, counts),
        packaged=packaged,
        finder=finder(site),
    )


def _filled(page: Sequence[Section], fill: Filler) -> list[Section]:
    return [replace(one, cards=[fill(c) for c in one.cards]) for one in page]


def _pager(stem: str, pages: Sequence[object], number: int) -> Pager:
    return Pager(number, [page_path(stem, n) for n in range(1, len(pages) + 1)])


def when_paged(group: str, current: Sequence[Card]) -> list[list[Section]]:
    """The pages of one group of the home page ('open.html', then 'open/page-2.html'...)."""
    return paginate([one for one in current if one.group == group], [(group, "")], _group)


def when_page(
    site: SiteData,
    group: str,
    pages: Sequence[Sequence[Section]],
    number: int,
    fill: Filler = filled,
) -> str:
    """Page `number` of every current opportunity in one group: 'open.html'..."""
    pager = _pager(group, pages, number)
    return _render(
        "when.html",
        site,
        pager.address(number),
        group=group,
        sections=_filled(pages[number - 1], fill),
        pager=pager,
        finder=finder(site),
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
    for number in range(1, len(pages) + 1):
        yield (
            page_path(collection.path, number),
            listing_page(site, collection, pages, number, settled, packaged),
        )


def listing_paged(site: SiteData, shown: Listing, current: Sequence[Card]) -> list[list[Section]]:
    """A list page's current opportunities in groups and pages: a place's by how far they
    reach (in the place, across each wider place), any other list's as the home page
    groups them."""
    if shown.kind != "place":
        return paginate(current, WHEN, _group)
    places = site.places
    wider = [(slug, places.name(slug)) for slug in places.chain(shown.slug)[1:]]

    def key_of(one: Card) -> str:
        return place_group(one.places, shown.slug, places)

    return paginate(current, [("in", shown.name), *wider], key_of)


def listing_page(
    site: SiteData,
    collection: Scope,
    pages: Sequence[Sequence[Section]],
    number: int,
    settled: Sequence[Card],
    packaged: bool,
    fill: Filler = filled,
) -> str:
    """Page `number` of a list page; the last page also names the list's awarded and
    cancelled opportunities (`settled`); `packaged` says whether the OCDS package it links
    exists (a commissioner's own, else the site's)."""
    shown = collection.listing
    assert shown is not None, "'all' is the index page"
    commissioner = next((c for c in site.commissioners if c.listing == shown), None)
    pager = _pager(collection.path, pages, number)
    last = number == len(pages)
    groups = overview(pages)
    return _render(
        "list.html",
        site,
        pager.address(number),
        collection=collection,
        shown=shown,
        groups=groups,
        sections=_filled(pages[number - 1], fill),
        pager=pager,
        total=sum(one.total for one in groups),
        settled=settled[:SETTLED_SHOWN] if last else (),
        settled_total=len(settled),
        commissioner=commissioner,
        packaged=packaged,
        finder=finder(site),
    )


def notice(site: SiteData, view: OpportunityView) -> str:
    return _render(
        "notice.html",
        site,
        view.url,
        view=view,
        timeline=timeline(site, view),
        lot_place_names={
            lot.id: [site.places.name(s) for s in lot.places] for lot in view.item.lots
        },
        unknowns=other_unknowns(view),
    )


def glossary(site: SiteData) -> str:
    return _render("glossary.html", site, "glossary.html", groups=glossary_groups(site.glossary))


def transparency(site: SiteData, commissioner: CommissionerView) -> str:
    return _render(
        "transparency.html",
        site,
        f"transparency/{commissioner.id}.html",
        commissioner=commissioner,
        record=transparency_record(
            site, commissioner, _memo(site).by_commissioner.get(commissioner.id, [])
        ),
    )


def pages(site: SiteData) -> Iterator[tuple[str, str]]:
    """Every HTML page of the site by path (for previews and tests; site.py writes them)."""
    yield "index.html", index(site)
    yield from whens(site)
    yield "glossary.html", glossary(site)
    for view in site.opportunities:
        yield view.url, notice(site, view)
    for commissioner in site.commissioners:
        yield f"transparency/{commissioner.id}.html", transparency(site, commissioner)
    for collection in site.collections():
        if collection.listing is not None:
            yield from listing(site, collection)


# --- as a format (formats/base.py) ---------------------------------------------------------


class Pages(Format):
    """The HTML pages: each notice and transparency page with its plan file; the home page,
    the list pages, the glossary and the static files from every opportunity's card."""

    name = "html"

    def part(self, site: SiteData, view: OpportunityView) -> Part:
        made = card(site, view)
        # the card's HTML as seen from the top folder: lists show only a few of their cards,
        # read and moved to their folder when a list is made (see _fill)
        return Part(replace(made, html=""), (made.html.encode(),))

    def plan_files(
        self, site: SiteData, commissioner: CommissionerView | None, views: list[OpportunityView]
    ) -> Iterator[tuple[str, bytes | str]]:
        for view in views:
            yield view.url, notice(site, view)
        if commissioner is not None:
            yield f"transparency/{commissioner.id}.html", transparency(site, commissioner)

    def outputs(self, whole: Whole, shelf: Shelf) -> Iterator[Output]:
        site, members = whole.site, whole.members
        counts = counts_of((one.current, one.listed_on) for one in members)

        shown = [one for one in members if one.current]
        fill = _Fill(shelf, shown)
        current = [shelf.facts(one) for one in shown]

        def index() -> str:
            return index_page(site, current, counts, bool(members), fill)

        key = digest("index.html", whole.said, whole.every)
        yield Output("index.html", key, index, len(members))
        for group in GROUPS:
            pages = when_paged(group, current)
            base = digest(group, whole.said, repr(_shape(pages)))
            for number, page in enumerate(pages, 1):

                def when(
                    group: str = group, pages: list[list[Section]] = pages, number: int = number
                ) -> str:
                    return when_page(site, group, pages, number, fill)

                key = digest(base, str(number), fill.digests(page))
                yield Output(page_path(group, number), key, when, _size(page))
        yield Output("glossary.html", digest("glossary.html"), lambda: glossary(site), 0)
        for name, content in static_files().items():
            key = digest(name, content)
            yield Output(f"static/{name}", key, partial(_same, content), 0)
        for bundle in whole.bundles:
            if bundle.listing is not None:
                yield from _list_pages(site, whole, bundle, shelf)


def _shape(pages: Sequence[Sequence[Section]]) -> list[list[tuple[str, int, int, bool]]]:
    """What a page shows of its list besides its own cards: every group's count and where
    it starts, and the number of pages."""
    return [[(s.key, s.total, s.start, s.continued) for s in page] for page in pages]


def _size(page: Sequence[Section]) -> int:
    return sum(len(one.cards) for one in page)


def _same(content: bytes) -> bytes:
    return content


def _list_pages(site: SiteData, whole: Whole, bundle: Bundle, shelf: Shelf) -> Iterator[Output]:
    """A list's pages, each keyed by its own cards and the list's shape: a change to one
    opportunity makes again only the page it is on (and the last, which names the settled
    ones, when it is one of those)."""
    listing = bundle.listing
    assert listing is not None
    shown = [m for m in bundle.members if m.current]
    settled_members = [m for m in bundle.members if not m.current]
    settled = [shelf.facts(m) for m in settled_members]
    pages = listing_paged(site, listing, [shelf.facts(m) for m in shown])
    fill = _Fill(shelf, shown)
    own = repr(next((c for c in site.commissioners if c.listing == listing), None))
    base = digest(
        bundle.path, repr(listing), own, repr(bundle.packaged), whole.said, repr(_shape(pages))
    )
    ends = b"".join(m.digest for m in settled_members[:SETTLED_SHOWN])
    for number, page in enumerate(pages, 1):
        last = ends + str(len(settled)).encode() if number == len(pages) else b""

        def make(pages: list[list[Section]] = pages, number: int = number) -> str:
            return listing_page(site, bundle, pages, number, settled, bundle.packaged, fill)

        key = digest(base, str(number), fill.digests(page), last)
        yield Output(page_path(bundle.path, number), key, make, _size(page))


class _Fill:
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
        fragment = self.shelf.fragment(self._member(card), 0)
        return replace(card, html=bytes(fragment).decode("utf-8"))

    def digests(self, page: Sequence[Section]) -> bytes:
        """What the cards on a page are made from: their members' digests."""
        return b"".join(self._member(c).digest for one in page for c in one.cards)


PAGES = Pages()

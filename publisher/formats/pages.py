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
from publisher.formats.cards import Card, Filler, filled, sections
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
        sections=sections(current, WHEN, _group, FIRST_CARDS, fill, more=True),
        total=len(current),
        groups=listing_groups(site, counts),
        packaged=packaged,
        finder=finder(site),
    )


def when_page(site: SiteData, group: str, current: Sequence[Card], fill: Filler = filled) -> str:
    """A page of every current opportunity in one group: 'open.html', 'soon.html'..."""
    chosen = [one for one in current if one.group == group]
    return _render(
        "when.html",
        site,
        f"{group}.html",
        group=group,
        sections=sections(chosen, [(group, "")], _group, LIST_CARDS, fill),
        finder=finder(site),
    )


def whens(site: SiteData) -> Iterator[tuple[str, str]]:
    current = [card(site, v) for v in site.opportunities if v.is_current]
    for group in GROUPS:
        yield f"{group}.html", when_page(site, group, current)


# Cards a group shows on a list page before the rest are listed by title only: the same as
# the home page, so that no list of cards is more than a few screens on a phone.
LIST_CARDS = FIRST_CARDS


def listing(site: SiteData, collection: Collection) -> str:
    members = collection.members
    listing = collection.listing
    packaged = bool(members) if listing is not None and listing.kind == "commissioner" else None
    return listing_page(
        site,
        collection,
        [card(site, v) for v in members if v.is_current],
        [card(site, v) for v in members if not v.is_current],
        packaged=bool(site.opportunities) if packaged is None else packaged,
    )


def listing_page(
    site: SiteData,
    collection: Scope,
    current: Sequence[Card],
    settled: Sequence[Card],
    packaged: bool,
    fill: Filler = filled,
) -> str:
    """A list page, its current opportunities in groups: a place's by how far they reach
    (in the place, across each wider place), any other list's as the home page groups them;
    `packaged` says whether the OCDS package it links exists (a commissioner's own, else
    the site's)."""
    shown = collection.listing
    assert shown is not None, "'all' is the index page"
    commissioner = next((c for c in site.commissioners if c.listing == shown), None)
    if shown.kind == "place":
        places = site.places
        wider = [(slug, places.name(slug)) for slug in places.chain(shown.slug)[1:]]
        keys = [("in", shown.name), *wider]

        def key_of(one: Card) -> str:
            return place_group(one.places, shown.slug, places)

        groups = sections(current, keys, key_of, LIST_CARDS, fill)
    else:
        groups = sections(current, WHEN, _group, LIST_CARDS, fill)
    return _render(
        "list.html",
        site,
        f"{collection.path}.html",
        collection=collection,
        shown=shown,
        sections=groups,
        total=len(current),
        settled=settled,
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
            yield f"{collection.path}.html", listing(site, collection)


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

        def index() -> str:
            cards = [shelf.facts(one) for one in shown]
            return index_page(site, cards, counts, bool(members), fill)

        key = digest("index.html", whole.said, whole.every)
        yield Output("index.html", key, index, len(members))
        for group in GROUPS:

            def when(group: str = group) -> str:
                return when_page(site, group, [shelf.facts(one) for one in shown], fill)

            key = digest(f"{group}.html", whole.said, whole.every)
            yield Output(f"{group}.html", key, when, len(members))
        yield Output("glossary.html", digest("glossary.html"), lambda: glossary(site), 0)
        for name, content in static_files().items():
            key = digest(name, content)
            yield Output(f"static/{name}", key, partial(_same, content), 0)
        for bundle in whole.bundles:
            if bundle.listing is not None:
                make = partial(_list_page, site, bundle, shelf)
                yield Output(f"{bundle.path}.html", bundle.key, make, len(bundle.members))


def _same(content: bytes) -> bytes:
    return content


def _list_page(site: SiteData, bundle: Bundle, shelf: Shelf) -> str:
    shown = [m for m in bundle.members if m.current]
    settled = [shelf.facts(m) for m in bundle.members if not m.current]
    current = [shelf.facts(m) for m in shown]
    return listing_page(site, bundle, current, settled, bundle.packaged, _Fill(shelf, shown))


class _Fill:
    """Gives a kept card its HTML, as seen from the top folder: only the few a list shows
    as cards are read (the rest of a list is its titles)."""

    def __init__(self, shelf: Shelf, members: Sequence[Member]) -> None:
        self.shelf = shelf
        self.members = members
        self.by_url: dict[str, Member] = {}

    def __call__(self, card: Card) -> Card:
        if not self.by_url:
            self.by_url = {self.shelf.facts(one).url: one for one in self.members}
        fragment = self.shelf.fragment(self.by_url[card.url], 0)
        return replace(card, html=bytes(fragment).decode("utf-8"))


PAGES = Pages()

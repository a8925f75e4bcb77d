"""The site's HTML pages (notices, lists, the glossary and transparency pages) from the Jinja2
templates in templates/. Only facts and numbers are worked out here; every sentence a reader
sees is in a template.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from markupsafe import Markup

from publisher.formats.base import (
    Bundle,
    Format,
    Layout,
    Member,
    Output,
    Part,
    Shelf,
    Whole,
    digest,
)
from publisher.formats.page_context import (
    Terms,
    glossary_groups,
    jargon_index,
    other_unknowns,
    proper_words,
    relative,
    timeline,
)
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

# The package's own templates. The static files and the OCDS extension are the package's
# alone: a deployment's templates folder changes templates, not these.
TEMPLATES = templates.PACKAGE
STATIC_DIR = TEMPLATES / "static"
STATIC: dict[str, bytes] = {
    path.name: path.read_bytes() for path in sorted(STATIC_DIR.iterdir()) if path.is_file()
}

# --- the environment and the pages ---------------------------------------------------------


@dataclass(frozen=True)
class Card:
    """An opportunity as the lists show it: its card, rendered once from the top folder,
    and for the list of settled ones its link, title and status."""

    url: str
    title: str
    status_words: str
    html: str


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
            made = Card(view.url, view.item.title, view.status_words, html)
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


# Where the cards go in a list page rendered as a frame (see `frame`): never in real text.
CARDS_HERE = "\x00cards\x00"


def frame(html: str) -> tuple[bytes, bytes]:
    """A page rendered with CARDS_HERE for its cards, as what comes before and after them."""
    head, found, tail = html.partition(CARDS_HERE)
    return (head.encode("utf-8"), tail.encode("utf-8")) if found else (html.encode("utf-8"), b"")


_MEMO: list[_Memo] = []


def _memo(site: SiteData) -> _Memo:
    """The memo of the site being rendered; one site at a time."""
    if not _MEMO or _MEMO[0].site is not site:
        _MEMO[:] = [_Memo(site)]
    return _MEMO[0]


def _render(name: str, site: SiteData, page: str, *, framed: bool = False, **context: Any) -> str:
    """A template as the page at `page`; `framed` leaves CARDS_HERE where the cards go."""
    href = partial(relative, page)
    memo = _memo(site)
    cards = (lambda _: Markup(CARDS_HERE)) if framed else partial(cards_for, page=page)
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
    framed: bool = False,
) -> str:
    """The home page: every current opportunity's card, and every list with its count;
    `packaged` says whether the site has OCDS packages (it has any opportunity)."""
    return _render(
        "index.html",
        site,
        "index.html",
        framed=framed,
        current=current,
        groups=_listing_groups(site, counts),
        packaged=packaged,
    )


@dataclass(frozen=True)
class Branch:
    """A list page on the home page, with how many current opportunities it has, and for
    a place the places within it."""

    listing: Listing
    count: int
    within: list[Branch] = field(default_factory=list)


def _listing_groups(site: SiteData, counts: Counter[str]) -> list[tuple[str, list[Branch]]]:
    """Every list page by kind: places as a tree (system, places, neighbourhoods), the
    others by name, funding types in their own order."""
    kinds: dict[str, list[Listing]] = {}
    for shown in site.listings:
        kinds.setdefault(shown.kind, []).append(shown)
    groups: list[tuple[str, list[Branch]]] = []
    for kind, shown_here in kinds.items():
        if kind == "place":
            groups.append((kind, _place_tree(site, shown_here, counts)))
            continue
        ordered = shown_here if kind == "funding" else sorted(shown_here, key=_by_name)
        groups.append((kind, [Branch(x, counts[x.path]) for x in ordered]))
    return groups


def _by_name(shown: Listing) -> str:
    return shown.name.lower()


def _place_tree(site: SiteData, places: list[Listing], counts: Counter[str]) -> list[Branch]:
    by_slug = {p.slug: p for p in places}

    def parent(slug: str) -> str | None:
        within = site.places.by_slug[slug].within
        return within if within in by_slug else None

    def branches(under: str | None) -> list[Branch]:
        here = sorted((p for p in places if parent(p.slug) == under), key=lambda p: p.name)
        return [Branch(p, counts[p.path], branches(p.slug)) for p in here]

    return branches(None)


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
    framed: bool = False,
) -> str:
    """A list page; `packaged` says whether the OCDS package it links exists (a
    commissioner's own, else the site's)."""
    assert collection.listing is not None, "'all' is the index page"
    commissioner = next((c for c in site.commissioners if c.listing == collection.listing), None)
    return _render(
        "list.html",
        site,
        f"{collection.path}.html",
        framed=framed,
        collection=collection,
        shown=collection.listing,
        current=current,
        settled=settled,
        commissioner=commissioner,
        packaged=packaged,
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
        # the card's HTML as seen from the top folder and from one folder down
        seen = (card_at(made, "index.html").encode(), card_at(made, "place/x.html").encode())
        return Part(replace(made, html=""), seen)

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

        def index() -> Layout:
            shown = [one for one in members if one.current]
            cards = [shelf.facts(one) for one in shown]
            return _cards(index_page(site, cards, counts, bool(members), True), shown, shelf)

        key = digest("index.html", whole.said, whole.every)
        yield Output("index.html", key, index, len(members))
        yield Output("glossary.html", digest("glossary.html"), lambda: glossary(site), 0)
        for name, content in STATIC.items():
            yield Output(f"static/{name}", digest(name), partial(_same, content), 0)
        for bundle in whole.bundles:
            if bundle.listing is not None:
                make = partial(_list_page, site, bundle, shelf)
                yield Output(f"{bundle.path}.html", bundle.key, make, len(bundle.members))


def _same(content: bytes) -> bytes:
    return content


def _list_page(site: SiteData, bundle: Bundle, shelf: Shelf) -> Layout:
    shown = [m for m in bundle.members if m.current]
    settled = [shelf.facts(m) for m in bundle.members if not m.current]
    current = [shelf.facts(m) for m in shown]
    html = listing_page(site, bundle, current, settled, bundle.packaged, framed=True)
    return _cards(html, shown, shelf, below=True)


def _cards(html: str, shown: list[Member], shelf: Shelf, below: bool = False) -> Layout:
    """A list page as a layout: the cards of `shown` between what the template wrote
    before and after them (cards are kept as seen from the top folder and one down)."""
    head, tail = frame(html)
    digests = b"".join(one.digest for one in shown)
    return Layout(head, digests, shelf.fragments(shown, 1 if below else 0), b"", tail)


PAGES = Pages()

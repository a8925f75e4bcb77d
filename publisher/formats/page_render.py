"""How a page is rendered: the one set of names every page template is given (its links
made relative to the page, the glossary's terms, the words that keep their capitals), and
each opportunity's card and headline, rendered once per site and reused by every page
that shows them; and the parts of a list's pages that are the same on each (`keeper`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from markupsafe import Markup

from publisher.formats.cards import Card
from publisher.formats.page_context import Terms, group_of, jargon_index, proper_words, relative
from publisher.model.views import OpportunityView, SiteData
from publisher.text import templates


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
        # Parts of pages kept by `keep`, for the templates and brand they were made with.
        self.kept: dict[tuple[object, ...], Markup] = {}
        self.kept_for: tuple[object, object] = (None, None)

    def card(self, view: OpportunityView) -> Card:
        known = self.cards.get(id(view))
        if known is None or known[0] is not view:
            html = render("card.html", self.site, "index.html", view=view)
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
            html = render("headline.html", self.site, "index.html", view=view).strip()
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


_SITE_MEMO: list[_Memo] = []


def memo(site: SiteData) -> _Memo:
    """The memo of the site being rendered; one site at a time."""
    if not _SITE_MEMO or _SITE_MEMO[0].site is not site:
        _SITE_MEMO[:] = [_Memo(site)]
    return _SITE_MEMO[0]


# Links from the pages of each folder, worked out once per folder: a page's templates ask
# for some 30 links, mostly the same ones as every other page in its folder.
_LINKS: dict[str, dict[str, str]] = {}
_FOLDERS_KEPT = 64  # the folders of the pages made lately: a list's pages are made together


def links_from(page: str) -> Callable[[str], str]:
    """`relative` from `page`, each link kept for every page of the same folder."""
    folder = page.rpartition("/")[0]
    links = _LINKS.get(folder)
    if links is None:
        if len(_LINKS) >= _FOLDERS_KEPT:
            _LINKS.clear()
        links = _LINKS[folder] = {}

    def href(to_path: str) -> str:
        found = links.get(to_path)
        if found is None:
            found = relative(page, to_path)
            if to_path[:1] not in ("", "#"):  # a link within the page names the page
                links[to_path] = found
        return found

    return href


# Parts kept by `keep`: the latest ones made (a list's pages are made together, so each of
# its parts is kept while the list is made).
_KEPT_MOST = 64


def keeper(known: _Memo, page: str, environment: object) -> Callable[..., Markup]:
    """`keep` for the templates of the page at `page`: a part of a page, rendered once for
    every page in the same folder that gives the same key (see list.html)."""
    folder = page.rpartition("/")[0]
    made_with = (environment, templates.brand())
    if known.kept_for[0] is not made_with[0] or known.kept_for[1] is not made_with[1]:
        known.kept.clear()
        known.kept_for = made_with
    kept = known.kept

    def keep(*key: object, caller: Callable[[], str]) -> Markup:
        """What the call block gives: made by it once for this folder and `key`, which
        must name everything the block shows besides links (`href`) and the brand. A kept
        block must not read the day: a page that reuses it would not be seen to read it
        (builder/days.py)."""
        whole = (folder, *key)
        found = kept.get(whole)
        if found is None:
            if len(kept) >= _KEPT_MOST:
                del kept[next(iter(kept))]
            found = kept[whole] = Markup(caller())
        return found

    return keep


def render(name: str, site: SiteData, page: str, **context: Any) -> str:
    """A template as the page at `page`."""
    href = links_from(page)
    known = memo(site)
    cards = partial(cards_for, page=page)
    environment = templates.environment()
    template = environment.get_template(name)
    return template.render(
        site=site,
        page=page,
        href=href,
        terms=Terms(site.glossary, jargon_index(site.glossary), href),
        today=site.today,
        proper=known.proper,
        cards=cards,
        headline=known.headline,
        keep=keeper(known, page, environment),
        **context,
    )


def card(site: SiteData, view: OpportunityView) -> Card:
    """An opportunity's card as the home page shows it (list pages adjust its links)."""
    return memo(site).card(view)


def headline(site: SiteData, view: OpportunityView) -> str:
    """The notice's one-sentence headline as plain text, for feeds and emails to reuse:
    'Leeds City Council plans a contract for ..., with the tender opening on 7 June 2027.'"""
    return memo(site).headline(view).unescape()

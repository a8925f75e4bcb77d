"""The pages only the running service has: the subscribe page, the embeddable list, the
answer to the form that narrows the opportunities (/find) and the page for an address that
names nothing. Their words are in templates/, like the site's.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

# page_render also brings the pages' helpers (the `day` filter of base.html...): they are
# shared with every template when it is imported (publisher/text/templates.py, share).
from publisher.formats import cards, page_lists, page_render
from publisher.formats.page_context import GROUPS
from publisher.model.views import FUNDING_WORDS, KeyDate, OpportunityView, SiteData
from publisher.plans.model import Funding
from publisher.service import filtered
from publisher.service.filtered import Choice, Unknown
from publisher.text import templates

EMBED_DEFAULT = 20  # opportunities an embedded list shows unless told otherwise
EMBED_MOST = 100


@dataclass(frozen=True)
class Address:
    """Enough of a site for the page layout when the plans are not loaded: its links."""

    base_url: str

    def link(self, path: str) -> str:
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")


def render(name: str, site: SiteData | Address, page: str, today: dt.date, **context: Any) -> bytes:
    """A template with what the site's layout needs. Links start at the site's root
    ('/static/site.css'), so the same page works at any depth, as a 404 page must."""
    root = urlsplit(site.base_url).path.rstrip("/") + "/"
    return (
        templates.environment()
        .get_template(name)
        .render(site=site, page=page, href=lambda path: root + path, today=today, **context)
        .encode("utf-8")
    )


def not_found(
    site: SiteData | Address, today: dt.date, page: str, unknown: Unknown | None = None
) -> bytes:
    """The 404 page for the site path `page` ('place/nowhere.html')."""
    return render("not_found.html", site, page, today, unknown=unknown, problem=None)


def unavailable(site: SiteData | Address, today: dt.date, problem: str) -> bytes:
    """The page when the plans behind filtered feeds cannot be read, saying why."""
    return render("not_found.html", site, "unavailable", today, unknown=None, problem=problem)


@dataclass(frozen=True)
class Branch:
    """A place to tick, with the places inside it."""

    slug: str
    name: str
    within: list[Branch] = field(default_factory=list)


def place_tree(site: SiteData) -> list[Branch]:
    """Places as they nest (system, places, neighbourhoods), each level by name."""
    by_slug = site.places.by_slug

    def under(parent: str | None) -> list[Branch]:
        here = [
            p for p in by_slug.values() if (p.within if p.within in by_slug else None) == parent
        ]
        return [Branch(p.slug, p.name, under(p.slug)) for p in sorted(here, key=lambda p: p.name)]

    return under(None)


@dataclass(frozen=True)
class Links:
    """Where an organisation's choice can be followed."""

    title: str
    rss: str
    atom: str
    json: str
    csv: str
    ics: str
    webcal: str
    embed: str
    count: int  # opportunities open or coming now
    page: str = ""  # the list's own page, to send on: the site's, or the answer to the form

    @property
    def snippet(self) -> str:
        """The HTML a website copies to show the list. Values are escaped here, as HTML;
        the page escapes the whole snippet again to show it as text, so what is copied
        holds them escaped once: a quote in a name cannot end the attribute."""
        return (
            f'<iframe src="{html.escape(self.embed)}" title="{html.escape(self.title)}" '
            'width="100%" height="500" loading="lazy"></iframe>'
        )


def links(site: SiteData, choice: Choice) -> Links:
    """The site's own files for everything or one list; filtered feeds otherwise."""
    stem = "all" if choice.empty else choice.single()
    if stem is not None:
        own = {fmt: site.link(f"{stem}.{fmt}") for fmt in filtered.FORMATS}
    else:
        own = filtered.links(site, choice)
    ics = own["ics"]
    query = choice.query()
    return Links(
        title=filtered.title(site, choice),
        rss=own["rss"],
        atom=own["atom"],
        json=own["json"],
        csv=own["csv"],
        ics=ics,
        webcal="webcal://" + ics.split("://", 1)[1],
        embed=site.link("embed" + (f"?{query}" if query else "")),
        count=sum(1 for view in filtered.members(site, choice) if view.is_current),
        page=site.link(
            "index.html" if stem == "all" else f"{stem}.html" if stem else f"find?{query}"
        ),
    )


def subscribe(site: SiteData, choice: Choice, show: bool, emails: bool = False) -> bytes:
    """The subscribe page; with the links for the choice when the form was sent, and a way
    to email alerts when the web app takes sign-ups (`emails`)."""
    return render(
        "subscribe.html",
        site,
        "subscribe",
        site.today,
        chosen=choice,
        places=place_tree(site),
        themes=sorted(site.themes.values(), key=lambda t: t.name.lower()),
        funding=[(f.value, FUNDING_WORDS[f]) for f in Funding],
        result=links(site, choice) if show else None,
        emails=emails,
    )


def closing(view: OpportunityView) -> KeyDate | None:
    return next((key for key in view.key_dates if key.field == "tender_closes"), None)


def embed(site: SiteData, choice: Choice, limit: int) -> bytes:
    """A short list to show inside another website: titles linked to notices, closing dates."""
    current = [view for view in filtered.members(site, choice) if view.is_current]
    shown = current[:limit]
    query = choice.query()
    return render(
        "embed.html",
        site,
        "embed",
        site.today,
        title=filtered.title(site, choice),
        rows=[(view, closing(view)) for view in shown],
        total=len(current),
        subscribe="subscribe" + (f"?{query}&show=links#your-links" if query else ""),
    )


def embed_limit(text: str | None) -> int:
    try:
        return max(1, min(int(text or EMBED_DEFAULT), EMBED_MOST))
    except ValueError:
        return EMBED_DEFAULT


WORD = re.compile(r"\w+")


def words_of(text: str | None) -> list[str]:
    """The words someone typed to look for, in lower case, each once, in order."""
    return list(dict.fromkeys(WORD.findall((text or "").lower())))


def has_words(view: OpportunityView, wanted: list[str]) -> bool:
    """Whether every word is in the opportunity's title or summary, ignoring case; a word
    may be part of a longer one ('garden' finds 'gardening')."""
    text = f"{view.item.title} {view.item.summary}".lower()
    return all(word in text for word in wanted)


def found(site: SiteData, choice: Choice, wanted: list[str]) -> list[OpportunityView]:
    """The current opportunities the form picks, in list order: places by reach, any of the
    values of one filter, every filter (and every word) applying."""
    return [
        view
        for view in filtered.members(site, choice)
        if view.is_current and has_words(view, wanted)
    ]


def find(site: SiteData, choice: Choice, text: str, page: int = 1) -> bytes:
    """The answer to the form: the matching opportunities grouped as on the home page, a
    page of them at a time, and where to get alerts and feeds for the same places, themes
    and funding types. A page past the last shows the last."""
    wanted = words_of(text)
    current = [page_render.card(site, view) for view in found(site, choice, wanted)]
    paged = cards.paginate(current, [(key, "") for key in GROUPS], _group)
    number = max(1, min(page, len(paged)))
    query = choice.query()
    asked = [part for part in (query, urlencode({"q": text}) if text else "") if part]

    def address(number: int) -> str:
        params = asked + ([f"page={number}"] if number > 1 else [])
        return "find" + ("?" + "&".join(params) if params else "")

    addresses = [address(n) for n in range(1, len(paged) + 1)]
    return render(
        "find.html",
        site,
        "find",
        site.today,
        chosen=choice,
        names=_names(site, choice),
        words=" ".join(wanted),
        typed=text,
        groups=cards.overview(paged),
        sections=paged[number - 1],
        pager=cards.Pager(number, addresses),
        left_out=cards.left_out(paged),
        total=len(current),
        finder=page_lists.finder(site),
        alerts="subscribe" + (f"?{query}" if query else ""),
        follow=None if choice.empty else links(site, choice),
        cards=lambda cards: page_render.cards_for(cards, "find"),
    )


def page_number(text: str | None) -> int:
    """The page of /find asked for: 1 unless a whole number above 1 is given."""
    try:
        return max(1, int(text or 1))
    except ValueError:
        return 1


def _group(card: cards.Card) -> str:
    return card.group


def _names(site: SiteData, choice: Choice) -> dict[str, list[str]]:
    """The names of what was chosen, for the page to say what it shows."""
    return {
        "place": [site.places.name(slug) for slug in choice.place],
        "theme": [site.themes[slug].name for slug in choice.theme],
        "funding": [FUNDING_WORDS[Funding(slug)] for slug in choice.funding],
    }

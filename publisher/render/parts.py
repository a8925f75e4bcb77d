"""What the lists, feeds, calendars, data files and OCDS packages carry of one opportunity,
made once per build from its view.

Parts are text and bytes, not pydantic models, so they are cheap to keep between builds and
to send between processes: a build reads each plan file's parts back from its cache instead
of reading the plan again, and puts the site's collections together from them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from publisher.render import calendar, data, feeds, ocds, pages
from publisher.render.views import OpportunityView, SiteData, listed_on


@dataclass(frozen=True)  # no slots: pickled without dataclasses' slow __setstate__
class Parts:
    """One opportunity as every collection that carries it shows it."""

    uid: str
    commissioner: str  # its commissioner's id
    sort_key: tuple[int, int, int, str]  # list order
    current: bool  # shown on the lists (not awarded, cancelled or withdrawn)
    listed_on: tuple[str, ...]  # the list pages that carry it: 'place/leeds', ...
    card: pages.Card
    feed: tuple[feeds.Made, ...]  # its own item, then one per announced change
    ics: calendar.Serialised
    json: bytes
    ocds: tuple[ocds.Made, ...]
    digest: bytes  # of everything above: when it changes, so do the files carrying it


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
    for raw in (*(one.rss + one.atom for one in feed), ics.ical, json):
        digest.update(raw)
        digest.update(b"\0")
    return Parts(
        uid=view.uid,
        commissioner=view.commissioner.id,
        sort_key=sort_key,
        current=view.is_current,
        listed_on=lists,
        card=card,
        feed=feed,
        ics=ics,
        json=json,
        ocds=releases,
        digest=digest.digest(),
    )

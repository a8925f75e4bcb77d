"""What the lists, feeds, calendars, data files and OCDS packages carry of one opportunity,
made once per build from its view.

Parts are text and bytes, not pydantic models, so they are cheap to keep between builds and
to send between processes: a build reads each plan file's parts back from its cache instead
of reading the plan again, and puts the site's collections together from them.
"""

from __future__ import annotations

import hashlib
import json as json_module
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
    cards: tuple[bytes, bytes]  # the card's HTML as seen from the top folder and one down
    feed: tuple[feeds.Made, ...]  # its own item, then one per announced change
    ics: calendar.Serialised  # without its SEQUENCE numbers: those are in `sequences`
    json: bytes
    ocds: tuple[ocds.Made, ...]
    digest: bytes  # of everything above: when it changes, so do the files carrying it
    # its events' UID, fingerprint and SEQUENCE, as JSON: one string, read only by a build
    # that renders a plan file again, to know when a date moved
    sequences: str = "[]"

    def sequence_map(self) -> dict[str, tuple[str, int]]:
        return {uid: (print_, number) for uid, print_, number in json_module.loads(self.sequences)}


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

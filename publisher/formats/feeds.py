"""RSS 2.0 and Atom feeds of a collection: one item per opportunity and one per announced
change to it (from git history), each with a stable id.

An outcome (awarded, cancelled, withdrawn) is news: the change that made it has its own item,
dated the day of that commit and titled by it ("Cancelled: ..."), so feed readers, which
show an id once, show it as new. Example plans' items say "Example only" in their titles.

About 400 lines: what a feed says of an opportunity and of each change to it, and the feed
around them; the words are in templates/feeds/.

Nothing here reads the clock: every date comes from the plans (when the opportunity last
changed, else when it was first published, else the build's `today`), so the same plans give
byte-identical feeds and a feed reader never sees items reshuffle.

An opportunity is in many feeds (everything, each place it reaches, each theme...), so its
item's XML is made once per build (feed_items.py) and reused: see `per_view`.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cache, partial
from operator import attrgetter
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from publisher.formats import feed_items, memo
from publisher.formats.base import Bundle, Format, Member, Output, Part, Shelf, Whole, own_key
from publisher.model.views import (
    ChangeLine,
    Collection,
    KeyDate,
    OpportunityView,
    Scope,
    SiteData,
)
from publisher.plans.characters import scrub
from publisher.plans.dates import LONDON
from publisher.plans.model import Status
from publisher.text import templates

if TYPE_CHECKING:
    import jinja2
    from feedgen.feed import FeedGenerator

# Part of every tag: id (RFC 4151), with the site's host name. Ids must never change, so
# neither may this.
TAG_YEAR = 2026
GENERATOR = "Forward plan publisher"
# The key dates the one-line summary of an item names, when the plan gives them.
HEADLINE_DATES = ("tender_opens", "tender_closes")
STANDSTILL_DATES = ("intention_to_award", "standstill_ends")
# The newest announced changes each opportunity keeps in feeds; older ones stay on its notice.
CHANGES_IN_FEEDS = 10
# The newest items a feed carries. A feed is news: readers keep what they have fetched, and
# every current opportunity is on the list page the feed links to. Without a cap a feed of a
# large plan grows past what feed readers accept (tens of megabytes).
FEED_ITEMS = 200


def wording() -> jinja2.Environment:
    """The one template environment (publisher/text/templates.py), whose templates in
    feeds/ are the words of feeds and calendars."""
    return templates.environment()


def line(text: object) -> str:
    """Text from a template as one line: runs of white space become one space, and no
    character the text rule refuses is left (a control character would stop lxml, a
    stray carriage return would end a calendar line)."""
    return " ".join(scrub(str(text)).split())


def call(template: str, name: str, *args: Any, **kwargs: Any) -> str:
    """The text a macro in templates/feeds/ gives."""
    return str(getattr(_module(wording(), template), name)(*args, **kwargs))


@cache
def _module(env: jinja2.Environment, template: str) -> Any:
    """A template of templates/feeds/ as a module of macros, made once per environment."""
    return env.get_template(f"feeds/{template}").module


def macro(template: str, name: str, *args: Any, **kwargs: Any) -> str:
    """One line of plain text from a macro in templates/feeds/."""
    return line(call(template, name, *args, **kwargs))


def host(site: SiteData) -> str:
    return urlsplit(site.base_url).hostname or "localhost"


def tag(site: SiteData, path: str) -> str:
    """A permanent id: 'tag:example.org,2026:opportunities/leeds-city-council/x'. It does not
    depend on http or https, or where on the host the site lives."""
    return f"tag:{host(site)},{TAG_YEAR}:{path}"


def html_page(collection: Scope) -> str:
    """The list page a collection's feeds belong to ('all' is the home page)."""
    return "index.html" if collection.listing is None else f"{collection.path}.html"


def _scope(collection: Scope) -> tuple[str, str, str]:
    listing = collection.listing
    if listing is None:
        return ("all", collection.title, "all")
    return (listing.kind, listing.name, listing.slug)


def title(collection: Scope) -> str:
    """'Opportunities in Leeds'."""
    return macro("feed.txt", "title", *_scope(collection))


def description(collection: Scope) -> str:
    return macro("feed.txt", "description", *_scope(collection))


def changed(site: SiteData, view: OpportunityView) -> dt.date:
    """When an opportunity last changed, as far as the plans tell: never the clock."""
    if view.last_changed is not None:
        return view.last_changed
    if view.notice is not None:
        return view.notice.published
    return site.today


def published(site: SiteData, view: OpportunityView) -> dt.date:
    """When an opportunity was first published: never after it last changed."""
    last = changed(site, view)
    return min(view.notice.published, last) if view.notice is not None else last


def midnight(day: dt.date) -> dt.datetime:
    """The start of a day in Europe/London, timezone-aware."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=LONDON)


def headline_dates(view: OpportunityView) -> list[KeyDate]:
    """The dates the one-line summary names: when it opens and closes, else the first known."""
    named = [key for key in view.key_dates if key.field in HEADLINE_DATES]
    # a route with no tender (a direct award): its intention to award and standstill
    named = named or [key for key in view.key_dates if key.field in STANDSTILL_DATES]
    return named or list(view.key_dates[:1])


def facts(view: OpportunityView) -> str:
    """'Who: ... Where: ... How much: ... When: ...' in one line."""
    return macro(
        "feed.txt",
        "facts",
        view.commissioner.name,
        [place.name for place in view.places],
        view.item.value,
        headline_dates(view),
    )


@dataclass(frozen=True)
class Item:
    """What the feeds say about one opportunity, the same in every feed that carries it."""

    id: str
    link: str
    title: str
    text: str  # plain text: the summary, who/where/how much/when, the link
    html: str  # the same as HTML, on one line
    author: str
    email: str | None
    updated: dt.datetime
    published: dt.datetime
    categories: tuple[tuple[str, str, str], ...]  # term, label, scheme


# What happened to an opportunity, the strongest first: the word its items lead with.
OUTCOMES = ("withdrawn", "cancelled", "awarded")


def _state(view: OpportunityView) -> str:
    """The opportunity's outcome ("withdrawn", "cancelled", "awarded"), else ""."""
    if view.withdrawn is not None:
        return "withdrawn"
    if view.is_cancelled:
        return "cancelled"
    return "awarded" if view.item.status is Status.AWARDED else ""


def _outcome(kinds: set[str]) -> str:
    """The outcome a commit's changes announce (changes' kinds: model/changelog.py), else ""."""
    return next((kind for kind in OUTCOMES if kind in kinds), "")


def item(site: SiteData, view: OpportunityView) -> Item:
    link = site.link(view.url)
    state = _state(view)
    summary = line(view.item.summary)
    said = facts(view)
    example = view.commissioner.example
    html = (
        wording()
        .get_template("feeds/item.html")
        .render(summary=summary, facts=said, link=link, state=state, changes=(), example=example)
    )
    contact = view.commissioner.contact
    return Item(
        id=tag(site, view.url.removesuffix(".html")),
        link=link,
        title=macro("feed.txt", "item_title", line(view.item.title), state, example),
        text=macro("feed.txt", "item_text", summary, said, link, state, example),
        html="".join(part.strip() for part in html.splitlines()),
        author=line(view.commissioner.name),
        email=contact.email if contact is not None else None,
        updated=midnight(changed(site, view)),
        published=midnight(published(site, view)),
        categories=tuple(
            (listing.slug, line(listing.name), site.link(f"{listing.kind}/"))
            for listing in (*view.places, *view.themes)
        ),
    )


def change_items(site: SiteData, view: OpportunityView, base: Item) -> list[Item]:
    """One item per commit that announced news about the opportunity (its arrival is the
    opportunity's own item, `base`), newest first, dated the commit's day; the id names the
    commit, so it never changes. A commit that awarded, cancelled or withdrew it is titled
    so: that is how the outcome reaches feed readers as news."""
    commits: dict[str, list[ChangeLine]] = {}
    for change in view.changes:
        if change.news and change.kind != "new":
            commits.setdefault(change.id.split("-")[0], []).append(change)
    if not commits:
        return []
    said = facts(view)
    link = site.link(view.url) + "#last-changed"
    example = view.commissioner.example
    out = []
    for commit, lines in list(commits.items())[:CHANGES_IN_FEEDS]:
        texts = [c.text for c in lines]  # in the order the changes were found
        state = _outcome({c.kind for c in lines})
        html = (
            wording()
            .get_template("feeds/item.html")
            .render(summary="", facts=said, link=link, state="", changes=texts, example=example)
        )
        out.append(
            replace(
                base,
                id=tag(site, f"{view.url.removesuffix('.html')}/changes/{commit}"),
                link=link,
                title=macro("feed.txt", "change_title", line(view.item.title), state, example),
                text=macro("feed.txt", "change_text", texts, link, example),
                html="".join(part.strip() for part in html.splitlines()),
                updated=midnight(lines[0].day),
                published=midnight(lines[0].day),
            )
        )
    return out


@dataclass(frozen=True)
class Made:
    """An opportunity's item in both formats, made once per build for every feed."""

    id: str
    updated: dt.datetime
    rss: bytes | memoryview  # a view of a build's kept fragments, when put together later
    atom: bytes | memoryview
    rank: tuple[int, str] = (0, "")  # feed order: the most recently changed first, then id

    def __post_init__(self) -> None:
        object.__setattr__(self, "rank", (-self.updated.toordinal(), self.id))


def made(site: SiteData, view: OpportunityView) -> tuple[Made, ...]:
    """The opportunity's items: its own, then one per announced change."""
    own = item(site, view)
    return tuple(
        Made(about.id, about.updated, feed_items.rss_item(about), feed_items.atom_entry(about))
        for about in (own, *change_items(site, view, own))
    )


def items_of(site: SiteData, collection: Collection) -> list[Made]:
    """Every item of the collection's opportunities, each made once per build."""
    return [one for items in memo.each(site, collection, "feed", made) for one in items]


def newest(items: Sequence[Made], limit: int | None = None) -> list[Made]:
    """The `limit` (FEED_ITEMS) most recently changed items, newest first, then by id: a
    fixed order. (Items are dated by the day, at midnight in London.)"""
    return heapq.nsmallest(FEED_ITEMS if limit is None else limit, items, key=attrgetter("rank"))


def header(site: SiteData, collection: Scope, own: str, newest: dt.datetime) -> FeedGenerator:
    """The feed without its items; `own` is its own file ('place/leeds.rss')."""
    # feedgen and lxml are imported when a feed is written, not with this module: a build
    # that writes none (nothing changed) does without their import.
    from feedgen.feed import FeedGenerator  # noqa: PLC0415

    fg = FeedGenerator()
    fg.id(tag(site, f"feeds/{collection.path}"))
    fg.title(scrub(title(collection)))  # lxml takes no control characters (see `entry`)
    fg.description(scrub(description(collection)))
    # feedgen takes RSS's one <link> from the link added last: the list page.
    fg.link(href=site.link(own), rel="self")
    fg.link(href=site.link(html_page(collection)), rel="alternate", type="text/html")
    fg.language("en-GB")
    fg.generator(GENERATOR)
    # feedgen stamps the wall clock unless told otherwise: the feed changed when its
    # newest item did.
    fg.updated(newest)
    return fg


def feed(site: SiteData, collection: Scope, items: Sequence[Made], atom: bool) -> bytes:
    """feedgen's feed with the newest of `items` (FEED_ITEMS of them). The items' XML is
    made once per build and put where feedgen puts items, at the end of the channel or feed,
    indented the same way."""
    items = newest(items)
    latest = items[0].updated if items else None
    return _put_together(
        site, collection, latest, [one.atom if atom else one.rss for one in items], atom
    )


def _put_together(
    site: SiteData,
    collection: Scope,
    latest: dt.datetime | None,
    parts: Sequence[bytes | memoryview],
    atom: bool,
) -> bytes:
    """feedgen's feed without items, with `parts` (the newest items' XML, newest first)
    where feedgen puts items; `latest` is when the newest changed (None: no items)."""
    own = f"{collection.path}.{'atom' if atom else 'rss'}"
    fg = header(site, collection, own, latest if latest is not None else midnight(site.today))
    empty = bytes(fg.atom_str(pretty=True) if atom else fg.rss_str(pretty=True))
    at = empty.rindex(b"</feed>" if atom else b"  </channel>")
    return b"".join([empty[:at], *parts, empty[at:]])


def rss(site: SiteData, collection: Collection) -> bytes:
    """The collection as RSS 2.0: '<path>.rss'."""
    return feed(site, collection, items_of(site, collection), atom=False)


def atom(site: SiteData, collection: Collection) -> bytes:
    """The collection as Atom: '<path>.atom'."""
    return feed(site, collection, items_of(site, collection), atom=True)


# --- as a format (formats/base.py) ---------------------------------------------------------


class Feeds(Format):
    """RSS and Atom for everything and for each list: the newest FEED_ITEMS items of their
    opportunities, each item's XML made once per build."""

    name = "feeds"

    def part(self, site: SiteData, view: OpportunityView) -> Part:
        items = memo.per_view(site, view, "feed", lambda: made(site, view))
        facts = tuple(replace(one, rss=b"", atom=b"") for one in items)
        return Part(facts, tuple(xml for one in items for xml in (one.rss, one.atom)))

    def outputs(self, whole: Whole, shelf: Shelf) -> Iterator[Output]:
        order = FeedOrder(shelf, whole.members)
        for bundle in whole.bundles:
            size = len(bundle.members)
            # A feed reads only its members' items, and not their order (the newest come
            # first, each by its own date and id): a list whose opportunities changed in
            # nothing its feed says (a closing date passed) keeps its feeds.
            key = whole.keyed("feeds", bundle, partial(own_key, bundle, shelf, in_order=False))
            for kind in ("rss", "atom"):
                make = partial(_feed_of, whole.site, bundle, order, kind == "atom")
                yield Output(f"{bundle.path}.{kind}", key, make, size)


def _feed_of(site: SiteData, bundle: Bundle, order: FeedOrder, atom: bool) -> bytes:
    latest, parts = order.newest_parts(bundle.members, atom)
    return _put_together(site, bundle, latest, parts, atom)


class FeedOrder:
    """Picks a feed's newest items from its members' kept facts. A list's RSS and Atom
    carry the same items, so the last choice is kept for the next feed of the same
    members.

    A build after one change makes a few dozen feeds: each ranks its own members' items.
    A full build makes thousands, whose lists carry millions of members in all: once a
    process has ranked as many members as the site has, it puts every member in order
    once, by its newest item, and a feed then takes its FEED_ITEMS first members by that
    order (sorting their places, without a step of Python per member) and ranks only their
    items."""

    def __init__(self, shelf: Shelf, everyone: Sequence[Member]) -> None:
        self.shelf = shelf
        self.everyone = everyone  # every member of the site: each feed's are among them
        self._ranked = 0  # members ranked a feed at a time so far in this process
        self._order: list[Member] | None = None  # every member, newest item first
        self._place: dict[str, int] = {}  # a member's uid -> its place in that order
        self._last: tuple[Sequence[Member], list[tuple[Member, int]]] | None = None

    def newest_parts(
        self, members: Sequence[Member], atom: bool
    ) -> tuple[dt.datetime | None, list[memoryview]]:
        """When the newest of `members`' items changed (None: they have none), and the
        XML of their newest FEED_ITEMS items in one format, newest first, read straight
        from the shelf (a feed neither orders its items again nor copies their facts)."""
        chosen = self._chosen(members)
        if not chosen:
            return None, []
        shelf, side = self.shelf, int(atom)
        first, n = chosen[0]
        latest = shelf.facts(first)[n].updated
        return latest, [shelf.fragment(m, 2 * n + side) for m, n in chosen]

    def _chosen(self, members: Sequence[Member]) -> list[tuple[Member, int]]:
        """The newest FEED_ITEMS items of `members`, newest first: each its member and
        which of the member's items it is."""
        if self._last is not None and self._last[0] is members:
            return self._last[1]
        candidates = self._candidates(members)
        facts = self.shelf.facts
        ranked = heapq.nsmallest(
            FEED_ITEMS,
            (
                (one.rank, index, n)
                for index, member in enumerate(candidates)
                for n, one in enumerate(facts(member))
            ),
        )
        chosen = [(candidates[index], n) for _, index, n in ranked]
        self._last = (members, chosen)
        return chosen

    def _candidates(self, members: Sequence[Member]) -> Sequence[Member]:
        """Members holding every one of the newest FEED_ITEMS items of `members`: the
        FEED_ITEMS whose newest items are newest (each of those items is in one of them),
        once every member is in order; until then, and for a feed of no more, all of them."""
        if len(members) <= FEED_ITEMS:
            return members
        if self._order is None:
            self._ranked += len(members)
            if self._ranked <= len(self.everyone):
                return members
            self._put_in_order()
        assert self._order is not None
        order, place = self._order, self._place
        places = sorted(map(place.__getitem__, map(_uid, members)))
        return [order[at] for at in places[:FEED_ITEMS]]

    def _put_in_order(self) -> None:
        facts = self.shelf.facts

        def newest(member: Member) -> tuple[int, str]:
            return min((one.rank for one in facts(member)), default=(1, member.uid))

        self._order = sorted(self.everyone, key=newest)
        self._place = {member.uid: at for at, member in enumerate(self._order)}


_uid = attrgetter("uid")


FEEDS = Feeds()

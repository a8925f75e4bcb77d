"""Feeds for any combination of places, themes, commissioners and funding types:
`/feeds?place=leeds&place=harehills&theme=mental-health&format=ics`.

The same rules as the site's own lists: an opportunity is in a place's feed when that place
is in its reach; several values of one filter mean any of them, different filters must all
match. They are rendered by the same code as the static feeds, over the matching
opportunities, and only the feed's own addresses are changed to the filtered ones.

The matching opportunities come from an index made once per loaded site (`Index`): for each
value of each filter, the positions of the opportunities it picks, so a choice is answered
by joining and intersecting a few short lists, not by looking at every opportunity.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape

from publisher.formats import calendar, csv, data, feeds
from publisher.model.views import FUNDING_WORDS, Collection, Listing, OpportunityView, SiteData
from publisher.plans.model import Funding

KINDS = ("place", "theme", "commissioner", "funding")  # also the order of the title's parts
FORMATS = ("rss", "atom", "ics", "json", "csv")
# What the feed renderers are told the collection's path is; every address built from it
# is then replaced by the filtered feed's own. Nothing else in a feed contains it.
MARK = "feeds/filtered-feed-address"
FUNDING_SLUGS = tuple(f.value for f in Funding)


@dataclass(frozen=True)
class Choice:
    """What an organisation wants to hear about: slugs by kind, sorted, no repeats."""

    place: tuple[str, ...] = ()
    theme: tuple[str, ...] = ()
    commissioner: tuple[str, ...] = ()
    funding: tuple[str, ...] = ()

    def values(self, kind: str) -> tuple[str, ...]:
        value: tuple[str, ...] = getattr(self, kind)
        return value

    @property
    def empty(self) -> bool:
        return not any(self.values(kind) for kind in KINDS)

    def query(self) -> str:
        """The canonical query string: the same choice always gives the same address."""
        return urlencode([(kind, value) for kind in KINDS for value in self.values(kind)])

    def single(self) -> str | None:
        """The path of the site's own list when the choice is exactly one of them: its
        files are the same feeds, at a permanent address ('place/leeds')."""
        named = [f"{kind}/{value}" for kind in KINDS for value in self.values(kind)]
        return named[0] if len(named) == 1 else None

    def matches(self, view: OpportunityView) -> bool:
        if self.place and view.reach.isdisjoint(self.place):
            return False
        if self.theme and not any(theme.slug in self.theme for theme in view.themes):
            return False
        if self.commissioner and view.commissioner.id not in self.commissioner:
            return False
        funding = view.item.funding
        return not self.funding or (funding is not None and funding.value in self.funding)


@dataclass(frozen=True)
class Unknown:
    """A value in the address that names nothing: which, and where to find good ones."""

    kind: str  # place | theme | commissioner | funding | format
    value: str
    known: tuple[str, ...]


def known_values(site: SiteData, kind: str) -> tuple[str, ...]:
    if kind == "place":
        return tuple(sorted(site.places.by_slug))
    if kind == "theme":
        return tuple(sorted(site.themes))
    if kind == "commissioner":
        return tuple(c.id for c in site.commissioners)
    if kind == "funding":
        return FUNDING_SLUGS
    return FORMATS


def choose(site: SiteData, params: Iterable[tuple[str, str]]) -> Choice | Unknown:
    """The choice an address's query string makes; other parameters are ignored."""
    index = index_of(site)
    chosen: dict[str, set[str]] = {kind: set() for kind in KINDS}
    for key, given in params:
        if key not in chosen or not given:
            continue
        # A place may be named by its ONS code too.
        value = (site.places.resolve(given) or given) if key == "place" else given
        if value not in index.known_sets[key]:
            return Unknown(key, value, index.known[key])
        chosen[key].add(value)
    return Choice(**{kind: tuple(sorted(values)) for kind, values in chosen.items()})


def members(site: SiteData, choice: Choice) -> list[OpportunityView]:
    """The matching opportunities, in the site's list order (as the static feeds have them):
    `Choice.matches` over every opportunity, answered from the site's index."""
    index = index_of(site)
    groups: list[Sequence[int]] = []
    for kind in KINDS:
        values = choice.values(kind)
        if values:
            groups.append(index.picked(kind, values))
    if not groups:
        return list(site.opportunities)
    groups.sort(key=len)
    first, rest = groups[0], [frozenset(group) for group in groups[1:]]
    views = site.opportunities
    return [views[at] for at in first if all(at in other for other in rest)]


@dataclass
class Index:
    """For each filter (KINDS) and each of its values, the positions in the site's list of
    the opportunities the value picks, ascending; and the values each filter knows."""

    opportunities: list[OpportunityView]  # the list indexed, to tell when it is replaced
    positions: dict[str, dict[str, tuple[int, ...]]]
    known: dict[str, tuple[str, ...]]
    known_sets: dict[str, frozenset[str]] = field(init=False)

    def __post_init__(self) -> None:
        self.known_sets = {kind: frozenset(values) for kind, values in self.known.items()}

    @classmethod
    def of(cls, site: SiteData) -> Index:
        positions: dict[str, dict[str, list[int]]] = {kind: {} for kind in KINDS}
        for at, view in enumerate(site.opportunities):
            funding = view.item.funding
            for kind, values in (
                ("place", view.reach),
                ("theme", {theme.slug for theme in view.themes}),
                ("commissioner", (view.commissioner.id,)),
                ("funding", (funding.value,) if funding is not None else ()),
            ):
                table = positions[kind]
                for value in values:
                    table.setdefault(value, []).append(at)
        return cls(
            site.opportunities,
            {kind: {v: tuple(at) for v, at in table.items()} for kind, table in positions.items()},
            {kind: known_values(site, kind) for kind in (*KINDS, "format")},
        )

    def picked(self, kind: str, values: Sequence[str]) -> Sequence[int]:
        """The positions picked by any of the values, ascending."""
        table = self.positions[kind]
        if len(values) == 1:
            return table.get(values[0], ())
        return sorted(set().union(*(table.get(value, ()) for value in values)))


# One index per loaded site, dropped with it. SiteData cannot be a dictionary key (it is
# a mutable dataclass), so the index is kept by the site's id while the site lives.
_indexes: dict[int, tuple[weakref.ref[SiteData], Index]] = {}


def index_of(site: SiteData) -> Index:
    """The site's index, made the first time it is asked for."""
    kept = _indexes.get(id(site))
    if kept is not None and kept[0]() is site and kept[1].opportunities is site.opportunities:
        return kept[1]
    index = Index.of(site)
    if kept is None:
        weakref.finalize(site, _indexes.pop, id(site), None)
    _indexes[id(site)] = (weakref.ref(site), index)
    return index


def listing(site: SiteData, choice: Choice) -> Listing:
    """A list for the feed renderers to title: led by the first kind chosen, named so that
    the feed title reads 'Opportunities in Leeds about mental health'."""
    lead = next(kind for kind in KINDS if choice.values(kind))
    names = {c.id: c.name for c in site.commissioners}
    name = feeds.macro(
        "filtered.txt",
        "name",
        lead,
        [site.places.name(slug) for slug in choice.place],
        [site.themes[slug].name for slug in choice.theme],
        [names[slug] for slug in choice.commissioner],
        list(choice.funding),
    )
    if lead == "funding" and len(choice.funding) == 1:
        name = FUNDING_WORDS[Funding(choice.funding[0])]
    return Listing(lead, "+".join(choice.values(lead)), name)


@dataclass(frozen=True)
class Filtered(Collection):
    """A collection the renderers give a placeholder address; see MARK."""

    @property
    def path(self) -> str:
        return MARK


def collection(site: SiteData, choice: Choice) -> Filtered:
    return Filtered(listing(site, choice), members(site, choice))


def title(site: SiteData, choice: Choice) -> str:
    """The feed's title: 'Opportunities in Leeds or Harehills about mental health'."""
    if choice.empty:
        return feeds.title(site.everything)
    return feeds.title(collection(site, choice))


def links(site: SiteData, choice: Choice) -> dict[str, str]:
    """The full addresses of the choice's feeds ('rss', 'atom', 'ics', 'json', 'csv'), its list
    ('html', the embeddable list) and its page on this site ('subscribe')."""
    query = choice.query()
    out = {fmt: site.link(f"feeds?{query}&format={fmt}") for fmt in FORMATS}
    out["html"] = site.link(f"embed?{query}")
    out["subscribe"] = site.link(f"subscribe?{query}")
    return out


def render(site: SiteData, choice: Choice, fmt: str) -> bytes:
    """The filtered feed in one of FORMATS."""
    chosen = collection(site, choice)
    own = links(site, choice)
    swaps = [
        (site.link(f"{MARK}.{kind}"), own[kind]) for kind in (*FORMATS, "html") if kind != "json"
    ]
    swaps.append((feeds.tag(site, f"feeds/{MARK}"), feeds.tag(site, f"feeds?{choice.query()}")))
    if fmt in ("rss", "atom"):
        body = feeds.rss(site, chosen) if fmt == "rss" else feeds.atom(site, chosen)
        return _swap(body, [(escape(old), escape(new)) for old, new in swaps])
    if fmt == "ics":
        return _swap_calendar(calendar.ics(site, chosen), swaps)
    if fmt == "csv":  # a spreadsheet names no address of its own
        return csv.spreadsheet(site, chosen.members)
    return _json(site, chosen, choice, own)


def _swap(body: bytes, swaps: list[tuple[str, str]]) -> bytes:
    for old, new in swaps:
        body = body.replace(old.encode("utf-8"), new.encode("utf-8"))
    return body


def _swap_calendar(body: bytes, swaps: list[tuple[str, str]]) -> bytes:
    """The calendar's own properties come before its time zone; they are unfolded, changed
    and folded again, as icalendar folds them."""
    at = body.index(b"BEGIN:VTIMEZONE")
    head = body[:at].decode("utf-8").replace("\r\n ", "")
    for old, new in swaps:
        head = head.replace(old, new)
    lines = head.split("\r\n")[:-1]
    return "".join(calendar.fold(line) + "\r\n" for line in lines).encode("utf-8") + body[at:]


def _json(site: SiteData, chosen: Filtered, choice: Choice, own: dict[str, str]) -> bytes:
    """data.as_json's document with the filtered feed's own `collection`. The list of
    opportunities is kept as rendered; only the head before it is made again."""
    whole = data.as_json(site, chosen)
    document: dict[str, Any] = data.document(site, chosen, with_opportunities=False)
    head = data.dumps(document)[: -len(data.EMPTY_TAIL)]
    if not whole.startswith(head):
        raise AssertionError("data.as_json no longer starts with data.document's head")
    assert chosen.listing is not None
    feed_title = feeds.title(chosen)
    document["collection"] = {
        "kind": chosen.listing.kind,
        "slug": None,
        "title": feed_title,
        "feed_title": feed_title,
        "path": f"feeds?{choice.query()}",
        "links": {kind: own[kind] for kind in data.FORMATS},
        "filters": {kind: list(choice.values(kind)) for kind in KINDS},
    }
    new_head = data.dumps(document)[: -len(data.EMPTY_TAIL)]
    return new_head + whole[len(head) :]

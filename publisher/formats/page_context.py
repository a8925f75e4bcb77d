"""What the page templates are given besides the views: links from one page to another,
dates and weeks in the pages' words, jargon linked to the glossary on first use, each
notice's timeline, and the glossary's groups. pages.py renders the pages with them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from markupsafe import Markup, escape

from publisher.model.transparency import MEDIUM_LIMIT, SMALL_LIMIT
from publisher.model.views import KeyDate, OpportunityView, SiteData, State
from publisher.plans.characters import scrub
from publisher.plans.dates import MONTHS, PlanDate, Precision
from publisher.plans.language import JargonIndex
from publisher.plans.model import CurrentProvider, EngagementEvent, Organisation, Route
from publisher.plans.reference import Glossary, GlossaryTerm, Places
from publisher.text import slots, templates, words
from publisher.text.words import FIRST_WORD

# Groups of the glossary page, in page order: routes by the rules they come under, then
# funding types, then every other word.
ROUTE_GROUPS: dict[str, frozenset[Route]] = {
    "psr": frozenset(
        {
            Route.DIRECT_AWARD_A,
            Route.DIRECT_AWARD_B,
            Route.DIRECT_AWARD_C,
            Route.MOST_SUITABLE_PROVIDER,
            Route.COMPETITIVE,
        }
    ),
    "procurement-act": frozenset(
        {Route.OPEN, Route.COMPETITIVE_FLEXIBLE, Route.DIRECT_AWARD, Route.LIGHT_TOUCH}
    ),
    "together": frozenset({Route.ALLIANCE_CONTRACT, Route.INNOVATION_PARTNERSHIP}),
    "grants": frozenset(
        {Route.OPEN_GRANT_ROUND, Route.INVITED_GRANT, Route.GRANT_VIA_INFRASTRUCTURE_BODY}
    ),
    "undecided": frozenset({Route.UNDECIDED}),
}


def relative(from_page: str, to_path: str) -> str:
    """The link from one site page to another site path, relative so the site can live
    under any sub-path: ('opportunities/x/y.html', 'glossary.html#lot') ->
    '../../glossary.html#lot'."""
    path, hash_, fragment = to_path.partition("#")
    if not path:
        return from_page.rsplit("/", 1)[-1] + hash_ + fragment
    return _from_folder(from_page.rpartition("/")[0], path) + hash_ + fragment


@lru_cache(maxsize=16384)
def _from_folder(folder: str, path: str) -> str:
    """The link from a page in `folder` ('' at the top) to a site path: pages of one folder
    share every link, so this is worked out once per folder, not once per page."""
    here = folder.split("/") if folder else []
    there = path.split("/")
    common = 0
    while common < min(len(here), len(there) - 1) and here[common] == there[common]:
        common += 1
    return "/".join([".."] * (len(here) - common) + there[common:])


def as_day(value: dt.date) -> str:
    """A calendar date the way notices write one: '4 May 2026'."""
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def until(end: PlanDate, start: PlanDate) -> str:
    """When an event ends: just the time when it ends on the day it starts."""
    same_day = (end.year, end.month, end.day) == (start.year, start.month, start.day)
    if same_day and end.precision is Precision.MINUTE:
        assert end.hour is not None and end.minute is not None
        return words.clock(end.hour, end.minute)
    return words.when(end)


def upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def weeks_between(start: dt.date, end: dt.date) -> int:
    # Worked out from whole weeks compared, not days subtracted: a build that watches how
    # it reads the day (builder/days.py) then knows the answer changes only once a week.
    weeks = max((dt.date.toordinal(end) - dt.date.toordinal(start)) // 7, 0)
    if not start + dt.timedelta(weeks=weeks) <= end < start + dt.timedelta(weeks=weeks + 1):
        return 0  # end is before start
    return weeks


# --- jargon: linked to the glossary on first use ---------------------------------------

_INDEXES: dict[int, tuple[Glossary, JargonIndex]] = {}


def jargon_index(glossary: Glossary) -> JargonIndex:
    """The jargon finder for a glossary, built once per glossary."""
    known = _INDEXES.get(id(glossary))
    if known is None or known[0] is not glossary:
        known = (glossary, JargonIndex.build(glossary))
        _INDEXES[id(glossary)] = known
    return known[1]


@dataclass
class Terms:
    """Links glossary words on one page: each jargon word is linked where it is first used,
    so a reader can always find out what it means."""

    glossary: Glossary
    index: JargonIndex
    href: Callable[[str], str]
    linked: set[str] = field(default_factory=set)

    def term(self, slug: str, text: str | None = None) -> Markup:
        """A link to a glossary entry, with `text` (default: the term) as the link text."""
        entry = self.glossary.by_slug.get(slug)
        if entry is None:
            return escape(scrub(text or slug))
        self.linked.add(slug)
        return self._anchor(entry, text if text is not None else entry.term)

    def link(self, text: str) -> Markup:
        """`text` escaped, with the first use on this page of each jargon word linked."""
        text = scrub(text)  # Markup skips the environment's `finalize`
        out: list[str] = []
        position = 0
        for match, entry in self.index.find(text):
            if entry.slug in self.linked or match.start() < position:
                continue
            self.linked.add(entry.slug)
            out.append(escape(text[position : match.start()]))
            out.append(self._anchor(entry, text[match.start() : match.end()]))
            position = match.end()
        out.append(escape(text[position:]))
        return Markup("".join(out))

    def _anchor(self, entry: GlossaryTerm, text: str) -> Markup:
        url = escape(self.href(f"glossary.html#{entry.slug}"))
        return Markup(f'<a class="term" href="{url}">{escape(scrub(text))}</a>')


# --- facts the pages show, worked out -----------------------------------------------------


@dataclass(frozen=True)
class Moment:
    """One line of a notice's timeline: a key date, an engagement event or a contract end."""

    date: PlanDate
    kind: str  # key | event | contract-ends
    key: KeyDate | None = None
    event: EngagementEvent | None = None
    host: Organisation | None = None
    provider: CurrentProvider | None = None


def timeline(site: SiteData, view: OpportunityView) -> list[Moment]:
    """Key dates, engagement events and the current contract's end, in date order."""
    moments = [Moment(key.date, "key", key=key) for key in view.key_dates]
    for event in view.item.dates.engagement:
        host = site.organisations.get(event.host) if event.host is not None else None
        moments.append(Moment(event.start, "event", event=event, host=host))
    provider = view.item.current_provider
    if provider is not None and provider.contract_ends is not None:
        moments.append(Moment(provider.contract_ends, "contract-ends", provider=provider))
    order = {"event": 0, "contract-ends": 1, "key": 2}
    return sorted(moments, key=lambda m: (m.date.start, m.date.end, order[m.kind]))


def other_unknowns(view: OpportunityView) -> list[tuple[str, str]]:
    """Reasons the plan gives for things it leaves out that are not expected gaps."""
    gaps = {gap.field for gap in view.gaps}
    return [(name, why) for name, why in view.item.unknown.items() if name not in gaps]


def glossary_groups(glossary: Glossary) -> list[tuple[str, list[GlossaryTerm]]]:
    """The glossary's terms in the page's groups: routes by their rules, funding, the rest."""
    groups: list[tuple[str, list[GlossaryTerm]]] = [
        (name, [t for t in glossary.terms if t.route in routes])
        for name, routes in ROUTE_GROUPS.items()
    ]
    groups.append(("funding", [t for t in glossary.terms if t.funding is not None]))
    rest = [t for t in glossary.terms if t.route is None and t.funding is None]
    groups.append(("words", sorted(rest, key=lambda t: t.term.lower())))
    return [(name, terms) for name, terms in groups if terms]


def _plain(name: str) -> str:
    return re.sub(r"[\s-]+", "", name.lower()).rstrip("s")


def other_names(term: GlossaryTerm) -> list[str]:
    """The other names a term goes by, less plurals and spellings of the same words."""
    seen = {_plain(term.term)}
    out: list[str] = []
    for name in term.also:
        if _plain(name) not in seen:
            seen.add(_plain(name))
            out.append(name)
    return out


def short_names(term: GlossaryTerm) -> list[str]:
    """A term's abbreviations, less their plurals: 'ITT', not 'ITTs'."""
    names = term.abbreviations
    return [a for a in names if not (a.endswith("s") and a[:-1] in names)]


_PROPER: list[tuple[object, object, object, frozenset[str]]] = []


def proper_words(site: SiteData) -> frozenset[str]:
    """What keeps its capital letter at the start of a title inside a sentence: the first
    words of the names of places and commissioners ('Leeds', 'NHS'), and organisations'
    whole names (their first words are often plain words: 'Community Action Bradford'
    keeps its capital, 'Community health champions' does not). Worked out once for a
    build's places, commissioners and organisations, not again for each plan file's site
    (a country lists some 1,700 places)."""
    if site.commissioner_names is None:
        return _proper_words(site)
    inputs = (site.places, site.commissioner_names, site.organisations)
    if not _PROPER or any(a is not b for a, b in zip(_PROPER[0][:3], inputs, strict=True)):
        _PROPER[:] = [(*inputs, _proper_words(site))]
    return _PROPER[0][3]


def _proper_words(site: SiteData) -> frozenset[str]:
    names = [site.places.name(slug) for slug in site.places]
    if site.commissioner_names is not None:
        names += site.commissioner_names
    else:
        names += [c.name for c in site.commissioners]
    found = (FIRST_WORD.match(name) for name in names)
    words = {m.group(0) for m in found if m is not None}
    return frozenset(words | {o.name for o in site.organisations.values()})


# The pages' own helpers, in the one set every template shares (publisher/text/templates.py,
# which also scrubs each value an HTML template writes).
templates.share(
    filters={"day": as_day, "until": until, "upper_first": upper_first, **slots.FILTERS},
    globals={
        "weeks_between": weeks_between,
        "other_names": other_names,
        "short_names": short_names,
        "size_limits": {"small": SMALL_LIMIT, "medium": MEDIUM_LIMIT},
    },
)


# --- finding your own: groups by when, and a place's opportunities by how far they reach ---

# The groups of current opportunities, in page order: open now, opening soon (within
# model.views.SOON), later (further ahead, no opening date, or closed and being decided).
GROUPS = ("open", "soon", "later")
FIRST_CARDS = 2  # cards each group shows on the home page, before a link to all of them:
# with the form and the lists, the home page stays a few screens long on a phone
_GROUP_OF = {State.OPEN: "open", State.OPENING_SOON: "soon"}


def group_of(view: OpportunityView) -> str:
    """Which group a current opportunity is in, from its state (worked out from its dates
    as well as its status: one whose dates say it is open is open, whatever the plan says)."""
    return _GROUP_OF.get(view.state, "later")


def place_group(own: Sequence[str], place: str, places: Places) -> str:
    """Where an opportunity on `place`'s page is for, from its own places: 'in' the place
    (or a place inside it), else the nearest wider place it is for ('leeds'), else 'in'
    (an opportunity for somewhere that reaches the place some other way)."""
    for slug in own:
        if place in places.chain(slug):
            return "in"
    wider = places.chain(place)[1:]
    for slug in wider:
        if slug in own:
            return slug
    return "in"

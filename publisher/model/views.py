"""What the site shows, worked out once from the plans: the facts every page, feed,
calendar and JSON file is rendered from. No wording here beyond labels; sentences live in
templates/.

Over 400 lines on purpose: these types are the published model's vocabulary (an
opportunity's state, its dates, its lists), used together by every format; how a view is
worked out from a plan entry is in from_plan.py.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from functools import cached_property
from urllib.parse import urlencode

from publisher.plans.dates import PlanDate
from publisher.plans.model import (
    GRANT_FUNDING,
    Contact,
    Funding,
    Opportunity,
    Organisation,
    Status,
    Theme,
)
from publisher.plans.reference import Glossary, GlossaryTerm, Places
from publisher.plans.routes import Steps, steps
from publisher.settings import DEFAULT_OCID_PREFIX

KIND_WORDS = {
    "icb": "NHS Integrated Care Board",
    "council": "Council",
    "nhs-trust": "NHS trust",
    "other": "Public body",
}
STATUS_WORDS = {
    Status.IDEA: "Early idea",
    Status.PLANNING: "Being planned",
    Status.ENGAGEMENT: "Being shaped with local groups",
    Status.OPEN: "Open now",
    Status.EVALUATING: "Choosing who will run it",
    Status.AWARDED: "Awarded",
    Status.CANCELLED: "Cancelled",
}
FUNDING_WORDS = {
    Funding.CONTRACT: "Contract",
    Funding.GRANT: "Grant",
    Funding.GRANT_PROGRAMME: "Grant programme",
    Funding.UNDECIDED: "Not decided yet",
}
DATE_LABELS = {
    # (contract label, grant label)
    "tender_opens": ("Tender opens", "Applications open"),
    "tender_closes": ("Closing date for bids", "Closing date for applications"),
    "decision": ("Provider chosen", "Decision on applications"),
    "service_starts": ("Service starts", "Funding starts"),
}
REQUIREMENT_LABELS = {
    "minimum_turnover": "Minimum yearly income (turnover)",
    "reserves": "Minimum reserves",
    "insurance": "Insurance cover",
    "data_security_toolkit": "NHS Data Security and Protection Toolkit",
    "cqc_registration": "Registration with the Care Quality Commission (CQC)",
}


_SETTLED = frozenset({Status.AWARDED, Status.CANCELLED})
# How near an opening date must be for "Opening soon" (the rest are "Later"): about three
# months, long enough to get ready for a bid, the same for every commissioner so the home
# page's groups mean one thing.
SOON = dt.timedelta(weeks=13)


class State(StrEnum):
    """Where an opportunity is today, worked out from its dates as well as its `status`:
    what lists group and order by, and what a notice's "What to do now" says."""

    OPEN = "open"  # open to bids or applications today
    OPENING_SOON = "opening-soon"  # opens within SOON (or was due to and has not said)
    LATER = "later"  # opens later, or no opening date yet
    CLOSED = "closed"  # the closing date has passed; no decision yet
    AWARDED = "awarded"
    CANCELLED = "cancelled"
    WITHDRAWN = "withdrawn"  # taken out of the plan


class Behind(StrEnum):
    """How a plan's `status` has fallen behind its own dates."""

    OPENED = "opened"  # the opening day has come, the status still says not yet
    CLOSED = "closed"  # the closing date has passed, the status still says open (or not yet)
    OVERDUE = "overdue"  # an approximate opening date has wholly passed, still not open


@dataclass(frozen=True)
class Stale:
    """A plan whose `status` disagrees with its dates: the site shows what the dates say,
    and says plainly that the plan has not been updated."""

    behind: Behind
    says: Status  # what the plan's status says
    date: PlanDate  # the plan's date that has come or passed
    since: dt.date  # the first day the dates and the status disagreed
    updated: dt.date | None  # the plan's last change (git), else first publication

    @property
    def says_words(self) -> str:
        return STATUS_WORDS[self.says]


@dataclass(frozen=True)
class Listing:
    """A list page and its feeds: a place, a theme, a commissioner or a funding type."""

    kind: str  # place | theme | commissioner | funding
    slug: str
    name: str
    description: str | None = None

    @property
    def path(self) -> str:
        """The shared stem of its URLs: place/leeds -> place/leeds.html, .rss, .ics ..."""
        return f"{self.kind}/{self.slug}"


@dataclass(frozen=True)
class CommissionerView:
    id: str
    name: str
    kind: str
    website: str | None
    contact: Contact | None
    notice_weeks: int
    example: bool
    source: str  # the plan file's name in the plans folder (the same from any folder)
    # the plan file's newest version has errors: the day of the last good one, published
    held_from: dt.date | None = None

    @classmethod
    def gone(cls, id: str, name: str = "") -> CommissionerView:
        """A body whose plan file is no longer there: known only by its id (and name)."""
        return cls(id, name or id, "other", None, None, 12, False, "")

    @property
    def kind_words(self) -> str:
        return KIND_WORDS[self.kind]

    @property
    def listing(self) -> Listing:
        return Listing("commissioner", self.id, self.name)


@dataclass(frozen=True)
class KeyDate:
    field: str
    label: str
    date: PlanDate


@dataclass(frozen=True)
class Gap:
    field: str
    what: str  # what is not known, in plain words
    reason: str | None


@dataclass(frozen=True)
class Requirement:
    field: str
    label: str
    required: bool
    amount: float | None
    why: str | None


@dataclass(frozen=True)
class NoticeGiven:
    published: dt.date
    weeks: int
    promised_weeks: int
    short: bool
    reason: str | None
    opens: PlanDate


@dataclass(frozen=True)
class ChangeLine:
    """One entry of a notice's "What has changed": a commit's changes to it, in words."""

    day: dt.date
    id: str  # stable: the commit and the change's place in it
    text: str
    news: bool  # announced to subscribers (not only shown on the notice)
    kind: str


@dataclass(frozen=True)
class SupportOffer:
    by: str
    name: str
    website: str | None
    what: str
    link: str | None


@dataclass(frozen=True)
class OpportunityView:
    """One opportunity with everything its notice says, worked out."""

    commissioner: CommissionerView
    item: Opportunity
    places: tuple[Listing, ...]
    themes: tuple[Listing, ...]
    route: GlossaryTerm | None
    funding_term: GlossaryTerm | None
    key_dates: tuple[KeyDate, ...]
    gaps: tuple[Gap, ...]
    requirements: tuple[Requirement, ...]
    notice: NoticeGiven | None
    support: tuple[SupportOffer, ...]
    reach: frozenset[str]  # every place slug whose subscribers hear of it
    # where it is today, from its dates as well as its status (from_plan.state_of)
    state: State
    # while open: its closing day, when the plan names the day (see `days_left`)
    open_until: dt.date | None
    stale: Stale | None  # its status is behind its dates
    last_changed: dt.date | None = None  # its last change in git, not counting wording
    published: dt.date | None = None  # first published, from git
    changes: tuple[ChangeLine, ...] = ()  # newest first
    withdrawn: dt.date | None = None  # taken out of the plan on this day
    earlier: tuple[tuple[dt.date, Opportunity], ...] = ()  # versions that were news before
    # An example plan's entry as its file wrote it, before its dates were moved to today
    # (plans/examples.py): what notify compares and records, so the move is never news
    written: Opportunity | None = None
    # the day it was worked out for (a build's watched day); not compared or hashed
    as_of: dt.date | None = field(default=None, compare=False)

    @property
    def days_left(self) -> int | None:
        """While open, days to the closing day (0: it closes today), when the plan names the
        day. Pages say it through a slot (text/slots.py): reading it reads the whole day."""
        if self.open_until is None or self.as_of is None:
            return None
        return (self.open_until - self.as_of).days

    @property
    def history(self) -> OpportunityHistory:
        """What git told about it, to work the view out again after an edit."""
        return OpportunityHistory(
            self.published, self.last_changed, self.changes, self.withdrawn, self.earlier
        )

    @property
    def uid(self) -> str:
        """Stable forever: the commissioner's id and the opportunity's id."""
        return f"{self.commissioner.id}/{self.item.id}"

    @property
    def url(self) -> str:
        return f"opportunities/{self.commissioner.id}/{self.item.id}.html"

    @property
    def is_grant(self) -> bool:
        return self.item.funding in GRANT_FUNDING

    @property
    def steps(self) -> Steps:
        """What its route has: a tender or a round, an intention to award and standstill."""
        return steps(self.item.route, self.item.funding)

    @property
    def standstill_ends(self) -> PlanDate | None:
        """The last day of the standstill after the intention to award, where worked out."""
        return next((k.date for k in self.key_dates if k.field == "standstill_ends"), None)

    @property
    def is_current(self) -> bool:
        """Shown on the lists: not yet awarded, nor cancelled, nor withdrawn."""
        return self.item.status not in _SETTLED and self.withdrawn is None

    @property
    def is_cancelled(self) -> bool:
        """Will not go ahead: cancelled, or taken out of the plan (calendars drop its dates)."""
        return self.item.status is Status.CANCELLED or self.withdrawn is not None

    @property
    def status(self) -> Status:
        """The status the dates bear out: open when the opening day has come, choosing
        (evaluating) when the closing date has passed, whatever the plan's `status` says.
        Templates show this one; `item.status` is what the plan says."""
        if self.state is State.OPEN:
            return Status.OPEN
        if self.state is State.CLOSED:
            return Status.EVALUATING
        return self.item.status

    @property
    def status_words(self) -> str:
        return STATUS_WORDS[self.status]

    @property
    def is_open(self) -> bool:
        return self.state is State.OPEN

    @property
    def alerts_query(self) -> str:
        """The subscribe page's query for news of opportunities like this one: its
        commissioner's, in its places ('commissioner=leeds-city-council&place=leeds')."""
        pairs = [("commissioner", self.commissioner.id)]
        pairs += [("place", place.slug) for place in self.places]
        return urlencode(pairs)

    @property
    def funding(self) -> Listing | None:
        funding = self.item.funding
        if funding is None:
            return None
        return Listing("funding", funding.value, FUNDING_WORDS[funding])

    @property
    def closes(self) -> PlanDate | None:
        return self.item.dates.tender_closes

    @property
    def opens(self) -> PlanDate | None:
        return self.item.dates.tender_opens

    @property
    def first_seen(self) -> dt.date | None:
        """When the public first saw it, as far as is recorded: its `first_published`, else
        the first commit that had it."""
        if self.item.first_published is not None:
            return self.item.first_published.first_day
        return self.published

    def sort_key(self) -> tuple[int, int, int, str]:
        """Open today first, closing soonest first (no closing date: last of those); then
        the newest, by when first seen, the sooner opening first among those seen the same
        day; then by id, so the order never shuffles."""
        closes = self.closes
        if self.state is State.OPEN:
            closing = closes.first_day if closes is not None else dt.date.max
            return (0, closing.toordinal(), 0, self.uid)
        seen = self.first_seen
        opens = self.opens
        return (
            1,
            -seen.toordinal() if seen is not None else 0,
            opens.first_day.toordinal() if opens is not None else dt.date.max.toordinal(),
            self.uid,
        )


class Scope:
    """What a collection's files say about the collection itself, whatever its members are
    held as (views while reading, kept parts while assembling): the stem of its URLs and
    its title, from its list page (None: everything)."""

    listing: Listing | None

    @property
    def path(self) -> str:
        """The stem of its URLs: 'all' -> all.rss; 'place/leeds' -> place/leeds.rss."""
        return self.listing.path if self.listing is not None else "all"

    @property
    def title(self) -> str:
        return self.listing.name if self.listing is not None else "All opportunities"


@dataclass(frozen=True)
class Collection(Scope):
    """A set of opportunities published together: everything, or one list page's."""

    listing: Listing | None  # None for everything
    members: list[OpportunityView]


@dataclass
class SiteData:
    """Everything a build renders, in a fixed order so that output is deterministic."""

    opportunities: list[OpportunityView]
    commissioners: list[CommissionerView]
    places: Places
    themes: dict[str, Theme]
    glossary: Glossary
    organisations: dict[str, Organisation]
    today: dt.date
    base_url: str = "http://localhost:8000/"  # absolute links in feeds, calendars and JSON
    skipped: list[str] = field(default_factory=list)  # plan files not published (errors)
    held: list[str] = field(default_factory=list)  # with errors: their last good version shown
    # calendar event UID -> (what its dates were, SEQUENCE) in the site this build replaces,
    # so SEQUENCE rises when a date moves and stays put when nothing changed
    sequences: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    history_note: str | None = None  # why there is no history from git, or only some
    # every commissioner's name, when the site is rendered a plan file at a time and
    # `commissioners` holds only that file's (the first words of names keep their capitals)
    commissioner_names: tuple[str, ...] | None = None
    # what this site's OCDS ocids start with: the publisher's registered prefix
    ocid_prefix: str = DEFAULT_OCID_PREFIX

    def link(self, path: str) -> str:
        """The absolute URL of a site path: 'place/leeds.rss' -> 'https://.../place/leeds.rss'."""
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    @cached_property
    def everything(self) -> Collection:
        return Collection(None, self.opportunities)

    def collections(self) -> list[Collection]:
        """'all' and one per list page: each gets .html, .rss, .atom, .ics and .json."""
        return [self.everything] + [Collection(x, self.members(x)) for x in self.listings]

    @cached_property
    def listings(self) -> list[Listing]:
        """Every list page the site has, in URL order."""
        out = [Listing("place", slug, p.name) for slug, p in sorted(self.places.by_slug.items())]
        out += [
            Listing("theme", slug, t.name, t.description) for slug, t in sorted(self.themes.items())
        ]
        out += [c.listing for c in sorted(self.commissioners, key=lambda c: c.id)]
        out += [Listing("funding", f.value, FUNDING_WORDS[f]) for f in Funding]
        return out

    @cached_property
    def _by_listing(self) -> dict[str, list[OpportunityView]]:
        index: dict[str, list[OpportunityView]] = {}
        for view in self.opportunities:  # already in list order, so each list is too
            for path in listed_on(view):
                index.setdefault(path, []).append(view)
        return index

    def members(self, listing: Listing) -> list[OpportunityView]:
        """The opportunities a list page (and its feeds) carries, in list order."""
        return self._by_listing.get(listing.path, [])


# What an opportunity's view takes from its plan file (its bytes, or an example plan's
# dates as moved), the file's history in git and the site's reference files alone: the
# same whatever the day. Every other field, a new one too, may be worked out with the day.
SAME_ANY_DAY = frozenset(
    {"commissioner", "item", "places", "themes", "reach", "written", "earlier", "as_of"}
)
_day_fields = operator.attrgetter(
    *(one.name for one in fields(OpportunityView) if one.name not in SAME_ANY_DAY)
)


def day_facts(view: OpportunityView) -> str:
    """What another day's reading of the same plan file may change in `view`, as text
    (repr: none of these is a set, whose order would differ between processes)."""
    return repr(_day_fields(view))


def listed_on(view: OpportunityView) -> tuple[str, ...]:
    """The list pages (by path: 'place/leeds') whose lists and feeds carry an opportunity:
    each place it reaches, each theme, its commissioner and its type of funding."""
    paths = [f"place/{slug}" for slug in sorted(view.reach)]
    paths += [theme.path for theme in view.themes]
    paths.append(view.commissioner.listing.path)
    if view.item.funding is not None:
        paths.append(f"funding/{view.item.funding.value}")
    return tuple(dict.fromkeys(paths))


@dataclass(frozen=True)
class OpportunityHistory:
    """What git tells about an opportunity (nothing, outside a git repository)."""

    published: dt.date | None = None
    last_changed: dt.date | None = None
    changes: tuple[ChangeLine, ...] = ()
    withdrawn: dt.date | None = None
    earlier: tuple[tuple[dt.date, Opportunity], ...] = ()

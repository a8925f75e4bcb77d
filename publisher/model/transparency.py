"""A commissioner's transparency record: its gaps and how long they have stayed open, its
notice record against its promise, and what its plan holds for small local groups."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from publisher.model.psr_summary import PsrSummary, psr_summary
from publisher.model.views import (
    FUNDING_WORDS,
    STATUS_WORDS,
    CommissionerView,
    Gap,
    Listing,
    OpportunityView,
    SiteData,
)
from publisher.plans.model import Amount, Duration, Funding, Money, Range
from publisher.plans.reference import GlossaryTerm

# Contract sizes against what a small local organisation can take on, by money a year.
SMALL_LIMIT = 100_000
MEDIUM_LIMIT = 500_000
SIZE_BANDS = ("small", "medium", "large", "unknown")


def _middle(value: Amount) -> float:
    return (value.min + value.max) / 2 if isinstance(value, Range) else value


def _years(duration: Duration | None) -> float | None:
    if duration is None:
        return None
    return (duration.years or 0) + (duration.months or 0) / 12


def yearly(money: Money | None, duration: Duration | None) -> float | None:
    """Money a year, as near as the plan says: the middle of a range; a total over the years."""
    if money is None:
        return None
    if money.per_year is not None:
        return _middle(money.per_year)
    total = whole(money, None)
    years = _years(duration)
    if total is None or not years:
        return None
    return total / years if years > 1 else total


def whole(money: Money | None, duration: Duration | None) -> float | None:
    """Money in total: the total, or the middle of a range, or a year's times the years."""
    if money is None:
        return None
    if money.total is not None:
        return _middle(money.total)
    if money.min is not None and money.max is not None:
        return (money.min + money.max) / 2
    years = _years(duration)
    if money.per_year is None or years is None:
        return None
    return _middle(money.per_year) * years


def size_band(per_year: float | None) -> str:
    if per_year is None:
        return "unknown"
    if per_year < SMALL_LIMIT:
        return "small"
    return "medium" if per_year <= MEDIUM_LIMIT else "large"


@dataclass(frozen=True)
class GapOpen:
    view: OpportunityView
    gap: Gap
    since: dt.date | None  # when the opportunity was first published, where recorded


@dataclass(frozen=True)
class PlaceMoney:
    place: Listing
    count: int
    per_year: float
    total: float
    unknown: int  # opportunities here with no amount


@dataclass(frozen=True)
class Record:
    """A commissioner's transparency record, counted from its opportunities."""

    commissioner: CommissionerView
    opportunities: list[OpportunityView]
    current: list[OpportunityView]
    gaps: list[GapOpen]
    notices: list[OpportunityView]
    short: int
    by_status: list[tuple[str, int]]
    by_route: list[tuple[GlossaryTerm | None, int]]
    by_funding: list[tuple[Listing | None, int]]
    grants: int
    lotted: int
    consortia: int
    subcontracting: int
    sizes: list[tuple[str, int, int]]  # band, opportunities, parts a group can bid for
    by_place: list[PlaceMoney]
    # opportunities whose status has fallen behind their dates, longest behind first
    stale: list[OpportunityView] = field(default_factory=list)
    psr: PsrSummary | None = None  # the Provider Selection Regime summary, if it has any

    def stale_since(self) -> dt.date | None:
        """The first day the longest-stale opportunity's status fell behind its dates (its
        days counted as the page is written: text/slots.py)."""
        return min((v.stale.since for v in self.stale if v.stale is not None), default=None)


def record(site: SiteData, commissioner: CommissionerView, views: list[OpportunityView]) -> Record:
    """The record of `commissioner`, from its opportunities (`views`)."""
    mine = sorted(views, key=lambda v: v.item.id)
    current = [v for v in mine if v.is_current]
    planned = [v for v in mine if not v.is_cancelled]
    gaps = [GapOpen(v, gap, v.first_seen) for v in current for gap in v.gaps]
    notices = [v for v in mine if v.notice is not None]
    statuses = Counter(v.status_words for v in mine)
    by_status = [(words_, statuses[words_]) for words_ in STATUS_WORDS.values() if statuses[words_]]
    routes = Counter(v.route.slug if v.route is not None else None for v in mine)
    by_route: list[tuple[GlossaryTerm | None, int]] = [
        (t, routes[t.slug]) for t in site.glossary.terms if t.route and routes[t.slug]
    ]
    if routes[None]:
        by_route.append((None, routes[None]))
    fundings = Counter(v.item.funding for v in mine)
    by_funding: list[tuple[Listing | None, int]] = [
        (Listing("funding", f.value, FUNDING_WORDS[f]), fundings[f]) for f in Funding if fundings[f]
    ]
    if fundings[None]:
        by_funding.append((None, fundings[None]))
    whole_sizes: Counter[str] = Counter()
    part_sizes: Counter[str] = Counter()
    for view in planned:
        item = view.item
        whole_sizes[size_band(yearly(item.value, item.duration))] += 1
        parts = [lot.value for lot in item.lots] or [item.value]
        for money in parts:
            part_sizes[size_band(yearly(money, item.duration))] += 1
    sizes = [(band, whole_sizes[band], part_sizes[band]) for band in SIZE_BANDS]
    return Record(
        commissioner=commissioner,
        opportunities=mine,
        current=current,
        gaps=gaps,
        notices=notices,
        short=sum(1 for v in notices if v.notice is not None and v.notice.short),
        by_status=by_status,
        by_route=by_route,
        by_funding=by_funding,
        grants=sum(1 for v in mine if v.is_grant),
        lotted=sum(1 for v in mine if v.item.lots),
        consortia=sum(
            1 for v in mine if v.item.requirements and v.item.requirements.consortia_welcome
        ),
        subcontracting=sum(
            1 for v in mine if v.item.requirements and v.item.requirements.subcontracting_welcome
        ),
        sizes=sizes,
        by_place=_by_place(planned),
        stale=sorted(
            (v for v in mine if v.stale is not None),
            key=lambda v: (v.stale.since if v.stale is not None else dt.date.max, v.item.id),
        ),
        psr=psr_summary(site, mine),
    )


def _by_place(views: list[OpportunityView]) -> list[PlaceMoney]:
    places: dict[str, Listing] = {}
    counts: Counter[str] = Counter()
    per_year: dict[str, float] = {}
    total: dict[str, float] = {}
    unknown: Counter[str] = Counter()
    for view in views:
        item = view.item
        a_year = yearly(item.value, item.duration)
        in_all = whole(item.value, item.duration)
        for place in view.places:
            places[place.slug] = place
            counts[place.slug] += 1
            per_year[place.slug] = per_year.get(place.slug, 0.0) + (a_year or 0.0)
            total[place.slug] = total.get(place.slug, 0.0) + (in_all or 0.0)
            if a_year is None and in_all is None:
                unknown[place.slug] += 1
    return [
        PlaceMoney(places[s], counts[s], per_year[s], total[s], unknown[s])
        for s in sorted(places, key=lambda s: places[s].name)
    ]

"""A commissioner's Provider Selection Regime summary, year by year, as far as its plan tells:
for each financial year (1 April to 31 March, the year NHS bodies report in), how many
opportunities go by each PSR route, how many were awarded, to providers new to the service,
and which providers running a service lost it and won nothing else in the plan.

Which year an opportunity counts in: an awarded one by the day its award was decided
(`dates.decision`, else the intention to award, which the decision comes just before); one
still planned by the day it is expected to be decided, else its intention to award, else
the day the service starts. A date the plan gives only roughly counts when all of it falls
in one financial year ("2027-05", "2027-Q1"); one that spans two ("2027", which runs
from January to December) cannot be placed, and neither can an opportunity with none of
those dates: those are counted apart, as what the plan cannot tell.

The law asks for a yearly summary of every contract awarded under the regime. A plan holds
only what it lists, so this is a start on that summary, not the whole of it: the transparency
page says what it cannot tell."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from publisher.model.views import OpportunityView, SiteData
from publisher.plans.dates import PlanDate
from publisher.plans.model import Status
from publisher.plans.reference import GlossaryTerm
from publisher.plans.routes import PSR_ROUTES, steps


@dataclass(frozen=True, order=True)
class FinancialYear:
    """The year from 1 April `start` to 31 March the year after."""

    start: int

    @classmethod
    def of(cls, day: dt.date) -> FinancialYear:
        """The year `day` is in, found by comparing days only (the last 1 April on or
        before it), so a build sees the year change on 1 April, not every day
        (builder/days.py)."""
        low, high = 1, dt.MAXYEAR  # 1 April of `low` is on or before `day`
        while low < high:
            middle = (low + high + 1) // 2
            if day >= dt.date(middle, 4, 1):
                low = middle
            else:
                high = middle - 1
        return cls(low)

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.start, 4, 1)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.start + 1, 3, 31)

    @property
    def short(self) -> str:
        """As NHS reports write it: 2026/27."""
        return f"{self.start}/{(self.start + 1) % 100:02d}"

    @property
    def words(self) -> str:
        return f"1 April {self.start} to 31 March {self.start + 1}"


@dataclass(frozen=True)
class PsrRoute:
    term: GlossaryTerm | None  # None: the glossary has no entry for the route
    slug: str  # the route, as a plan writes it
    planned: int  # not yet awarded, nor cancelled
    awarded: int


@dataclass(frozen=True)
class PsrYear:
    """The figures for one financial year."""

    year: FinancialYear
    when: str  # "past", "now" (the year today is in: so far) or "future" (planned only)
    routes: list[PsrRoute]  # each PSR route used this year, in the order of the routes table
    awarded: int  # opportunities awarded through a PSR route, decided this year
    kept: int  # awarded to the provider that ran the service before
    new_providers: list[str]  # awarded to a provider that ran no service in the plan before
    unnamed: int  # awarded, but the plan does not say to whom
    lost_all: list[str]  # ran a service now awarded to others, and won nothing in the plan

    @property
    def planned(self) -> int:
        return sum(row.planned for row in self.routes)


@dataclass(frozen=True)
class PsrSummary:
    years: list[PsrYear]  # newest first; only years the plan has a PSR opportunity in
    this_year: FinancialYear  # the year today is in
    undated_awarded: int  # awarded, with no date that places it in one financial year
    undated_planned: int  # still planned, likewise


def _key(name: str) -> str:
    return " ".join(name.casefold().split())


def _winners(view: OpportunityView) -> list[str]:
    """Who an awarded opportunity went to: its `awarded:` list, else the provider its
    intention to award named."""
    item = view.item
    names = [recipient.name for recipient in item.awarded]
    if not names and item.award_decision is not None and item.award_decision.provider:
        names = [item.award_decision.provider]
    return names


def _year(date: PlanDate | None) -> FinancialYear | None:
    """The financial year every day `date` may mean falls in; None when it spans two."""
    if date is None:
        return None
    first = FinancialYear.of(date.first_day)
    return first if first == FinancialYear.of(date.last_day) else None


def _by_year(
    views: list[OpportunityView],
) -> tuple[dict[FinancialYear, list[OpportunityView]], int]:
    """The views by the financial year each falls in (`year_of`), and how many fall in none."""
    found: dict[FinancialYear, list[OpportunityView]] = {}
    undated = 0
    for view in views:
        year = year_of(view)
        if year is None:
            undated += 1
        else:
            found.setdefault(year, []).append(view)
    return found, undated


def year_of(view: OpportunityView) -> FinancialYear | None:
    """The financial year an opportunity counts in (the module's docstring says how), or
    None when the plan does not tell."""
    dates = view.item.dates
    candidates = [dates.decision, dates.intention_to_award]
    if view.item.status is not Status.AWARDED:
        candidates.append(dates.service_starts)
    for date in candidates:
        if date is not None:
            # the first date the plan gives decides; a rough one that spans two years is
            # not replaced by a later date, which would be a different event
            return _year(date)
    return None


def psr_summary(site: SiteData, views: list[OpportunityView]) -> PsrSummary | None:
    """The summary of one commissioner's opportunities (`views`); None when none of them
    goes by a PSR route."""
    mine = [v for v in views if v.item.route is not None and steps(v.item.route).psr]
    if not mine:
        return None
    awarded = [v for v in mine if v.item.status is Status.AWARDED and v.withdrawn is None]
    planned = [v for v in mine if v.is_current]
    # every provider the plan says runs a service now, in any of its opportunities
    running = {
        _key(v.item.current_provider.name) for v in views if v.item.current_provider is not None
    }
    # a provider keeps some work if it won any award in the plan, by any route, or still
    # runs a service whose future is not yet decided
    keeps: set[str] = set()
    for view in views:
        if view.item.status is Status.AWARDED and view.withdrawn is None:
            keeps.update(_key(name) for name in _winners(view))
        elif view.is_current and view.item.current_provider is not None:
            keeps.add(_key(view.item.current_provider.name))

    awarded_in, undated_awarded = _by_year(awarded)
    planned_in, undated_planned = _by_year(planned)

    this_year = FinancialYear.of(site.today)
    years = [
        _one_year(
            site,
            year,
            this_year,
            awarded_in.get(year, []),
            planned_in.get(year, []),
            running,
            keeps,
        )
        for year in sorted(set(awarded_in) | set(planned_in), reverse=True)
    ]
    return PsrSummary(years, this_year, undated_awarded, undated_planned)


def _one_year(
    site: SiteData,
    year: FinancialYear,
    this_year: FinancialYear,
    awarded: list[OpportunityView],
    planned: list[OpportunityView],
    running: set[str],
    keeps: set[str],
) -> PsrYear:
    to_come = Counter(v.item.route for v in planned)
    done = Counter(v.item.route for v in awarded)
    routes = [
        PsrRoute(site.glossary.for_route(route), route.value, to_come[route], done[route])
        for route in PSR_ROUTES
        if to_come[route] or done[route]
    ]
    won: dict[str, str] = {}
    kept = unnamed = 0
    for view in awarded:
        names = _winners(view)
        if not names:
            unnamed += 1
        before = view.item.current_provider
        if before is not None and _key(before.name) in {_key(n) for n in names}:
            kept += 1
        for name in names:
            won.setdefault(_key(name), name)
    new = sorted(name for key, name in won.items() if key not in running)
    lost = sorted(
        {
            _key(v.item.current_provider.name): v.item.current_provider.name
            for v in awarded
            if v.item.current_provider is not None
            and _key(v.item.current_provider.name) not in keeps
            and _winners(v)
        }.values()
    )
    when = "now" if year == this_year else "past" if year < this_year else "future"
    return PsrYear(year, when, routes, len(awarded), kept, new, unnamed, lost)

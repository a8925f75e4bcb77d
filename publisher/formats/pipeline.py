"""What a commissioner's Procurement Act pipeline notice (UK1) would list, from its plan: each
contract of £2 million or more whose tender (or, for a direct award, transparency) notice
is planned in the 18 months from 1 April, what the plan does not yet say of each, and the
UK1 release package (`publisher pipeline`; docs/ocds.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from publisher.formats import ocds, ocds_releases, ocds_uk
from publisher.formats.data import Json
from publisher.formats.ocds_values import months
from publisher.model.views import CommissionerView, OpportunityView, SiteData
from publisher.plans.dates import PlanDate
from publisher.plans.errors import did_you_mean
from publisher.plans.model import Money, Range, Route, Status
from publisher.text import templates

THRESHOLD = 2_000_000  # Procurement Act 2023, section 93: contracts of £2 million or more
# Pipeline notices began with the financial year from 1 April 2025; a plan says little of
# years far ahead.
FIRST_YEAR = 2025
YEARS_AHEAD = 10
# The notice is due within 56 days of 1 April: by 26 May.
DUE = (5, 26)


class PipelineError(ValueError):
    """A commissioner or year the listing cannot be made for, in plain words."""


@dataclass(frozen=True, slots=True)
class Window:
    """The reporting period: 18 months from 1 April of `year`."""

    year: int

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, 4, 1)

    @property
    def end(self) -> dt.date:
        return dt.date(self.year + 1, 9, 30)

    @property
    def due(self) -> dt.date:
        return dt.date(self.year, *DUE)

    def holds(self, date: PlanDate) -> bool:
        """True when the date may fall in the window."""
        return date.first_day <= self.end and date.last_day >= self.start

    def surely_holds(self, date: PlanDate) -> bool:
        return self.start <= date.first_day and date.last_day <= self.end


def default_year(today: dt.date) -> int:
    """The financial year whose pipeline notice is due next: this year's until 26 May, then
    next year's."""
    return today.year if today <= dt.date(today.year, *DUE) else today.year + 1


def check_year(year: int, today: dt.date) -> None:
    last = today.year + YEARS_AHEAD
    if not FIRST_YEAR <= year <= last:
        raise PipelineError(
            f"there is no pipeline notice for {year}: choose a year from {FIRST_YEAR} (the "
            f"first under the Procurement Act 2023) to {last}."
        )


@dataclass(frozen=True, slots=True)
class Estimate:
    """A contract's estimated value for the threshold, and how it was worked out."""

    amount: float
    how: str  # '' when the plan gives the total itself


def estimate(money: Money | None, years: float | None) -> Estimate | None:
    """The highest total the plan gives (the top of a range), else the yearly amount over the
    whole duration with its extensions, as the Act counts a contract's value. None when the
    plan gives neither."""
    if money is None:
        return None
    total = money.total
    if money.max is not None:
        total = money.max
    if isinstance(total, Range):
        return Estimate(total.max, "the top of the range")
    if total is not None:
        return Estimate(total, "")
    if money.per_year is None or years is None:
        return None
    per_year = money.per_year.max if isinstance(money.per_year, Range) else money.per_year
    length = f"{years:g} year" + ("" if years == 1 else "s")
    return Estimate(per_year * years, f"worked out from the yearly amount over {length}")


@dataclass(frozen=True, slots=True)
class Entry:
    """One contract as the listing shows it."""

    view: OpportunityView
    value: Estimate | None
    notice: PlanDate | None  # when its tender or transparency notice is planned
    missing: tuple[str, ...]  # what a UK1 entry needs that the plan does not say, in words
    notes: tuple[str, ...]  # what the reader should also know, in words


@dataclass(frozen=True, slots=True)
class Listing:
    commissioner: CommissionerView
    window: Window
    entries: tuple[Entry, ...]  # £2 million or more, planned in the window
    undated: tuple[Entry, ...]  # £2 million or more, with no date to place it
    unvalued: tuple[Entry, ...]  # planned in the window, with no value to weigh it
    outside: tuple[tuple[Entry, str], ...]  # would be listed, but not under the Act: why


def _years(view: OpportunityView) -> float | None:
    length = view.item.duration
    if length is None:
        return None
    return (
        months(length.years, length.months) / 12
        + months(length.extension_years, length.extension_months) / 12
    )


def _why(view: OpportunityView, field: str) -> str:
    reason = view.item.unknown.get(field)
    return f". The plan says why: {' '.join(reason.split())}" if reason else ""


def _entry(view: OpportunityView, value: Estimate | None, notice: PlanDate | None) -> Entry:
    item, missing, notes = view.item, [], []
    if value is None:
        missing.append("its estimated value (value)" + _why(view, "value"))
    elif value.how:
        notes.append(f"The value is {value.how}.")
    if notice is None:
        missing.append(
            "when the tender notice will be published (dates.tender_opens)"
            + _why(view, "tender_opens")
        )
    if item.dates.service_starts is None:
        missing.append(
            "when the contract starts (dates.service_starts)" + _why(view, "service_starts")
        )
    if item.duration is None:
        missing.append("how long the contract lasts (duration)" + _why(view, "duration"))
    if item.route in (None, Route.UNDECIDED):
        missing.append("the procedure (route)" + _why(view, "route"))
    elif ocds_uk.rules(view) is None:
        notes.append(
            "The route does not say which rules apply: it belongs here if the contract is "
            "awarded under the Procurement Act 2023."
        )
    if item.status in (Status.OPEN, Status.EVALUATING, Status.AWARDED):
        notes.append("Its tender has already opened.")
    elif item.dates.engagement and item.dates.engagement_closes is None:
        notes.append(
            "It has market engagement events: the preliminary market engagement notice "
            "(UK2) for them must say when the engagement closes, and the plan does not "
            "(dates.engagement_closes)" + _why(view, "engagement_closes").rstrip(".") + "."
        )
    return Entry(view, value, notice, tuple(missing), tuple(notes))


def _notice_date(view: OpportunityView) -> PlanDate | None:
    dates = view.item.dates
    if dates.tender_opens is not None:
        return dates.tender_opens
    if view.item.route is Route.DIRECT_AWARD:
        return dates.decision  # a direct award's transparency notice comes with its decision
    return None


OUTSIDE = {
    "psr": "chosen under the Provider Selection Regime for health care services, which the "
    "Procurement Act 2023 does not cover",
}


def listing(site: SiteData, commissioner_id: str, year: int) -> Listing:
    """What `commissioner_id`'s pipeline notice for the year from 1 April `year` would list."""
    found = next((c for c in site.commissioners if c.id == commissioner_id), None)
    if found is None:
        known = sorted(c.id for c in site.commissioners)
        hint = did_you_mean(commissioner_id, known, {c.id: c.name for c in site.commissioners})
        said = f"there is no commissioner '{commissioner_id}' in the plans"
        if hint:
            raise PipelineError(f"{said}: {hint}")
        raise PipelineError(f"{said}. The plans are for: {', '.join(known) or 'nobody yet'}.")
    check_year(year, site.today)
    window = Window(year)
    entries: list[Entry] = []
    undated: list[Entry] = []
    unvalued: list[Entry] = []
    outside: list[tuple[Entry, str]] = []
    for view in site.opportunities:
        if view.commissioner.id != commissioner_id or view.is_cancelled:
            continue
        if ocds_uk.rules(view) == "grant":
            continue  # a grant is not a public contract
        value = estimate(view.item.value, _years(view))
        notice = _notice_date(view)
        if notice is not None and not window.holds(notice):
            continue
        if value is not None and value.amount < THRESHOLD:
            continue
        entry = _entry(view, value, notice)
        if notice is not None and not window.surely_holds(notice):
            entry = _also(entry, "The date is approximate and may fall outside the period.")
        rules = ocds_uk.rules(view)
        if rules in OUTSIDE:
            if value is not None and notice is not None:
                outside.append((entry, OUTSIDE[rules]))
        elif value is None:
            unvalued.append(entry)
        elif notice is None:
            undated.append(entry)
        else:
            entries.append(entry)
    return Listing(found, window, tuple(entries), tuple(undated), tuple(unvalued), tuple(outside))


def _also(entry: Entry, note: str) -> Entry:
    return Entry(entry.view, entry.value, entry.notice, entry.missing, (*entry.notes, note))


def text(listing: Listing) -> str:
    """The listing in plain words (templates/pipeline.txt)."""
    return (
        templates.environment().get_template("pipeline.txt").render(p=listing, threshold=THRESHOLD)
    )


def package(site: SiteData, listing: Listing) -> Json:
    """The listed contracts as an OCDS release package: a planning release each, standing for
    the UK1 notice (planning.documents[].noticeType), in the commissioner's name."""
    prefix = ocds.site_prefix(site)
    made = []
    for entry in listing.entries:
        date = ocds_releases.history(site, entry.view)[-1][0]
        made.append(ocds_releases.release(site, entry.view, date, prefix, notice="UK1"))
    path = f"ocds/{listing.commissioner.id}-pipeline-{listing.window.year}.json"
    return ocds.package(site, made, path, listing.commissioner)

"""Working out what the public sees of one opportunity from its plan entry: its key dates
labelled, what is not known yet, its requirements, the notice it was given, the support
offered and which places hear of it. The view types are in views.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from publisher.changes.last_good import Held
from publisher.model.views import (
    REQUIREMENT_LABELS,
    SOON,
    Behind,
    CommissionerView,
    Gap,
    KeyDate,
    Listing,
    NoticeGiven,
    OpportunityHistory,
    OpportunityView,
    Requirement,
    SiteData,
    Stale,
    State,
    SupportOffer,
)
from publisher.plans import routes, rules
from publisher.plans.dates import PlanDate, Precision
from publisher.plans.model import (
    Opportunity,
    Organisation,
    PlanHeader,
    Status,
    Theme,
)
from publisher.plans.reference import Glossary, Places, with_slugs
from publisher.plans.working_days import add_working_days


def reach(places: Places, slugs: Iterable[str]) -> frozenset[str]:
    """Places whose subscribers hear of an opportunity: its places, the places they are part
    of (a West Yorkshire subscriber hears of Leeds), and the places within them (a Harehills
    subscriber hears of an opportunity for the whole of Leeds)."""
    named = set(slugs)
    out: set[str] = set()
    below = places.below
    for slug in named:
        out.update(places.chain(slug))
        out.update(below.get(slug, ()))
    return frozenset(out)


def state_of(
    item: Opportunity, today: dt.date, withdrawn: dt.date | None = None
) -> tuple[State, int | None, Behind | None]:
    """Where an opportunity is today (see `_state`), with its days left while open."""
    state, open_until, behind = _state(item, today, withdrawn)
    return state, None if open_until is None else (open_until - today).days, behind


def _state(
    item: Opportunity, today: dt.date, withdrawn: dt.date | None = None
) -> tuple[State, dt.date | None, Behind | None]:
    """Where an opportunity is today, from its dates as well as its status; its closing
    day while open (when the plan names the day); and how the status has fallen behind
    the dates, if it has. Its days left are not counted here: counting reads the whole
    day, where every answer here changes only on some days (builder/days.py).

    Only a plan that names the day can be known to be open: "applications open in March"
    is not open on 1 March. A closing date has passed when the whole of it has (a closing
    day is open to its end). A status ahead of the dates (open early, choosing early) is
    believed: the commissioner knows what it has done."""
    status, opens, closes = item.status, item.dates.tender_opens, item.dates.tender_closes
    if withdrawn is not None:
        return State.WITHDRAWN, None, None
    if status is Status.CANCELLED:
        return State.CANCELLED, None, None
    if status is Status.AWARDED:
        return State.AWARDED, None, None
    if status is Status.EVALUATING:
        return State.CLOSED, None, None
    if closes is not None and closes.last_day < today:
        return State.CLOSED, None, Behind.CLOSED
    open_until = None
    if closes is not None and not closes.is_approximate:
        open_until = closes.last_day
    if status is Status.OPEN:
        return State.OPEN, open_until, None
    if opens is not None and not opens.is_approximate and opens.first_day <= today:
        return State.OPEN, open_until, Behind.OPENED
    if opens is not None and opens.last_day < today:
        return State.OPENING_SOON, None, Behind.OVERDUE
    if opens is not None and opens.first_day <= today + SOON:
        return State.OPENING_SOON, None, None
    return State.LATER, None, None


def stale_of(item: Opportunity, behind: Behind | None, updated: dt.date | None) -> Stale | None:
    """What a notice says of a status behind its dates: which date, since when."""
    dates = item.dates
    if behind is Behind.OPENED and dates.tender_opens is not None:
        return Stale(behind, item.status, dates.tender_opens, dates.tender_opens.first_day, updated)
    if behind is Behind.OVERDUE and dates.tender_opens is not None:
        passed = dates.tender_opens.last_day + dt.timedelta(days=1)
        return Stale(behind, item.status, dates.tender_opens, passed, updated)
    if behind is Behind.CLOSED and dates.tender_closes is not None:
        passed = dates.tender_closes.last_day + dt.timedelta(days=1)
        return Stale(behind, item.status, dates.tender_closes, passed, updated)
    return None


def standstill_end(item: Opportunity) -> dt.date | None:
    """The last day of a Provider Selection Regime standstill: the 8th working day after
    the day the intention to award is published. None when the route has none, or the plan
    does not name the day, or the day is past the bank holidays we know."""
    intention = item.dates.intention_to_award
    if intention is None or intention.is_approximate:
        return None
    if not routes.steps(item.route, item.funding).intention:
        return None
    return add_working_days(intention.first_day, routes.STANDSTILL_WORKING_DAYS)


def _key_dates(item: Opportunity) -> tuple[KeyDate, ...]:
    """The plan's dates that its route has, labelled for the route, with the standstill's
    end worked out where there is one."""
    dates = item.dates
    not_applicable = routes.steps(item.route, item.funding).not_applicable
    ends = standstill_end(item)
    out: list[KeyDate] = []
    for name in routes.DATE_LABELS:
        if name in not_applicable:
            continue
        date = getattr(dates, name, None)
        if name == "standstill_ends" and ends is not None:
            date = PlanDate(ends.year, Precision.DAY, month=ends.month, day=ends.day)
        if date is not None:
            out.append(KeyDate(name, routes.label(name, item.route, item.funding), date))
    return tuple(out)


def view_in(
    site: SiteData,
    commissioner: CommissionerView,
    item: Opportunity,
    history: OpportunityHistory | None = None,
) -> OpportunityView:
    """`opportunity_view` with the site's places, themes, glossary, bodies and day."""
    return opportunity_view(
        commissioner, item, site.places, site.themes, site.glossary, site.organisations,
        site.today, history,
    )  # fmt: skip


def commissioner_view(
    header: PlanHeader, source: str, held: Held | None = None
) -> CommissionerView:
    """`held`: the plan file's newest version has errors, and this is its last good one."""
    body = header.commissioner
    return CommissionerView(
        body.id,
        body.name,
        body.kind,
        body.website,
        body.contact,
        header.notice_policy.weeks_before_tender,
        header.example,
        source,
        held.day if held is not None else None,
    )


def opportunity_view(
    commissioner: CommissionerView,
    item: Opportunity,
    places: Places,
    themes: dict[str, Theme],
    glossary: Glossary,
    organisations: dict[str, Organisation],
    today: dt.date,
    history: OpportunityHistory | None = None,
) -> OpportunityView:
    item = with_slugs(item, places)  # a version from git may name a place by its ONS code
    key_dates = _key_dates(item)
    gaps = [Gap(name, rules.EXPECTED[name], item.unknown.get(name)) for name in rules.gaps(item)]
    requirements: list[Requirement] = []
    needs = item.requirements
    if needs is not None:
        for name, label in REQUIREMENT_LABELS.items():
            need = getattr(needs, name)
            if need is None:
                continue
            amount = getattr(need, "amount", None)
            required = bool(getattr(need, "required", amount))
            requirements.append(Requirement(name, label, required, amount, need.why))
            if required and need.why is None:
                gaps.append(Gap(name, f"why {label.lower()} is needed", item.unknown.get(name)))
    notice = None
    history = history or OpportunityHistory()
    given = rules.notice(item, commissioner.notice_weeks, today, history.published)
    if given is not None:
        notice = NoticeGiven(
            given.published,
            max(given.weeks, 0),
            given.promised_weeks,
            given.is_short,
            item.short_notice_reason,
            given.opens,
        )
    support = tuple(
        SupportOffer(
            offer.by,
            organisations[offer.by].name if offer.by in organisations else offer.by,
            organisations[offer.by].website if offer.by in organisations else None,
            offer.what,
            offer.link,
        )
        for offer in item.support
    )
    state, open_until, behind = _state(item, today, history.withdrawn)
    first_seen = item.first_published.first_day if item.first_published else history.published
    stale = stale_of(item, behind, history.last_changed or first_seen)
    return OpportunityView(
        commissioner=commissioner,
        item=item,
        places=tuple(Listing("place", s, places.name(s)) for s in item.places),
        themes=tuple(
            Listing("theme", s, themes[s].name if s in themes else s) for s in item.themes
        ),
        route=glossary.for_route(item.route) if item.route is not None else None,
        funding_term=glossary.for_funding(item.funding) if item.funding is not None else None,
        key_dates=key_dates,
        gaps=tuple(gaps),
        requirements=tuple(requirements),
        notice=notice,
        support=support,
        reach=reach(places, item.places),
        state=state,
        open_until=open_until,
        stale=stale,
        last_changed=history.last_changed,
        published=history.published,
        changes=history.changes,
        withdrawn=history.withdrawn,
        earlier=history.earlier,
        as_of=today,
    )

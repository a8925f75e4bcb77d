"""The rules a good plan follows beyond its format: transparency, notice, sense and references.

Over 400 lines on purpose: one short function per rule, called in order by
`check_opportunity`, so the whole of what `publisher check` asks of an opportunity reads in
one place (channels, places and themes have theirs in reference_rules.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from publisher.plans.dates import PlanDate
from publisher.plans.errors import FieldPath, did_you_mean
from publisher.plans.model import (
    GRANT_FUNDING,
    GRANT_ROUTES,
    Dates,
    Funding,
    Opportunity,
    PlanHeader,
    Range,
    Requirements,
    Route,
    Status,
)
from publisher.plans.reference import Reference
from publisher.plans.reference_rules import repeated, unknown
from publisher.plans.route_rules import NOT_APPLICABLE_WORDS, route_steps
from publisher.plans.routes import steps
from publisher.plans.validate import Finding, error, warning

# The fields a VCSE organisation needs to decide whether to prepare (DESIGN.md). A missing
# one is a gap; each says in plain words what is not known.
EXPECTED: dict[str, str] = {
    "value": "how much money there is",
    "route": "how the provider will be chosen",
    "funding": "whether this is a contract or a grant",
    "places": "where the service will be",
    "tender_opens": "when the tender or applications open",
    "service_starts": "when the service starts",
    "duration": "how long the funding lasts",
}
NOT_YET_OPEN = frozenset({Status.IDEA, Status.PLANNING, Status.ENGAGEMENT})
SETTLED = frozenset({Status.AWARDED, Status.CANCELLED})
REASONABLE_UNKNOWNS = frozenset(
    set(Opportunity.model_fields) | set(Dates.model_fields) | set(Requirements.model_fields)
) - {"id", "unknown", "short_notice_reason", "first_published", "title", "summary", "status"}
SHUTS_OUT = {
    "minimum_turnover": "a minimum turnover",
    "reserves": "minimum reserves",
    "insurance": "insurance cover",
    "data_security_toolkit": "the Data Security and Protection Toolkit",
    "cqc_registration": "CQC registration",
}


def gaps(opportunity: Opportunity) -> list[str]:
    """The expected fields this opportunity leaves unknown, in the order of EXPECTED. A
    field its route does not have (a direct award's tender) is never a gap."""
    dates = opportunity.dates
    route = steps(opportunity.route, opportunity.funding)
    missing = {
        "value": opportunity.value is None,
        "route": opportunity.route in (None, Route.UNDECIDED),
        "funding": opportunity.funding in (None, Funding.UNDECIDED),
        "places": not opportunity.places,
        "tender_opens": dates.tender_opens is None and route.expects_opening,
        "service_starts": dates.service_starts is None,
        "duration": opportunity.duration is None,
    }
    return [name for name in EXPECTED if missing[name]]


def _gap_path(base: FieldPath, name: str) -> FieldPath:
    return (*base, "dates", name) if name in ("tender_opens", "service_starts") else (*base, name)


@dataclass(frozen=True)
class Notice:
    """How much notice an opportunity gives against its commissioner's promise."""

    published: dt.date
    opens: PlanDate
    promised_weeks: int

    @property
    def weeks(self) -> int:
        return whole_weeks(self.published, self.opens.first_day)

    @property
    def is_short(self) -> bool:
        # as a comparison of days, so a build sees it depends only on which side it is of
        return self.opens.first_day < self.published + dt.timedelta(weeks=self.promised_weeks)


def whole_weeks(start: dt.date, end: dt.date) -> int:
    """Whole weeks from `start` to `end` (rounded down: -1 when `end` is a day before),
    found by comparing days only, so a build sees a count from today change once a week,
    when it passes another whole week, not every day (builder/days.py)."""

    def within(weeks: int) -> bool:  # start + `weeks` weeks is on or before end
        try:
            return start + dt.timedelta(weeks=weeks) <= end
        except OverflowError:
            return weeks < 0

    low, high = (0, 1) if within(0) else (-1, 0)  # within(low), not within(high)
    while within(high):
        low, high = high, high * 2
    while not within(low):
        low, high = low * 2, low
    while high - low > 1:
        middle = (low + high) // 2
        if within(middle):
            low = middle
        else:
            high = middle
    return low


def notice(
    opportunity: Opportunity,
    promised_weeks: int,
    today: dt.date,
    published: dt.date | None = None,
) -> Notice | None:
    """The notice given, when it can be known: first published (its `first_published`, else
    the first commit that had it, `published`; if never yet, today)."""
    opens = opportunity.dates.tender_opens
    if opens is None:
        return None
    if opportunity.first_published is not None:
        return Notice(opportunity.first_published.first_day, opens, promised_weeks)
    if published is not None:
        return Notice(published, opens, promised_weeks)
    if opportunity.status in NOT_YET_OPEN:
        return Notice(today, opens, promised_weeks)
    return None


def check_plan(
    header: PlanHeader,
    opportunities: Iterable[tuple[int, Opportunity]],
    reference: Reference,
    file_stem: str,
    today: dt.date,
) -> list[Finding]:
    """Every rule for one plan file whose parts passed the format check."""
    out: list[Finding] = []
    if header.commissioner.id != file_stem:
        out.append(
            error(
                ("commissioner", "id"),
                "id-mismatch",
                f"The commissioner id is '{header.commissioner.id}' but the file is "
                f"called '{file_stem}.yaml'.",
                f"Rename the file to {header.commissioner.id}.yaml, or change the id. "
                "Ids are part of public web addresses: change them only before the "
                "plan is first published.",
            )
        )
    first_id: dict[str, int] = {}
    for index, opportunity in opportunities:
        base: FieldPath = ("opportunities", index)
        if opportunity.id in first_id:
            out.append(
                error(
                    (*base, "id"),
                    "duplicate-id",
                    f"Two opportunities have the id '{opportunity.id}' (the other is "
                    f"opportunities[{first_id[opportunity.id]}]).",
                    "Each opportunity needs its own id: it is its web address.",
                )
            )
        else:
            first_id[opportunity.id] = index
        out.extend(
            check_opportunity(
                opportunity, base, header.notice_policy.weeks_before_tender, reference, today
            )
        )
        out.extend(_way_to_apply(header, opportunity, base, today))
    return out


def check_opportunity(
    opportunity: Opportunity,
    base: FieldPath,
    promised_weeks: int,
    reference: Reference,
    today: dt.date,
) -> list[Finding]:
    out: list[Finding] = []
    out.extend(_route_fits_funding(opportunity, base))
    out.extend(_grant_size_as_total(opportunity, base))
    out.extend(_dates_in_order(opportunity.dates, (*base, "dates")))
    out.extend(_references(opportunity, base, reference))
    out.extend(_unknowns(opportunity, base))
    out.extend(route_steps(opportunity, base))
    if opportunity.status not in SETTLED:
        out.extend(_transparency(opportunity, base, promised_weeks, today))
        out.extend(_status_behind_dates(opportunity, base, today))
    return out


def _status_behind_dates(
    opportunity: Opportunity, base: FieldPath, today: dt.date
) -> list[Finding]:
    """The status says one thing and the dates another: the site shows what the dates say
    (model/from_plan.py, state_of) and says the plan has not been updated."""
    status, dates = opportunity.status, opportunity.dates
    opens, closes = dates.tender_opens, dates.tender_closes
    if status is Status.EVALUATING:
        return []
    if closes is not None and closes.last_day < today:
        return [
            warning(
                (*base, "status"),
                "status-behind-dates",
                f"The closing date ({closes}) has passed, but the status is still "
                f"'{status.value}'. The site shows it as closed, and says the plan has "
                "not been updated.",
                "Change the status to evaluating, awarded or cancelled, or move the closing date.",
            )
        ]
    if (
        status in NOT_YET_OPEN
        and opens is not None
        and not opens.is_approximate
        and opens.first_day <= today
    ):
        return [
            warning(
                (*base, "status"),
                "status-behind-dates",
                f"The opening date ({opens}) has come, but the status is still "
                f"'{status.value}'. The site shows it as open, and says the plan has not "
                "been updated.",
                "Change the status to open, or move the opening date.",
            )
        ]
    return []


def _way_to_apply(
    header: PlanHeader, opportunity: Opportunity, base: FieldPath, today: dt.date
) -> list[Finding]:
    """An opportunity open now, or opening within the notice the commissioner promises,
    should say how to apply: an `apply:` link or email, or at least a contact email."""
    if opportunity.apply is not None or opportunity.status in SETTLED:
        return []
    contact = opportunity.contact or header.commissioner.contact
    if contact is not None and contact.email is not None:
        return []
    status, opens = opportunity.status, opportunity.dates.tender_opens
    closes = opportunity.dates.tender_closes
    if status is Status.EVALUATING or (closes is not None and closes.last_day < today):
        return []
    soon = today + dt.timedelta(weeks=header.notice_policy.weeks_before_tender)
    if status is not Status.OPEN and (opens is None or opens.first_day > soon):
        return []
    when = (
        "is open"
        if status is Status.OPEN
        or (opens is not None and not opens.is_approximate and opens.first_day <= today)
        else f"opens {opens}"
    )
    return [
        warning(
            (*base, "status"),
            "no-way-to-apply",
            f"This {when}, but the plan gives no way to apply: no 'apply:' and no contact email.",
            "Add 'apply:' with a link (link:) or an email address (email:), and what to "
            "send (what_to_send:).",
        )
    ]


def _route_fits_funding(opportunity: Opportunity, base: FieldPath) -> list[Finding]:
    route, funding = opportunity.route, opportunity.funding
    if route is None or funding is None or Route.UNDECIDED in (route, funding):
        return []
    if funding in GRANT_FUNDING and route not in GRANT_ROUTES:
        return [
            error(
                (*base, "route"),
                "route-funding",
                f"A grant cannot be given through '{route.value}', which is a way of "
                "awarding contracts.",
                "Use open-grant-round, invited-grant or grant-via-infrastructure-body, "
                "or set funding to contract.",
            )
        ]
    if funding is Funding.CONTRACT and route in GRANT_ROUTES:
        return [
            error(
                (*base, "route"),
                "route-funding",
                f"A contract cannot be awarded through '{route.value}', which is a way "
                "of giving grants.",
                "Choose a contract route, or set funding to grant.",
            )
        ]
    return []


# A grant programme's whole pot is rarely below this; a range under it given as the total
# is most likely what one group can get, which the notice would wrongly call the total.
SMALL_TOTAL = 25_000


def _grant_size_as_total(opportunity: Opportunity, base: FieldPath) -> list[Finding]:
    value = opportunity.value
    grants = opportunity.funding in GRANT_FUNDING or opportunity.route in GRANT_ROUTES
    if value is None or not grants or value.per_award is not None:
        return []
    total = value.total
    low, high = (total.min, total.max) if isinstance(total, Range) else (value.min, value.max)
    if low is None or high is None or high >= SMALL_TOTAL:
        return []
    return [
        warning(
            (*base, "value"),
            "grant-size-as-total",
            f"The value says £{low:,.0f} to £{high:,.0f} in total, for the whole "
            "programme. Did you mean the size of one grant?",
            f"For one grant, write value: {{per_award: {{min: {low:.0f}, max: {high:.0f}}}}}, "
            "and put the whole programme's money in total.",
        )
    ]


_ORDER = [
    ("tender_opens", "tender_closes", "The closing date comes before the tender opens."),
    ("tender_closes", "decision", "The decision comes before the closing date."),
    ("tender_opens", "decision", "The decision comes before the tender opens."),
    ("decision", "service_starts", "The service starts before the provider is chosen."),
    (
        "intention_to_award",
        "service_starts",
        "The service starts before the intention to award is published.",
    ),
    ("tender_closes", "service_starts", "The service starts before the closing date."),
    ("tender_opens", "service_starts", "The service starts before the tender opens."),
]


def _dates_in_order(dates: Dates, base: FieldPath) -> list[Finding]:
    out: list[Finding] = []
    flagged: set[str] = set()
    for earlier, later, message in _ORDER:
        first, second = getattr(dates, earlier), getattr(dates, later)
        if first is None or second is None or later in flagged:
            continue
        if second.surely_before(first):
            flagged.add(later)
            out.append(
                error(
                    (*base, later),
                    "date-order",
                    message,
                    f"{earlier} is {first}, {later} is {second}.",
                )
            )
    for index, event in enumerate(dates.engagement):
        if event.end is not None and event.end.surely_before(event.start):
            out.append(
                error(
                    (*base, "engagement", index, "end"),
                    "date-order",
                    "This event ends before it starts.",
                    f"start is {event.start}, end is {event.end}.",
                )
            )
    return out


def _references(opportunity: Opportunity, base: FieldPath, reference: Reference) -> list[Finding]:
    places, themes = reference.places, reference.themes
    orgs = reference.organisations or None  # no channel files: nothing to check against
    out = unknown("place", opportunity.places, places, (*base, "places"))
    for lot_index, lot in enumerate(opportunity.lots):
        out += unknown("place", lot.places, places, (*base, "lots", lot_index, "places"))
    out += unknown("theme", opportunity.themes, themes, (*base, "themes"))
    out += unknown(
        "organisation",
        (offer.by for offer in opportunity.support),
        orgs,
        (*base, "support"),
        "by",
    )
    out += unknown(
        "organisation",
        (event.host for event in opportunity.dates.engagement),
        orgs,
        (*base, "dates", "engagement"),
        "host",
    )
    out += repeated((lot.id for lot in opportunity.lots), (*base, "lots"), "id", "lots")
    out += repeated(
        (event.id for event in opportunity.dates.engagement),
        (*base, "dates", "engagement"),
        "id",
        "events",
        "Each event needs its own id: calendars know it by it.",
    )
    return out


def _unknowns(opportunity: Opportunity, base: FieldPath) -> list[Finding]:
    out: list[Finding] = []
    open_gaps = set(gaps(opportunity))
    not_applicable = steps(opportunity.route, opportunity.funding).not_applicable
    route = opportunity.route.value if opportunity.route is not None else ""
    for name in opportunity.unknown:
        path = (*base, "unknown", name)
        if name not in REASONABLE_UNKNOWNS:
            hint = (
                did_you_mean(name, REASONABLE_UNKNOWNS)
                or "Use the name of the field that is unknown."
            )
            out.append(
                error(
                    path,
                    "unknown-gap",
                    f"'{name}' is not a field of an opportunity.",
                    hint,
                    at_key=True,
                )
            )
        elif name in not_applicable:
            out.append(
                warning(
                    path,
                    "reason-not-needed",
                    f"'unknown' explains why {name} is not known, but the route "
                    f"'{route}' has no {NOT_APPLICABLE_WORDS.get(name, name)}.",
                    f"Remove unknown.{name}: the notice already says how this route works.",
                    at_key=True,
                )
            )
        elif name in EXPECTED and name not in open_gaps:
            out.append(
                warning(
                    path,
                    "reason-for-known",
                    f"'unknown' explains why {name} is not known, but it is given.",
                    f"Remove unknown.{name} now that it is known.",
                )
            )
    return out


def _transparency(
    opportunity: Opportunity, base: FieldPath, promised_weeks: int, today: dt.date
) -> list[Finding]:
    out: list[Finding] = []
    for name in gaps(opportunity):
        if name not in opportunity.unknown:
            out.append(
                warning(
                    _gap_path(base, name),
                    "gap-without-reason",
                    f"The plan does not say {EXPECTED[name]} ({name}), nor why not.",
                    f"Add the {name}, or say why it is not known yet under "
                    f"'unknown:', as '{name}: <the reason>'.",
                )
            )
    requirements = opportunity.requirements
    if requirements is not None:
        for name, words in SHUTS_OUT.items():
            need = getattr(requirements, name)
            demanding = need is not None and (
                getattr(need, "amount", 0) > 0 or getattr(need, "required", False)
            )
            if demanding and need.why is None:
                out.append(
                    warning(
                        (*base, "requirements", name),
                        "requirement-without-reason",
                        f"Asking for {words} can shut small organisations out, and "
                        "the plan does not say why it is needed.",
                        "Add 'why:' with the reason, or remove the requirement.",
                        at_key=True,
                    )
                )
    given = notice(opportunity, promised_weeks, today)
    if given is not None and given.is_short and opportunity.short_notice_reason is None:
        # Today's date is not named: the warning is kept with the plan file's rendering,
        # which the next day's build reuses while the weeks are the same (builder/days.py).
        since = (
            f"first published ({given.published.isoformat()})"
            if opportunity.first_published
            else "published today"
        )
        out.append(
            warning(
                (*base, "dates", "tender_opens"),
                "short-notice",
                f"Only {max(given.weeks, 0)} weeks' notice: {since}, opening {given.opens}; "
                f"the promise is {promised_weeks} weeks.",
                "Say why under 'short_notice_reason:', or open the tender later.",
            )
        )
    opens = opportunity.dates.tender_opens
    # A named day that has come is `status-behind-dates`; this is for "around November".
    if (
        opens is not None
        and opens.is_approximate
        and opportunity.status in NOT_YET_OPEN
        and opens.end.date() <= today
    ):
        out.append(
            warning(
                (*base, "dates", "tender_opens"),
                "date-passed",
                f"The tender was due to open in {opens}, which has passed, but the "
                f"status is still '{opportunity.status.value}'.",
                "Update the status, or move the date.",
            )
        )
    return out

"""The checker's rules about a route's steps: dates and details the route does not have
(a tender on a direct award, an intention to award outside the Provider Selection Regime's
routes that publish one), and the closing date of market engagement that a Procurement Act
UK2 notice needs. rules.py calls `route_steps` for each opportunity."""

from __future__ import annotations

from publisher.plans.errors import FieldPath
from publisher.plans.model import Funding, Opportunity, Status
from publisher.plans.routes import ACT_ROUTES, Round, steps
from publisher.plans.validate import Finding, warning

# What a plan field is, in words, when a route has none of it.
NOT_APPLICABLE_WORDS = {
    "tender_opens": "tender, so no date for one to open",
    "tender_closes": "tender, so no closing date for bids",
}
INTENTION_ROUTES = "direct-award-c, most-suitable-provider or competitive"


BEFORE_TENDER = frozenset({Status.IDEA, Status.PLANNING, Status.ENGAGEMENT})


def engagement_closes(opportunity: Opportunity, base: FieldPath) -> list[Finding]:
    """Warnings about when market engagement closes: after the tender opens, or not given
    where a Procurement Act contract has engagement events (its UK2 notice needs it)."""
    dates = opportunity.dates
    path = (*base, "dates", "engagement_closes")
    closes, opens = dates.engagement_closes, dates.tender_opens
    if closes is not None and opens is not None and opens.surely_before(closes):
        return [
            warning(
                path,
                "engagement-after-tender",
                "Market engagement closes after the tender opens.",
                f"engagement_closes is {closes}, tender_opens is {opens}. Engagement is "
                "for talking to providers before the tender is written: check both dates.",
            )
        ]
    if (
        closes is None
        and dates.engagement
        and opportunity.route in ACT_ROUTES
        and opportunity.funding is Funding.CONTRACT
        and opportunity.status in BEFORE_TENDER
        and "engagement_closes" not in opportunity.unknown
    ):
        return [
            warning(
                (*base, "dates", "engagement"),
                "engagement-closes-missing",
                "The plan has market engagement events for a Procurement Act contract, but "
                "does not say when the engagement closes.",
                "A preliminary market engagement notice (UK2) must give the closing date. "
                "Add it under dates, as 'engagement_closes: 2027-02-26', or say why not "
                "under 'unknown:', as 'engagement_closes: <the reason>'.",
                at_key=True,
            )
        ]
    return []


def route_steps(opportunity: Opportunity, base: FieldPath) -> list[Finding]:
    """Warnings for what the plan gives that its route never has, and about when market
    engagement closes."""
    out: list[Finding] = engagement_closes(opportunity, base)
    route = opportunity.route
    if route is None:
        return out
    has = steps(route, opportunity.funding)
    dates = opportunity.dates
    if has.round is Round.NONE:
        for name in ("tender_opens", "tender_closes"):
            if getattr(dates, name) is not None:
                out.append(
                    warning(
                        (*base, "dates", name),
                        "date-not-on-route",
                        f"The route '{route.value}' has no "
                        f"{NOT_APPLICABLE_WORDS[name]}, but the plan gives {name}.",
                        f"Remove {name}, or choose a route with a tender. For the day the "
                        "provider is chosen, use decision.",
                        at_key=True,
                    )
                )
    if not has.intention:
        if dates.intention_to_award is not None:
            out.append(
                warning(
                    (*base, "dates", "intention_to_award"),
                    "intention-not-on-route",
                    f"The route '{route.value}' does not publish an intention to award, "
                    "but the plan gives intention_to_award.",
                    f"Only {INTENTION_ROUTES} publish one, then wait 8 working days. "
                    "Check the route, or remove the date.",
                    at_key=True,
                )
            )
        if opportunity.award_decision is not None and not has.psr:
            out.append(
                warning(
                    (*base, "award_decision"),
                    "intention-not-on-route",
                    f"award_decision is for the NHS Provider Selection Regime, but the "
                    f"route is '{route.value}'.",
                    "Check the route, or remove award_decision.",
                    at_key=True,
                )
            )
    return out

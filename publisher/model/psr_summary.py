"""A commissioner's Provider Selection Regime summary, as far as its plan tells: how many
opportunities go by each PSR route, how many were awarded, to providers new to the service,
and which providers running a service now lost it and won nothing else in the plan.

The law asks for a yearly summary of every contract awarded under the regime. A plan holds
only what it lists, so this is a start on that summary, not the whole of it: the transparency
page says what it cannot tell."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from publisher.model.views import OpportunityView, SiteData
from publisher.plans.model import Status
from publisher.plans.reference import GlossaryTerm
from publisher.plans.routes import PSR_ROUTES, steps


@dataclass(frozen=True)
class PsrRoute:
    term: GlossaryTerm | None  # None: the glossary has no entry for the route
    slug: str  # the route, as a plan writes it
    planned: int  # not yet awarded, nor cancelled
    awarded: int


@dataclass(frozen=True)
class PsrSummary:
    routes: list[PsrRoute]  # each PSR route the plan uses, in the order of the routes table
    awarded: int  # opportunities awarded through a PSR route
    kept: int  # awarded to the provider that ran the service before
    new_providers: list[str]  # awarded to a provider that ran no service in the plan before
    unnamed: int  # awarded, but the plan does not say to whom
    lost_all: list[str]  # ran a service now awarded to others, and won nothing in the plan


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


def psr_summary(site: SiteData, views: list[OpportunityView]) -> PsrSummary | None:
    """The summary of one commissioner's opportunities (`views`); None when none of them
    goes by a PSR route."""
    mine = [v for v in views if v.item.route is not None and steps(v.item.route).psr]
    if not mine:
        return None
    awarded = [v for v in mine if v.item.status is Status.AWARDED and v.withdrawn is None]
    planned = Counter(v.item.route for v in mine if v.is_current)
    done = Counter(v.item.route for v in awarded)
    routes = [
        PsrRoute(site.glossary.for_route(route), route.value, planned[route], done[route])
        for route in PSR_ROUTES
        if planned[route] or done[route]
    ]
    # every provider the plan says runs a service now, in any of its opportunities
    running = {
        _key(v.item.current_provider.name): v.item.current_provider.name
        for v in views
        if v.item.current_provider is not None
    }
    won: dict[str, str] = {}  # through a PSR route
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
    # a provider keeps some work if it won any award in the plan, by any route, or still
    # runs a service whose future is not yet decided
    keeps = set(won)
    for view in views:
        if view.item.status is Status.AWARDED:
            keeps.update(_key(name) for name in _winners(view))
        elif view.is_current and view.item.current_provider is not None:
            keeps.add(_key(view.item.current_provider.name))
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
    return PsrSummary(routes, len(awarded), kept, new, unnamed, lost)

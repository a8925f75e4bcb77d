"""What each route has of the steps a plan names: a tender (bids), an application round, a
published intention to award followed by a standstill. One table, `STEPS`; the checker's
gaps, the notice, the calendars, the feeds and the transparency counts all ask it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from publisher.plans.model import GRANT_FUNDING, Funding, Route


class Round(StrEnum):
    """How providers come forward, which names the opening and closing dates."""

    BIDS = "bids"  # a tender: bids open and close
    APPLICATIONS = "applications"  # a grant round: applications open and close
    JOINING = "joining"  # PSR direct award B: any provider that qualifies can ask to join
    # PSR most suitable provider: no tender, but the commissioner may ask providers to say
    # they are interested and send information, by a closing date
    INTEREST = "interest"
    NONE = "none"  # no tender and no round: the commissioner chooses without one


# The dates that only a tender or an application round has.
TENDER_DATES = ("tender_opens", "tender_closes")
# The working days a PSR standstill lasts after the intention to award is published.
STANDSTILL_WORKING_DAYS = 8


@dataclass(frozen=True)
class Steps:
    """The steps one route has."""

    round: Round
    # PSR direct award C, most suitable provider and competitive process: the commissioner
    # publishes its intention to award, then waits 8 working days before it signs
    intention: bool = False
    psr: bool = False  # a Provider Selection Regime route (its annual summary counts it)

    @property
    def has_tender(self) -> bool:
        """The plan can name when the tender or applications open and close."""
        return self.round is not Round.NONE

    @property
    def expects_opening(self) -> bool:
        """A missing opening date is a gap: there is a round, and it has to open. Providers
        can ask to join a direct award B at any time, and a most suitable provider process
        may ask for no expressions of interest, so neither needs an opening date."""
        return self.round in (Round.BIDS, Round.APPLICATIONS)

    @property
    def not_applicable(self) -> frozenset[str]:
        """Plan fields this route never has: never a gap, and a warning if given."""
        return frozenset() if self.has_tender else frozenset(TENDER_DATES)


STEPS: dict[Route, Steps] = {
    Route.DIRECT_AWARD_A: Steps(Round.NONE, psr=True),
    Route.DIRECT_AWARD_B: Steps(Round.JOINING, psr=True),
    Route.DIRECT_AWARD_C: Steps(Round.NONE, intention=True, psr=True),
    Route.MOST_SUITABLE_PROVIDER: Steps(Round.INTEREST, intention=True, psr=True),
    Route.COMPETITIVE: Steps(Round.BIDS, intention=True, psr=True),
    Route.OPEN: Steps(Round.BIDS),
    Route.COMPETITIVE_FLEXIBLE: Steps(Round.BIDS),
    Route.DIRECT_AWARD: Steps(Round.NONE),
    Route.LIGHT_TOUCH: Steps(Round.BIDS),
    Route.ALLIANCE_CONTRACT: Steps(Round.BIDS),
    Route.INNOVATION_PARTNERSHIP: Steps(Round.BIDS),
    Route.OPEN_GRANT_ROUND: Steps(Round.APPLICATIONS),
    Route.INVITED_GRANT: Steps(Round.APPLICATIONS),
    Route.GRANT_VIA_INFRASTRUCTURE_BODY: Steps(Round.APPLICATIONS),
    Route.UNDECIDED: Steps(Round.BIDS),
}
PSR_ROUTES = tuple(route for route, steps in STEPS.items() if steps.psr)
# The routes whose contracts are awarded under the Procurement Act 2023, with its notices
# (a UK2 notice for preliminary market engagement among them).
ACT_ROUTES = frozenset(
    {Route.OPEN, Route.COMPETITIVE_FLEXIBLE, Route.DIRECT_AWARD, Route.LIGHT_TOUCH}
)


def steps(route: Route | None, funding: Funding | None = None) -> Steps:
    """The steps of an opportunity's route. Until the route is decided, a grant has an
    application round and anything else a tender, so their dates are asked for."""
    if route is not None and route is not Route.UNDECIDED:
        return STEPS[route]
    grant = funding in GRANT_FUNDING
    return Steps(Round.APPLICATIONS if grant else Round.BIDS)


# What the plan's dates are called, by how providers come forward.
DATE_LABELS: dict[str, dict[Round, str]] = {
    # preliminary market engagement: the last day to take part (a UK2 notice gives it)
    "engagement_closes": {r: "Market engagement closes" for r in Round},
    "tender_opens": {
        Round.BIDS: "Tender opens",
        Round.APPLICATIONS: "Applications open",
        Round.JOINING: "Providers can start asking to join",
        Round.INTEREST: "Expressions of interest open",
        Round.NONE: "Tender opens",
    },
    "tender_closes": {
        Round.BIDS: "Closing date for bids",
        Round.APPLICATIONS: "Closing date for applications",
        Round.JOINING: "Last day to ask to join",
        Round.INTEREST: "Closing date for expressions of interest",
        Round.NONE: "Closing date for bids",
    },
    "decision": {
        Round.BIDS: "Provider chosen",
        Round.APPLICATIONS: "Decision on applications",
        Round.JOINING: "Providers chosen",
        Round.INTEREST: "Provider chosen",
        Round.NONE: "Provider chosen",
    },
    "intention_to_award": {r: "Intention to award published" for r in Round},
    # the end of the standstill: providers can make representations until then
    "standstill_ends": {r: "Last day to challenge the decision" for r in Round},
    "service_starts": {
        Round.BIDS: "Service starts",
        Round.APPLICATIONS: "Funding starts",
        Round.JOINING: "Service starts",
        Round.INTEREST: "Service starts",
        Round.NONE: "Service starts",
    },
}


def label(field: str, route: Route | None, funding: Funding | None) -> str:
    """A key date's label for this route: 'Applications open' for a grant round."""
    round_ = steps(route, funding).round
    if funding in GRANT_FUNDING and round_ is Round.BIDS:
        round_ = Round.APPLICATIONS  # a grant whose route is a contract's: checked elsewhere
    return DATE_LABELS[field][round_]

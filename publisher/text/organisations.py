"""The kinds of organisation a plan says can apply, in the plain words notices and the
JSON use: 'registered charities', 'community interest companies (CICs)'."""

from __future__ import annotations

from collections.abc import Iterable

from publisher.plans.model import OrganisationKind

# Plural, lower-case, as they run on in a list; a short form in brackets where people
# know the kind by its letters. Every kind in the plan format has a name here.
NAMES: dict[OrganisationKind, str] = {
    OrganisationKind.REGISTERED_CHARITY: "registered charities",
    OrganisationKind.CIO: "charitable incorporated organisations (CIOs)",
    OrganisationKind.CIC: "community interest companies (CICs)",
    OrganisationKind.COMMUNITY_BENEFIT_SOCIETY: "community benefit societies",
    OrganisationKind.CO_OPERATIVE: "co-operatives",
    OrganisationKind.COMPANY_LIMITED_BY_GUARANTEE: "companies limited by guarantee",
    OrganisationKind.CONSTITUTED_GROUP: "community groups with a written constitution",
    OrganisationKind.UNCONSTITUTED_GROUP: (
        "groups that are not registered, such as residents' groups"
    ),
    OrganisationKind.SOCIAL_ENTERPRISE: "social enterprises",
    OrganisationKind.FAITH_GROUP: "faith groups",
    OrganisationKind.PARISH_COUNCIL: "town and parish councils",
    OrganisationKind.PRIVATE_COMPANY: "private companies",
    OrganisationKind.PUBLIC_BODY: "public bodies, such as NHS trusts and schools",
}


def kind_name(kind: OrganisationKind | str) -> str:
    """One kind in plain words: 'cio' -> 'charitable incorporated organisations (CIOs)'."""
    return NAMES[OrganisationKind(kind)]


def kind_names(kinds: Iterable[OrganisationKind | str]) -> list[str]:
    return [kind_name(kind) for kind in kinds]

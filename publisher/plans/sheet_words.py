"""The words in a spreadsheet cell read as a plan value: the status, funding type and route
in the words councils and ICBs use ("Pipeline", "Open procedure", "PSR competitive
process"), text tidied, and a contact given as "Jo Bloggs <jo@example.org>"."""

from __future__ import annotations

import datetime as dt
import re

from publisher.plans.model import Funding, Route, Status
from publisher.plans.sheet_cells import CellError, plain, whole


def key(text: str) -> str:
    """Text compared without case, punctuation or spacing: 'Open Procedure' -> 'open procedure'."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower().replace("&", " and ")).split())


_STATUS_WORDS = {
    "idea": Status.IDEA, "concept": Status.IDEA, "early": Status.IDEA, "proposed": Status.IDEA,
    "planning": Status.PLANNING, "planned": Status.PLANNING, "pipeline": Status.PLANNING,
    "future": Status.PLANNING, "not started": Status.PLANNING, "pre procurement": Status.PLANNING,
    "being planned": Status.PLANNING, "in planning": Status.PLANNING,
    "engagement": Status.ENGAGEMENT, "market engagement": Status.ENGAGEMENT,
    "consultation": Status.ENGAGEMENT, "co design": Status.ENGAGEMENT,
    "open": Status.OPEN, "live": Status.OPEN, "out to tender": Status.OPEN,
    "tender live": Status.OPEN, "advertised": Status.OPEN, "open now": Status.OPEN,
    "evaluating": Status.EVALUATING, "evaluation": Status.EVALUATING,
    "under evaluation": Status.EVALUATING, "tender closed": Status.EVALUATING,
    "awarded": Status.AWARDED, "contract awarded": Status.AWARDED, "complete": Status.AWARDED,
    "cancelled": Status.CANCELLED, "canceled": Status.CANCELLED, "withdrawn": Status.CANCELLED,
    "abandoned": Status.CANCELLED,
}  # fmt: skip

_FUNDING_WORDS = {
    "contract": Funding.CONTRACT, "contracts": Funding.CONTRACT, "procurement": Funding.CONTRACT,
    "grant": Funding.GRANT, "grants": Funding.GRANT,
    "grant programme": Funding.GRANT_PROGRAMME, "grants programme": Funding.GRANT_PROGRAMME,
    "grant program": Funding.GRANT_PROGRAMME, "grant scheme": Funding.GRANT_PROGRAMME,
    "undecided": Funding.UNDECIDED, "not decided": Funding.UNDECIDED,
    "contract or grant": Funding.UNDECIDED,
}  # fmt: skip

_ROUTE_WORDS = {
    "open procedure": Route.OPEN, "open tender": Route.OPEN, "competitive tender": Route.OPEN,
    "competitive flexible procedure": Route.COMPETITIVE_FLEXIBLE,
    "flexible procedure": Route.COMPETITIVE_FLEXIBLE,
    "direct award procedure": Route.DIRECT_AWARD, "direct award": Route.DIRECT_AWARD,
    "light touch regime": Route.LIGHT_TOUCH, "light touch": Route.LIGHT_TOUCH,
    "ltr": Route.LIGHT_TOUCH,
    "psr direct award a": Route.DIRECT_AWARD_A, "direct award process a": Route.DIRECT_AWARD_A,
    "psr direct award b": Route.DIRECT_AWARD_B, "direct award process b": Route.DIRECT_AWARD_B,
    "psr direct award c": Route.DIRECT_AWARD_C, "direct award process c": Route.DIRECT_AWARD_C,
    "most suitable provider process": Route.MOST_SUITABLE_PROVIDER,
    "psr most suitable provider": Route.MOST_SUITABLE_PROVIDER,
    "psr competitive process": Route.COMPETITIVE, "competitive process": Route.COMPETITIVE,
    "psr competitive": Route.COMPETITIVE,
    "alliance": Route.ALLIANCE_CONTRACT, "alliance contract": Route.ALLIANCE_CONTRACT,
    "open grant round": Route.OPEN_GRANT_ROUND, "grant round": Route.OPEN_GRANT_ROUND,
    "open grants": Route.OPEN_GRANT_ROUND, "open grant": Route.OPEN_GRANT_ROUND,
    "invited grant": Route.INVITED_GRANT, "grant by invitation": Route.INVITED_GRANT,
    "grant via cvs": Route.GRANT_VIA_INFRASTRUCTURE_BODY,
    "grant via infrastructure body": Route.GRANT_VIA_INFRASTRUCTURE_BODY,
    "not decided": Route.UNDECIDED, "undecided": Route.UNDECIDED,
}  # fmt: skip


def _word(value: object, table: dict[str, object], what: str, choices: list[str]) -> str | None:
    value = plain(value)
    if value is None:
        return None
    said = key(str(value))
    for choice in choices:  # the plan's own word, with or without its hyphens
        if said == key(choice):
            return choice
    found = table.get(said)
    if found is None:
        raise CellError(f"'{value}' is not a {what} we know: use one of " + ", ".join(choices))
    return str(found)


def read_status(value: object) -> str | None:
    return _word(value, dict(_STATUS_WORDS), "status", [s.value for s in Status])


def read_funding(value: object) -> str | None:
    return _word(value, dict(_FUNDING_WORDS), "funding type", [f.value for f in Funding])


def read_route(value: object) -> str | None:
    return _word(value, dict(_ROUTE_WORDS), "procurement route", [r.value for r in Route])


def read_text(value: object) -> str | None:
    """Text as the plan should hold it: line breaks kept, other spacing tidied; None for an
    empty cell or one that says "TBC" or "None"."""
    if plain(value) is None:
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, float):
        value = whole(value)
    lines = [" ".join(line.replace("\u00a0", " ").split()) for line in str(value).splitlines()]
    text = "\n".join(line for line in lines if line).strip()
    return text or None


_EMAIL = re.compile(r"[^@\s<>(),;:]+@[^@\s<>(),;:]+\.[^@\s<>(),;:]+")
_PHONE = re.compile(r"(?:\+44\s?|0)\d[\d\s]{8,12}\d")


def read_contact(value: object) -> dict[str, str] | None:
    """A contact cell: "Jo Bloggs", "Jo Bloggs <jo@example.org>", "Jo Bloggs, 0113 496 0000"."""
    text = read_text(value)
    if text is None:
        return None
    out: dict[str, str] = {}
    if email := _EMAIL.search(text):
        out["email"] = email.group(0).rstrip(".")
        text = text.replace(email.group(0), " ")
    if phone := _PHONE.search(text):
        out["phone"] = " ".join(phone.group(0).split())
        text = text.replace(phone.group(0), " ")
    name = " ".join(re.sub(r"[<>()\[\],;:]|\b(?:email|e-mail|tel|phone)\b", " ", text).split())
    if name:
        out["name"] = name
    return out


def name_from_email(email: str) -> str:
    """A name for a contact given only as an address: jo.bloggs@... -> Jo Bloggs."""
    local = email.split("@", maxsplit=1)[0]
    return " ".join(part.capitalize() for part in re.split(r"[._-]+", local) if part) or email

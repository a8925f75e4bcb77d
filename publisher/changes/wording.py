"""Changes in plain English: one sentence each, from templates/changes.txt."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from jinja2 import Environment

from publisher.changes.diff import Change
from publisher.plans import rules
from publisher.plans.dates import PlanDate, Precision
from publisher.plans.model import Funding, Route, Status
from publisher.plans.reference import Glossary
from publisher.text import templates, words

DATE_WORDS = {
    # (contract, grant): run on inside a sentence, so lower case
    "engagement_closes": ("date market engagement closes", "date market engagement closes"),
    "tender_opens": ("date the tender opens", "date applications open"),
    "tender_closes": ("closing date for bids", "closing date for applications"),
    "decision": ("date the provider is chosen", "date of the decision on applications"),
    "intention_to_award": (
        "date the intention to award is published",
        "date the intention to award is published",
    ),
    "service_starts": ("date the service starts", "date the funding starts"),
}
FIELD_WORDS = {
    "value": "amount of money",
    "route": "way the provider will be chosen",
    "funding": "type of funding",
    "places": "area covered",
    "duration": "length of the contract or grant",
    "title": "title",
    "summary": "summary",
    "contact": "contact",
    "evaluation": "how bids are scored",
    "current_provider": "current provider",
    "recurrent": "whether the funding is ongoing",
    "more_information": "link to more information",
    "apply": "how to apply",
    "instead": "what to look at instead",
    "first_published": "first publication date",
    "engagement": "event details",
    "lots": "lots",
}
STATUS_SENTENCES = {
    Status.IDEA: "It is back to being an early idea.",
    Status.PLANNING: "It is now being planned.",
    Status.ENGAGEMENT: "The commissioner is now shaping it with local groups.",
    Status.OPEN: "It is now open: bids or applications can be made.",
    Status.EVALUATING: "Bids have closed; the commissioner is choosing who will run it.",
    Status.AWARDED: "It has been awarded.",
    Status.CANCELLED: "Cancelled. It will not go ahead as planned.",
}


_BY_MONTHS = frozenset({Precision.MONTH, Precision.QUARTER})


def _middle(date: PlanDate) -> float:
    return (date.first_day.toordinal() + date.last_day.toordinal()) / 2


def shift(before: PlanDate, after: PlanDate) -> str:
    """'later, by about 3 weeks', 'earlier, by 2 days'."""
    if before.precision is after.precision and before.precision in _BY_MONTHS:
        # "around March" to "around April": a month, not "about 4 weeks"
        months = (after.first_day.year - before.first_day.year) * 12 + (
            after.first_day.month - before.first_day.month
        )
        amount = "a month" if abs(months) == 1 else f"{abs(months)} months"
        return f"{'later' if months > 0 else 'earlier'}, by {amount}" if months else ""
    approximate = before.is_approximate or after.is_approximate
    if approximate:  # "around March" is taken as the middle of March
        days = round(_middle(after) - _middle(before))
    else:
        days = (after.first_day - before.first_day).days
    if days == 0:
        return ""
    about = "about " if approximate else ""
    size = abs(days)
    if size < 14:
        amount = words.count(size, "day")
    elif size < 63:
        weeks = round(size / 7)
        amount = f"{weeks} weeks"
    else:
        months = round(size / 30.44)
        amount = f"{months} months" if months < 24 else f"{round(months / 12)} years"
    return f"{'later' if days > 0 else 'earlier'}, by {about}{amount}"


@dataclass(frozen=True)
class Names:
    """Names for the slugs a change mentions, and phrases the template asks for."""

    places: Callable[[str], str] = lambda slug: slug
    themes: Callable[[str], str] = lambda slug: slug
    organisations: Mapping[str, str] = field(default_factory=dict)
    glossary: Glossary = field(default_factory=Glossary)

    def route(self, route: Route | None) -> str:
        term = self.glossary.for_route(route) if route is not None else None
        return words.lower_first(term.term) if term is not None else "not decided"

    def funding(self, funding: Funding | None) -> str:
        term = self.glossary.for_funding(funding) if funding is not None else None
        return words.lower_first(term.term) if term is not None else "not decided"

    def status_change(self, before: Status, after: Status) -> str:
        if before is Status.CANCELLED:
            return "No longer cancelled. " + STATUS_SENTENCES[after]
        return STATUS_SENTENCES[after]

    def shift(self, before: PlanDate, after: PlanDate) -> str:
        return shift(before, after)

    def place_names(self, slugs: list[str]) -> str:
        return words.and_list(self.places(s) for s in slugs)

    def theme_names(self, slugs: list[str]) -> str:
        return words.and_list(self.themes(s) for s in slugs)

    def organisation_names(self, slugs: list[str]) -> str:
        return words.and_list(self.organisations.get(s, s) for s in slugs)

    def fields(self, names: list[str]) -> str:
        return words.and_list(FIELD_WORDS.get(n, n.replace("_", " ")) for n in names)


class _TemplateNames:
    """What the template sees as `names`: the list-taking helpers under short names."""

    def __init__(self, names: Names) -> None:
        self.route = names.route
        self.funding = names.funding
        self.status_change = names.status_change
        self.shift = names.shift
        self.places = names.place_names
        self.themes = names.theme_names
        self.organisations = names.organisation_names
        self.fields = names.fields


def text_environment() -> Environment:
    """The one template environment (publisher/text/templates.py). Plain text and Markdown
    (changes.txt, diff.md) are not HTML-escaped; pages escape these sentences where they
    place them."""
    return templates.environment()


def _macro() -> Any:
    return _sentence(text_environment())


@cache
def _sentence(env: Environment) -> Any:
    """The `sentence` macro of templates/changes.txt, made once per environment."""
    return env.get_template("changes.txt").module.sentence  # type: ignore[attr-defined]


def label(change: Change, grant: bool) -> str:
    """The words for the field a change is about, as they run on inside a sentence."""
    name = change.field
    if name in DATE_WORDS:
        return DATE_WORDS[name][1 if grant else 0]
    if name in rules.EXPECTED:
        return FIELD_WORDS.get(name, rules.EXPECTED[name])
    return FIELD_WORDS.get(name, name.replace("_", " "))


def sentence(change: Change, grant: bool = False, names: Names | None = None) -> str:
    """The change as one or two plain-English sentences."""
    shown = _TemplateNames(names or Names())
    text = str(_macro()(change, label(change, grant), shown)).strip()
    return words.full_stop(text) if text else text

"""The lists plans refer to: places (which nest), themes, infrastructure bodies, glossary."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated

from pydantic import ConfigDict, Field

from publisher.plans import model
from publisher.plans.england import england_also_within, england_places
from publisher.plans.load import Document, load
from publisher.plans.model import Funding, Opportunity, Place, Route, Slug, Strict, Theme

# The glossary is the package's, beside its templates but not one of them: `check` judges
# plan wording against it, so a deployment's templates folder (text/templates.py) does not
# change it.
GLOSSARY_FILE = Path(__file__).resolve().parents[1] / "templates" / "glossary.yaml"
PLACES_FILE = "places.yaml"
THEMES_FILE = "themes.yaml"
CHANNELS_DIR = "channels"


class GlossaryTerm(Strict):
    slug: Slug
    term: model.ShortText
    also: list[str] = Field(default_factory=list)
    abbreviations: list[str] = Field(default_factory=list)
    jargon: bool = False
    route: Route | None = None
    funding: Funding | None = None
    # What the word means, for anyone: notices show it beside the word.
    means: model.Text
    # What a notice using the word should say ('Why the way is not decided yet'): advice
    # for commissioners, on the glossary page only; in a notice it would read as a slip.
    advice: model.Text | None = None


class GlossaryFile(Strict):
    model_config = ConfigDict(title="Glossary (schema 1)")
    schema_version: Annotated[int, Field(ge=1, le=1)] = Field(alias="schema")
    terms: list[GlossaryTerm]


@dataclass(frozen=True)
class Places:
    """Places by slug; a place is inside its `within` place, and so on up to the system.

    `by_slug` holds the places a site lists (a page and feeds each): the folder's own, and
    those of every place in England (`more`, england.py) that its plans or channels name,
    with the places they are in. Every other place in England is in `more`, which a plan
    may name too, by slug or ONS code (`resolve`)."""

    by_slug: dict[str, Place]
    more: Mapping[str, Place] = field(default_factory=dict)

    def __contains__(self, slug: object) -> bool:
        return isinstance(slug, str) and self.resolve(slug) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.by_slug)

    @cached_property
    def by_code(self) -> dict[str, str]:
        """Each ONS code's slug; the folder's own places first."""
        out = {p.code: slug for slug, p in self.more.items() if p.code is not None}
        out.update({p.code: slug for slug, p in self.by_slug.items() if p.code is not None})
        return out

    def everything(self) -> dict[str, Place]:
        """Every place a plan may name, listed or not."""
        return {**self.more, **self.by_slug}

    def find(self, slug: str) -> Place | None:
        place = self.by_slug.get(slug)
        return place if place is not None else self.more.get(slug)

    def resolve(self, value: str) -> str | None:
        """The slug of the place `value` names, by slug or by ONS code; None if none."""
        if value in self.by_slug or value in self.more:
            return value
        return self.by_code.get(value)

    def chain(self, slug: str) -> list[str]:
        """The place and every place it is part of, innermost first: its `within` places
        up to the system, then any place of England's one of them is also part of (a
        district of a county split between ICBs, england_also_within) and the places that
        one is in. (Worked out once a place: a build asks it of every card on every place's
        list, some 800,000 times at 2,000 opportunities shaped like England.)"""
        known = self._chains.get(slug)
        if known is None:
            known = self._chains[slug] = tuple(self._chain(slug))
        return list(known)

    @cached_property
    def _chains(self) -> dict[str, tuple[str, ...]]:
        return {}

    @cached_property
    def below(self) -> dict[str, list[str]]:
        """For each place any listed place's chain names, the listed places whose chain
        names it (itself among them): worked out once, not for every opportunity's reach
        (England lists some 1,700 places)."""
        out: dict[str, list[str]] = {}
        for slug in self:
            for one in self.chain(slug):
                out.setdefault(one, []).append(slug)
        return out

    def _chain(self, slug: str) -> list[str]:
        out: list[str] = []
        self._up(self.resolve(slug) or slug, out)
        also = england_also_within()
        for one in out:  # grows as it goes: the places each further one is in
            if one in self.more:
                for other in also.get(one, ()):
                    self._up(other, out)
        return out

    def _up(self, slug: str, out: list[str]) -> None:
        """Add `slug` and the places it is `within`, up to the top, to `out`."""
        while (place := self.find(slug)) is not None and slug not in out:
            out.append(slug)
            slug = self.resolve(place.within or "") or ""

    def name(self, slug: str) -> str:
        place = self.find(self.resolve(slug) or slug)
        return place.name if place is not None else slug

    def listing(self, named: Iterable[str]) -> Places:
        """These places, listing as well the places of `more` that `named` names (by slug or
        code) and the places they and the listed ones are in (`hoyland` of places.yaml is
        within England's `barnsley`, so Barnsley has its page)."""
        listed = dict(self.by_slug)
        for value in [*self.by_slug, *named]:
            for slug in self.chain(value):
                place = self.find(slug)
                if slug not in listed and place is not None:
                    listed[slug] = place
        if len(listed) == len(self.by_slug):
            return self
        return Places(listed, self.more)


def own_places(places: Iterable[Place]) -> Places:
    """A folder's own places (places.yaml) over England's. One that restates a place of
    England's (the example's `leeds`) is that place, in the folder's own words and nesting,
    and keeps England's ONS code; check_places says when the two cannot be the same."""
    england = england_places()
    own: dict[str, Place] = {}
    for place in places:
        known = england.get(place.slug)
        code = known.code if known is not None and place.code is None else None
        own[place.slug] = place.model_copy(update={"code": code}) if code else place
    return Places(own, england)


def with_slugs(item: Opportunity, places: Places) -> Opportunity:
    """The opportunity with each place it names by ONS code named by its slug instead, so
    everything after the check knows places by slug alone."""

    def slugs(named: list[str]) -> list[str]:
        return [places.resolve(value) or value for value in named]

    def coded(named: list[str]) -> bool:
        return any(value[:1].isupper() for value in named)

    if not coded(item.places) and not any(coded(lot.places) for lot in item.lots):
        return item
    lots = [lot.model_copy(update={"places": slugs(lot.places)}) for lot in item.lots]
    return item.model_copy(update={"places": slugs(item.places), "lots": lots})


@dataclass(frozen=True)
class Glossary:
    terms: tuple[GlossaryTerm, ...] = ()

    @cached_property
    def by_slug(self) -> dict[str, GlossaryTerm]:
        return {term.slug: term for term in self.terms}

    def for_route(self, route: Route) -> GlossaryTerm | None:
        return next((t for t in self.terms if t.route is route), None)

    def for_funding(self, funding: Funding) -> GlossaryTerm | None:
        return next((t for t in self.terms if t.funding is funding), None)


@dataclass
class Reference:
    """What a plan's slugs are checked against. None means the list could not be loaded."""

    places: Places | None = None
    themes: dict[str, Theme] | None = None
    organisations: frozenset[str] | None = None
    glossary: Glossary = field(default_factory=Glossary)
    # PUBLISHER_ALLOW_PRIVATE_WEBHOOKS where the check runs: a webhook to a private address
    # is then a warning, not an error (the publisher there will post to it).
    allow_private_webhooks: bool = False


def plans_root(path: Path) -> Path:
    """The plans folder a file belongs to: where places.yaml or themes.yaml is, or the
    nearest guess."""
    start = path if path.is_dir() else path.parent
    if start.name == CHANNELS_DIR:
        start = start.parent
    for folder in (start, *start.parents):
        if (folder / PLACES_FILE).is_file() or (folder / THEMES_FILE).is_file():
            return folder
    return start


def load_glossary(path: Path = GLOSSARY_FILE) -> Glossary:
    """The glossary shipped with the publisher; a broken one is a bug in the publisher."""
    document, problems = load(path, str(path))
    if document is None:
        raise RuntimeError(f"the glossary {path} cannot be read: {problems}")
    return Glossary(tuple(GlossaryFile.model_validate(document.data).terms))


def channel_files(root: Path) -> list[Path]:
    folder = root / CHANNELS_DIR
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and not p.name.startswith(".")
    )


def organisation_id(document: Document) -> str | None:
    """The organisation id a channel file declares, if it declares one plainly."""
    data = document.data
    if isinstance(data, dict) and isinstance(data.get("organisation"), dict):
        org_id = data["organisation"].get("id")
        return org_id if isinstance(org_id, str) else None
    return None

"""The lists plans refer to: places (which nest), themes, infrastructure bodies, glossary."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated

from pydantic import ConfigDict, Field

from publisher.plans import model
from publisher.plans.load import Document, load
from publisher.plans.model import Funding, Place, Route, Slug, Strict, Theme

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
    """Places by slug; a place is inside its `within` place, and so on up to the system."""

    by_slug: dict[str, Place]

    def __contains__(self, slug: object) -> bool:
        return slug in self.by_slug

    def __iter__(self) -> Iterator[str]:
        return iter(self.by_slug)

    def chain(self, slug: str) -> list[str]:
        """The place and every place it is part of, innermost first."""
        out: list[str] = []
        while slug in self.by_slug and slug not in out:
            out.append(slug)
            slug = self.by_slug[slug].within or ""
        return out

    def name(self, slug: str) -> str:
        place = self.by_slug.get(slug)
        return place.name if place is not None else slug


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
    """The plans folder a file belongs to: where places.yaml is, or the nearest guess."""
    start = path if path.is_dir() else path.parent
    if start.name == CHANNELS_DIR:
        start = start.parent
    for folder in (start, *start.parents):
        if (folder / PLACES_FILE).is_file():
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

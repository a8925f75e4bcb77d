"""What the home page and the finder form offer besides cards: every list page by kind,
places as they nest (system, places, neighbourhoods) with their counts, and the form's
choices. The web app's /find and subscribe pages use the same."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from publisher.model.views import Listing, SiteData


@dataclass(frozen=True)
class Finder:
    """What the form to narrow the opportunities offers: places (as they nest, with their
    depth), themes and funding types, each as (slug, name)."""

    places: list[tuple[str, str, int]]
    themes: list[tuple[str, str]]
    funding: list[tuple[str, str]]


_FINDER: list[tuple[SiteData, Finder]] = []


def finder(site: SiteData) -> Finder:
    """The choices of the form that narrows the lists (served at /find by the web app),
    worked out once a site."""
    if not _FINDER or _FINDER[0][0] is not site:
        _FINDER[:] = [(site, _finder(site))]
    return _FINDER[0][1]


def _finder(site: SiteData) -> Finder:
    places: list[tuple[str, str, int]] = []
    for kind, branches in listing_groups(site, Counter()):
        if kind == "place":
            _flatten(branches, 0, places)
    themes = [(x.slug, x.name) for x in site.listings if x.kind == "theme"]
    funding = [(x.slug, x.name) for x in site.listings if x.kind == "funding"]
    return Finder(places, sorted(themes, key=lambda t: t[1].lower()), funding)


def _flatten(branches: list[Branch], depth: int, out: list[tuple[str, str, int]]) -> None:
    for branch in branches:
        out.append((branch.listing.slug, branch.listing.name, depth))
        _flatten(branch.within, depth + 1, out)


@dataclass(frozen=True)
class Branch:
    """A list page on the home page, with how many current opportunities it has, and for
    a place the places within it."""

    listing: Listing
    count: int
    within: list[Branch] = field(default_factory=list)


def listing_groups(site: SiteData, counts: Counter[str]) -> list[tuple[str, list[Branch]]]:
    """Every list page by kind: places as a tree (system, places, neighbourhoods), the
    others by name, funding types in their own order."""
    kinds: dict[str, list[Listing]] = {}
    for shown in site.listings:
        kinds.setdefault(shown.kind, []).append(shown)
    groups: list[tuple[str, list[Branch]]] = []
    for kind, shown_here in kinds.items():
        if kind == "place":
            groups.append((kind, _place_tree(site, shown_here, counts)))
            continue
        ordered = shown_here if kind == "funding" else sorted(shown_here, key=_by_name)
        groups.append((kind, [Branch(x, counts[x.path]) for x in ordered]))
    return groups


def _by_name(shown: Listing) -> str:
    return shown.name.lower()


def _place_tree(site: SiteData, places: list[Listing], counts: Counter[str]) -> list[Branch]:
    """The places with list pages as a tree, each place's children found in one pass (a
    country has thousands of places)."""
    by_slug = {p.slug: p for p in places}
    children: dict[str | None, list[Listing]] = {}
    for place in places:
        within = site.places.by_slug[place.slug].within
        children.setdefault(within if within in by_slug else None, []).append(place)

    def branches(under: str | None) -> list[Branch]:
        here = sorted(children.get(under, []), key=lambda p: p.name)
        return [Branch(p, counts[p.path], branches(p.slug)) for p in here]

    return branches(None)

"""Rules for the files plans refer to: channel files, places.yaml and themes.yaml."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from publisher.plans.errors import FieldPath, did_you_mean
from publisher.plans.model import ChannelFile, PlacesFile, ThemesFile
from publisher.plans.reference import Reference
from publisher.plans.validate import Finding, error, warning


def repeated(
    ids: Iterable[str | None],
    path: Callable[[int], FieldPath],
    what: str,
    hint: str | None = None,
    key: str = "id",
) -> list[Finding]:
    """An error for each id used before in the same list (None ids are not ids), at the
    later use, naming the earlier one."""
    out: list[Finding] = []
    first: dict[str, int] = {}
    for index, value in enumerate(ids):
        if value is None:
            continue
        if value in first:
            out.append(
                error(
                    path(index),
                    "duplicate-id",
                    f"Two {what} have the {key} '{value}' (the other is number "
                    f"{first[value] + 1}).",
                    hint,
                )
            )
        else:
            first[value] = index
    return out


def unknown_slug(
    path: FieldPath, code: str, what: str, slug: str, known: Iterable[str], where: str
) -> Finding:
    hint = did_you_mean(slug, known) or f"Add it to {where}, or use one that is there."
    return error(path, code, f"'{slug}' is not {what} in {where}.", hint)


def check_channels(channels: ChannelFile, reference: Reference, file_stem: str) -> list[Finding]:
    out: list[Finding] = []
    org = channels.organisation
    if org.id != file_stem:
        out.append(
            error(
                ("organisation", "id"),
                "id-mismatch",
                f"The organisation id is '{org.id}' but the file is called '{file_stem}.yaml'.",
                f"Rename the file to {org.id}.yaml.",
            )
        )
    out += repeated(
        (channel.id for channel in channels.channels), lambda i: ("channels", i, "id"), "channels"
    )
    for index, channel in enumerate(channels.channels):
        base: FieldPath = ("channels", index)
        wanted = channel.filter
        if reference.places is not None:
            for i, slug in enumerate(wanted.places):
                if slug not in reference.places:
                    out.append(
                        unknown_slug(
                            (*base, "filter", "places", i),
                            "unknown-place",
                            "a place",
                            slug,
                            reference.places,
                            "places.yaml",
                        )
                    )
        if reference.themes is not None:
            for i, slug in enumerate(wanted.themes):
                if slug not in reference.themes:
                    out.append(
                        unknown_slug(
                            (*base, "filter", "themes", i),
                            "unknown-theme",
                            "a theme",
                            slug,
                            reference.themes,
                            "themes.yaml",
                        )
                    )
        if (
            wanted.min_value is not None
            and wanted.max_value is not None
            and wanted.min_value > wanted.max_value
        ):
            out.append(
                error(
                    (*base, "filter", "min_value"),
                    "bad-value",
                    "min_value is more than max_value, so nothing would match.",
                )
            )
        url = getattr(channel, "url", None)
        if isinstance(url, str) and url.startswith("http://"):
            out.append(
                warning(
                    (*base, "url"),
                    "insecure-webhook",
                    "This webhook address is not https, so messages travel unencrypted.",
                    "Use an https:// address.",
                )
            )
    return out


def check_places(places: PlacesFile) -> list[Finding]:
    out: list[Finding] = []
    slugs = [place.slug for place in places.places]
    out += repeated(slugs, lambda i: ("places", i, "slug"), "places", key="slug")
    for index, place in enumerate(places.places):
        if place.within is not None and place.within not in slugs:
            out.append(
                unknown_slug(
                    ("places", index, "within"),
                    "unknown-place",
                    "a place",
                    place.within,
                    slugs,
                    "places.yaml",
                )
            )
    parents = {p.slug: p.within for p in places.places}
    for index, place in enumerate(places.places):
        slug: str | None = place.slug
        visited: set[str] = set()
        while slug is not None and slug not in visited:
            visited.add(slug)
            slug = parents.get(slug)
        if slug == place.slug:
            out.append(
                error(
                    ("places", index, "within"),
                    "place-loop",
                    f"'{place.slug}' ends up inside itself through 'within'.",
                )
            )
    return out


def check_themes(themes: ThemesFile) -> list[Finding]:
    return repeated(
        (theme.slug for theme in themes.themes),
        lambda i: ("themes", i, "slug"),
        "themes",
        key="slug",
    )

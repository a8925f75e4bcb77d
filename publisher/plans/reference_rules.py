"""Rules for the files plans refer to: channel files, places.yaml and themes.yaml."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from urllib.parse import urlsplit

from publisher.plans import channel_addresses
from publisher.plans.addresses import host_problem
from publisher.plans.chat_hosts import NAMES, chat_tool_of
from publisher.plans.england import england_places
from publisher.plans.errors import FieldPath, did_you_mean
from publisher.plans.model import (
    PLACE_CODE_PATTERN,
    ChannelFile,
    EmailChannel,
    Place,
    PlacesFile,
    ThemesFile,
)
from publisher.plans.reference import Places, Reference
from publisher.plans.validate import Finding, error, warning


def repeated(
    ids: Iterable[str | None],
    within: FieldPath,
    field: str,
    what: str,
    hint: str | None = None,
    key: str = "id",
) -> list[Finding]:
    """An error for each id used before in the list at `within` (None ids are not ids), at
    the later use's `field`, naming the earlier one."""
    out: list[Finding] = []
    first: dict[str, int] = {}
    for index, value in enumerate(ids):
        if value is None:
            continue
        if value in first:
            out.append(
                error(
                    (*within, index, field),
                    "duplicate-id",
                    f"Two {what} have the {key} '{value}' (the other is number "
                    f"{first[value] + 1}).",
                    hint,
                )
            )
        else:
            first[value] = index
    return out


# What each kind of reference names, for messages: its problem code, what it is, where
# the known ones are listed.
KINDS = {
    "place": ("unknown-place", "a place", "places.yaml or among England's places"),
    "theme": ("unknown-theme", "a theme", "themes.yaml"),
    "organisation": ("unknown-organisation", "an infrastructure body", "channels/"),
}


# Where a commissioner reads how to name a place, or add one of their own.
PLACES_DOCS = "See 'Places' in docs/commissioners.md."


def names_of(known: Iterable[str]) -> dict[str, str]:
    """Each known slug's name, where the known ones have names (places, themes)."""
    found = known.everything() if isinstance(known, Places) else known
    if not isinstance(found, Mapping):
        return {}
    return {slug: str(getattr(item, "name", "")) for slug, item in found.items()}


def known_slug_hints(findings: list[Finding], data: object, reference: Reference) -> list[Finding]:
    """A place or theme written as words ('young people'): its hint names the known one
    meant, by slug or name, rather than a slug made from the words that is not there."""
    out = []
    for finding in findings:
        field = finding.path[-2] if len(finding.path) > 1 else None
        known = {"places": reference.places, "themes": reference.themes}.get(str(field))
        if finding.code == "bad-format" and known is not None:
            value = data
            for part in finding.path:
                value = value[part] if isinstance(value, dict | list) else None  # type: ignore[index]
            if isinstance(value, str):
                if field == "places":
                    hint = _place_hint(value, known)
                else:
                    hint = _meant(value, known) or (
                        "Use the slug of one in themes.yaml: lower-case words joined by '-'."
                    )
                out.append(replace(finding, hint=hint[:1].upper() + hint[1:]))
                continue
        out.append(finding)
    return out


def _meant(word: str, known: Iterable[str]) -> str | None:
    """'did you mean 'barnsley' (Barnsley)?': the known slug nearest `word` by slug or
    name, with its name where it has one; None when none is close."""
    names = names_of(known)
    choices = names if isinstance(known, Places) else known
    meant = did_you_mean(word, choices, names)
    if meant is None:
        return None
    slug = meant.split("'")[1]
    name = names.get(slug)
    if name and name.lower() != slug.replace("-", " "):
        return f"did you mean '{slug}' ({name})?"
    return meant


def _place_hint(value: str, known: Iterable[str]) -> str:
    """The place meant, when one is close by slug or name (never by code: codes close in
    digits are different places), and how to add one."""
    meant = None if re.fullmatch(PLACE_CODE_PATTERN, value) else _meant(value, known)
    add = f"If it is a place of your own, add it to places.yaml. {PLACES_DOCS}"
    if meant is not None:
        return f"{meant} {add}"
    return (
        "Use the slug or ONS code of a place in England (barnsley or E08000016), or one "
        f"from your places.yaml. {add}"
    )


def unknown(
    kind: str,
    slugs: Iterable[str | None],
    known: Iterable[str] | None,
    within: FieldPath,
    field: str | None = None,
) -> list[Finding]:
    """An error, with the nearest known slug as a hint, for each slug of a list that is not
    known; nothing when the known ones could not be read (that is reported elsewhere)."""
    if known is None:
        return []
    code, what, where = KINDS[kind]
    out: list[Finding] = []
    for index, slug in enumerate(slugs):
        if slug is not None and slug not in known:
            if kind == "place":
                hint = _place_hint(slug, known)
            else:
                hint = _meant(slug, known) or f"Add it to {where}, or use one that is there."
            path = (*within, index) if field is None else (*within, index, field)
            out.append(error(path, code, f"'{slug}' is not {what} in {where}.", hint))
    return out


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
    out += repeated((channel.id for channel in channels.channels), ("channels",), "id", "channels")
    for index, channel in enumerate(channels.channels):
        base: FieldPath = ("channels", index)
        wanted = channel.filter
        out += unknown("place", wanted.places, reference.places, (*base, "filter", "places"))
        out += unknown("theme", wanted.themes, reference.themes, (*base, "filter", "themes"))
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
        if isinstance(channel, EmailChannel):
            out += channel_addresses.check(channel, base)
        url = getattr(channel, "url", None)
        if isinstance(url, str):
            out += _private_webhook(url, (*base, "url"), reference.allow_private_webhooks)
        tool = chat_tool_of(url) if isinstance(url, str) else None
        if tool is not None:
            out.append(
                warning(
                    (*base, "kind"),
                    "chat-webhook",
                    f"This address looks like a {NAMES[tool]} webhook, which cannot read the "
                    "publisher's own webhook format: every message would be refused.",
                    f"Write 'kind: {tool}' instead, and put the address in an environment "
                    "variable named by url_env (for example "
                    f"url_env: {channel.id.upper().replace('-', '_')}_URL), not in this file: "
                    "anyone who has the address can post to your channel. See "
                    "docs/webhooks.md.",
                )
            )
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


def _private_webhook(url: str, path: FieldPath, allowed: bool) -> list[Finding]:
    """An error for an address that is written as a private, loopback or other non-public
    address, or localhost: the publisher refuses to post there (webhook.py, same rule).
    Where PUBLISHER_ALLOW_PRIVATE_WEBHOOKS is on, the publisher posts there: a warning."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return []  # not a URL the sender can use either; it says so when it tries
    problem = host_problem(host) if host else None
    if problem is None:
        return []
    if allowed:
        return [
            warning(
                path,
                "private-webhook",
                f"This webhook address is not on the public internet: {problem}. The "
                "publisher posts to it only because PUBLISHER_ALLOW_PRIVATE_WEBHOOKS is on "
                "here.",
                "A publisher without that setting will not post to it; use the receiver's "
                "public https:// address if it has one.",
            )
        ]
    return [
        error(
            path,
            "private-webhook",
            f"This webhook address is not on the public internet: {problem}. "
            "The publisher will not post to it.",
            "Use the receiver's public https:// address. If the receiver really is on a "
            "private network, whoever runs the publisher can allow it with "
            "PUBLISHER_ALLOW_PRIVATE_WEBHOOKS=true, where the publisher runs and where "
            "this check runs; the check then warns instead.",
        )
    ]


def check_places(places: PlacesFile, england: Mapping[str, Place] | None = None) -> list[Finding]:
    """places.yaml: its slugs once each; each `within` a place of its own or England's; a
    place of England's restated (the example's `leeds`) is that same place, so a code that
    belongs to another place is an error."""
    england = england if england is not None else england_places()
    out: list[Finding] = []
    slugs = [place.slug for place in places.places]
    out += repeated(slugs, ("places",), "slug", "places", key="slug")
    known = Places({p.slug: p for p in places.places}, england)
    out += unknown("place", (place.within for place in places.places), known, ("places",), "within")
    out += _clashes(places, england)
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


def _clashes(places: PlacesFile, england: Mapping[str, Place]) -> list[Finding]:
    by_code = {p.code: p for p in england.values() if p.code is not None}
    out: list[Finding] = []
    for index, place in enumerate(places.places):
        same = england.get(place.slug)
        if place.code is None:
            continue
        if same is not None and same.code != place.code:
            out.append(
                error(
                    ("places", index, "code"),
                    "place-clash",
                    f"'{place.slug}' is {same.name} among England's places, whose ONS code is "
                    f"{same.code}, not {place.code}.",
                    f"Give this place a slug of its own, or leave the code out. {PLACES_DOCS}",
                )
            )
            continue
        owner = by_code.get(place.code)
        if owner is not None and owner.slug != place.slug:
            out.append(
                error(
                    ("places", index, "code"),
                    "place-clash",
                    f"{place.code} is the ONS code of {owner.name} ('{owner.slug}') among "
                    "England's places.",
                    f"Use the slug '{owner.slug}' for it, or leave the code out. {PLACES_DOCS}",
                )
            )
    return out


def check_themes(themes: ThemesFile) -> list[Finding]:
    return repeated(
        (theme.slug for theme in themes.themes),
        ("themes",),
        "slug",
        "themes",
        key="slug",
    )

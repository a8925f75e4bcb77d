"""The forward plan as Open Contracting Data Standard 1.1 releases and records (docs/ocds.md)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from publisher.formats.base import (
    Format,
    Layout,
    Lazily,
    Member,
    Output,
    Part,
    Shelf,
    Whole,
    digest,
    own_key,
)
from publisher.formats.data import Json, dumps
from publisher.formats.memo import per_view
from publisher.formats.ocds_releases import history, releases
from publisher.formats.ocds_uk import SUITABILITY_EXTENSION, UK_EXTENSION
from publisher.formats.ocds_values import timestamp
from publisher.formats.pages import TEMPLATES
from publisher.model.views import CommissionerView, OpportunityView, SiteData
from publisher.settings import DEFAULT_OCID_PREFIX, ocid_prefix_problem

OCDS_VERSION = "1.1"
# Shaped like a registered prefix, but not one: a publisher registers its own (docs/ocds.md),
# and sets it as PUBLISHER_OCID_PREFIX (publisher/settings.py).
DEFAULT_PREFIX = DEFAULT_OCID_PREFIX
PUBLISHER = "Forward plan publisher"

RELEASES = "ocds/release-package.json"
RECORDS = "ocds/record-package.json"
EXTENSION = "ocds/extension"  # our extension, served with the site
EXTENSION_FILES = ("extension.json", "release-schema.json", "README.md")
EXTENSION_SOURCE = TEMPLATES / "static" / "ocds-extension"
LOTS_EXTENSION = (
    "https://raw.githubusercontent.com/open-contracting-extensions/"
    "ocds_lots_extension/v1.1.5/extension.json"
)


def use_prefix(site: SiteData, prefix: str | None) -> str | None:
    """Publish this site's ocids under `prefix` (None: the placeholder); return what is wrong
    with it, in plain words, if anything."""
    site.ocid_prefix = prefix if prefix is not None else DEFAULT_PREFIX
    return ocid_prefix_problem(site.ocid_prefix)


def site_prefix(site: SiteData) -> str:
    return site.ocid_prefix


@dataclass(frozen=True)
class Made:
    """One release, made once per build and shared by every package that carries it."""

    ocid: str
    date: str
    id: str
    tag: list[str]
    text: str  # the release as compact JSON

    @property
    def order(self) -> tuple[str, str, str]:
        return (self.ocid, self.date, self.id)


def compact(value: Json) -> str:
    """JSON for machines: no indentation, so json's C encoder writes it (a 20,000-opportunity
    package in about a second instead of ten)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def fragment(site: SiteData, view: OpportunityView) -> tuple[Made, ...]:
    """An opportunity's releases, made once per build (in parallel for large sites)."""
    return tuple(
        Made(r["ocid"], r["date"], r["id"], r["tag"], compact(r))
        for r in releases(site, history(site, view), site_prefix(site))
    )


def made_for(site: SiteData, views: Iterable[OpportunityView]) -> list[Made]:
    """The releases of `views`, in package order: by ocid, then date, then id."""
    out = [
        one for view in views for one in per_view(site, view, "ocds", partial(fragment, site, view))
    ]
    out.sort(key=lambda one: one.order)
    return out


def _head(
    site: SiteData, path: str, publisher: CommissionerView | None, newest: str | None = None
) -> Json:
    """What a package says about itself; the commissioner publishes its own package, this
    site those that span commissioners. Published on the day of its newest release when
    that is known (as OCDS asks of a package made on demand; and a commissioner's package
    is then not made again every day), else the day the site was built for."""
    name = publisher.name if publisher is not None else PUBLISHER
    uri = publisher.website if publisher is not None else site.link("")
    return {
        "uri": site.link(path),
        "version": OCDS_VERSION,
        "extensions": [
            LOTS_EXTENSION,
            SUITABILITY_EXTENSION,
            UK_EXTENSION,
            site.link(f"{EXTENSION}/extension.json"),
        ],
        "publishedDate": newest or timestamp(site.today),
        "publisher": {"name": name, "uri": uri} if uri else {"name": name},
    }


def package_text(
    site: SiteData, made: list[Made], path: str, publisher: CommissionerView | None = None
) -> bytes:
    """A release package of `made` (in package order), to be published at `path`: the
    releases' text is spliced in as made, not encoded again."""
    newest = max((one.date for one in made), default=None)
    head, sep, tail = package_frame(site, path, publisher, newest)
    return head + sep.join(one.text.encode() for one in made) + tail


def package_frame(
    site: SiteData,
    path: str,
    publisher: CommissionerView | None = None,
    newest: str | None = None,
) -> tuple[bytes, bytes, bytes]:
    """A release package around its releases: before them, between two, after them."""
    return _around({**_head(site, path, publisher, newest), "releases": []})


def _around(package: Json) -> tuple[bytes, bytes, bytes]:
    """A package whose last field is its (empty) list of releases or records, around
    them: before them, between two, after them."""
    head = compact(package)
    assert head.endswith("[]}")
    return head[:-2].encode(), b",", b"]}\n"


def package(
    site: SiteData, made: Iterable[Json], path: str, publisher: CommissionerView | None = None
) -> Json:
    """A release package of releases as values (for tests and tools)."""
    ordered = sorted(made, key=lambda r: (r["ocid"], r["date"], r["id"]))
    newest = max((r["date"] for r in ordered), default=None)
    return {**_head(site, path, publisher, newest), "releases": ordered}


def record_package(site: SiteData, made: list[Made]) -> Json:
    """Every ocid's releases, linked into the release package. No compiled release: the
    merge rules belong to OCDS tools (ocdsmerge), not to a build."""
    by_ocid: dict[str, list[Made]] = {}
    for each in made:
        by_ocid.setdefault(each.ocid, []).append(each)
    home = site.link(RELEASES)
    return {
        **_head(site, RECORDS, None, max((one.date for one in made), default=None)),
        "packages": [home],
        "records": [
            {
                "ocid": key,
                "releases": [
                    {"url": f"{home}#{r.id}", "date": r.date, "tag": r.tag} for r in linked
                ],
            }
            for key, linked in by_ocid.items()
        ],
    }


def record_package_text(site: SiteData, made: list[Made] | None = None) -> bytes:
    """The record package of `made` (in package order), else of every opportunity."""
    made = made_for(site, site.opportunities) if made is None else made
    return (compact(record_package(site, made)) + "\n").encode()


def extension_file(site: SiteData, name: str) -> bytes:
    """A file of our extension; extension.json gets the full address of its README."""
    raw = (EXTENSION_SOURCE / name).read_bytes()
    if name != "extension.json":
        return raw
    meta: dict[str, Any] = json.loads(raw)
    meta["documentationUrl"] = {"en": site.link(f"{EXTENSION}/README.md")}
    return dumps(meta)


def outputs(site: SiteData) -> Iterator[tuple[str, Callable[[], bytes]]]:
    """The OCDS files: our extension, and the packages that have releases (a package must
    have at least one, so a commissioner with no opportunities gets none)."""
    for name in EXTENSION_FILES:
        yield f"{EXTENSION}/{name}", lambda name=name: extension_file(site, name)  # type: ignore[misc]
    if not site.opportunities:
        return
    yield RELEASES, lambda: package_text(site, made_for(site, site.opportunities), RELEASES)
    yield RECORDS, partial(record_package_text, site)
    for commissioner in site.commissioners:
        members = [v for v in site.opportunities if v.commissioner.id == commissioner.id]
        if members:
            path = f"ocds/{commissioner.id}.json"
            yield (
                path,
                lambda path=path, members=members, c=commissioner: package_text(  # type: ignore[misc]
                    site, made_for(site, members), path, c
                ),
            )


# --- as a format (formats/base.py) ---------------------------------------------------------


class Ocds(Format):
    """OCDS: each commissioner's release package with its plan file; the packages of
    everything, and our extension, from every opportunity's releases."""

    name = "ocds"

    def part(self, site: SiteData, view: OpportunityView) -> Part:
        made = per_view(site, view, "ocds", partial(fragment, site, view))
        ordered = sorted(made, key=lambda one: one.order)
        facts = tuple(replace(one, text="") for one in ordered)
        return Part(facts, (b",".join(one.text.encode() for one in ordered),))

    def plan_files(
        self, site: SiteData, commissioner: CommissionerView | None, views: list[OpportunityView]
    ) -> Iterator[tuple[str, bytes | str]]:
        if commissioner is not None and views:
            path = f"ocds/{commissioner.id}.json"
            yield path, package_text(site, made_for(site, views), path, commissioner)

    def outputs(self, whole: Whole, shelf: Shelf) -> Iterator[Output]:
        """Our extension, and the packages of everything (a package must have at least one
        release: with no opportunities there are none)."""
        site, members = whole.site, whole.members
        for name in EXTENSION_FILES:
            path = f"{EXTENSION}/{name}"
            yield Output(path, digest(path), partial(extension_file, site, name), 0)
        if not members:
            return
        # made from the members' releases alone, in their own order (by ocid): a day that
        # changes what lists say of an opportunity, not its releases, keeps the packages
        everything = whole.bundles[0]  # 'all'
        make_key = partial(own_key, everything, shelf, in_order=False)
        key = digest("ocds", whole.keyed("ocds", everything, make_key))
        size = len(members)
        yield Output(RELEASES, key, partial(_release_package, site, members, shelf), size)
        yield Output(RECORDS, key, partial(_record_package, site, members, shelf), size)


def _release_package(site: SiteData, members: Sequence[Member], shelf: Shelf) -> Layout:
    """The package of every release: each opportunity's releases together (its ocid comes
    first in package order), so the next build can splice it."""
    kept, newest = _in_order(members, shelf)
    head, sep, tail = package_frame(site, RELEASES, None, newest)
    return Layout(head, b"".join(m.digest for m in kept), shelf.fragments(kept), sep, tail)


def _in_order(members: Sequence[Member], shelf: Shelf) -> tuple[list[Member], str | None]:
    """The members with releases, in package order (each one's ocid comes first), and the
    date of the newest release."""
    kept = sorted((m for m in members if shelf.facts(m)), key=lambda m: shelf.facts(m)[0].order)
    return kept, max((one.date for m in kept for one in shelf.facts(m)), default=None)


def _record_package(site: SiteData, members: Sequence[Member], shelf: Shelf) -> Layout:
    """The package of every ocid's record, one opportunity's (one ocid) after another in
    package order, so the next build can splice it: the same bytes as
    `record_package_text`, whose records are made here only for the opportunities that
    changed."""
    kept, newest = _in_order(members, shelf)
    home = site.link(RELEASES)
    head, sep, tail = _around(
        {**_head(site, RECORDS, None, newest), "packages": [home], "records": []}
    )
    # each record links into the release package: its address is in what it is made from
    digests = b"".join(digest(m.digest, home) for m in kept)
    return Layout(head, digests, Lazily(kept, partial(_record, shelf, home)), sep, tail)


def _record(shelf: Shelf, home: str, member: Member) -> bytes:
    """A member's record: its ocid's releases, linked into the release package."""
    made: tuple[Made, ...] = shelf.facts(member)
    linked = [{"url": f"{home}#{r.id}", "date": r.date, "tag": r.tag} for r in made]
    return compact({"ocid": made[0].ocid, "releases": linked}).encode()


OCDS = Ocds()

"""Every place in England a plan may name without a places.yaml of its own: the ICBs,
their sub-ICB locations and the council areas, with ONS codes (england-places.csv, made
by bench/build_england_places.py from ONS lookups), read once a process."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from publisher.plans.model import Place

ENGLAND_FILE = Path(__file__).resolve().with_name("england-places.csv")


@cache
def england_places() -> dict[str, Place]:
    """England's places by slug. The file ships with the publisher and a test checks every
    row against the format, so it is read as it is (CSV: a YAML file this size takes ten
    times as long to read)."""
    with ENGLAND_FILE.open(newline="", encoding="utf-8") as handle:
        lines = (line for line in handle if not line.startswith("#"))
        return {
            row["slug"]: Place.model_construct(
                slug=row["slug"],
                name=row["name"],
                kind=row["kind"],  # type: ignore[arg-type]  # checked by a test
                within=row["within"] or None,
                code=row["code"] or None,
            )
            for row in csv.DictReader(lines)
        }


@cache
def england_also_within() -> dict[str, tuple[str, ...]]:
    """The places of England's that a place is also part of, beyond its one `within`: the
    sub-ICB locations of a district whose county is split between ICBs (Epping Forest, in
    Essex, is also within hertfordshire-and-west-essex-07h), by slug. Only places that
    have any are keys. bench/build_england_places.py says how they are worked out."""
    with ENGLAND_FILE.open(newline="", encoding="utf-8") as handle:
        lines = (line for line in handle if not line.startswith("#"))
        return {
            row["slug"]: tuple(row["also_within"].split())
            for row in csv.DictReader(lines)
            if row["also_within"]
        }


@cache
def _codes() -> dict[str, str]:
    return {p.code: slug for slug, p in england_places().items() if p.code is not None}


def slug_of_code(value: str) -> str | None:
    """The slug of the place of England's whose ONS code `value` is; None if none is."""
    return _codes().get(value)


# A `places:` list as plans and channel files write it: [a, b] or one '- a' a line.
_FLOW = re.compile(rb"places:[ \t]*\[([^\]]*)\]")
_BLOCK = re.compile(rb"places:[ \t]*(?:#[^\n]*)?\r?\n((?:[ \t]*-[ \t]+[^\n]*\r?\n?)+)")
_ITEM = re.compile(rb"^[\s\-]*['\"]?([A-Za-z0-9-]+)['\"]?\s*(?:#.*)?$")


def named_in(raw: bytes) -> set[str]:
    """The values of every `places:` list in a file's bytes, found without reading the YAML
    (the site needs them before it reads any plan: which of England's places to list)."""
    # Each different item once: a plan of hundreds of opportunities names a few places.
    items: set[bytes] = set()
    for found in _FLOW.finditer(raw):
        items.update(found.group(1).split(b","))
    for found in _BLOCK.finditer(raw):
        items.update(found.group(1).splitlines())
    return {m.group(1).decode() for item in items if (m := _ITEM.match(item.strip()))}


def named_places(raws: Iterable[bytes | None]) -> set[str]:
    """The places of England's that these plan or channel files (their bytes) name, by
    slug or code: a site lists these (a page and feeds each) beside the folder's own."""
    england = england_places()
    codes = {place.code for place in england.values()}
    out: set[str] = set()
    for raw in raws:
        if raw is not None and b"places" in raw:
            out.update(v for v in named_in(raw) if v in england or v in codes)
    return out

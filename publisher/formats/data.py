"""The JSON files of a collection, for re-use: a versioned, documented document.

docs/json.md describes every field; templates/static/opportunities-v2.schema.json is its
JSON Schema. Keys come in a fixed order and opportunities in list order, so the same plans
give byte-identical files. Nothing in them reads the day the site is built for beyond
comparing it with dates ("is it open?"), so a file changes only when what it says does;
the day itself is in build.json, and version 1 (which said it) in v1/all.json (data_v1).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any

from publisher.formats import data_v1, feeds, memo
from publisher.formats.base import Bundle, Format, Layout, Output, Part, Shelf, Whole, digest
from publisher.model.views import (
    FUNDING_WORDS,
    Collection,
    OpportunityView,
    Scope,
    SiteData,
)
from publisher.plans.dates import LONDON, PlanDate, Precision
from publisher.plans.model import Amount, Contact, Duration, Money, PerAward, Range
from publisher.text import organisations, words

SCHEMA_VERSION = 2  # additive changes keep it; breaking ones raise it (docs/json.md)
SCHEMA_FILE = f"static/opportunities-v{SCHEMA_VERSION}.schema.json"
FORMATS = ("html", "rss", "atom", "ics", "json")
# The day the site was built for, in a file of its own: the one JSON file made each day
# (with v1/all.json); publisher/service/live.py reads it.
BUILD_FILE = "build.json"

Json = dict[str, Any]


def as_json(site: SiteData, collection: Collection) -> bytes:
    """The collection as JSON: '<path>.json'."""
    return json_of(site, collection, [one[0] for one in _lines(site, collection)])


def as_json_v1(site: SiteData, collection: Collection) -> bytes:
    """The collection in version 1 of the format, which says the day and each
    opportunity's days left (v1/all.json is `site.everything` so)."""
    head, sep, tail = frame_v1(site, collection, bool(collection.members))
    lines = _lines(site, collection)
    members = data_v1.lines([v2 for v2, _ in lines], [c for _, c in lines], site.today)
    return head + sep.join(members) + tail


def build_file(site: SiteData) -> bytes:
    """build.json: the day the site was built for."""
    return dumps({"generated_for": site.today.isoformat()})


def _lines(site: SiteData, collection: Collection) -> list[tuple[bytes, data_v1.Counting]]:
    return memo.each(site, collection, "json", line)


def json_of(site: SiteData, collection: Scope, parts: Sequence[bytes]) -> bytes:
    """The collection's document, indented, with each opportunity on one line of compact
    JSON (made once per build and reused by every collection that carries it): readable,
    a line per opportunity for diffs and grep, and written by json's C encoder."""
    head, sep, tail = frame(site, collection, bool(parts))
    return head + sep.join(parts) + tail


def frame(site: SiteData, collection: Scope, with_members: bool) -> tuple[bytes, bytes, bytes]:
    """The document around its opportunities: what comes before them, between two, and
    after them."""
    return _around(dumps(document(site, collection, with_opportunities=False)), with_members)


def frame_v1(site: SiteData, collection: Scope, with_members: bool) -> tuple[bytes, bytes, bytes]:
    """`frame` as version 1 says it: with the day it was made for. Reads the day."""
    head = document(site, collection, with_opportunities=False)
    return _around(
        dumps(data_v1.document(head, site.link(data_v1.SCHEMA_FILE), site.today)), with_members
    )


def _around(head: bytes, with_members: bool) -> tuple[bytes, bytes, bytes]:
    assert head.endswith(EMPTY_TAIL)
    if not with_members:
        return head, b",\n", b""
    return head[: -len(EMPTY_TAIL)] + b"[\n", b",\n", b"\n  ]\n}\n"


EMPTY_TAIL = b"[]\n}\n"  # how the document ends with no opportunities


def dumps(value: Json) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def fragment(site: SiteData, view: OpportunityView) -> bytes:
    """One opportunity as it sits in the list: one line of compact JSON, two levels in."""
    return line(site, view)[0]


def line(site: SiteData, view: OpportunityView) -> tuple[bytes, data_v1.Counting]:
    """`fragment`, with what version 1 needs to count its days left (data_v1): the line is
    encoded in two pieces, split where version 1 has `days_left`, so where that goes is
    known without searching for it."""
    fields = list(opportunity(site, view).items())
    cut = next(i for i, (key, _) in enumerate(fields) if key == data_v1.AFTER) + 1
    first = ("    " + _compact(dict(fields[:cut]))[:-1] + ",").encode("utf-8")
    rest = _compact(dict(fields[cut:]))[1:].encode("utf-8")
    # counted from its closing day while open, when the plan names it (a plain date)
    return first + rest, data_v1.Counting(len(first), view.open_until)


def _compact(value: Json) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def opportunity_v1(site: SiteData, view: OpportunityView) -> Json:
    """One opportunity as version 1 gives it: with its days left, as of `site.today`."""
    return data_v1.record(opportunity(site, view), view.days_left)


def document(site: SiteData, collection: Scope, with_opportunities: bool = True) -> Json:
    """The whole document as Python values; opportunities come last."""
    listing = collection.listing
    links = {
        kind: site.link(
            feeds.html_page(collection) if kind == "html" else f"{collection.path}.{kind}"
        )
        for kind in FORMATS
    }
    return {
        "schema_version": SCHEMA_VERSION,
        "$schema": site.link(SCHEMA_FILE),
        "collection": {
            "kind": listing.kind if listing is not None else "all",
            "slug": listing.slug if listing is not None else None,
            "title": collection.title,
            "feed_title": feeds.title(collection),
            "path": collection.path,
            "links": links,
        },
        "opportunities": [opportunity(site, view) for view in _members(collection)]
        if with_opportunities
        else [],
    }


def _members(collection: Scope) -> list[OpportunityView]:
    if not isinstance(collection, Collection):
        raise TypeError("only a collection of views has its opportunities as values")
    return collection.members


def number(value: float) -> int | float:
    """Whole pounds as integers (400000, not 400000.0)."""
    return int(value) if float(value).is_integer() else value


def amount(value: Amount | None) -> int | float | Json | None:
    if value is None:
        return None
    if isinstance(value, Range):
        return {"min": number(value.min), "max": number(value.max)}
    return number(value)


def money(value: Money | None) -> Json | None:
    """The money as the plan gives it, in pounds; a total given as min and max becomes a
    total range, so a total is always a number or {min, max}."""
    if value is None:
        return None
    total = amount(value.total)
    if value.min is not None and value.max is not None:
        total = {"min": number(value.min), "max": number(value.max)}
    return {
        "currency": "GBP",
        "total": total,
        "per_year": amount(value.per_year),
        "per_award": per_award(value.per_award),
    }


def per_award(value: PerAward | None) -> int | float | Json | None:
    """One grant's size: a number when all are the same, else {min, max}, min null for
    'up to'."""
    if value is None or isinstance(value, (int, float)):
        return None if value is None else number(value)
    return {"min": None if value.min is None else number(value.min), "max": number(value.max)}


def duration(value: Duration | None) -> Json | None:
    if value is None:
        return None
    return {
        "years": None if value.years is None else number(value.years),
        "months": value.months,
        "extension_years": None if value.extension_years is None else number(value.extension_years),
        "extension_months": value.extension_months,
    }


def plan_date(date: PlanDate | None) -> Json | None:
    """A date as precise as the plan: its text, its precision and the days it may fall on."""
    if date is None:
        return None
    moment = None
    if date.precision is Precision.MINUTE:
        moment = date.start.replace(tzinfo=LONDON).isoformat()
    return {
        "text": date.text,
        "precision": date.precision.value,
        "first_day": date.first_day.isoformat(),
        "last_day": date.last_day.isoformat(),
        "datetime": moment,
        "words": words.when(date),
    }


def stale(view: OpportunityView) -> Json | None:
    """A status fallen behind the dates: which date, since when, the plan's last update."""
    found = view.stale
    if found is None:
        return None
    return {
        "behind": found.behind.value,
        "plan_status": found.says.value,
        "date_field": "tender_closes" if found.behind.value == "closed" else "tender_opens",
        "since": found.since.isoformat(),
        "plan_updated": None if found.updated is None else found.updated.isoformat(),
    }


def contact(value: Contact | None) -> Json | None:
    if value is None:
        return None
    return {"name": value.name, "email": value.email, "phone": value.phone}


def opportunity(site: SiteData, view: OpportunityView) -> Json:
    item = view.item
    commissioner = view.commissioner
    dates = {
        key.field: {"label": key.label, **(plan_date(key.date) or {})} for key in view.key_dates
    }
    route = None
    if item.route is not None:
        term = view.route
        route = {
            "id": item.route.value,
            "name": term.term if term is not None else None,
            "explanation": " ".join(term.means.split()) if term is not None else None,
        }
    needs = item.requirements
    evaluation = item.evaluation
    noun = "grants" if view.is_grant else "awards"  # what one award is called (words.py)
    return {
        "uid": view.uid,
        "id": item.id,
        "url": site.link(view.url),
        "commissioner": {
            "id": commissioner.id,
            "name": commissioner.name,
            "kind": commissioner.kind,
            "kind_text": commissioner.kind_words,
            "website": commissioner.website,
            "transparency": site.link(f"transparency/{commissioner.id}.html"),
            "example": commissioner.example,
        },
        "title": item.title,
        "summary": " ".join(item.summary.split()),
        "status": item.status.value,
        "status_text": view.status_words,
        "state": view.state.value,
        "stale": stale(view),
        "apply": None if item.apply is None else item.apply.model_dump(mode="json"),
        "instead": None if item.instead is None else item.instead.model_dump(mode="json"),
        "places": [{"slug": p.slug, "name": p.name} for p in view.places],
        "themes": [{"slug": t.slug, "name": t.name} for t in view.themes],
        "funding": item.funding.value if item.funding is not None else None,
        "funding_text": FUNDING_WORDS[item.funding] if item.funding is not None else None,
        "route": route,
        "value": money(item.value),
        "value_text": words.money(item.value, noun),
        "duration": duration(item.duration),
        "duration_text": words.duration(item.duration),
        "recurrent": item.recurrent,
        "lots": [
            {
                "id": lot.id,
                "title": lot.title,
                "summary": " ".join(lot.summary.split()) if lot.summary else None,
                "places": [{"slug": s, "name": site.places.name(s)} for s in lot.places],
                "value": money(lot.value),
                "value_text": words.money(lot.value, noun),
            }
            for lot in item.lots
        ],
        "dates": {
            name: dates.get(name)
            for name in (
                "engagement_closes",
                "tender_opens",
                "tender_closes",
                "decision",
                "intention_to_award",
                "standstill_ends",
                "service_starts",
            )
        },
        "engagement": [
            {
                "title": event.title,
                "start": plan_date(event.start),
                "end": plan_date(event.end),
                "where": event.where,
                "online": event.online,
                "link": event.link,
                "recorded": event.recorded,
                "host": _organisation(site, event.host),
                "paid_participation": event.paid_participation,
            }
            for event in item.dates.engagement
        ],
        "requirements": [
            {
                "field": need.field,
                "label": need.label,
                "required": need.required,
                "amount": None if need.amount is None else number(need.amount),
                "why": need.why,
            }
            for need in view.requirements
        ],
        "eligibility": None
        if item.eligibility is None
        else {
            "kinds": [
                {"id": kind.value, "name": organisations.kind_name(kind)}
                for kind in item.eligibility.kinds
            ]
        },
        "consortia_welcome": needs.consortia_welcome if needs is not None else None,
        "subcontracting_welcome": needs.subcontracting_welcome if needs is not None else None,
        "evaluation": None
        if evaluation is None
        else {
            "criteria": [{"name": c.name, "weight": c.weight} for c in evaluation.criteria],
            "social_value_weight": evaluation.social_value_weight,
            "vcse_panel_member": evaluation.vcse_panel_member,
        },
        "current_provider": None
        if item.current_provider is None
        else {
            "name": item.current_provider.name,
            "contract_ends": plan_date(item.current_provider.contract_ends),
        },
        "gaps": [{"field": gap.field, "what": gap.what, "reason": gap.reason} for gap in view.gaps],
        "notice": None
        if view.notice is None
        else {
            "published": view.notice.published.isoformat(),
            "weeks": view.notice.weeks,
            "promised_weeks": view.notice.promised_weeks,
            "short": view.notice.short,
            "reason": view.notice.reason,
        },
        "awarded": [
            {
                "name": recipient.name,
                "amount": None if recipient.amount is None else number(recipient.amount),
                "website": recipient.website,
            }
            for recipient in item.awarded
        ],
        "support": [
            {
                "by": {"id": offer.by, "name": offer.name, "website": offer.website},
                "what": offer.what,
                "link": offer.link,
            }
            for offer in view.support
        ],
        "contact": contact(item.contact or commissioner.contact),
        "more_information": item.more_information,
        "last_changed": view.last_changed.isoformat() if view.last_changed else None,
        "first_published": view.first_seen.isoformat() if view.first_seen else None,
        "withdrawn": view.withdrawn.isoformat() if view.withdrawn else None,
        "changes": [
            {"id": c.id, "day": c.day.isoformat(), "text": c.text, "announced": c.news}
            for c in view.changes
        ],
    }


def _organisation(site: SiteData, slug: str | None) -> Json | None:
    """An infrastructure body named in a plan, with its name and website when we know it."""
    if slug is None:
        return None
    known = site.organisations.get(slug)
    return {
        "id": slug,
        "name": known.name if known is not None else slug,
        "website": known.website if known is not None else None,
    }


# --- as a format (formats/base.py) ---------------------------------------------------------


class Data(Format):
    """JSON for everything and for each list, an opportunity per line."""

    name = "json"

    def part(self, site: SiteData, view: OpportunityView) -> Part:
        v2, counting = memo.per_view(site, view, "json", lambda: line(site, view))
        return Part(counting, (v2,))

    def outputs(self, whole: Whole, shelf: Shelf) -> Iterator[Output]:
        for bundle in whole.bundles:
            make = partial(_json_of, whole.site, bundle, shelf)
            yield Output(f"{bundle.path}.json", bundle.key, make, len(bundle.members))
        everything = whole.bundles[0]  # 'all'
        make = partial(_v1_of, whole.site, everything, shelf)
        key = digest(data_v1.PATH, everything.key)
        yield Output(data_v1.PATH, key, make, len(everything.members))
        yield Output(BUILD_FILE, digest(BUILD_FILE), partial(build_file, whole.site), 0)


def _json_of(site: SiteData, bundle: Bundle, shelf: Shelf) -> Layout:
    members = bundle.members
    head, sep, tail = frame(site, bundle, bool(members))
    digests = b"".join(m.digest for m in members)
    return Layout(head, digests, shelf.fragments(members), sep, tail)


def _v1_of(site: SiteData, bundle: Bundle, shelf: Shelf) -> Layout:
    """v1/all.json: all.json's lines with each one's days left as of the build's day. A
    line whose days left is null keeps its digest, so the next day's file copies it from
    this one; an open one's digest names its days left too."""
    members = bundle.members
    head, sep, tail = frame_v1(site, bundle, bool(members))
    counting: list[data_v1.Counting] = [shelf.facts(m) for m in members]
    digests = b"".join(
        m.digest
        if c.closes is None
        else digest(m.digest, str(data_v1.days_left(c.closes, site.today)))
        for m, c in zip(members, counting, strict=True)
    )
    lines = data_v1.lines(shelf.fragments(members), counting, site.today)
    return Layout(head, digests, lines, sep, tail)


DATA = Data()

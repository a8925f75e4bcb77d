"""The forward plan as Open Contracting Data Standard 1.1 releases and records (docs/ocds.md)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from publisher.formats import calendar as ics
from publisher.formats.data import Json, dumps
from publisher.formats.feeds import per_view
from publisher.formats.ocds_values import contract_period, moment, period, timestamp, values
from publisher.formats.pages import TEMPLATES
from publisher.model.from_plan import view_in
from publisher.model.views import CommissionerView, OpportunityView, SiteData
from publisher.plans.model import Route, Status
from publisher.settings import DEFAULT_OCID_PREFIX, OCID_PREFIX_PATTERN

OCDS_VERSION = "1.1"
# Shaped like a registered prefix, but not one: a publisher registers its own (docs/ocds.md),
# and sets it as PUBLISHER_OCID_PREFIX (publisher/settings.py).
DEFAULT_PREFIX = DEFAULT_OCID_PREFIX
PUBLISHER = "Forward plan publisher"
NO_REASON = "The commissioner has not said why."

RELEASES = "ocds/release-package.json"
RECORDS = "ocds/record-package.json"
EXTENSION = "ocds/extension"  # our extension, served with the site
EXTENSION_FILES = ("extension.json", "release-schema.json", "README.md")
EXTENSION_SOURCE = TEMPLATES / "static" / "ocds-extension"
LOTS_EXTENSION = (
    "https://raw.githubusercontent.com/open-contracting-extensions/"
    "ocds_lots_extension/v1.1.5/extension.json"
)

# Route -> (tender.procurementMethod, the rules it falls under). The method is left out where
# the route does not fix it: light touch, alliances and innovation partnerships are run
# through a procedure chosen later, and a grant through an infrastructure body is its round.
PSR, PA23 = "Provider Selection Regime", "Procurement Act 2023"
ROUTES: dict[Route, tuple[str | None, str | None]] = {
    Route.DIRECT_AWARD_A: ("direct", PSR),
    Route.DIRECT_AWARD_B: ("direct", PSR),
    Route.DIRECT_AWARD_C: ("direct", PSR),
    Route.MOST_SUITABLE_PROVIDER: ("limited", PSR),  # providers it chooses; no competition
    Route.COMPETITIVE: ("open", PSR),  # advertised: any provider may respond
    Route.OPEN: ("open", PA23),
    Route.COMPETITIVE_FLEXIBLE: ("selective", PA23),  # a participation stage shortlists
    Route.DIRECT_AWARD: ("direct", PA23),
    Route.LIGHT_TOUCH: (None, PA23),
    Route.ALLIANCE_CONTRACT: (None, None),
    Route.INNOVATION_PARTNERSHIP: (None, None),
    Route.OPEN_GRANT_ROUND: ("open", None),
    Route.INVITED_GRANT: ("limited", None),
    Route.GRANT_VIA_INFRASTRUCTURE_BODY: (None, None),
    Route.UNDECIDED: (None, None),
}
# Status -> (stage, tender.status): the stage names the release tag.
STATUSES: dict[Status, tuple[str, str]] = {
    Status.IDEA: ("planning", "planning"),  # being considered
    Status.PLANNING: ("planning", "planned"),
    Status.ENGAGEMENT: ("planning", "planned"),
    Status.OPEN: ("tender", "active"),
    Status.EVALUATING: ("tender", "active"),  # tenderPeriod has ended; no award yet
    Status.AWARDED: ("tender", "complete"),  # who won is published elsewhere, not here
    Status.CANCELLED: ("tenderCancellation", "cancelled"),
}
# Taken out of the plan without being cancelled: OCDS's "no further information".
WITHDRAWN = ("tenderCancellation", "withdrawn")

History = list[tuple[dt.date, OpportunityView]]  # an opportunity's versions, oldest first

_PREFIXES: dict[int, str] = {}


def use_prefix(site: SiteData, prefix: str | None) -> str | None:
    """Publish this site's ocids under `prefix` (None: the placeholder); return what is wrong
    with it, in plain words, if anything."""
    chosen = prefix if prefix is not None else DEFAULT_PREFIX
    if id(site) not in _PREFIXES:
        weakref.finalize(site, _PREFIXES.pop, id(site), None)
    _PREFIXES[id(site)] = chosen
    if OCID_PREFIX_PATTERN.fullmatch(chosen):
        return None
    return (
        f"the OCDS ocid prefix '{chosen}' should be 'ocds-' and six lower-case letters or "
        "digits, as the OCDS helpdesk issues them (set PUBLISHER_OCID_PREFIX)"
    )


def site_prefix(site: SiteData) -> str:
    return _PREFIXES.get(id(site)) or DEFAULT_PREFIX


def ocid(prefix: str, view: OpportunityView) -> str:
    """Stable forever, like the opportunity's uid: prefix-commissioner-opportunity."""
    return f"{prefix}-{view.commissioner.id}-{view.item.id}"


def method(view: OpportunityView) -> Json:
    route = view.item.route
    if route is None:
        return {}  # a gap: tender.unknowns says why
    chosen, rules = ROUTES[route]
    name = view.route.term if view.route is not None else route.value
    out: Json = {"procurementMethod": chosen} if chosen is not None else {}
    out["procurementMethodDetails"] = f"{name} ({rules})" if rules else name
    return out


def organisation(view: OpportunityView) -> Json:
    """The commissioner, as the party that buys and runs the process."""
    body = view.commissioner
    contact = view.item.contact or body.contact
    point = {
        "name": contact.name if contact else None,
        "email": contact.email if contact else None,
        "telephone": contact.phone if contact else None,
        "url": body.website,
    }
    party: Json = {"name": body.name, "id": body.id}
    if any(point.values()):
        party["contactPoint"] = {key: value for key, value in point.items() if value}
    return {**party, "roles": ["buyer", "procuringEntity"]}


def milestones(view: OpportunityView) -> list[Json]:
    """Engagement events, with the ids their calendar events use, so both stay matched."""
    events = view.item.dates.engagement
    out = []
    for key, event in zip(ics.event_keys(events), events, strict=True):
        milestone: Json = {"id": key, "title": event.title, "type": "engagement"}
        if event.where:
            milestone["description"] = event.where
        milestone["dueDate"] = moment(event.start)
        milestone["datePrecision"] = {"dueDate": event.start.precision.value}
        out.append(milestone)
    return out


def documents(site: SiteData, view: OpportunityView) -> list[Json]:
    out: list[Json] = [
        {
            "id": "notice",
            "documentType": "plannedProcurementNotice",
            "title": view.item.title,
            "url": site.link(view.url),
            "format": "text/html",
            "language": "en",
        }
    ]
    if view.item.more_information:
        out.append({"id": "more-information", "url": view.item.more_information})
    return out


def tender(site: SiteData, view: OpportunityView) -> Json:
    item = view.item
    dates = item.dates
    out: Json = {
        "id": item.id,
        "title": item.title,
        "description": " ".join(item.summary.split()),
        "status": stage(view)[1],
        "procuringEntity": {"id": view.commissioner.id, "name": view.commissioner.name},
        **values(item.value, "minValue"),
        **method(view),
        "mainProcurementCategory": "services",
        "tenderPeriod": period(dates.tender_opens, dates.tender_closes),
        # awardPeriod ends when the award decision is due.
        "awardPeriod": period(end=dates.decision),
        "contractPeriod": contract_period(dates.service_starts, item.duration),
        "lots": [
            {
                "id": lot.id,
                "title": lot.title,
                **({"description": " ".join(lot.summary.split())} if lot.summary else {}),
                **values(lot.value, "minimumValue"),
            }
            for lot in item.lots
        ],
        "documents": documents(site, view),
        "unknowns": [
            {
                "id": gap.field,
                "field": gap.field,
                "what": gap.what,
                "reason": gap.reason or NO_REASON,
                "reasonGiven": gap.reason is not None,
            }
            for gap in view.gaps
        ],
    }
    # What is not known is left out, not written as null or []: in OCDS a null in a later
    # release would erase what an earlier one said.
    return {key: value for key, value in out.items() if value not in (None, [])}


def stage(view: OpportunityView) -> tuple[str, str]:
    """Its stage (the release tag) and tender.status."""
    if view.is_cancelled and view.item.status is not Status.CANCELLED:
        return WITHDRAWN
    return STATUSES[view.item.status]


def release(
    site: SiteData,
    view: OpportunityView,
    date: dt.date | dt.datetime,
    prefix: str,
    previous: OpportunityView | None = None,
) -> Json:
    """One version of an opportunity, published on `date`, as an OCDS release. `previous`
    is the version before it, if any: a second release at the same stage is an update."""
    tag = stage(view)[0]
    if previous is not None and stage(previous)[0] == tag and tag != "tenderCancellation":
        tag += "Update"
    party = organisation(view)
    body: Json = {
        "ocid": ocid(prefix, view),
        "date": timestamp(date),
        "tag": [tag],
        "initiationType": "tender",
        "parties": [party],
        "buyer": {"id": party["id"], "name": party["name"]},
    }
    planned = milestones(view)
    if planned:
        body["planning"] = {"milestones": planned}
    body["tender"] = tender(site, view)
    body["language"] = "en"
    # Derived from everything else in the release, so the same content always has the same
    # id and any change to it (a date, a value, a gap filled) makes a new release.
    digest = hashlib.sha256(
        json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    ).hexdigest()[:16]
    return {"ocid": body["ocid"], "id": f"{body['ocid']}-{digest}", **body}


def releases(site: SiteData, history: History, prefix: str) -> list[Json]:
    """A release per version of one opportunity, oldest first."""
    out = []
    previous: OpportunityView | None = None
    for date, view in history:
        out.append(release(site, view, date, prefix, previous))
        previous = view
    return out


def history(site: SiteData, view: OpportunityView) -> History:
    """The versions of an opportunity that were news (from git history), oldest first, each
    dated by its commit, then its current one, dated when it last changed (or was first
    published, or the build's day when neither is recorded)."""
    out: History = [
        (
            day,
            view_in(site, view.commissioner, item),
        )
        for day, item in view.earlier
    ]
    out.append((view.last_changed or view.first_seen or site.today, view))
    return out


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


def _head(site: SiteData, path: str, publisher: CommissionerView | None) -> Json:
    """What a package says about itself; the commissioner publishes its own package, this
    site those that span commissioners."""
    name = publisher.name if publisher is not None else PUBLISHER
    uri = publisher.website if publisher is not None else site.link("")
    return {
        "uri": site.link(path),
        "version": OCDS_VERSION,
        "extensions": [LOTS_EXTENSION, site.link(f"{EXTENSION}/extension.json")],
        "publishedDate": timestamp(site.today),
        "publisher": {"name": name, "uri": uri} if uri else {"name": name},
    }


def package_text(
    site: SiteData, made: list[Made], path: str, publisher: CommissionerView | None = None
) -> bytes:
    """A release package of `made` (in package order), to be published at `path`: the
    releases' text is spliced in as made, not encoded again."""
    head, sep, tail = package_frame(site, path, publisher)
    return head + sep.join(one.text.encode() for one in made) + tail


def package_frame(
    site: SiteData, path: str, publisher: CommissionerView | None = None
) -> tuple[bytes, bytes, bytes]:
    """A release package around its releases: before them, between two, after them."""
    head = compact({**_head(site, path, publisher), "releases": []})
    assert head.endswith("[]}")
    return head[:-2].encode(), b",", b"]}\n"


def package(
    site: SiteData, made: Iterable[Json], path: str, publisher: CommissionerView | None = None
) -> Json:
    """A release package of releases as values (for tests and tools)."""
    ordered = sorted(made, key=lambda r: (r["ocid"], r["date"], r["id"]))
    return {**_head(site, path, publisher), "releases": ordered}


def record_package(site: SiteData, made: list[Made]) -> Json:
    """Every ocid's releases, linked into the release package. No compiled release: the
    merge rules belong to OCDS tools (ocdsmerge), not to a build."""
    by_ocid: dict[str, list[Made]] = {}
    for each in made:
        by_ocid.setdefault(each.ocid, []).append(each)
    home = site.link(RELEASES)
    return {
        **_head(site, RECORDS, None),
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

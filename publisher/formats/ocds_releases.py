"""One opportunity's OCDS releases: a release per version of it that git knows, each
with its tender (method, status, value, periods, what is not known and why), its buyer,
and its milestones and documents. ocds.py puts them into packages."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from publisher.formats import calendar as ics
from publisher.formats import ocds_uk
from publisher.formats.data import Json
from publisher.formats.ocds_values import contract_period, moment, period, timestamp, values
from publisher.model.from_plan import view_in
from publisher.model.views import OpportunityView, SiteData
from publisher.plans.model import Route, Status

NO_REASON = "The commissioner has not said why."

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
    party["roles"] = ["buyer", "procuringEntity"]
    details = ocds_uk.buyer_details(body.kind)
    if details:
        party["details"] = details
    return party


def milestones(view: OpportunityView) -> list[Json]:
    """Engagement events, with the ids their calendar events use, so both stay matched: each
    one's place (or that it is online) and its date and time, as a UK2 notice gives them;
    then the day the engagement closes, if the plan gives it (ocds_uk.engagement_closes)."""
    events = view.item.dates.engagement
    out = []
    for key, event in zip(ics.event_keys(events), events, strict=True):
        milestone: Json = {"id": key, "title": event.title, "type": "engagement"}
        where = event.where or ("Online" if event.online else None)
        if event.where and event.online:
            where = f"{event.where}, and online"
        if where:
            milestone["description"] = where
        milestone["dueDate"] = moment(event.start)
        milestone["datePrecision"] = {"dueDate": event.start.precision.value}
        out.append(milestone)
    closes = ocds_uk.engagement_closes(view, {m["id"] for m in out})
    if closes is not None:
        out.append(closes)
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
        "suitability": ocds_uk.suitability(view),
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
    notice: str | None = None,
) -> Json:
    """One version of an opportunity, published on `date`, as an OCDS release. `previous`
    is the version before it, if any: a second release at the same stage is an update.
    `notice`: the Procurement Act notice it stands for (UK1 in a pipeline package); else a
    planning release stands for the one its plan entry fits (ocds_uk.notice_type)."""
    tag = stage(view)[0]
    if notice is None and tag == "planning":
        notice = ocds_uk.notice_type(view)
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
    planning: Json = {"milestones": milestones(view)}
    planning["documents"] = ocds_uk.planning_documents(site, view, notice)
    planning = {key: value for key, value in planning.items() if value}
    if planning:
        body["planning"] = planning
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

"""What changed for the public between two versions of an opportunity, classified by how
much it matters: news (announced in feeds and messages), a note (listed on the notice), or
details (wording only: recorded as "details updated", never announced).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

from publisher.plans.dates import PlanDate
from publisher.plans.model import EngagementEvent, Funding, Opportunity, Route, Status

KEY_DATES = (
    "engagement_closes",
    "tender_opens",
    "tender_closes",
    "decision",
    "intention_to_award",
    "service_starts",
)


class Weight(StrEnum):
    NEWS = "news"  # announced: feeds, emails, webhooks
    NOTE = "note"  # on the notice's "What has changed" list and in diffs
    DETAILS = "details"  # wording: "details updated"


class Kind(StrEnum):
    NEW = "new"
    WITHDRAWN = "withdrawn"
    RETURNED = "returned"
    CANCELLED = "cancelled"
    STATUS = "status"
    DATE_KNOWN = "date-known"
    DATE_MOVED = "date-moved"
    DATE_FIXED = "date-fixed"  # the same time, now said more exactly
    DATE_LOOSER = "date-looser"  # the same time, now said less exactly
    DATE_UNKNOWN = "date-unknown"
    VALUE_KNOWN = "value-known"
    VALUE_CHANGED = "value-changed"
    VALUE_UNKNOWN = "value-unknown"
    ROUTE_DECIDED = "route-decided"
    ROUTE_CHANGED = "route-changed"
    ROUTE_UNDECIDED = "route-undecided"
    FUNDING_DECIDED = "funding-decided"
    FUNDING_CHANGED = "funding-changed"
    FUNDING_UNDECIDED = "funding-undecided"
    DURATION = "duration"
    PLACES = "places"
    LOTS = "lots"
    REQUIREMENTS = "requirements"
    EVENT_ADDED = "event-added"
    EVENT_MOVED = "event-moved"
    EVENT_REMOVED = "event-removed"
    THEMES = "themes"
    SUPPORT = "support"
    REASON_GIVEN = "reason-given"
    REASON_CHANGED = "reason-changed"
    SHORT_NOTICE_REASON = "short-notice-reason"
    DETAILS = "details"


NOTES = frozenset(
    {
        Kind.THEMES,
        Kind.SUPPORT,
        Kind.REASON_GIVEN,
        Kind.REASON_CHANGED,
        Kind.SHORT_NOTICE_REASON,
    }
)


@dataclass(frozen=True)
class Change:
    """One thing that changed. `before` and `after` are the values from the plan (dates,
    money, routes, lists of names); `field` names the part of the opportunity."""

    kind: Kind
    field: str = ""
    before: object = None
    after: object = None

    @property
    def weight(self) -> Weight:
        if self.kind is Kind.DETAILS:
            return Weight.DETAILS
        if self.kind in NOTES or (self.kind is Kind.WITHDRAWN and self.before in SETTLED):
            # taking an awarded or cancelled opportunity off the plan is housekeeping
            return Weight.NOTE
        return Weight.NEWS

    @property
    def is_news(self) -> bool:
        return self.weight is Weight.NEWS


SETTLED = frozenset({Status.AWARDED, Status.CANCELLED})

# Fields compared one by one below; every other field's edits count as details.
_COMPARED = frozenset(
    {
        "status",
        "dates",
        "value",
        "route",
        "funding",
        "duration",
        "places",
        "lots",
        "requirements",
        "themes",
        "support",
        "unknown",
        "short_notice_reason",
    }
)


def canonical(item: Opportunity) -> str:
    """The opportunity as compact, key-sorted JSON: equal text means nothing changed."""
    return json.dumps(
        item.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def version(item: Opportunity) -> str:
    """A short hash of the opportunity's content: what the outbox keys and release ids use."""
    return version_of(canonical(item))


def version_of(text: str) -> str:
    """`version` of the opportunity whose `canonical` text this is (for a caller that has
    the text already)."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def compare(before: Opportunity | None, after: Opportunity | None) -> list[Change]:
    """Everything that changed from `before` to `after` (None: not in the plan)."""
    if before is None and after is None:
        return []
    if before is None:
        assert after is not None
        return [Change(Kind.NEW, after=after.title)]
    if after is None:
        return [Change(Kind.WITHDRAWN, before=before.status, after=before.title)]
    if before == after:
        return []
    return list(_changes(before, after))


def returned(after: Opportunity) -> Change:
    """An opportunity withdrawn earlier that is back in the plan."""
    return Change(Kind.RETURNED, after=after.title)


def _changes(a: Opportunity, b: Opportunity) -> Iterator[Change]:
    if a.status != b.status:
        if b.status is Status.CANCELLED:
            yield Change(Kind.CANCELLED, "status", a.status, b.status)
        else:
            yield Change(Kind.STATUS, "status", a.status, b.status)
    for name in KEY_DATES:
        yield from _date_change(name, getattr(a.dates, name), getattr(b.dates, name))
    yield from _events(a.dates.engagement, b.dates.engagement)
    if a.value != b.value:
        kind = (
            Kind.VALUE_KNOWN
            if a.value is None
            else Kind.VALUE_UNKNOWN
            if b.value is None
            else Kind.VALUE_CHANGED
        )
        yield Change(kind, "value", a.value, b.value)
    yield from _decided("route", a.route, b.route, Route.UNDECIDED)
    yield from _decided("funding", a.funding, b.funding, Funding.UNDECIDED)
    if a.duration != b.duration:
        yield Change(Kind.DURATION, "duration", a.duration, b.duration)
    if a.places != b.places:
        yield Change(Kind.PLACES, "places", _gone(a.places, b.places), _gone(b.places, a.places))
    if a.lots != b.lots:
        before = {lot.id: lot for lot in a.lots}
        after = {lot.id: lot for lot in b.lots}
        changed = [i for i in after if i in before and before[i] != after[i]]
        yield Change(
            Kind.LOTS,
            "lots",
            [before[i].title for i in before if i not in after],
            ([after[i].title for i in after if i not in before], [after[i].title for i in changed]),
        )
    if a.requirements != b.requirements:
        yield Change(Kind.REQUIREMENTS, "requirements", a.requirements, b.requirements)
    if a.themes != b.themes:
        yield Change(Kind.THEMES, "themes", _gone(a.themes, b.themes), _gone(b.themes, a.themes))
    if a.support != b.support:
        known = {offer.by for offer in a.support}
        yield Change(Kind.SUPPORT, "support", None, [o.by for o in b.support if o.by not in known])
    for name, reason in b.unknown.items():
        old = a.unknown.get(name)
        if old is None:
            yield Change(Kind.REASON_GIVEN, name, None, reason)
        elif old != reason:
            yield Change(Kind.REASON_CHANGED, name, old, reason)
    if a.short_notice_reason != b.short_notice_reason and b.short_notice_reason is not None:
        yield Change(
            Kind.SHORT_NOTICE_REASON,
            "short_notice_reason",
            a.short_notice_reason,
            b.short_notice_reason,
        )
    details = _details(a, b)
    if details:
        yield Change(Kind.DETAILS, "", None, details)


def _gone(these: list[str], those: list[str]) -> list[str]:
    """The entries of `these` that are not in `those`, in order."""
    return [x for x in these if x not in those]


def _date_change(name: str, a: PlanDate | None, b: PlanDate | None) -> Iterator[Change]:
    if a == b:
        return
    if a is None:
        yield Change(Kind.DATE_KNOWN, name, None, b)
    elif b is None:
        yield Change(Kind.DATE_UNKNOWN, name, a, None)
    elif a.first_day <= b.first_day and b.last_day <= a.last_day:
        # "around March" became "14 March": the same time, said more exactly.
        yield Change(Kind.DATE_FIXED, name, a, b)
    elif b.first_day <= a.first_day and a.last_day <= b.last_day:
        yield Change(Kind.DATE_LOOSER, name, a, b)
    else:
        yield Change(Kind.DATE_MOVED, name, a, b)


def _event_key(event: EngagementEvent) -> str:
    return event.id or event.title


def _events(a: list[EngagementEvent], b: list[EngagementEvent]) -> Iterator[Change]:
    if a == b:
        return
    before = {_event_key(e): e for e in a}
    after = {_event_key(e): e for e in b}
    for key, event in after.items():
        old = before.get(key)
        if old is None:
            yield Change(Kind.EVENT_ADDED, key, None, event)
        elif (old.start, old.end) != (event.start, event.end):
            yield Change(Kind.EVENT_MOVED, key, old, event)
    for key, event in before.items():
        if key not in after:
            yield Change(Kind.EVENT_REMOVED, key, event, None)


def _decided(
    name: str, a: Route | Funding | None, b: Route | Funding | None, undecided: object
) -> Iterator[Change]:
    if a == b:
        return
    a_known = a is not None and a != undecided
    b_known = b is not None and b != undecided
    if not a_known and not b_known:
        return
    if not a_known:
        kind = Kind.ROUTE_DECIDED if name == "route" else Kind.FUNDING_DECIDED
    elif not b_known:
        kind = Kind.ROUTE_UNDECIDED if name == "route" else Kind.FUNDING_UNDECIDED
    else:
        kind = Kind.ROUTE_CHANGED if name == "route" else Kind.FUNDING_CHANGED
    yield Change(kind, name, a, b)


def _details(a: Opportunity, b: Opportunity) -> list[str]:
    """The other fields whose wording changed, and engagement events' other details."""
    fields = [
        name
        for name in Opportunity.model_fields
        if name not in _COMPARED and getattr(a, name) != getattr(b, name)
    ]
    events_a = {_event_key(e): e for e in a.dates.engagement}
    for event in b.dates.engagement:
        old = events_a.get(_event_key(event))
        if old is not None and old != event and (old.start, old.end) == (event.start, event.end):
            fields.append("engagement")
            break
    return fields


def compare_all(
    before: Mapping[str, Opportunity], after: Mapping[str, Opportunity]
) -> dict[str, list[Change]]:
    """Every opportunity's changes, by key ("commissioner/id"), for keys in either version."""
    out: dict[str, list[Change]] = {}
    for key in sorted(before.keys() | after.keys()):
        changes = compare(before.get(key), after.get(key))
        if changes:
            out[key] = changes
    return out

"""Reminders before key dates: which have fallen due for a channel in a notify pass."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from publisher.delivery import channels, messages
from publisher.delivery.channels import Subscriber
from publisher.model.views import DATE_LABELS, OpportunityView, SiteData
from publisher.plans import routes
from publisher.plans.dates import LONDON, PlanDate, Precision


@dataclass
class Wake:
    """The next moment a reminder not yet due falls due, over every channel a pass looked
    at: before then, with nothing else changed, a pass finds no reminder (notify.py)."""

    at: dt.datetime | None = None

    def note(self, moment: dt.datetime) -> None:
        if self.at is None or moment < self.at:
            self.at = moment


@dataclass(frozen=True)
class Due:
    """A reminder that has fallen due for one channel."""

    key: str
    view: OpportunityView
    line: str
    reminder: dict[str, Any]


def due(
    site: SiteData,
    subscriber: Subscriber,
    now: dt.datetime,
    since: dict[str, dt.datetime],
    joined: dt.datetime | None = None,
    wake: Wake | None = None,
) -> Iterator[Due]:
    """Reminders due by `now` whose date has not yet come. Of several due for one date, only
    the nearest is sent: after downtime a channel hears once, not once per missed reminder.
    A reminder counts only from when the opportunity was last recorded as published
    (`since`, before this pass): a new opportunity's announcement says more than reminders
    that fell due before anyone here knew of it, and a first run sends no backlog. Nor
    before the channel had its present filter (`joined`): its welcome listed the dates.
    `wake` is told when each reminder still to fall due (before its date) will."""
    channel = subscriber.channel
    for view in site.opportunities:
        if not view.is_current or not channels.wants(subscriber, view):
            continue
        grant = view.is_grant
        dates: list[tuple[str, str, PlanDate, list[str]]] = []
        for name, offsets in (
            ("tender_opens", channel.reminders),
            ("tender_closes", channel.closing_reminders),
        ):
            date = getattr(view.item.dates, name)
            if date is not None:
                dates.append((name, DATE_LABELS[name][1 if grant else 0], date, offsets))
        # The last day to take part in market engagement is a closing date too.
        closes = view.item.dates.engagement_closes
        if closes is not None:
            label = routes.label("engagement_closes", view.item.route, view.item.funding)
            dates.append(("engagement_closes", label, closes, channel.closing_reminders))
        for event in view.item.dates.engagement:
            name = f"event:{event.id or event.title}"
            dates.append((name, event.title, event.start, channel.event_reminders))
        for name, label, date, offsets in dates:
            if date.precision is Precision.YEAR:
                continue  # "during 2027" is too vague to count back from
            starts = date.start.replace(tzinfo=LONDON).astimezone(dt.UTC)
            if now >= starts:
                continue
            known = since.get(view.uid, now)
            if joined is not None:
                known = max(known, joined)
            due = []
            for text in offsets:
                moment = channels.at_local(
                    date.first_day - channels.offset(text), channel.digest_time
                )
                if moment > now:
                    if wake is not None and moment < starts:
                        wake.note(moment)
                elif known <= moment:
                    due.append(text)
            if not due:
                continue
            nearest = min(due, key=channels.offset)
            yield Due(
                f"{subscriber.uid}|{view.uid}|reminder:{name}:{nearest}|{date.text}",
                view,
                messages.reminder_line(label, date),
                {"field": name, "date": date.text, "before": nearest},
            )

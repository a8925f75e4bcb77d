"""Welcomes: a channel new to the publisher is sent one message listing what is open and
coming up for it; one whose filter widens is sent what the wider filter adds. Each channel's
filter is remembered (the channel_state table), so each welcome is sent once."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, replace

from sqlalchemy import Connection, delete, insert, select, update

from publisher.delivery.channels import Subscriber, wants
from publisher.delivery.database import ADOPT, channel_state
from publisher.model.views import OpportunityView, SiteData, State
from publisher.plans.model import ChannelFilter

# What a welcome lists: what is open today and what is still to come.
UPCOMING = (State.OPEN, State.OPENING_SOON, State.LATER)
# A welcome lists at most this many, open ones first, closing soonest first; the rest are
# on the site (an email of thousands would be refused by mail servers, and read by no one).
MOST = 100


@dataclass(frozen=True)
class Welcome:
    """One welcome (or catch-up, when the filter widened) due to one channel."""

    subscriber: Subscriber
    views: list[OpportunityView]  # open first, closing soonest first; then the rest
    widened: bool
    key: str


@dataclass
class Plan:
    """This pass's welcomes, and when each channel's present filter took effect."""

    welcomes: list[Welcome]
    since: dict[str, dt.datetime]

    def listed(self, uid: str) -> set[str]:
        """The opportunities a channel's welcome lists this pass: not announced as well."""
        return {view.uid for w in self.welcomes if w.subscriber.uid == uid for view in w.views}


def _filter_text(subscriber: Subscriber) -> str:
    return json.dumps(subscriber.channel.filter.model_dump(mode="json"), sort_keys=True)


def _upcoming(site: SiteData, subscriber: Subscriber) -> list[OpportunityView]:
    found = [
        v
        for v in site.opportunities
        if v.is_current and v.withdrawn is None and v.state in UPCOMING and wants(subscriber, v)
    ]
    return sorted(found, key=OpportunityView.sort_key)


def plan(
    conn: Connection,
    site: SiteData,
    subscribers: list[Subscriber],
    now: dt.datetime,
    *,
    first_run: bool,
) -> Plan:
    """Work out the welcomes due and record each channel's filter (in the caller's
    transaction, with the snapshot and the outbox). The first run welcomes nobody: like
    announcements, it records what there is and sends nothing; nor does the first pass after
    an upgrade, for channels that were there before welcomes were."""
    rows = {row.channel: row for row in conn.execute(select(channel_state))}
    adopt = first_run or ADOPT in rows
    found = Plan([], {})
    for subscriber in subscribers:
        text = _filter_text(subscriber)
        row = rows.get(subscriber.uid)
        if row is not None and row.filter == text:
            found.since[subscriber.uid] = row.since
            continue
        found.since[subscriber.uid] = now
        values = {"filter": text, "since": now}
        if row is None:
            conn.execute(insert(channel_state).values(channel=subscriber.uid, **values))
        else:
            conn.execute(
                update(channel_state)
                .where(channel_state.c.channel == subscriber.uid)
                .values(**values)
            )
        if adopt:
            continue
        views = _upcoming(site, subscriber)
        if row is not None:
            before = _with_filter(subscriber, row.filter)
            views = [v for v in views if before is None or not wants(before, v)]
            if not views:
                continue  # narrower, or nothing more to tell
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        found.welcomes.append(
            Welcome(subscriber, views, row is not None, f"{subscriber.uid}|welcome|{digest}")
        )
    if ADOPT in rows:
        conn.execute(delete(channel_state).where(channel_state.c.channel == ADOPT))
    return found


def _with_filter(subscriber: Subscriber, text: str) -> Subscriber | None:
    """The channel as it was, with the filter it had; None if that filter cannot be read."""
    try:
        old = ChannelFilter.model_validate(json.loads(text))
    except ValueError:
        return None
    channel = subscriber.channel.model_copy(update={"filter": old})
    return replace(subscriber, channel=channel)

"""How a dispatcher holds outbox items while it sends them: the states an item goes through,
claims with leases, and the steps of a send (claimed, started, recorded or released), each
one statement, fenced so that an item another dispatcher has taken over is left alone, and
committed on its own. Retries wait out a backoff decided here and nowhere else."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from random import Random
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, bindparam, case, or_, select, update

from publisher.delivery.database import outbox
from publisher.delivery.outcome import Outcome, Result

MAX_DOUBLINGS = 30  # beyond this the delay is far past any max_delay; avoids huge numbers


class State(StrEnum):
    """Where an outbox item is: the `state` column."""

    QUEUED = "queued"  # waiting until next_attempt_at
    SENDING = "sending"  # claimed by a dispatcher until claimed_until
    SENT = "sent"
    FAILED = "failed"  # parked: shown by `publisher outbox`, requeued by retry_failed


@dataclass(frozen=True)
class Policy:
    """How a dispatch pass sends: how often it tries, how long it waits, holds and takes turns."""

    max_attempts: int
    base_delay: timedelta
    max_delay: timedelta
    lease: timedelta  # a send in progress
    claim_lease: timedelta  # a claimed item not yet started
    turn: timedelta
    random: Random
    batch: int


@dataclass(frozen=True)
class Claimed:
    """An item this dispatcher holds, to send."""

    id: int
    key: str
    kind: str
    payload: dict[str, Any]
    claimed_until: datetime  # also fences the claim: any other claim changes it


@dataclass
class Tally:
    """What one channel's turns did, for the pass's report."""

    channel: str
    sent: int = 0
    retried: int = 0
    failed: int = 0
    notes: list[str] = field(default_factory=list)
    more: bool = False  # the turn ran out with items still due

    def add(self, other: Tally) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed
        self.notes += other.notes


# Each statement below touches an item only while it is still ours: had our claim run out
# and another dispatcher claimed it, that claim changed claimed_until. Built once (the
# hot path); without .values(), the columns to set are the parameters given with it.
_STILL_OURS = update(outbox).where(
    outbox.c.id == bindparam("claimed_id"),
    outbox.c.state == State.SENDING.value,
    outbox.c.claimed_until == bindparam("claimed_token"),
)
_NOT_STARTED = _STILL_OURS.where(outbox.c.started_at.is_(None))
_RELEASE = _NOT_STARTED.values(state=State.QUEUED.value, claimed_until=None)
_START = _NOT_STARTED.values(
    started_at=bindparam("started"),
    attempts=outbox.c.attempts + 1,
    claimed_until=bindparam("until"),
).returning(outbox.c.attempts)


def _ours(item: Claimed) -> dict[str, Any]:
    return {"claimed_id": item.id, "claimed_token": item.claimed_until}


def due(moment: datetime) -> ColumnElement[bool]:
    # An item left `sending` past its lease belongs to a dispatcher that died: if its send
    # had started, it may have arrived, and is sent once more (receivers dedupe by its key).
    return or_(
        and_(outbox.c.state == State.QUEUED.value, outbox.c.next_attempt_at <= moment),
        and_(outbox.c.state == State.SENDING.value, outbox.c.claimed_until <= moment),
    )


def _cut_off(moment: datetime) -> ColumnElement[bool]:
    """Items whose send started and was never recorded, the lease now over."""
    return and_(
        outbox.c.state == State.SENDING.value,
        outbox.c.claimed_until <= moment,
        outbox.c.started_at.is_not(None),
    )


def claim(
    conn: Connection, channel: str, moment: datetime, policy: Policy, tally: Tally
) -> list[Claimed]:
    """The channel's oldest due items, a small batch, marked `sending` with a claim lease and
    committed before any is sent. An item whose send was cut off is claimed to be sent once
    more; cut off twice, it is parked instead."""
    _park_cut_off_twice(conn, channel, moment, tally)
    while True:
        # SKIP LOCKED: a second dispatcher on PostgreSQL takes the next items rather than
        # wait for ours (SQLite has one writer at a time and ignores it).
        oldest = conn.scalars(
            select(outbox.c.id)
            .where(outbox.c.channel == channel, due(moment))
            .order_by(outbox.c.id)
            .limit(policy.batch)
            .with_for_update(skip_locked=True)
        ).all()
        if not oldest:
            conn.commit()
            return []
        # Guarded by _due again: an item another dispatcher claimed since is left out.
        until = moment + policy.claim_lease
        rows = conn.execute(
            update(outbox)
            .where(outbox.c.id.in_(oldest), due(moment))
            .values(
                state=State.SENDING.value,
                claimed_until=until,
                cut_off=outbox.c.cut_off + case((_cut_off(moment), 1), else_=0),
                started_at=None,
            )
            .returning(outbox.c.id, outbox.c.key, outbox.c.kind, outbox.c.payload)
        ).all()
        conn.commit()
        if rows:
            claimed = [
                Claimed(row.id, row.key, row.kind, json.loads(row.payload), until) for row in rows
            ]
            return sorted(claimed, key=lambda item: item.id)  # RETURNING promises no order


def _park_cut_off_twice(conn: Connection, channel: str, moment: datetime, tally: Tally) -> None:
    reason = (
        "sending it was cut off twice (the publisher stopped before the receiver answered),"
        " so it may have arrived, perhaps twice; it is not sent again by itself: ask the"
        " receiver, then `publisher outbox --retry` it if it did not arrive"
    )
    parked = conn.execute(
        update(outbox)
        .where(outbox.c.channel == channel, _cut_off(moment), outbox.c.cut_off >= 1)
        .values(
            state=State.FAILED.value,
            claimed_until=None,
            started_at=None,
            cut_off=outbox.c.cut_off + 1,
            last_error=reason,
        )
        .returning(outbox.c.key)
    ).all()
    conn.commit()
    for row in parked:
        tally.failed += 1
        tally.notes.append(f"{row.key} failed: {reason}")


def start(
    conn: Connection, item: Claimed, moment: datetime, policy: Policy
) -> tuple[Claimed, int] | None:
    """Record that the item's send starts, before it does: its attempt is counted and its
    lease is now a send's. Returns the item as now claimed and its attempts so far, or
    None if it is no longer ours."""
    until = moment + policy.lease
    started = conn.execute(_START, {**_ours(item), "started": moment, "until": until}).all()
    conn.commit()
    if len(started) != 1:
        return None
    attempts: int = started[0].attempts
    return replace(item, claimed_until=until), attempts


def release(conn: Connection, items: list[Claimed]) -> None:
    """Claimed items never started go back to the queue, due as before. Fenced: an item
    another dispatcher has taken over is left alone."""
    if items:
        conn.execute(_RELEASE, [_ours(item) for item in items])
        conn.commit()
        items.clear()


def record(
    conn: Connection,
    item: Claimed,
    attempts: int,
    outcome: Outcome,
    moment: datetime,
    policy: Policy,
    tally: Tally,
    *,
    commit: bool = True,
) -> None:
    """Record the send's outcome. With `commit` False the caller commits it, with the next
    item's start (one commit a send, not two) or on its own before the turn ends: a crash
    before that commit leaves the item as a send cut off, sent once more."""
    reason = outcome.reason or "no reason given"
    values: dict[str, Any] = {"claimed_until": None, "started_at": None}
    note = ""
    if outcome.result is Result.SENT:
        values.update(state=State.SENT.value, sent_at=moment, last_error="")
    elif outcome.result is Result.FAILED or attempts >= policy.max_attempts:
        if outcome.result is Result.RETRY:
            tries = "1 try" if attempts == 1 else f"{attempts} tries"
            reason = f"gave up after {tries}: {reason}"
        values.update(state=State.FAILED.value, last_error=reason)
        note = f"{item.key} failed: {reason}"
    else:
        retry_at = moment + _backoff(attempts, outcome.retry_after, policy)
        values.update(state=State.QUEUED.value, next_attempt_at=retry_at, last_error=reason)
        note = f"{item.key} will be tried again after {retry_at:%Y-%m-%d %H:%M:%S} UTC: {reason}"
    recorded = conn.execute(_STILL_OURS, {**values, **_ours(item)})
    if commit:
        conn.commit()
    if recorded.rowcount != 1:
        tally.notes.append(f"{item.key}: sending outlasted the lease; another pass took it over")
        return
    if note:
        tally.notes.append(note)
    if values["state"] == State.SENT.value:
        tally.sent += 1
    elif values["state"] == State.FAILED.value:
        tally.failed += 1
    else:
        tally.retried += 1


def _backoff(attempts: int, retry_after: float | None, policy: Policy) -> timedelta:
    # Exponential backoff with full jitter: many items retrying at once spread out instead
    # of arriving together when a receiver comes back.
    ceiling = min(policy.max_delay, policy.base_delay * 2 ** min(attempts - 1, MAX_DOUBLINGS))
    delay = timedelta(seconds=policy.random.uniform(0, ceiling.total_seconds()))
    if retry_after is not None and not math.isnan(retry_after):
        # A receiver's Retry-After is honoured up to our own longest wait between tries:
        # it may ask for less than backoff would give, never park a message for longer
        # (a year, or a number too big for a date: OverflowError) than we would ourselves.
        asked = min(retry_after, policy.max_delay.total_seconds())
        delay = max(delay, timedelta(seconds=asked))
    return delay

"""The durable outbox: each announcement waits here, queued → sending → sent (or failed), until
a sender delivers it; retries are decided here and nowhere else."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from random import Random
from threading import Event
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    bindparam,
    func,
    or_,
    select,
    update,
)

from publisher.delivery.database import insert_new, outbox
from publisher.delivery.outcome import Outcome, Result, Sender

MAX_DOUBLINGS = 30  # beyond this the delay is far past any max_delay; avoids huge numbers


class State(StrEnum):
    QUEUED = "queued"  # waiting until next_attempt_at
    SENDING = "sending"  # claimed by a dispatcher until claimed_until
    SENT = "sent"
    FAILED = "failed"  # parked: shown by `publisher outbox`, requeued by retry_failed


@dataclass(frozen=True)
class NewItem:
    """An announcement to queue; `key` is the same every time the same thing is announced."""

    key: str
    channel: str
    kind: str
    payload: dict[str, Any]
    not_before: datetime | None = None


@dataclass(frozen=True)
class OutboxRow:
    id: int
    key: str
    channel: str
    kind: str
    payload: dict[str, Any]
    state: State
    attempts: int
    next_attempt_at: datetime
    claimed_until: datetime | None
    last_error: str
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True)
class DispatchReport:
    """What one pass of `dispatch` did, and notes in plain words for each channel."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    notes: dict[str, list[str]] = field(default_factory=dict)


def enqueue(conn: Connection, items: Iterable[NewItem], now: datetime) -> int:
    """Queue the items, skipping any whose key is already in the outbox; returns how many
    were new. Runs in the caller's transaction, so the queue and the snapshot that caused it
    are committed, or rolled back, together."""
    rows: dict[str, dict[str, Any]] = {}
    for item in items:
        rows.setdefault(
            item.key,
            {
                "key": item.key,
                "channel": item.channel,
                "kind": item.kind,
                "payload": json.dumps(item.payload, sort_keys=True, ensure_ascii=False),
                "state": State.QUEUED.value,
                "attempts": 0,
                "next_attempt_at": max(now, item.not_before or now),
                "last_error": "",
                "created_at": now,
            },
        )
    if not rows:
        return 0
    inserted = conn.execute(insert_new(conn, outbox).returning(outbox.c.id), list(rows.values()))
    return len(inserted.all())


def dispatch(
    engine: Engine,
    senders: Mapping[str, Callable[[], Sender]],
    now: Callable[[], datetime],
    *,
    max_attempts: int = 8,
    base_delay: timedelta = timedelta(minutes=1),
    max_delay: timedelta = timedelta(hours=6),
    lease: timedelta = timedelta(minutes=10),
    random: Random | None = None,
    stop: Event | None = None,
    channels_at_once: int = 4,
    batch: int = 50,
) -> DispatchReport:
    """Send every item that is due, each channel in its own thread, and record what
    happened. `senders` makes a Sender for each kind of item ("email", "webhook").

    A channel's items are claimed `batch` at a time, each committed as `sending` with its
    own lease before any is sent, then sent and recorded one by one: a crash resends at
    most the item in progress, and leaves the rest of its batch for a pass after the lease.
    """
    policy = _Policy(max_attempts, base_delay, max_delay, lease, random or Random(), max(1, batch))
    with engine.connect() as conn:
        channels = conn.scalars(
            select(outbox.c.channel).where(_due(now())).distinct().order_by(outbox.c.channel)
        ).all()
    if not channels:
        return DispatchReport()

    def one(channel: str) -> _Tally:
        return _dispatch_channel(engine, channel, senders, now, policy, stop)

    # A thread per channel, so a slow or hanging receiver holds up only its own channel.
    workers = max(1, min(channels_at_once, len(channels)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="outbox") as pool:
        tallies = list(pool.map(one, channels))
    return DispatchReport(
        sent=sum(t.sent for t in tallies),
        retried=sum(t.retried for t in tallies),
        failed=sum(t.failed for t in tallies),
        notes={t.channel: t.notes for t in tallies if t.notes},
    )


def list_items(
    conn: Connection, state: str | None = None, limit: int | None = None
) -> list[OutboxRow]:
    """Outbox items, oldest first, optionally only those in one state."""
    query = select(outbox).order_by(outbox.c.id).limit(limit)
    if state is not None:
        query = query.where(outbox.c.state == State(state).value)
    return [
        OutboxRow(
            id=row.id,
            key=row.key,
            channel=row.channel,
            kind=row.kind,
            payload=json.loads(row.payload),
            state=State(row.state),
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            claimed_until=row.claimed_until,
            last_error=row.last_error,
            created_at=row.created_at,
            sent_at=row.sent_at,
        )
        for row in conn.execute(query)
    ]


def retry_failed(conn: Connection, keys: Iterable[str] | None, now: datetime) -> int:
    """Put failed items (all of them, or those with these keys) back in the queue, due now,
    with a fresh count of tries. Returns how many were requeued."""
    query = update(outbox).where(outbox.c.state == State.FAILED.value)
    if keys is not None:
        wanted = list(keys)
        if not wanted:
            return 0
        query = query.where(outbox.c.key.in_(wanted))
    requeued = conn.execute(
        query.values(state=State.QUEUED.value, attempts=0, next_attempt_at=now, claimed_until=None)
    )
    return requeued.rowcount


def backlog(conn: Connection) -> dict[str, int]:
    """How many items are in each state (every state named, zero included)."""
    counts = dict.fromkeys((state.value for state in State), 0)
    query = select(outbox.c.state, func.count()).group_by(outbox.c.state)
    for state, count in conn.execute(query):
        counts[state] = count
    return counts


@dataclass(frozen=True)
class _Policy:
    max_attempts: int
    base_delay: timedelta
    max_delay: timedelta
    lease: timedelta
    random: Random
    batch: int


@dataclass(frozen=True)
class _Claimed:
    id: int
    key: str
    kind: str
    payload: dict[str, Any]
    attempts: int  # including this one; it also fences the claim (see _record)
    claimed_until: datetime


@dataclass
class _Tally:
    channel: str
    sent: int = 0
    retried: int = 0
    failed: int = 0
    notes: list[str] = field(default_factory=list)


# An item we claimed that nobody has taken over since: had our lease run out and another
# dispatcher claimed it, that claim counted another attempt. Built once (the hot path);
# without .values(), the columns to set are the parameters given with it.
_STILL_OURS = update(outbox).where(
    outbox.c.id == bindparam("claimed_id"),
    outbox.c.state == State.SENDING.value,
    outbox.c.attempts == bindparam("claimed_attempts"),
)
_RELEASE = _STILL_OURS.values(
    state=State.QUEUED.value, attempts=outbox.c.attempts - 1, claimed_until=None
)


def _ours(item: _Claimed) -> dict[str, Any]:
    return {"claimed_id": item.id, "claimed_attempts": item.attempts}


def _due(moment: datetime) -> ColumnElement[bool]:
    # An item left `sending` after its lease ran out belongs to a dispatcher that died
    # between sending and recording: it is sent again, and receivers dedupe by its key.
    return or_(
        and_(outbox.c.state == State.QUEUED.value, outbox.c.next_attempt_at <= moment),
        and_(outbox.c.state == State.SENDING.value, outbox.c.claimed_until <= moment),
    )


def _dispatch_channel(
    engine: Engine,
    channel: str,
    senders: Mapping[str, Callable[[], Sender]],
    now: Callable[[], datetime],
    policy: _Policy,
    stop: Event | None,
) -> _Tally:
    tally = _Tally(channel)
    opened: dict[str, Sender] = {}

    def work_through(conn: Connection, claimed: list[_Claimed]) -> bool:
        """Send and record the claimed items in order; returns whether the channel goes on.
        Items not reached (on `stop`, after a RETRY, or once their lease has run out and
        another pass may take them over) are released uncounted."""
        for done, item in enumerate(claimed):
            if _stopped(stop) or (done and now() >= item.claimed_until):
                _release(conn, claimed[done:])
                return not _stopped(stop)
            outcome = _send(item, senders, opened)
            _record(conn, item, outcome, now(), policy, tally)
            if outcome.result is Result.RETRY:
                # The receiver is in trouble: the channel's other items wait for the next
                # pass rather than hammer it.
                tally.notes.append("the rest of this channel waits for the next pass")
                _release(conn, claimed[done + 1 :])
                return False
        return True

    try:
        # One connection for the channel's pass; each claim and record commits on it.
        with engine.connect() as conn:
            while not _stopped(stop):
                claimed = _claim(conn, channel, now(), policy)
                if not claimed or not work_through(conn, claimed):
                    break
    finally:
        for kind, sender in opened.items():
            try:
                sender.close()
            except Exception as error:
                tally.notes.append(f"closing the {kind} sender broke: {_describe(error)}")
    return tally


def _stopped(stop: Event | None) -> bool:
    return stop is not None and stop.is_set()


def _claim(conn: Connection, channel: str, moment: datetime, policy: _Policy) -> list[_Claimed]:
    """The channel's oldest due items, a small batch, marked `sending` and committed before
    any is sent. Each counts an attempt and carries its own lease."""
    while True:
        # SKIP LOCKED: a second dispatcher on PostgreSQL takes the next items rather than
        # wait for ours (SQLite has one writer at a time and ignores it).
        oldest = conn.scalars(
            select(outbox.c.id)
            .where(outbox.c.channel == channel, _due(moment))
            .order_by(outbox.c.id)
            .limit(policy.batch)
            .with_for_update(skip_locked=True)
        ).all()
        if not oldest:
            conn.commit()
            return []
        # Guarded by _due again: an item another dispatcher claimed since is left out.
        until = moment + policy.lease
        rows = conn.execute(
            update(outbox)
            .where(outbox.c.id.in_(oldest), _due(moment))
            .values(state=State.SENDING.value, attempts=outbox.c.attempts + 1, claimed_until=until)
            .returning(
                outbox.c.id, outbox.c.key, outbox.c.kind, outbox.c.payload, outbox.c.attempts
            )
        ).all()
        conn.commit()
        if rows:
            claimed = [
                _Claimed(row.id, row.key, row.kind, json.loads(row.payload), row.attempts, until)
                for row in rows
            ]
            return sorted(claimed, key=lambda item: item.id)  # RETURNING promises no order


def _release(conn: Connection, items: list[_Claimed]) -> None:
    """Claimed items never sent go back to the queue, their attempt not counted. Fenced
    like _record: an item another dispatcher has taken over is left alone."""
    if items:
        conn.execute(_RELEASE, [_ours(item) for item in items])
        conn.commit()


def _send(
    item: _Claimed, senders: Mapping[str, Callable[[], Sender]], opened: dict[str, Sender]
) -> Outcome:
    factory = senders.get(item.kind)
    if factory is None:
        return Outcome.failed(f"there is no way to send {item.kind!r} items")
    try:
        if item.kind not in opened:
            opened[item.kind] = factory()
        return opened[item.kind].send(item.key, item.payload)
    except Exception as error:
        # A sender should return an Outcome for every fault; one that raises has a bug.
        # The item is retried later rather than the whole dispatcher stopping.
        return Outcome.retry(f"the {item.kind} sender broke: {_describe(error)}")


def _record(
    conn: Connection,
    item: _Claimed,
    outcome: Outcome,
    moment: datetime,
    policy: _Policy,
    tally: _Tally,
) -> None:
    reason = outcome.reason or "no reason given"
    values: dict[str, Any] = {"claimed_until": None}
    note = ""
    if outcome.result is Result.SENT:
        values.update(state=State.SENT.value, sent_at=moment, last_error="")
    elif outcome.result is Result.FAILED or item.attempts >= policy.max_attempts:
        if outcome.result is Result.RETRY:
            tries = "1 try" if item.attempts == 1 else f"{item.attempts} tries"
            reason = f"gave up after {tries}: {reason}"
        values.update(state=State.FAILED.value, last_error=reason)
        note = f"{item.key} failed: {reason}"
    else:
        retry_at = moment + _backoff(item.attempts, outcome.retry_after, policy)
        values.update(state=State.QUEUED.value, next_attempt_at=retry_at, last_error=reason)
        note = f"{item.key} will be tried again after {retry_at:%Y-%m-%d %H:%M:%S} UTC: {reason}"
    recorded = conn.execute(_STILL_OURS, {**values, **_ours(item)})
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


def _backoff(attempts: int, retry_after: float | None, policy: _Policy) -> timedelta:
    # Exponential backoff with full jitter: many items retrying at once spread out instead
    # of arriving together when a receiver comes back.
    ceiling = min(policy.max_delay, policy.base_delay * 2 ** min(attempts - 1, MAX_DOUBLINGS))
    delay = timedelta(seconds=policy.random.uniform(0, ceiling.total_seconds()))
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__

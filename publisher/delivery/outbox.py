"""The durable outbox: each announcement waits here, queued → sending → sent (or failed), until
a sender delivers it; retries are decided here and nowhere else."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
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
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError

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
    claim_lease: timedelta = timedelta(minutes=1),
    turn: timedelta = timedelta(seconds=30),
    pass_time: timedelta = timedelta(minutes=2),
    random: Random | None = None,
    stop: Event | None = None,
    channels_at_once: int = 4,
    batch: int = 50,
) -> DispatchReport:
    """Send every item that is due, a few channels at a time, and record what happened.
    `senders` makes a Sender for each kind of item ("email", "webhook").

    Channels take turns: a channel sends for at most `turn` (and the send in progress),
    then goes to the back of the line while others send, so a slow receiver holds up only
    itself. No turn starts and no send begins after `pass_time`: the pass is over by then
    and one send's own time limit (the webhook or SMTP timeout). Items left wait for the
    next pass.

    A channel's items are claimed `batch` at a time, committed as `sending` with a short
    `claim_lease`. Each send is recorded as started (its attempt counted, its lease made
    `lease`) before it starts, and its outcome after. Items claimed and not started are
    released when the turn ends, however it ends; after a crash, when their claim lease
    runs out. A send cut off by a crash is made once more after its lease; cut off again,
    the item is parked as failed, since it may have arrived twice already.
    """
    policy = _Policy(
        max_attempts, base_delay, max_delay, lease, max(claim_lease, turn), turn,
        random or Random(), max(1, batch),
    )  # fmt: skip
    started = now()
    over = started + pass_time
    with engine.connect() as conn:
        channels = conn.scalars(
            select(outbox.c.channel).where(_due(started)).distinct().order_by(outbox.c.channel)
        ).all()
    if not channels:
        return DispatchReport()

    def one(channel: str) -> _Tally:
        return _dispatch_channel(engine, channel, senders, now, policy, stop, over)

    tallies: dict[str, _Tally] = {}
    workers = max(1, min(channels_at_once, len(channels)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="outbox") as pool:
        # The pool takes turns in the order they are asked for: a channel whose turn ran
        # out joins the back of the line.
        waiting = {pool.submit(one, channel) for channel in channels}
        while waiting:
            done, waiting = wait(waiting, return_when=FIRST_COMPLETED)
            for future in done:
                tally = future.result()
                tallies.setdefault(tally.channel, _Tally(tally.channel)).add(tally)
                if tally.more and not _stopped(stop) and now() < over:
                    waiting.add(pool.submit(one, tally.channel))
    found = [tallies[channel] for channel in channels]
    return DispatchReport(
        sent=sum(t.sent for t in found),
        retried=sum(t.retried for t in found),
        failed=sum(t.failed for t in found),
        notes={t.channel: t.notes for t in found if t.notes},
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
        query.values(
            state=State.QUEUED.value,
            attempts=0,
            next_attempt_at=now,
            claimed_until=None,
            started_at=None,
            cut_off=0,
        )
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
    lease: timedelta  # a send in progress
    claim_lease: timedelta  # a claimed item not yet started
    turn: timedelta
    random: Random
    batch: int


@dataclass(frozen=True)
class _Claimed:
    id: int
    key: str
    kind: str
    payload: dict[str, Any]
    claimed_until: datetime  # also fences the claim: any other claim changes it


@dataclass
class _Tally:
    channel: str
    sent: int = 0
    retried: int = 0
    failed: int = 0
    notes: list[str] = field(default_factory=list)
    more: bool = False  # the turn ran out with items still due

    def add(self, other: _Tally) -> None:
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


def _ours(item: _Claimed) -> dict[str, Any]:
    return {"claimed_id": item.id, "claimed_token": item.claimed_until}


def _due(moment: datetime) -> ColumnElement[bool]:
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


def _dispatch_channel(
    engine: Engine,
    channel: str,
    senders: Mapping[str, Callable[[], Sender]],
    now: Callable[[], datetime],
    policy: _Policy,
    stop: Event | None,
    over: datetime,
) -> _Tally:
    """One turn of one channel: send its due items, oldest first, until none is left, one
    needs retrying, `stop` is set, or the turn (or the pass) is over."""
    tally = _Tally(channel)
    opened: dict[str, Sender] = {}
    turn_over = min(now() + policy.turn, over)
    waiting: list[_Claimed] = []  # claimed, not started: released however the turn ends

    def work_through(conn: Connection) -> bool:
        """Send and record the claimed items in order; returns whether the channel goes on."""
        while waiting:
            if _stopped(stop) or now() >= turn_over:
                tally.more = not _stopped(stop)
                return False
            started = _start(conn, waiting.pop(0), now(), policy)
            if started is None:
                continue  # another dispatcher took it over when our claim ran out
            item, attempts = started
            outcome = _send(item, senders, opened)
            _record(conn, item, attempts, outcome, now(), policy, tally)
            if outcome.result is Result.RETRY:
                # The receiver is in trouble: the channel's other items wait for the next
                # pass rather than hammer it.
                tally.notes.append("the rest of this channel waits for the next pass")
                return False
        return True

    try:
        # One connection for the channel's turn; each claim, start and record commits on it.
        with engine.connect() as conn:
            try:
                while not _stopped(stop):
                    if now() >= turn_over:
                        tally.more = True
                        break
                    waiting[:] = _claim(conn, channel, now(), policy, tally)
                    if not waiting or not work_through(conn):
                        break
            finally:
                try:
                    _release(conn, waiting)
                except SQLAlchemyError as error:  # the database failed: their claim runs out
                    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
                    tally.notes.append(f"{len(waiting)} claimed items wait a minute: {reason}")
    finally:
        for kind, sender in opened.items():
            try:
                sender.close()
            except Exception as error:
                tally.notes.append(f"closing the {kind} sender broke: {_describe(error)}")
    return tally


def _stopped(stop: Event | None) -> bool:
    return stop is not None and stop.is_set()


def _claim(
    conn: Connection, channel: str, moment: datetime, policy: _Policy, tally: _Tally
) -> list[_Claimed]:
    """The channel's oldest due items, a small batch, marked `sending` with a claim lease and
    committed before any is sent. An item whose send was cut off is claimed to be sent once
    more; cut off twice, it is parked instead."""
    _park_cut_off_twice(conn, channel, moment, tally)
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
        until = moment + policy.claim_lease
        rows = conn.execute(
            update(outbox)
            .where(outbox.c.id.in_(oldest), _due(moment))
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
                _Claimed(row.id, row.key, row.kind, json.loads(row.payload), until) for row in rows
            ]
            return sorted(claimed, key=lambda item: item.id)  # RETURNING promises no order


def _park_cut_off_twice(conn: Connection, channel: str, moment: datetime, tally: _Tally) -> None:
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


def _start(
    conn: Connection, item: _Claimed, moment: datetime, policy: _Policy
) -> tuple[_Claimed, int] | None:
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


def _release(conn: Connection, items: list[_Claimed]) -> None:
    """Claimed items never started go back to the queue, due as before. Fenced: an item
    another dispatcher has taken over is left alone."""
    if items:
        conn.execute(_RELEASE, [_ours(item) for item in items])
        conn.commit()
        items.clear()


def release_unstarted(conn: Connection) -> int:
    """Every item claimed and not yet started goes back to the queue, due as before. For
    the one dispatcher that holds the lock, stopping: it will start none of them (after a
    crash they wait out their claim lease instead). Returns how many."""
    done = conn.execute(
        update(outbox)
        .where(outbox.c.state == State.SENDING.value, outbox.c.started_at.is_(None))
        .values(state=State.QUEUED.value, claimed_until=None)
    )
    return done.rowcount


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
    attempts: int,
    outcome: Outcome,
    moment: datetime,
    policy: _Policy,
    tally: _Tally,
) -> None:
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
    if retry_after is not None and not math.isnan(retry_after):
        # A receiver's Retry-After is honoured up to our own longest wait between tries:
        # it may ask for less than backoff would give, never park a message for longer
        # (a year, or a number too big for a date: OverflowError) than we would ourselves.
        asked = min(retry_after, policy.max_delay.total_seconds())
        delay = max(delay, timedelta(seconds=asked))
    return delay


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__

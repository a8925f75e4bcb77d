"""The durable outbox: each announcement waits here, queued → sending → sent (or failed), until
a sender delivers it. Queueing, the dispatch pass (channels taking turns) and what
`publisher outbox` shows and retries are here; how an item is claimed, sent and recorded,
and when it is retried, is in claims.py."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from random import Random
from threading import Event
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from publisher.delivery import claims, recipients
from publisher.delivery.chat import FORMAT_REFUSED
from publisher.delivery.claims import State
from publisher.delivery.database import insert_new, outbox
from publisher.delivery.outcome import Outcome, Result, Sender


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
    policy = claims.Policy(
        max_attempts, base_delay, max_delay, lease, max(claim_lease, turn), turn,
        random or Random(), max(1, batch),
    )  # fmt: skip
    started = now()
    over = started + pass_time
    # An item for many addresses becomes one per address before any is sent.
    split = recipients.split_due(
        engine, started, max_attempts=max_attempts, base_delay=base_delay, max_delay=max_delay
    )
    with engine.connect() as conn:
        channels = conn.scalars(
            select(outbox.c.channel)
            .where(claims.due(started))
            .distinct()
            .order_by(outbox.c.channel)
        ).all()
    if not channels:
        return DispatchReport(notes=_split_notes(split))

    def one(channel: str) -> claims.Tally:
        return _dispatch_channel(engine, channel, senders, now, policy, stop, over)

    tallies: dict[str, claims.Tally] = {}
    workers = max(1, min(channels_at_once, len(channels)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="outbox") as pool:
        # The pool takes turns in the order they are asked for: a channel whose turn ran
        # out joins the back of the line.
        waiting = {pool.submit(one, channel) for channel in channels}
        while waiting:
            done, waiting = wait(waiting, return_when=FIRST_COMPLETED)
            for future in done:
                tally = future.result()
                tallies.setdefault(tally.channel, claims.Tally(tally.channel)).add(tally)
                if tally.more and not _stopped(stop) and now() < over:
                    waiting.add(pool.submit(one, tally.channel))
    found = [tallies[channel] for channel in channels]
    return DispatchReport(
        sent=sum(t.sent for t in found),
        retried=sum(t.retried for t in found),
        failed=sum(t.failed for t in found),
        notes={**_split_notes(split), **{t.channel: t.notes for t in found if t.notes}},
    )


def _split_notes(split: list[str]) -> dict[str, list[str]]:
    notes: dict[str, list[str]] = {}
    for note in split:
        channel, _, words = note.partition(": ")
        notes.setdefault(channel, []).append(words)
    return notes


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


def refused_formats(conn: Connection) -> dict[str, str]:
    """Channels whose receiver refused the format of what it was sent (a chat tool set up
    as a generic webhook, say), with the reason: nothing there gets through until the
    channel file is fixed. The latest failed item of each such channel."""
    query = (
        select(outbox.c.channel, outbox.c.last_error)
        .where(
            outbox.c.state == State.FAILED.value,
            outbox.c.last_error.contains(FORMAT_REFUSED, autoescape=True),
        )
        .order_by(outbox.c.id)
    )
    return {channel: reason for channel, reason in conn.execute(query)}


def stuck(conn: Connection, now: datetime) -> int:
    """How many items are still `sending` past their lease: a dispatcher that stopped
    mid-send, or one that is very slow."""
    query = (
        select(func.count())
        .select_from(outbox)
        .where(outbox.c.state == State.SENDING.value, outbox.c.claimed_until < now)
    )
    return int(conn.scalar(query) or 0)


def _dispatch_channel(
    engine: Engine,
    channel: str,
    senders: Mapping[str, Callable[[], Sender]],
    now: Callable[[], datetime],
    policy: claims.Policy,
    stop: Event | None,
    over: datetime,
) -> claims.Tally:
    """One turn of one channel: send its due items, oldest first, until none is left, one
    needs retrying, `stop` is set, or the turn (or the pass) is over."""
    tally = claims.Tally(channel)
    opened: dict[str, Sender] = {}
    turn_over = min(now() + policy.turn, over)
    waiting: list[claims.Claimed] = []  # claimed, not started: released however the turn ends

    def work_through(conn: Connection) -> bool:
        """Send and record the claimed items in order; returns whether the channel goes on.
        Each outcome is committed with the next item's start, before that send begins (one
        commit a send), and the last on its own."""
        going = send_each(conn)
        if conn.in_transaction():
            conn.commit()
        return going

    def send_each(conn: Connection) -> bool:
        while waiting:
            if _stopped(stop) or now() >= turn_over:
                tally.more = not _stopped(stop)
                return False
            started = claims.start(conn, waiting.pop(0), now(), policy)
            if started is None:
                continue  # another dispatcher took it over when our claim ran out
            item, attempts = started
            outcome = _send(item, senders, opened)
            claims.record(conn, item, attempts, outcome, now(), policy, tally, commit=False)
            if outcome.result is Result.RETRY:
                # The receiver is in trouble: the channel's other items wait for the next
                # pass rather than hammer it.
                tally.notes.append("the rest of this channel waits for the next pass")
                return False
        return True

    try:
        # One connection for the channel's turn; each claim and start commits on it (a start
        # with the outcome of the send before).
        with engine.connect() as conn:
            try:
                while not _stopped(stop):
                    if now() >= turn_over:
                        tally.more = True
                        break
                    waiting[:] = claims.claim(conn, channel, now(), policy, tally)
                    if not waiting or not work_through(conn):
                        break
            finally:
                try:
                    claims.release(conn, waiting)
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
    item: claims.Claimed, senders: Mapping[str, Callable[[], Sender]], opened: dict[str, Sender]
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


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__

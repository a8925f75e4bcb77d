"""The outbox on real SQLite and PostgreSQL: queued once, sent once, retried, parked."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, delete, func, insert, select, update

from publisher.delivery.claims import State
from publisher.delivery.database import (
    ADOPT,
    SCHEMA_VERSION,
    DatabaseError,
    channel_state,
    connect,
    create_or_upgrade,
    outbox,
    schema_version,
    snapshot_log,
)
from publisher.delivery.outbox import (
    DispatchReport,
    NewItem,
    OutboxRow,
    backlog,
    dispatch,
    enqueue,
    list_items,
    retry_failed,
)
from publisher.delivery.outcome import Outcome, Sender
from publisher.delivery.snapshot import load_published, record
from publisher.delivery.webhook import WebhookSender
from tests.delivery.receivers import (  # noqa: F401 (fixtures, found by pytest by name)
    HttpReceiver,
    Reply,
    TricklingPeer,
    http_receiver_fixture,
    start_trickling_peer_fixture,
    trickling_http,
)

T0 = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


class Clock:
    """The time as the dispatcher sees it; tests move it on instead of sleeping."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


class Receiver:
    """Stands in for a mail server or webhook receiver: remembers every key it was sent and
    answers from a script (key -> outcomes, in order), else SENT."""

    def __init__(self, script: dict[str, list[Outcome]] | None = None) -> None:
        self.script = {key: list(outcomes) for key, outcomes in (script or {}).items()}
        self.keys: list[str] = []
        self.payloads: list[dict[str, Any]] = []
        self.opened = 0
        self.closed = 0
        self.on_send: Callable[[str], None] = lambda key: None
        self.lock = threading.Lock()

    def sender(self) -> Sender:
        with self.lock:
            self.opened += 1
        return ScriptedSender(self)


class ScriptedSender:
    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver

    def send(self, key: str, payload: dict[str, Any]) -> Outcome:
        receiver = self.receiver
        with receiver.lock:
            receiver.keys.append(key)
            receiver.payloads.append(payload)
            outcomes = receiver.script.get(key)
            outcome = outcomes.pop(0) if outcomes else Outcome.sent("250 OK")
        receiver.on_send(key)
        return outcome

    def close(self) -> None:
        with self.receiver.lock:
            self.receiver.closed += 1


class BlockingSender:
    """A receiver that hangs until released (or ten seconds pass, so a bug cannot hang the
    test run)."""

    def __init__(self, release: threading.Event, started: threading.Event) -> None:
        self.release = release
        self.started = started

    def send(self, key: str, payload: dict[str, Any]) -> Outcome:
        self.started.set()
        self.release.wait(timeout=10)
        return Outcome.sent()

    def close(self) -> None:
        pass


class BrokenSender:
    def send(self, key: str, payload: dict[str, Any]) -> Outcome:
        raise ValueError("boom")

    def close(self) -> None:
        pass


class Killed(BaseException):
    """The process dying mid-send: nothing after the send runs."""


class KillingSender:
    def send(self, key: str, payload: dict[str, Any]) -> Outcome:
        raise Killed

    def close(self) -> None:
        pass


def item(key: str, channel: str = "val/bulletin", kind: str = "email", **extra: Any) -> NewItem:
    return NewItem(key=key, channel=channel, kind=kind, payload={"key": key}, **extra)


def queue(engine: Engine, *items: NewItem, now: datetime = T0) -> int:
    with engine.begin() as conn:
        return enqueue(conn, items, now)


def rows(engine: Engine) -> dict[str, OutboxRow]:
    with engine.connect() as conn:
        return {row.key: row for row in list_items(conn)}


def run(engine: Engine, receiver: Receiver, clock: Clock, **options: Any) -> DispatchReport:
    return dispatch(engine, {"email": receiver.sender}, clock, **options)


# Queueing


def test_enqueue_is_idempotent_by_key(database: Engine) -> None:
    with database.begin() as conn:
        assert enqueue(conn, [item("a"), item("a"), item("b")], T0) == 2
    assert queue(database, item("a"), item("c")) == 1
    assert queue(database) == 0
    assert sorted(rows(database)) == ["a", "b", "c"]


def test_enqueue_rolls_back_with_the_snapshot_it_belongs_to(database: Engine) -> None:
    current = {"leeds-icb/link-workers": ("v1", {"title": "Link workers"}, None)}
    with pytest.raises(RuntimeError), database.begin() as conn:
        record(conn, current, T0, "working tree")
        enqueue(conn, [item("a")], T0)
        raise RuntimeError("the process fails before commit")
    with database.connect() as conn:
        assert load_published(conn) == {}
        assert list_items(conn) == []
        assert conn.scalar(select(func.count()).select_from(snapshot_log)) == 0


def test_times_are_stored_and_read_back_as_utc(database: Engine) -> None:
    summer = datetime(2027, 7, 1, 10, 0, tzinfo=ZoneInfo("Europe/London"))
    queue(database, item("a"), now=summer)
    row = rows(database)["a"]
    assert row.created_at.tzinfo is UTC
    assert row.created_at == summer
    assert row.created_at.hour == 9
    assert row.next_attempt_at == summer
    with pytest.raises(Exception, match="naive"):
        queue(database, item("b"), now=datetime(2027, 1, 1, 9, 0))


# Sending


def test_dispatch_sends_due_items_once_in_order_and_records_them(database: Engine) -> None:
    queue(database, item("a"), item("b"))
    receiver, clock = Receiver(), Clock()
    report = run(database, receiver, clock)
    assert (report.sent, report.retried, report.failed) == (2, 0, 0)
    assert receiver.keys == ["a", "b"]
    assert receiver.payloads == [{"key": "a"}, {"key": "b"}]
    for row in rows(database).values():
        assert (row.state, row.attempts, row.sent_at, row.claimed_until) == ("sent", 1, T0, None)
    assert receiver.opened == receiver.closed == 1
    assert run(database, receiver, clock) == DispatchReport()
    assert receiver.keys == ["a", "b"]


def test_an_item_waits_until_not_before(database: Engine) -> None:
    queue(database, item("later", not_before=T0 + timedelta(hours=1)))
    receiver, clock = Receiver(), Clock()
    assert run(database, receiver, clock).sent == 0
    clock.now = T0 + timedelta(hours=1)
    assert run(database, receiver, clock).sent == 1
    assert receiver.keys == ["later"]


def test_retries_back_off_exponentially_with_full_jitter(database: Engine) -> None:
    queue(database, item("a"))
    receiver = Receiver({"a": [Outcome.retry("the server is down")] * 4})
    clock, expected = Clock(), Random(7)
    options = {"random": Random(7), "max_delay": timedelta(minutes=5)}
    for ceiling in (60, 120, 240, 300):  # one minute doubling, capped at five
        report = run(database, receiver, clock, **options)
        assert report.retried == 1
        row = rows(database)["a"]
        delay = timedelta(seconds=expected.uniform(0, ceiling))
        assert row.next_attempt_at == clock.now + delay
        assert timedelta(0) <= delay <= timedelta(seconds=ceiling)
        assert (row.state, row.last_error) == ("queued", "the server is down")
        clock.now = row.next_attempt_at
    assert run(database, receiver, clock, **options).sent == 1
    assert rows(database)["a"].attempts == 5


def test_retry_after_from_the_receiver_is_honoured(database: Engine) -> None:
    queue(database, item("a"))
    receiver = Receiver({"a": [Outcome.retry("429 Too Many Requests", retry_after=3600)]})
    clock = Clock()
    run(database, receiver, clock, random=Random(1))
    assert rows(database)["a"].next_attempt_at == T0 + timedelta(hours=1)
    clock.now = T0 + timedelta(minutes=59)
    assert run(database, receiver, clock).sent == 0
    clock.now = T0 + timedelta(hours=1)
    assert run(database, receiver, clock).sent == 1


@pytest.mark.parametrize(
    "asked", [99999999999999.0, math.inf, timedelta(days=365).total_seconds(), math.nan]
)
def test_retry_after_is_capped_at_the_longest_backoff(database: Engine, asked: float) -> None:
    # A receiver asking for a year, or for more seconds than a date can hold (OverflowError
    # once), waits no longer than our own longest gap between tries.
    queue(database, item("a"), item("b", channel="other"))
    receiver = Receiver({"a": [Outcome.retry("429 Too Many Requests", retry_after=asked)]})
    report = run(database, receiver, Clock(), random=Random(1), max_delay=timedelta(hours=6))
    assert (report.sent, report.retried) == (1, 1)
    row = rows(database)["a"]
    assert row.state == "queued"
    if math.isnan(asked):  # no sense in it: the backoff alone, at most a minute
        assert T0 <= row.next_attempt_at <= T0 + timedelta(minutes=1)
    else:
        assert row.next_attempt_at == T0 + timedelta(hours=6)


def test_a_receiver_asking_to_wait_for_ever_is_tried_again_after_six_hours(
    database: Engine, http_receiver: HttpReceiver
) -> None:
    # Before: the receiver's 99999999999999 seconds made OverflowError, and the pass died.
    http_receiver.script(Reply(429, {"Retry-After": "99999999999999"}))
    queue(database, hook("a", http_receiver.url(), "a-first"), hook("b", http_receiver.url()))
    senders = {"webhook": lambda: WebhookSender(allow_private=True, environ={"HOOK_SECRET": "s"})}
    # One channel at a time, so the first request, a's, is the one answered 429.
    report = dispatch(database, senders, Clock(), random=Random(1), channels_at_once=1)
    assert (report.sent, report.retried) == (1, 1)
    row = rows(database)["a"]
    assert (row.state, row.next_attempt_at) == ("queued", T0 + timedelta(hours=6))
    assert row.last_error == "the receiver at 127.0.0.1 answered 429 Too Many Requests"


def test_an_item_is_parked_as_failed_after_max_attempts(database: Engine) -> None:
    queue(database, item("a"))
    receiver = Receiver({"a": [Outcome.retry("connection refused")] * 10})
    clock = Clock()
    reports = []
    for _ in range(3):
        reports.append(run(database, receiver, clock, max_attempts=3))
        clock.now += timedelta(hours=6)
    assert [(r.retried, r.failed) for r in reports] == [(1, 0), (1, 0), (0, 1)]
    row = rows(database)["a"]
    assert (row.state, row.attempts) == ("failed", 3)
    assert row.last_error == "gave up after 3 tries: connection refused"
    assert reports[-1].notes == {
        "val/bulletin": [
            "a failed: gave up after 3 tries: connection refused",
            "the rest of this channel waits for the next pass",
        ]
    }
    assert run(database, receiver, clock, max_attempts=3).failed == 0
    assert receiver.keys == ["a"] * 3


def test_a_failed_outcome_parks_the_item_at_once_and_the_channel_goes_on(
    database: Engine,
) -> None:
    queue(database, item("a"), item("b"))
    receiver = Receiver({"a": [Outcome.failed("550 no such mailbox")]})
    report = run(database, receiver, Clock())
    assert (report.sent, report.failed) == (1, 1)
    found = rows(database)
    assert (found["a"].state, found["a"].attempts, found["a"].last_error) == (
        "failed",
        1,
        "550 no such mailbox",
    )
    assert found["b"].state == "sent"


def test_a_sender_that_raises_is_retried_not_a_crash(database: Engine) -> None:
    queue(database, item("a", kind="webhook"), item("b", channel="other"))
    receiver = Receiver()
    report = dispatch(
        database, {"webhook": BrokenSender, "email": receiver.sender}, Clock(), random=Random(1)
    )
    assert (report.sent, report.retried) == (1, 1)
    row = rows(database)["a"]
    assert row.state == "queued"
    assert row.last_error == "the webhook sender broke: ValueError: boom"


def test_an_item_of_a_kind_nobody_sends_is_parked(database: Engine) -> None:
    queue(database, item("a", kind="fax"))
    report = run(database, Receiver(), Clock())
    assert report.failed == 1
    assert rows(database)["a"].last_error == "there is no way to send 'fax' items"


# Channels are independent


def test_a_retrying_channel_waits_while_other_channels_carry_on(database: Engine) -> None:
    queue(
        database,
        item("down-1", channel="down"),
        item("down-2", channel="down"),
        item("up-1", channel="up"),
        item("up-2", channel="up"),
    )
    receiver = Receiver({"down-1": [Outcome.retry("503 Service Unavailable")]})
    report = run(database, receiver, Clock(), random=Random(1))
    assert (report.sent, report.retried) == (2, 1)
    assert "down-2" not in receiver.keys  # the server that is down is not hammered
    found = rows(database)
    assert (found["down-2"].state, found["down-2"].attempts) == ("queued", 0)
    assert found["up-1"].state == found["up-2"].state == "sent"


def test_a_hanging_channel_does_not_delay_the_others(database: Engine) -> None:
    queue(
        database,
        item("slow", channel="hangs", kind="webhook"),
        item("fast-1", channel="quick"),
        item("fast-2", channel="quick"),
    )
    release, started, second = threading.Event(), threading.Event(), threading.Event()
    receiver = Receiver()
    receiver.on_send = lambda key: second.set() if key == "fast-2" else None
    senders = {"webhook": lambda: BlockingSender(release, started), "email": receiver.sender}
    reports: list[DispatchReport] = []
    worker = threading.Thread(target=lambda: reports.append(dispatch(database, senders, Clock())))
    worker.start()
    try:
        assert started.wait(10)
        # fast-2 is only claimed once fast-1 has been recorded as sent.
        assert second.wait(10), "the quick channel waited for the hanging one"
        found = rows(database)
        assert found["fast-1"].state == "sent"
        assert found["slow"].state == "sending"
    finally:
        release.set()
        worker.join(10)
    assert reports[0].sent == 3
    assert {row.state for row in rows(database).values()} == {State.SENT}


# Crashes and races


def test_an_item_claimed_by_a_process_that_died_is_sent_again_after_its_lease(
    database: Engine,
) -> None:
    queue(database, item("a"))
    with database.begin() as conn:  # claimed, perhaps sent, but never recorded
        conn.execute(
            update(outbox).values(
                state="sending", attempts=1, claimed_until=T0 + timedelta(minutes=10)
            )
        )
    receiver, clock = Receiver(), Clock(T0 + timedelta(minutes=5))
    assert run(database, receiver, clock).sent == 0
    clock.now = T0 + timedelta(minutes=10)
    assert run(database, receiver, clock).sent == 1
    assert receiver.keys == ["a"]
    assert rows(database)["a"].attempts == 2


def test_a_dispatcher_killed_while_sending_leaves_the_item_to_be_sent_again(
    database: Engine,
) -> None:
    queue(database, item("a"))
    with pytest.raises(Killed):
        dispatch(database, {"email": KillingSender}, Clock())
    row = rows(database)["a"]
    assert (row.state, row.claimed_until) == ("sending", T0 + timedelta(minutes=10))
    receiver = Receiver()
    assert run(database, receiver, Clock(T0 + timedelta(minutes=10))).sent == 1
    assert receiver.keys == ["a"]  # the same key: the receiver can tell it is a repeat


@pytest.mark.parametrize("batch", [1, 5, 20])
def test_two_dispatchers_at_once_never_send_an_item_twice(database: Engine, batch: int) -> None:
    keys = [f"{channel}-{n}" for channel in ("a", "b", "c") for n in range(12)]
    queue(database, *(item(key, channel=key[0]) for key in keys))
    receiver, clock = Receiver(), Clock()
    start = threading.Barrier(2)
    reports: list[DispatchReport] = []

    def dispatcher() -> None:
        start.wait(10)
        reports.append(run(database, receiver, clock, batch=batch))

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(receiver.keys) == sorted(keys)
    assert sum(report.sent for report in reports) == len(keys)
    assert backlog_of(database)["sent"] == len(keys)


def test_stop_lets_the_send_in_progress_finish_and_starts_no_more(database: Engine) -> None:
    queue(database, item("a"), item("b"), item("c"))
    stop = threading.Event()
    receiver = Receiver()
    receiver.on_send = lambda key: stop.set()
    report = run(database, receiver, Clock(), stop=stop)
    assert report.sent == 1
    assert receiver.keys == ["a"]
    found = rows(database).values()
    assert [(row.state, row.attempts) for row in found] == [
        ("sent", 1),
        ("queued", 0),
        ("queued", 0),
    ]
    assert run(database, receiver, Clock(), stop=stop).sent == 0


# Claiming in batches


def states(engine: Engine) -> dict[str, tuple[str, int]]:
    return {key: (row.state, row.attempts) for key, row in rows(engine).items()}


def test_a_channel_claims_a_small_batch_and_records_each_send_before_it_starts(
    database: Engine,
) -> None:
    queue(database, *(item(key) for key in "abcde"))
    receiver, seen = Receiver(), dict[str, dict[str, tuple[str, int]]]()
    marks: dict[str, dict[str, tuple[datetime | None, datetime | None]]] = {}

    def look(key: str) -> None:
        seen[key] = states(database)
        marks[key] = {k: (r.claimed_until, started(database, k)) for k, r in rows(database).items()}

    receiver.on_send = look
    report = run(database, receiver, Clock(), batch=2)
    assert report.sent == 5
    assert receiver.keys == list("abcde")
    # While a is sent, a and b are claimed and committed; a's attempt is counted and marked
    # started before it is sent, with a send's lease; b only claimed, for a minute; c waits.
    assert seen["a"] == {
        "a": ("sending", 1), "b": ("sending", 0), "c": ("queued", 0), "d": ("queued", 0),
        "e": ("queued", 0),
    }  # fmt: skip
    assert marks["a"]["a"] == (T0 + timedelta(minutes=10), T0)
    assert marks["a"]["b"] == (T0 + timedelta(minutes=1), None)
    # Each is recorded as it is sent, before the next is.
    assert seen["b"]["a"] == ("sent", 1)
    assert seen["c"] == {
        "a": ("sent", 1), "b": ("sent", 1), "c": ("sending", 1), "d": ("sending", 0),
        "e": ("queued", 0),
    }  # fmt: skip
    for key, row in rows(database).items():
        assert (row.state, row.attempts, row.claimed_until) == ("sent", 1, None)
        assert started(database, key) is None


def started(engine: Engine, key: str) -> datetime | None:
    with engine.connect() as conn:
        value: datetime | None = conn.scalar(select(outbox.c.started_at).where(outbox.c.key == key))
        return value


class KillingAt:
    """A receiver that takes every item until `key`, when the dispatcher dies mid-send (as
    an exception: the claimed items not started are released on the way out)."""

    def __init__(self, receiver: Receiver, key: str) -> None:
        self.receiver = receiver
        self.key = key

    def send(self, key: str, payload: dict[str, Any]) -> Outcome:
        if key == self.key:
            raise Killed
        return ScriptedSender(self.receiver).send(key, payload)

    def close(self) -> None:
        pass


def test_a_dispatcher_stopped_mid_batch_releases_the_rest_at_once(database: Engine) -> None:
    queue(database, *(item(key) for key in "abcd"))
    first = Receiver()
    with pytest.raises(Killed):
        dispatch(database, {"email": lambda: KillingAt(first, "b")}, Clock(), batch=3)
    assert first.keys == ["a"]
    lease_end = T0 + timedelta(minutes=10)
    # b's send had started (perhaps received); c was claimed, never started: released.
    assert states(database) == {
        "a": ("sent", 1), "b": ("sending", 1), "c": ("queued", 0), "d": ("queued", 0),
    }  # fmt: skip
    assert rows(database)["c"].claimed_until is None
    # At once, c and d go; after b's lease, b (same key, same Message-ID), once more.
    second = Receiver()
    assert run(database, second, Clock()).sent == 2
    assert run(database, second, Clock(lease_end - timedelta(seconds=1))).sent == 0
    assert run(database, second, Clock(lease_end)).sent == 1
    assert second.keys == ["c", "d", "b"]
    assert states(database) == {
        "a": ("sent", 1), "b": ("sent", 2), "c": ("sent", 1), "d": ("sent", 1),
    }  # fmt: skip


def test_items_claimed_but_not_reached_after_a_retry_go_back_uncounted(
    database: Engine,
) -> None:
    queue(database, *(item(key) for key in "abcd"))
    receiver = Receiver({"b": [Outcome.retry("421 try again later")]})
    report = run(database, receiver, Clock(), batch=3, random=Random(1))
    assert (report.sent, report.retried) == (1, 1)
    assert receiver.keys == ["a", "b"]
    assert states(database) == {
        "a": ("sent", 1), "b": ("queued", 1), "c": ("queued", 0), "d": ("queued", 0),
    }  # fmt: skip
    found = rows(database)
    assert found["c"].claimed_until is None
    assert found["c"].next_attempt_at == T0  # due at once on the next pass
    assert run(database, receiver, Clock(T0 + timedelta(hours=1)), batch=3).sent == 3
    assert receiver.keys == ["a", "b", "b", "c", "d"]
    assert states(database)["c"] == ("sent", 1)


def test_an_item_another_dispatcher_took_over_is_not_released(database: Engine) -> None:
    queue(database, item("a"), item("b"))
    slow, other, clock = Receiver(), Receiver(), Clock()

    def take_over(key: str) -> None:
        if key == "a":  # the first dispatcher stalls past the lease; a second one runs
            clock.now += timedelta(minutes=11)
            assert run(database, other, clock).sent == 2

    slow.on_send = take_over
    report = run(database, slow, clock, batch=2)
    assert other.keys == ["a", "b"]
    assert slow.keys == ["a"]  # b's claim had run out: the first dispatcher left it
    assert report.sent == 0
    assert report.notes == {
        "val/bulletin": ["a: sending outlasted the lease; another pass took it over"]
    }
    # a's first send counts (it may have arrived), and was cut off once; b was sent once.
    assert states(database) == {"a": ("sent", 2), "b": ("sent", 1)}


# Turns and the length of a pass


def test_a_slow_channel_takes_turns_and_cannot_hold_the_only_worker(database: Engine) -> None:
    queue(database, *(item(f"slow-{n}", channel="a-slow") for n in range(1, 6)))
    queue(database, *(item(f"quick-{n}", channel="b-quick") for n in range(1, 3)))
    receiver, clock = Receiver(), Clock()

    def slow_down(key: str) -> None:
        if key.startswith("slow"):
            clock.now += timedelta(seconds=20)  # each of its sends takes 20 seconds

    receiver.on_send = slow_down
    report = run(database, receiver, clock, channels_at_once=1, turn=timedelta(seconds=30))
    assert report.sent == 7
    # First in line, the slow channel's turn is over after two sends (40 seconds): it goes
    # to the back of the line, the quick one sends, then the slow one has more turns.
    assert receiver.keys == [
        "slow-1", "slow-2", "quick-1", "quick-2", "slow-3", "slow-4", "slow-5",
    ]  # fmt: skip
    assert backlog_of(database)["sent"] == 7


def test_a_receiver_trickling_its_answer_delays_the_other_channel_by_one_timeout_at_most(
    database: Engine,
    http_receiver: HttpReceiver,
    start_trickling_peer: Callable[..., TricklingPeer],
) -> None:
    # Real receivers on loopback, one worker: the trickling channel is first in line.
    peer = start_trickling_peer(trickling_http, gap=0.2)
    trickle = hook("slow-1", f"http://127.0.0.1:{peer.port}/hook", channel="a-trickle")
    queue(database, trickle, hook("ok-1", http_receiver.url(), channel="b-healthy"))
    senders = {
        "webhook": lambda: WebhookSender(
            allow_private=True, environ={"HOOK_SECRET": "s"}, timeout=1
        )
    }
    reports: list[DispatchReport] = []
    passing = threading.Thread(
        target=lambda: reports.append(
            dispatch(database, senders, Clock(), channels_at_once=1, random=Random(1))
        )
    )
    passing.start()
    passing.join(10)  # ten times the timeout
    assert not passing.is_alive(), "the pass was still waiting on the trickle after 10 seconds"
    assert (reports[0].sent, reports[0].retried) == (1, 1)
    assert [r.headers["idempotency-key"] for r in http_receiver.requests] == ["ok-1"]
    row = rows(database)["slow-1"]
    assert row.state == "queued"
    assert row.last_error == "the receiver at 127.0.0.1 did not answer within 1 seconds"


def test_the_pass_starts_no_send_after_its_time_and_leaves_the_rest_queued(
    database: Engine,
) -> None:
    queue(database, *(item(key) for key in "abcde"))
    receiver, clock = Receiver(), Clock()

    def slow_down(key: str) -> None:
        clock.now += timedelta(minutes=1)

    receiver.on_send = slow_down
    report = run(database, receiver, clock, pass_time=timedelta(minutes=2))
    assert report.sent == 2
    assert receiver.keys == ["a", "b"]
    assert states(database) == {
        "a": ("sent", 1), "b": ("sent", 1), "c": ("queued", 0), "d": ("queued", 0),
        "e": ("queued", 0),
    }  # fmt: skip
    assert {rows(database)[key].claimed_until for key in "cde"} == {None}
    receiver.on_send = lambda key: None
    assert run(database, receiver, clock).sent == 3


# A real crash: the dispatching process killed with SIGKILL in the middle of a send

DISPATCH_IN_A_PROCESS = """
import datetime as dt, sys
from publisher.delivery.database import connect
from publisher.delivery.outbox import dispatch
from publisher.delivery.webhook import WebhookSender

engine = connect(sys.argv[1])
moment = dt.datetime.fromisoformat(sys.argv[2])
sender = lambda: WebhookSender(allow_private=True, environ={"HOOK_SECRET": "s"}, timeout=60)
dispatch(engine, {"webhook": sender}, lambda: moment, batch=3)
"""


def hook(key: str, url: str, channel: str = "val/website") -> NewItem:
    payload = {"url": url, "secret_env": "HOOK_SECRET", "body": {"id": key}}
    return NewItem(key=key, channel=channel, kind="webhook", payload=payload)


def kill_mid_send(engine: Engine, receiver: HttpReceiver, moment: datetime, seen: int) -> None:
    """Dispatch in another process at `moment` and kill it (SIGKILL: nothing of it runs
    after) once the receiver holds its request number `seen`, unanswered."""
    url = engine.url.render_as_string(hide_password=False)
    process = subprocess.Popen(
        [sys.executable, "-c", DISPATCH_IN_A_PROCESS, url, moment.isoformat()]
    )
    try:
        deadline = time.monotonic() + 30
        while len(receiver.requests) < seen and process.poll() is None:
            assert time.monotonic() < deadline, "the dispatcher never reached the receiver"
            time.sleep(0.02)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    assert process.returncode == -signal.SIGKILL, "the dispatcher ended before it was killed"


def test_a_send_cut_off_by_sigkill_is_made_once_more_and_the_rest_go_at_once(
    database: Engine, http_receiver: HttpReceiver
) -> None:
    queue(database, *(hook(key, http_receiver.url()) for key in "abcd"))
    http_receiver.script(Reply(200, hang=60))  # a is received, and never answered in time
    kill_mid_send(database, http_receiver, T0, seen=1)

    # a's send was recorded as started; b and c were claimed for a minute, not started.
    assert states(database) == {
        "a": ("sending", 1), "b": ("sending", 0), "c": ("sending", 0), "d": ("queued", 0),
    }  # fmt: skip
    assert started(database, "a") == T0
    senders = {"webhook": lambda: WebhookSender(allow_private=True, environ={"HOOK_SECRET": "s"})}
    # b and c wait only for their claim (a minute), not a send's lease; d goes at once.
    assert dispatch(database, senders, Clock()).sent == 1
    assert dispatch(database, senders, Clock(T0 + timedelta(minutes=1))).sent == 2
    # a may have arrived: it is sent once more, with the same key, after its lease.
    assert dispatch(database, senders, Clock(T0 + timedelta(minutes=9))).sent == 0
    assert dispatch(database, senders, Clock(T0 + timedelta(minutes=10))).sent == 1
    keys = [request.headers["idempotency-key"] for request in http_receiver.requests]
    assert keys == ["a", "d", "b", "c", "a"]
    assert states(database) == {
        "a": ("sent", 2), "b": ("sent", 1), "c": ("sent", 1), "d": ("sent", 1),
    }  # fmt: skip


def test_a_send_cut_off_twice_is_parked_not_sent_a_third_time(
    database: Engine, http_receiver: HttpReceiver
) -> None:
    queue(database, hook("a", http_receiver.url()))
    http_receiver.script(Reply(200, hang=60), Reply(200, hang=60))
    kill_mid_send(database, http_receiver, T0, seen=1)
    later = T0 + timedelta(minutes=10)
    kill_mid_send(database, http_receiver, later, seen=2)  # the one resend, cut off too

    senders = {"webhook": lambda: WebhookSender(allow_private=True, environ={"HOOK_SECRET": "s"})}
    report = dispatch(database, senders, Clock(later + timedelta(minutes=10)))
    assert (report.sent, report.failed) == (0, 1)
    row = rows(database)["a"]
    assert (row.state, row.attempts) == ("failed", 2)
    assert row.last_error.startswith("sending it was cut off twice")
    assert len(http_receiver.requests) == 2
    # The operator asks the receiver, then sends it again by hand: once.
    with database.begin() as conn:
        assert retry_failed(conn, ["a"], later) == 1
    assert dispatch(database, senders, Clock(later + timedelta(minutes=10))).sent == 1
    assert len(http_receiver.requests) == 3


# Looking after the outbox


def test_retry_failed_requeues_failed_items_due_now(database: Engine) -> None:
    queue(database, item("a"), item("b"), item("c"))
    receiver = Receiver({"a": [Outcome.failed("no")], "b": [Outcome.failed("no")]})
    run(database, receiver, Clock())
    later = T0 + timedelta(days=1)
    with database.begin() as conn:
        assert retry_failed(conn, [], later) == 0
        assert retry_failed(conn, ["a", "c"], later) == 1
    row = rows(database)["a"]
    assert (row.state, row.attempts, row.next_attempt_at) == ("queued", 0, later)
    with database.begin() as conn:
        assert retry_failed(conn, None, later) == 1
    assert run(database, receiver, Clock(later)).sent == 2


def test_backlog_counts_every_state(database: Engine) -> None:
    assert backlog_of(database) == {"queued": 0, "sending": 0, "sent": 0, "failed": 0}
    queue(
        database,
        item("a"),
        item("b"),
        item("c", channel="x"),
        item("d", channel="y", kind="webhook"),
    )
    receiver = Receiver({"b": [Outcome.failed("no")], "c": [Outcome.retry("later")]})
    with pytest.raises(Killed):
        dispatch(
            database,
            {"email": receiver.sender, "webhook": KillingSender},
            Clock(),
            random=Random(1),
        )
    assert backlog_of(database) == {"queued": 1, "sending": 1, "sent": 1, "failed": 1}
    with database.connect() as conn:
        assert [row.key for row in list_items(conn, "failed")] == ["b"]
        assert [row.key for row in list_items(conn, limit=2)] == ["a", "b"]


def backlog_of(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return backlog(conn)


# The database underneath


def test_a_sqlite_database_in_a_folder_that_does_not_exist_is_created(tmp_path: Path) -> None:
    path = tmp_path / "state" / "deep" / "publisher.db"
    engine = connect(f"sqlite:///{path}")
    assert create_or_upgrade(engine) == SCHEMA_VERSION
    assert create_or_upgrade(engine) == SCHEMA_VERSION  # a second start changes nothing
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.scalars(select(schema_version.c.version)).all() == [SCHEMA_VERSION]
    engine.dispose()
    assert path.is_file()


def test_an_unreachable_postgresql_gives_a_plain_error_without_the_password() -> None:
    with pytest.raises(DatabaseError) as raised:
        connect("postgresql://publisher:hunter2@127.0.0.1:1/publisher")
    message = str(raised.value)
    assert "hunter2" not in message
    assert "postgresql://publisher:***@127.0.0.1:1/publisher" in message
    assert "refused" in message


def test_an_address_that_is_not_a_database_is_explained() -> None:
    with pytest.raises(DatabaseError, match="neither SQLite nor PostgreSQL"):
        connect("mysql://root:secret@localhost/publisher")
    with pytest.raises(DatabaseError, match="is not a database address"):
        connect("publisher.db")


def test_a_version_2_database_is_upgraded_keeping_its_outbox(database: Engine) -> None:
    # The outbox as version 2 left it: no started_at or cut_off, an item sending and one queued.
    queue(database, item("a"), item("b"))
    with database.begin() as conn:
        conn.execute(
            update(outbox).where(outbox.c.key == "a")
            .values(state="sending", attempts=1, claimed_until=T0 + timedelta(minutes=10))
        )  # fmt: skip
        conn.exec_driver_sql("ALTER TABLE outbox DROP COLUMN started_at")
        conn.exec_driver_sql("ALTER TABLE outbox DROP COLUMN cut_off")
        conn.exec_driver_sql("DROP TABLE channel_state")
        conn.execute(delete(schema_version))
        conn.execute(insert(schema_version).values(version=2, applied_at=T0))
    assert create_or_upgrade(database) == SCHEMA_VERSION == 6
    with database.connect() as conn:
        assert conn.scalars(select(schema_version.c.version)).all() == [2, 3, 4, 5, 6]
        # Version 4: the channels there are will be adopted without a welcome.
        assert conn.scalars(select(channel_state.c.channel)).all() == [ADOPT]
    assert states(database) == {"a": ("sending", 1), "b": ("queued", 0)}
    receiver = Receiver()
    assert run(database, receiver, Clock()).sent == 1
    assert run(database, receiver, Clock(T0 + timedelta(minutes=10))).sent == 1
    assert receiver.keys == ["b", "a"]


def test_a_database_from_a_newer_publisher_is_refused(tmp_path: Path) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'publisher.db'}")
    create_or_upgrade(engine)
    with engine.begin() as conn:
        conn.execute(insert(schema_version).values(version=SCHEMA_VERSION + 1, applied_at=T0))
    with pytest.raises(DatabaseError, match="made by a newer publisher"):
        create_or_upgrade(engine)
    engine.dispose()

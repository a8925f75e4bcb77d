"""Benchmark: 10,000 queued emails delivered from the outbox to a local SMTP sink (target:
at least 200 messages a second, connections reused).

Run by hand with `.venv/bin/python -m bench.deliver_outbox [--database postgresql]`; record
the result in docs/performance.md. The emails are composed from the example plans and
channels as `publisher notify` composes them (text, HTML, an .ics on most), spread over the
example email channels, and queued in a fresh database: a SQLite file in a temporary folder,
or a PostgreSQL database on 127.0.0.1:5432 made for the run and dropped after it. The sink
is aiosmtpd on 127.0.0.1 in a process of its own; it counts connections and Message-IDs,
so the run shows every message arrived exactly once.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import pstats
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import psycopg
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from psycopg import sql
from sqlalchemy import Engine

from bench.deliver_email import CountingSink, start_sink
from publisher.delivery import channels, messages, outbox
from publisher.delivery.database import connect, create_or_upgrade
from publisher.delivery.email import SmtpSender
from publisher.delivery.outbox import NewItem, backlog, dispatch, enqueue
from publisher.model.read import load_site

PLANS = Path("plans")
BASE_URL = "https://publisher.example.org/"
POSTGRESQL_SERVER = "host=127.0.0.1 port=5432 user=postgres"
MAIL_FROM = "Forward plan publisher <publisher@example.org>"
MAX_MESSAGES = 100_000
TIME_LIMIT_S = 600  # the whole delivery; a bug cannot keep the bench running for ever
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


class MessageIdSink(CountingSink):
    """Counts connections, as CountingSink does, and the Message-ID of every message."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: Counter[bytes] = Counter()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.original_content or b""
        headers = content.split(b"\r\n\r\n", 1)[0]
        found = _MESSAGE_ID.search(headers)
        self.ids[found[1] if found else b"(none)"] += 1
        return await super().handle_DATA(server, session, envelope)


def sink(port: int, control: Connection) -> None:
    """Runs in the sink's process: serve until told to stop, then report what arrived."""
    counter = MessageIdSink()
    controller = Controller(counter, hostname="127.0.0.1", port=port)
    controller.start()
    control.send("ready")
    started = time.process_time()
    while control.recv() == "start":  # then "stop"
        started = time.process_time()
    controller.stop()
    busy = time.process_time() - started
    control.send((counter.messages, len(counter.peers), dict(counter.ids), busy))


def composed() -> dict[str, list[dict[str, Any]]]:
    """Real announcement emails from the example plans, by email channel."""
    site, _ = load_site(PLANS, dt.date(2026, 11, 23), BASE_URL)
    subscribers, _ = channels.load_channels(PLANS)
    found: dict[str, list[dict[str, Any]]] = {}
    for subscriber in subscribers:
        if subscriber.kind != "email":
            continue
        for view in site.opportunities:
            if channels.wants(subscriber, view):
                key = f"{subscriber.uid}|{view.uid}|new|bench"
                entry = messages.entry(site, view, key, "new", [])
                message = messages.message(site, subscriber, [entry], digest=False)
                payload = messages.payload(subscriber, message, key, site.base_url)
                found.setdefault(subscriber.uid, []).append(payload)
    return found


def items(count: int, how_many_channels: int) -> list[NewItem]:
    """`count` emails, each with its own key and Message-ID, dealt round the channels."""
    by_channel = sorted(composed().items(), key=lambda pair: -len(pair[1]))[:how_many_channels]
    made = []
    for n in range(count):
        channel, payloads = by_channel[n % len(by_channel)]
        key = f"{channel}|bench-{n}"
        payload = dict(payloads[n // len(by_channel) % len(payloads)])
        payload["message_id"] = messages.message_id(key, BASE_URL)
        made.append(NewItem(key, channel, "email", payload))
    return made


@contextmanager
def database(kind: str) -> Iterator[Engine]:
    """A fresh, empty state database, removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-outbox-") as folder:
            engine = connect(f"sqlite:///{Path(folder) / 'publisher.db'}")
            create_or_upgrade(engine)
            try:
                yield engine
            finally:
                engine.dispose()
        return
    database_name = f"publisher_bench_{os.getpid()}"
    name = sql.Identifier(database_name)
    with psycopg.connect(
        f"{POSTGRESQL_SERVER} dbname=postgres", autocommit=True, connect_timeout=5
    ) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(name))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
        try:
            engine = connect(f"postgresql://postgres@127.0.0.1:5432/{database_name}")
            create_or_upgrade(engine)
            try:
                yield engine
            finally:
                engine.dispose()
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))


def profiled(path: str) -> list[cProfile.Profile]:
    """Profile each channel's thread (cProfile sees only the thread that enables it)."""
    profiles: list[cProfile.Profile] = []
    plain = outbox._dispatch_channel

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        profile = cProfile.Profile()
        profiles.append(profile)
        return profile.runcall(plain, *args, **kwargs)

    outbox._dispatch_channel = wrapped
    return profiles


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def sender_only(url: str, queued: list[NewItem], control: Connection) -> None:
    sender = SmtpSender(url, MAIL_FROM)
    control.send("start")
    started, busy = time.perf_counter(), time.process_time()
    for item in queued:
        sender.send(item.key, item.payload)
    sender.close()
    seconds, busy = time.perf_counter() - started, time.process_time() - busy
    print(
        f"{len(queued):,} emails through one SmtpSender, no outbox, in {seconds:.2f} s: "
        f"{len(queued) / seconds:,.0f} messages/s; CPU per message: "
        f"{busy / len(queued) * 1000:.2f} ms publishing"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000, help="how many to queue")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--channels", type=int, default=6, help="how many email channels")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the delivery")
    parser.add_argument(
        "--sender-only",
        action="store_true",
        help="for comparison: the same emails through one SmtpSender, without the outbox",
    )
    arguments = parser.parse_args()
    if not 1 <= arguments.messages <= MAX_MESSAGES:
        sys.exit(f"--messages must be from 1 to {MAX_MESSAGES:,}")

    queued = items(arguments.messages, arguments.channels)
    process, control, port = start_sink(sink)
    url = f"smtp://127.0.0.1:{port}"
    if arguments.sender_only:
        try:
            sender_only(url, queued, control)
        finally:
            control.send("stop")
            print(f"the sink got {control.recv()[0]:,} messages")
            process.join()
        return
    passes = 0
    try:
        with database(arguments.database) as engine:
            with engine.begin() as conn:
                enqueue(conn, queued, utc_now())
            profiles = profiled(arguments.profile) if arguments.profile else None
            control.send("start")
            started, busy = time.perf_counter(), time.process_time()
            while time.perf_counter() - started < TIME_LIMIT_S:
                passes += 1
                dispatch(engine, {"email": lambda: SmtpSender(url, MAIL_FROM)}, utc_now)
                with engine.connect() as conn:
                    left = backlog(conn)
                if left["queued"] == left["sending"] == 0:
                    break
            seconds, busy = time.perf_counter() - started, time.process_time() - busy
            if profiles is not None:
                stats = pstats.Stats(*profiles)
                stats.dump_stats(arguments.profile)
    finally:
        control.send("stop")
        received, connections, ids, sink_busy = control.recv()
        process.join()
    expected = {item.payload["message_id"].encode() for item in queued}
    twice = sum(1 for found, times in ids.items() if found in expected and times > 1)
    missing = len(expected - ids.keys())
    stray = len(ids.keys() - expected)
    if left["sent"] != arguments.messages or twice or missing or stray:
        sys.exit(
            f"outbox {left}; the sink got {received} messages: {missing} missing, "
            f"{twice} more than once, {stray} unexpected"
        )
    print(
        f"{arguments.messages:,} queued emails delivered in {seconds:.2f} s on "
        f"{arguments.database}: {arguments.messages / seconds:,.0f} messages/s over "
        f"{connections} SMTP connection(s), {passes} dispatch pass(es), "
        f"{arguments.channels} channels; each Message-ID arrived exactly once "
        f"({os.cpu_count()} CPU cores; the sink in its own process)\n"
        f"CPU per message: {busy / arguments.messages * 1000:.2f} ms publishing, "
        f"{sink_busy / arguments.messages * 1000:.2f} ms in the sink; "
        f"load average {os.getloadavg()[0]:.1f} at the end"
    )


if __name__ == "__main__":
    main()

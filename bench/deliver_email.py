"""Benchmark: 10,000 composed emails through one SmtpSender to a local SMTP sink (target:
at least 200 messages a second, over one reused connection).

Run by hand with `.venv/bin/python -m bench.deliver_email`; record the result in
docs/performance.md. The sink is aiosmtpd on 127.0.0.1 in a process of its own, as a real
mail server would be, so the figure is the publisher's side: composing and sending.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from publisher.delivery.email import SmtpSender
from publisher.delivery.outcome import Result

CALENDAR = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nMETHOD:PUBLISH\r\n"
    "BEGIN:VEVENT\r\nUID:event-{n}@example.org\r\nDTSTAMP:20261123T093000Z\r\n"
    "DTSTART;VALUE=DATE:20270115\r\nSUMMARY:Market event: home care\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)
TEXT = (
    "Leeds City Council plans to buy home care for adults in Leeds.\n"
    "Tender opens: March 2027 (about). Value: about £2 million over 3 years.\n"
    "Read the notice: https://publisher.example.org/leeds/opportunities/home-care/\n"
) * 6


class CountingSink:
    """Accepts every message and only counts messages and connections."""

    def __init__(self) -> None:
        self.messages = 0
        self.peers: set[object] = set()

    async def handle_EHLO(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: Any
    ) -> Any:
        self.peers.add(session.peer)
        session.host_name = hostname  # what aiosmtpd does itself when there is no hook
        return responses

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.messages += 1
        return "250 OK"


def payload(n: int) -> dict[str, Any]:
    return {
        "to": ["bulletin-editor@example.org", "website@example.org"],
        "subject": f"New opportunity {n}: Home care in Leeds",
        "text": TEXT,
        "html": "".join(f"<p>{line}</p>\n" for line in TEXT.splitlines()),
        "message_id": f"<bench-{n}@forward-plan-publisher>",
        "list_id": "Leeds CVS bulletin <bulletin.leeds-cvs.publisher>",
        "settings_url": "https://publisher.example.org/channels/leeds-cvs/bulletin",
        "attachments": [
            {"filename": "event.ics", "content_type": "text/calendar", "text": CALENDAR.format(n=n)}
        ],
    }


def sink(port: int, control: Connection) -> None:
    """Runs in the sink's process: serve until told to stop, then report the counts."""
    counter = CountingSink()
    controller = Controller(counter, hostname="127.0.0.1", port=port)
    controller.start()
    control.send("ready")
    control.recv()
    controller.stop()
    control.send((counter.messages, len(counter.peers)))


def start_sink(
    target: Callable[[int, Connection], None],
) -> tuple[multiprocessing.process.BaseProcess, Connection, int]:
    """The SMTP sink `target` in a process of its own on a free loopback port, ready: the
    process, the pipe to talk to it, and its port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    context = multiprocessing.get_context("spawn")
    control, remote = context.Pipe()
    process = context.Process(target=target, args=(port, remote))
    process.start()
    control.recv()
    return process, control, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000, help="how many to send")
    arguments = parser.parse_args()

    process, control, port = start_sink(sink)
    sender = SmtpSender(f"smtp://127.0.0.1:{port}", "Forward plan publisher <p@example.org>")
    payloads = [payload(n) for n in range(arguments.messages)]
    try:
        started = time.perf_counter()
        outcomes = [sender.send(f"key-{n}", item) for n, item in enumerate(payloads)]
        sender.close()
        seconds = time.perf_counter() - started
    finally:
        control.send("stop")
        received, connections = control.recv()
        process.join()
    failed = [outcome for outcome in outcomes if outcome.result is not Result.SENT]
    if failed or received != arguments.messages:
        sys.exit(f"{len(failed)} not sent (first: {failed[:1]}); the sink got {received}")
    print(
        f"{arguments.messages:,} messages in {seconds:.2f} s: "
        f"{arguments.messages / seconds:,.0f} messages/s over {connections} connection(s), "
        f"each composed and sent ({os.cpu_count()} CPU cores; the sink in its own process)"
    )


if __name__ == "__main__":
    main()

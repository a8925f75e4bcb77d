"""Benchmark: 10,000 confirmed email sign-ups with mixed filters (places, themes, funding)
and cadences (daily and weekly, both due on Monday at 08:00), a week of new opportunities,
then the Monday digest run to a local SMTP sink: every subscriber must get exactly one
digest, listing exactly the new opportunities its filter takes (target: 200 emails a second
or more, on SQLite).

Run by hand with `.venv/bin/python -m bench.subscribers`; record the result in
docs/performance.md. The sink is aiosmtpd on 127.0.0.1 in a process of its own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import secrets
import shutil
import sys
import tempfile
import time
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import insert

from bench.deliver_email import start_sink
from publisher.delivery import channels, notify, signup_mail, signups
from publisher.delivery.database import ADOPT, channel_state, connect, create_or_upgrade
from publisher.delivery.database import signups as signups_table
from publisher.delivery.signup_tokens import Signer
from publisher.model.read import load_site
from publisher.plans.dates import LONDON
from publisher.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SUNDAY = dt.datetime(2026, 11, 29, 10, 0, tzinfo=LONDON).astimezone(dt.UTC)
MONDAY = dt.datetime(2026, 11, 30, 8, 0, tzinfo=LONDON).astimezone(dt.UTC)
TITLE = re.compile(r"Bench opportunity (\d+)\b")
PLACES = ["leeds", "calderdale", "kirklees", "wakefield", "bradford-district-and-craven",
          "harehills", "halifax", "huddersfield"]  # fmt: skip
THEMES = ["mental-health", "loneliness", "carers", "children-and-young-people", "older-people"]
FUNDING = ["grant", "contract", "grant-programme"]


class RecordingSink:
    """Keeps each message as it came, to be read once the run is over (reading it here
    would slow the sink's answers, and so the run)."""

    def __init__(self) -> None:
        self.raw: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.raw.append((list(envelope.rcpt_tos), envelope.original_content or b""))
        return "250 OK"


def listed(raw: bytes) -> list[int]:
    """The numbers of the bench opportunities a message lists."""
    message = message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    return sorted({int(n) for n in TITLE.findall(text)})


def sink(port: int, control: Connection) -> None:
    recorder = RecordingSink()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    control.send("ready")
    control.recv()
    controller.stop()
    got: dict[str, list[list[int]]] = {}
    for recipients, raw in recorder.raw:
        for to in recipients:
            got.setdefault(to, []).append(listed(raw))
    control.send(got)


def week_of_plans(plans: Path, count: int, rng: random.Random) -> None:
    """A plan file of `count` new opportunities; the first is for all of West Yorkshire,
    every theme and undecided funding, so that every filter takes at least one."""
    lines = [
        "schema: 1",
        "commissioner:",
        "  id: bench-borough",
        "  name: Bench Borough Council",
        "  kind: council",
        "  website: https://example.org/bench",
        "  contact: {name: Grants team, email: grants@example.org}",
        "opportunities:",
    ]
    for n in range(count):
        place = "west-yorkshire" if n == 0 else rng.choice(PLACES)
        themes = THEMES if n == 0 else rng.sample(THEMES, 2)
        funding = "undecided" if n == 0 else rng.choice(FUNDING)
        route = "undecided" if funding == "undecided" else (
            "open-grant-round" if funding != "contract" else "open"
        )  # fmt: skip
        lines += [
            f"  - id: bench-{n}",
            f"    title: Bench opportunity {n} for groups",
            "    summary: >-",
            "      Money for groups that bring people together each week.",
            "    status: planning",
            f"    places: [{place}]",
            f"    themes: [{', '.join(themes)}]",
            f"    funding: {funding}",
            f"    route: {route}",
            f"    value: {{total: {rng.randrange(10, 500) * 1000}}}",
            "    unknown:",
            "      tender_opens: Not set yet.",
            "      service_starts: Not set yet.",
            "      duration: Not set yet.",
        ]
    (plans / "bench-borough.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def add_signups(engine: Any, count: int, rng: random.Random) -> None:
    rows = []
    for n in range(count):
        choice = {
            "place": sorted(rng.sample(PLACES, rng.randrange(0, 3))),
            "theme": sorted(rng.sample(THEMES, rng.randrange(0, 3))),
            "funding": sorted(rng.sample(FUNDING, rng.randrange(0, 2))),
        }
        rows.append(
            {"uid": secrets.token_hex(8), "address": f"s{n}@example.org",
             "choice": json.dumps(choice, sort_keys=True),
             "cadence": rng.choice(["daily", "weekly"]),
             "state": "confirmed", "reason": "", "created_at": SUNDAY, "updated_at": SUNDAY,
             "confirmed_at": SUNDAY, "mailed_at": SUNDAY, "mailings": 1}
        )  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(signups_table), rows)
        # Adopted without a welcome: the benchmark is about the digest.
        conn.execute(insert(channel_state).values(channel=ADOPT, filter="{}", since=SUNDAY))


def monday(plans: Path, settings: Settings, engine: Any) -> notify.NotifyReport:
    if os.environ.get("BENCH_PROFILE"):
        import cProfile  # noqa: PLC0415
        import pstats  # noqa: PLC0415

        with cProfile.Profile() as profile:
            report = notify.run_pass(plans, settings, lambda: MONDAY, engine=engine)
        pstats.Stats(profile).sort_stats(os.environ.get("BENCH_PROFILE", "cumulative")).print_stats(
            35
        )
        return report
    return notify.run_pass(plans, settings, lambda: MONDAY, engine=engine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--opportunities", type=int, default=12)
    arguments = parser.parse_args()
    rng = random.Random(20)
    work = Path(tempfile.mkdtemp(prefix="bench-subscribers-"))
    process, control, port = start_sink(sink)
    try:
        plans = work / "plans"
        shutil.copytree(ROOT / "plans", plans, ignore=shutil.ignore_patterns("channels"))
        settings = Settings(
            database_url=f"sqlite:///{work / 'publisher.db'}",
            smtp_url=f"smtp://127.0.0.1:{port}",
            base_url="https://plans.example.org/",
            mail_from="Alerts <alerts@example.org>",
        )
        engine = connect(settings.database_url)
        create_or_upgrade(engine)
        notify.run_pass(plans, settings, lambda: SUNDAY - dt.timedelta(hours=1), engine=engine)
        add_signups(engine, arguments.subscribers, rng)
        week_of_plans(plans, arguments.opportunities, rng)
        notify.run_pass(plans, settings, lambda: SUNDAY, engine=engine)  # put aside for Monday

        started, cpu, own = time.perf_counter(), time.process_time(), time.thread_time()
        report = monday(plans, settings, engine)
        sent = report.dispatch.sent if report.dispatch else 0
        while sent < len(report.queued):  # a pass stops starting sends after 2 minutes
            more = notify.run_pass(plans, settings, lambda: MONDAY, engine=engine).dispatch
            if more is None or more.sent == 0:
                break
            sent += more.sent
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
        # The pass's own thread reads, composes and queues; the outbox's threads send.
        own = time.thread_time() - own
    finally:
        control.send("stop")
        got: dict[str, list[list[int]]] = control.recv()
        process.join()

    site, _ = load_site(plans, MONDAY.astimezone(LONDON).date(), settings.base_url)
    new = [v for v in site.opportunities if v.commissioner.id == "bench-borough"]
    links = signup_mail.Links(settings.base_url, Signer("x"), MONDAY)
    with engine.connect() as conn:
        everyone = signups.confirmed(conn)
    wrong = []
    for one in everyone:
        wanted = signup_mail.subscriber(one, settings, links)
        expected = sorted(int(v.item.id.split("-")[1]) for v in new if channels.wants(wanted, v))
        if got.get(one.address) != [expected]:
            wrong.append((one.address, expected, got.get(one.address)))
    shutil.rmtree(work)
    if wrong:
        sys.exit(f"{len(wrong)} of {len(everyone)} subscribers got the wrong digests: {wrong[:3]}")
    emails = sum(len(messages) for messages in got.values())
    print(
        f"{len(everyone):,} subscribers, {emails:,} digests, each correct: {seconds:.1f} s to "
        f"compose, queue and send them: {emails / seconds:,.0f} emails/s on SQLite "
        f"({os.cpu_count()} CPU cores; the sink in its own process); the publisher's CPU "
        f"time {cpu:.1f} s, {1000 * cpu / emails:.1f} ms an email: {1000 * own / emails:.1f} "
        f"ms reading, composing and queueing, {1000 * (cpu - own) / emails:.1f} ms sending "
        f"(load average {os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()

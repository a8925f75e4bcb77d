"""The scheduler of `publisher run` reads the bounce mailbox in its notify pass, and
/healthz's details give what it found as counts, never an address."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from publisher.delivery import signups
from publisher.service.scheduler import Service
from publisher.service.signup_pages import Signups
from tests.delivery.receivers import (  # noqa: F401 (fixtures, found by pytest by name)
    SmtpServer,
    smtp_server_fixture,
    start_smtp_server_fixture,
)
from tests.delivery.test_bounces import exim_delay, exim_failure, maildir
from tests.service.test_run import Plans

START = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def test_the_scheduler_reads_bounces_and_healthz_counts_them(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    folder = tmp_path / "bounces"
    maildir(folder)
    state = Plans(tmp_path, smtp_server, bounce_mailbox=str(folder))
    with state.engine.begin() as conn:
        jo = signups.ask(conn, "jo@example.org", {}, "weekly", START, dt.timedelta(hours=72))
        assert signups.confirm(conn, jo.signup.uid, START) is not None
    service = Service(state.folder, tmp_path / "feeds", state.settings, state.engine,
                      clock=lambda: START)  # fmt: skip
    try:
        maildir(folder, exim_failure("jo@example.org"), exim_delay("kim@example.org"))
        assert service.sync() and service.notify()
        health = Signups(state.engine, state.settings).health(service.health)()
    finally:
        service.stop()
    assert health["bounces"] == {
        "last_read": {"read": 2, "suspended": 1, "delays": 1, "not_bounces": 0,
                      "unmatched": 0, "skipped": 0, "problem": ""},
        "suspended_after_a_bounce": 1,
    }  # fmt: skip
    assert health["subscribers"]["suspended"] == 1
    assert "@example.org" not in json.dumps(health)

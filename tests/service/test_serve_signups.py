"""`publisher serve` (the web-only replicas of docs/operations.md) takes email sign-ups when
DATABASE_URL names the database the scheduler uses: the real command, against PostgreSQL,
a sign-up through HTTP with its CSRF token, the confirmation queued in the outbox and sent
through a real SMTP server when the scheduler's pass runs. Without a database, the sign-up
pages say plainly that sign-ups are not taken there, and point to the feeds."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from publisher.delivery import bounces, notify, signups
from publisher.delivery.database import connect, create_or_upgrade
from publisher.delivery.database import outbox as outbox_table
from publisher.settings import Settings
from tests.delivery.receivers import (  # noqa: F401 (fixtures, found by pytest by name)
    SmtpServer,
    smtp_server_fixture,
    start_smtp_server_fixture,
)
from tests.service.conftest import PLANS, Site
from tests.service.test_signups import form_post, link

WAIT_SECONDS = 20


@contextmanager
def serve(site: Site, cwd: Path, **env: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`publisher serve` as a deployer runs it, with only `env` of the publisher's settings
    (none from this machine's environment or a publisher.toml), until SIGTERM."""
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("PUBLISHER_", "DATABASE_URL", "SMTP_URL"))}  # fmt: skip
    command = [sys.executable, "-m", "publisher", "serve", "--port", "0",
               "--site", str(site.folder), "--plans", str(PLANS)]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
        env={**clean, **env},
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"at (http://127\.0\.0\.1:\d+/)", line)
        assert found, f"no line saying where it listens: {line!r}"
        deadline = time.monotonic() + WAIT_SECONDS
        while True:  # it says where before it listens
            try:
                httpx.get(found[1] + "healthz", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "publisher serve did not start listening"
                time.sleep(0.1)
        yield found[1], process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=WAIT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_serve_takes_sign_ups_whose_confirmation_the_scheduler_sends(
    site: Site, tmp_path: Path, postgresql_url: str, smtp_server: SmtpServer
) -> None:
    engine = connect(postgresql_url)
    create_or_upgrade(engine)
    address = f"replica-{os.getpid()}@example.org"
    with serve(site, tmp_path, DATABASE_URL=postgresql_url) as (url, process):
        with httpx.Client(base_url=url, timeout=30) as client:
            assert "Sign up for email alerts" in client.get("subscribe").text
            sent = form_post(client, "subscribe/email?place=leeds",
                             [("email", address), ("cadence", "weekly")])  # fmt: skip
            assert sent.status_code == 200 and "Check your email" in sent.text
            # No CSRF token: refused, on a replica as anywhere.
            forged = client.post("subscribe/email", data={"email": "x@example.org"})
            assert forged.status_code == 403
            # The web replica sends nothing itself: the confirmation waits in the outbox.
            with engine.connect() as conn:
                found = signups.by_address(conn, address)
                assert found is not None and found.state is signups.SignupState.UNCONFIRMED
                waiting = conn.execute(
                    select(outbox_table.c.state, outbox_table.c.channel).where(
                        outbox_table.c.key.startswith(found.channel + "|", autoescape=True)
                    )
                ).all()
            assert [tuple(row) for row in waiting] == [("queued", signups.OUTBOX_CHANNEL)]
            assert smtp_server.messages == []

            # The scheduler (`publisher run` elsewhere, on the same database) runs its pass.
            plans = tmp_path / "plans"
            shutil.copytree(PLANS, plans, ignore=shutil.ignore_patterns("channels"))
            settings = Settings(database_url=postgresql_url, smtp_url=smtp_server.url(),
                                base_url=url, mail_from="alerts@example.org")  # fmt: skip
            notify.run_pass(plans, settings, lambda: dt.datetime.now(dt.UTC), engine=engine)
            (confirmation,) = [m for m in smtp_server.messages if m["To"] == address]
            confirm = link(confirmation, "subscribe/confirm")
            assert confirm.startswith(url)  # the replica's own address, where it was asked

            page = client.get(confirm)
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
            token = re.search(r'name="t" value="([^"]+)"', page.text)
            assert csrf and token, page.text
            done = client.post("subscribe/confirm", data={"csrf": csrf[1], "t": token[1]})
            assert done.status_code == 200 and "Your email alerts have started" in done.text
            health = client.get("healthz").json()
            assert health["subscribers"]["confirmed"] >= 1
            with engine.connect() as conn:  # counts, from the shared database
                after = bounces.suspended_after_bounces(conn)
            assert health["bounces"] == {"suspended_after_a_bounce": after}
            assert address not in client.get("healthz").text
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=WAIT_SECONDS) == 0
        assert process.stderr is not None
        said = process.stderr.read()
        assert "Traceback" not in said and "DATABASE_URL is not set" not in said
    with engine.connect() as conn:
        found = signups.by_address(conn, address)
        assert found is not None and found.state is signups.SignupState.CONFIRMED
    engine.dispose()


def test_serve_without_a_database_says_sign_ups_are_not_taken_here(
    site: Site, tmp_path: Path
) -> None:
    with serve(site, tmp_path) as (url, process):
        with httpx.Client(base_url=url, timeout=30) as client:
            for path in ("subscribe/email?place=leeds", "subscribe/manage?t=x"):
                page = client.get(path)
                assert page.status_code == 404
                assert "Email alerts are not available here" in page.text
                assert 'href="/subscribe"' in page.text  # the feeds and calendars
            posted = client.post("subscribe/unsubscribe?t=x")
            assert posted.status_code == 404 and "not available here" in posted.text
            subscribe = client.get("subscribe")
            assert subscribe.status_code == 200
            assert "Sign up for email alerts" not in subscribe.text
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=WAIT_SECONDS) == 0
        assert process.stderr is not None
        said = process.stderr.read()
        assert "DATABASE_URL is not set, so email sign-ups are not taken here" in said
        assert "Traceback" not in said
    assert not (tmp_path / "publisher.db").exists()  # no database made behind its back


def test_serve_with_a_database_it_cannot_open_says_so(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "publisher", "serve", "--port", "0", "--site", str(site.folder)],
        capture_output=True, text=True, cwd=tmp_path, timeout=60, check=False,
        env={**os.environ, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"},
    )  # fmt: skip
    assert done.returncode == 1
    assert "publisher serve: cannot open the database" in done.stderr
    assert "Traceback" not in done.stderr

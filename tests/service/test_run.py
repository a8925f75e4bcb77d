"""`publisher run` as one process: the real app on loopback with the scheduler, a real SMTP
server, the plans on disk. A plan edit shows up without a restart; a second instance does
not double-send; a reminder missed while the service was down is sent once when it is back.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import hmac
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml
from sqlalchemy import Engine

from publisher.delivery.database import connect, create_or_upgrade
from publisher.service.run import application
from publisher.service.scheduler import Service
from publisher.settings import Settings
from tests.changes.gitplans import BASE_OPPORTUNITY, EXAMPLES, PlanRepo
from tests.delivery.receivers import (  # noqa: F401 (fixtures, found by pytest by name)
    SmtpServer,
    smtp_server_fixture,
    start_smtp_server_fixture,
)
from tests.service.server import free_socket, serving

LONDON = ZoneInfo("Europe/London")
HOOK_SECRET = "push-secret"
WAIT = 60.0  # seconds: a build runs as its own process


def wait_for(what: Callable[[], bool], why: str) -> None:
    deadline = time.monotonic() + WAIT
    while not what():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {why}")
        time.sleep(0.05)


class Plans:
    def __init__(
        self, root: Path, smtp: SmtpServer, engine: Engine | None = None, **settings: Any
    ) -> None:
        self.root = root
        self.folder = root / "plans"
        (self.folder / "channels").mkdir(parents=True)
        for name in ("places.yaml", "themes.yaml"):
            shutil.copy(EXAMPLES / name, self.folder / name)
        self.opportunities: list[dict[str, Any]] = [copy.deepcopy(BASE_OPPORTUNITY)]
        channels = {
            "schema": 1,
            "organisation": {"id": "leeds-cvs", "name": "Leeds CVS"},
            "channels": [
                {"id": "bulletin", "kind": "email", "to": ["bulletin@leeds-cvs.org.uk"],
                 "reminders": ["2w"], "closing_reminders": [], "event_reminders": []},
            ],
        }  # fmt: skip
        (self.folder / "channels" / "leeds-cvs.yaml").write_text(yaml.safe_dump(channels))
        self.settings = Settings(
            database_url=f"sqlite:///{root / 'publisher.db'}",
            smtp_url=smtp.url(),
            base_url="http://127.0.0.1/",
            hook_secret=HOOK_SECRET,
            maildir=root / "mail",
            **settings,
        )
        self.engine = engine or connect(self.settings.database_url)
        create_or_upgrade(self.engine)
        self.write()

    def write(self) -> None:
        plan = {
            "schema": 1,
            "commissioner": {"id": "leeds-city-council", "name": "Leeds City Council",
                             "kind": "council"},
            "opportunities": self.opportunities,
        }  # fmt: skip
        (self.folder / "leeds-city-council.yaml").write_text(yaml.safe_dump(plan, sort_keys=False))

    def service(self, clock: Callable[[], dt.datetime] | None = None, **options: Any) -> Service:
        return Service(
            self.folder,
            self.root / "feeds",
            self.settings,
            self.engine,
            clock=clock or (lambda: dt.datetime.now(dt.UTC)),
            every=dt.timedelta(hours=1),
            sync_every=dt.timedelta(hours=1),
            **options,
        )


@pytest.fixture
def plans(tmp_path: Path, smtp_server: SmtpServer) -> Plans:
    return Plans(tmp_path, smtp_server)


@pytest.fixture
def running(plans: Plans) -> Iterator[tuple[Service, str]]:
    service = plans.service()
    service.start()
    try:
        with serving(free_socket(), lambda url: application(
            service, plans.folder, plans.root / "feeds", plans.settings
        )) as served:  # fmt: skip
            yield service, served.url
    finally:
        service.stop()


def signed(body: bytes, secret: str = HOOK_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}"}


def test_a_plan_edit_reaches_the_feeds_and_the_outbox_without_a_restart(
    plans: Plans, running: tuple[Service, str], smtp_server: SmtpServer
) -> None:
    service, url = running
    wait_for(lambda: service.state.last_pass is not None, "the first build and pass are done")
    with httpx.Client(base_url=url, timeout=10) as web:
        assert "Social prescribing" in web.get("/all.rss").text
        health = web.get("/healthz").json()
        assert health["scheduler"]["role"] == "active" and "outbox" in health
        plans.opportunities.append(
            {**BASE_OPPORTUNITY, "id": "lunch-clubs", "title": "Lunch clubs for older people"}
        )
        plans.write()
        body = b'{"ref": "refs/heads/main"}'
        assert (
            web.post("/hooks/plans", content=body, headers=signed(body, "wrong")).status_code == 403
        )
        assert web.post("/hooks/plans", content=body, headers=signed(body)).status_code == 202
        wait_for(lambda: "Lunch clubs" in web.get("/all.rss").text, "the feed has the new one")
        wait_for(
            lambda: any("Lunch clubs" in str(m["Subject"]) for m in smtp_server.messages),
            "the new opportunity was emailed",
        )
        filtered = web.get("/feeds", params={"place": "leeds", "format": "rss"})
        assert filtered.status_code == 200 and "Lunch clubs" in filtered.text


def test_a_second_instance_serves_but_does_not_send(
    plans: Plans, running: tuple[Service, str], smtp_server: SmtpServer
) -> None:
    first, _ = running
    wait_for(lambda: first.state.last_pass is not None, "the first pass is done")
    second = plans.service()
    assert second.sync(force=True) is False and second.state.role == "standby"
    plans.opportunities[0]["value"] = {"total": 80000}
    plans.write()
    second.notify()
    assert smtp_server.messages == []
    assert first.sync() is True  # the new site asks the first one's notify worker for a pass
    wait_for(lambda: len(smtp_server.messages) > 0, "the change was emailed")
    assert [str(m["Subject"]) for m in smtp_server.messages] == [
        "Changed: Social prescribing link workers in Leeds"
    ]
    first.stop()  # the first one stops: the second takes over on its next turn
    assert second.sync() is True and second.state.role == "active"
    second.lock.release()


def test_a_reminder_missed_while_down_is_sent_once_when_back(
    plans: Plans, smtp_server: SmtpServer
) -> None:
    plans.opportunities[0]["dates"]["tender_opens"] = "2027-03-15"  # 2 weeks before: 1 March
    plans.write()
    before = plans.service(lambda: dt.datetime(2027, 2, 20, 9, tzinfo=LONDON))
    assert before.sync(force=True) is True
    assert before.notify() is True
    before.lock.release()
    assert smtp_server.messages == []
    # Down from 20 February to 3 March: the reminder fell due on 1 March.
    back = plans.service(lambda: dt.datetime(2027, 3, 3, 9, tzinfo=LONDON))
    back.start()
    try:
        wait_for(lambda: back.state.last_pass is not None, "the catch-up pass is done")
        back.notify()
        back.notify()
    finally:
        back.stop()
    assert [str(m["Subject"]) for m in smtp_server.messages] == [
        "Reminder: Tender opens on 15 March 2027: Social prescribing link workers in Leeds"
    ]


def test_a_clone_with_a_remote_is_pulled(tmp_path: Path, smtp_server: SmtpServer) -> None:
    """The plans repository is pushed to; the service's clone pulls and rebuilds."""
    origin = PlanRepo(tmp_path / "origin")
    origin.commit("2026-05-01", "first plan")
    clone = tmp_path / "service"
    subprocess.run(["git", "clone", "-q", str(origin.root), str(clone)], check=True)
    plans = Plans(tmp_path / "state", smtp_server)
    service = Service(clone / "plans", tmp_path / "feeds", plans.settings, plans.engine,
                      every=dt.timedelta(hours=1), sync_every=dt.timedelta(hours=1))  # fmt: skip
    assert service.sync() is True
    assert "Lunch clubs" not in (tmp_path / "feeds" / "all.rss").read_text()
    assert service.sync() is False  # nothing new upstream: nothing rebuilt
    origin.opportunities.append(
        {**BASE_OPPORTUNITY, "id": "lunch-clubs", "title": "Lunch clubs for older people"}
    )
    origin.commit("2026-05-02", "a new opportunity")
    assert service.sync() is True
    assert "Lunch clubs" in (tmp_path / "feeds" / "all.rss").read_text()
    service.lock.release()

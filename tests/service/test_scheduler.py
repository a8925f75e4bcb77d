"""The scheduler's work always runs or says why: a pass never waits behind a sync, a hook
during a sync causes one more, a failed or killed build announces nothing and is tried
again, a lost lock stops the instance, and /healthz says what is wrong. Real builds (as
processes), a real SMTP server, SQLite and PostgreSQL; the clock is injected."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, insert

from publisher.builder.site import build
from publisher.delivery.database import outbox as outbox_table
from publisher.service.run import application
from publisher.service.scheduler import Service
from publisher.service.web import create_app
from publisher.service.worker import Worker
from tests.changes.gitplans import BASE_OPPORTUNITY, PlanRepo
from tests.delivery.receivers import (  # noqa: F401 (fixtures, found by pytest by name)
    SmtpServer,
    smtp_server_fixture,
    start_smtp_server_fixture,
)
from tests.formats.examples import TODAY
from tests.service.conftest import PLANS
from tests.service.server import free_socket, serving
from tests.service.test_lock import terminate_holder, wait_until
from tests.service.test_run import WAIT, Plans, signed, wait_for

START = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


class Clock:
    """A clock the test moves."""

    def __init__(self, now: dt.datetime = START) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def plans(tmp_path: Path, smtp_server: SmtpServer) -> Plans:
    return Plans(tmp_path, smtp_server)


def subjects(smtp: SmtpServer) -> list[str]:
    return [str(m["Subject"]) for m in smtp.messages]


# --- the workers ------------------------------------------------------------------------


def test_a_request_while_the_work_runs_runs_it_exactly_once_more() -> None:
    entered, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def work() -> None:
        calls.append(1)
        entered.set()
        release.wait(WAIT)

    worker = Worker("test", "the test work", work)
    worker.start()
    try:
        worker.request("first")
        assert entered.wait(WAIT)
        for why in ("second", "third", "fourth"):  # all while the first runs
            worker.request(why)
        release.set()
        assert worker.wait_idle(WAIT)
        assert len(calls) == 2 and worker.runs == 2
    finally:
        release.set()
        assert worker.stop(WAIT)


def test_stopping_waits_for_the_work_in_progress_only_so_long() -> None:
    release = threading.Event()
    worker = Worker("test", "the test work", lambda: release.wait(WAIT))
    worker.start()
    worker.request("go")
    wait_until(lambda: worker.running_since is not None, "the work started")
    assert worker.stop(0.1) is False  # still in its work: abandoned, not waited for
    release.set()
    assert worker.stop(WAIT)


# --- a sync in progress holds up nothing else -------------------------------------------


class SlowBuild(Service):
    """A build that, once the site is built, waits for the test: a sync that takes long."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.gate = threading.Event()
        self.gate.set()
        self.waiting = threading.Event()

    def _build(self, plans: str) -> bool:
        built = super()._build(plans)
        if not self.gate.is_set():
            self.waiting.set()
            self.gate.wait(WAIT)
        return built


@pytest.fixture
def slow(plans: Plans) -> Iterator[tuple[SlowBuild, str]]:
    service = SlowBuild(
        plans.folder, plans.root / "feeds", plans.settings, plans.engine,
        every=dt.timedelta(hours=1), sync_every=dt.timedelta(hours=1),
    )  # fmt: skip
    service.start()
    try:
        with serving(free_socket(), lambda url: application(
            service, plans.folder, plans.root / "feeds", plans.settings
        )) as served:  # fmt: skip
            wait_for(lambda: service.state.last_pass is not None, "the first build and pass")
            yield service, served.url
    finally:
        service.gate.set()
        service.stop()


def test_a_hook_during_a_sync_causes_exactly_one_more_sync(
    plans: Plans, slow: tuple[SlowBuild, str]
) -> None:
    service, url = slow
    body = b'{"ref": "refs/heads/main"}'
    runs = service.syncer.runs
    service.gate.clear()
    with httpx.Client(base_url=url, timeout=10) as web:
        plans.opportunities.append({**BASE_OPPORTUNITY, "id": "one", "title": "First push"})
        plans.write()
        assert web.post("/hooks/plans", content=body, headers=signed(body)).status_code == 202
        assert service.waiting.wait(WAIT), "the first push's build did not run"
        # Two more pushes land while that sync is still going.
        plans.opportunities.append({**BASE_OPPORTUNITY, "id": "two", "title": "Second push"})
        plans.write()
        for _ in range(2):
            assert web.post("/hooks/plans", content=body, headers=signed(body)).status_code == 202
        service.gate.set()
        wait_for(lambda: "Second push" in web.get("/all.rss").text, "the second push is published")
    assert service.syncer.wait_idle(WAIT)
    assert service.syncer.runs == runs + 2


def test_a_notify_pass_does_not_wait_for_a_sync(plans: Plans, slow: tuple[SlowBuild, str]) -> None:
    service, _ = slow
    service.gate.clear()
    plans.opportunities.append({**BASE_OPPORTUNITY, "id": "one", "title": "Slow build"})
    plans.write()
    service.request_sync("the test")
    assert service.waiting.wait(WAIT)
    passes = service.notifier.runs
    service.notifier.request("the regular pass")  # due while the build is still going
    wait_for(lambda: service.notifier.runs > passes, "the pass ran beside the sync")
    assert service.state.last_pass_result.startswith("the plans differ from the published site")
    assert service.syncer.running_since is not None  # the sync is still in progress
    service.gate.set()


# --- builds that fail -------------------------------------------------------------------


def test_a_failed_build_announces_nothing_and_is_tried_again_after_a_wait(
    plans: Plans, smtp_server: SmtpServer
) -> None:
    clock = Clock()
    service = plans.service(clock)
    try:
        assert service.sync(force=True) and service.notify()
        assert service.health()["problems"] == []
        # Something in the way of the build's own folder, as a full disk would be.
        cache = plans.root / ".feeds.cache"
        shutil.rmtree(cache)
        cache.write_text("in the way")
        plans.opportunities.append({**BASE_OPPORTUNITY, "id": "new", "title": "Lunch clubs"})
        plans.write()
        assert service.sync() is False
        assert "could not write the site" in service.state.build_error
        assert service.health()["problems"] == ["the last build failed"]
        assert service.notify() is True
        assert smtp_server.messages == []  # its notice is not published: not announced
        assert service.sync() is False and service.state.build_failures == 1  # waits a minute
        clock.advance(minutes=1, seconds=1)
        assert service.sync() is False and service.state.build_failures == 2
        assert service.state.next_build_try == clock.now + dt.timedelta(minutes=2)
        cache.unlink()  # the space is freed; a push hook tries again without waiting
        service.syncer.start()
        service.request_sync("a push to the plans repository", retry_now=True)
        assert service.syncer.wait_idle(WAIT)
        assert service.state.build_failures == 0
        assert service.health()["problems"] == []
        assert "Lunch clubs" in (plans.root / "feeds" / "all.rss").read_text()
        assert service.notify() is True
        assert subjects(smtp_server) == ["New opportunity: Lunch clubs"]
    finally:
        service.stop()


def test_a_killed_build_is_an_error(plans: Plans) -> None:
    service = plans.service()
    killed: list[int] = []

    def kill_the_build() -> None:
        deadline = time.monotonic() + WAIT
        while not killed and time.monotonic() < deadline:
            for process in list(service.children._running):
                if isinstance(process.args, list) and "build" in process.args:  # not git
                    os.kill(process.pid, signal.SIGKILL)  # as the kernel's OOM killer would
                    killed.append(process.pid)
            time.sleep(0.002)

    killer = threading.Thread(target=kill_the_build)
    killer.start()
    try:
        assert service.sync(force=True) is False
    finally:
        killer.join(WAIT)
        service.stop()
    assert killed
    assert service.state.build_error == "it was killed by SIGKILL"
    assert not (plans.root / "feeds" / "index.html").exists()


# --- the lock ---------------------------------------------------------------------------


def test_an_instance_that_lost_the_lock_stops_building_and_sending(
    tmp_path: Path, database: Engine, smtp_server: SmtpServer
) -> None:
    """PostgreSQL: the holder's session is ended from outside. SQLite: the lock file is
    deleted. Either way a second instance takes the lock, and the first, asking before
    its next build and pass, finds it lost and does neither."""
    plans = Plans(tmp_path, smtp_server, engine=database)
    first, second = plans.service(), plans.service()
    try:
        assert first.sync(force=True) and first.notify()
        assert first.state.role == "active"
        if database.dialect.name == "postgresql":
            terminate_holder(database)
        else:
            (tmp_path / "publisher.db.scheduler.lock").unlink()
        wait_until(second.lock.acquire, "the second instance takes the lock")
        plans.opportunities[0]["value"] = {"total": 80000}
        plans.write()
        assert first.sync() is False and first.notify() is False
        assert first.state.role == "standby"
        assert "this instance lost the scheduler lock" in first.health()["problems"]
        assert smtp_server.messages == []
    finally:
        first.stop()
        second.stop()


# --- /healthz ---------------------------------------------------------------------------


def test_health_says_when_passes_stop_messages_stick_and_pulls_fail(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    origin = PlanRepo(tmp_path / "origin")
    origin.commit("2026-05-01", "first plan")
    clone = tmp_path / "service"
    subprocess.run(["git", "clone", "-q", str(origin.root), str(clone)], check=True)
    state = Plans(tmp_path / "state", smtp_server)
    clock = Clock()
    service = Service(clone / "plans", tmp_path / "feeds", state.settings, state.engine,
                      clock=clock, every=dt.timedelta(minutes=5))  # fmt: skip
    try:
        assert service.sync() and service.notify()
        assert service.health()["problems"] == []
        clock.advance(minutes=10, seconds=1)  # twice the pass's interval
        assert service.health()["problems"] == ["no notify pass has finished for 10 minutes"]
        assert service.notify()
        with state.engine.begin() as conn:
            conn.execute(insert(outbox_table).values(
                key="k", channel="c", kind="email", payload="{}", state="sending", attempts=1,
                next_attempt_at=clock.now, claimed_until=clock.now - dt.timedelta(seconds=1),
                last_error="", created_at=clock.now,
            ))  # fmt: skip
        assert service.health()["problems"] == [
            "1 outbox messages are stuck in sending past their lease"
        ]
        with state.engine.begin() as conn:
            conn.execute(outbox_table.delete())
        shutil.rmtree(origin.root)  # the remote is gone: every pull fails
        for _ in range(3):
            service.sync()
        assert service.health()["problems"] == ["git pull has failed 3 times in a row"]
        assert "git pull failed (3 in a row)" in service.state.errors[-1]
    finally:
        service.stop()


def test_health_details_go_only_to_local_or_authenticated_callers(
    plans: Plans, slow: tuple[SlowBuild, str]
) -> None:
    """Through a proxy on this machine (X-Forwarded-For), a caller is public: it gets a
    short reason with no folders or errors in it."""
    service, url = slow
    service.state.build_error = f"exit status 1: could not write {plans.root}/feeds"
    proxied = {"X-Forwarded-For": "203.0.113.7"}
    with httpx.Client(base_url=url, timeout=10) as web:
        public = web.get("/healthz", headers=proxied)
        assert public.status_code == 503
        assert public.text == "unavailable: the last build failed\n"
        assert public.headers["content-type"].startswith("text/plain")
        wrong = web.get("/healthz", headers={**proxied, "Authorization": "Bearer nope"})
        assert wrong.text == public.text
        token = web.get("/healthz", headers={**proxied, "Authorization": "Bearer push-secret"})
        local = web.get("/healthz")
        for detailed in (token, local):
            assert detailed.status_code == 503
            body = detailed.json()
            assert body["problems"] == ["the last build failed"]
            assert str(plans.root) in body["scheduler"]["build_error"]
        service.state.build_error = ""
        assert web.get("/healthz", headers=proxied).text == "ok\n"


def test_the_opportunity_count_follows_each_build(tmp_path: Path) -> None:
    """Nobody asks for a filtered feed in between: /healthz itself reads the new build."""
    plans = tmp_path / "plans"
    shutil.copytree(PLANS, plans)
    out = tmp_path / "feeds"
    build(plans, out, today=TODAY)
    with serving(free_socket(), lambda url: create_app(out, plans, url)) as served:
        assert httpx.get(served.url + "healthz", timeout=30).json()["opportunities"] == 49
        (plans / "leeds-city-council.yaml").unlink()
        build(plans, out, today=TODAY)
        after = httpx.get(served.url + "healthz", timeout=30).json()["opportunities"]
    assert after is not None and after < 49

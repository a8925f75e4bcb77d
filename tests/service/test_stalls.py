"""Nothing slow stalls the service: a webhook receiver that trickles its answer a byte at a
time holds up neither a plan change (hook, sync, build) nor SIGTERM, and `publisher run`
killed with SIGKILL takes its build with it. A real receiver on loopback, real
`publisher run` processes."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from bench.generate import generate
from publisher.delivery import notify, outbox
from publisher.service.run import application
from tests.changes.gitplans import BASE_OPPORTUNITY
from tests.delivery.receivers import (  # noqa: F401 (fixtures, found by pytest by name)
    HttpReceiver,
    Reply,
    SmtpServer,
    http_receiver_fixture,
    smtp_server_fixture,
    start_smtp_server_fixture,
)
from tests.service.server import free_socket, serving
from tests.service.test_lock import wait_until
from tests.service.test_run import HOOK_SECRET, WAIT, Plans, signed, wait_for

SECRET_ENV = "TRICKLE_SECRET"
SLOW_TIMEOUT = 120.0  # the webhook setting: far longer than any wait in these tests
STOP_WITHIN = 30.0  # seconds for `publisher run` to stop on SIGTERM (it allows itself 8)


class TrickleReceiver:
    """Reads a request, then answers one byte every 0.2 s until stopped: a per-read
    timeout never trips on it."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.open = 0  # connections being trickled to now
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(WAIT)
            try:
                conn.recv(65536)
                self.open += 1
                for byte in b"HTTP/1.1 200 OK\r\n" * 1000:
                    if self.stopped.wait(0.2):
                        break
                    conn.sendall(bytes([byte]))
            except OSError:
                pass
            finally:
                self.open -= 1

    def stop(self) -> None:
        self.stopped.set()
        self.server.close()


@pytest.fixture
def trickle() -> Iterator[TrickleReceiver]:
    receiver = TrickleReceiver()
    yield receiver
    receiver.stop()


def with_webhook(plans: Plans, url: str) -> None:
    channels = {
        "schema": 1,
        "organisation": {"id": "leeds-cvs", "name": "Leeds CVS"},
        "channels": [
            {"id": "site", "kind": "webhook", "url": url, "secret_env": SECRET_ENV,
             "reminders": [], "closing_reminders": [], "event_reminders": []},
        ],
    }  # fmt: skip
    (plans.folder / "channels" / "leeds-cvs.yaml").write_text(yaml.safe_dump(channels))


def slow_plans(root: Path, smtp: SmtpServer, receiver: TrickleReceiver) -> Plans:
    plans = Plans(root, smtp, allow_private_webhooks=True, webhook_timeout=SLOW_TIMEOUT)
    with_webhook(plans, receiver.url())
    return plans


def test_a_trickling_receiver_does_not_hold_up_a_plan_change(
    tmp_path: Path,
    smtp_server: SmtpServer,
    trickle: TrickleReceiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(SECRET_ENV, "a secret")
    plans = slow_plans(tmp_path, smtp_server, trickle)
    service = plans.service()
    service.start()
    body = b'{"ref": "refs/heads/main"}'
    try:
        with serving(free_socket(), lambda url: application(
            service, plans.folder, plans.root / "feeds", plans.settings
        )) as served, httpx.Client(base_url=served.url, timeout=10) as web:  # fmt: skip
            wait_for(lambda: service.state.last_pass is not None, "the first build and pass")
            plans.opportunities.append({**BASE_OPPORTUNITY, "id": "one", "title": "Announced"})
            plans.write()
            assert web.post("/hooks/plans", content=body, headers=signed(body)).status_code == 202
            wait_for(lambda: trickle.open > 0, "the pass is stuck on the trickling receiver")
            plans.opportunities.append({**BASE_OPPORTUNITY, "id": "two", "title": "Next change"})
            plans.write()
            started = time.monotonic()
            assert web.post("/hooks/plans", content=body, headers=signed(body)).status_code == 202
            wait_for(lambda: "Next change" in web.get("/all.rss").text, "the change is published")
            took = time.monotonic() - started
            # Published while the pass is still stuck: the sync and build did not wait for it.
            assert trickle.open > 0 and service.notifier.running_since is not None
            with capsys.disabled():
                print(f"\n  a plan change reached the feed in {took:.1f} s beside a stuck pass")
    finally:
        trickle.stop()
        service.stop()


def test_a_lock_lost_mid_pass_stops_the_sends_after_the_one_in_progress(
    tmp_path: Path,
    smtp_server: SmtpServer,
    http_receiver: HttpReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The active instance looks at its lock every few seconds, in the middle of a pass
    too: once it is lost (here the lock file is deleted and a second instance takes a new
    one), the pass sends nothing after the message in progress."""
    monkeypatch.setenv(SECRET_ENV, "a secret")
    plans = Plans(tmp_path, smtp_server, allow_private_webhooks=True, webhook_timeout=WAIT)
    with_webhook(plans, http_receiver.url())
    first, second = plans.service(), plans.service()
    first.start()
    try:
        wait_for(lambda: first.state.last_pass is not None, "the first build and pass")
        http_receiver.script(Reply(hang=WAIT))  # the first message waits for the test
        for name in ("one", "two"):
            plans.opportunities.append({**BASE_OPPORTUNITY, "id": name, "title": name})
        plans.write()
        first.request_sync("the test")
        wait_for(lambda: len(http_receiver.requests) == 1, "the first message is being sent")
        (tmp_path / "publisher.db.scheduler.lock").unlink()
        assert second.lock.acquire()
        wait_for(lambda: first.state.role == "standby", "the first instance notices")
        http_receiver.released.set()
        assert first.notifier.wait_idle(WAIT)
        assert len(http_receiver.requests) == 1
        with plans.engine.connect() as conn:
            assert len(outbox.list_items(conn, "queued")) == 1  # left for the active one
    finally:
        http_receiver.released.set()
        first.stop()
        second.stop()


# --- `publisher run` as a process -------------------------------------------------------


def environment(plans: Plans, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}
    env.update(
        DATABASE_URL=plans.settings.database_url,
        SMTP_URL=plans.settings.smtp_url or "",
        PUBLISHER_MAILDIR=str(plans.root / "mail"),
        PUBLISHER_HOOK_SECRET=HOOK_SECRET,
        **extra,
    )
    return env


def publisher_run(plans: Path, site: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "publisher", "run", "--host", "127.0.0.1", "--port", "0",
               "--plans", str(plans), "--site", str(site)]  # fmt: skip
    return subprocess.Popen(  # from the folder above the site: no publisher.toml there
        command, cwd=site.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip


def test_sigterm_stops_publisher_run_promptly_while_a_receiver_trickles(
    tmp_path: Path,
    smtp_server: SmtpServer,
    trickle: TrickleReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    plans = slow_plans(tmp_path, smtp_server, trickle)
    # A pass has recorded what is published; then a new opportunity is to be announced.
    notify.run_pass(
        plans.folder, plans.settings, lambda: dt.datetime.now(dt.UTC), engine=plans.engine
    )
    plans.opportunities.append({**BASE_OPPORTUNITY, "id": "one", "title": "Announced"})
    plans.opportunities.append({**BASE_OPPORTUNITY, "id": "two", "title": "Announced too"})
    plans.write()
    env = environment(
        plans, PUBLISHER_ALLOW_PRIVATE_WEBHOOKS="true",
        PUBLISHER_WEBHOOK_TIMEOUT=str(SLOW_TIMEOUT), **{SECRET_ENV: "a secret"},
    )  # fmt: skip
    process = publisher_run(plans.folder, tmp_path / "feeds", env)
    try:
        wait_for(lambda: trickle.open > 0 or process.poll() is not None, "the send is stuck")
        assert process.poll() is None, process.communicate()[0]
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        try:
            said, _ = process.communicate(timeout=STOP_WITHIN)
        except subprocess.TimeoutExpired:
            pytest.fail(f"publisher run was still running {STOP_WITHIN:.0f} s after SIGTERM")
        took = time.monotonic() - started
        assert process.returncode == 0, said
        assert "abandoned" in said and "Traceback" not in said
        # The message claimed behind the stuck one, never started, is queued again at once
        # for the next instance; the stuck one waits out its lease, to be sent once more.
        with plans.engine.begin() as conn:
            states = sorted((r.state, r.attempts) for r in outbox.list_items(conn, None, None))
        assert states == [("queued", 0), ("sending", 1)], said
        with capsys.disabled():
            print(f"\n  publisher run stopped {took:.1f} s after SIGTERM, mid-send")
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_kill_9_of_publisher_run_ends_its_build(tmp_path: Path, smtp_server: SmtpServer) -> None:
    """A build of some hundreds of opportunities takes seconds: SIGKILL `publisher run`
    while it runs, and the build (and any worker it forked) ends too, publishing nothing."""
    plans = Plans(tmp_path, smtp_server)
    generate(plans.folder, 2, 200)
    site = tmp_path / "feeds"
    process = publisher_run(plans.folder, site, environment(plans))
    try:
        build = 0

        def found() -> bool:
            nonlocal build
            build = next((pid for pid in children(process.pid) if is_build(pid)), 0)
            return bool(build) or process.poll() is not None

        wait_until(found, "publisher run starts its build", WAIT)
        assert build, process.communicate()[0]
    finally:
        process.kill()
        process.communicate()
    wait_until(lambda: not alive(build) and not group(build), "the build ends", WAIT)
    assert not (site / "all.json").exists(), "the build went on and published the site"


def test_a_child_dies_with_its_parent(tmp_path: Path) -> None:
    """git, or anything else the service runs: SIGKILL of the service ends it."""
    script = (
        "import sys\n"
        "from publisher.service.child import Children\n"
        "print(flush=True)\n"
        "Children().run([sys.executable, '-c', 'import time; time.sleep(120)'], timeout=300)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        parent.stdout.readline()
        sleeper = 0

        def started() -> bool:
            nonlocal sleeper
            sleeper = next(iter(children(parent.pid)), 0)
            return bool(sleeper)

        wait_until(started, "the child starts", WAIT)
    finally:
        parent.kill()
        parent.communicate()
    wait_until(lambda: not alive(sleeper), "the child ends with its parent", WAIT)


# --- processes, as /proc shows them -----------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # after "pid (name) "


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) and int(stat[1]) == pid:
            found.append(int(entry.name))
    return found


def is_build(pid: int) -> bool:
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"build" in words


def alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def group(pgid: int) -> list[int]:
    """Live processes in process group `pgid`."""
    members = []
    for entry in Path("/proc").iterdir():
        stat = _stat(int(entry.name)) if entry.name.isdigit() else None
        if stat and int(stat[2]) == pgid and stat[0] != "Z":
            members.append(int(entry.name))
    return members

"""The service's scheduler (APScheduler 3, jobs kept in the service's database): sync the
plans, rebuild when they changed, run the notify pass (announcements, reminders, digests,
dispatch) every few minutes. Only the holder of the one-sender lock does any of this.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine

from publisher.delivery import notify, outbox
from publisher.delivery.channels import LONDON
from publisher.delivery.database import create_or_upgrade
from publisher.delivery.outcome import Sender
from publisher.service.lock import Lock, lock_for
from publisher.settings import Settings

log = logging.getLogger("publisher")
Clock = Callable[[], dt.datetime]
BUILD_TIMEOUT = 1800  # seconds: the 20,000-opportunity site builds in under a minute
GIT_TIMEOUT = 120


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class State:
    """What /healthz reports about the scheduler."""

    role: str = "starting"  # active (holds the lock) | standby | stopped
    last_sync: dt.datetime | None = None
    last_build: dt.datetime | None = None
    last_build_result: str = ""
    last_pass: dt.datetime | None = None
    last_pass_result: str = ""
    errors: list[str] = field(default_factory=list)


def _stamp(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def fingerprint(plans: Path) -> str:
    """Changes whenever a plan, channel or reference file is added, removed or edited."""
    digest = hashlib.sha256()
    for path in sorted(plans.rglob("*.y*ml")):
        if path.is_file() and ".git" not in path.parts:
            stat = path.stat()
            digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


# APScheduler keeps jobs in the database as references to importable functions; the running
# service is found through this module-level name.
_running: Service | None = None


def _job(name: str) -> None:
    if _running is not None:
        getattr(_running, name)()


class Service:
    """The scheduler half of `publisher run`."""

    def __init__(
        self,
        plans: Path,
        site: Path,
        settings: Settings,
        engine: Engine,
        *,
        clock: Clock = utc_now,
        every: dt.timedelta = dt.timedelta(minutes=5),
        sync_every: dt.timedelta = dt.timedelta(minutes=1),
        send: dict[str, Callable[[], Sender]] | None = None,
        lock: Lock | None = None,
    ) -> None:
        self.plans, self.site, self.settings, self.engine = plans, site, settings, engine
        self.clock, self.every, self.sync_every, self.send = clock, every, sync_every, send
        self.lock = lock or lock_for(engine)
        self.state = State()
        self.stop_sending = threading.Event()
        self._busy = threading.Lock()  # one sync-build-notify at a time in this process
        self._seen: str | None = None
        self.scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=engine)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone="Europe/London",
        )

    # --- life cycle -------------------------------------------------------------------
    def start(self) -> None:
        global _running  # noqa: PLW0603 - one service per process, found by the jobs
        _running = self
        create_or_upgrade(self.engine)
        self.scheduler.start()
        # Jobs are replaced, not added, so a restart never doubles them; a pass that was due
        # while the service was down runs once at start (coalesce), and the pass itself
        # sends any reminder that fell due meanwhile, once.
        self.scheduler.add_job(
            "publisher.service.scheduler:_job", "interval", args=["sync"], id="sync",
            seconds=self.sync_every.total_seconds(), replace_existing=True,
            next_run_time=dt.datetime.now(dt.UTC),
        )  # fmt: skip
        self.scheduler.add_job(
            "publisher.service.scheduler:_job", "interval", args=["notify"], id="notify",
            seconds=self.every.total_seconds(), replace_existing=True,
        )  # fmt: skip

    def stop(self) -> None:
        """Finish the send in progress, record it, and stop."""
        self.stop_sending.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.lock.release()
        self.state.role = "stopped"

    # --- the jobs -----------------------------------------------------------------------
    def _active(self) -> bool:
        active = self.lock.acquire()
        if active and self.state.role != "active":
            log.info("This process now builds, announces and sends (it holds the lock).")
        elif not active and self.state.role != "standby":
            log.info(
                "Another publisher builds, announces and sends; this one serves the web "
                "and takes over if that one stops."
            )
        self.state.role = "active" if active else "standby"
        return active

    def sync(self, force: bool = False) -> bool:
        """Pull or look at the plans; rebuild and announce when they changed."""
        if not self._active() or not self._busy.acquire(blocking=False):
            return False
        try:
            self.state.last_sync = self.clock()
            self._pull()
            now = fingerprint(self.plans)
            if not force and now == self._seen and (self.site / "index.html").exists():
                return False
            self._seen = now
            self._build()
            self._pass()
            return True
        finally:
            self._busy.release()

    def notify(self) -> None:
        """The regular pass: reminders and digests come due even when nothing changes."""
        if not self._active() or not self._busy.acquire(blocking=False):
            return
        try:
            self._pass()
        finally:
            self._busy.release()

    def _pull(self) -> None:
        """`git pull --ff-only` when the plans folder is a clone with a remote."""
        try:
            remote = subprocess.run(
                ["git", "-C", str(self.plans), "remote"],
                capture_output=True, text=True, timeout=GIT_TIMEOUT, check=True,
            ).stdout.split()  # fmt: skip
        except (OSError, subprocess.SubprocessError):
            return  # not a clone: the folder is watched instead
        if not remote:
            return
        pulled = subprocess.run(
            ["git", "-C", str(self.plans), "pull", "--ff-only", "--quiet"],
            capture_output=True, text=True, timeout=GIT_TIMEOUT, check=False,
        )  # fmt: skip
        if pulled.returncode != 0:
            self._error(f"git pull failed, so the plans were not updated: {pulled.stderr.strip()}")

    def _build(self) -> None:
        # The build forks worker processes, which must not happen in a process that runs
        # threads (the web server, this scheduler): it runs as a process of its own.
        today = self.clock().astimezone(LONDON).date().isoformat()
        command = [sys.executable, "-m", "publisher", "build", "--plans", str(self.plans),
                   "--out", str(self.site), "--base-url", self.settings.base_url,
                   "--today", today]  # fmt: skip
        try:
            done = subprocess.run(
                command, check=False, capture_output=True, text=True, timeout=BUILD_TIMEOUT
            )
        except (OSError, subprocess.SubprocessError) as err:
            self._error(f"the site could not be built: {err}; the last site is still served")
            return
        self.state.last_build = self.clock()
        said = (done.stdout + done.stderr).strip()
        self.state.last_build_result = said.splitlines()[-1] if said else ""
        if done.returncode == 2 or (done.returncode == 1 and "Built " not in done.stdout):
            self._error(f"the site could not be built; the last site is still served: {said}")
        else:
            log.info("%s", said)

    def _pass(self) -> None:
        try:
            report = notify.run_pass(
                self.plans, self.settings, self.clock, engine=self.engine, send=self.send,
                stop=self.stop_sending,
            )  # fmt: skip
        except Exception as err:  # a failed pass must not stop the scheduler
            self._error(f"the notify pass failed: {type(err).__name__}: {err}")
            return
        self.state.last_pass = self.clock()
        done = report.dispatch
        self.state.last_pass_result = (
            f"{len(report.announcements)} changes, {len(report.queued)} queued"
            + (f", {done.sent} sent, {done.retried} to retry, {done.failed} failed" if done else "")
        )
        log.info("Notify pass: %s.", self.state.last_pass_result)

    def _error(self, message: str) -> None:
        log.error("%s", message)
        self.state.errors = [*self.state.errors[-9:], message]

    # --- for /healthz -------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            backlog = outbox.backlog(conn)
        state = self.state
        ok = state.role in ("active", "standby") and not (state.errors and state.last_pass is None)
        return {
            "status": "ok" if ok else "degraded",
            "scheduler": {
                "role": state.role,
                "last_sync": _stamp(state.last_sync),
                "last_build": _stamp(state.last_build),
                "last_build_result": state.last_build_result,
                "last_pass": _stamp(state.last_pass),
                "last_pass_result": state.last_pass_result,
                "recent_errors": state.errors,
            },
            "outbox": backlog,
        }

"""The service's scheduler: sync the plans and rebuild when they changed, then run the
notify pass (announcements, reminders, digests, dispatch), and that pass every few
minutes anyway. Only the holder of the one-sender lock does any of this.

APScheduler (3, jobs in memory: each instance keeps its own times) only asks for work. The
sync and build run on one worker thread, the notify pass on another, so a slow pass never
holds up a build; a request made while its work runs queues one more run (worker.py).
Only what the served site shows is announced: a pass announces only while the plans on
disk are those the last published build was made from.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from publisher.delivery import notify, outbox
from publisher.delivery.database import create_or_upgrade
from publisher.delivery.outcome import Sender
from publisher.plans.dates import LONDON
from publisher.service.child import Children, publisher_command
from publisher.service.lock import Lock, lock_for
from publisher.service.scheduler_state import State, health_report
from publisher.service.worker import Worker
from publisher.settings import Settings

log = logging.getLogger("publisher")
Clock = Callable[[], dt.datetime]
BUILD_TIMEOUT = 1800  # seconds: the 20,000-opportunity site builds in under a minute
GIT_TIMEOUT = 120
# git over HTTP gives up on a server sending under 1 kB/s for 30 s (else it waits forever).
GIT_SLOW = ["-c", "http.lowSpeedLimit=1000", "-c", "http.lowSpeedTime=30"]
LOCK_CHECK_SECONDS = 5.0  # how often the active instance makes sure it still holds the lock
# On SIGTERM the send in progress may finish within this; Docker kills after 10 s.
STOP_SECONDS = 8.0
RETRY_FIRST = dt.timedelta(minutes=1)  # a failed build is tried again after this, doubling
RETRY_MOST = dt.timedelta(minutes=30)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def fingerprint(plans: Path) -> str:
    """Changes whenever a plan, channel or reference file is added, removed or edited."""
    digest = hashlib.sha256()
    for path in sorted(plans.rglob("*.y*ml")):
        if path.is_file() and ".git" not in path.parts:
            stat = path.stat()
            digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


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
        self.children = Children()
        self.syncer = Worker("sync", "the look at the plans", self._sync_job)
        self.notifier = Worker("notify", "the notify pass", self.notify)
        self._stopping = threading.Event()
        self._sync_guard = threading.Lock()  # one sync and build at a time
        self._notify_guard = threading.Lock()  # one notify pass at a time
        self._role_guard = threading.Lock()
        self._halts: set[threading.Event] = set()  # one per pass in progress
        self._published: str | None = None  # the plans' fingerprint in the served site
        self.bounces: dict[str, Any] | None = None  # the last read of the bounce mailbox
        self._failed: str | None = None  # the fingerprint whose build failed
        self._retry_now = False  # a push hook: try a failed build again without waiting
        self._caught_up = False
        self.scheduler = BackgroundScheduler(
            # Jobs only ask a worker for work, so they end at once. A run missed anyway (the
            # machine was suspended) runs late rather than never, several as one.
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone="Europe/London",
        )

    # --- life cycle -------------------------------------------------------------------
    def start(self) -> None:
        create_or_upgrade(self.engine)
        self.syncer.start()
        self.notifier.start()
        self.scheduler.start()
        self.scheduler.add_job(
            self.request_sync, "interval", args=["the regular look at the plans"], id="sync",
            seconds=self.sync_every.total_seconds(), next_run_time=dt.datetime.now(dt.UTC),
        )  # fmt: skip
        # The first sync asks for a pass at once (see _sync_job): what fell due while the
        # service was down, reminders included, is sent then, once.
        self.scheduler.add_job(
            self.notifier.request, "interval", args=["the regular pass"], id="notify",
            seconds=self.every.total_seconds(),
        )  # fmt: skip
        self.scheduler.add_job(self._watch, "interval", id="lock", seconds=LOCK_CHECK_SECONDS)

    def stop(self, grace: float = STOP_SECONDS) -> bool:
        """Stop building at once; let the send in progress finish within `grace` seconds,
        or abandon it (its message is sent again once its lease runs out). Returns whether
        everything ended in time."""
        self._stopping.set()
        self._halt_passes()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.children.stop_all()
        deadline = time.monotonic() + grace
        ended = self.syncer.stop(max(0.0, deadline - time.monotonic()))
        ended = self.notifier.stop(max(0.0, deadline - time.monotonic())) and ended
        if not ended and self.state.role == "active":
            self._release_unstarted()
        self.lock.release()
        self.state.role = "stopped"
        if not ended:
            log.warning(
                "The send in progress did not finish within %.0f seconds, so it is abandoned: "
                "its message is sent again once its lease runs out.",
                grace,
            )
        return ended

    def _release_unstarted(self) -> None:
        """The abandoned pass's claimed items that it never started go back to the queue
        now, for the next instance, instead of waiting out their claim."""
        try:
            with self.engine.begin() as conn:
                released = outbox.release_unstarted(conn)
        except SQLAlchemyError as error:
            log.warning("Could not put the claimed messages back in the queue: %s", error)
            return
        if released:
            log.info("Put %d claimed messages not yet sent back in the queue.", released)

    # --- asking for work ----------------------------------------------------------------
    def request_sync(self, why: str, *, retry_now: bool = False) -> None:
        """Look at the plans as soon as the sync in progress (if any) is done. `retry_now`
        (a push hook) tries a failed build again without waiting out its backoff."""
        if retry_now:
            self._retry_now = True
        self.syncer.request(why)

    def _sync_job(self) -> None:
        built = self.sync()
        if not self._caught_up:
            self._caught_up = True
            if not built:
                self.notifier.request("start-up")

    def _watch(self) -> None:
        if self.state.role == "active":
            self._active()

    # --- the lock -----------------------------------------------------------------------
    def _active(self) -> bool:
        """Whether this process may build and send now: it holds the lock, asked afresh."""
        with self._role_guard:
            if self._stopping.is_set():
                return False
            if self.lock.held and not self.lock.still_held():
                self._lost_lock()
            active = self.lock.acquire()
            if active and self.state.role != "active":
                log.info("This process now builds, announces and sends (it holds the lock).")
                self.state.active_since = self.clock()
            elif not active and self.state.role != "standby":
                log.info(
                    "Another publisher builds, announces and sends; this one serves the web "
                    "and takes over if that one stops."
                )
            if active:
                self.state.lock_lost_at = None
            self.state.role = "active" if active else "standby"
            return active

    def _lost_lock(self) -> None:
        self.state.lock_lost_at = self.clock()
        self._error(
            f"This process lost the scheduler lock ({self.lock.describe()}): it stops "
            "building and sending at once, and takes the lock again only if it is free."
        )
        self._halt_passes()
        self.children.end_running()

    def _halt_passes(self) -> None:
        for halt in list(self._halts):
            halt.set()

    # --- sync and build -----------------------------------------------------------------
    def sync(self, force: bool = False) -> bool:
        """Pull or look at the plans; rebuild when they differ from the published site
        (a failed build is tried again after a backoff), then ask for a notify pass.
        Returns whether a new site was published."""
        with self._sync_guard:
            if not self._active():
                return False
            retry_now, self._retry_now = self._retry_now, False
            self.state.last_sync = self.clock()
            self._pull()
            before = fingerprint(self.plans)
            if not force and not self._build_due(before, retry_now):
                return False
            if not self._active():  # asked again right before each build
                return False
            if not self._build(before):
                return False
            if fingerprint(self.plans) == before:
                self._published = before
            else:  # an edit landed during the build: the site may not have it
                self.syncer.request("the plans changed while the site was being built")
            self.notifier.request("a new site was published")
            return True

    def _build_due(self, plans: str, retry_now: bool) -> bool:
        if plans == self._published and (self.site / "index.html").exists():
            return False
        # A failed build waits out its backoff (said when it failed, with the time of the
        # next try), unless the plans changed since or a push hook asks again.
        retry_at = self.state.next_build_try
        waiting = retry_at is not None and self.clock() < retry_at
        return plans != self._failed or retry_now or not waiting

    def _pull(self) -> None:
        """`git pull --ff-only` when the plans folder is a clone with a remote."""
        try:
            remote = self.children.run(["git", "-C", str(self.plans), "remote"], GIT_TIMEOUT)
        except OSError:
            return  # no git: the folder is watched instead
        if remote.returncode != 0 or not remote.stdout.split():
            return  # not a clone, or no remote
        pulled = self.children.run(
            ["git", *GIT_SLOW, "-C", str(self.plans), "pull", "--ff-only", "--quiet"], GIT_TIMEOUT
        )
        if pulled.stopped:
            return
        if pulled.returncode == 0 and not pulled.timed_out:
            self.state.pull_failures = 0
            return
        self.state.pull_failures += 1
        why = (
            f"it took longer than {GIT_TIMEOUT} seconds"
            if pulled.timed_out
            else pulled.stderr.strip() or f"exit status {pulled.returncode}"
        )
        self._error(
            f"git pull failed ({self.state.pull_failures} in a row), so the plans were not "
            f"updated: {why}"
        )

    def _build(self, plans: str) -> bool:
        """Build the site; True when the new site was swapped in."""
        # The build forks worker processes, which must not happen in a process that runs
        # threads (the web server, this scheduler): it runs as a process of its own, which
        # dies with this one (child.py).
        today = self.clock().astimezone(LONDON).date().isoformat()
        command = publisher_command(
            "build", "--plans", str(self.plans), "--out", str(self.site),
            "--base-url", self.settings.base_url, "--today", today,
        )  # fmt: skip
        try:
            done = self.children.run(command, BUILD_TIMEOUT, death=signal.SIGTERM)
        except OSError as err:
            return self._build_failed(plans, f"the build could not be started: {err}")
        self.state.last_build = self.clock()
        said = done.said
        self.state.last_build_result = said.splitlines()[-1] if said else ""
        if done.stopped:
            log.info("The build was stopped before it finished; the last site is still served.")
            return False
        if done.timed_out:
            return self._build_failed(plans, f"it took over {BUILD_TIMEOUT} seconds and was ended")
        if done.returncode < 0:
            return self._build_failed(plans, f"it was killed by {done.signal_name()}")
        # Exit status 1 with "Built ...": a plan file with errors was left out, the rest built.
        if done.returncode == 0 or (done.returncode == 1 and "Built " in done.stdout):
            log.info("%s", said)
            # Before anything is announced, the CDN's copy too (PUBLISHER_PUBLISH_TO).
            if self.settings.publish_to:
                from publisher.service.publish import after_build  # noqa: PLC0415 (boto3)

                unpublished = after_build(self.site, self.settings.publish_to)
                if unpublished:
                    where = self.settings.publish_to
                    return self._build_failed(
                        plans,
                        f"it could not go to {where}: {unpublished}",
                        "The new site is built and served here, but could not be published",
                    )
            self.state.build_failures, self.state.build_error = 0, ""
            self.state.next_build_try, self._failed = None, None
            return True
        return self._build_failed(plans, f"exit status {done.returncode}: {said}")

    def _build_failed(
        self,
        plans: str,
        why: str,
        what: str = "The site could not be built, so the last site is still served",
    ) -> bool:
        failures = self.state.build_failures + 1
        wait = min(RETRY_MOST, RETRY_FIRST * 2 ** min(failures - 1, 10))
        retry_at = self.clock() + wait
        self.state.build_failures, self.state.build_error = failures, why
        self.state.next_build_try, self._failed = retry_at, plans
        self._error(
            f"{what}, and nothing new is announced ({failures} failed in a row; trying again after "
            f"{retry_at.astimezone(LONDON):%H:%M:%S}, or at once on a push hook): {why}"
        )
        return False

    # --- the notify pass ----------------------------------------------------------------
    def notify(self) -> bool:
        """One notify pass, when this process holds the lock; returns whether it ran."""
        with self._notify_guard:
            if not self._active():  # asked again right before each send pass
                return False
            self._pass()
            return True

    def _is_published(self) -> bool:
        return self._published is not None and fingerprint(self.plans) == self._published

    def _pass(self) -> None:
        halt = threading.Event()  # set when the service stops or the lock is lost
        self._halts.add(halt)
        if self._stopping.is_set():
            halt.set()
        try:
            report = notify.run_pass(
                self.plans, self.settings, self.clock, engine=self.engine, send=self.send,
                stop=halt, published=self._is_published,
            )  # fmt: skip
        except Exception as err:  # a failed pass must not stop the scheduler
            self.state.pass_error = f"{type(err).__name__}: {err}"
            self._error(f"The notify pass failed: {self.state.pass_error}")
            return
        finally:
            self._halts.discard(halt)
        self.state.last_pass, self.state.pass_error = self.clock(), ""
        done = report.dispatch
        held = "the plans differ from the published site, so nothing new was announced; "
        self.state.last_pass_result = (
            (held if report.unpublished else "")
            + f"{len(report.announcements)} changes, {len(report.queued)} queued"
            + (f", {done.sent} sent, {done.retried} to retry, {done.failed} failed" if done else "")
        )
        if report.bounces is not None:
            self.bounces = {**report.bounces.counts(), "problem": report.bounces.problem}
            log.info("%s", report.bounces.words())
        log.info("Notify pass: %s.", self.state.last_pass_result)

    def _error(self, message: str) -> None:
        log.error("%s", message)
        self.state.errors = [*self.state.errors[-9:], message]

    # --- for /healthz -------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """The scheduler's state: "problems" are short, public reasons (no paths or
        error texts); the rest is detail for the operator."""
        if self.state.role == "active":
            self._active()  # asked afresh: never "active" on a lock lost since the last look
        now = self.clock()
        with self.engine.connect() as conn:
            backlog: dict[str, int] = outbox.backlog(conn)
            stuck = outbox.stuck(conn, now)
            refused = outbox.refused_formats(conn)
        found = health_report(
            self.state, now, lock=self.lock.describe(), every=self.every,
            sync_every=self.sync_every, pass_since=self.notifier.running_since,
            backlog=backlog, stuck=stuck, refused=refused,
        )  # fmt: skip
        if self.bounces is not None:  # counts only, never an address
            found["bounces"] = {"last_read": self.bounces}
        return found

"""Soak: `publisher run` for a while with six webhook channels on loopback, the plans
changing every minute, then a check that every announcement reached the healthy receivers
exactly once and that /healthz said 503 only while something was wrong (issue 14).

    .venv/bin/python -m bench.soak --minutes 15        # 15 changes, then up to 8 min to drain
    .venv/bin/python -m bench.soak --minutes 3 --drain-minutes 4 --keep   # a quick look

The six channels (one per example infrastructure body, every filter empty, reminders off,
cadence immediate) each post to their own receiver on 127.0.0.1: three healthy (200 at
once), one slow (trickles its answer a byte a second, for ever), one failing (always 500)
and one flapping (healthy and failing by turns, `--flap-seconds` each; healthy for good once
the changes stop). The plans live in a git repository the benchmark commits to; the
publisher's plans folder is a clone of it, pulled on each signed push hook and each minute.

Each minute one change that is announced: a new opportunity, or a later closing date for
one added earlier (the one changed longest ago, so two changes to one opportunity rarely
fall into one notify pass; when they do, the later one's announcement stands for both, and
the summary says so). /healthz is asked every few seconds from loopback (full details) and
the served JSON until each change is in it. When the changes stop, the flapping receiver
stays healthy and the soak waits (`--drain-minutes` at most) until nothing is left to send
to the healthy and flapping channels; then one last change, and SIGTERM while the slow
receiver is trickling its answer. Then `publisher outbox --format json` and the checks: the
expected announcements are one per change per channel (derived from the changes, with the
version the publisher's own loader gives), and must be the outbox's; the exit status is 1
when any expectation failed. Nothing leaves 127.0.0.1.

"Something wrong", judged without /healthz: the site not built yet (start-up); a change not
in the served JSON 60 s after its hook (the sync or build is stuck); a change in the site
but not at every healthy receiver within twice the pass interval (the notify pass is stuck).
A failing or slow receiver is the receiver's fault, not the service's (DESIGN.md: retries
and `publisher outbox` handle it), so it must not make /healthz 503.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from publisher.changes.diff import version
from publisher.delivery.webhook import verify
from publisher.plans.load import load
from publisher.plans.model import PlanFile
from publisher.plans.validate import validate

HOST = "127.0.0.1"
PLANS = Path(__file__).resolve().parent.parent / "plans"
COMMISSIONER = "soak-council"
SECRET_ENV = "SOAK_WEBHOOK_SECRET"
WEBHOOK_SECRET = "soak-webhook-secret"
HOOK_SECRET = "soak-hook-secret"
PASS_EVERY = 300.0  # the publisher's notify pass interval (not a setting)
STARTUP_SECONDS = 300
FEED_WITHIN = 60.0  # a change not served this long after its hook: the sync or build is stuck
GRACE = 15.0  # /healthz may lag what it reports by about a poll or a lock check
STOP_WITHIN = 10.0
# One receiver per example infrastructure body (the plans' support and host fields name
# them, so their files stay); each gets one webhook channel.
RECEIVERS = {
    "voluntary-action-leeds": "healthy",
    "community-action-bradford": "healthy",
    "voluntary-action-calderdale": "healthy",
    "third-sector-leaders-kirklees": "slow",
    "nova-wakefield": "failing",
    "west-yorkshire-vcse": "flapping",
}


def now() -> float:
    return time.time()


def stamp(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.UTC).strftime("%H:%M:%S")


# --- receivers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Arrival:
    key: str
    at: float
    answered: int  # the status sent back; 0 for the slow receiver, which never finishes
    signed: bool  # the X-Publisher-Signature checked out


class Receiver:
    """A webhook receiver on 127.0.0.1 in its own threads, answering as `behaviour` says."""

    def __init__(self, channel: str, behaviour: str, flap_seconds: float) -> None:
        self.channel, self.behaviour, self.flap_seconds = channel, behaviour, flap_seconds
        self.arrivals: list[Arrival] = []
        self.guard = threading.Lock()
        self.released = threading.Event()  # ends every trickle when the soak is over
        self.flap_from = time.monotonic()
        self.settled = False  # the flapping receiver stays healthy from now on
        self.trickling = 0  # answers being trickled now
        self.server = ThreadingHTTPServer((HOST, 0), _handler(self))
        self.server.daemon_threads = True
        self.port: int = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.1,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/hook"

    def healthy_now(self) -> bool:
        if self.behaviour == "healthy" or (self.behaviour == "flapping" and self.settled):
            return True
        if self.behaviour == "flapping":
            return int((time.monotonic() - self.flap_from) // self.flap_seconds) % 2 == 0
        return False

    def record(self, arrival: Arrival) -> None:
        with self.guard:
            self.arrivals.append(arrival)

    def delivered(self) -> Counter[str]:
        """Keys answered 200, with how many times each."""
        with self.guard:
            return Counter(a.key for a in self.arrivals if a.answered == 200)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 30  # a client that goes quiet cannot keep a thread

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            key = self.headers.get("Idempotency-Key", "")
            signed = verify(
                WEBHOOK_SECRET,
                self.headers.get("X-Publisher-Timestamp", ""),
                body,
                self.headers.get("X-Publisher-Signature", ""),
                dt.datetime.now(dt.UTC),
            )
            if receiver.behaviour == "slow":
                receiver.record(Arrival(key, now(), 0, signed))
                self._trickle(b"HTTP/1.1 200 OK\r\nX-Slowly: ")
                return
            status = 200 if receiver.healthy_now() else 500
            receiver.record(Arrival(key, now(), status, signed))
            reply = b"ok\n" if status == 200 else b"down for the soak\n"
            self.send_response(status)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def _trickle(self, start: bytes) -> None:
            """A byte a second, the status line first, then a header that never ends."""
            self.close_connection = True
            position = 0
            with receiver.guard:
                receiver.trickling += 1
            try:
                while not receiver.released.wait(1.0):
                    byte = start[position : position + 1] or b"a"
                    position += 1
                    self.wfile.write(byte)
            except OSError:
                return  # the publisher gave up: what it should do
            finally:
                with receiver.guard:
                    receiver.trickling -= 1

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def handle_one_request(self) -> None:
            with contextlib.suppress(OSError):  # a client that hung up mid-request
                super().handle_one_request()

    return Handler


# --- the plans ----------------------------------------------------------------------------


@dataclass
class Change:
    number: int
    opportunity: str  # its id in the soak plan
    event: str  # new | changed
    closes: str  # tender_closes as written
    version: str
    hooked_at: float
    hook_status: int
    served_at: float | None = None  # when the served JSON first showed it

    @property
    def uid(self) -> str:
        return f"{COMMISSIONER}/{self.opportunity}"

    @property
    def suffix(self) -> str:
        """The outbox key without its channel: channel|uid|event|version."""
        return f"{self.uid}|{self.event}|{self.version}"


@dataclass
class Plans:
    """The benchmark's plans repository (`origin`) and what the soak plan holds now."""

    origin: Path
    closes: dict[str, dt.date] = field(default_factory=dict)  # opportunity id -> its date
    touched: list[str] = field(default_factory=list)  # least recently changed first

    def write(self) -> None:
        lines = [
            "schema: 1",
            "example: true",
            "commissioner:",
            f"  id: {COMMISSIONER}",
            "  name: Soak Test Council",
            "  kind: council",
            "opportunities:",
        ]
        for name, closes in self.closes.items():
            lines += [
                f"  - id: {name}",
                f"    title: Soak test opportunity {name}",
                "    summary: A made-up opportunity the soak benchmark adds to see it announced.",
                "    status: planning",
                "    places: [leeds]",
                "    themes: [mental-health]",
                "    funding: contract",
                "    dates:",
                "      tender_opens: 2027-09-01",
                f"      tender_closes: {closes.isoformat()}",
            ]
        (self.origin / f"{COMMISSIONER}.yaml").write_text("\n".join(lines) + "\n")

    def version_of(self, name: str) -> str:
        """The opportunity's version as the publisher works it out (its loader and model)."""
        path = self.origin / f"{COMMISSIONER}.yaml"
        document, problems = load(path, path.name)
        if document is None:
            sys.exit(f"the soak plan does not load: {problems}")
        plan, findings = validate(PlanFile, document.data)
        if plan is None:
            sys.exit(f"the soak plan is not valid: {findings}")
        return version(next(o for o in plan.opportunities if o.id == name))

    def commit(self, message: str) -> None:
        git(self.origin, "add", "-A")
        git(self.origin, "commit", "--quiet", "-m", message)

    def next_change(self, number: int) -> tuple[str, str]:
        """Even minutes add an opportunity; odd ones move a closing date a week later, on
        the opportunity changed longest ago (not the one just added, if there is another)."""
        if number % 2 == 0 or len(self.touched) < 2:
            name = f"soak-{number}"
            self.closes[name] = dt.date(2027, 10, 1) + dt.timedelta(days=number)
            event = "new"
        else:
            name = self.touched[0]
            self.closes[name] += dt.timedelta(weeks=1)
            event = "changed"
            self.touched.remove(name)
        self.touched.append(name)
        self.write()
        return name, event


def git(folder: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=soak", "-c", "user.email=soak@127.0.0.1", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def make_plans(root: Path, receivers: dict[str, Receiver]) -> Plans:
    origin = root / "origin"
    shutil.copytree(PLANS, origin)
    for path in (origin / "channels").glob("*.yaml"):
        path.unlink()
    for organisation, receiver in receivers.items():
        (origin / "channels" / f"{organisation}.yaml").write_text(
            "schema: 1\n"
            f"organisation:\n  id: {organisation}\n  name: {organisation.replace('-', ' ')}\n"
            "channels:\n"
            f"  - id: soak-{receiver.behaviour}\n"
            "    kind: webhook\n"
            f"    url: {receiver.url}\n"
            f"    secret_env: {SECRET_ENV}\n"
            "    cadence: immediate\n"
            "    reminders: []\n    closing_reminders: []\n    event_reminders: []\n"
        )
    plans = Plans(origin, {"soak-base": dt.date(2027, 9, 30)}, ["soak-base"])
    plans.write()
    git(origin, "init", "--quiet", "--initial-branch=main")
    plans.commit("The example plans, six webhook channels on loopback and a soak plan")
    git(root, "clone", "--quiet", str(origin), str(root / "plans"))
    return plans


# --- the publisher --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def environment(root: Path, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{root / 'publisher.db'}",
        "PUBLISHER_MAILDIR": str(root / "mail"),
        "PUBLISHER_HOOK_SECRET": HOOK_SECRET,
        "PUBLISHER_BASE_URL": f"http://{HOST}:{port}/",
        "PUBLISHER_ALLOW_PRIVATE_WEBHOOKS": "true",
        "PUBLISHER_CONFIG": "",
        SECRET_ENV: WEBHOOK_SECRET,
    }


@contextlib.contextmanager
def publisher(root: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    command = [
        sys.executable, "-m", "publisher", "run", "--host", HOST, "--port", str(port),
        "--plans", str(root / "plans"), "--site", str(root / "feeds"),
    ]  # fmt: skip
    with (root / "publisher.log").open("wb") as log:
        process = subprocess.Popen(
            command, cwd=root, env=environment(root, port), stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield process
        finally:
            if process.poll() is None:  # the soak broke off: do not leave it running
                process.kill()
                process.wait()


def outbox_items(root: Path, port: int) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "publisher", "outbox", "--format", "json", "--limit", "0"],
        cwd=root,
        env=environment(root, port),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"publisher outbox failed (exit {done.returncode}): {done.stderr.strip()}")
    listing = json.loads(done.stdout)
    items: list[dict[str, Any]] = listing["items"]
    if len(items) != sum(listing["backlog"].values()):  # the listing was cut short
        sys.exit(f"publisher outbox listed {len(items)} items of {listing['backlog']}")
    return items


# --- watching it ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Poll:
    at: float
    status: int  # 0: no answer
    problems: tuple[str, ...]
    details: dict[str, Any]


@dataclass(frozen=True)
class Sample:
    at: float
    rss_kib: int
    threads: int
    fds: int


def sample(pid: int) -> Sample | None:
    """The process's resident memory, threads and open files (Linux /proc)."""
    try:
        status = dict(
            line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        )
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        return Sample(now(), int(status["VmRSS"].split()[0]), int(status["Threads"]), fds)
    except (OSError, KeyError, ValueError):
        return None


class Soak:
    def __init__(
        self,
        root: Path,
        port: int,
        plans: Plans,
        receivers: dict[str, Receiver],
        args: argparse.Namespace,
    ) -> None:
        self.root, self.port, self.plans, self.receivers, self.args = (
            root, port, plans, receivers, args
        )  # fmt: skip
        self.web = httpx.Client(base_url=f"http://{HOST}:{port}", timeout=5)
        self.polls: list[Poll] = []
        self.samples: list[Sample] = []
        self.changes: list[Change] = []
        self.pending: list[Change] = []  # not yet seen in the served JSON
        self.pid = 0
        self.started_at = now()
        self.ready_at = 0.0  # the first build and pass are done
        self.changes_over_at = 0.0

    def health(self) -> Poll:
        try:
            answer = self.web.get("/healthz")
            body: dict[str, Any] = answer.json()
            poll = Poll(now(), answer.status_code, tuple(body.get("problems", [])), body)
        except (httpx.HTTPError, ValueError) as error:
            poll = Poll(now(), 0, (f"no answer: {type(error).__name__}",), {})
        self.polls.append(poll)
        due = self.pid and (not self.samples or poll.at - self.samples[-1].at >= 30)
        taken = sample(self.pid) if due else None
        if taken is not None:
            self.samples.append(taken)
        return poll

    def served(self, change: Change) -> bool:
        try:
            answer = self.web.get(f"/commissioner/{COMMISSIONER}.json")
            if answer.status_code != 200:
                return False
            found = answer.json()["opportunities"]
        except (httpx.HTTPError, ValueError, KeyError):
            return False
        return any(
            o.get("id") == change.opportunity
            and (o.get("dates", {}).get("tender_closes") or {}).get("text") == change.closes
            for o in found
        )

    def hook(self, sha: str) -> int:
        body = json.dumps({"ref": "refs/heads/main", "after": sha}).encode()
        digest = hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
        headers = {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}
        try:
            return self.web.post("/hooks/plans", content=body, headers=headers).status_code
        except httpx.HTTPError:
            return 0

    def wait_ready(self, process: subprocess.Popen[bytes]) -> None:
        deadline = now() + STARTUP_SECONDS
        while now() < deadline:
            if process.poll() is not None:
                sys.exit(f"publisher run stopped at start (exit {process.returncode}); "
                         f"see {self.root / 'publisher.log'}")  # fmt: skip
            poll = self.health()
            if poll.details.get("scheduler", {}).get("last_pass"):
                self.ready_at = now()
                self.pid = process.pid  # its resources are sampled from now on
                return
            time.sleep(2)
        sys.exit(f"the first build and notify pass did not finish within {STARTUP_SECONDS} s")

    def watch_until(self, until: float) -> None:
        """Poll /healthz every few seconds and the served JSON for changes not yet seen."""
        next_health = 0.0
        while (left := until - now()) > 0:
            if now() >= next_health:
                self.health()
                next_health = now() + self.args.health_every
            for change in list(self.pending):
                if self.served(change):
                    change.served_at = now()
                    self.pending.remove(change)
            time.sleep(min(1.0, max(0.0, left)))

    def change(self) -> Change:
        """Change the plans, commit and send a signed push hook."""
        number = len(self.changes)
        name, event = self.plans.next_change(number)
        self.plans.commit(f"soak change {number}: {event} {name}")
        sha = git(self.plans.origin, "rev-parse", "HEAD").strip()
        closes = self.plans.closes[name].isoformat()
        version_now = self.plans.version_of(name)
        change = Change(number, name, event, closes, version_now, now(), self.hook(sha))
        self.changes.append(change)
        self.pending.append(change)
        print(f"{stamp(change.hooked_at)} change {number}: {event} {name} "
              f"(hook {change.hook_status})", flush=True)  # fmt: skip
        return change

    def run_changes(self) -> None:
        for _ in range(self.args.minutes):
            start = now()
            self.change()
            self.watch_until(start + 60)
        self.changes_over_at = now()

    def drain(self) -> str:
        """Wait, polling as before, until the healthy and flapping channels have nothing
        left to send, or the drain time is up; says which."""
        deadline = now() + self.args.drain_minutes * 60
        wanted = {f"{org}/soak-{r.behaviour}" for org, r in self.receivers.items()
                  if r.behaviour in ("healthy", "flapping")}  # fmt: skip
        while now() < deadline:
            self.watch_until(min(deadline, now() + 20))
            left = [i for i in outbox_items(self.root, self.port)
                    if i["channel"] in wanted and i["state"] != "sent"]  # fmt: skip
            if not left and not self.pending:
                return f"drained after {now() - self.changes_over_at:.0f} s"
        return f"not drained within {self.args.drain_minutes:g} minutes"

    def last_change(self) -> str:
        """One more change, then wait (at most a minute) until the healthy and flapping
        receivers have it and the slow one is in the middle of trickling an answer: the
        moment to send SIGTERM, with a send that will not finish in progress."""
        change = self.change()
        deadline = now() + 60
        while now() < deadline:
            self.watch_until(now() + 0.5)
            # The slow channel's oldest due item goes first, not necessarily this one.
            told = all(
                any(a.key.endswith(change.suffix) for a in r.arrivals)
                for r in self.receivers.values()
                if r.behaviour in ("healthy", "flapping")
            )
            if told and any(r.trickling for r in self.receivers.values()):
                return "SIGTERM while the slow receiver was trickling its answer"
        return "SIGTERM after waiting a minute for the slow receiver to be sent to (it was not)"


def stop(process: subprocess.Popen[bytes]) -> tuple[float, int | None]:
    """SIGTERM; how long it took to exit and its exit status (None: killed after 30 s)."""
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        code: int | None = process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        code = None
    return time.monotonic() - started, code


# --- the checks -----------------------------------------------------------------------------


@dataclass
class Verdict:
    passed: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was seen, neither good nor bad

    def expect(self, ok: bool, good: str, bad: str) -> None:
        (self.passed if ok else self.failures).append(good if ok else bad)


def split_key(key: str) -> tuple[str, str]:
    """An outbox key's channel and the rest (uid|event|version)."""
    channel, _, rest = key.partition("|")
    return channel, rest


def check_announcements(
    soak: Soak, items: list[dict[str, Any]], receivers: dict[str, Receiver], verdict: Verdict
) -> dict[str, set[str]]:
    """What was queued against what was changed; returns each channel's queued keys."""
    channels = {f"{org}/soak-{r.behaviour}": r for org, r in receivers.items()}
    queued: dict[str, set[str]] = {channel: set() for channel in channels}
    strangers = []
    for item in items:
        if item["channel"] in queued:
            queued[item["channel"]].add(split_key(item["key"])[1])
        else:
            strangers.append(item["key"])
    verdict.expect(not strangers, "every outbox item is for one of the six channels",
                   f"outbox items for unknown channels: {strangers[:5]}")  # fmt: skip
    sets = {frozenset(keys) for keys in queued.values()}
    verdict.expect(
        len(sets) == 1,
        "the six channels (all with empty filters) were queued the same announcements",
        "the channels were queued different announcements: "
        + "; ".join(f"{c}: {len(k)}" for c, k in queued.items()),
    )
    everywhere = set.intersection(*queued.values())
    expected = {change.suffix for change in soak.changes}
    coalesced, missing = [], []
    for change in soak.changes:
        if change.suffix in everywhere:
            continue
        later = [c for c in soak.changes if c.uid == change.uid and c.number > change.number]
        if later and any(c.suffix in everywhere for c in later):
            coalesced.append(change.number)
        else:
            missing.append(f"change {change.number} ({change.suffix})")
    verdict.expect(not missing, f"every change was queued for all six channels "
                   f"({len(soak.changes) - len(coalesced)} announcements each)",
                   f"changes never announced: {missing}")  # fmt: skip
    if coalesced:
        verdict.notes.append(
            f"changes {coalesced} were announced together with a later change to the same "
            "opportunity (one notify pass saw both)"
        )
    unexpected = sorted(set().union(*queued.values()) - expected)
    verdict.expect(not unexpected, "nothing was announced that the soak did not change",
                   f"announcements nobody changed: {unexpected[:5]}")  # fmt: skip
    return {channel: {f"{channel}|{s}" for s in keys} for channel, keys in queued.items()}


def check_deliveries(
    items: list[dict[str, Any]],
    queued: dict[str, set[str]],
    receivers: dict[str, Receiver],
    verdict: Verdict,
) -> None:
    states = {item["key"]: item["state"] for item in items}
    for organisation, receiver in receivers.items():
        channel = f"{organisation}/soak-{receiver.behaviour}"
        keys = queued[channel]
        delivered = receiver.delivered()
        arrived = Counter(a.key for a in receiver.arrivals)
        unsigned = [a.key for a in receiver.arrivals if not a.signed]
        verdict.expect(not unsigned, f"{channel}: every request's signature checked out",
                       f"{channel}: {len(unsigned)} requests with a bad signature")  # fmt: skip
        strangers = sorted(set(arrived) - keys)
        verdict.expect(not strangers, f"{channel}: received only keys in the outbox",
                       f"{channel}: received keys not in the outbox: {strangers[:3]}")  # fmt: skip
        doubled = sorted(k for k, n in delivered.items() if n > 1)
        verdict.expect(not doubled, f"{channel}: no key answered 200 twice",
                       f"{channel}: delivered twice: {doubled[:3]}")  # fmt: skip
        by_state = Counter(states[k] for k in keys)
        if receiver.behaviour == "healthy":
            once = [k for k in keys if delivered[k] == 1 and arrived[k] == 1]
            verdict.expect(
                len(once) == len(keys) and all(states[k] == "sent" for k in keys),
                f"{channel}: all {len(keys)} announcements arrived exactly once, all sent",
                f"{channel}: {len(once)} of {len(keys)} arrived exactly once; "
                f"outbox {dict(by_state)}; "
                f"missing {sorted(k for k in keys if not delivered[k])[:3]}, "
                f"more than once {sorted(k for k in keys if arrived[k] > 1)[:3]}",
            )
        elif receiver.behaviour == "flapping":
            after = [k for k in keys if _arrived_after_delivery(receiver, k)]
            verdict.expect(not after, f"{channel}: nothing was sent again after a 200",
                           f"{channel}: sent again after a 200: {after[:3]}")  # fmt: skip
            got = [k for k in keys if delivered[k] == 1]
            verdict.expect(
                len(got) == len(keys) and all(states[k] == "sent" for k in keys),
                f"{channel}: all {len(keys)} announcements delivered once in the end "
                f"({sum(n for n in arrived.values()) - len(keys)} attempts refused with 500 "
                "along the way)",
                f"{channel}: {len(got)} of {len(keys)} delivered by the end; outbox "
                f"{dict(by_state)}",
            )
        else:
            verdict.expect(
                not delivered and not by_state.get("sent"),
                f"{channel}: nothing delivered ({len(receiver.arrivals)} attempts, the "
                f"outbox holds {dict(by_state)})",
                f"{channel}: delivered {sum(delivered.values())}, outbox {dict(by_state)}",
            )


def _arrived_after_delivery(receiver: Receiver, key: str) -> bool:
    times = sorted((a.at, a.answered) for a in receiver.arrivals if a.key == key)
    first_ok = next((at for at, answered in times if answered == 200), None)
    return first_ok is not None and any(at > first_ok for at, _ in times)


def wrong_windows(
    soak: Soak, receivers: dict[str, Receiver], end: float
) -> list[tuple[float, float, str]]:
    """When something was wrong with the service, judged without /healthz."""
    windows = [(soak.started_at, soak.ready_at, "starting: the site not built yet")]
    healthy = [f"{org}/soak-healthy" for org, r in receivers.items() if r.behaviour == "healthy"]
    arrivals = {f"{org}/soak-{r.behaviour}": r for org, r in receivers.items()}
    for change in soak.changes:
        served = change.served_at or end
        if served - change.hooked_at > FEED_WITHIN:
            windows.append((change.hooked_at + FEED_WITHIN, served,
                            f"change {change.number} not served"))  # fmt: skip
        # Announced with a later change to the same opportunity, if one pass saw both.
        told = tuple(
            c.suffix for c in soak.changes if c.uid == change.uid and c.number >= change.number
        )
        got = [
            min((a.at for a in arrivals[c].arrivals if a.key.endswith(told)), default=end)
            for c in healthy
        ]
        if max(got) - served > 2 * PASS_EVERY:
            windows.append((served + 2 * PASS_EVERY, max(got),
                            f"change {change.number} not delivered"))  # fmt: skip
    return windows


def check_health(soak: Soak, receivers: dict[str, Receiver], end: float, verdict: Verdict) -> None:
    windows = wrong_windows(soak, receivers, end)
    for start, finish, why in windows[1:]:
        verdict.notes.append(f"something was wrong {stamp(start)}-{stamp(finish)}: {why}")

    def wrong(at: float) -> bool:
        return any(start - GRACE <= at <= finish + GRACE for start, finish, _ in windows)

    after = [p for p in soak.polls if p.at > soak.ready_at]
    false_alarms = [p for p in after if p.status != 200 and not wrong(p.at)]
    missed = [p for p in after if p.status == 200 and any(
        start + GRACE <= p.at <= finish - GRACE for start, finish, _ in windows[1:])]  # fmt: skip
    reasons = Counter(r for p in after if p.status != 200 for r in p.problems)
    verdict.expect(
        not false_alarms,
        f"/healthz: {len(after)} polls after start-up, "
        f"{sum(p.status == 200 for p in after)} answered 200; "
        f"none said 503 while nothing was wrong",
        f"/healthz said {len(false_alarms)} times it was unavailable while nothing was wrong "
        f"(first {stamp(false_alarms[0].at) if false_alarms else ''}): {dict(reasons)}",
    )
    verdict.expect(
        not missed,
        "/healthz said 503 whenever something was wrong"
        if windows[1:]
        else "nothing was wrong after start-up (every change served and delivered in time), "
        "so /healthz had nothing to report",
        f"/healthz said 200 {len(missed)} times while something was wrong",
    )
    before = [p for p in soak.polls if p.at <= soak.ready_at]
    shown = Counter(r for p in before for r in p.problems)
    verdict.notes.append(
        f"/healthz during start-up ({soak.ready_at - soak.started_at:.0f} s): "
        f"{sum(p.status == 503 for p in before)} of {len(before)} polls 503: {dict(shown)}"
    )
    for p in after:
        if p.status != 200:
            verdict.notes.append(
                f"/healthz {p.status} at {stamp(p.at)}: {list(p.problems)}; scheduler "
                f"{_brief(p.details)}"
            )


def _brief(details: dict[str, Any]) -> str:
    scheduler = details.get("scheduler", {})
    return (
        f"last_pass {scheduler.get('last_pass')}, pass running "
        f"{scheduler.get('pass_running_seconds')} s, outbox {details.get('outbox')}"
    )


def latencies(soak: Soak, receivers: dict[str, Receiver]) -> list[str]:
    healthy = [r for r in receivers.values() if r.behaviour == "healthy"]
    served = [c.served_at - c.hooked_at for c in soak.changes if c.served_at]
    delivered = []
    for change in soak.changes:
        times = [
            min((a.at for a in r.arrivals if a.key.endswith(change.suffix)), default=None)
            for r in healthy
        ]
        if all(t is not None for t in times):
            delivered.append(max(t for t in times if t is not None) - change.hooked_at)
    out = []
    for name, values in (("hook to served JSON", served), ("hook to all 3 healthy", delivered)):
        if values:
            out.append(f"{name}: median {statistics.median(values):.1f} s, "
                       f"max {max(values):.1f} s over {len(values)} changes")  # fmt: skip
    return out


def resources(soak: Soak) -> list[str]:
    """Memory, threads and open files of `publisher run`, every 30 s: a leak shows here."""
    found = soak.samples
    if not found:
        return []
    first, last = found[0], found[-1]
    return [
        f"publisher run over {(last.at - first.at) / 60:.0f} min: memory (RSS) "
        f"{first.rss_kib / 1024:.0f} MB at start, {last.rss_kib / 1024:.0f} MB at the end, "
        f"{max(s.rss_kib for s in found) / 1024:.0f} MB at most; threads {first.threads} -> "
        f"{last.threads} (most {max(s.threads for s in found)}); open files {first.fds} -> "
        f"{last.fds} (most {max(s.fds for s in found)})"
    ]


# What the publisher logs when something went wrong (its log has no level names).
TROUBLE = ("Traceback", "could not", "failed (", "lost the scheduler lock", "did not finish")


def log_findings(root: Path) -> list[str]:
    lines = (root / "publisher.log").read_text(errors="replace").splitlines()
    trouble = [line for line in lines if any(word in line for word in TROUBLE)]
    return [
        f"publisher log: {len(lines)} lines, {len(trouble)} saying something went wrong"
        + "".join(f"\n          {line[:200]}" for line in trouble[:5])
    ]


# --- main ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=int, default=15, help="changes, one a minute")
    parser.add_argument(
        "--drain-minutes",
        type=float,
        default=8.0,
        help="most time for the flapping channel to catch up afterwards",
    )
    parser.add_argument("--flap-seconds", type=float, default=120.0)
    parser.add_argument("--health-every", type=float, default=3.0)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="soak-"))
    receivers = {org: Receiver(org, behaviour, args.flap_seconds)
                 for org, behaviour in RECEIVERS.items()}  # fmt: skip
    try:
        for receiver in receivers.values():
            receiver.start()
        verdict = soak_once(root, receivers, args)
    finally:
        for receiver in receivers.values():
            receiver.stop()
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    sys.exit(1 if verdict.failures else 0)


def soak_once(root: Path, receivers: dict[str, Receiver], args: argparse.Namespace) -> Verdict:
    verdict = Verdict()
    plans = make_plans(root, receivers)
    port = free_port()
    soak = Soak(root, port, plans, receivers, args)
    began = dt.datetime.now(dt.UTC)
    print(f"{stamp(now())} soak in {root}; publisher on {HOST}:{port}", flush=True)
    with publisher(root, port) as process:
        soak.wait_ready(process)
        print(f"{stamp(now())} first build and pass done after "
              f"{soak.ready_at - soak.started_at:.0f} s", flush=True)  # fmt: skip
        soak.run_changes()
        for receiver in receivers.values():
            receiver.settled = True  # the flapping one stays healthy from now on
        print(f"{stamp(now())} {soak.drain()}", flush=True)
        how = soak.last_change()
        end = now()
        took, code = stop(process)
    print(f"{stamp(now())} {how}: exit {code} after {took:.1f} s", flush=True)
    verdict.expect(
        code == 0 and took <= STOP_WITHIN,
        f"{how}: exited 0 after {took:.1f} s",
        f"{how}: exit {'killed after 30 s' if code is None else code} after {took:.1f} s "
        f"(want 0 within {STOP_WITHIN:g} s)",
    )
    items = outbox_items(root, port)
    queued = check_announcements(soak, items, receivers, verdict)
    check_deliveries(items, queued, receivers, verdict)
    check_health(soak, receivers, end, verdict)
    verdict.notes += latencies(soak, receivers) + resources(soak) + log_findings(root)
    verdict.notes.append(f"outbox at the end: {dict(Counter(i['state'] for i in items))}")
    minutes = (now() - began.timestamp()) / 60
    print(f"\nSoak of {minutes:.1f} minutes from {began:%Y-%m-%d %H:%M} UTC: "
          f"{len(soak.changes)} changes, {len(soak.polls)} /healthz polls")  # fmt: skip
    for good in verdict.passed:
        print(f"  ok    {good}")
    for note in verdict.notes:
        print(f"  note  {note}")
    for failure in verdict.failures:
        print(f"  FAIL  {failure}")
    print("PASSED" if not verdict.failures else f"FAILED: {len(verdict.failures)} expectations")
    return verdict


if __name__ == "__main__":
    main()

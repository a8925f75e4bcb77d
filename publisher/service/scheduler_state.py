"""What the scheduler knows of its own work, and what /healthz says of it: short public
problems, and the detail an operator sees."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

PULL_FAILURES_SHOWN = 3  # git pull failing this many times in a row makes /healthz 503


@dataclass
class State:
    """What /healthz reports about the scheduler."""

    role: str = "starting"  # active (holds the lock) | standby | stopped
    active_since: dt.datetime | None = None
    last_sync: dt.datetime | None = None
    last_build: dt.datetime | None = None
    last_build_result: str = ""
    build_failures: int = 0  # failed builds in a row
    build_error: str = ""  # why the last build failed; empty once one succeeds
    next_build_try: dt.datetime | None = None
    last_pass: dt.datetime | None = None
    last_pass_result: str = ""
    pass_error: str = ""  # why the last pass failed; empty once one succeeds
    pull_failures: int = 0  # failed `git pull`s in a row
    lock_lost_at: dt.datetime | None = None
    errors: list[str] = field(default_factory=list)


def _stamp(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def health_report(
    state: State,
    now: dt.datetime,
    *,
    lock: str,
    every: dt.timedelta,
    sync_every: dt.timedelta,
    pass_since: float | None,
    backlog: dict[str, int],
    stuck: int,
    refused: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The scheduler's state: "problems" are short, public reasons (no paths or error
    texts); the rest is detail for the operator. `every` and `sync_every` are how often a
    pass and a sync are due; `pass_since` when the pass in progress started (monotonic)."""
    problems = _problems(state, now, stuck, every, sync_every)
    return {
        "status": "degraded" if problems else "ok",
        "problems": problems,
        "scheduler": {
            "role": state.role,
            "lock": lock,
            "last_sync": _stamp(state.last_sync),
            "last_build": _stamp(state.last_build),
            "last_build_result": state.last_build_result,
            "build_failures": state.build_failures,
            "build_error": state.build_error,
            "next_build_try": _stamp(state.next_build_try),
            "last_pass": _stamp(state.last_pass),
            "last_pass_result": state.last_pass_result,
            "pass_running_seconds": _running_for(pass_since),
            "pull_failures": state.pull_failures,
            "recent_errors": state.errors,
        },
        "outbox": {**backlog, "stuck": stuck},
        # A receiver that refuses what it is sent is the channel's fault, not the service's
        # (like one that is down): said to the operator, without making /healthz 503.
        "warnings": [f"{channel}: {reason}" for channel, reason in sorted((refused or {}).items())],
    }


def _problems(
    state: State, now: dt.datetime, stuck: int, every: dt.timedelta, sync_every: dt.timedelta
) -> list[str]:
    problems: list[str] = []
    if state.role == "starting":
        problems.append("the scheduler has not started")
    elif state.role == "stopped":
        problems.append("the scheduler has stopped")
    if state.lock_lost_at is not None and now - state.lock_lost_at < 2 * sync_every:
        problems.append("this instance lost the scheduler lock")
    if state.role == "active":
        if state.build_error:
            problems.append("the last build failed")
        if state.pass_error:
            problems.append("the last notify pass failed")
        since = state.last_pass or state.active_since
        if since is not None and now - since > 2 * every:
            minutes = int((now - since).total_seconds() // 60)
            problems.append(f"no notify pass has finished for {minutes} minutes")
        if state.pull_failures >= PULL_FAILURES_SHOWN:
            problems.append(f"git pull has failed {state.pull_failures} times in a row")
    if stuck:
        problems.append(f"{stuck} outbox messages are stuck in sending past their lease")
    return problems


def _running_for(since: float | None) -> int | None:
    return None if since is None else round(time.monotonic() - since)

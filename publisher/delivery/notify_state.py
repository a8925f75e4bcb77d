"""What the last full notify pass was made from, so a pass with nothing changed reads nothing.

A pass is made from the plans (with their places, themes, channel files and git history),
the confirmed email sign-ups, the day, and the moment (reminders and digests fall due at
their times). The last full pass records a digest of the first three, what it found wrong
in the plans, and when the next reminder it found, or the next digest of what it put
aside, falls due (`notify_state`, in the same transaction as the snapshot and the outbox
items). A later pass that finds the same digest before that moment would announce, remind
of, put in a digest and welcome nothing (every message it could make is queued already,
under its key), so it only sends what is queued and retries what failed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select

from publisher.delivery.database import digest_entries, notify_state, signups
from publisher.delivery.signups import SignupState
from publisher.model import kept
from publisher.plans.errors import Problem, Severity

ROW = 1  # the table's one row


@dataclass(frozen=True)
class State:
    inputs: str
    wake: dt.datetime | None  # the next reminder or digest due; None: none to come
    problems: list[Problem] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  # plan files left out or held


def inputs(
    conn: Connection, plans: Path, today: dt.date, base_url: str
) -> tuple[str, dict[Path, bytes | None]]:
    """A digest of what a pass over `plans` on `today` reads: the model's inputs (kept.py)
    and the confirmed sign-ups (they are channels too); and the files' bytes, as read."""
    model, raws = kept.inputs(plans, today, base_url)
    digest = hashlib.blake2b(model.encode(), digest_size=20)
    query = (
        select(signups.c.uid, signups.c.address, signups.c.choice, signups.c.cadence)
        .where(signups.c.state == SignupState.CONFIRMED.value)
        .order_by(signups.c.id)
    )
    for row in conn.execute(query):
        digest.update(json.dumps(list(row), ensure_ascii=False).encode() + b"\n")
    return digest.hexdigest(), raws


def next_digest(conn: Connection, channels: set[str], now: dt.datetime) -> dt.datetime | None:
    """When the next of these channels' entries put aside for a digest comes due (entries
    are put aside only by a pass that reads the plans, so none appear between passes).
    Entries of channels no longer there, or no longer digests, wait for nothing."""
    waiting = and_(digest_entries.c.digest.is_(None), digest_entries.c.due_at > now)
    query = (
        select(digest_entries.c.channel, func.min(digest_entries.c.due_at))
        .where(waiting)
        .group_by(digest_entries.c.channel)
    )
    found = [due for channel, due in conn.execute(query) if channel in channels]
    return min(found, default=None)


def load(conn: Connection) -> State | None:
    row = conn.execute(select(notify_state).where(notify_state.c.id == ROW)).first()
    if row is None:
        return None
    try:
        found = json.loads(row.problems)
        problems = [_problem(one) for one in found["problems"]]
        held = [str(file) for file in found["held"]]
    except (ValueError, KeyError, TypeError):
        return None  # written by another version: a full pass writes it again
    return State(row.inputs, row.wake, problems, held)


def save(conn: Connection, state: State, now: dt.datetime) -> None:
    """Record the pass (in the caller's transaction, with the snapshot it recorded)."""
    problems = json.dumps(
        {"problems": [_as_json(p) for p in state.problems], "held": state.held},
        ensure_ascii=False,
    )
    conn.execute(delete(notify_state).where(notify_state.c.id == ROW))
    conn.execute(
        insert(notify_state).values(
            id=ROW, inputs=state.inputs, wake=state.wake, problems=problems, taken_at=now
        )
    )


def _as_json(problem: Problem) -> dict[str, Any]:
    return {
        "file": problem.file,
        "line": problem.line,
        "column": problem.column,
        "path": list(problem.path),
        "severity": problem.severity.value,
        "code": problem.code,
        "message": problem.message,
        "hint": problem.hint,
    }


def _problem(found: dict[str, Any]) -> Problem:
    return Problem(
        file=str(found["file"]),
        line=int(found["line"]),
        column=int(found["column"]),
        path=tuple(part if isinstance(part, int) else str(part) for part in found["path"]),
        severity=Severity(found["severity"]),
        code=str(found["code"]),
        message=str(found["message"]),
        hint=None if found["hint"] is None else str(found["hint"]),
    )

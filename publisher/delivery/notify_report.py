"""What `publisher notify` and `publisher outbox` print: plain words for people, JSON for
tools."""

from __future__ import annotations

import json
from collections import Counter

from publisher.delivery.notify import NotifyReport
from publisher.delivery.outbox import OutboxRow
from publisher.plans.errors import Severity, count

SIGNUP = "signup"  # signups.OUTBOX_CHANNEL: people who signed up on the web app


def _recipient(item_kind: str, payload: dict[str, object], channel: str = "") -> str:
    if channel.startswith(SIGNUP):  # a person's address is never shown (signups.py)
        return "email a subscriber"
    if item_kind == "email":
        to = payload.get("to")
        return "email " + ", ".join(str(a) for a in to) if isinstance(to, list) else "email"
    if "url_env" in payload:  # a chat tool: its address is a secret, so only its variable
        return f"post to {payload.get('service')} (the address in {payload.get('url_env')})"
    return f"post to {payload.get('url')}"


def _what(item_kind: str, payload: dict[str, object]) -> str:
    if item_kind == "email":
        return str(payload.get("subject", ""))
    if "summary" in payload:
        return str(payload["summary"])
    body = payload.get("body")
    if isinstance(body, dict):
        entries = body.get("entries") or []
        if body.get("type") == "digest":
            return f"a digest of {count(len(entries), 'update')}"
        if entries and isinstance(entries[0], dict):
            title = entries[0].get("opportunity", {}).get("title", "")
            return f"{entries[0].get('heading')}: {title}"
    return ""


def text(report: NotifyReport, dry_run: bool = False) -> str:
    lines = [f"{report.mail}."] if report.mail else []
    for file in report.held:
        lines.append(
            f"Held {file}: it has errors, so its opportunities are neither announced nor "
            f"withdrawn until it is fixed. Run 'publisher check {file}'."
        )
    for problem in report.problems:
        if problem.severity is Severity.ERROR and problem.file not in report.held:
            lines.append(f"{problem.file}:{problem.line}: {problem.message}")
    if report.first_run:
        lines.append(
            "First run: what is in the plans now is recorded as published, without "
            "announcing it. From now on, changes are announced; reminders start now."
        )
    events = Counter(a.event for a in report.announcements)
    if events:
        said = ", ".join(f"{n} {event}" for event, n in sorted(events.items()))
        lines.append(f"Changes that matter: {said}.")
    elif not report.first_run:
        lines.append("No changes that matter since the last pass.")
    verb = "Would send" if dry_run else "Queued"
    lines.append(f"{verb} {count(len(report.queued), 'message')}.")
    for item in report.queued:
        lines.append(
            f"  {item.channel}: {_recipient(item.kind, item.payload, item.channel)}: "
            f"{_what(item.kind, item.payload)}"
        )
    if report.waiting:
        lines.append(f"{count(report.waiting, 'update')} put aside for daily or weekly digests.")
    if report.bounces is not None:
        lines.append(report.bounces.words())
    if dry_run:
        lines.append("Dry run: nothing was recorded or sent.")
    elif report.dispatch is not None:
        done = report.dispatch
        lines.append(
            f"Sent {done.sent}; {done.retried} to try again later; {done.failed} failed "
            "(see 'publisher outbox')."
        )
        for channel, notes in sorted(done.notes.items()):
            lines += [f"  {channel}: {note}" for note in notes]
    return "\n".join(lines) + "\n"


def outbox_text(
    rows: list[OutboxRow],
    backlog: dict[str, int],
    subscribers: dict[str, int] | None = None,
    suspended: list[tuple[str, str]] | None = None,
) -> str:
    lines = [", ".join(f"{n} {state}" for state, n in backlog.items()) + "."]
    if subscribers is not None:
        lines.append(
            f"Email sign-ups: {subscribers.get('confirmed', 0)} confirmed, "
            f"{subscribers.get('unconfirmed', 0)} waiting to confirm, "
            f"{subscribers.get('suspended', 0)} suspended."
        )
    for channel, reason in suspended or []:
        lines.append(f"suspended {channel}: {reason}")
    for row in rows:
        if row.sent_at is not None:
            when = f"sent {row.sent_at:%Y-%m-%d %H:%M} UTC"
        elif row.state.value in ("queued", "sending"):
            when = f"next try {row.next_attempt_at:%Y-%m-%d %H:%M} UTC"
        else:
            when = f"queued {row.created_at:%Y-%m-%d %H:%M} UTC"
        line = (
            f"{row.state.value:8} {when}  {row.channel}: "
            f"{_recipient(row.kind, row.payload, row.channel)}: "
            f"{_what(row.kind, row.payload)}"
        )
        lines.append(line)
        if row.last_error:
            lines.append(f"         after {count(row.attempts, 'try', 'tries')}: {row.last_error}")
        lines.append(f"         key: {row.key}")
    return "\n".join(lines) + "\n"


def outbox_json(
    rows: list[OutboxRow],
    backlog: dict[str, int],
    subscribers: dict[str, int] | None = None,
    suspended: list[tuple[str, str]] | None = None,
) -> str:
    return (
        json.dumps(
            {
                "backlog": backlog,
                **({"subscribers": subscribers} if subscribers is not None else {}),
                **(
                    {"suspended": [{"channel": c, "reason": r} for c, r in suspended]}
                    if suspended
                    else {}
                ),
                "items": [
                    {
                        "key": r.key,
                        "channel": r.channel,
                        "kind": r.kind,
                        "state": r.state.value,
                        "attempts": r.attempts,
                        "next_attempt_at": r.next_attempt_at.isoformat(),
                        "sent_at": r.sent_at.isoformat() if r.sent_at else None,
                        "last_error": r.last_error or None,
                        "to": _recipient(r.kind, r.payload, r.channel),
                        "what": _what(r.kind, r.payload),
                    }
                    for r in rows
                ],
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )

"""Who an email channel writes to: its `to:` addresses, and members' addresses kept outside
git (a file, an environment variable); and an outbox item for many addresses split into one
item per address, so no member ever sees another's address."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, select, update

from publisher.delivery.claims import State
from publisher.delivery.database import insert_new, outbox
from publisher.delivery.email_message import UnsafeMessageError, checked_address
from publisher.plans.model import EmailChannel

# An item's payload says this when it is for many addresses: it waits to be split. Payloads
# are JSON written with sort_keys and the default separators, so this is how it appears.
EACH = '"each": true'


class RecipientsError(ValueError):
    """The addresses cannot be read; the text says where and why, in plain words."""


@dataclass(frozen=True)
class Source:
    """Where a channel's addresses come from."""

    to: tuple[str, ...]
    to_file: str | None = None
    to_env: str | None = None

    @classmethod
    def of(cls, channel: EmailChannel) -> Source:
        return cls(tuple(channel.to), channel.to_file, channel.to_env)

    @property
    def each(self) -> bool:
        """Whether every address gets a message of its own (any but a single `to:`)."""
        return len(self.to) > 1 or self.to_file is not None or self.to_env is not None


def read(source: Source, environ: Mapping[str, str] | None = None) -> list[str]:
    """Every address, once each (the first spelling kept), in order. Raises
    RecipientsError naming the file and line, or the variable, of what is wrong."""
    environ = os.environ if environ is None else environ
    found: list[tuple[str, str]] = [(address, "to:") for address in source.to]
    if source.to_file is not None:
        path = Path(source.to_file)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "it is not UTF-8 text"
            raise RecipientsError(
                f"the address file {path} (to_file) cannot be read: {reason or error}"
            ) from None
        for number, line in enumerate(text.splitlines(), start=1):
            address = line.split("#", 1)[0].strip()
            if address:
                found.append((address, f"line {number} of {path}"))
    if source.to_env is not None:
        value = environ.get(source.to_env)
        if value is None:
            raise RecipientsError(f"the environment variable {source.to_env} (to_env) is not set")
        found += [(a, f"the variable {source.to_env}") for a in re.split(r"[\s,;]+", value) if a]
    addresses: dict[str, str] = {}
    for address, where in found:
        try:
            checked_address(address, "the address")
        except UnsafeMessageError:
            raise RecipientsError(f"{where}: {address!r} is not an email address") from None
        addresses.setdefault(address.lower(), address)
    if not addresses:
        raise RecipientsError("the channel has no addresses to write to")
    return list(addresses.values())


def mark(payload: dict[str, Any], source: Source) -> dict[str, Any]:
    """An email payload for a channel whose addresses each get their own message."""
    if not source.each:
        return payload
    return {**payload, "each": True, "to_file": source.to_file, "to_env": source.to_env}


def split_key(key: str, address: str) -> str:
    return f"{key}|to:{address.lower()}"


def split_range(key: str) -> tuple[str, str]:
    """The keys of one item's per-address items lie between these two (';' follows ':')."""
    return f"{key}|to:", f"{key}|to;"


def split_due(
    engine: Engine,
    now: datetime,
    *,
    max_attempts: int,
    base_delay: timedelta,
    max_delay: timedelta,
    environ: Mapping[str, str] | None = None,
) -> list[str]:
    """Split each due item for many addresses into one queued item per address (its own
    key and Message-ID), in one transaction, the item for many removed. When the addresses
    cannot be read, the item waits and is tried again with backoff, then is parked as
    failed with the reason (`publisher outbox --retry` queues it again). Returns notes."""
    notes: list[str] = []
    with engine.connect() as conn:
        rows = conn.execute(
            select(outbox.c.id, outbox.c.key, outbox.c.channel, outbox.c.payload,
                   outbox.c.attempts, outbox.c.created_at)
            .where(outbox.c.state == State.QUEUED.value, outbox.c.next_attempt_at <= now,
                   outbox.c.payload.contains(EACH, autoescape=True))
            .order_by(outbox.c.id)
        ).all()  # fmt: skip
    for row in rows:
        payload: dict[str, Any] = json.loads(row.payload)
        source = Source(
            tuple(payload.get("to") or ()), payload.get("to_file"), payload.get("to_env")
        )
        with engine.begin() as conn:
            try:
                addresses = read(source, environ)
            except RecipientsError as error:
                attempts = row.attempts + 1
                delay = min(base_delay * 2 ** min(attempts, 30), max_delay)
                parked = attempts >= max_attempts
                conn.execute(
                    update(outbox)
                    .where(outbox.c.id == row.id, outbox.c.state == State.QUEUED.value)
                    .values(attempts=attempts, last_error=str(error), next_attempt_at=now + delay,
                            state=(State.FAILED if parked else State.QUEUED).value)
                )  # fmt: skip
                notes.append(f"{row.channel}: {error}")
                continue
            single = {k: v for k, v in payload.items() if k not in ("each", "to_file", "to_env")}
            conn.execute(
                insert_new(conn, outbox),
                [
                    {"key": split_key(row.key, address), "channel": row.channel, "kind": "email",
                     "payload": json.dumps(
                         {**single, "to": [address],
                          "message_id": _message_id(payload, split_key(row.key, address))},
                         sort_keys=True, ensure_ascii=False),
                     "state": State.QUEUED.value, "attempts": 0, "next_attempt_at": now,
                     "last_error": "", "created_at": row.created_at}
                    for address in addresses
                ],
            )  # fmt: skip
            conn.execute(
                delete(outbox).where(outbox.c.id == row.id, outbox.c.state == State.QUEUED.value)
            )
    return notes


def _message_id(payload: dict[str, Any], key: str) -> str:
    """Stable for each address's item, on the same host as the item for many."""
    host = str(payload.get("message_id", "<x@localhost>")).rstrip(">").rpartition("@")[2]
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{host or 'localhost'}>"

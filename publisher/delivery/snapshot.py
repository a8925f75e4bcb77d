"""The published snapshot: what the public was last told about each opportunity, stored."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from publisher.delivery.database import published, snapshot_log


@dataclass(frozen=True)
class Published:
    key: str  # commissioner/opportunity
    commissioner: str
    opportunity: str
    version: str  # a hash of the content
    content: dict[str, Any]
    first_published: date | None
    published_at: datetime  # when this version was recorded
    withdrawn_at: datetime | None  # when it left the plans; None while it is in them


def load_published(conn: Connection) -> dict[str, Published]:
    """Every opportunity ever published, withdrawn ones included, by key."""
    return {
        row.key: Published(
            key=row.key,
            commissioner=row.commissioner,
            opportunity=row.opportunity,
            version=row.version,
            content=json.loads(row.content),
            first_published=row.first_published,
            published_at=row.published_at,
            withdrawn_at=row.withdrawn_at,
        )
        for row in conn.execute(select(published).order_by(published.c.key))
    }


def record(
    conn: Connection,
    current: Mapping[str, tuple[str, dict[str, Any], date | None]],
    now: datetime,
    source: str,
    stored: Mapping[str, Published] | None = None,
) -> int:
    """Record `current` (key -> (version, content, first_published)) as published: new and
    changed versions stored, missing keys marked withdrawn, returning keys restored; logs the
    snapshot and returns how many rows changed. Runs in the caller's transaction, so the
    outbox items announcing these changes are committed with it. `stored`: the snapshot as
    loaded already in this transaction (else it is loaded)."""
    stored = load_published(conn) if stored is None else stored
    changes = 0
    for key, (version, content, first_published) in sorted(current.items()):
        commissioner, opportunity = _split(key)
        before = stored.get(key)
        if before is None:
            text = json.dumps(content, sort_keys=True, ensure_ascii=False)
            conn.execute(
                insert(published).values(
                    key=key,
                    commissioner=commissioner,
                    opportunity=opportunity,
                    version=version,
                    content=text,
                    first_published=first_published,
                    published_at=now,
                    withdrawn_at=None,
                )
            )
            changes += 1
            continue
        # The earliest date we have ever known stays: a notice period counts from it.
        earliest = min(
            (day for day in (before.first_published, first_published) if day is not None),
            default=None,
        )
        values: dict[str, Any] = {}
        if before.version != version:
            text = json.dumps(content, sort_keys=True, ensure_ascii=False)
            values.update(version=version, content=text, published_at=now)
        if before.withdrawn_at is not None:
            values.update(withdrawn_at=None)
        if earliest != before.first_published:
            values.update(first_published=earliest)
        if values:
            conn.execute(update(published).where(published.c.key == key).values(**values))
            changes += 1
    for key in sorted(stored.keys() - current.keys()):
        if stored[key].withdrawn_at is None:
            # The last content is kept: a withdrawal notice says what was withdrawn.
            conn.execute(update(published).where(published.c.key == key).values(withdrawn_at=now))
            changes += 1
    conn.execute(
        insert(snapshot_log).values(
            taken_at=now, source=source, opportunities=len(current), changes=changes
        )
    )
    return changes


def _split(key: str) -> tuple[str, str]:
    commissioner, slash, opportunity = key.partition("/")
    if not (commissioner and slash and opportunity):
        raise ValueError(f"{key!r} is not a commissioner/opportunity key")
    return commissioner, opportunity

"""The published snapshot on real SQLite and PostgreSQL: recorded, withdrawn, restored."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from publisher.delivery.database import snapshot_log
from publisher.delivery.snapshot import Published, load_published, record

T0 = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
KEY = "leeds-icb/link-workers"
OTHER = "kirklees-council/carers"


def take(engine: Engine, current: dict[str, Any], now: datetime, source: str = "abc123") -> int:
    with engine.begin() as conn:
        return record(conn, current, now, source)


def published(engine: Engine) -> dict[str, Published]:
    with engine.connect() as conn:
        return load_published(conn)


def test_a_first_snapshot_stores_every_opportunity(database: Engine) -> None:
    content = {"title": "Link workers", "value": {"total": 1_200_000}, "places": ["leeds"]}
    current = {KEY: ("v1", content, date(2026, 11, 2)), OTHER: ("w1", {"title": "Carers"}, None)}
    assert take(database, current, T0) == 2
    found = published(database)
    assert found[KEY] == Published(
        key=KEY,
        commissioner="leeds-icb",
        opportunity="link-workers",
        version="v1",
        content=content,
        first_published=date(2026, 11, 2),
        published_at=T0,
        withdrawn_at=None,
    )
    assert found[OTHER].first_published is None
    with database.connect() as conn:
        log = conn.execute(select(snapshot_log)).one()
    assert (log.taken_at, log.source, log.opportunities, log.changes) == (T0, "abc123", 2, 2)


def test_only_changed_versions_are_rewritten(database: Engine) -> None:
    take(database, {KEY: ("v1", {"n": 1}, None), OTHER: ("w1", {"n": 1}, None)}, T0)
    later = T0 + timedelta(days=1)
    assert take(database, {KEY: ("v2", {"n": 2}, None), OTHER: ("w1", {"n": 1}, None)}, later) == 1
    found = published(database)
    assert (found[KEY].version, found[KEY].content, found[KEY].published_at) == (
        "v2",
        {"n": 2},
        later,
    )
    assert found[OTHER].published_at == T0
    assert take(database, {KEY: ("v2", {"n": 2}, None), OTHER: ("w1", {"n": 1}, None)}, later) == 0


def test_the_earliest_first_published_date_is_kept(database: Engine) -> None:
    take(database, {KEY: ("v1", {}, date(2026, 10, 1))}, T0)
    take(database, {KEY: ("v2", {}, date(2026, 12, 1))}, T0 + timedelta(days=1))
    assert published(database)[KEY].first_published == date(2026, 10, 1)
    take(database, {KEY: ("v3", {}, None)}, T0 + timedelta(days=2))
    assert published(database)[KEY].first_published == date(2026, 10, 1)
    # An earlier date learned later (from git history) is taken even without a new version.
    assert take(database, {KEY: ("v3", {}, date(2026, 9, 1))}, T0 + timedelta(days=3)) == 1
    assert published(database)[KEY].first_published == date(2026, 9, 1)


def test_a_missing_opportunity_is_withdrawn_and_restored_when_it_returns(
    database: Engine,
) -> None:
    take(database, {KEY: ("v1", {"title": "Link workers"}, None), OTHER: ("w1", {}, None)}, T0)
    gone = T0 + timedelta(days=1)
    assert take(database, {OTHER: ("w1", {}, None)}, gone) == 1
    withdrawn = published(database)[KEY]
    assert withdrawn.withdrawn_at == gone
    assert withdrawn.content == {"title": "Link workers"}  # kept for the withdrawal notice
    assert take(database, {OTHER: ("w1", {}, None)}, gone + timedelta(days=1)) == 0
    assert published(database)[KEY].withdrawn_at == gone

    back = T0 + timedelta(days=5)
    assert take(database, {KEY: ("v1", {"title": "Link workers"}, None)}, back) == 2
    found = published(database)
    assert found[KEY].withdrawn_at is None
    assert found[KEY].published_at == T0  # the same version as before
    assert found[OTHER].withdrawn_at == back


def test_every_snapshot_is_logged(database: Engine) -> None:
    take(database, {KEY: ("v1", {}, None)}, T0, source="abc123")
    take(database, {KEY: ("v1", {}, None)}, T0 + timedelta(hours=1), source="working tree")
    with database.connect() as conn:
        logs = conn.execute(select(snapshot_log).order_by(snapshot_log.c.id)).all()
    assert [(log.source, log.opportunities, log.changes) for log in logs] == [
        ("abc123", 1, 1),
        ("working tree", 1, 0),
    ]


def test_a_key_without_a_commissioner_is_refused(database: Engine) -> None:
    with pytest.raises(ValueError, match="not a commissioner/opportunity key"):
        take(database, {"link-workers": ("v1", {}, None)}, T0)

"""Fixtures shared by every test folder: the state database, on SQLite and on real PostgreSQL
(delivery, snapshot, scheduler and lock tests run on both)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import settings
from psycopg import sql
from sqlalchemy import Engine, delete

from publisher.delivery.database import connect, create_or_upgrade, metadata, schema_version

# Generated-input tests check what happens, never how fast: hypothesis's 200 ms deadline a
# case would fail a test on a busy machine (speed is measured in bench/).
settings.register_profile("publisher", deadline=None)
settings.load_profile("publisher")

POSTGRESQL_SERVER = "host=127.0.0.1 port=5432 user=postgres"


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, dropped at the end. Fails (never
    skips) when the server is down: both engines are part of the delivery guarantee."""
    name = f"publisher_test_{os.getpid()}"
    admin: psycopg.Connection[Any] | None = None
    problem = ""
    try:
        admin = psycopg.connect(
            f"{POSTGRESQL_SERVER} dbname=postgres", autocommit=True, connect_timeout=5
        )
    except psycopg.OperationalError as error:
        problem = str(error).splitlines()[0]
    if admin is None:
        pytest.fail(
            f"PostgreSQL is not running on 127.0.0.1:5432 ({problem}). The delivery tests "
            "need it: .ci/run starts it, or run "
            "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
            pytrace=False,
        )
    with admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield f"postgresql://postgres@127.0.0.1:5432/{name}"
        finally:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="session")
def postgresql_engine(postgresql_url: str) -> Iterator[Engine]:
    engine = connect(postgresql_url)
    create_or_upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on empty, up-to-date tables: a SQLite file, or the run's PostgreSQL
    database with its tables emptied first."""
    if request.param == "sqlite":
        engine = connect(f"sqlite:///{tmp_path / 'publisher.db'}")
        create_or_upgrade(engine)
        yield engine
        engine.dispose()
        return
    engine = request.getfixturevalue("postgresql_engine")
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            if table is not schema_version:
                conn.execute(delete(table))
    yield engine


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's package) through Playwright, for the page tests."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only page tests need it

    from tests.formats.test_browser import CHROMIUM, CHROMIUM_ARGS  # noqa: PLC0415

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run 'make tools' to install Debian's chromium")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()

"""The one-sender lock on both databases: one holder at a time, free again on release and
when the holder's process (here, its connection or file) goes away."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from sqlalchemy import Engine

from publisher.service.lock import ADVISORY_KEY, AdvisoryLock, FileLock, lock_for


def test_one_holder_at_a_time(database: Engine) -> None:
    first, second = lock_for(database), lock_for(database)
    expected = AdvisoryLock if database.dialect.name == "postgresql" else FileLock
    assert isinstance(first, expected)
    assert first.acquire() and first.held
    assert first.acquire()  # asking again while holding it is fine
    assert not second.acquire() and not second.held
    first.release()
    assert second.acquire()
    second.release()


def test_a_file_lock_beside_the_database(tmp_path: Path) -> None:
    lock = FileLock(tmp_path / "state" / "publisher.db.scheduler.lock")
    assert lock.acquire()
    assert (tmp_path / "state" / "publisher.db.scheduler.lock").read_text().strip().isdigit()
    lock.release()


def test_a_lost_postgresql_session_is_noticed(postgresql_engine: Engine) -> None:
    """The holder's session ended from outside (pg_terminate_backend): PostgreSQL frees
    the lock, another instance takes it, and the first one knows it no longer holds it."""
    first, second = AdvisoryLock(postgresql_engine), AdvisoryLock(postgresql_engine)
    try:
        assert first.acquire() and first.still_held()
        terminate_holder(postgresql_engine)
        wait_until(second.acquire, "the second instance takes the freed lock")
        assert not first.still_held() and not first.held
        assert not first.acquire()  # the second one has it now
        assert second.still_held()
    finally:
        first.release()
        second.release()


def test_a_deleted_lock_file_is_noticed(tmp_path: Path) -> None:
    """The kernel locks the file, not its name: once it is deleted, a second instance can
    lock a new file at the same path. The first then finds that the path no longer names
    its file, lets go, and cannot take the lock back while the second holds it."""
    path = tmp_path / "publisher.db.scheduler.lock"
    first, second = FileLock(path), FileLock(path)
    assert first.acquire() and first.still_held()
    path.unlink()
    assert second.acquire()
    assert not first.still_held() and not first.held
    assert not first.acquire()
    second.release()


def test_a_holder_whose_lock_file_was_deleted_takes_it_again_when_free(tmp_path: Path) -> None:
    path = tmp_path / "publisher.db.scheduler.lock"
    first, second = FileLock(path), FileLock(path)
    assert first.acquire()
    path.unlink()
    assert not first.still_held()
    assert first.acquire() and path.exists()  # nobody took it: a new file, locked again
    assert not second.acquire()
    first.release()


def terminate_holder(engine: Engine) -> None:
    """Ends, from another connection, the session holding the publisher's advisory lock."""
    with psycopg.connect(engine.url.set(drivername="postgresql").render_as_string(False)) as conn:
        ended = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
            " AND objid = %s AND database = (SELECT oid FROM pg_database"
            " WHERE datname = current_database())",
            (ADVISORY_KEY,),
        ).fetchall()
    assert ended == [(True,)], ended


def wait_until(what: Callable[[], bool], why: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not what():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {why}")
        time.sleep(0.02)

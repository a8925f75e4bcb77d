"""The one-sender lock on both databases: one holder at a time, free again on release and
when the holder's process (here, its connection or file) goes away."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from publisher.service.lock import AdvisoryLock, FileLock, lock_for


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

"""The one-sender lock: only the `publisher run` holding it builds, announces and sends; any
other serves the web and waits to take over. A file lock beside an SQLite database, a
PostgreSQL advisory lock (held by one open connection) for PostgreSQL.

A lock can be lost while held (the lock file deleted, the database session ended), so the
holder asks `still_held()` before each build and each send pass, and every few seconds.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

ADVISORY_KEY = 0x46505055  # "FPPU": the same number in every publisher


class Lock(Protocol):
    def acquire(self) -> bool:
        """Take the lock if it is free; True while this process holds it."""
        ...

    def still_held(self) -> bool:
        """Whether the lock this process took is still its own (asked of the kernel or the
        database, not remembered); when it is not, it is let go and False returned."""
        ...

    def release(self) -> None: ...

    @property
    def held(self) -> bool: ...

    def describe(self) -> str:
        """Which lock, in words (for /healthz details)."""
        ...


class FileLock:
    """flock(2) on a file: released by the kernel when the process dies, so a killed
    scheduler never leaves a stale lock behind.

    The kernel locks the file, not its name: once the file is deleted, another process can
    make a new one at the same path and lock that. So the holder checks that the path
    still names the file it locked; when it does not, it has lost the lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None
        self._guard = threading.Lock()  # the scheduler's threads share one lock object

    @property
    def held(self) -> bool:
        return self._file is not None

    def describe(self) -> str:
        return f"the lock file {self.path}"

    def acquire(self) -> bool:
        with self._guard:
            if self._file is not None:
                return True
            self.path.parent.mkdir(parents=True, exist_ok=True)
            file = self.path.open("a")
            try:
                fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                file.close()
                return False
            if not _names(self.path, file):  # deleted between opening and locking
                file.close()
                return False
            file.truncate(0)
            file.write(f"{os.getpid()}\n")
            file.flush()
            self._file = file
            return True

    def still_held(self) -> bool:
        with self._guard:
            if self._file is None:
                return False
            if _names(self.path, self._file):
                return True
            self._file.close()  # a lock on a file nobody can find any more: let it go
            self._file = None
            return False

    def release(self) -> None:
        with self._guard:
            if self._file is not None:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
                self._file.close()
                self._file = None


def _names(path: Path, file: IO[str]) -> bool:
    """Whether `path` is the name of the open `file` (not deleted, not replaced)."""
    try:
        named = os.stat(path)
    except OSError:
        return False
    opened = os.fstat(file.fileno())
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


class AdvisoryLock:
    """pg_try_advisory_lock on a connection kept open: PostgreSQL frees it when that
    connection ends, including when the process dies."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Connection | None = None
        self._guard = threading.Lock()  # one connection, shared by the scheduler's threads

    @property
    def held(self) -> bool:
        return self._conn is not None

    def describe(self) -> str:
        return f"PostgreSQL advisory lock {ADVISORY_KEY}"

    def acquire(self) -> bool:
        with self._guard:
            if self._conn is not None:
                return True
            conn = self.engine.connect()
            try:
                got = bool(
                    conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY})
                )
                conn.commit()
            except SQLAlchemyError:
                conn.close()
                return False
            if not got:
                conn.close()
                return False
            self._conn = conn
            return True

    def still_held(self) -> bool:
        with self._guard:
            if self._conn is None:
                return False
            try:
                # The lock as the server sees it, on the session that took it: a session
                # ended from outside (pg_terminate_backend, a restart) fails here.
                mine = self._conn.scalar(_MINE, {"key": ADVISORY_KEY})
                self._conn.commit()
            except SQLAlchemyError:
                mine = 0
            if mine:
                return True
            _drop(self._conn)
            self._conn = None
            return False

    def release(self) -> None:
        with self._guard:
            if self._conn is not None:
                try:
                    self._conn.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY}
                    )
                    self._conn.commit()
                    self._conn.close()
                except SQLAlchemyError:
                    _drop(self._conn)  # the session is gone, and the lock with it
                self._conn = None


# A bigint advisory key shows in pg_locks as its high and low 32 bits (classid, objid).
_MINE = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND objsubid = 1"
    " AND classid = (CAST(:key AS bigint) >> 32)::oid"
    " AND objid = (CAST(:key AS bigint) & 4294967295)::oid"
)


def _drop(conn: Connection) -> None:
    try:
        conn.invalidate()
        conn.close()
    except SQLAlchemyError:
        pass


def lock_for(engine: Engine) -> Lock:
    """The right lock for the database the service uses."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine)
    database = engine.url.database
    where = Path(database) if database and database != ":memory:" else Path("publisher.db")
    return FileLock(where.with_name(where.name + ".scheduler.lock"))

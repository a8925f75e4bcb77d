"""The one-sender lock: only the `publisher run` holding it builds, announces and sends; any
other serves the web and waits to take over. A file lock beside an SQLite database, a
PostgreSQL advisory lock (held by one open connection) for PostgreSQL."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import Connection, Engine, text

ADVISORY_KEY = 0x46505055  # "FPPU": the same number in every publisher


class Lock(Protocol):
    def acquire(self) -> bool:
        """Take the lock if it is free; True while this process holds it."""
        ...

    def release(self) -> None: ...

    @property
    def held(self) -> bool: ...


class FileLock:
    """flock(2) on a file: released by the kernel when the process dies, so a killed
    scheduler never leaves a stale lock behind."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def acquire(self) -> bool:
        if self._file is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        file = self.path.open("a")
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            file.close()
            return False
        file.truncate(0)
        file.write(f"{os.getpid()}\n")
        file.flush()
        self._file = file
        return True

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class AdvisoryLock:
    """pg_try_advisory_lock on a connection kept open: PostgreSQL frees it when that
    connection ends, including when the process dies."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Connection | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None

    def acquire(self) -> bool:
        if self._conn is not None:
            return True
        conn = self.engine.connect()
        got = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}))
        conn.commit()
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def release(self) -> None:
        if self._conn is not None:
            self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
            self._conn.commit()
            self._conn.close()
            self._conn = None


def lock_for(engine: Engine) -> Lock:
    """The right lock for the database the service uses."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine)
    database = engine.url.database
    where = Path(database) if database and database != ":memory:" else Path("publisher.db")
    return FileLock(where.with_name(where.name + ".scheduler.lock"))

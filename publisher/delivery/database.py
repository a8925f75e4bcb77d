"""The publisher's state tables (outbox, published snapshot, email sign-ups) and how to open
and upgrade them."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Date,
    DateTime,
    Dialect,
    Engine,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    create_engine,
    event,
    func,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.sql.dml import Insert
from sqlalchemy.types import TypeDecorator

from publisher.settings import mask_password

SQLITE_BUSY_TIMEOUT_MS = 30_000  # writers queue behind each other rather than fail
POSTGRESQL_CONNECT_TIMEOUT_S = 10


class DatabaseError(Exception):
    """The database cannot be reached, opened or upgraded; the message says which and why."""


class UTCDateTime(TypeDecorator[datetime]):
    """A moment in time, stored as UTC and always read back timezone-aware in UTC.

    SQLite has no time zones (it keeps text), so values go in as naive UTC text, which also
    keeps them in time order when compared as text; PostgreSQL keeps `timestamptz`.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"a naive datetime ({value}) would be ambiguous; give it a zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", UTCDateTime, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    # channel, opportunity, event and version: the same announcement always has the same key
    Column("key", Text, nullable=False, unique=True),
    Column("channel", Text, nullable=False),
    Column("kind", Text, nullable=False),  # email | webhook
    Column("payload", Text, nullable=False),  # JSON
    Column("state", Text, nullable=False),  # queued | sending | sent | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claimed_until", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    # When the send in progress began, committed before it begins: an item still `sending`
    # with this set when its lease runs out was cut off (a crash), and may have arrived.
    Column("started_at", UTCDateTime, nullable=True),  # schema version 3
    # How many of its sends were cut off that way: the second time, it is not sent again.
    Column("cut_off", Integer, nullable=False, default=0, server_default="0"),  # version 3
    Index("outbox_due", "state", "next_attempt_at"),
    # each channel's dispatcher claims its own due items (schema version 2)
    Index("outbox_channel_due", "channel", "state", "next_attempt_at"),
)

published = Table(
    "published",
    metadata,
    Column("key", Text, primary_key=True),  # commissioner/opportunity
    Column("commissioner", Text, nullable=False),
    Column("opportunity", Text, nullable=False),
    Column("version", Text, nullable=False),  # a hash of the content
    Column("content", Text, nullable=False),  # JSON
    Column("first_published", Date, nullable=True),
    Column("published_at", UTCDateTime, nullable=False),  # when this version was recorded
    Column("withdrawn_at", UTCDateTime, nullable=True),
)

# Announcements and reminders waiting for a channel's daily or weekly digest. Each is put
# into exactly one digest: `digest` holds that digest's outbox key once it is queued.
digest_entries = Table(
    "digest_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", Text, nullable=False, unique=True),  # as an outbox key: never twice
    Column("channel", Text, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),  # the digest it belongs in
    Column("payload", Text, nullable=False),  # JSON: the entry as the digest shows it
    Column("digest", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("digest_entries_due", "channel", "digest", "due_at"),
)

# Each channel as the publisher last knew it: a channel not here is new and is sent a
# welcome; one whose filter differs from `filter` is sent what its wider filter now takes.
# `since` is when this filter took effect: reminders that fell due before it are not sent.
channel_state = Table(
    "channel_state",
    metadata,
    Column("channel", Text, primary_key=True),  # organisation/channel
    Column("filter", Text, nullable=False),  # JSON: the channel's filter
    Column("since", UTCDateTime, nullable=False),
)
# A row with this channel name means "adopt the channels there are, without a welcome": an
# upgraded database's channels were there before welcomes were.
ADOPT = "*"

# What the last full notify pass was made from (a digest of the plans, channels and sign-ups
# it read), what it found wrong in them, and when a reminder or digest next falls due: a pass
# that finds the same before then has nothing to announce, remind of or welcome (notify.py).
# One row, written in the pass's transaction with the snapshot. Schema version 6.
notify_state = Table(
    "notify_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("inputs", Text, nullable=False),  # the digest of what the pass read
    Column("wake", UTCDateTime, nullable=True),  # the next reminder due; None: none to come
    Column("problems", Text, nullable=False),  # JSON: the problems and held files it found
    Column("taken_at", UTCDateTime, nullable=False),
)

snapshot_log = Table(
    "snapshot_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("taken_at", UTCDateTime, nullable=False),
    Column("source", Text, nullable=False),  # a git commit, or "working tree"
    Column("opportunities", Integer, nullable=False),
    Column("changes", Integer, nullable=False),
)

# People who signed up for email alerts on the web app (signups.py). `uid` is the random
# name used everywhere else (outbox channel `signup/<uid>`, tokens, logs): the address is
# only ever in this table and in the outbox payloads of messages to it. Schema version 5.
signups = Table(
    "signups",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uid", Text, nullable=False, unique=True),
    Column("address", Text, nullable=False, unique=True),  # lower case
    Column("choice", Text, nullable=False),  # JSON: {"place": [...], "theme": [...], ...}
    Column("cadence", Text, nullable=False),  # immediate | daily | weekly
    Column("state", Text, nullable=False),  # unconfirmed | confirmed | suspended
    Column("reason", Text, nullable=False, default=""),  # why it is suspended
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("confirmed_at", UTCDateTime, nullable=True),
    # The last confirmation (or "your link") email: at most one a window per address.
    Column("mailed_at", UTCDateTime, nullable=True),
    Column("mailings", Integer, nullable=False, default=0),  # how many such, for their keys
    Index("signups_state", "state", "created_at"),
)

# Keys the publisher made for itself: the key that signs sign-up links when
# PUBLISHER_SECRET_KEY is not set (made once, kept here for every instance). Version 5.
secret_keys = Table(
    "secret_keys",
    metadata,
    Column("name", Text, primary_key=True),
    Column("value", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)


# Upgrades of an existing database, oldest first: _UPGRADES[0] takes version 1 to 2, and so
# on. A change to a table above goes there too, as a step that alters old databases without
# losing their rows (add a column with a default, copy data, never drop what holds data).
# A new database is created at the newest version at once, from the tables above.
def _channel_index(conn: Connection) -> None:
    """Version 2: claiming a channel's due items no longer scans every due item."""
    index = next(i for i in outbox.indexes if i.name == "outbox_channel_due")
    index.create(conn, checkfirst=True)


def _send_started(conn: Connection) -> None:
    """Version 3: the outbox records when a send starts, and how many were cut off."""
    started = outbox.c.started_at.type.compile(dialect=conn.dialect)
    conn.exec_driver_sql(f"ALTER TABLE outbox ADD COLUMN started_at {started}")
    conn.exec_driver_sql("ALTER TABLE outbox ADD COLUMN cut_off INTEGER NOT NULL DEFAULT 0")


def _channel_state(conn: Connection) -> None:
    """Version 4: channels are remembered, so a new one is welcomed (the ones there are
    now are adopted at the next pass, without a welcome)."""
    channel_state.create(conn, checkfirst=True)
    conn.execute(insert(channel_state).values(channel=ADOPT, filter="{}", since=datetime.now(UTC)))


def _signups(conn: Connection) -> None:
    """Version 5: email sign-ups from the web app, and the key that signs their links."""
    signups.create(conn, checkfirst=True)
    secret_keys.create(conn, checkfirst=True)


def _notify_state(conn: Connection) -> None:
    """Version 6: a notify pass with nothing changed since the last one reads nothing."""
    notify_state.create(conn, checkfirst=True)


_UPGRADES: list[Callable[[Connection], None]] = [
    _channel_index,
    _send_started,
    _channel_state,
    _signups,
    _notify_state,
]
SCHEMA_VERSION = 1 + len(_UPGRADES)


def connect(url: str) -> Engine:
    """An engine for a SQLite file (its folder created if need be) or a PostgreSQL database,
    checked by connecting once. Raises DatabaseError when it cannot be opened."""
    shown = mask_password(url)
    try:
        parsed = make_url(_with_driver(url))
    except ArgumentError:
        raise DatabaseError(
            f"{shown!r} is not a database address; write sqlite:///publisher.db "
            "or postgresql://user:password@host:5432/name"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite(parsed, shown)
    elif parsed.get_backend_name() == "postgresql":
        engine = create_engine(
            parsed,
            pool_pre_ping=True,
            connect_args={"connect_timeout": POSTGRESQL_CONNECT_TIMEOUT_S},
        )
    else:
        raise DatabaseError(f"{shown!r} is neither SQLite nor PostgreSQL, the two we support")
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as error:
        engine.dispose()
        raise DatabaseError(f"cannot open the database {shown}: {_reason(error)}") from None
    return engine


def insert_new(conn: Connection, table: Table) -> Insert:
    """An INSERT that skips rows whose key is already there (the outbox and digest entries
    are keyed so that a restart never queues anything twice). `connect` opens only SQLite
    and PostgreSQL, the two engines this is written for."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=["key"])
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=["key"])
    raise DatabaseError(
        f"the publisher keeps its state in SQLite or PostgreSQL, not {conn.dialect.name}"
    )


def create_or_upgrade(engine: Engine, now: datetime | None = None) -> int:
    """Create the tables in a new database, or bring an older one up to date, keeping its
    data. Returns the schema version the database is now at."""
    when = now or datetime.now(UTC)
    try:
        with engine.begin() as conn:
            schema_version.create(conn, checkfirst=True)
            found = conn.scalar(select(func.max(schema_version.c.version)))
            if found is None:
                metadata.create_all(conn)
                conn.execute(insert(schema_version).values(version=SCHEMA_VERSION, applied_at=when))
            elif found > SCHEMA_VERSION:
                raise DatabaseError(
                    f"the database is at schema version {found}, made by a newer publisher "
                    f"than this one (which knows up to version {SCHEMA_VERSION}); upgrade it"
                )
            for version in range(found or SCHEMA_VERSION, SCHEMA_VERSION):
                _UPGRADES[version - 1](conn)
                conn.execute(insert(schema_version).values(version=version + 1, applied_at=when))
    except SQLAlchemyError as error:
        shown = engine.url.render_as_string(hide_password=True)
        raise DatabaseError(f"cannot set up the database {shown}: {_reason(error)}") from None
    return SCHEMA_VERSION


def _with_driver(url: str) -> str:
    # SQLAlchemy's default PostgreSQL driver is psycopg2; we install psycopg 3.
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def _sqlite(url: URL, shown: str) -> Engine:
    path = url.database or ""
    if path and path != ":memory:" and not path.startswith("file:"):
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DatabaseError(
                f"cannot make the folder for the database {shown}: {error.strerror}"
            ) from None
    engine = create_engine(url)
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    assert isinstance(dbapi_connection, sqlite3.Connection)
    cursor = dbapi_connection.cursor()
    # WAL lets the web app read while the dispatcher writes; the busy timeout makes a writer
    # wait its turn; SQLite leaves foreign keys off unless asked.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _reason(error: SQLAlchemyError) -> str:
    # The driver's own first line says what went wrong ("connection refused", "unable to
    # open database file") without SQLAlchemy's wrapping and links.
    original = getattr(error, "orig", None) or error
    lines = str(original).strip().splitlines()
    return mask_password(lines[0]) if lines else type(original).__name__

"""Email sign-ups from the web app, as rows of the signups table: asked for, confirmed,
changed, suspended after a permanent delivery failure, left, exported and forgotten.
A sign-up is known everywhere else by its random uid (its outbox channel is
`signup/<uid>`); its address is only here and in the payloads of messages to it."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from publisher.delivery.database import channel_state, digest_entries, outbox, signups

CADENCES = ("immediate", "daily", "weekly")
KINDS = ("place", "theme", "funding")  # what a sign-up chooses, as filtered feeds name them
PREFIX = "signup/"  # a sign-up's channel (keys, digests, welcomes) is PREFIX + its uid
# Its messages, though, all wait in this one outbox channel: they all go to the same mail
# server, so they are sent in turn over one connection rather than a turn each.
OUTBOX_CHANNEL = "signup"


class SignupState(StrEnum):
    UNCONFIRMED = "unconfirmed"
    CONFIRMED = "confirmed"
    SUSPENDED = "suspended"


@dataclass(frozen=True)
class Signup:
    uid: str
    address: str
    choice: dict[str, list[str]]
    cadence: str
    state: SignupState
    reason: str
    created_at: dt.datetime
    updated_at: dt.datetime
    confirmed_at: dt.datetime | None
    mailed_at: dt.datetime | None
    mailings: int

    @property
    def channel(self) -> str:
        return PREFIX + self.uid


@dataclass(frozen=True)
class Asked:
    """What a sign-up form asked for came to: the sign-up, and the email to send now
    ("confirm", "link" for a confirmed address's manage link, or None: nothing)."""

    signup: Signup
    send: str | None


def normal(address: str) -> str:
    return address.strip().lower()


def clean_choice(choice: dict[str, Any]) -> dict[str, list[str]]:
    return {kind: sorted({str(v) for v in choice.get(kind) or ()}) for kind in KINDS}


def _signup(row: Any) -> Signup:
    return Signup(
        uid=row.uid,
        address=row.address,
        choice=clean_choice(json.loads(row.choice)),
        cadence=row.cadence,
        state=SignupState(row.state),
        reason=row.reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
        confirmed_at=row.confirmed_at,
        mailed_at=row.mailed_at,
        mailings=row.mailings,
    )


def find(conn: Connection, uid: str) -> Signup | None:
    row = conn.execute(select(signups).where(signups.c.uid == uid)).first()
    return None if row is None else _signup(row)


def state_of(conn: Connection, uid: str) -> tuple[SignupState, str] | None:
    """A sign-up's state and address, as the sender checks them before each email."""
    row = conn.execute(_STATE_OF, {"uid": uid}).first()
    return None if row is None else (SignupState(row.state), row.address)


_STATE_OF = select(signups.c.state, signups.c.address).where(signups.c.uid == bindparam("uid"))


def by_address(conn: Connection, address: str) -> Signup | None:
    row = conn.execute(select(signups).where(signups.c.address == normal(address))).first()
    return None if row is None else _signup(row)


def ask(
    conn: Connection,
    address: str,
    choice: dict[str, Any],
    cadence: str,
    now: dt.datetime,
    window: dt.timedelta,
) -> Asked:
    """Record a sign-up form sent for `address`. A new address is kept unconfirmed and sent
    one confirmation. An unconfirmed one is sent nothing more within `window` of its last
    email, however often the form is sent (after that, one more, with the new choice). A
    confirmed one is sent its manage link, once a window; its choice changes only from
    that link. A suspended one is sent nothing."""
    if cadence not in CADENCES:
        raise ValueError(f"{cadence!r} is not one of {', '.join(CADENCES)}")
    found = by_address(conn, address)
    text = json.dumps(clean_choice(choice), sort_keys=True)
    if found is None:
        uid = secrets.token_hex(8)
        conn.execute(
            insert(signups).values(
                uid=uid, address=normal(address), choice=text, cadence=cadence,
                state=SignupState.UNCONFIRMED.value, reason="", created_at=now, updated_at=now,
                mailed_at=now, mailings=1,
            )
        )  # fmt: skip
        made = find(conn, uid)
        assert made is not None
        return Asked(made, "confirm")
    recent = found.mailed_at is not None and now - found.mailed_at < window
    if found.state is SignupState.SUSPENDED or recent:
        return Asked(found, None)
    values: dict[str, Any] = {"mailed_at": now, "mailings": found.mailings + 1}
    if found.state is SignupState.UNCONFIRMED:
        values.update(choice=text, cadence=cadence, updated_at=now)
    conn.execute(update(signups).where(signups.c.uid == found.uid).values(**values))
    again = find(conn, found.uid)
    assert again is not None
    return Asked(again, "confirm" if found.state is SignupState.UNCONFIRMED else "link")


def confirm(conn: Connection, uid: str, now: dt.datetime) -> Signup | None:
    """Confirm an unconfirmed sign-up (a confirmed one stays as it is); None when there is
    no such sign-up, or it is suspended."""
    conn.execute(
        update(signups)
        .where(signups.c.uid == uid, signups.c.state == SignupState.UNCONFIRMED.value)
        .values(state=SignupState.CONFIRMED.value, confirmed_at=now, updated_at=now)
    )
    found = find(conn, uid)
    return found if found is not None and found.state is SignupState.CONFIRMED else None


def change(
    conn: Connection, uid: str, choice: dict[str, Any], cadence: str, now: dt.datetime
) -> Signup | None:
    """A confirmed sign-up's new choice and cadence (from its manage page)."""
    if cadence not in CADENCES:
        raise ValueError(f"{cadence!r} is not one of {', '.join(CADENCES)}")
    text = json.dumps(clean_choice(choice), sort_keys=True)
    conn.execute(
        update(signups)
        .where(signups.c.uid == uid, signups.c.state == SignupState.CONFIRMED.value)
        .values(choice=text, cadence=cadence, updated_at=now)
    )
    found = find(conn, uid)
    return found if found is not None and found.state is SignupState.CONFIRMED else None


def leave(conn: Connection, uid: str) -> bool:
    """Stop every email to the sign-up's address and keep nothing of it: the sign-up, its
    messages (sent, waiting or failed), its waiting digest entries and what the publisher
    remembered of its filter. Returns whether there was such a sign-up."""
    channel = PREFIX + uid
    conn.execute(delete(outbox).where(outbox.c.key.startswith(channel + "|", autoescape=True)))
    conn.execute(delete(digest_entries).where(digest_entries.c.channel == channel))
    conn.execute(delete(channel_state).where(channel_state.c.channel == channel))
    return bool(conn.execute(delete(signups).where(signups.c.uid == uid)).rowcount)


def suspend(conn: Connection, uid: str, reason: str, now: dt.datetime) -> None:
    """After a permanent delivery failure: nothing more is sent to the address, and waiting
    messages to it are dropped."""
    conn.execute(
        update(signups)
        .where(signups.c.uid == uid)
        .values(state=SignupState.SUSPENDED.value, reason=reason, updated_at=now)
    )
    conn.execute(delete(digest_entries).where(digest_entries.c.channel == PREFIX + uid))


def forget(conn: Connection, address: str) -> bool:
    """`publisher subscribers forget`: everything kept about the address, gone."""
    found = by_address(conn, address)
    return found is not None and leave(conn, found.uid)


def export(conn: Connection, address: str) -> dict[str, Any] | None:
    """`publisher subscribers export`: everything kept about the address, as data."""
    found = by_address(conn, address)
    if found is None:
        return None
    rows = conn.execute(
        select(outbox.c.key, outbox.c.state, outbox.c.payload, outbox.c.created_at,
               outbox.c.sent_at, outbox.c.last_error)
        .where(outbox.c.key.startswith(found.channel + "|", autoescape=True))
        .order_by(outbox.c.id)
    ).all()  # fmt: skip
    waiting = conn.scalar(
        select(func.count())
        .select_from(digest_entries)
        .where(digest_entries.c.channel == found.channel, digest_entries.c.digest.is_(None))
    )
    return {
        "address": found.address,
        "choice": found.choice,
        "cadence": found.cadence,
        "state": found.state.value,
        "suspended_because": found.reason or None,
        "signed_up": moment(found.created_at),
        "changed": moment(found.updated_at),
        "confirmed": moment(found.confirmed_at),
        "last_sign_up_email": moment(found.mailed_at),
        "emails": [
            {"subject": json.loads(row.payload).get("subject"), "state": row.state,
             "queued": moment(row.created_at), "sent": moment(row.sent_at),
             "problem": row.last_error or None}
            for row in rows
        ],
        "updates_waiting_for_a_digest": int(waiting or 0),
    }  # fmt: skip


def moment(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def purge_unconfirmed(conn: Connection, now: dt.datetime, keep: dt.timedelta) -> int:
    """Remove sign-ups never confirmed within `keep` of their last email; returns how many."""
    old = conn.scalars(
        select(signups.c.uid).where(
            signups.c.state == SignupState.UNCONFIRMED.value,
            func.coalesce(signups.c.mailed_at, signups.c.created_at) < now - keep,
        )
    ).all()
    for uid in old:
        leave(conn, uid)
    return len(old)


def confirmed(conn: Connection) -> list[Signup]:
    query = select(signups).where(signups.c.state == SignupState.CONFIRMED.value)
    return [_signup(row) for row in conn.execute(query.order_by(signups.c.id))]


def counts(conn: Connection) -> dict[str, int]:
    """How many sign-ups are in each state (never who)."""
    found = dict.fromkeys((state.value for state in SignupState), 0)
    query = select(signups.c.state, func.count()).group_by(signups.c.state)
    for state, number in conn.execute(query):
        found[state] = number
    return found


def suspended(conn: Connection) -> list[tuple[str, str]]:
    """Suspended sign-ups' channels and why, for `publisher outbox` (no addresses)."""
    query = (
        select(signups.c.uid, signups.c.reason)
        .where(signups.c.state == SignupState.SUSPENDED.value)
        .order_by(signups.c.id)
    )
    return [(PREFIX + uid, reason) for uid, reason in conn.execute(query)]

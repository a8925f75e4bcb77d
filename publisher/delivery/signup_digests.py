"""Email sign-ups' digests, made together in one go for a notify pass. Every sign-up's
waiting entries are read in one statement and marked as sent in a digest in one more; a
digest is composed (subject, text and HTML templates, its "closing soon" list) once for
each distinct filter and set of entries, then each sign-up gets its own copy with its own
address, manage and one-click unsubscribe links, List-Id and Message-ID put in. What each
sign-up is sent is exactly what composing its digest on its own would make
(tests/delivery/test_signup_digests.py compares the two)."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from markupsafe import escape
from sqlalchemy import Connection, and_, bindparam, select, update

from publisher.delivery import messages, signups
from publisher.delivery.channels import Subscriber
from publisher.delivery.database import digest_entries
from publisher.delivery.outbox import NewItem
from publisher.model.views import SiteData
from publisher.plans.dates import LONDON, MONTHS
from publisher.plans.model import EmailChannel

# The digest's "closing soon" list for a subscriber, leaving out the opportunities (uids)
# its digest already tells of (notify.py's _closing_soon).
Closing = Callable[[Subscriber, set[str]], list[messages.Entry]]

_MARK_DIGESTED = (
    update(digest_entries)
    .where(digest_entries.c.id == bindparam("entry_id"))
    .values(digest=bindparam("digest_key"))
)


@dataclass(frozen=True)
class _Marks:
    """Stand-ins for what differs between sign-ups, in a digest composed once for many;
    random, so no plan's text can hold them by chance."""

    channel: str
    manage: str
    unsubscribe: str

    @classmethod
    def made(cls) -> _Marks:
        word = secrets.token_hex(12)
        return cls(f"c{word}", f"https://m{word}.invalid/", f"https://u{word}.invalid/")


def is_signup(subscriber: Subscriber) -> bool:
    return subscriber.uid.startswith(signups.PREFIX)


def queue(
    conn: Connection,
    site: SiteData,
    subscribers: Sequence[Subscriber],
    now: dt.datetime,
    closing: Closing,
) -> list[NewItem]:
    """The digests that have come due for these sign-ups (daily or weekly ones), each
    sign-up's entries marked as put in its digest, in the caller's transaction. A sign-up
    whose entries are not yet due is sent nothing."""
    wanted = {s.uid: s for s in subscribers if is_signup(s) and s.channel.cadence != "immediate"}
    if not wanted:
        return []
    waiting: dict[str, list[Any]] = {}
    rows = conn.execute(
        select(digest_entries.c.id, digest_entries.c.key, digest_entries.c.channel,
               digest_entries.c.due_at, digest_entries.c.payload)
        .where(and_(digest_entries.c.channel.startswith(signups.PREFIX, autoescape=True),
                    digest_entries.c.digest.is_(None), digest_entries.c.due_at <= now))
        .order_by(digest_entries.c.id)
    )  # fmt: skip
    for row in rows:
        if row.channel in wanted:
            waiting.setdefault(row.channel, []).append(row)
    marks = _Marks.made()
    entries: dict[str, messages.Entry] = {}  # each distinct entry, read once
    composed: dict[tuple[Any, ...], dict[str, Any]] = {}  # each distinct digest, made once
    items: list[NewItem] = []
    digested: list[dict[str, Any]] = []
    for uid, subscriber in wanted.items():
        found = waiting.get(uid)
        if not found:
            continue
        due = max(row.due_at for row in found)
        key = f"{uid}|digest|{due.isoformat()}"
        said = tuple(_said(row) for row in found)
        channel = subscriber.channel
        assert isinstance(channel, EmailChannel)
        alike = (
            said, due, channel.filter.model_dump_json(), channel.closing_soon,
            subscriber.organisation.id, subscriber.organisation.name,
            subscriber.organisation.website, subscriber.privacy_url, len(channel.to),
            channel.to_file, channel.to_env, channel.settings_url is None,
            subscriber.unsubscribe_url is None,
        )  # fmt: skip
        shared = composed.get(alike)
        if shared is None:
            for text, row in zip(said, found, strict=True):
                if text not in entries:
                    entries[text] = messages.Entry.from_json(json.loads(row.payload))
            waited = [entries[text] for text in said]
            shared = composed[alike] = _compose(site, subscriber, waited, due, marks, closing)
        items.append(NewItem(key, uid, subscriber.kind, _own(shared, subscriber, key, site, marks)))
        digested += [{"entry_id": row.id, "digest_key": key} for row in found]
    if digested:
        conn.execute(_MARK_DIGESTED, digested)
    return items


def _said(row: Any) -> str:
    """What a waiting entry says, whichever sign-up it waits for: its stored JSON without
    its key (the only part naming the sign-up). Unless the key is found as stored, the
    whole text, so the entry is simply not shared."""
    stored: str = row.payload
    named = '"key": ' + json.dumps(row.key, ensure_ascii=False)
    return stored.replace(named, '"key": ""', 1) if stored.count(named) == 1 else stored


def _compose(
    site: SiteData,
    subscriber: Subscriber,
    waited: list[messages.Entry],
    due: dt.datetime,
    marks: _Marks,
    closing: Closing,
) -> dict[str, Any]:
    """A digest's payload as notify.py's _digests makes it, with stand-ins for the
    sign-up's own channel id and links."""
    channel = subscriber.channel
    assert isinstance(channel, EmailChannel)
    # Not even the address of the sign-up it is first composed for is in it.
    stand_in = {
        "id": marks.channel,
        "to": [f"{marks.channel}-{n}@example.invalid" for n in range(len(channel.to))],
        "settings_url": marks.manage if channel.settings_url is not None else None,
    }
    standing = replace(
        subscriber,
        channel=channel.model_copy(update=stand_in),
        unsubscribe_url=marks.unsubscribe if subscriber.unsubscribe_url is not None else None,
    )
    day = due.astimezone(LONDON).date()
    period = f"{day.day} {MONTHS[day.month - 1]} {day.year}"
    soon = closing(subscriber, {one.uid for one in waited})
    found = messages.message(site, standing, waited, digest=True, period=period, closing=soon)
    return messages.payload(standing, found, "", site.base_url)


def _own(
    shared: dict[str, Any], subscriber: Subscriber, key: str, site: SiteData, marks: _Marks
) -> dict[str, Any]:
    """The shared digest made this sign-up's own."""
    channel = subscriber.channel
    assert isinstance(channel, EmailChannel)
    manage, unsubscribe = channel.settings_url or "", subscriber.unsubscribe_url or ""

    def put(text: str, escaped: bool) -> str:
        for mark, value in ((marks.manage, manage), (marks.unsubscribe, unsubscribe)):
            text = text.replace(mark, str(escape(value)) if escaped else value)
        return text.replace(marks.channel, channel.id)

    own = dict(shared)
    own["to"] = list(channel.to)
    own["text"] = put(shared["text"], escaped=False)
    if "html" in own:
        own["html"] = put(shared["html"], escaped=True)
    own["subject"] = put(shared["subject"], escaped=False)
    own["list_id"] = put(shared["list_id"], escaped=False)
    own["message_id"] = messages.message_id(key, site.base_url)
    own["settings_url"] = channel.settings_url
    if "unsubscribe_url" in own:
        own["unsubscribe_url"] = subscriber.unsubscribe_url
    return own

"""Sign-ups' digests made together (signup_digests.py), on SQLite and PostgreSQL: a digest
composed once for sign-ups with the same filter and entries is, for each of them, exactly
what composing it on its own makes, with its own address and links and nothing of the
others'; every waiting entry goes into one digest, once."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from publisher.delivery import channels, messages, notify, signup_digests, signup_mail, signups
from publisher.delivery.channels import Subscriber
from publisher.delivery.database import digest_entries
from publisher.delivery.database import signups as signups_table
from publisher.delivery.signup_tokens import Signer
from publisher.model.read import load_site
from publisher.model.views import SiteData
from publisher.plans.dates import LONDON, MONTHS
from publisher.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
MONDAY = dt.datetime(2026, 11, 30, 8, 0, tzinfo=LONDON).astimezone(dt.UTC)
BASE = "https://plans.example.org/"
LEEDS = {"place": ["leeds"], "theme": [], "funding": []}
CALDERDALE = {"place": ["calderdale"], "theme": [], "funding": []}


@pytest.fixture(scope="module")
def site() -> SiteData:
    found, _ = load_site(ROOT / "plans", MONDAY.astimezone(LONDON).date(), BASE)
    return found


def sign_up(engine: Engine, address: str, choice: dict[str, list[str]]) -> signups.Signup:
    uid = secrets.token_hex(8)
    with engine.begin() as conn:
        conn.execute(
            insert(signups_table).values(
                uid=uid, address=address, choice=json.dumps(choice, sort_keys=True),
                cadence="weekly", state="confirmed", reason="", created_at=MONDAY,
                updated_at=MONDAY, confirmed_at=MONDAY, mailed_at=MONDAY, mailings=1,
            )
        )  # fmt: skip
        found = signups.find(conn, uid)
    assert found is not None
    return found


def put_aside(engine: Engine, site: SiteData, subscriber: Subscriber) -> None:
    """Three new opportunities the sign-up's filter takes, waiting for its digest, stored
    as the notify pass stores them."""
    views = [v for v in site.opportunities if v.is_current and channels.wants(subscriber, v)]
    rows = []
    for view in views[:3]:
        key = f"{subscriber.uid}|{view.uid}|new|v1"
        made = messages.entry(site, view, key, "new", [])
        payload = json.dumps(made.to_json(), sort_keys=True, ensure_ascii=False)
        rows.append({"key": key, "channel": subscriber.uid, "due_at": MONDAY,
                     "created_at": MONDAY, "payload": payload})  # fmt: skip
    assert rows
    with engine.begin() as conn:
        conn.execute(insert(digest_entries), rows)


def closing(site: SiteData) -> signup_digests.Closing:
    entries = notify._Entries(site)
    return lambda subscriber, told: notify._closing_soon(site, subscriber, told, entries)


def alone(engine: Engine, site: SiteData, subscriber: Subscriber) -> dict[str, Any]:
    """The sign-up's digest composed on its own, as a channel's is (notify.py _digests)."""
    with engine.connect() as conn:
        stored = conn.execute(
            select(digest_entries.c.payload)
            .where(digest_entries.c.channel == subscriber.uid)
            .order_by(digest_entries.c.id)
        ).scalars()
        waited = [messages.Entry.from_json(json.loads(text)) for text in stored]
    key = f"{subscriber.uid}|digest|{MONDAY.isoformat()}"
    day = MONDAY.astimezone(LONDON).date()
    period = f"{day.day} {MONTHS[day.month - 1]} {day.year}"
    soon = closing(site)(subscriber, {one.uid for one in waited})
    found = messages.message(site, subscriber, waited, digest=True, period=period, closing=soon)
    return messages.payload(subscriber, found, key, BASE)


def test_sign_ups_with_one_filter_get_the_same_digest_each_with_only_its_own_links(
    database: Engine, site: SiteData
) -> None:
    settings = Settings(base_url=BASE, mail_from="alerts@example.org")
    links = signup_mail.Links(BASE, Signer("key"), MONDAY)
    made = [
        sign_up(database, "jo@example.org", LEEDS),
        sign_up(database, "sam@example.org", LEEDS),
        sign_up(database, "kim@example.org", CALDERDALE),
    ]
    subscribers = [signup_mail.subscriber(one, settings, links) for one in made]
    for subscriber in subscribers:
        put_aside(database, site, subscriber)
    expected = [alone(database, site, subscriber) for subscriber in subscribers]

    with database.begin() as conn:
        items = signup_digests.queue(conn, site, subscribers, MONDAY, closing(site))
    assert [item.key for item in items] == [
        f"{s.uid}|digest|{MONDAY.isoformat()}" for s in subscribers
    ]
    for item, subscriber, wanted in zip(items, subscribers, expected, strict=True):
        assert item.channel == subscriber.uid and item.kind == "email"
        assert item.payload == wanted  # exactly what composing it alone makes
    jo, sam, kim = (item.payload for item in items)
    # The two alike differ only in what is each one's own.
    own = {"to", "text", "html", "message_id", "list_id", "settings_url", "unsubscribe_url"}
    assert {k: v for k, v in jo.items() if k not in own} == {
        k: v for k, v in sam.items() if k not in own
    }
    assert jo["text"] != sam["text"] and jo["subject"] == sam["subject"]
    assert jo["unsubscribe_url"] == links.unsubscribe(made[0].uid)
    assert jo["settings_url"] == links.manage(made[0].uid)
    assert kim["text"] != jo["text"].replace(made[0].uid, made[2].uid)  # another filter
    # Nothing of anyone else: address, uid or links.
    for index, item in enumerate(items):
        said = json.dumps(item.payload)
        assert made[index].address in said and links.unsubscribe(made[index].uid) in said
        for other, one in enumerate(made):
            if other != index:
                for theirs in (one.address, one.uid, links.unsubscribe(one.uid),
                               links.manage(one.uid)):  # fmt: skip
                    assert theirs not in said
    # Every entry went into its sign-up's one digest; a second run makes none.
    with database.begin() as conn:
        marked = conn.execute(select(digest_entries.c.channel, digest_entries.c.digest)).all()
        assert all(digest == f"{channel}|digest|{MONDAY.isoformat()}" for channel, digest in marked)
        assert signup_digests.queue(conn, site, subscribers, MONDAY, closing(site)) == []


def test_entries_not_yet_due_and_channels_not_sign_ups_are_left_alone(
    database: Engine, site: SiteData
) -> None:
    settings = Settings(base_url=BASE, mail_from="alerts@example.org")
    links = signup_mail.Links(BASE, Signer("key"), MONDAY)
    subscriber = signup_mail.subscriber(sign_up(database, "jo@example.org", LEEDS), settings, links)
    put_aside(database, site, subscriber)
    with database.begin() as conn:
        assert signup_digests.queue(conn, site, [subscriber], MONDAY - dt.timedelta(minutes=1),
                                    closing(site)) == []  # fmt: skip
        assert signup_digests.queue(conn, site, [], MONDAY, closing(site)) == []
        waiting = conn.scalars(select(digest_entries.c.digest)).all()
    assert waiting and all(digest is None for digest in waiting)

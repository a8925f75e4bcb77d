"""Signed, expiring tokens for email sign-ups: the links in emails (confirm, manage, one-click
unsubscribe) and the web forms' CSRF tokens. A token names a purpose, a subject (a sign-up's
random uid, or a form cookie's nonce) and when it was made, signed with HMAC-SHA256 under
the site's key; it holds no address. The key is PUBLISHER_SECRET_KEY, or one the publisher
makes once and keeps in the database, so every instance signs alike."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from publisher.delivery import signing
from publisher.delivery.database import secret_keys

KEY_NAME = "signup-links"
CONFIRM = "confirm"
MANAGE = "manage"
UNSUBSCRIBE = "unsubscribe"
FORM = "form"
# How long a link in an email works. Confirmation links last as long as an unconfirmed
# sign-up is kept (a setting); these are for the links in alerts, read weeks later.
LINK_LIFETIME = dt.timedelta(days=365)
FORM_LIFETIME = dt.timedelta(hours=12)


class BadTokenError(ValueError):
    """A token that is forged, for something else, or out of date; the text says which."""


@dataclass(frozen=True)
class Signer:
    """Makes and checks tokens under one key."""

    key: str

    def make(self, purpose: str, subject: str, now: dt.datetime) -> str:
        body = json.dumps([purpose, subject, int(now.timestamp())], separators=(",", ":"))
        text = base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")
        return f"{text}.{signing.sign(self.key, f'{purpose}:{text}'.encode())}"

    def check(self, token: str, purpose: str, now: dt.datetime, lifetime: dt.timedelta) -> str:
        """The token's subject. Raises BadTokenError when it is not a token of ours for this
        purpose, or was made longer ago than `lifetime`."""
        text, _, signature = (token or "").strip().partition(".")
        if not text or not signing.verify(self.key, f"{purpose}:{text}".encode(), signature):
            raise BadTokenError("this link is not one of ours, or has been changed")
        try:
            padded = text + "=" * (-len(text) % 4)
            said, subject, made = json.loads(base64.urlsafe_b64decode(padded))
        except (ValueError, binascii.Error, TypeError):
            raise BadTokenError("this link is not one of ours, or has been changed") from None
        if said != purpose or not isinstance(subject, str) or not isinstance(made, int):
            raise BadTokenError("this link is not one of ours, or has been changed")
        age = now - dt.datetime.fromtimestamp(made, dt.UTC)
        if age > lifetime or age < -dt.timedelta(minutes=5):
            raise BadTokenError("this link has expired")
        return subject


def signer(engine: Engine, configured: str | None, now: dt.datetime) -> Signer:
    """The site's signer: PUBLISHER_SECRET_KEY when set, else the key kept in the database
    (made now when there is none: the first instance to ask makes it, the others read it)."""
    if configured:
        return Signer(configured)
    query = select(secret_keys.c.value).where(secret_keys.c.name == KEY_NAME)
    with engine.begin() as conn:
        found = conn.scalar(query)
        if found is None:
            made = {"name": KEY_NAME, "value": secrets.token_urlsafe(32), "created_at": now}
            insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
            conn.execute(insert(secret_keys).on_conflict_do_nothing(index_elements=["name"]), made)
            found = conn.scalar(query)
    return Signer(str(found))

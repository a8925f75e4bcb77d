"""What email sign-ups are sent and how: confirmed sign-ups as channels of the notify pass
(the same announcements, digests grouped by place, and welcome as infrastructure bodies'
channels), the confirmation and manage-link emails, and a guard around the email sender
that sends a sign-up nothing it should not get and suspends an address the mail server
refuses for good."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, cast
from urllib.parse import urlencode, urlsplit

from sqlalchemy import Connection, Engine

from publisher.delivery import signup_tokens, signups
from publisher.delivery.channels import Subscriber
from publisher.delivery.outbox import NewItem
from publisher.delivery.outcome import Outcome, Result, Sender
from publisher.delivery.signup_tokens import Signer
from publisher.plans.characters import scrub
from publisher.plans.model import ChannelFilter, EmailChannel, Funding, Organisation
from publisher.settings import Settings
from publisher.text import templates

ORGANISATION_ID = "signup"
# A mail server's permanent refusal of the address or the message (email.py's words).
PERMANENT = re.compile(r"refused (every recipient|the message).*\b5\d\d\b")


@dataclass(frozen=True)
class Links:
    """A sign-up's own addresses on the web app, each with a signed token."""

    base_url: str
    signer: Signer
    now: dt.datetime

    def _link(self, path: str, purpose: str, uid: str) -> str:
        token = self.signer.make(purpose, uid, self.now)
        return f"{self.base_url}{path}?{urlencode({'t': token})}"

    def confirm(self, uid: str) -> str:
        return self._link("subscribe/confirm", signup_tokens.CONFIRM, uid)

    def manage(self, uid: str) -> str:
        return self._link("subscribe/manage", signup_tokens.MANAGE, uid)

    def unsubscribe(self, uid: str) -> str:
        return self._link("subscribe/unsubscribe", signup_tokens.UNSUBSCRIBE, uid)


def privacy_link(settings: Settings) -> str:
    return settings.privacy_url or settings.base_url + "privacy"


def as_filter(choice: Mapping[str, list[str]]) -> ChannelFilter:
    return ChannelFilter(
        places=list(choice.get("place", [])),
        themes=list(choice.get("theme", [])),
        funding=[Funding(f) for f in choice.get("funding", [])],
    )


def subscriber(signup: signups.Signup, settings: Settings, links: Links) -> Subscriber:
    """A confirmed sign-up as a channel of the notify pass. Built without validation: its
    values were checked when it was stored."""
    channel = EmailChannel.model_construct(
        id=signup.uid,
        kind="email",
        to=[signup.address],
        to_file=None,
        to_env=None,
        cadence=cast(Any, signup.cadence),  # one of signups.CADENCES, checked when stored
        digest_time="08:00",
        digest_day="monday",
        filter=as_filter(signup.choice),
        reminders=["8w", "2w"],
        closing_reminders=["1w"],
        event_reminders=["1w"],
        closing_soon="2w",
        settings_url=links.manage(signup.uid),
    )
    organisation = Organisation.model_construct(
        id=ORGANISATION_ID, name=settings.site_name, website=settings.base_url, kind=None
    )
    return Subscriber(
        organisation,
        channel,
        unsubscribe_url=links.unsubscribe(signup.uid),
        privacy_url=privacy_link(settings),
    )


def subscribers(conn: Connection, settings: Settings, links: Links) -> list[Subscriber]:
    return [subscriber(one, settings, links) for one in signups.confirmed(conn)]


def signer(engine: Engine, settings: Settings, now: dt.datetime) -> Signer:
    return signup_tokens.signer(engine, settings.secret_key, now)


def sign_up_email(
    asked: signups.Asked, settings: Settings, links: Links, choice_words: str
) -> NewItem:
    """The confirmation email of a new sign-up ("confirm"), or a confirmed address's link to
    its manage page ("link"): the only emails an unconfirmed address is ever sent."""
    signup, kind = asked.signup, asked.send or "confirm"
    key = f"{signup.channel}|{kind}|{signup.mailings}"
    host = urlsplit(settings.base_url).hostname or "localhost"
    context = {
        "kind": kind,
        "site": settings.site_name,
        "choice": choice_words,
        "cadence": signup.cadence,
        "link": links.confirm(signup.uid) if kind == "confirm" else links.manage(signup.uid),
        "hours": settings.unconfirmed_hours,
        "privacy": privacy_link(settings),
        "home": settings.base_url,
    }
    environment = templates.environment()
    subject = " ".join(
        environment.get_template("email/signup_subject.txt").render(**context).split()
    )
    payload: dict[str, Any] = {
        "to": [signup.address],
        "subject": subject,
        "text": scrub(environment.get_template("email/signup.txt").render(**context)),
        "message_id": f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{host}>",
        "list_id": f"{settings.site_name.replace('<', ' ').replace('>', ' ')} <signup.{host}>",
        "settings_url": None,
        "attachments": [],
    }
    return NewItem(key, signups.OUTBOX_CHANNEL, "email", payload)


def pooled(items: list[NewItem]) -> list[NewItem]:
    """Sign-ups' items moved into their one outbox channel (signups.OUTBOX_CHANNEL)."""
    return [
        replace(item, channel=signups.OUTBOX_CHANNEL)
        if item.channel.startswith(signups.PREFIX)
        else item
        for item in items
    ]


class Guard:
    """Wraps the email sender. An item for a sign-up is sent only while the sign-up wants
    it: a confirmation only to an unconfirmed address, a manage link or an alert only to a
    confirmed one; nothing to an address that left or is suspended. A permanent refusal
    (a 5xx) suspends the address. Reasons never name the address."""

    def __init__(self, inner: Sender, engine: Engine, clock: Callable[[], dt.datetime]) -> None:
        self.inner = inner
        self.engine = engine
        self.clock = clock

    def send(self, key: str, payload: dict[str, Any]) -> Outcome:
        if not key.startswith(signups.PREFIX):
            return self.inner.send(key, payload)
        uid, _, rest = key.removeprefix(signups.PREFIX).partition("|")
        with self.engine.connect() as conn:
            found = signups.state_of(conn, uid)
        wanted = (
            signups.SignupState.UNCONFIRMED
            if rest.startswith("confirm|")
            else (signups.SignupState.CONFIRMED)
        )
        if found is None:
            return Outcome.failed("not sent: the subscriber has left")
        state, address = found
        if state is not wanted:
            return Outcome.failed(f"not sent: the sign-up is {state.value}")
        outcome = self.inner.send(key, payload)
        reason = _hidden(outcome.reason, address)
        if outcome.result is Result.FAILED and PERMANENT.search(reason):
            reason += "; the address is suspended: nothing more is sent to it"
            with self.engine.begin() as conn:
                signups.suspend(conn, uid, reason, self.clock())
        return Outcome(outcome.result, reason, outcome.retry_after)

    def close(self) -> None:
        self.inner.close()


def _hidden(reason: str, address: str) -> str:
    if address.lower() not in reason.lower():
        return reason  # most outcomes: "" (sent)
    return re.sub(re.escape(address), "the subscriber's address", reason, flags=re.IGNORECASE)


def guarded(
    senders: Mapping[str, Callable[[], Sender]], engine: Engine, clock: Callable[[], dt.datetime]
) -> dict[str, Callable[[], Sender]]:
    """The senders, with email's wrapped in a Guard."""
    found = dict(senders)
    inner = found.get("email")
    if inner is not None:
        found["email"] = lambda: Guard(inner(), engine, clock)
    return found

"""What protects the web app's forms that change something (email sign-ups): a CSRF token
tied to a cookie, and a limit on how many forms one client may send an hour."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections import deque
from collections.abc import Callable
from urllib.parse import parse_qsl

from publisher.delivery import signup_tokens
from publisher.delivery.signup_tokens import BadTokenError, Signer

COOKIE = "signup_form"  # holds a random nonce; the form's token is the nonce, signed
HOUR = 3600.0


def token(signer: Signer, nonce: str | None, now: dt.datetime) -> tuple[str, str]:
    """A form's CSRF token, and the nonce for the cookie (the one given, or a new one)."""
    nonce = nonce or secrets.token_urlsafe(16)
    return signer.make(signup_tokens.FORM, nonce, now), nonce


def fields(body: bytes) -> list[tuple[str, str]]:
    """A form's fields (application/x-www-form-urlencoded; the body's size is limited
    before it gets here, by limits.BodyLimits)."""
    return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)


def genuine(signer: Signer, sent: list[tuple[str, str]], nonce: str, now: dt.datetime) -> bool:
    """Whether the form carries a token of ours, recent, for the nonce in the cookie."""
    given = next((value for name, value in sent if name == "csrf"), "")
    if not nonce or not given:
        return False
    try:
        return signer.check(given, signup_tokens.FORM, now, signup_tokens.FORM_LIFETIME) == nonce
    except BadTokenError:
        return False


class ClientLimit:
    """At most `most` sign-up forms an hour from one client address (in this process)."""

    def __init__(self, most: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.most = most
        self.clock = clock
        self.seen: dict[str, deque[float]] = {}

    def allow(self, client: str) -> float | None:
        """None when allowed (and counted); else the seconds until it would be."""
        now = self.clock()
        times = self.seen.setdefault(client, deque())
        while times and now - times[0] >= HOUR:
            times.popleft()
        if len(times) >= self.most:
            return HOUR - (now - times[0])
        times.append(now)
        if len(self.seen) > 10_000:  # forget clients with nothing recent
            for key in [k for k, v in self.seen.items() if not v or now - v[-1] >= HOUR]:
                del self.seen[key]
        return None

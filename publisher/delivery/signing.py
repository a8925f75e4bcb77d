"""HMAC-SHA256 signatures with a shared secret: how the webhooks we send are signed, and
how a signature we are sent (ours, or GitHub's on a push) is checked."""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["matches", "sign", "signer", "verify"]


def signer(secret: str) -> hmac.HMAC:
    """An HMAC-SHA256 keyed with `secret`, to feed a message in pieces as it arrives."""
    return hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha256)


def sign(secret: str, message: bytes) -> str:
    """The hex HMAC-SHA256 of `message` under `secret`."""
    mac = signer(secret)
    mac.update(message)
    return mac.hexdigest()


def matches(expected: str, given: str | bytes) -> bool:
    """True when `given` is `expected`, compared in constant time so that how long the
    answer takes does not tell a forger how much of a guess was right."""
    # As bytes: compare_digest raises on text that is not ASCII, and a header may hold any.
    given_bytes = given if isinstance(given, bytes) else given.encode("utf-8")
    return hmac.compare_digest(expected.encode("utf-8"), given_bytes)


def verify(secret: str, message: bytes, signature: str | bytes) -> bool:
    """True when `signature` is the hex HMAC-SHA256 of `message` under `secret`."""
    return matches(sign(secret, message), signature)

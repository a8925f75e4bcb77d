"""What a sender reports for one outbox item, and the shape every sender has.

The outbox (outbox.py) decides what to do with an outcome (record it as sent, retry it
later with backoff, or park it as failed); the senders (email.py, webhook.py) only say
what happened, in words `publisher outbox` can show a person.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol


class Result(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # worth trying again later: a server down, a timeout, a 5xx, 408, 429
    FAILED = "failed"  # trying again would not help: a 4xx, a refused address, no secret


@dataclass(frozen=True)
class Outcome:
    result: Result
    reason: str = ""  # plain words, shown by `publisher outbox`
    retry_after: float | None = None  # seconds, when the receiver said (Retry-After)

    @classmethod
    def sent(cls, reason: str = "") -> Outcome:
        return cls(Result.SENT, reason)

    @classmethod
    def retry(cls, reason: str, retry_after: float | None = None) -> Outcome:
        return cls(Result.RETRY, reason, retry_after)

    @classmethod
    def failed(cls, reason: str) -> Outcome:
        return cls(Result.FAILED, reason)


class Sender(Protocol):
    """Delivers outbox items of one kind ("email" or "webhook"). A sender may keep a
    connection open between items (SMTP); `close` ends it. `send` never raises for a
    fault a user can cause or a network can produce: it returns an Outcome."""

    def send(self, key: str, payload: dict[str, Any]) -> Outcome: ...

    def close(self) -> None: ...

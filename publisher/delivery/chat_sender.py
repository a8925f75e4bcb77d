"""Posting to a chat tool's incoming webhook: the address from the environment variable the
channel names, the body as queued, and the tool's answers in plain words. The connection
is the generic webhook's (webhook.py): the same address checks, deadline and retries."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import httpx

from publisher.delivery.chat import FORMAT_REFUSED, ChatService
from publisher.delivery.chat_kinds import SERVICES
from publisher.delivery.outcome import Outcome, Result, Sender
from publisher.delivery.webhook import RefusedError, WebhookSender, not_an_example


class ChatSender(WebhookSender):
    """Sends outbox items of one chat kind ("slack", "teams", "discord"). Not signed: a
    chat tool's webhook address is its own secret, so it lives in the environment."""

    def __init__(self, kind: str, **options: Any) -> None:
        super().__init__(**options)
        self.service: ChatService = SERVICES[kind]
        self._url_env = ""

    def send(self, key: str, payload: dict[str, Any]) -> Outcome:
        deadline = time.monotonic() + self.timeout
        name = payload.get("url_env")
        self._url_env = str(name or "")
        try:
            body = self._chat_body(payload.get("body"))
            address_of = self._address(name)
            if not self.send_to_examples:
                not_an_example(address_of)
            url, address = self._target(address_of)
        except RefusedError as refused:
            return refused.outcome
        return self._post(url, address, body, {}, deadline)

    def _chat_body(self, value: object) -> bytes:
        if not isinstance(value, dict) or not value:
            raise RefusedError(Outcome.failed(f"the {self.service.name} message is empty"))
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
        return text.encode("utf-8")

    def _address(self, name: object) -> str:
        if not isinstance(name, str) or not name:
            raise RefusedError(Outcome.failed("the channel does not name a url_env variable"))
        value = self.environ.get(name, "").strip()
        if not value:
            raise RefusedError(
                Outcome.failed(
                    f"the environment variable {name} that this channel names is not set: "
                    f"put the {self.service.name} webhook's address in it"
                )
            )
        return value

    def _judge(self, url: httpx.URL, status: int, answer: str, outcome: Outcome) -> Outcome:
        service = self.service
        if status == 429 and outcome.retry_after is None:
            return Outcome.retry(outcome.reason, service.wait(answer))
        if outcome.result is not Result.FAILED or not 400 <= status < 500:
            return outcome
        said = service.refused(status, answer, self._url_env or "the channel's url_env")
        if said is None and status in (400, 413, 422):
            said = f"{FORMAT_REFUSED}: {service.name} did not take it"
        return Outcome.failed(f"{said} ({outcome.reason})") if said else outcome


def chat_senders(timeout: float, allow_private: bool) -> dict[str, Callable[[], Sender]]:
    """A sender for each chat kind, for the outbox's dispatch."""
    return {
        kind: partial(ChatSender, kind, timeout=timeout, allow_private=allow_private)
        for kind in SERVICES
    }

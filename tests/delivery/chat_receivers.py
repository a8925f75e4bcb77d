"""Slack, Teams and Discord on loopback: HTTP receivers that keep each tool's documented
rules for an incoming webhook and answer as the tool does. A body that breaks a rule gets
the tool's refusal; after `limit` messages, the tool's 429 until `limit` is raised.

The rules (each tool's own documentation):
- Slack: a JSON object with `text`, or `blocks` (400 `no_text`; not JSON: 400
  `invalid_payload`); at most 50 blocks; a header's plain text up to 150 characters, a
  section's text up to 3,000, a context up to 10 elements; `text` up to 40,000; &, < and >
  escaped in mrkdwn (a link is <url|words>) (else 400 `invalid_blocks`); 429 with
  Retry-After.
- Teams (Workflows): {"type": "message", "attachments": [{"contentType":
  "application/vnd.microsoft.card.adaptive", "content": an AdaptiveCard of version 1.0 to
  1.5}]}, at most 28 KB (else 400 with a JSON error); 202 when taken; 429 with Retry-After.
- Discord: `content` or `embeds` (400 code 50006 "Cannot send an empty message"); content
  up to 2,000 characters; up to 10 embeds, a title up to 256, a description up to 4,096, an
  author name up to 256, a footer up to 2,048, 6,000 in all the embeds (400 code 50035
  "Invalid Form Body"); 204 when taken; 429 with Retry-After and `retry_after` in the JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.delivery.receivers import HttpReceiver, Reply, Request


def length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2  # as the tools count: JavaScript's units


class ChatReceiver(HttpReceiver):
    """Answers scripted replies first, then by the tool's rules. `accepted` holds the bodies
    the tool took, parsed."""

    def __init__(self, kind: str, rules: Callable[[Any], Reply], limited: Reply) -> None:
        super().__init__()
        self.kind = kind
        self.rules = rules
        self.limited = limited  # the tool's 429
        self.limit: int | None = None  # messages taken before it answers 429
        self.accepted: list[dict[str, Any]] = []

    def next_reply(self) -> Reply:
        if self.replies:
            return self.replies.popleft()
        request: Request = self.requests[-1]
        if self.limit is not None and len(self.accepted) >= self.limit:
            return self.limited
        if request.headers.get("content-type", "").split(";")[0] != "application/json":
            return self.rules(None)
        try:
            body = json.loads(request.body)
        except ValueError:
            return self.rules(None)
        reply = self.rules(body)
        if 200 <= reply.status < 300:
            self.accepted.append(body)
        return reply


# --- Slack ------------------------------------------------------------------------------

_SLACK_LINK = re.compile(r"<(https?://[^|>\s]+)(\|[^<>]+)?>")


def _slack_error(code: str, status: int = 400) -> Reply:
    return Reply(status, {"Content-Type": "text/plain"}, code.encode())


def _mrkdwn_ok(text: object, limit: int) -> bool:
    if not isinstance(text, str) or not text or length(text) > limit:
        return False
    return "<" not in _SLACK_LINK.sub("", text) and ">" not in _SLACK_LINK.sub("", text)


def _slack_block(block: Any) -> bool:
    if not isinstance(block, dict):
        return False
    kind = block.get("type")
    text = block.get("text")
    if kind == "header":
        return (
            isinstance(text, dict)
            and text.get("type") == "plain_text"
            and isinstance(text.get("text"), str)
            and 0 < length(text["text"]) <= 150
        )
    if kind == "section":
        return isinstance(text, dict) and _mrkdwn_ok(text.get("text"), 3000)
    if kind == "context":
        elements = block.get("elements")
        return (
            isinstance(elements, list)
            and 0 < len(elements) <= 10
            and all(_mrkdwn_ok(e.get("text"), 3000) for e in elements)
        )
    return kind == "divider"


def slack_rules(body: Any) -> Reply:
    if not isinstance(body, dict):
        return _slack_error("invalid_payload")
    text, blocks = body.get("text"), body.get("blocks")
    if not (isinstance(text, str) and text.strip()) and not blocks:
        return _slack_error("no_text")
    if isinstance(text, str) and not _mrkdwn_ok(text, 40_000):
        return _slack_error("invalid_payload")
    if blocks is not None and (
        not isinstance(blocks, list) or len(blocks) > 50 or not all(map(_slack_block, blocks))
    ):
        return _slack_error("invalid_blocks")
    return Reply(200, {"Content-Type": "text/plain"}, b"ok")


SLACK_LIMITED = Reply(429, {"Retry-After": "30", "Content-Type": "text/plain"}, b"rate_limited")


# --- Teams ------------------------------------------------------------------------------

CARD = "application/vnd.microsoft.card.adaptive"


def _teams_error(code: str, message: str, status: int = 400) -> Reply:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return Reply(status, {"Content-Type": "application/json"}, body)


def _card_element(element: Any) -> bool:
    if not isinstance(element, dict):
        return False
    if element.get("type") == "TextBlock":
        return isinstance(element.get("text"), str)
    if element.get("type") == "Container":
        items = element.get("items")
        return isinstance(items, list) and all(map(_card_element, items))
    return False


def _card(card: Any) -> bool:
    if not isinstance(card, dict) or card.get("type") != "AdaptiveCard":
        return False
    if card.get("version") not in ("1.0", "1.1", "1.2", "1.3", "1.4", "1.5"):
        return False
    body, actions = card.get("body", []), card.get("actions", [])
    return (
        isinstance(body, list)
        and all(map(_card_element, body))
        and isinstance(actions, list)
        and all(
            isinstance(a, dict) and a.get("type") == "Action.OpenUrl" and a.get("url")
            for a in actions
        )
    )


def teams_rules(raw_size: int) -> Callable[[Any], Reply]:
    def rules(body: Any) -> Reply:
        if raw_size > 28 * 1024:
            return _teams_error("MessageSizeExceeded", "The message is over 28 KB.", 413)
        if not isinstance(body, dict) or body.get("type") != "message":
            return _teams_error("InvalidRequestContent", "The body is not a message.")
        attachments = body.get("attachments")
        if not isinstance(attachments, list) or not attachments:
            return _teams_error("InvalidRequestContent", "The message has no attachments.")
        for attachment in attachments:
            if attachment.get("contentType") != CARD or not _card(attachment.get("content")):
                return _teams_error("InvalidRequestContent", "Not an AdaptiveCard.")
        return Reply(202)

    return rules


class TeamsReceiver(ChatReceiver):
    def next_reply(self) -> Reply:
        if not self.replies and self.requests:
            self.rules = teams_rules(len(self.requests[-1].body))  # its size, as sent
        return super().next_reply()


TEAMS_LIMITED = Reply(429, {"Retry-After": "60"}, b"")


# --- Discord ----------------------------------------------------------------------------


def _discord_error(code: int, message: str) -> Reply:
    body = json.dumps({"code": code, "message": message}).encode()
    return Reply(400, {"Content-Type": "application/json"}, body)


def _embed_texts(embed: dict[str, Any]) -> list[tuple[str, int]]:
    return [
        (embed.get("title", ""), 256),
        (embed.get("description", ""), 4096),
        (embed.get("author", {}).get("name", ""), 256),
        (embed.get("footer", {}).get("text", ""), 2048),
    ]


def discord_rules(body: Any) -> Reply:
    if not isinstance(body, dict):
        return _discord_error(50109, "The request body contains invalid JSON.")
    content, embeds = body.get("content") or "", body.get("embeds") or []
    if not content and not embeds:
        return _discord_error(50006, "Cannot send an empty message")
    invalid = _discord_error(50035, "Invalid Form Body")
    if not isinstance(content, str) or length(content) > 2000:
        return invalid
    if not isinstance(embeds, list) or len(embeds) > 10:
        return invalid
    total = 0
    for embed in embeds:
        if not isinstance(embed, dict) or len(embed.get("fields", [])) > 25:
            return invalid
        if "author" in embed and not embed["author"].get("name"):
            return invalid
        url = embed.get("url")
        if url is not None and not re.match(r"https?://", url):
            return invalid
        for text, limit in _embed_texts(embed):
            if length(text) > limit:
                return invalid
            total += length(text)
    if total > 6000:
        return invalid
    return Reply(204)


DISCORD_LIMITED = Reply(
    429,
    {"Retry-After": "2", "Content-Type": "application/json"},
    b'{"message": "You are being rate limited.", "retry_after": 1.5, "global": false}',
)


def make(kind: str) -> ChatReceiver:
    if kind == "slack":
        return ChatReceiver(kind, slack_rules, SLACK_LIMITED)
    if kind == "teams":
        return TeamsReceiver(kind, teams_rules(0), TEAMS_LIMITED)
    return ChatReceiver(kind, discord_rules, DISCORD_LIMITED)


@pytest.fixture(name="chat_receiver", params=["slack", "teams", "discord"])
def chat_receiver_fixture(request: pytest.FixtureRequest) -> Iterator[ChatReceiver]:
    """Each tool's receiver on 127.0.0.1 in turn; `kind` says which."""
    receiver = make(request.param)
    receiver.start()
    yield receiver
    receiver.stop()

"""Microsoft Teams, through a Workflows webhook ("Post to a channel when a webhook request
is received"): an Adaptive Card in the message envelope Teams documents,
{"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
"content": {...}}]}.

Teams' documented limits: a message of at most 28 KB, and Adaptive Cards up to version 1.5
(1.4 is used here: every Teams client shows it). A request the flow cannot take gets a 4xx
with a JSON error; too many, 429 with Retry-After.
"""

from __future__ import annotations

import json
from typing import Any

from publisher.delivery import chat
from publisher.delivery.messages import Message
from publisher.plans.chat_hosts import chat_tool

CARD_VERSION = "1.4"
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
MAX_BYTES = 28 * 1024
_ROOM = 1024  # kept free under the limit, for what Teams adds around the card

# What Teams' webhooks and Power Automate answer a body that is not theirs.
_FORMAT_WORDS = (
    "Summary or Text is required",
    "Text is required",
    "TriggerInputSchemaMismatch",
    "InvalidRequestContent",
    "AdaptiveCard",
)


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _link_words(text: str) -> str:
    """Link text in Adaptive Card markdown, [words](url): no square brackets inside."""
    return text.replace("[", "(").replace("]", ")")


def _item(item: chat.Item) -> dict[str, Any]:
    url = item.url.replace(")", "%29").replace(" ", "%20")
    return {
        "type": "Container",
        "separator": True,
        "items": [
            *([_text(item.heading, isSubtle=True, spacing="Small")] if item.heading else []),
            _text(f"**[{_link_words(chat.shorten(item.title, 300))}]({url})**"),
            *(_text(chat.shorten(detail, 2000), spacing="Small") for detail in item.details),
        ],
    }


def size(body: dict[str, Any]) -> int:
    """The body's bytes, as sent (compact UTF-8 JSON)."""
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    return len(text.encode("utf-8"))


class Teams:
    kind = "teams"
    name = "Microsoft Teams"

    def body(self, message: Message) -> dict[str, Any]:
        said = chat.said(message)

        def render(shown: int) -> dict[str, Any]:
            body: list[dict[str, Any]] = [_text(said.summary, size="Medium", weight="Bolder")]
            for place, items in said.first(shown):
                if said.grouped:
                    body.append(_text(place, weight="Bolder", spacing="Large"))
                body += [_item(item) for item in items]
            more = said.more(shown)
            if more:
                body.append(_text(f"{more}: [see every opportunity]({said.home})"))
            body.append(_text(said.footer, isSubtle=True, size="Small", separator=True))
            card = {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": CARD_VERSION,
                "msteams": {"width": "Full"},
                "body": body,
                "actions": [
                    {"type": "Action.OpenUrl", "title": "Every opportunity", "url": said.home}
                ],
            }
            return {
                "type": "message",
                "attachments": [{"contentType": CONTENT_TYPE, "contentUrl": None, "content": card}],
            }

        # An opportunity takes at least 200 bytes of a card: no more than 150 can fit.
        return chat.fit(said.total, render, lambda body: size(body) <= MAX_BYTES - _ROOM, 150)

    def refused(self, status: int, answer: str, url_env: str) -> str | None:
        if status == 404:
            return (
                "Teams says there is no workflow at this address; it may have been turned off "
                f"or deleted: make the workflow again and put its address in {url_env}"
            )
        if status == 413:
            return "Teams says the message was too big"
        return None

    def wait(self, answer: str) -> float | None:
        return None  # Teams says how long in its Retry-After header

    def looks_like(self, host: str, path: str, status: int, answer: str) -> bool:
        if chat_tool(host, path) == self.kind:
            return True
        return 400 <= status < 500 and any(words in answer for words in _FORMAT_WORDS)


SERVICE = Teams()

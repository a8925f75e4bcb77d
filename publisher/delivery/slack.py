"""Slack incoming webhooks: a `text` line (what notifications show) and Block Kit blocks.

Slack's documented limits: 50 blocks a message, 3,000 characters in a section's text, 150
in a header, 40,000 in `text`. Its answers to a bad request are a 4xx and a short code as
the body (`no_text`, `invalid_payload`, `invalid_blocks`, `no_service`...); too many
messages, 429 with Retry-After.
"""

from __future__ import annotations

import re
from typing import Any

from publisher.delivery import chat
from publisher.delivery.messages import Message
from publisher.plans.chat_hosts import chat_tool

BLOCKS = 50
SECTION_TEXT = 3000
HEADER_TEXT = 150
TEXT = 40_000

# What Slack answers, in words; {env} is the variable that holds the webhook's address.
_ANSWERS = {
    "no_text": "Slack says the message had no text",
    "missing_text_or_fallback_or_attachments": "Slack says the message had no text",
    "invalid_payload": "Slack could not read the message",
    "invalid_blocks": "Slack refused the message's blocks",
    "invalid_blocks_format": "Slack refused the message's blocks",
    "too_many_attachments": "Slack says the message was too big",
    "action_prohibited": "Slack says a workspace administrator does not allow this webhook to post",
    "invalid_token": "Slack says this webhook has been turned off; make a new incoming "
    "webhook and put its address in {env}",
    "no_service": "Slack says this webhook has been turned off or removed; make a new "
    "incoming webhook and put its address in {env}",
    "no_team": "Slack says the workspace of this webhook no longer exists",
    "channel_not_found": "Slack says the channel of this webhook no longer exists; make a "
    "new incoming webhook for another channel and put its address in {env}",
    "channel_is_archived": "Slack says the channel of this webhook is archived; make a new "
    "incoming webhook for another channel and put its address in {env}",
}
# Codes that only a body in another format gets: a generic webhook posting to Slack.
_FORMAT_CODES = ("no_text", "missing_text_or_fallback_or_attachments", "invalid_payload")
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}…$")


def escape(text: str) -> str:
    """Slack's mrkdwn: only &, < and > are escaped (a link is <url|words>)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _section(text: str) -> dict[str, Any]:
    text = _PARTIAL_ENTITY.sub("…", chat.shorten(text, SECTION_TEXT))
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _item(item: chat.Item) -> dict[str, Any]:
    title = chat.shorten(item.title, 300)
    link = f"*<{item.url}|{escape(title)}>*"
    said = "\n\n".join(escape(text) for text in (item.heading, *item.details) if text)
    return _section(f"{link}\n{said}")


class Slack:
    kind = "slack"
    name = "Slack"

    def body(self, message: Message) -> dict[str, Any]:
        said = chat.said(message)

        def render(shown: int) -> dict[str, Any]:
            blocks: list[dict[str, Any]] = [
                {
                    "type": "header",
                    "text": {"type": "plain_text", "text": chat.shorten(said.summary, HEADER_TEXT)},
                }
            ]
            for place, items in said.first(shown):
                if said.grouped:
                    blocks.append(_section(f"*{escape(place)}*"))
                blocks += [_item(item) for item in items]
            more = said.more(shown)
            if more:
                blocks.append(_section(f"{more}: <{said.home}|see every opportunity>"))
            footer = f"{escape(said.footer)} · <{said.home}|Every opportunity>"
            blocks.append(
                {
                    "type": "context",
                    "elements": [{"type": "mrkdwn", "text": chat.shorten(footer, SECTION_TEXT)}],
                }
            )
            return {
                "text": escape(chat.shorten(said.summary, TEXT // 5)),
                "blocks": blocks,
                "unfurl_links": False,
                "unfurl_media": False,
            }

        return chat.fit(said.total, render, lambda body: len(body["blocks"]) <= BLOCKS, BLOCKS)

    def refused(self, status: int, answer: str, url_env: str) -> str | None:
        words = _ANSWERS.get(answer.strip())
        return None if words is None else f"{words.format(env=url_env)} ({answer.strip()})"

    def wait(self, answer: str) -> float | None:
        return None  # Slack says how long in its Retry-After header

    def looks_like(self, host: str, path: str, status: int, answer: str) -> bool:
        return chat_tool(host, path) == self.kind or (
            status == 400 and answer.strip() in _FORMAT_CODES
        )


SERVICE = Slack()

"""Discord webhooks: `content` and embeds, one embed an opportunity.

Discord's documented limits: `content` up to 2,000 characters; up to 10 embeds; in an
embed, a title up to 256 characters, a description up to 4,096, an author name up to 256,
a footer up to 2,048; and no more than 6,000 characters in all the embeds together. A bad
request gets 400 and a JSON body ({"code": 50035, "message": "Invalid Form Body"}, or
{"code": 50006, "message": "Cannot send an empty message"}); too many requests, 429 with
Retry-After and a JSON body whose `retry_after` is in seconds.
"""

from __future__ import annotations

import json
from typing import Any

from publisher.delivery import chat
from publisher.delivery.messages import Message
from publisher.plans.chat_hosts import chat_tool

CONTENT = 2000
EMBEDS = 10
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_AUTHOR = 256
EMBEDS_TOTAL = 6000

_CODES = {
    10015: "Discord says this webhook no longer exists; make a new one and put its address "
    "in {env}",
    50027: "Discord says this webhook's address is wrong (its token does not match); copy "
    "the address again into {env}",
    50006: "Discord says the message was empty",
    50035: "Discord says the message was not in its format",
}


def _json(answer: str) -> dict[str, Any]:
    try:
        found = json.loads(answer)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _embed(item: chat.Item, place: str) -> dict[str, Any]:
    author = " · ".join(words for words in (item.heading, place) if words)
    embed: dict[str, Any] = {
        "title": chat.shorten(item.title, EMBED_TITLE),
        "url": item.url,
        # Short descriptions, so that several opportunities share the 6,000 characters.
        "description": chat.shorten("\n\n".join(item.details), 1200) or item.title,
    }
    if author:
        embed["author"] = {"name": chat.shorten(author, EMBED_AUTHOR)}
    return embed


def _embed_length(embed: dict[str, Any]) -> int:
    return sum(
        chat.length(text)
        for text in (embed.get("title", ""), embed.get("description", ""),
                     embed.get("author", {}).get("name", ""),
                     embed.get("footer", {}).get("text", ""))
    )  # fmt: skip


class Discord:
    kind = "discord"
    name = "Discord"

    def body(self, message: Message) -> dict[str, Any]:
        said = chat.said(message)

        def render(shown: int) -> dict[str, Any]:
            embeds = [
                _embed(item, place if said.grouped else "")
                for place, items in said.first(shown)
                for item in items
            ]
            more = said.more(shown)
            parts = [f"**{said.summary}**"]
            if more:
                parts.append(f"{more}: {said.home}")
            parts.append(f"-# {said.footer} · Every opportunity: <{said.home}>")
            return {
                "content": chat.shorten("\n".join(parts), CONTENT),
                "embeds": embeds,
                # Words in a plan never ping anyone (@everyone, a role, a person).
                "allowed_mentions": {"parse": []},
            }

        def fits(body: dict[str, Any]) -> bool:
            embeds = body["embeds"]
            return len(embeds) <= EMBEDS and sum(map(_embed_length, embeds)) <= EMBEDS_TOTAL

        return chat.fit(said.total, render, fits, EMBEDS)

    def refused(self, status: int, answer: str, url_env: str) -> str | None:
        found = _json(answer)
        code = found.get("code")
        words = _CODES.get(code) if isinstance(code, int) else None
        if words is None:
            return None
        return f"{words.format(env=url_env)} ({found.get('message', '')})".replace(" ()", "")

    def wait(self, answer: str) -> float | None:
        seconds = _json(answer).get("retry_after")
        return float(seconds) if isinstance(seconds, int | float) and seconds >= 0 else None

    def looks_like(self, host: str, path: str, status: int, answer: str) -> bool:
        if chat_tool(host, path) == self.kind:
            return True
        return status == 400 and _json(answer).get("code") == 50006


SERVICE = Discord()

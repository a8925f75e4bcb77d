"""The chat tools a channel can post to (`kind: slack`, `teams`, `discord`): one place that
lists them, the outbox payload of each, and what a generic webhook's refusal says when its
receiver is one of them."""

from __future__ import annotations

from typing import Any

from publisher.delivery import discord, slack, teams
from publisher.delivery.channels import Subscriber
from publisher.delivery.chat import FORMAT_REFUSED, ChatService, said
from publisher.delivery.messages import Message

SERVICES: dict[str, ChatService] = {
    service.kind: service for service in (slack.SERVICE, teams.SERVICE, discord.SERVICE)
}


def payload(subscriber: Subscriber, found: Message) -> dict[str, Any]:
    """What the outbox keeps for a chat channel: the environment variable that holds the
    webhook's address (never the address: it is a secret), a summary for `publisher
    outbox`, and the body in the tool's format."""
    service = SERVICES[subscriber.kind]
    url_env = getattr(subscriber.channel, "url_env", "")
    body = service.body(found)
    return {
        "url_env": url_env,
        "service": service.name,
        "summary": said(found).summary,
        "entries": found.count,
        "body": body,
    }


def misfit(host: str, path: str, status: int, answer: str) -> str | None:
    """Plain words when a generic webhook (`kind: webhook`) was refused by what looks like
    a chat tool, which needs its own kind; None otherwise."""
    for kind, service in SERVICES.items():
        if service.looks_like(host.lower().rstrip("."), path, status, answer):
            return (
                f"{FORMAT_REFUSED}: it looks like {service.name}, which needs 'kind: {kind}' "
                "in the channel file, with the webhook's address in an environment variable "
                "named by url_env; the publisher's own webhook format is only for receivers "
                "written for it (see docs/webhooks.md)"
            )
    return None

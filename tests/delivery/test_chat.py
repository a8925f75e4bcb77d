"""Slack, Teams and Discord channels against receivers on loopback that keep each tool's
documented rules (chat_receivers.py): every kind of message the publisher sends is taken,
up to a digest of 20,000 opportunities; rate limits are retried; a generic webhook posting
to a chat tool is refused in plain words."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from publisher.delivery import chat_kinds, messages
from publisher.delivery.channels import Subscriber
from publisher.delivery.chat import FORMAT_REFUSED
from publisher.delivery.chat_sender import ChatSender
from publisher.delivery.messages import Entry, Message
from publisher.delivery.notify_report import outbox_text
from publisher.delivery.outbox import NewItem, dispatch, enqueue, list_items, refused_formats
from publisher.delivery.outcome import Outcome, Result
from publisher.delivery.webhook import WebhookSender
from publisher.model.read import load_site
from publisher.model.views import SiteData
from publisher.plans.model import ChannelFile
from publisher.service.scheduler_state import State, health_report
from tests.delivery.chat_receivers import (  # noqa: F401 (fixtures, found by pytest by name)
    ChatReceiver,
    chat_receiver_fixture,
    make,
)
from tests.delivery.receivers import Reply

EXAMPLES = Path(__file__).resolve().parents[2] / "plans"
TODAY = dt.date(2026, 12, 7)
NOW = dt.datetime(2026, 12, 7, 9, tzinfo=dt.UTC)
URL_ENV = "CHAT_WEBHOOK_URL"


@cache
def example_site() -> SiteData:
    site, _ = load_site(EXAMPLES, TODAY, "https://plans.example.org/")
    return site


def subscriber(kind: str) -> Subscriber:
    channels = ChannelFile.model_validate(
        {
            "schema": 1,
            "organisation": {"id": "leeds-cvs", "name": "Leeds CVS & Friends <tm>"},
            "channels": [{"id": "chat", "kind": kind, "url_env": URL_ENV}],
        }
    )
    return Subscriber(channels.organisation, channels.channels[0])


@cache
def example_entries() -> tuple[Entry, ...]:
    """Every example opportunity twice: announced as new, and as changed."""
    site = example_site()
    made = []
    for view in site.opportunities:
        made.append(messages.entry(site, view, f"{view.uid}|new", "new", []))
        lines = [
            "The closing date for bids has moved later, by 2 weeks: it is now 29 January 2027.",
            "The value has gone up to £1.2 million.",
        ]
        made.append(messages.entry(site, view, f"{view.uid}|changed", "changed", lines))
    return tuple(made)


def generated(count: int) -> list[Entry]:
    """`count` entries made from the examples, each its own opportunity in its own place
    among 300: a digest as big as the 20,000-opportunity benchmark's."""
    base = example_entries()
    return [
        dataclasses.replace(
            base[n % len(base)],
            key=f"generated-{n}",
            title=f"{base[n % len(base)].title} (number {n})",
            url=f"https://plans.example.org/opportunities/generated/{n}.html",
            places=[f"Place {n % 300}"],
        )
        for n in range(count)
    ]


def message(kind: str, entries: list[Entry], what: str) -> Message:
    found = messages.message(example_site(), subscriber(kind), entries, digest=what != "single")
    return found if what in ("single", "digest") else dataclasses.replace(found, kind=what)


def awkward() -> Entry:
    """All that a plan or a change may hold at its worst: very long words, markup, mentions,
    emoji (two units each, as the tools count)."""
    entry = example_entries()[1]
    return dataclasses.replace(
        entry,
        title="@everyone <script>alert(1)</script> & [brackets] | pipes 🎉 " * 40,
        lines=["A line of 🎉 & <b>tags</b> *stars* _under_ " * 400, "short"] * 5,
        headline="x" * 20_000,
        facts="Facts <!channel> " * 800,
    )


def messages_of_every_kind(kind: str) -> dict[str, Message]:
    site = example_site()
    view = site.opportunities[0]
    entries = list(example_entries())
    line = messages.reminder_line("Applications open", view.item.dates.tender_opens or "")
    reminder = messages.entry(site, view, "reminder", "reminder", [line], {"field": "x"})
    found = {
        "new": message(kind, entries[:1], "single"),
        "changed": message(kind, entries[1:2], "single"),
        "cancelled": message(kind, [dataclasses.replace(entries[1], event="cancelled")], "single"),
        "withdrawn": message(kind, [dataclasses.replace(entries[0], event="withdrawn")], "single"),
        "reminder": message(kind, [reminder], "single"),
        "awkward": message(kind, [awkward()], "single"),
        "digest of every example": message(kind, entries, "digest"),
        "digest of awkward ones": message(kind, [awkward()] * 30, "digest"),
        "digest of 20,000": message(kind, generated(20_000), "digest"),
        "welcome": message(kind, entries, "welcome"),
        "welcome with nothing to list yet": message(kind, [], "welcome"),
    }
    if "closing" in {field.name for field in dataclasses.fields(Message)}:  # issue 17, point 1
        digest = message(kind, entries[:5], "digest")
        found["closing soon"] = dataclasses.replace(digest, closing=entries[5:9])
    return found


def sender(environ: dict[str, str] | None = None, kind: str = "slack") -> ChatSender:
    return ChatSender(kind, allow_private=True, environ=environ or {}, timeout=5)


def send(receiver: ChatReceiver, found: Message, key: str = "key") -> Outcome:
    payload = chat_kinds.payload(subscriber(receiver.kind), found)
    chat = sender({URL_ENV: receiver.url()}, receiver.kind)
    try:
        return chat.send(key, payload)
    finally:
        chat.close()


def test_every_kind_of_message_is_taken_within_the_tools_limits(
    chat_receiver: ChatReceiver,
) -> None:
    for what, found in messages_of_every_kind(chat_receiver.kind).items():
        taken = len(chat_receiver.accepted)
        outcome = send(chat_receiver, found)
        assert outcome == Outcome.sent(), (what, outcome, chat_receiver.requests[-1].body[:300])
        assert len(chat_receiver.accepted) == taken + 1, what


def shown_text(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False)


def test_a_digest_too_big_for_one_message_says_how_many_more_and_links_the_site() -> None:
    for kind, service in chat_kinds.SERVICES.items():
        found = message(kind, generated(20_000), "digest")
        text = shown_text(service.body(found))
        assert "more updates" in text, kind
        assert "https://plans.example.org/index.html" in text, kind
        assert "(number 0)" in text, kind  # the first ones are shown
        assert "(number 19999)" not in text, kind


def test_a_welcome_with_nothing_to_list_yet_says_so() -> None:
    for kind, service in chat_kinds.SERVICES.items():
        text = shown_text(service.body(message(kind, [], "welcome")))
        assert "Nothing is open or coming up for this channel yet." in text, kind


def test_one_announcement_links_its_notice_and_says_why_you_get_it() -> None:
    entry = example_entries()[1]
    for kind, service in chat_kinds.SERVICES.items():
        text = shown_text(service.body(message(kind, [entry], "single")))
        assert entry.url in text, kind
        assert "moved later, by 2 weeks" in text, kind
        assert "You get this because Leeds CVS" in text, kind


def test_words_in_a_plan_cannot_mention_everyone_or_add_markup() -> None:
    found = message("slack", [awkward()], "single")
    slack = chat_kinds.SERVICES["slack"].body(found)
    # Slack reads mrkdwn (not a header's plain text) for links and mentions like <!channel>.
    marked = [slack["text"]] + [
        part["text"]
        for block in slack["blocks"]
        for part in [block.get("text", {}), *block.get("elements", [])]
        if part.get("type") == "mrkdwn"
    ]
    assert not any("<script>" in text or "<!channel>" in text for text in marked)
    assert "&lt;script&gt;" in marked[0] and "Friends &lt;tm&gt;" in "".join(marked)
    discord_body = chat_kinds.SERVICES["discord"].body(message("discord", [awkward()], "single"))
    assert discord_body["allowed_mentions"] == {"parse": []}


def test_a_rate_limit_is_tried_again_later_as_the_tool_asks(chat_receiver: ChatReceiver) -> None:
    found = messages_of_every_kind(chat_receiver.kind)["new"]
    chat_receiver.limit = 0
    outcome = send(chat_receiver, found)
    assert outcome.result is Result.RETRY
    assert outcome.retry_after == {"slack": 30, "teams": 60, "discord": 2}[chat_receiver.kind]
    chat_receiver.limit = None
    assert send(chat_receiver, found) == Outcome.sent()


def test_discords_retry_after_in_its_json_is_honoured_without_the_header() -> None:
    receiver = make("discord")
    receiver.start()
    try:
        receiver.script(Reply(429, {}, b'{"message": "slow down", "retry_after": 4.25}'))
        outcome = send(receiver, messages_of_every_kind("discord")["new"])
    finally:
        receiver.stop()
    assert outcome.result is Result.RETRY and outcome.retry_after == 4.25


@pytest.mark.parametrize(
    ("kind", "reply", "words"),
    [
        ("slack", Reply(404, {}, b"no_service"), "make a new incoming webhook and put its "
         f"address in {URL_ENV}"),
        ("slack", Reply(410, {}, b"channel_is_archived"), "is archived"),
        ("discord", Reply(404, {}, b'{"message": "Unknown Webhook", "code": 10015}'),
         f"no longer exists; make a new one and put its address in {URL_ENV}"),
        ("teams", Reply(404, {}, b""), "no workflow at this address"),
    ],
)  # fmt: skip
def test_the_tools_refusals_are_said_in_plain_words(kind: str, reply: Reply, words: str) -> None:
    receiver = make(kind)
    receiver.start()
    try:
        receiver.script(reply)
        outcome = send(receiver, messages_of_every_kind(kind)["new"])
    finally:
        receiver.stop()
    assert outcome.result is Result.FAILED
    assert words in outcome.reason


def test_no_address_in_the_environment_is_said_and_nothing_is_sent() -> None:
    payload = chat_kinds.payload(subscriber("slack"), messages_of_every_kind("slack")["new"])
    outcome = sender({}).send("key", payload)
    assert outcome == Outcome.failed(
        f"the environment variable {URL_ENV} that this channel names is not set: put the "
        "Slack webhook's address in it"
    )


def test_the_outbox_payload_keeps_the_address_out() -> None:
    payload = chat_kinds.payload(subscriber("teams"), messages_of_every_kind("teams")["new"])
    assert payload["url_env"] == URL_ENV
    assert "http://127.0.0.1" not in json.dumps(payload)
    assert payload["summary"].startswith("New opportunity")


def test_a_generic_webhook_refused_by_a_chat_tool_says_which_kind_it_needs(
    chat_receiver: ChatReceiver,
) -> None:
    generic = messages.webhook_payload(
        Subscriber(
            subscriber("slack").organisation,
            ChannelFile.model_validate(
                {
                    "schema": 1,
                    "organisation": {"id": "o", "name": "O"},
                    "channels": [
                        {"id": "c", "kind": "webhook", "url": chat_receiver.url(),
                         "secret_env": "SECRET"},
                    ],
                }
            ).channels[0],
        ),
        messages_of_every_kind("slack")["new"],
        "key",
    )  # fmt: skip
    webhook = WebhookSender(allow_private=True, environ={"SECRET": "s"}, timeout=5)
    try:
        outcome = webhook.send("key", generic)
    finally:
        webhook.close()
    name = chat_kinds.SERVICES[chat_receiver.kind].name
    assert outcome.result is Result.FAILED
    assert outcome.reason.startswith(
        f"{FORMAT_REFUSED}: it looks like {name}, which needs 'kind: {chat_receiver.kind}'"
    )
    assert chat_receiver.accepted == []


def test_a_generic_webhook_to_a_chat_tools_address_is_recognised_by_its_host() -> None:
    assert chat_kinds.misfit("hooks.slack.com", "/services/T/B/X", 403, "")
    assert chat_kinds.misfit("discord.com", "/api/webhooks/1/abc", 401, "")
    assert chat_kinds.misfit("prod-01.uksouth.logic.azure.com", "/workflows/x", 400, "")
    assert chat_kinds.misfit("hooks.example.org", "/publisher", 400, "bad signature") is None


@pytest.mark.parametrize(
    ("kind", "body", "status", "answer"),
    [
        ("slack", {"opportunity": {}}, 400, b"no_text"),
        ("slack", {"text": "x", "blocks": [{"type": "divider"}] * 51}, 400, b"invalid_blocks"),
        ("slack", {"text": "x", "blocks": [{"type": "section",
                   "text": {"type": "mrkdwn", "text": "y" * 3001}}]}, 400, b"invalid_blocks"),
        ("slack", {"text": "<script>"}, 400, b"invalid_payload"),
        ("teams", {"text": "x"}, 400, b"InvalidRequestContent"),
        ("teams", {"type": "message", "attachments": [{"contentType": "application/vnd"
                   ".microsoft.card.adaptive", "content": {"type": "AdaptiveCard",
                   "version": "1.4", "body": [{"type": "TextBlock", "text": "y" * 30_000}]}}]},
         413, b"MessageSizeExceeded"),
        ("discord", {"text": "x"}, 400, b"50006"),
        ("discord", {"content": "y" * 2001}, 400, b"50035"),
        ("discord", {"embeds": [{"title": "t"}] * 11}, 400, b"50035"),
        ("discord", {"embeds": [{"description": "y" * 4000}] * 2}, 400, b"50035"),
    ],
)  # fmt: skip
def test_the_receivers_refuse_what_the_tools_refuse(
    kind: str, body: dict[str, Any], status: int, answer: bytes
) -> None:
    """The receivers above are only worth their passes if they refuse what the tools do."""
    receiver = make(kind)
    receiver.start()
    chat = sender({URL_ENV: receiver.url()}, kind)
    try:
        outcome = chat.send("key", {"url_env": URL_ENV, "body": body})
    finally:
        chat.close()
        receiver.stop()
    assert outcome.result is Result.FAILED
    assert f"answered {status}" in outcome.reason and answer.decode() in outcome.reason
    assert receiver.accepted == []


def test_through_the_outbox_a_rate_limit_waits_and_a_refused_format_is_reported(
    database: Engine,
) -> None:
    """Slack takes one message, then asks for 30 seconds; a generic webhook pointed at
    Slack is parked as failed, in words `publisher outbox` and /healthz show."""
    receiver, other = make("slack"), make("slack")
    receiver.start()
    other.start()
    receiver.limit = 1
    found = messages_of_every_kind("slack")["new"]
    chat = chat_kinds.payload(subscriber("slack"), found)
    generic = {"url": other.url(), "secret_env": "SECRET", "body": {"version": 1}}
    items = [NewItem(f"chat-{n}", "leeds-cvs/chat", "slack", chat) for n in range(3)]
    items.append(NewItem("generic", "leeds-cvs/site", "webhook", generic))
    moment = NOW
    try:
        with database.begin() as conn:
            enqueue(conn, items, moment)
        done = dispatch(
            database,
            {
                "slack": lambda: sender({URL_ENV: receiver.url()}, "slack"),
                "webhook": lambda: WebhookSender(
                    allow_private=True, environ={"SECRET": "s"}, timeout=5
                ),
            },
            lambda: moment,
            base_delay=dt.timedelta(0),
        )
    finally:
        receiver.stop()
        other.stop()
    assert (done.sent, done.retried, done.failed) == (1, 1, 1)
    with database.connect() as conn:
        rows = {row.key: row for row in list_items(conn)}
        refused = refused_formats(conn)
    waiting = rows["chat-1"]
    assert waiting.state.value == "queued"
    assert waiting.next_attempt_at.replace(tzinfo=dt.UTC) == moment + dt.timedelta(seconds=30)
    assert rows["chat-2"].attempts == 0  # the channel waits for the next pass
    assert rows["generic"].state.value == "failed"
    assert list(refused) == ["leeds-cvs/site"]
    shown = outbox_text(list(rows.values()), {})
    assert "post to Slack (the address in CHAT_WEBHOOK_URL): New opportunity" in shown
    assert "it looks like Slack, which needs 'kind: slack'" in shown
    assert "http://127.0.0.1" not in shown.split("leeds-cvs/site")[0]  # a chat address stays out
    notes = " ".join(note for channel in done.notes.values() for note in channel)
    assert "it looks like Slack" in notes  # what `publisher notify` prints
    health = health_report(
        State(), moment, lock="", every=dt.timedelta(minutes=5),
        sync_every=dt.timedelta(minutes=1), pass_since=None, backlog={}, stuck=0,
        refused=refused,
    )  # fmt: skip
    assert health["warnings"] == [f"leeds-cvs/site: {rows['generic'].last_error}"]
    assert "message format" not in " ".join(health["problems"])  # the channel's fault: no 503

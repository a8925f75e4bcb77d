"""What a chat message (Slack, Teams, Discord) says, whatever the tool: a Message as plain
pieces, and the largest part of it that fits within a tool's limits.

Each tool's module (slack.py, teams.py, discord.py) is one `ChatService`: it lays the pieces
out in the tool's own format and reads the tool's answers. A digest too big for one chat
message is trimmed, not split: it ends with how many more there are and a link to the site,
so a channel of 300 members is not flooded with dozens of posts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from publisher.delivery.messages import ELSEWHERE, Entry, Message, subject_line
from publisher.plans.characters import one_line, scrub
from publisher.plans.errors import count

# The start of every reason a receiver gave for refusing what it was sent: `publisher
# outbox`, `publisher notify` and /healthz look for it.
FORMAT_REFUSED = "the receiver refused the message format"

T = TypeVar("T")


@dataclass(frozen=True)
class Item:
    """One entry as a chat tool shows it."""

    # "New opportunity", "Reminder: Applications open on 7 December 2026"; empty in a
    # message of one entry, whose summary says it already
    heading: str
    title: str
    url: str
    details: list[str]  # what changed, the headline and the facts: one paragraph each


@dataclass(frozen=True)
class Said:
    """A whole message in pieces."""

    summary: str  # one line: what the message is (the email's subject line)
    grouped: bool  # a digest or welcome, grouped by place; else one announcement
    groups: list[tuple[str, list[Entry]]]
    footer: str  # why you get this, and how to change it
    home: str  # every opportunity, on the site

    @property
    def total(self) -> int:
        return sum(len(entries) for _, entries in self.groups)

    def first(self, shown: int) -> list[tuple[str, list[Item]]]:
        """The groups holding the first `shown` entries, in order, as items. Only these are
        put into words: a digest of 20,000 shows a few dozen."""
        out: list[tuple[str, list[Item]]] = []
        for place, entries in self.groups:
            if shown <= 0:
                break
            out.append((place, [_item(entry, self.grouped) for entry in entries[:shown]]))
            shown -= len(entries)
        return out

    def more(self, shown: int) -> str:
        """'…and 12 more updates' for what is left out; for a welcome with nothing to list
        yet, that it will come; or ''."""
        if self.total == 0:
            return NOTHING_YET
        left = self.total - shown
        return f"…and {count(left, 'more update', 'more updates')}" if left > 0 else ""


CLOSING_SOON = "Closing soon"
# Followed by ": see every opportunity", linked.
NOTHING_YET = (
    "Nothing is open or coming up for this channel yet. New opportunities will be posted "
    "here as they are published. Until then"
)


def _item(entry: Entry, grouped: bool) -> Item:
    lines = [f"• {line}" for line in entry.lines]
    details = [scrub(text) for text in ("\n".join(lines), entry.headline, entry.facts) if text]
    heading = one_line(entry.heading) if grouped else ""
    return Item(heading, one_line(entry.title), entry.url, details)


def said(message: Message) -> Said:
    """Any message the outbox holds: one announcement or reminder ("single"), or several
    entries (a digest, a welcome), each shown once under its first place; a digest's
    "closing soon" list comes first, since it is the most pressing."""
    items: dict[str, list[Entry]] = {}
    grouped = message.kind != "single"
    for entry in message.entries:
        items.setdefault(entry.places[0] if entry.places else ELSEWHERE, []).append(entry)
    closing: list[Entry] = list(getattr(message, "closing", None) or [])
    change = (
        f"To change what you get, or to stop: {message.settings_url}"
        if message.settings_url
        else f"To change what you get, or to stop, contact {message.organisation}."
    )
    return Said(
        summary=one_line(subject_line(message)),
        grouped=grouped,
        groups=([(CLOSING_SOON, closing)] if closing else [])
        + (sorted(items.items()) if grouped else list(items.items())),
        footer=f"You get this because {message.organisation} sends you {message.filter}, "
        f"from the forward plans of NHS bodies and councils. {change}",
        home=message.home,
    )


def length(text: str) -> int:
    """Characters as the chat tools count them (JavaScript's UTF-16 units: an emoji is 2)."""
    return len(text.encode("utf-16-le")) // 2


def shorten(text: str, limit: int) -> str:
    """`text` within `limit` characters (as `length` counts), ending in '…' when cut."""
    if length(text) <= limit:
        return text
    cut = text[: max(0, limit - 1)]
    while length(cut) > limit - 1:
        cut = cut[:-1]
    return cut.rstrip() + "…"


def fit(total: int, render: Callable[[int], T], fits: Callable[[T], bool], most: int) -> T:
    """`render(n)` for the largest n ≤ total (and ≤ `most`, more than the tool could ever
    show) that `fits`; render(0) must fit. A binary search: a few layouts, not one for each
    entry."""
    low, high = 0, min(total, most)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(render(middle)):
            low = middle
        else:
            high = middle - 1
    return render(low)


class ChatService(Protocol):
    """One chat tool: its name and kind, the body it is sent, and its answers read."""

    kind: str  # the channel kind: "slack"
    name: str  # as people say it: "Slack"

    def body(self, message: Message) -> dict[str, Any]:
        """The JSON to post, within the tool's limits."""
        ...

    def refused(self, status: int, answer: str, url_env: str) -> str | None:
        """Plain words for a 4xx answer the tool documents, or None for the default."""
        ...

    def wait(self, answer: str) -> float | None:
        """Seconds a 429 answer's body asks for, when it says (Discord does)."""
        ...

    def looks_like(self, host: str, path: str, status: int, answer: str) -> bool:
        """Whether a generic webhook's receiver (its URL and refusal) is this tool."""
        ...

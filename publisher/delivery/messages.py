"""What each channel is sent: an announcement, a reminder, a digest or a welcome, as an email
payload (text and HTML from templates/email/, the .ics attached) or a webhook body (JSON, version 1,
documented in docs/webhooks.md)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from publisher.delivery import recipients
from publisher.delivery.channels import Subscriber
from publisher.formats import calendar, data, feeds, page_render
from publisher.model.views import FUNDING_WORDS, Collection, OpportunityView, SiteData
from publisher.plans.characters import one_line, scrub
from publisher.plans.model import ChannelFilter, EmailChannel, Funding
from publisher.text import templates, words

WEBHOOK_VERSION = 1
ELSEWHERE = "Across West Yorkshire"  # the digest group of opportunities with no place


@dataclass(frozen=True)
class Entry:
    """One thing to tell a channel about one opportunity; stored as JSON while it waits for
    a digest, so it holds words and data, not views."""

    key: str
    event: str  # new | changed | withdrawn | returned | cancelled | reminder
    uid: str
    title: str
    url: str
    heading: str
    lines: list[str]
    headline: str
    facts: str
    places: list[str]  # place names, for grouping digests
    record: dict[str, Any]  # the opportunity as in v1/all.json (JSON version 1)
    ics: str | None = None
    reminder: dict[str, Any] | None = None
    # What a member needs to decide whether to read on (entries stored before these were
    # added have them empty, and the templates then leave them out).
    money: str = ""  # 'Grants of up to £4,000 (£60,000 in total)'
    dates: list[str] = field(default_factory=list)  # 'Applications open on 7 June 2027'
    next_event: str = ""  # 'Co-design session on 14 January 2027 at 10am, Leeds'
    who: str = ""  # the commissioner
    where: str = ""  # 'Leeds and Wakefield'
    state: str = ""  # open | opening-soon | later | ... (model.views.State)

    def to_json(self) -> dict[str, Any]:
        # Shallow: the values are already JSON data, and asdict's deep copy of `record`
        # cost 10 ms an entry (every digest entry put aside is one).
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Entry:
        return cls(**value)


@dataclass
class Message:
    """Everything an email template or webhook body needs."""

    kind: str  # single | digest | welcome
    entries: list[Entry]
    organisation: str
    channel: str
    filter: str
    settings_url: str | None
    home: str
    period: str = ""
    groups: list[tuple[str, list[Entry]]] = field(default_factory=list)
    website: str | None = None  # the organisation's, for readers who want to stop
    area: str = ""  # 'Leeds', the places the channel follows ('' for everywhere)
    closing: list[Entry] = field(default_factory=list)  # a digest's "closing soon" list
    widened: bool = False  # a welcome after the channel's filter widened
    more: int = 0  # a welcome's opportunities left out for length: the site lists them
    privacy_url: str | None = None  # the deployer's privacy notice (email sign-ups)

    @property
    def count(self) -> int:
        return len(self.entries)

    def tally(self, *events: str) -> int:
        return sum(1 for one in self.entries if one.event in events)

    @property
    def open_now(self) -> list[Entry]:
        return [one for one in self.entries if one.state == "open"]

    @property
    def coming(self) -> list[Entry]:
        return [one for one in self.entries if one.state != "open"]


def _render(name: str, **context: Any) -> str:
    """A template of templates/email/, as the email says it. The environment keeps the line
    break a template file ends with (pages end with one); an email part never has: it is
    dropped."""
    text = templates.environment().get_template(f"email/{name}").render(**context)
    # One blank line between parts, however the template's blocks nest.
    return re.sub(r"\n{3,}", "\n\n", text).removesuffix("\n")


def _macro(name: str, *args: Any, **kwargs: Any) -> str:
    module = templates.environment().get_template("email/headings.txt").module
    return " ".join(str(getattr(module, name)(*args, **kwargs)).split())


def heading(event: str, reminder: str = "") -> str:
    """'New opportunity', 'Changed', ...; a reminder says what it reminds of."""
    return f"Reminder: {reminder}" if reminder else _macro("heading", event)


def reminder_line(label: str, date: Any) -> str:
    """'Applications open on 7 December 2026', 'Closing date for bids around March 2027'."""
    return _macro("reminder", label, date)


def _money(view: OpportunityView) -> str:
    """'Grants of up to £4,000 (£60,000 in total)'; '' when the plan gives no amount."""
    if view.item.value is None:
        return ""
    said = words.money(view.item.value, "grants" if view.is_grant else "awards")
    return said[:1].upper() + said[1:]


def next_event(site: SiteData, view: OpportunityView) -> str:
    """The next engagement event, in one line; '' when none is still to come."""
    coming = [e for e in view.item.dates.engagement if e.start.first_day >= site.today]
    if not coming:
        return ""
    return _macro("event", min(coming, key=lambda e: e.start.start))


def entry(
    site: SiteData,
    view: OpportunityView,
    key: str,
    event: str,
    lines: Iterable[str],
    reminder: dict[str, Any] | None = None,
) -> Entry:
    # Only an announcement or reminder sent on its own carries the calendar (attached).
    has_dates = event not in ("welcome", "closing") and bool(
        view.key_dates or view.item.dates.engagement
    )
    ics = calendar.ics(site, Collection(None, [view])).decode() if has_dates else None
    return Entry(
        key=key,
        event=event,
        uid=view.uid,
        title=one_line(view.item.title),
        url=site.link(view.url),
        heading=heading(event, next(iter(lines), "") if event == "reminder" else ""),
        lines=list(lines),
        headline=page_render.headline(site, view),
        facts=feeds.facts(view),
        places=[place.name for place in view.places],
        record=data.opportunity_v1(site, view),  # webhooks promise version 1 (docs/webhooks.md)
        ics=ics,
        reminder=reminder,
        money=_money(view),
        dates=[reminder_line(key.label, key.date) for key in view.key_dates],
        next_event=next_event(site, view),
        who=one_line(view.commissioner.name),
        where=_macro("places", [place.name for place in view.places]),
        state=view.state.value,
    )


def filter_words(site: SiteData, subscriber: Subscriber) -> str:
    return filter_text(site, subscriber.channel.filter)


def filter_text(site: SiteData, wanted: ChannelFilter) -> str:
    """'opportunities in Leeds about mental health': what a filter takes, in words."""
    return _macro(
        "filter",
        [site.places.name(slug) for slug in wanted.places],
        [site.themes[s].name.lower() if s in site.themes else s for s in wanted.themes],
        [FUNDING_WORDS[Funding(f)].lower() for f in wanted.funding],
        wanted.min_value,
        wanted.max_value,
    )


def message(
    site: SiteData,
    subscriber: Subscriber,
    entries: list[Entry],
    digest: bool,
    period: str = "",
    *,
    kind: str = "",
    closing: list[Entry] | None = None,
    widened: bool = False,
    more: int = 0,
) -> Message:
    groups: dict[str, list[Entry]] = {}
    for one in entries:
        for place in one.places or [ELSEWHERE]:
            groups.setdefault(place, []).append(one)
    return Message(
        kind=kind or ("digest" if digest else "single"),
        entries=entries,
        organisation=subscriber.organisation.name,
        channel=subscriber.channel.id,
        filter=filter_words(site, subscriber),
        settings_url=subscriber.channel.settings_url,
        home=site.link("index.html"),
        period=period,
        groups=sorted(groups.items()),
        website=subscriber.organisation.website,
        area=_macro("places", [site.places.name(s) for s in subscriber.channel.filter.places]),
        closing=closing or [],
        widened=widened,
        more=more,
        privacy_url=subscriber.privacy_url,
    )


def message_id(key: str, base_url: str) -> str:
    """Stable for the outbox item: a resend is recognisably the same message."""
    host = urlsplit(base_url).hostname or "localhost"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{host}>"


def list_name(name: str) -> str:
    """An organisation's name as the description of a List-Id header (RFC 2919): one line,
    without the angle brackets that mark the list's id ('Tom <3 CVS' would otherwise make
    every message of the channel unsendable)."""
    return one_line(name.replace("<", " ").replace(">", " "))


def email_payload(
    subscriber: Subscriber, found: Message, key: str, base_url: str
) -> dict[str, Any]:
    # The subject and List-Id are headers: one line, and no control or direction
    # characters (a right-to-left override would disguise the subject). The bodies lose
    # control characters too; a checked plan holds none, but history or a places file might.
    subject = one_line(_render("subject.txt", m=found))
    attachments = []
    if found.kind == "single" and found.entries[0].ics:
        attachments.append(
            {"filename": "dates.ics", "content_type": "text/calendar", "text": found.entries[0].ics}
        )
    channel = subscriber.channel
    assert isinstance(channel, EmailChannel)
    return recipients.mark(_email(subscriber, found, key, base_url, subject, attachments),
                           recipients.Source.of(channel))  # fmt: skip


def _email(
    subscriber: Subscriber,
    found: Message,
    key: str,
    base_url: str,
    subject: str,
    attachments: list[dict[str, str]],
) -> dict[str, Any]:
    assert isinstance(subscriber.channel, EmailChannel)
    host = urlsplit(base_url).hostname or "localhost"
    return {
        "to": list(subscriber.channel.to),
        "subject": subject,
        "text": scrub(_render("message.txt", m=found)),
        "html": scrub(_render("message.html", m=found, subject=subject)),
        "message_id": message_id(key, base_url),
        "list_id": f"{list_name(subscriber.organisation.name)} <{subscriber.channel.id}."
        f"{subscriber.organisation.id}.{host}>",
        "settings_url": found.settings_url,
        "attachments": attachments,
        **({"unsubscribe_url": subscriber.unsubscribe_url} if subscriber.unsubscribe_url else {}),
    }


def webhook_payload(subscriber: Subscriber, found: Message, key: str) -> dict[str, Any]:
    assert subscriber.channel.kind == "webhook"
    return {
        "url": subscriber.channel.url,
        "secret_env": subscriber.channel.secret_env,
        "body": {
            "version": WEBHOOK_VERSION,
            "id": key,
            "type": found.kind,
            "channel": subscriber.uid,
            "entries": [
                {
                    "event": one.event,
                    "heading": one.heading,
                    "lines": one.lines,
                    "url": one.url,
                    "opportunity": one.record,
                    "reminder": one.reminder,
                }
                for one in found.entries
            ],
        },
    }


def subject_line(found: Message) -> str:
    """What the message is, in one line: the email's subject, a chat message's heading."""
    return one_line(_render("subject.txt", m=found))


def payload(subscriber: Subscriber, found: Message, key: str, base_url: str) -> dict[str, Any]:
    if subscriber.kind == "email":
        return email_payload(subscriber, found, key, base_url)
    if subscriber.kind == "webhook":
        return webhook_payload(subscriber, found, key)
    # Imported here: the chat formats build on this module's Message.
    from publisher.delivery import chat_kinds  # noqa: PLC0415

    return chat_kinds.payload(subscriber, found)

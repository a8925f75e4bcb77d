"""Everything a reader sees reads as English: the example site built on two days, a site of
the same plans with one and with several of each counted thing, every kind of email and
change sentence, all rendered for real and read against a list of known slips."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json
import re
import shutil
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import feedparser
import icalendar
import pytest
import yaml

from publisher.builder.site import build
from publisher.changes.diff import Change, Kind
from publisher.changes.wording import sentence
from publisher.delivery import messages
from publisher.delivery.channels import Subscriber, load_channels
from publisher.model.read import load_site
from publisher.model.views import SiteData
from publisher.plans.dates import PlanDate
from publisher.text import words

ROOT = Path(__file__).resolve().parents[2]
PLANS = ROOT / "plans"
DAYS = (dt.date(2026, 11, 23), dt.date(2027, 3, 1))
BASE = "https://plans.example.org/"

# Nouns the site counts: after "1" (and an optional adjective) they must be singular.
COUNTED = (
    "opportunities|groups|organisations|lots|parts|events|places|weeks|days|months|years|"
    "updates|grants|contracts|changes|dates|things|providers|sessions|meetings|applications|"
    "conflicts"
)
SLIPS: list[tuple[str, re.Pattern[str]]] = [
    ("a plural after 1", re.compile(rf"\b1 (?:[a-z]+ )?(?:{COUNTED})\b")),
    (
        "a singular after a number above 1",
        re.compile(r"\b(?:[2-9]|\d{2,}) (?:opportunity|group|lot|event|week|day|update|part)\b"),
    ),
    (
        "a grant or contract without its article",
        re.compile(
            r"\b(?:has awarded|is thinking about|plans|is deciding who will get|"
            r"has cancelled its plan for|inviting (?:applications|bids) for) "
            r"(?:grant|contract|programme|scheme)\b"
        ),
    ),
    (
        "a plural subject with a singular verb",
        re.compile(
            r"\b(?:[2-9]|\d{2,}|several|many)\s[\w' ]*?"
            r"(?:groups|organisations|providers|charities|networks) "
            r"(?:runs|is|has|was|provides|delivers)\b"
        ),
    ),
    ("'there is' with several", re.compile(r"\b[Tt]here is (?:[2-9]|\d{2,})\b")),
    ("'there are' with one", re.compile(r"\b[Tt]here are 1\b")),
    ("the winner, for a group funded or a provider chosen", re.compile(r"\b[Tt]he winners?\b")),
    (
        "'a' before a vowel sound",
        re.compile(r"\b[Aa] (?!one\b|one-|uni|use|usu|uti|eu|Euro)[aeiouAEIO][a-z]"),
    ),
    (
        "'an' before a consonant sound",
        re.compile(r"\b[Aa]n (?!h(?:our|onest|onour|eir))[b-df-hj-np-tv-z][a-z]"),
    ),
    (
        "advice to commissioners shown to the public",
        re.compile(r"\b(?:[Tt]he notice should|should say why|should explain the)\b"),
    ),
    ("a word twice", re.compile(r"\b(the|a|an|of|to|and|in|for|is|on) \1\b", re.IGNORECASE)),
    ("'1 week's'-style possessive wrong", re.compile(r"\b1 weeks'|\b(?:[2-9]|\d{2,}) week's\b")),
]


def slips(text: str) -> list[str]:
    """Each slip in `text`, named, with a little of the text around it."""
    found = []
    for name, pattern in SLIPS:
        for match in pattern.finditer(text):
            start, end = max(match.start() - 40, 0), match.end() + 40
            found.append(f"{name}: …{text[start:end]}…")
    return found


def test_the_slips_list_catches_each_slip_it_names() -> None:
    """The word list is tested too: each of the slips of issue 16 is caught, and good
    English is not."""
    bad = [
        "NHS West Yorkshire Integrated Care Board has awarded grant to the alliance.",
        "36 neighbourhood network groups runs this service now.",
        "The winner can pay other organisations to do part of the work.",
        "Not decided yet. The notice should say why and when it expects to decide.",
        "It is split into 1 separate parts, called lots.",
        "There is 36 opportunities.",
        "This will be a open procedure.",
        "Book an place.",
    ]
    good = [
        "NHS West Yorkshire Integrated Care Board has awarded a grant to the alliance.",
        "This service is run now by 36 neighbourhood network groups.",
        "One group runs it. 36 groups run it. There is 1 opportunity. There are 2 opportunities.",
        "The provider chosen can pay others. A one-stage competition. An NHS trust. A user.",
        "It gives 1 week's notice; that gives 6 weeks' notice.",
    ]
    for text in bad:
        assert slips(text), text
    for text in good:
        assert not slips(text), (text, slips(text))


def test_words_agree_with_their_numbers_and_take_the_right_article() -> None:
    assert words.agree(1, "runs", "run") == "runs"
    assert words.agree(36, "runs", "run") == "run"
    assert [words.a(w) for w in ("grant", "event", "NHS trust", "CVS", "user", "hour")] == [
        "a grant", "an event", "an NHS trust", "a CVS", "a user", "an hour",
    ]  # fmt: skip
    assert words.with_article("grant to the alliance") == "a grant to the alliance"
    assert words.with_article("community anchor grant for Leeds") == (
        "a community anchor grant for Leeds"
    )
    for phrase in ("grants for groups", "funding for a body", "the grant", "renewing support"):
        assert words.with_article(phrase) == phrase


# --- reading what a build wrote -------------------------------------------------------------


class _Text(HTMLParser):
    """The words of a page as a reader gets them: text, a page's description and the
    alternative text of images; one line per block."""

    BLOCKS = frozenset(
        {"p", "li", "h1", "h2", "h3", "h4", "dt", "dd", "td", "th", "div", "title", "caption", "tr"}
    )

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.hidden += 1
        if tag in self.BLOCKS:
            self.parts.append("\n")
        named = dict(attrs)
        if tag == "meta" and named.get("name") == "description":
            self.parts.append(f"\n{named.get('content') or ''}\n")
        if tag in ("img", "area") and named.get("alt"):
            self.parts.append(f" {named['alt']} ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.hidden -= 1
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_text(markup: str) -> str:
    reader = _Text()
    reader.feed(markup)
    return "".join(reader.parts)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if not value.startswith(("http://", "https://", "mailto:")):
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _split(raw: bytes, start: bytes, end: bytes) -> tuple[bytes, list[bytes], bytes]:
    """A feed or calendar cut into what comes before its entries, each entry, and what comes
    after them: cut at the markers the file itself writes, so each part is its own bytes."""
    first, last = raw.find(start), raw.rfind(end)
    if first < 0 or last < 0:
        return raw, [], b""
    last += len(end)
    entries = [start + part.rstrip() for part in raw[first:last].split(start)[1:]]
    return raw[:first], entries, raw[last:]


# The lists of a site share their entries: one opportunity's item is in the feed of every
# place, theme and commissioner it belongs to. Each distinct entry is read once (still by
# feedparser or icalendar, as a whole feed or calendar holding just that entry).
_READ: dict[bytes, str] = {}


def _read_once(document: bytes, read: Callable[[bytes], str]) -> str:
    if document not in _READ:
        _READ[document] = read(document)
    return _READ[document]


def _feed_text(raw: bytes, root: bytes, start: bytes, end: bytes) -> str:
    head, entries, tail = _split(raw, start, end)
    feed = feedparser.parse(head + tail)
    texts = [feed.feed.get("title", ""), feed.feed.get("subtitle", "")]
    # Each entry is read in a feed of its own: the file's root element (with its namespaces)
    # and that entry, without the feed's title, which would make every entry's key unique.
    opening = head[: head.index(b">", head.index(root)) + 1]
    if root == b"<rss":
        opening += b"<channel>"
    for entry in entries:
        texts.append(_read_once(opening + entry + tail, _entry_text))
    return "\n".join(texts)


def _entry_text(document: bytes) -> str:
    texts = []
    for entry in feedparser.parse(document).entries:
        texts += [entry.get("title", ""), html_text(entry.get("summary", ""))]
    return "\n".join(texts)


def _event_text(block: bytes) -> str:
    event = icalendar.Event.from_ical(block)
    return "\n".join(str(event.get(k, "")) for k in ("SUMMARY", "DESCRIPTION"))


def file_text(path: Path) -> str:
    """What a reader of this file sees, read with the tools a reader would use."""
    raw = path.read_bytes()
    if path.suffix == ".html":
        return html_text(raw.decode())
    if path.suffix == ".rss":
        return _feed_text(raw, b"<rss", b"<item>", b"</item>")
    if path.suffix == ".atom":
        return _feed_text(raw, b"<feed", b"<entry>", b"</entry>")
    if path.suffix == ".ics":
        head, events, _ = _split(raw, b"BEGIN:VEVENT", b"END:VEVENT")
        calendar = icalendar.Calendar.from_ical(head + b"END:VCALENDAR\r\n")
        texts = [str(calendar.get(k, "")) for k in ("X-WR-CALNAME", "X-WR-CALDESC", "NAME")]
        texts += [_read_once(event + b"\r\n", _event_text) for event in events]
        return "\n".join(texts)
    if path.suffix == ".csv":
        rows = csv.reader(io.StringIO(raw.decode("utf-8-sig")))
        return "\n".join(cell for row in rows for cell in row)
    if path.suffix == ".json":
        return "\n".join(_strings(json.loads(raw)))
    return ""


# Lines repeat across a site and its emails far more than whole files or messages do: each
# distinct line is checked once.
_LINE_SLIPS: dict[str, list[str]] = {}


def line_slips(text: str) -> list[str]:
    """The slips of each line of `text`, its spaces closed up."""
    found = []
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if line not in _LINE_SLIPS:
            _LINE_SLIPS[line] = slips(line)
        found += _LINE_SLIPS[line]
    return found


def site_slips(folder: Path) -> list[str]:
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "static" not in path.parts:
            found += [f"{path.relative_to(folder)}: {slip}" for slip in line_slips(file_text(path))]
    return found


def built(plans: Path, out: Path, today: dt.date) -> Path:
    report = build(plans, out, today=today, base_url=BASE, workers=1)
    assert report.errors == 0, [p for p in report.problems]
    assert report.opportunities > 0
    return out


def shown(found: list[str]) -> str:
    return f"{len(found)} slips, first: " + "\n".join(sorted(set(found))[:25])


# --- the example site, and one of the same plans with one of each counted thing ----------


@pytest.mark.parametrize("today", DAYS, ids=str)
def test_the_example_site_has_none_of_the_slips(tmp_path: Path, today: dt.date) -> None:
    found = site_slips(built(PLANS, tmp_path / "site", today))
    assert not found, shown(found)


STATUSES = ("idea", "planning", "engagement", "open", "evaluating", "awarded", "cancelled")


def _one_of_each(item: dict[str, Any]) -> dict[str, Any]:
    """The opportunity with one lot, one event, one place and one theme, and a single
    organisation running it now."""
    one = copy.deepcopy(item)
    one["id"] = f"{item['id']}-one"
    for name in ("places", "themes"):
        if one.get(name):
            one[name] = one[name][:1]
    if one.get("lots"):
        one["lots"] = one["lots"][:1]
        for lot in one["lots"]:
            if lot.get("places"):
                lot["places"] = lot["places"][:1]
    dates = one.get("dates") or {}
    if dates.get("engagement"):
        dates["engagement"] = dates["engagement"][:1]
    if one.get("current_provider"):
        one["current_provider"]["name"] = "Leeds Mums Together"
    if one.get("support"):
        one["support"] = one["support"][:1]
    decision = one.get("award_decision")
    if decision:
        decision["decided_by"] = decision.get("decided_by", [])[:1]
        decision["conflicts_of_interest"] = (decision.get("conflicts_of_interest") or [])[:1]
    return one


def _several(item: dict[str, Any]) -> dict[str, Any]:
    """The opportunity run now by many groups."""
    many = copy.deepcopy(item)
    many["id"] = f"{item['id']}-many"
    many["current_provider"] = {"name": "36 neighbourhood network groups"}
    decision = many.get("award_decision")
    if decision and decision.get("conflicts_of_interest"):
        decision["conflicts_of_interest"] = decision["conflicts_of_interest"] * 3
    return many


def counted_plans(folder: Path) -> Path:
    """The example plans, each opportunity also with one of each counted thing and with
    many groups running it now, and one grant and one contract of each plan in every
    status."""
    folder.mkdir()
    for name in ("places.yaml", "themes.yaml"):
        shutil.copy(PLANS / name, folder / name)
    for path in sorted(PLANS.glob("*.yaml")):
        plan = yaml.safe_load(path.read_text())
        if not isinstance(plan, dict) or "opportunities" not in plan:
            continue
        items = plan["opportunities"]
        extra = [_one_of_each(item) for item in items] + [_several(item) for item in items]
        kinds: dict[bool, dict[str, Any]] = {}
        for item in items:
            kinds.setdefault("grant" in str(item.get("funding", "")), item)
        for item in kinds.values():
            for status in STATUSES:
                again = copy.deepcopy(item)
                again["id"] = f"{item['id']}-{status}"
                again["status"] = status
                extra.append(again)
        for item in items:  # what an intention to award says once the decision is made
            if item.get("award_decision"):
                for status in ("evaluating", "awarded"):
                    again = copy.deepcopy(item)
                    again["id"] = f"{item['id']}-decided-{status}"
                    again["status"] = status
                    extra.append(again)
        plan["opportunities"] = items + extra
        (folder / path.name).write_text(yaml.safe_dump(plan, sort_keys=False, allow_unicode=True))
    return folder


@pytest.fixture(scope="module")
def counted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return counted_plans(tmp_path_factory.mktemp("counted") / "plans")


@pytest.mark.parametrize("today", DAYS, ids=str)
def test_one_and_several_of_each_counted_thing_read_as_english(
    counted: Path, tmp_path: Path, today: dt.date
) -> None:
    out = built(counted, tmp_path / "site", today)
    notices = list((out / "opportunities").rglob("*-one.html"))
    assert notices, "the one-of-each opportunities were built"
    found = site_slips(out)
    assert not found, shown(found)


# --- emails and change sentences ---------------------------------------------------------


def _subscribers(site: SiteData) -> list[Subscriber]:
    """The example channels, and email channels asking for each kind of funding."""
    subscribers, problems = load_channels(PLANS)
    assert subscribers and not problems
    email = next(s for s in subscribers if s.kind == "email")
    made = []
    for funding in (["grant"], ["contract", "grant-programme"], ["grant", "undecided"]):
        wanted = email.channel.filter.model_copy(update={"funding": funding})
        channel = email.channel.model_copy(update={"filter": wanted})
        made.append(Subscriber(email.organisation, channel))
    return [s for s in subscribers if s.kind == "email"] + made


def _email_text(payload: dict[str, Any]) -> str:
    return "\n".join([payload["subject"], payload["text"], html_text(payload["html"])])


@pytest.mark.parametrize("today", DAYS, ids=str)
def test_every_kind_of_email_reads_as_english(counted: Path, today: dt.date) -> None:
    site, _ = load_site(counted, today)
    found: list[str] = []
    lines = {
        "new": [],
        "changed": [sentence(Change(Kind.DATE_MOVED, "tender_opens", PlanDate.parse("2027-03-01"),
                                    PlanDate.parse("2027-05-01")))],
        "withdrawn": [],
        "returned": [],
        "cancelled": [],
        "reminder": [messages.reminder_line("Applications open", PlanDate.parse("2027-05-01"))],
    }  # fmt: skip
    entries = []
    for number, view in enumerate(site.opportunities):
        event = list(lines)[number % len(lines)]
        entries.append(messages.entry(site, view, f"k{number}", event, lines[event]))
    for subscriber in _subscribers(site):
        for one in entries:
            single = messages.message(site, subscriber, [one], digest=False)
            found += line_slips(_email_text(messages.email_payload(subscriber, single, "k", BASE)))
        for some in (entries[:1], entries[:2], entries):
            digest = messages.message(site, subscriber, some, digest=True, period="this week")
            found += line_slips(_email_text(messages.email_payload(subscriber, digest, "k", BASE)))
    assert not found, shown(found)


def test_change_sentences_with_one_and_several_read_as_english() -> None:
    changes = [Change(Kind.NEW, after="Grants for groups"), Change(Kind.CANCELLED)]
    for names in (["Leeds"], ["Leeds", "Kirklees", "Calderdale"]):
        changes += [
            Change(Kind.LOTS, "lots", names, (names, names)),
            Change(Kind.LOTS, "lots", [], (names, [])),
            Change(Kind.LOTS, "lots", [], ([], names)),
            Change(Kind.PLACES, "places", ["leeds"] * len(names), ["kirklees"] * len(names)),
            Change(Kind.THEMES, "themes", ["loneliness"] * len(names), ["older-people"]),
            Change(Kind.DETAILS, "summary", after=["summary", "contact"][: len(names)]),
        ]
    found = []
    for change in changes:
        for grant in (False, True):
            found += slips(sentence(change, grant))
    assert not found, shown(found)

"""Every branch of the email templates (an announcement, a change, a reminder, a digest with
its closing-soon list, a welcome, a catch-up after a wider filter), from the example plans:
the plain text and the HTML say the same words and link the same addresses, the subject
says what is inside, and the footer says who to ask to stop, without talking of channels."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest

from publisher.delivery import messages
from publisher.delivery.channels import Subscriber
from publisher.model.read import load_site
from publisher.model.views import SiteData, State
from publisher.plans.model import EmailChannel, Organisation
from tests.changes.gitplans import EXAMPLES

TODAY = date(2026, 12, 7)
BASE = "https://plans.example.org/"


class _Visible(HTMLParser):
    """The words a reader sees in the body, and the addresses the links go to."""

    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []
        self.links: set[str] = set()
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("head", "title", "style"):
            self.hidden += 1
        for name, value in attrs:
            if tag == "a" and name == "href" and value:
                self.links.add(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("head", "title", "style"):
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.words += words(data)


def words(text: str) -> list[str]:
    out = []
    for raw in text.split():
        if raw.startswith(("http://", "https://")):
            continue
        token = raw.strip(".,:;()\"'“”")
        if token and token not in ("==", "--", "-"):
            out.append(token)
    return out


def links(text: str) -> set[str]:
    return set(re.findall(r"https?://\S+", text))


def subscriber(settings_url: str | None = None, places: list[str] | None = None) -> Subscriber:
    organisation = Organisation(
        id="leeds-cvs", name="Leeds CVS", website="https://leeds-cvs.example.org/"
    )
    channel = EmailChannel.model_validate(
        {"id": "members", "kind": "email", "to": ["members@leeds-cvs.example.org"],
         "settings_url": settings_url, "filter": {"places": places or ["leeds"]}}
    )  # fmt: skip
    return Subscriber(organisation, channel)


@pytest.fixture(scope="module")
def site() -> SiteData:
    found, _ = load_site(EXAMPLES, TODAY, BASE)
    return found


def made(site: SiteData) -> dict[str, dict[str, str]]:
    """Every kind of email, as its payload."""
    leeds = [v for v in site.opportunities if "leeds" in v.reach and v.is_current]
    grant = next(v for v in leeds if v.is_grant and v.item.value and v.item.value.per_award)
    evented = next(v for v in leeds if messages.next_event(site, v))
    opened = [v for v in leeds if v.state is State.OPEN]
    new = messages.entry(site, grant, "k1", "new", [])
    changed = messages.entry(
        site, evented, "k2", "changed", ["The closing date moved from 3 May 2027 to 10 May 2027."]
    )
    line = messages.reminder_line("Applications open", grant.item.dates.tender_opens)
    reminder = messages.entry(site, grant, "k3", "reminder", [line])
    closing = [
        messages.entry(site, v, "", "closing", [messages.reminder_line("Closing date", v.closes)])
        for v in opened
    ]
    welcome = [messages.entry(site, v, "", "welcome", []) for v in leeds]
    one = subscriber("https://leeds-cvs.example.org/settings")
    other = subscriber()
    cases = {
        "announcement": (one, messages.message(site, one, [new], digest=False)),
        "change": (other, messages.message(site, other, [changed], digest=False)),
        "reminder": (one, messages.message(site, one, [reminder], digest=False)),
        "digest": (
            other,
            messages.message(
                site,
                other,
                [new, changed, reminder],
                digest=True,
                period="10 December 2026",
                closing=closing,
            ),
        ),
        "welcome": (one, messages.message(site, one, welcome, digest=False, kind="welcome")),
        "nothing yet": (other, messages.message(site, other, [], digest=False, kind="welcome")),
        "long": (
            other,
            messages.message(site, other, welcome[:3], digest=False, kind="welcome", more=250),
        ),
        "widened": (
            other,
            messages.message(site, other, welcome[:2], digest=False, kind="welcome", widened=True),
        ),
    }
    return {
        name: messages.email_payload(who, message, name, BASE)
        for name, (who, message) in cases.items()
    }


def test_text_and_html_say_the_same(site: SiteData, tmp_path: Path) -> None:
    for name, payload in made(site).items():
        # Written out, to read as a member would: pytest keeps tmp_path after the run.
        (tmp_path / f"{name}.txt").write_text(f"Subject: {payload['subject']}\n\n{payload['text']}")
        (tmp_path / f"{name}.html").write_text(payload["html"])
        seen = _Visible()
        seen.feed(payload["html"])
        assert seen.words == words(payload["text"]), name
        assert seen.links == links(payload["text"]), name
        assert "channel" not in payload["text"].lower(), name
        assert (
            "ask Leeds CVS" in payload["text"] or "To stop getting these emails" in payload["text"]
        )
        # No sentence runs into the next ("or stop.Every opportunity").
        assert not re.search(r"[a-z][.!?][A-Z]", " ".join(seen.words)), name


def test_what_each_email_carries(site: SiteData) -> None:
    found = made(site)
    digest = found["digest"]
    assert digest["subject"] == (
        "1 new opportunity, 1 change, 1 reminder and 2 closing soon in Leeds (10 December 2026)"
    )
    assert "== Closing soon ==" in digest["text"] and "In this email:" in digest["text"]
    announcement = found["announcement"]["text"]
    assert re.search(r"Money: Grants of (up to )?£[\d,]+", announcement)
    assert "Key dates:" in announcement
    assert "Next event: " in found["change"]["text"]
    assert "To stop getting these emails, or to change what you get: https://" in announcement
    assert "ask Leeds CVS: https://leeds-cvs.example.org/" in found["change"]["text"]
    assert found["welcome"]["subject"].startswith("Welcome: ")
    assert found["nothing yet"]["subject"] == "Welcome: news of opportunities in Leeds"
    assert "And 250 more opportunities: every one is on the site, https://" in found["long"]["text"]
    assert found["long"]["subject"] == "Welcome: 253 opportunities open or coming up in Leeds"
    assert "Nothing is open or coming up for you just now" in found["nothing yet"]["text"]
    assert "more opportunities open or coming up in Leeds" in found["widened"]["subject"]

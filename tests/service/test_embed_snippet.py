"""The "HTML to copy" box on /subscribe: whatever a commissioner's name holds, the copied
snippet is one <iframe> with only the attributes we put there (issue 14, finding 4)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import feedparser
import httpx
import icalendar
import pytest

from publisher.builder.site import build
from publisher.plans.check import check
from publisher.service.web import create_app
from tests.formats.examples import TODAY
from tests.service.conftest import NOW, PLANS
from tests.service.server import free_socket, serving

HOSTILE = """Leeds City Council" onload="alert(document.domain)"""
ATTRIBUTES = ["src", "title", "width", "height", "loading"]
BELL_TITLE = "title: Grants for local groups to help families with food and heating this winter"


class _Textarea(HTMLParser):
    """The text of <textarea id="snippet">, as a browser shows it and a person copies it."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.inside = tag == "textarea" and ("id", "snippet") in attrs

    def handle_endtag(self, tag: str) -> None:
        self.inside = self.inside and tag != "textarea"

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.text += data


class _Tags(HTMLParser):
    """Every start tag of a piece of HTML, with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """The example plans with Leeds City Council's name made hostile, built and served on
    loopback."""
    root = tmp_path_factory.mktemp("hostile")
    plans = root / "plans"
    shutil.copytree(PLANS, plans, ignore=shutil.ignore_patterns("schema"))
    path = plans / "leeds-city-council.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("  name: Leeds City Council\n", f"  name: '{HOSTILE}'\n", 1)
    path.write_text(text, encoding="utf-8")
    # Quotes are allowed in names (escaping makes them harmless), so the plan publishes.
    report = check([path], TODAY)
    assert [p.code for p in report.problems if p.severity.value == "error"] == []
    # A bell in a title (finding 3) is refused: that file is left out, the rest is served.
    wakefield = plans / "wakefield-council.yaml"
    text = wakefield.read_text(encoding="utf-8")
    assert BELL_TITLE in text
    wakefield.write_text(text.replace(BELL_TITLE, f'title: "{BELL_TITLE[7:]}\\u0007"', 1))
    site = root / "feeds"
    sock = free_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    assert [Path(f).name for f in build(plans, site, today=TODAY, base_url=base).skipped] == [
        "wakefield-council.yaml"
    ]
    with (
        serving(sock, lambda url: create_app(site, plans, url, clock=lambda: NOW)),
        httpx.Client(base_url=base, timeout=30) as http,
    ):
        yield http


def _copied(page: str) -> str:
    box = _Textarea()
    box.feed(page)
    box.close()
    return box.text


def test_the_copied_snippet_has_only_our_attributes(client: httpx.Client) -> None:
    response = client.get("/subscribe?commissioner=leeds-city-council&show=links")
    assert response.status_code == 200
    copied = _copied(response.text)
    tags = _Tags()
    tags.feed(copied)
    tags.close()
    assert [tag for tag, _ in tags.tags] == ["iframe"]
    attrs = dict(tags.tags[0][1])
    assert list(attrs) == ATTRIBUTES
    assert attrs["title"] is not None and HOSTILE in attrs["title"]
    assert attrs["src"] == f"{client.base_url}embed?commissioner=leeds-city-council"


def test_the_page_itself_shows_the_name_as_text(client: httpx.Client) -> None:
    response = client.get("/subscribe?commissioner=leeds-city-council&show=links")
    tags = _Tags()
    tags.feed(response.text)
    tags.close()
    assert not any(name == "onload" for _, attrs in tags.tags for name, _ in attrs)
    embed = client.get("/embed?commissioner=leeds-city-council")
    tags = _Tags()
    tags.feed(embed.text)
    tags.close()
    assert not any(name == "onload" for _, attrs in tags.tags for name, _ in attrs)


def test_filtered_feeds_answer_when_a_plan_holds_a_control_character(
    client: httpx.Client,
) -> None:
    """Finding 3: filtered RSS and Atom answered 500 for every choice."""
    for fmt in ("rss", "atom"):
        response = client.get(f"/feeds?place=wakefield&format={fmt}")
        assert response.status_code == 200
        parsed = feedparser.parse(response.content)
        assert not parsed.bozo
        assert not any("food and heating" in entry.title for entry in parsed.entries)
    response = client.get("/feeds?place=wakefield&format=ics")
    assert response.status_code == 200
    icalendar.Calendar.from_ical(response.content)

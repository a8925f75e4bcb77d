"""Filtered feeds, the subscribe page and the embeddable list, through the real app: each
feed holds exactly the opportunities the site's own rules pick, in every format, and
parses as feed readers and calendar programs parse it; every link the subscribe page
gives works; the pages are valid, labelled HTML without scripts."""

from __future__ import annotations

import csv
import html
import io
import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import feedparser
import httpx
import icalendar
import pytest
from playwright.sync_api import sync_playwright

from publisher.formats import calendar, feeds
from publisher.model.read import load_site
from publisher.model.views import Collection, OpportunityView, SiteData
from tests.formats.examples import TODAY
from tests.formats.test_browser import (
    AXE_RUN,
    AXE_SCRIPT,
    AXE_TAGS,
    CHROMIUM,
    CHROMIUM_ARGS,
    MEASURE,
    PHONE,
    VNU,
)
from tests.service.conftest import PLANS, Site

# Each: the query, and how many opportunities at least it must match (so it tests something).
CHOICES = [
    ("place=leeds", 5),
    ("place=harehills&place=wakefield", 5),
    ("place=leeds&theme=mental-health", 2),
    ("theme=mental-health&theme=loneliness&funding=grant-programme", 2),
    ("commissioner=leeds-city-council&funding=contract&funding=grant", 2),
    ("place=west-yorkshire&funding=undecided", 1),
    ("place=calderdale&theme=older-people&commissioner=calderdale-council", 1),
]


@pytest.fixture(scope="module")
def data(site: Site) -> SiteData:
    """The plans as read separately from the app, at the address the app serves."""
    loaded, _ = load_site(PLANS, TODAY, site.url)
    return loaded


def picked(data: SiteData, query: str) -> list[OpportunityView]:
    """The opportunities a filtered feed must hold, by the rules the site's lists use:
    places by reach; values of one filter are alternatives; filters all apply."""
    wanted: dict[str, set[str]] = {}
    for key, value in parse_qsl(query):
        wanted.setdefault(key, set()).add(value)

    def keep(view: OpportunityView) -> bool:
        tests = {
            "place": set(view.reach),
            "theme": {t.slug for t in view.themes},
            "commissioner": {view.commissioner.id},
            "funding": {view.item.funding.value} if view.item.funding else set(),
        }
        return all(tests[key] & values for key, values in wanted.items())

    return [view for view in data.opportunities if keep(view)]


def feed_ids(data: SiteData, views: list[OpportunityView]) -> set[str]:
    """The ids of the items feeds carry for these opportunities (one each, one per change)."""
    return {one.id for one in feeds.items_of(data, Collection(None, views))}


def event_uids(body: bytes) -> set[str]:
    parsed = icalendar.Calendar.from_ical(body)
    return {str(event["UID"]) for event in parsed.walk("VEVENT")}


@pytest.mark.parametrize(("query", "least"), CHOICES)
def test_filtered_feeds_hold_exactly_the_matching_opportunities(
    client: httpx.Client, data: SiteData, query: str, least: int
) -> None:
    views = picked(data, query)
    assert least <= len(views) < len(data.opportunities), "the choice should pick some, not all"

    for fmt in ("rss", "atom"):
        response = client.get(f"feeds?{query}&format={fmt}")
        assert response.status_code == 200
        parsed = feedparser.parse(response.content)
        assert not parsed.bozo, f"{fmt}: {parsed.get('bozo_exception')}"
        assert {entry.id for entry in parsed.entries} == feed_ids(data, views), fmt
        self_link = next(link.href for link in parsed.feed.links if link.rel == "self")
        assert dict(parse_qsl(urlsplit(self_link).query))["format"] == fmt
        assert self_link.startswith(client.base_url.join("feeds?").__str__())

    ics = client.get(f"feeds?{query}&format=ics")
    assert ics.headers["content-type"] == "text/calendar; charset=utf-8"
    expected_events = event_uids(calendar.ics(data, Collection(None, views)))
    assert event_uids(ics.content) == expected_events
    assert "feeds?" in str(icalendar.Calendar.from_ical(ics.content)["SOURCE"])

    document = client.get(f"feeds?{query}&format=json").json()
    assert [o["uid"] for o in document["opportunities"]] == [v.uid for v in views]
    assert document["collection"]["path"].startswith("feeds?")
    assert document["collection"]["links"]["json"].endswith("format=json")

    sheet = client.get(f"feeds?{query}&format=csv")
    assert sheet.headers["content-type"] == "text/csv; charset=utf-8; header=present"
    found = list(csv.DictReader(io.StringIO(sheet.content.decode("utf-8-sig"), newline="")))
    assert [row["Id"] for row in found] == [v.uid for v in views]


def test_a_reader_without_gzip_gets_the_same_feed(client: httpx.Client) -> None:
    """Kept filtered feeds are held gzipped only (service/live.py): a client that does not
    take gzip gets the plain body made again, the same bytes, length and validators."""
    url = "feeds?place=leeds&theme=mental-health&format=json"
    plain = {"Accept-Encoding": "identity"}
    for _ in range(2):  # made, then kept
        zipped = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert zipped.headers["content-encoding"] == "gzip"
        assert zipped.headers["etag"].endswith('-gz"')
        got = client.get(url, headers=plain)
        assert got.status_code == 200 and "content-encoding" not in got.headers
        assert got.content == zipped.content  # httpx undid the gzip
        assert got.headers["content-length"] == str(len(got.content))
        assert got.headers["etag"] == zipped.headers["etag"].replace('-gz"', '"')
        head = client.head(url, headers=plain)
        assert head.headers["content-length"] == str(len(got.content))
        again = client.get(url, headers={**plain, "If-None-Match": got.headers["etag"]})
        assert again.status_code == 304 and again.content == b""


def test_one_filter_is_the_sites_own_list(client: httpx.Client) -> None:
    for stem in ("place/leeds", "theme/mental-health", "funding/undecided"):
        kind, slug = stem.split("/")
        static = feedparser.parse(client.get(f"{stem}.rss").content)
        made = feedparser.parse(client.get(f"feeds?{kind}={slug}").content)
        assert [e.id for e in made.entries] == [e.id for e in static.entries], stem
        assert made.feed.title == static.feed.title, stem


def test_titles_say_the_choice(client: httpx.Client) -> None:
    def title(query: str) -> str:
        return str(feedparser.parse(client.get(f"feeds?{query}").content).feed.title)

    assert title("place=leeds&theme=mental-health") == "Opportunities in Leeds about mental health"
    assert title("theme=mental-health&funding=grant&funding=contract") == (
        "Opportunities about mental health, funded by a contract or a grant"
    )
    assert title("funding=grant&funding=undecided") == (
        "Opportunities funded by a grant, or where the kind of funding is not decided yet"
    )
    assert title("place=leeds&commissioner=leeds-city-council") == (
        "Opportunities in Leeds from Leeds City Council"
    )


def test_the_same_choice_in_any_order_is_one_feed(client: httpx.Client) -> None:
    one = client.get("feeds?theme=mental-health&place=leeds&place=harehills&format=atom")
    two = client.get("feeds?place=harehills&theme=mental-health&place=leeds&format=atom")
    assert one.content == two.content
    assert one.headers["etag"] == two.headers["etag"]
    again = client.get(
        "feeds?place=leeds&place=harehills&theme=mental-health&format=atom",
        headers={"if-none-match": one.headers["etag"]},
    )
    assert again.status_code == 304


def test_unknown_values_say_what_is_wrong(client: httpx.Client) -> None:
    place = client.get("feeds?place=atlantis&theme=mental-health")
    assert place.status_code == 404
    assert "“atlantis”" in place.text and "leeds" in place.text and "subscribe" in place.text
    fmt = client.get("feeds?place=leeds&format=pdf")
    assert fmt.status_code == 404 and "“pdf”" in fmt.text and "rss" in fmt.text
    assert client.get("embed?theme=nothing").status_code == 404
    assert client.get("subscribe?funding=loan").status_code == 404


def test_no_filters_is_everything(client: httpx.Client) -> None:
    for fmt in ("rss", "ics"):
        moved = client.get(f"feeds?format={fmt}")
        assert moved.status_code == 301
        assert moved.headers["location"] == f"all.{fmt}"
    assert client.get("feeds", follow_redirects=True).url.path == "/all.rss"


# --- the subscribe page and the embed -------------------------------------------------------


class _Page(HTMLParser):
    """Links, form fields, labels and scripts of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.inputs: list[dict[str, str | None]] = []
        self.labels: set[str] = set()
        self.legends = 0
        self.fieldsets = 0
        self.scripts = 0
        self.targets: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "a" and named.get("href"):
            self.links.append(str(named["href"]))
            self.targets.append(named.get("target"))
        elif tag in ("input", "textarea", "select") and named.get("type") != "hidden":
            self.inputs.append(named)
        elif tag == "label" and named.get("for"):
            self.labels.add(str(named["for"]))
        elif tag == "legend":
            self.legends += 1
        elif tag == "fieldset":
            self.fieldsets += 1
        elif tag == "script":
            self.scripts += 1


def _read(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def test_subscribe_form_is_labelled(client: httpx.Client, data: SiteData) -> None:
    page = _read(client.get("subscribe").text)
    assert page.scripts == 0
    assert page.fieldsets == page.legends == 3
    unlabelled = [i for i in page.inputs if i.get("id") not in page.labels]
    assert not unlabelled, f"inputs without a label: {unlabelled}"
    boxes = {(i["name"], i["value"]) for i in page.inputs if i.get("type") == "checkbox"}
    assert {v for k, v in boxes if k == "place"} == set(data.places.by_slug)
    assert {v for k, v in boxes if k == "theme"} == set(data.themes)


def test_every_link_the_subscribe_page_gives_works(client: httpx.Client) -> None:
    response = client.get("subscribe?place=leeds&place=harehills&theme=mental-health&show=links")
    page = _read(response.text)
    assert "checked" in response.text
    ours = [link for link in page.links if "feeds?" in link or link.startswith("webcal:")]
    kinds = {dict(parse_qsl(urlsplit(link).query)).get("format") for link in ours}
    assert kinds == {"rss", "atom", "ics", "json", "csv"}
    assert any(link.startswith("webcal://") for link in ours)
    for link in ours:
        fetched = client.get(link.replace("webcal://", "http://", 1))
        assert fetched.status_code == 200, link
        fmt = dict(parse_qsl(urlsplit(link).query))["format"]
        if fmt in ("rss", "atom"):
            parsed = feedparser.parse(fetched.content)
            assert not parsed.bozo and parsed.entries, link
        elif fmt == "ics":
            assert icalendar.Calendar.from_ical(fetched.content).walk("VEVENT"), link
        elif fmt == "csv":
            sheet = fetched.content.decode("utf-8-sig")
            assert list(csv.DictReader(io.StringIO(sheet, newline=""))), link
        else:
            assert json.loads(fetched.content)["opportunities"], link
    embeds = [link for link in page.links if "/embed?" in link]
    assert embeds and client.get(embeds[0]).status_code == 200
    snippet = html.unescape(response.text.split('id="snippet"', 1)[1].split(">", 1)[1])
    assert snippet.startswith(
        f'<iframe src="{html.escape(embeds[0])}" title="Opportunities in Harehills'
    )


def test_one_choice_gets_the_sites_own_addresses(client: httpx.Client) -> None:
    page = _read(client.get("subscribe?place=leeds&show=links").text)
    assert any(link.endswith("/place/leeds.rss") for link in page.links)
    assert any(link.startswith("webcal://") and link.endswith("/place/leeds.ics")
               for link in page.links)  # fmt: skip
    everything = _read(client.get("subscribe?show=links").text)
    assert any(link.endswith("/all.ics") for link in everything.links)


def test_embed_lists_current_opportunities_for_the_top_window(
    client: httpx.Client, data: SiteData
) -> None:
    response = client.get("embed?place=leeds&theme=mental-health")
    page = _read(response.text)
    assert page.scripts == 0
    current = [v for v in picked(data, "place=leeds&theme=mental-health") if v.is_current]
    notices = [link for link in page.links if link.startswith("/opportunities/")]
    assert notices == ["/" + v.url for v in current]
    assert set(page.targets) == {"_top"}
    for link in notices:
        assert client.get(link).status_code == 200
    assert "Closing date" in response.text or "not set yet" in response.text
    short = _read(client.get("embed?limit=2").text)
    assert len([link for link in short.links if link.startswith("/opportunities/")]) == 2


def test_pages_pass_the_nu_html_checker(client: httpx.Client, tmp_path: Path) -> None:
    java = shutil.which("java")
    if java is None or not VNU.is_file():
        pytest.fail("Java or the Nu HTML checker (vnu.jar) is missing: run 'make tools'")
    pages = {
        "subscribe.html": "subscribe",
        "subscribe-links.html": "subscribe?place=leeds&theme=mental-health&show=links",
        "embed.html": "embed?place=leeds",
        "not-found.html": "no-such-page",
        "unknown.html": "feeds?place=atlantis",
    }
    for name, path in pages.items():
        (tmp_path / name).write_bytes(client.get(path).content)
    run = subprocess.run(
        [java, "-jar", str(VNU), "--format", "json", *(str(tmp_path / n) for n in pages)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    messages = json.loads(run.stderr or run.stdout)["messages"]
    problems = [
        f"{m.get('url', '').rsplit('/', 1)[-1]}:{m.get('lastLine')}: {m.get('message')}"
        for m in messages
        if m.get("type") == "error" or m.get("subType") == "warning"
    ]
    assert not problems, "\n".join(problems)


def test_pages_are_accessible_and_fit_a_320px_phone(site: Site) -> None:
    """axe-core finds nothing, and nothing scrolls sideways on a 320 px wide phone."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run 'make tools' to install Debian's chromium")
    paths = [
        "subscribe",
        "subscribe?place=leeds&place=harehills&theme=mental-health&show=links",
        "embed?place=leeds",
        "no-such-page",
    ]
    axe = AXE_SCRIPT.read_text(encoding="utf-8")
    problems = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # our CSP rightly forbids scripts: let the test put axe-core in anyway
            phone = browser.new_context(
                viewport=PHONE, is_mobile=True, has_touch=True, bypass_csp=True
            )
            page = phone.new_page()
            for path in paths:
                page.goto(site.url + path)
                measured = page.evaluate(MEASURE)
                if measured["scrollWidth"] > PHONE["width"]:
                    problems.append(f"{path}: scrolls sideways: {measured['widest']}")
                page.add_script_tag(content=axe)
                result = page.evaluate(AXE_RUN, AXE_TAGS)
                problems += [f"{path}: {v['id']}: {v['help']}" for v in result["violations"]]
        finally:
            browser.close()
    assert not problems, "\n".join(problems)

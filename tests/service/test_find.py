"""Finding your own, through the real app in headless Chromium: the home page's groups, the
form that narrows the opportunities (/find), place pages that tell apart what is for the
place from what is for a wider area, and "Get alerts" on every page. No JavaScript: the
pages have none, and the browser follows links and sends forms as a person would."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, ViewportSize

from publisher.formats.cards import PER_PAGE
from publisher.model.read import load_site
from publisher.model.views import OpportunityView, SiteData
from tests.formats.examples import TODAY
from tests.formats.test_browser import (
    AXE_RUN,
    AXE_SCRIPT,
    AXE_TAGS,
    MEASURE,
    PHONE,
    VNU,
)
from tests.service.conftest import PLANS, Site

# The measure of "a few screens": on a small phone (375 by 667 px) no page that lists
# opportunities is taller than PAGE_SCREENS screens, and at 320 px wide no list of cards is
# taller than SCREENS 640 px screens (a long list goes on over pages: formats/cards.py).
SMALL_PHONE: ViewportSize = {"width": 375, "height": 667}
PAGE_SCREENS = 7
SCREENS = 6
CARD_LISTS = (
    "() => [...document.querySelectorAll('ol.cards')].map(e => e.getBoundingClientRect().height)"
)


@pytest.fixture(scope="module")
def data(site: Site) -> SiteData:
    """The plans as read separately from the app, at the address the app serves."""
    loaded, _ = load_site(PLANS, TODAY, site.url)
    return loaded


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    # our CSP rightly forbids scripts: let the tests put axe-core in anyway
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, bypass_csp=True)
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def current_matching(data: SiteData, query: str) -> list[OpportunityView]:
    """What the form must find, worked out here from the plans: current opportunities;
    places by reach; values of one filter are alternatives; filters all apply; every word
    of `q` in the title or summary, ignoring case."""
    wanted: dict[str, set[str]] = {}
    words: list[str] = []
    for key, value in parse_qsl(query):
        if key == "q":
            words += re.findall(r"\w+", value.lower())
        elif value:
            wanted.setdefault(key, set()).add(value)

    def keep(view: OpportunityView) -> bool:
        tests = {
            "place": set(view.reach),
            "theme": {t.slug for t in view.themes},
            "commissioner": {view.commissioner.id},
            "funding": {view.item.funding.value} if view.item.funding else set(),
        }
        text = f"{view.item.title} {view.item.summary}".lower()
        return (
            view.is_current
            and all(tests[key] & values for key, values in wanted.items())
            and all(word in text for word in words)
        )

    return [view for view in data.opportunities if keep(view)]


def shown(page: Page) -> dict[str, list[str]]:
    """The notices a page shows in each group, by the group's heading id: as cards and by
    title, as site paths."""
    found: dict[str, list[str]] = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('section.group')].map(s => [
            s.querySelector('h2').id,
            [...s.querySelectorAll('.card-title a, ul.titles a')].map(a => a.href),
        ]))"""
    )
    return {key: [urlsplit(url).path.lstrip("/") for url in urls] for key, urls in found.items()}


# --- the form --------------------------------------------------------------------------------

QUERIES = [
    ("place=harehills", 5),
    ("place=harehills&theme=mental-health", 1),
    ("theme=older-people&funding=grant-programme", 1),
    ("q=GRANTS", 2),
    ("place=leeds&q=support+groups", 1),
    ("q=zzzz-no-such-word", 0),
    ("place=&theme=&funding=&q=", 20),
]


@pytest.mark.parametrize(("query", "least"), QUERIES)
def test_the_form_finds_exactly_the_matching_opportunities(
    client: httpx.Client, data: SiteData, query: str, least: int
) -> None:
    expected = current_matching(data, query)
    assert len(expected) >= least, "the query should test something"
    if least:
        assert len(expected) < len([v for v in data.opportunities if v.is_current]) or (
            "q=&" in query or query.endswith("q=")
        )
    found: list[str] = []
    count, number = 1, 0
    while number < count:  # every page of the answer
        number += 1
        response = client.get(f"find?{query}&page={number}")
        assert response.status_code == 200
        pages = re.search(r"Page (\d+) of (\d+)", response.text)
        count = int(pages.group(2)) if pages else 1
        assert (int(pages.group(1)) if pages else 1) == number
        links = re.findall(r'<section class="group".*?</section>', response.text, re.S)
        here = [
            href
            for section in links
            for href in re.findall(r'<a href="/?(opportunities/[^"]+\.html)"', section)
        ]
        assert len(here) <= PER_PAGE
        found += here
        total = re.search(r"There (?:is|are) (\S+) opportunit", response.text)
        assert total is not None
        assert total.group(1) == (str(len(expected)) if expected else "no")
    assert count == max(1, -(-len(expected) // PER_PAGE))
    assert sorted(found) == sorted(v.url for v in expected)
    assert len(found) == len(set(found)), "an opportunity is in two groups, or on two pages"


def test_the_form_on_the_home_page_sends_the_browser_to_the_matches(
    phone: Page, site: Site, data: SiteData
) -> None:
    phone.goto(site.url)
    phone.get_by_label("Place").select_option("harehills")
    phone.get_by_label("Theme").select_option("mental-health")
    phone.get_by_label("Words in the title or summary").fill("")
    phone.get_by_role("button", name="Find").click()
    phone.wait_for_load_state()
    assert urlsplit(phone.url).path == "/find"
    expected = current_matching(data, "place=harehills&theme=mental-health")
    assert expected
    found = [url for urls in shown(phone).values() for url in urls]
    assert sorted(found) == sorted(v.url for v in expected)
    # the choice's alerts are one click away
    alerts = phone.get_by_role("link", name=re.compile("^Get alerts for this choice"))
    href = alerts.get_attribute("href") or ""
    assert dict(parse_qsl(urlsplit(href).query)) == {"place": "harehills", "theme": "mental-health"}


def test_unknown_choices_say_what_is_wrong(client: httpx.Client) -> None:
    response = client.get("find?place=atlantis")
    assert response.status_code == 404
    assert "atlantis" in response.text


# --- two clicks to Harehills, told apart by reach ------------------------------------------


def test_a_volunteer_in_harehills_reaches_its_notices_in_two_clicks(
    phone: Page, site: Site, data: SiteData
) -> None:
    phone.goto(site.url)
    phone.get_by_role("link", name="Harehills", exact=True).click()  # click 1
    phone.wait_for_load_state()
    assert urlsplit(phone.url).path == "/place/harehills.html"
    groups = shown(phone)
    current = [v for v in data.opportunities if v.is_current and "harehills" in v.reach]
    own = {"harehills"} | {s for s in data.places if "harehills" in data.places.chain(s)}
    expected = {
        "group-in": [v.url for v in current if own & set(v.item.places)],
        "group-leeds": [
            v.url for v in current if not own & set(v.item.places) and "leeds" in v.item.places
        ],
    }
    expected["group-west-yorkshire"] = [
        v.url for v in current if v.url not in expected["group-in"] + expected["group-leeds"]
    ]
    assert expected["group-in"] and expected["group-leeds"] and expected["group-west-yorkshire"]
    # the first page opens with those for Harehills itself, and counts each group
    assert next(iter(groups)) == "group-in" and groups["group-in"] == expected["group-in"]
    counts = phone.locator("ul.group-counts li").all_inner_texts()
    assert counts == [
        f"In Harehills: {len(expected['group-in'])}",
        f"Across Leeds: {len(expected['group-leeds'])}",
        f"Across West Yorkshire: {len(expected['group-west-yorkshire'])}",
    ]
    # the list's other pages go on with the rest, told apart the same way
    together: dict[str, list[str]] = {}
    headings: list[str] = []
    while True:
        for key, urls in shown(phone).items():
            together.setdefault(key, []).extend(urls)
        headings += phone.locator("section.group h2").all_inner_texts()
        after = phone.get_by_role("link", name="Next page")
        if not after.count():
            break
        after.click()
        phone.wait_for_load_state()
    assert list(together) == ["group-in", "group-leeds", "group-west-yorkshire"]
    for key, urls in expected.items():
        assert sorted(together[key]) == sorted(urls), key
    assert list(dict.fromkeys(h.split(" (")[0] for h in headings)) == [
        "In Harehills",
        "Across Leeds",
        "Across West Yorkshire",
    ]
    phone.goto(site.url + "place/harehills.html")
    first = phone.locator("#group-in").locator("xpath=..").locator(".card-title a").first
    title = first.inner_text()
    first.click()  # click 2
    phone.wait_for_load_state()
    assert urlsplit(phone.url).path.lstrip("/") in expected["group-in"]
    assert phone.locator("h1").inner_text().strip() == title.strip()


# --- "Get alerts" on every page --------------------------------------------------------------


def test_get_alerts_is_on_every_page(browser: Browser, site: Site) -> None:
    pages = [p.relative_to(site.folder).as_posix() for p in sorted(site.folder.rglob("*.html"))]
    pages += ["find?place=leeds", "subscribe", "embed-is-not-a-page-here", "no-such-page"]
    assert "open.html" in pages and "place/harehills.html" in pages
    missing = []
    for path in pages:
        body = httpx.get(site.url + path, timeout=30).text
        header = body.split("<main", 1)[0]
        link = re.search(r'<a class="alerts" href="([^"]+)"[^>]*>Get alerts</a>', header)
        if link is None:
            missing.append(path)
            continue
        target = urljoin(site.url + path, link.group(1))
        if target != site.url + "subscribe":
            missing.append(f"{path}: links to {target}")
    assert not missing, missing
    context = browser.new_context(viewport=PHONE, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(site.url + "place/harehills.html")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Get alerts").click()
        page.wait_for_load_state()
        assert urlsplit(page.url).path == "/subscribe"
        assert page.locator("h1").inner_text().startswith("Get opportunities")
    finally:
        context.close()


# --- accessible, valid and short on a phone ------------------------------------------------

NEW_PAGES = [
    "",
    "open.html",
    "soon.html",
    "later.html",
    "place/harehills.html",
    "place/harehills/page-2.html",
    "later/page-2.html",
    "place/leeds.html",
    "theme/mental-health.html",
    "funding/grant.html",
    "find?place=harehills",
    "find?q=zzzz-no-such-word",
    "find?place=leeds&theme=mental-health&funding=grant&q=support",
    "find",
]


def test_new_pages_are_accessible_and_fit_a_phone(phone: Page, site: Site) -> None:
    axe = AXE_SCRIPT.read_text(encoding="utf-8")
    problems = []
    for path in NEW_PAGES:
        response = phone.goto(site.url + path)
        assert response is not None and response.status == 200, path
        measured = phone.evaluate(MEASURE)
        if measured["scrollWidth"] > PHONE["width"]:
            problems.append(f"{path}: scrolls sideways: {measured['widest']}")
        phone.add_script_tag(content=axe)
        result = phone.evaluate(AXE_RUN, AXE_TAGS)
        problems += [f"{path}: {v['id']}: {v['help']} {v['targets']}" for v in result["violations"]]
    assert not problems, "\n".join(problems)


def test_no_page_that_lists_opportunities_is_more_than_a_few_phone_screens(
    browser: Browser, site: Site
) -> None:
    """Every page of the example site that lists opportunities (the home page, each group's
    and each list's pages, and the form's answers), whole, on a small phone; and every list
    of cards on the narrowest one."""
    pages = [p.relative_to(site.folder).as_posix() for p in sorted(site.folder.rglob("*.html"))]
    pages = [p for p in pages if not p.startswith(("opportunities/", "transparency/", "glossary"))]
    assert "place/leeds.html" in pages and "later/page-2.html" in pages
    pages += ["find", "find?page=2", "find?place=harehills"]
    problems = []
    tallest: dict[str, tuple[float, str]] = {}
    for viewport, what, measure, most in (
        (SMALL_PHONE, "the page", "document.documentElement.scrollHeight", PAGE_SCREENS),
        (PHONE, "a list of cards", CARD_LISTS, SCREENS),
    ):
        context = browser.new_context(viewport=viewport, is_mobile=True, has_touch=True)
        try:
            page = context.new_page()
            for path in pages:
                page.goto(site.url + path)
                found = page.evaluate(measure)
                for height in found if isinstance(found, list) else [found]:
                    tallest[what] = max(tallest.get(what, (0.0, "")), (height, path))
                    if height > most * viewport["height"]:
                        problems.append(f"{path}: {what} {height:.0f} px tall")
        finally:
            context.close()
    assert tallest["the page"][0] > 4 * SMALL_PHONE["height"], "the measure should see long pages"
    assert not problems, "\n".join(problems)


def test_new_pages_pass_the_nu_html_checker(client: httpx.Client, tmp_path: Path) -> None:
    java = shutil.which("java")
    if java is None or not VNU.is_file():
        pytest.fail("Java or the Nu HTML checker (vnu.jar) is missing: run 'make tools'")
    names = []
    for at, path in enumerate(NEW_PAGES):
        response = client.get(path)
        assert response.status_code == 200, path
        names.append(tmp_path / f"page-{at}.html")
        names[-1].write_bytes(response.content)
    run = subprocess.run(
        [java, "-jar", str(VNU), "--format", "json", *map(str, names)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    messages = json.loads(run.stderr or run.stdout)["messages"]
    problems = [
        f"{NEW_PAGES[int(m.get('url', '').rsplit('-', 1)[-1].split('.')[0])]}:"
        f"{m.get('lastLine')}: {m.get('message')}"
        for m in messages
        if m.get("type") == "error" or m.get("subType") == "warning"
    ]
    assert not problems, "\n".join(problems)

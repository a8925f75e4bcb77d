"""The built pages in a real browser: valid HTML, accessible, readable on a phone, printable,
usable without JavaScript, with a sound outline. Chromium is Debian's, headless; the Nu HTML
checker runs on the machine's Java (`make tools` installs both).
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.resources
import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin

import pytest
import yaml
from playwright.sync_api import Browser, Page, ViewportSize

from publisher.builder.site import build

ROOT = Path(__file__).parents[2]
PLANS = ROOT / "plans"
TODAY = dt.date(2026, 11, 23)
VNU = ROOT / ".tools" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
PHONE: ViewportSize = {"width": 320, "height": 640}
LIST_KINDS = ("place", "theme", "commissioner", "funding")
FEED_EXTENSIONS = ("rss", "atom", "ics", "json")
NOT_CURRENT = {"awarded", "cancelled"}  # the lists show every other opportunity
SERVED = {"subscribe"}  # linked from every page, served by the web app (`publisher serve`)


# --- the example plans, read as their authors wrote them ----------------------------------


def _plans() -> list[dict[str, Any]]:
    out = []
    for path in sorted(PLANS.glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(document, dict) and "commissioner" in document:
            out.append(document)
    return out


def _notice(commissioner: dict[str, Any], item: dict[str, Any]) -> str:
    return f"opportunities/{commissioner['id']}/{item['id']}.html"


def _pages_to_check() -> dict[str, str]:
    """The pages the browser tests look at: a label for messages, and the site path."""
    plans = _plans()
    pages = {"home page": "index.html"}
    for plan in plans:
        first = plan["opportunities"][0]
        pages[f"notice of {plan['commissioner']['id']}"] = _notice(plan["commissioner"], first)
    both = [
        (plan, item)
        for plan in plans
        for item in plan["opportunities"]
        if item.get("lots") and (item.get("dates") or {}).get("engagement")
    ]
    assert both, "the example plans have no opportunity with both lots and engagement events"
    plan, rich = both[0]
    pages["notice with lots and events"] = _notice(plan["commissioner"], rich)
    cancelled = [
        (plan, item)
        for plan in plans
        for item in plan["opportunities"]
        if item.get("status") == "cancelled"
    ]
    assert cancelled, "the example plans have no cancelled opportunity"
    pages["cancelled notice"] = _notice(cancelled[0][0]["commissioner"], cancelled[0][1])
    pages["place list"] = f"place/{rich['places'][0]}.html"
    pages["theme list"] = f"theme/{rich['themes'][0]}.html"
    pages["commissioner list"] = f"commissioner/{plan['commissioner']['id']}.html"
    pages["funding list"] = f"funding/{rich['funding']}.html"
    pages["glossary"] = "glossary.html"
    pages["transparency page"] = f"transparency/{plan['commissioner']['id']}.html"
    return pages


PAGES = _pages_to_check()
RICH_NOTICE = PAGES["notice with lots and events"]


# --- fixtures: the site, built once and served over HTTP; one browser for the module -------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "feeds"
    build(PLANS, out, today=TODAY)
    return out


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # keep pytest's output clean
        pass


@pytest.fixture(scope="module")
def base_url(site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def _html_files(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def _open(page: Page, base_url: str, path: str) -> None:
    response = page.goto(base_url + path)
    assert response is not None and response.status == 200, f"{path} did not load"


def _report(title: str, problems: list[str]) -> str:
    return f"{title} ({len(problems)}):\n" + "\n".join(f"  - {p}" for p in problems)


# --- 1. the Nu HTML checker ---------------------------------------------------------------

# Messages the checker gives that the pages cannot avoid, each with why. None so far.
UNAVOIDABLE: set[str] = set()


def test_every_page_passes_the_nu_html_checker(site: Path) -> None:
    java = shutil.which("java")
    if java is None or not VNU.is_file():
        pytest.fail("Java or the Nu HTML checker (vnu.jar) is missing: run 'make tools'")
    pages = _html_files(site)
    css = sorted((site / "static").glob("*.css"))
    assert pages, "the build wrote no HTML pages"
    assert site / "static" / "site.css" in css, "the build wrote no static/site.css"
    run = subprocess.run(
        [java, "-jar", str(VNU), "--format", "json", "--also-check-css",
         *map(str, pages), *map(str, css)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    try:
        messages = json.loads(run.stderr or run.stdout)["messages"]
    except (json.JSONDecodeError, KeyError) as error:
        pytest.fail(f"the Nu HTML checker gave no JSON report ({error}):\n{run.stderr[-2000:]}")
    problems = []
    for message in messages:
        kind = message.get("type")
        is_warning = kind == "info" and message.get("subType") == "warning"
        if kind not in ("error", "non-document-error") and not is_warning:
            continue
        if message.get("message") in UNAVOIDABLE:
            continue
        url = message.get("url", "")
        where = url.split(site.name + "/", 1)[-1] if site.name + "/" in url else url
        line = message.get("lastLine", message.get("firstLine", "?"))
        label = "warning" if is_warning else kind
        problems.append(f"{where}:{line}: {label}: {message.get('message')}")
    assert not problems, _report("The Nu HTML checker found problems", problems)


# --- 2. axe-core --------------------------------------------------------------------------

AXE_SCRIPT = importlib.resources.files("axe_playwright_python").joinpath("axe.min.js")
AXE_RUN = """async (tags) => {
    const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
    return {
        passes: result.passes.length,
        violations: result.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.map(n => n.target.join(' ')),
        })),
    };
}"""


def test_no_axe_violations(page: Page, base_url: str) -> None:
    script = AXE_SCRIPT.read_text(encoding="utf-8")
    problems = []
    for label, path in PAGES.items():
        _open(page, base_url, path)
        page.add_script_tag(content=script)
        result = page.evaluate(AXE_RUN, AXE_TAGS)
        if not result["passes"]:
            problems.append(f"{path} ({label}): axe-core ran no rules on it")
        for v in result["violations"]:
            targets = ", ".join(v["targets"][:8]) + (" ..." if len(v["targets"]) > 8 else "")
            problems.append(
                f"{path} ({label}): {v['id']} [{v['impact']}]: {v['help']}; at {targets}"
            )
    assert not problems, _report("axe-core found accessibility violations", problems)


# --- 3. a 320 px phone --------------------------------------------------------------------

MEASURE = """() => {
    const width = document.documentElement.clientWidth;
    const sticksOut = e => e.getBoundingClientRect().right > width + 1
        || (e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1
            && getComputedStyle(e).overflowX === 'visible');
    const all = [...document.querySelectorAll('body *')].filter(sticksOut);
    // The innermost culprits: those with no culprit inside them.
    const inner = all.filter(e => !all.some(o => o !== e && e.contains(o)));
    const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
        + (typeof e.className === 'string' && e.className.trim()
           ? '.' + e.className.trim().split(/\\s+/).join('.') : '')
        + ' "' + e.textContent.trim().replace(/\\s+/g, ' ').slice(0, 40) + '"';
    return {
        scrollWidth: document.documentElement.scrollWidth,
        fontSize: parseFloat(getComputedStyle(document.body).fontSize),
        widest: inner.slice(0, 5).map(name),
    };
}"""


def test_readable_on_a_320px_phone(
    browser: Browser, base_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    shots = tmp_path_factory.mktemp("screenshots")
    # A phone: a mobile viewport honours (or, without one, misses) <meta name="viewport">.
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                device_scale_factor=2)  # fmt: skip
    problems = []
    try:
        page = phone.new_page()
        for label, path in PAGES.items():
            _open(page, base_url, path)
            m = page.evaluate(MEASURE)
            if m["scrollWidth"] > PHONE["width"]:
                problems.append(
                    f"{path} ({label}): scrolls sideways at 320 px (scrollWidth "
                    f"{m['scrollWidth']}); sticking out: {', '.join(m['widest']) or '?'}"
                )
            if m["fontSize"] < 16:
                problems.append(f"{path} ({label}): body text is {m['fontSize']}px, under 16px")
        _open(page, base_url, RICH_NOTICE)
        page.screenshot(path=shots / "notice-320.png", full_page=True)
    finally:
        phone.close()
    desktop = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = desktop.new_page()
        _open(page, base_url, RICH_NOTICE)
        page.screenshot(path=shots / "notice-1280.png", full_page=True)
    finally:
        desktop.close()
    assert (shots / "notice-320.png").stat().st_size > 0
    assert (shots / "notice-1280.png").stat().st_size > 0
    assert not problems, _report("Pages not readable on a 320 px phone", problems)


# --- 4. print -----------------------------------------------------------------------------


def test_printable(page: Page, base_url: str, tmp_path: Path) -> None:
    page.emulate_media(media="print")
    problems = []
    for label, path in PAGES.items():
        _open(page, base_url, path)
        navs = page.locator("nav")
        if path == RICH_NOTICE and navs.count() == 0:
            problems.append(f"{path} ({label}): has no <nav> (site navigation) to hide in print")
        for i in range(navs.count()):
            if navs.nth(i).is_visible():
                problems.append(f"{path} ({label}): <nav> number {i + 1} is shown in print")
        main = page.locator("main")
        if main.count() != 1:
            problems.append(f"{path} ({label}): has {main.count()} <main> elements, not 1")
        elif not main.is_visible():
            problems.append(f"{path} ({label}): the main content is hidden in print")
    _open(page, base_url, RICH_NOTICE)
    pdf = page.pdf(path=tmp_path / "notice.pdf", format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000, "printing a notice to PDF failed"
    assert not problems, _report("Pages that do not print well", problems)


# --- 5. without JavaScript ----------------------------------------------------------------


class _Outline(HTMLParser):
    """What the page tests read from a page's markup: language, scripts, headings."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lang: str | None = None
        self.scripts: list[int] = []  # line numbers
        self.headings: list[tuple[int, int]] = []  # (level, line)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line = self.getpos()[0]
        if tag == "html":
            self.lang = dict(attrs).get("lang")
        elif tag == "script":
            self.scripts.append(line)
        elif re.fullmatch(r"h[1-6]", tag):
            self.headings.append((int(tag[1]), line))


def _outline(path: Path) -> _Outline:
    parser = _Outline()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser


def test_no_page_has_scripts(site: Path) -> None:
    problems = [
        f"{path.relative_to(site)}:{line}: <script>"
        for path in _html_files(site)
        for line in _outline(path).scripts
    ]
    assert not problems, _report("Pages with scripts (the site must need no JavaScript)", problems)


def test_home_page_links_work_without_javascript(browser: Browser, base_url: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        _open(page, base_url, "index.html")
        hrefs = [
            page.locator("a[href]").nth(i).get_attribute("href") or ""
            for i in range(page.locator("a[href]").count())
        ]
        links = {urldefrag(urljoin(base_url + "index.html", h))[0] for h in hrefs}
        ours = sorted(url[len(base_url) :] for url in links if url.startswith(base_url))
        # the home page shows the first few of each group; its "See all" pages the rest,
        # a page at a time (each page links the next)
        home = list(ours)
        groups = [p for p in ours if p in ("open.html", "soon.html", "later.html")]
        assert groups, "the home page links no page of a whole group"
        while groups:
            group = groups.pop()
            _open(page, base_url, group)
            found = page.locator("section.group a[href], nav.pager a[rel=next]")
            more = [found.nth(i).get_attribute("href") or "" for i in range(found.count())]
            more = [urljoin(group, h) for h in more]
            ours += [h for h in more if h.startswith("opportunities/")]
            groups += [h for h in more if "/page-" in h]
        _open(page, base_url, "index.html")
        ours = sorted(set(ours) - SERVED)  # pages of the web app, not of the static site
        expected_notices = {
            _notice(plan["commissioner"], item)
            for plan in _plans()
            for item in plan["opportunities"]
            if item.get("status") not in NOT_CURRENT
        }
        missing = sorted(expected_notices - set(ours))
        assert not missing, _report("Current opportunities the home page does not link", missing)
        for kind in LIST_KINDS:
            assert any(re.fullmatch(rf"{kind}/[^/]+\.html", p) for p in ours), (
                f"the home page links no {kind} list page"
            )
        for ext in FEED_EXTENSIONS:
            assert f"all.{ext}" in ours, f"the home page does not link its feed all.{ext}"
        broken = []
        for path in ours:
            response = context.request.get(base_url + path)
            if response.status != 200:
                broken.append(f"{path}: HTTP {response.status}")
        assert not broken, _report("Links on the home page that do not work", broken)
        notice = next(p for p in home if p.startswith("opportunities/"))
        page.locator(f'a[href$="{notice}"]').first.click()
        page.wait_for_url(base_url + notice)
        assert page.locator("h1").count() == 1, f"following a link to {notice} gave no notice"
    finally:
        context.close()


# --- 6. language and headings -------------------------------------------------------------


def test_language_and_headings(site: Path) -> None:
    problems = []
    for path in _html_files(site):
        name = path.relative_to(site).as_posix()
        outline = _outline(path)
        if outline.lang != "en-GB":
            problems.append(f'{name}: <html lang="{outline.lang}">, not lang="en-GB"')
        h1s = [line for level, line in outline.headings if level == 1]
        if len(h1s) != 1:
            problems.append(f"{name}: {len(h1s)} <h1> elements (lines {h1s}), not exactly 1")
        previous = 0  # so the first heading must be the h1
        for level, line in outline.headings:
            if previous == 0 and level != 1:
                problems.append(f"{name}:{line}: the first heading is <h{level}>, not <h1>")
            elif level > previous + 1:
                problems.append(f"{name}:{line}: <h{level}> after <h{previous}> skips a level")
            previous = level
    assert not problems, _report("Pages with a wrong language or heading outline", problems)

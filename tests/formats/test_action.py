"""What to do now, and status from the dates: every notice opens with what a reader can do
today (apply, with the closing time and days left; hear when it opens; book an event; what
happened), worked out from the plan and the day; a status the dates have overtaken is shown
as the dates say, with a plain sentence that the plan has not been updated; passed dates
read as past. Checked on the example plans as their authors wrote them, on 7 December 2026,
and in headless Chromium at a phone's width.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from publisher.formats import data, page_render, pages
from publisher.model import transparency
from publisher.model.from_plan import state_of, view_in
from publisher.model.read import load_site
from publisher.model.views import Behind, OpportunityHistory, OpportunityView, SiteData, State
from publisher.plans.model import Opportunity
from publisher.service import pages as service_pages
from publisher.service.filtered import Choice
from publisher.text import slots
from tests.formats.test_browser import (
    AXE_RUN,
    AXE_SCRIPT,
    AXE_TAGS,
    CHROMIUM,
    CHROMIUM_ARGS,
    VNU,
)
from tests.formats.test_pages import Page

ROOT = Path(__file__).parents[2]
TODAY = dt.date(2026, 12, 7)  # the day the issue was found on
PHONE = {"width": 375, "height": 667}
HOSPITAL = "west-yorkshire-icb/wy-home-from-hospital-winter"  # opens 7 December, "planning"
EXERCISE = "leeds-community-healthcare/lch-gentle-exercise-grants"  # open, closes at 5pm
STALE = "The plan says applications opened on 7 December 2026, but it has not been updated since "


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> SiteData:
    """The example plans with their dates as written (no moving them on to today: an
    example's `written_for`), read on 7 December 2026, outside git."""
    plans = tmp_path_factory.mktemp("action") / "plans"
    shutil.copytree(ROOT / "plans", plans)
    for path in plans.glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(r"(?m)^written_for:.*\n", "", text), encoding="utf-8")
    site, problems = load_site(plans, TODAY)
    assert not site.skipped, problems
    return site


def _view(site: SiteData, uid: str) -> OpportunityView:
    return next(v for v in site.opportunities if v.uid == uid)


def _top(html: str) -> str:
    """The text of a notice's box at the top, "What to do now"."""
    page = Page(html)
    return " ".join(page.blocks[: page.blocks.index("What it is for")])


# --- the state, from the dates --------------------------------------------------------------


def _item(status: str, **dates: str) -> Opportunity:
    return Opportunity.model_validate(
        {"id": "x", "title": "X", "summary": "X.", "status": status, "dates": dates}
    )


@pytest.mark.parametrize(
    ("status", "dates", "state", "days_left", "behind"),
    [
        # the opening day has come: open, whatever the status says
        ("planning", {"tender_opens": "2026-12-07", "tender_closes": "2027-01-08"},
         State.OPEN, 32, Behind.OPENED),
        ("engagement", {"tender_opens": "2026-12-01"}, State.OPEN, None, Behind.OPENED),
        # "around December" is not known to be open on any day of it
        ("planning", {"tender_opens": "2026-12"}, State.OPENING_SOON, None, None),
        ("planning", {"tender_opens": "2026-11"}, State.OPENING_SOON, None, Behind.OVERDUE),
        ("planning", {"tender_opens": "2027-01-04"}, State.OPENING_SOON, None, None),
        ("planning", {"tender_opens": "2027-06-01"}, State.LATER, None, None),
        ("idea", {}, State.LATER, None, None),
        # a closing day is open to its end; the day after, it is closed
        ("open", {"tender_closes": "2026-12-07T17:00"}, State.OPEN, 0, None),
        ("open", {"tender_closes": "2026-12-06"}, State.CLOSED, None, Behind.CLOSED),
        ("open", {"tender_closes": "2027-01"}, State.OPEN, None, None),
        ("planning", {"tender_opens": "2026-10-01", "tender_closes": "2026-11-30"},
         State.CLOSED, None, Behind.CLOSED),
        # a status ahead of the dates is believed
        ("open", {"tender_opens": "2027-01-04"}, State.OPEN, None, None),
        ("evaluating", {"tender_closes": "2027-01-08"}, State.CLOSED, None, None),
        ("awarded", {"tender_closes": "2026-10-01"}, State.AWARDED, None, None),
        ("cancelled", {"tender_opens": "2026-12-01"}, State.CANCELLED, None, None),
    ],
)  # fmt: skip
def test_the_state_comes_from_the_dates(
    status: str, dates: dict[str, str], state: State, days_left: int | None, behind: Behind | None
) -> None:
    assert state_of(_item(status, **dates), TODAY) == (state, days_left, behind)


def test_a_withdrawn_opportunity_is_withdrawn() -> None:
    item = _item("open", tender_closes="2027-01-08")
    assert state_of(item, TODAY, withdrawn=dt.date(2026, 12, 1))[0] is State.WITHDRAWN


# --- the example the issue names: open today, though the plan says "planning" -------------


def test_the_hospital_grants_are_open_on_7_december_and_say_the_plan_is_behind(
    site: SiteData,
) -> None:
    view = _view(site, HOSPITAL)
    assert view.item.status.value == "planning"  # as the plan says
    assert view.state is State.OPEN and view.status.value == "open"
    assert view.status_words == "Open now" and view.days_left == 32
    top = _top(pages.notice(site, view))
    assert "Status: Open now" in top
    assert STALE + "2 November 2026." in top  # first published; no git history here
    assert "Closes 8 January 2027. 32 days left." in top
    assert "Email your application to home-from-hospital-grants@example.org." in top
    # among "open now" in every list, not after the ones being planned
    order = [v.state for v in site.opportunities]
    assert order.index(State.OPEN) == 0
    assert site.opportunities.index(view) < order.index(State.LATER)
    assert all(s is State.OPEN for s in order[: site.opportunities.index(view)])
    fields = data.opportunity(site, view)
    assert fields["state"] == "open" and "days_left" not in fields  # JSON version 2
    assert data.opportunity_v1(site, view)["days_left"] == 32  # version 1: v1/all.json
    assert fields["stale"] == {
        "behind": "opened",
        "plan_status": "planning",
        "date_field": "tender_opens",
        "since": "2026-12-07",
        "plan_updated": "2026-11-02",
    }


def test_the_sentence_names_the_last_update_from_git(site: SiteData) -> None:
    view = _view(site, HOSPITAL)
    history = OpportunityHistory(published=dt.date(2026, 11, 2), last_changed=dt.date(2026, 11, 23))
    changed = view_in(site, view.commissioner, view.item, history)
    assert STALE + "23 November 2026." in _top(pages.notice(site, changed))


def test_a_stale_plan_shows_on_its_commissioners_transparency_page(site: SiteData) -> None:
    commissioner = _view(site, HOSPITAL).commissioner
    mine = [v for v in site.opportunities if v.commissioner.id == commissioner.id]
    record = transparency.record(site, commissioner, mine)
    assert [v.uid for v in record.stale] == [HOSPITAL]
    since = record.stale_since()
    assert since is not None and slots.days_since(since, TODAY + dt.timedelta(days=3)) == "3 days"
    page = Page(pages.transparency(site, commissioner))
    assert "Plans not kept up to date" in [text for _, text in page.headings]
    assert "1 opportunity in the plan has a status that does not match its own dates." in (
        page.main_text
    )
    others = next(c for c in site.commissioners if c.id != commissioner.id and not any(
        v.stale for v in site.opportunities if v.commissioner.id == c.id
    ))  # fmt: skip
    assert "Every opportunity's status matches its dates." in pages.transparency(site, others)


# --- what to do now, in each state ---------------------------------------------------------


def test_an_open_notice_says_how_to_apply_when_it_closes_and_how_long_is_left(
    site: SiteData,
) -> None:
    view = _view(site, EXERCISE)
    html = pages.notice(site, view)
    top = _top(html)
    assert "Applications are open now." in top
    assert "Closes 8 January 2027 at 5pm. 32 days left." in top
    assert "What to send: The short application form and a copy of your group's rules." in top
    assert re.search(
        r'<a class="button" href="https://example.org/[^"]+/apply">Apply online</a>', html
    )
    last_day = site.today.replace(year=2027, month=1, day=8)
    for day, words in (
        (last_day, "Closes today at 5pm."),
        (last_day - dt.timedelta(1), "1 day left."),
    ):
        on_the_day = dataclasses.replace(site, today=day)
        again = view_in(on_the_day, view.commissioner, view.item)
        assert words in _top(pages.notice(on_the_day, again))


def test_an_open_notice_without_apply_says_whom_to_ask(site: SiteData) -> None:
    view = next(v for v in site.opportunities if v.state is State.OPEN and v.item.apply is None)
    contact = view.item.contact or view.commissioner.contact
    assert contact is not None and contact.email
    assert f"To ask, email {contact.email}" in _top(pages.notice(site, view))


def test_a_notice_not_open_yet_says_what_happens_next_and_how_to_hear(site: SiteData) -> None:
    waiting = [v for v in site.opportunities if v.state in (State.OPENING_SOON, State.LATER)]
    assert waiting
    for view in waiting:
        html = pages.notice(site, view)
        top = _top(html)
        if view.steps.has_tender:
            assert "open" in top and "yet" in top, view.uid
        else:  # a direct award: nothing opens (issue 19)
            assert "There is no tender for this." in top, view.uid
            assert "You cannot" not in top, view.uid
        assert "Get alerts" in top, view.uid
        assert f'href="../../subscribe?{view.alerts_query.replace("&", "&amp;")}"' in html
    booked = [
        v
        for v in waiting
        if any(e.link and e.start.last_day >= TODAY for e in v.item.dates.engagement)
    ]
    assert booked, "the example plans should have an event to book before an opening"
    for view in booked:
        assert "Book or join: " in _top(pages.notice(site, view)), view.uid


def test_closed_and_settled_notices_say_what_happened(site: SiteData) -> None:
    said = {
        State.CLOSED: "You can no longer",
        State.AWARDED: "You can no longer",
        State.CANCELLED: "You do not need to do anything.",
    }
    for view in site.opportunities:
        if view.state in said:
            assert said[view.state] in _top(pages.notice(site, view)), view.uid
    carers = _view(site, "leeds-community-healthcare/lch-carers-breaks-pilot")
    top = _top(pages.notice(site, carers))
    assert "Instead: Leeds City Council's new carers' service offers these breaks." in top


def test_passed_dates_read_as_past(site: SiteData) -> None:
    waited = [
        v
        for v in site.opportunities
        if v.state is State.CLOSED
        and v.item.dates.decision is not None
        and v.item.dates.decision.last_day < TODAY
    ]
    assert waited, "the example plans should have a decision date that has passed"
    for view in waited:
        decision = view.item.dates.decision
        assert decision is not None
        headline = page_render.headline(site, view)
        assert "a decision was expected" in headline and "decision expected" not in headline
        assert "A decision was expected" in _top(pages.notice(site, view))
        card = page_render.card(site, view).html
        if all(key.date.last_day < TODAY for key in view.key_dates):
            assert "(this date has passed)" in card, view.uid
    closed = [v for v in site.opportunities if v.is_current and v.state is State.CLOSED]
    embedded = service_pages.embed(site, Choice(), 100).decode()
    for view in closed:
        closes = view.item.dates.tender_closes
        if closes is not None:
            assert re.search(rf"{re.escape(view.item.title)}</a>\s*<span[^>]*>Closed on ", embedded)


# --- in a browser: above the fold on a phone; valid and accessible in every state ---------


def _write(site: SiteData, views: list[OpportunityView], root: Path) -> list[str]:
    static = root / "static"
    static.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "publisher" / "templates" / "static" / "site.css", static / "site.css")
    paths = []
    for view in views:
        target = root / view.url
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(pages.notice(site, view), encoding="utf-8")
        paths.append(view.url)
    return paths


def _one_in_each_state(site: SiteData) -> list[OpportunityView]:
    chosen: dict[State, OpportunityView] = {}
    for view in site.opportunities:
        chosen.setdefault(view.state, view)
    withdrawn = view_in(
        site,
        chosen[State.CANCELLED].commissioner,
        chosen[State.OPEN].item,
        OpportunityHistory(withdrawn=dt.date(2026, 12, 1)),
    )
    chosen[State.WITHDRAWN] = withdrawn
    chosen[State.OPEN] = _view(site, EXERCISE)
    assert set(chosen) == set(State)
    return [*chosen.values(), _view(site, HOSPITAL)]


FOLD = """() => {
    const h2 = document.querySelector('main h2');
    const where = el => el.getBoundingClientRect().bottom + window.scrollY;
    const button = document.querySelector('.action a.button');
    const closing = document.querySelector('.action .closing');
    const before = el => !!(h2.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_PRECEDING);
    return {
        button: button && where(button), closing: closing && where(closing),
        text: closing && closing.textContent, before: before(button) && before(closing),
        height: window.innerHeight,
    };
}"""


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: run 'make tools'"
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def written(site: SiteData, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("notices")
    return root, _write(site, _one_in_each_state(site), root)


def test_on_a_phone_the_apply_link_and_closing_time_are_above_the_fold(
    chromium: Browser, written: tuple[Path, list[str]]
) -> None:
    root, _ = written
    context = chromium.new_context(viewport=PHONE)  # type: ignore[arg-type]
    try:
        page = context.new_page()
        page.goto((root / f"opportunities/{EXERCISE}.html").as_uri())
        found = page.evaluate(FOLD)
    finally:
        context.close()
    assert found["before"], found
    assert found["button"] <= found["height"] and found["closing"] <= found["height"], found
    assert "5pm" in found["text"] and "32 days left" in found["text"], found


def test_every_state_passes_axe(chromium: Browser, written: tuple[Path, list[str]]) -> None:
    root, paths = written
    script = AXE_SCRIPT.read_text(encoding="utf-8")
    context = chromium.new_context(viewport=PHONE)  # type: ignore[arg-type]
    problems = []
    try:
        page = context.new_page()
        for path in paths:
            page.goto((root / path).as_uri())
            page.add_script_tag(content=script)
            result = page.evaluate(AXE_RUN, AXE_TAGS)
            assert result["passes"], path
            problems += [
                f"{path}: {v['id']}: {v['help']} at {v['targets']}" for v in result["violations"]
            ]
    finally:
        context.close()
    assert not problems, problems


def test_every_state_passes_the_nu_html_checker(written: tuple[Path, list[str]]) -> None:
    root, paths = written
    java = shutil.which("java")
    assert java is not None and VNU.is_file(), "run 'make tools' for Java and the Nu checker"
    run = subprocess.run(
        [java, "-jar", str(VNU), "--format", "json", "--also-check-css",
         *(str(root / p) for p in paths), str(root / "static" / "site.css")],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    messages = json.loads(run.stderr or run.stdout)["messages"]
    problems = [
        f"{m.get('url', '').rsplit('/', 1)[-1]}:{m.get('lastLine')}: {m.get('message')}"
        for m in messages
        if m.get("type") in ("error", "non-document-error")
        or (m.get("type") == "info" and m.get("subType") == "warning")
    ]
    assert not problems, problems

"""The HTML pages from the example plans: every notice's sections in order, every gap with
its reason, plain English measured, jargon explained, approximate dates kept approximate,
the cancelled and example banners, and relative links that all lead somewhere.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import posixpath
import re
import statistics
from collections.abc import Iterator
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
import textstat  # type: ignore[import-untyped]

from publisher.builder.site import build, sizes
from publisher.formats import cards, list_pages, page_context, page_render, pages
from publisher.model import transparency
from publisher.model.read import load_site
from publisher.model.views import Gap, OpportunityView, SiteData
from publisher.plans.dates import MONTHS, PlanDate, Precision
from publisher.plans.language import JargonIndex, _explained
from publisher.text import words

ROOT = Path(__file__).parents[2]
TODAY = dt.date(2026, 11, 23)
FLESCH_MEDIAN_AT_LEAST = 60
SECTIONS = [
    "What it is for",
    "Where",
    "How much money",
    "When",
    "How the provider will be chosen",  # grants: "How the money will be given"
    "Who can apply",
    "What we don't know yet, and why",
    "Notice given",
    "Help available",
    "Contact",
    "What has changed",
]
NO_REASON = "The commissioner has not said why."
CANCELLED = "This opportunity has been cancelled."
EXAMPLE = "Example only: this is not a real opportunity."
BLOCKS = {"p", "li", "h1", "h2", "h3", "h4", "dt", "dd", "caption", "th", "td"}
SENTENCE_END = (".", "!", "?")


def _space(text: str) -> str:
    return " ".join(text.split())


class Page(HTMLParser):
    """What the tests read from a page: headings, the main text in blocks and as a stream
    with its glossary links, every link, and every id."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.headings: list[tuple[int, str]] = []
        self.blocks: list[str] = []
        self.text = ""  # the main element's text, spaces as in the page
        self.glossary_links: list[tuple[int, int, str]] = []  # start, end, slug
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.head: dict[str, str] = {}
        self._main = False
        self._heading: list[str] | None = None
        self._block: list[str] = []
        self._link: tuple[int, str] | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if "id" in found:
            self.ids.add(found["id"])
        if tag in ("a", "link") and "href" in found:
            self.links.append(found["href"])
        if tag == "meta" and "name" in found:
            self.head[found["name"]] = found.get("content", "")
        if tag == "main":
            self._main = True
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = []
        if self._main and tag in BLOCKS:
            self._flush()
        if self._main and tag == "a" and "glossary.html#" in found.get("href", ""):
            self._link = (len(self.text), found["href"].rsplit("#", 1)[1])

    def handle_endtag(self, tag: str) -> None:
        if re.fullmatch(r"h[1-6]", tag) and self._heading is not None:
            self.headings.append((int(tag[1]), _space("".join(self._heading))))
            self._heading = None
        if self._main and tag in BLOCKS:
            self._flush()
        if tag == "a" and self._link is not None:
            start, slug = self._link
            self.glossary_links.append((start, len(self.text), slug))
            self._link = None
        if tag == "main":
            self._flush()
            self._main = False

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading.append(data)
        if self._main:
            self._block.append(data)
            self.text += data

    def _flush(self) -> None:
        block = _space("".join(self._block))
        if block:
            self.blocks.append(block)
        self._block = []

    @property
    def main_text(self) -> str:
        return _space(self.text)

    def section(self, heading: str) -> str:
        """The text of the main element from one <h2> to the next."""
        out: list[str] = []
        inside = False
        for block in self.blocks:
            if block in SECTIONS or block == "How the money will be given":
                inside = block == heading
                continue
            if inside:
                out.append(block)
        return " ".join(out)

    def prose(self) -> str:
        """The main text for a readability score: each block a sentence of its own, as a
        reader takes a heading or a list item."""
        return " ".join(b if b.endswith(SENTENCE_END) else b + "." for b in self.blocks)


@pytest.fixture(scope="module")
def site() -> SiteData:
    loaded, _ = load_site(ROOT / "plans", TODAY)
    assert loaded.opportunities, "the example plans gave no opportunities"
    return loaded


@pytest.fixture(scope="module")
def notices(site: SiteData) -> dict[str, tuple[OpportunityView, Page]]:
    return {view.uid: (view, Page(pages.notice(site, view))) for view in site.opportunities}


def _sections(view: OpportunityView) -> list[str]:
    route = "How the money will be given" if view.is_grant else SECTIONS[4]
    return [*SECTIONS[:4], route, *SECTIONS[5:]]


# --- (a) every section, in order ------------------------------------------------------------


def test_every_notice_has_every_section_in_order(notices) -> None:
    for uid, (view, page) in notices.items():
        assert [h for level, h in page.headings if level == 1] == [view.item.title], uid
        assert [h for level, h in page.headings if level == 2] == _sections(view), uid
        # Before the first section: the status and the one-sentence headline.
        top = page.blocks[: page.blocks.index("What it is for")]
        assert f"Status: {view.status_words}" in top, uid
        headline = next(b for b in top if b.startswith(view.commissioner.name))
        assert headline.endswith(".") and headline.count(". ") == 0, (uid, headline)
        assert page.head["description"] == headline, uid


def test_the_headline_says_who_wants_what_where_and_when(site: SiteData, notices) -> None:
    _, page = notices["leeds-city-council/leeds-domestic-abuse-refuges"]
    assert (
        "Leeds City Council plans a contract for refuges and outreach for people escaping "
        "domestic abuse in Leeds, with the tender opening on 7 June 2027." in page.blocks
    )
    view, page = notices["west-yorkshire-icb/wy-mens-suicide-prevention"]
    assert (
        "NHS West Yorkshire Integrated Care Board plans a contract for new ways to reach men at "
        "risk of suicide in West Yorkshire, with the tender opening on 19 April 2027."
        in page.blocks
    )
    assert page_render.headline(site, view) in page.blocks
    view, _ = notices["leeds-city-council/leeds-money-advice-in-surgeries"]
    assert "doctors' surgeries" in page_render.headline(site, view)  # plain text, for feeds


# --- (b) every gap, with its reason -----------------------------------------------------------


def test_every_gap_appears_with_its_reason(notices) -> None:
    seen = 0
    for uid, (view, page) in notices.items():
        section = page.section("What we don't know yet, and why")
        for gap in view.gaps:
            seen += 1
            assert page_context.upper_first(gap.what) in section, (uid, gap.field)
            assert _space(gap.reason or NO_REASON) in section, (uid, gap.field)
        for name, why in view.item.unknown.items():
            assert _space(why) in section, (uid, name)
        if not view.gaps and not view.item.unknown:
            assert "Nothing important is missing." in section, uid
    assert seen >= 10, "the example plans should show plenty of gaps"


def test_a_gap_without_a_reason_says_so(site: SiteData) -> None:
    view = site.opportunities[0]
    gap = Gap("value", "how much money there is", None)
    page = Page(pages.notice(site, dataclasses.replace(view, gaps=(gap,))))
    assert f"How much money there is. {NO_REASON}" in page.section(
        "What we don't know yet, and why"
    )


def test_short_notice_is_said_openly(site: SiteData, notices) -> None:
    shorts = [(v, p) for v, p in notices.values() if v.notice is not None and v.notice.short]
    assert shorts, "the example plans should have an opportunity with short notice"
    for view, page in shorts:
        section = page.section("Notice given")
        assert f"This is less notice than {view.commissioner.name} promised." in section
        assert view.notice is not None
        assert _space(view.notice.reason or "No reason was given.") in section
    view, _ = shorts[0]
    assert view.notice is not None
    bare = dataclasses.replace(view, notice=dataclasses.replace(view.notice, reason=None))
    assert "No reason was given." in Page(pages.notice(site, bare)).section("Notice given")


# --- (c) plain English, measured --------------------------------------------------------------


@pytest.mark.usefixtures("pronouncing_dictionary")
def test_notices_are_plain_english(notices) -> None:
    scores = {uid: textstat.flesch_reading_ease(page.prose()) for uid, (_, page) in notices.items()}
    median = statistics.median(scores.values())
    worst = min(scores, key=lambda uid: scores[uid])
    print(f"\nFlesch reading ease of {len(scores)} notices: median {median:.1f}, "
          f"lowest {scores[worst]:.1f} ({worst})")  # fmt: skip
    assert median >= FLESCH_MEDIAN_AT_LEAST, f"median Flesch reading ease {median:.1f}"


# --- (d) jargon in our own wording is explained or linked on first use -----------------------


def _plan_wording(site: SiteData, view: OpportunityView) -> list[str]:
    """Everything on a notice that the commissioner wrote or named: checked by
    `publisher check`, not by the templates."""
    item = view.item
    out = [item.title, item.summary, view.commissioner.name, *item.unknown.values()]
    out += [p.name for p in view.places] + [t.name for t in view.themes]
    out += [site.places.name(s) for lot in item.lots for s in lot.places]
    out += [lot.title for lot in item.lots] + [lot.summary or "" for lot in item.lots]
    out += [r.why or "" for r in view.requirements] + [item.short_notice_reason or ""]
    out += [o.name for o in view.support] + [o.what for o in view.support]
    for event in item.dates.engagement:
        out += [event.title, event.where or "", event.paid_participation or ""]
        if event.host in site.organisations:
            out.append(site.organisations[event.host].name)
    if item.evaluation is not None:
        out += [c.name for c in item.evaluation.criteria]
    for contact in (item.contact, view.commissioner.contact):
        out += [contact.name] if contact is not None else []
    if item.current_provider is not None:
        out.append(item.current_provider.name)
    return [_space(text) for text in out if text.strip()]


def _unexplained_jargon(site: SiteData, index: JargonIndex, page: Page, view) -> list[str]:
    text = page.text
    plan = [False] * len(text)
    spaced = re.compile(r"\s+")
    for wording in _plan_wording(site, view):
        pattern = re.compile(spaced.sub(r"\\s+", re.escape(wording)).replace(r"\\s+", r"\s+"),
                             re.IGNORECASE)  # fmt: skip
        for found in pattern.finditer(text):
            plan[found.start() : found.end()] = [True] * (found.end() - found.start())
    linked: set[str] = set()
    problems = []
    for match, term in index.find(text):
        links = [
            slug for start, end, slug in page.glossary_links
            if start <= match.start() and match.end() <= end
        ]  # fmt: skip
        if links:
            linked.add(term.slug)
            continue
        if all(plan[match.start() : match.end()]):
            continue  # the commissioner's own words
        if term.slug in linked or _explained(text, match):
            continue
        around = _space(text[max(match.start() - 40, 0) : match.end() + 40])
        problems.append(f"'{match.group(0)}' ({term.slug}) in: ...{around}...")
    return problems


def test_jargon_in_notice_wording_is_explained_on_first_use(site: SiteData, notices) -> None:
    index = JargonIndex.build(site.glossary)
    problems = {
        uid: found
        for uid, (view, page) in notices.items()
        if (found := _unexplained_jargon(site, index, page, view))
    }
    assert not problems, problems


def test_glossary_links_lead_to_the_glossary_entry(site: SiteData, notices) -> None:
    glossary = Page(pages.glossary(site))
    for uid, (_, page) in notices.items():
        for _, _, slug in page.glossary_links:
            assert slug in glossary.ids, (uid, slug)
        # Each term is linked once, where it is first used.
        slugs = [slug for _, _, slug in page.glossary_links]
        assert "lot" not in slugs or slugs.count("lot") == 1, uid


# --- (e) approximate dates stay approximate -----------------------------------------------------


def _day(date: dt.date) -> str:
    return f"{date.day} {MONTHS[date.month - 1]} {date.year}"


def _exact_days(view: OpportunityView) -> set[str]:
    dates = view.item.dates
    plan_dates = [d for d in (dates.tender_opens, dates.tender_closes, dates.decision,
                              dates.service_starts, view.item.first_published) if d]  # fmt: skip
    plan_dates += [e.start for e in dates.engagement] + [e.end for e in dates.engagement if e.end]
    if view.item.current_provider and view.item.current_provider.contract_ends:
        plan_dates.append(view.item.current_provider.contract_ends)
    out = {_day(d.first_day) for d in plan_dates if not d.is_approximate}
    out.add(_day(TODAY))
    if view.last_changed is not None:
        out.add(_day(view.last_changed))
    return out


def test_approximate_dates_are_never_shown_as_a_day(notices) -> None:
    checked = 0
    for uid, (view, page) in notices.items():
        text = page.main_text
        for key in view.key_dates:
            if not key.date.is_approximate:
                continue
            checked += 1
            assert words.when(key.date)[1:] in text, (uid, key.field)  # 'around', 'Around'
            first, last = _day(key.date.first_day), _day(key.date.last_day)
            exact = _exact_days(view)
            for day in (first, last):
                assert day in exact or not re.search(rf"(?<!\d){day}", text), (uid, key, day)
    assert checked >= 10


@pytest.mark.parametrize(
    ("written", "shown", "never"),
    [
        ("2027-03", "around March 2027", "1 March 2027"),
        ("2027-Q2", "April to June 2027", "1 April 2027"),
        ("2027", "during 2027", "1 January 2027"),
    ],
)
def test_a_plan_month_is_shown_as_a_month(site: SiteData, written, shown, never) -> None:
    view = next(v for v in site.opportunities if v.uid.endswith("leeds-domestic-abuse-refuges"))
    date = PlanDate.parse(written)
    assert date.precision in (Precision.MONTH, Precision.QUARTER, Precision.YEAR)
    item = view.item.model_copy(
        update={"dates": view.item.dates.model_copy(update={"tender_opens": date})}
    )
    key_dates = tuple(
        dataclasses.replace(k, date=date) if k.field == "tender_opens" else k
        for k in view.key_dates
    )
    changed = dataclasses.replace(view, item=item, key_dates=key_dates, notice=None)
    page = Page(pages.notice(site, changed))
    assert shown in page.main_text.replace("Around", "around").replace("During", "during")
    assert not re.search(rf"(?<!\d){never}", page.main_text)


# --- (f) the cancelled and example banners -------------------------------------------------------


def test_a_cancelled_opportunity_says_so_at_the_top(notices) -> None:
    cancelled = [uid for uid, (view, _) in notices.items() if view.is_cancelled]
    assert cancelled, "the example plans should have a cancelled opportunity"
    for uid, (view, page) in notices.items():
        top = " ".join(page.blocks[: page.blocks.index("What it is for")])
        assert (CANCELLED in top) == view.is_cancelled, uid
        assert (CANCELLED in page.main_text) == view.is_cancelled, uid


def test_example_plans_carry_the_example_banner(site: SiteData, notices) -> None:
    for uid, (view, page) in notices.items():
        assert view.commissioner.example, f"{uid}: the example plans should say example: true"
        assert page.blocks[0] == EXAMPLE + " It shows how a notice will look.", uid
    view = site.opportunities[0]
    real = dataclasses.replace(
        view, commissioner=dataclasses.replace(view.commissioner, example=False)
    )
    assert EXAMPLE not in pages.notice(site, real)


def test_each_notice_links_its_commissioner_and_transparency_page(notices) -> None:
    for uid, (view, page) in notices.items():
        here = view.url
        assert (
            page_context.relative(here, f"commissioner/{view.commissioner.id}.html") in page.links
        )
        assert (
            page_context.relative(here, f"transparency/{view.commissioner.id}.html") in page.links
        )
        for place in view.places:
            assert page_context.relative(here, f"place/{place.slug}.html") in page.links, uid


# --- (g) relative links that lead somewhere -------------------------------------------------------


def _site_pages(site: SiteData) -> Iterator[tuple[str, str]]:
    yield from pages.pages(site)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every file a build of the example plans writes, by site path."""
    out = tmp_path_factory.mktemp("built") / "site"
    build(ROOT / "plans", out, today=TODAY)
    return set(sizes(out))


# Pages the web app serves beside the built site (`publisher serve`): "Get alerts" in every
# page's header leads to the subscribe page.
SERVED = frozenset({"subscribe"})


def test_every_link_is_relative_and_leads_to_a_file_the_build_writes(
    site: SiteData, written: set[str]
) -> None:
    written = written | SERVED
    rendered = dict(_site_pages(site))
    assert set(rendered) <= written
    ids = {path: Page(html).ids for path, html in rendered.items()}
    problems = []
    for path, html in rendered.items():
        for link in Page(html).links:
            if re.match(r"(https?:|mailto:|tel:)", link):
                assert not link.startswith(site.base_url), (path, link)
                continue
            if link.startswith("/") or "//" in link:
                problems.append(f"{path}: {link} is not relative")
                continue
            target, _, fragment = link.partition("#")
            target = target.partition("?")[0]  # the subscribe page's choice, for the app
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
            if target and resolved not in written and resolved != "subscribe":
                problems.append(f"{path}: {link} leads to {resolved}, which is not built")
            elif resolved in SERVED:
                continue  # tests/service/test_share.py: the served page has the #fragment
            elif fragment and fragment not in ids.get(resolved if target else path, set()):
                problems.append(f"{path}: {link} names #{fragment}, which is not there")
    assert not problems, problems


def test_the_relative_helper() -> None:
    assert page_context.relative("index.html", "place/leeds.html") == "place/leeds.html"
    assert page_context.relative("place/leeds.html", "index.html") == "../index.html"
    assert (
        page_context.relative("opportunities/a/b.html", "glossary.html#lot")
        == "../../glossary.html#lot"
    )
    assert page_context.relative("transparency/a.html", "transparency/b.html") == "b.html"
    assert page_context.relative("glossary.html", "#lot") == "glossary.html#lot"


# --- lists, glossary, transparency ---------------------------------------------------------


def _group_titles(html: str) -> dict[str, list[str]]:
    """The titles of the cards each group of a page shows, by the group's id."""
    out: dict[str, list[str]] = {}
    for key, body in re.findall(
        r'<section class="group" aria-labelledby="group-([^"]+)">(.*?)</section>', html, re.S
    ):
        out[key] = [
            _space(unescape(t))
            for t in re.findall(r'<a href="[^"]*opportunities/[^"]+">([^<]+)</a>', body)
        ]
    return out


def _pages_shown(built: list[tuple[str, str]]) -> dict[str, list[str]]:
    """What a list's pages show together, group by group, in page order; and every page
    shows at most a page's worth of cards and links to the others."""
    together: dict[str, list[str]] = {}
    for number, (path, html) in enumerate(built, 1):
        groups = _group_titles(html)
        assert sum(map(len, groups.values())) <= cards.PER_PAGE, path
        for key, titles in groups.items():
            together.setdefault(key, []).extend(titles)
        links = Page(html).links
        near = {1, number - 1, number + 1, len(built)} - {0, number, len(built) + 1}
        for other in near:
            assert page_context.relative(path, built[other - 1][0]) in links, (path, other)
        if len(built) > 1:
            assert f"Page {number} of {len(built)}" in html, path
    return together


def test_the_index_shows_the_first_of_each_group_and_links_the_rest(site: SiteData) -> None:
    current = [v for v in site.opportunities if v.is_current]
    groups = {
        key: [
            page_render.card(site, v).title
            for v in current
            if page_render.card(site, v).group == key
        ]
        for key in page_context.GROUPS
    }
    assert sum(map(len, groups.values())) == len(current) and all(groups.values())
    html = pages.index(site)
    page = Page(html)
    assert _group_titles(html) == {k: v[: page_context.FIRST_CARDS] for k, v in groups.items()}
    built = list(list_pages.whens(site))
    assert any("/page-2.html" in path for path, _ in built), "a group should run to pages"
    for key, titles in groups.items():
        # each group's pages have all of them, in list order, a page at a time
        mine = [(path, html) for path, html in built if path.split("/")[0].startswith(key)]
        assert mine[0][0] == f"{key}.html"
        assert len(mine) == -(-len(titles) // cards.PER_PAGE)
        assert _pages_shown(mine) == {key: titles}
        if len(titles) > page_context.FIRST_CARDS:
            assert f"{key}.html" in page.links
    for listing in site.listings:
        assert f"{listing.path}.html" in page.links
    for ext in ("rss", "atom", "ics", "json"):
        assert f"all.{ext}" in page.links


_LIST_HEADINGS = {"By place", "By theme", "By commissioner (who pays)", "By type of funding"}


def test_list_pages_show_current_members_and_the_rest_apart(site: SiteData) -> None:
    paged = 0
    for collection in site.collections():
        if collection.listing is None:
            continue
        built = list(list_pages.listing(site, collection))
        here = built[0][0]
        assert here == f"{collection.path}.html"
        assert [p for p, _ in built[1:]] == [
            f"{collection.path}/page-{n}.html" for n in range(2, len(built) + 1)
        ]
        paged += len(built) > 1
        current = [v.item.title for v in collection.members if v.is_current]
        shown = [title for titles in _pages_shown(built).values() for title in titles]
        assert sorted(shown) == sorted(current), here
        settled = [v for v in collection.members if not v.is_current]
        for number, (path, html) in enumerate(built, 1):
            page = Page(html)
            last = number == len(built)
            assert ("Also recently awarded or cancelled" in page.blocks) == (last and bool(settled))
            if last:
                for view in settled:
                    assert page_context.relative(path, view.url) in page.links, path
            for ext in ("rss", "atom", "ics", "json"):
                feed = f"{collection.path}.{ext}"
                assert page_context.relative(path, feed) in page.links, path
    assert paged, "some example lists should run to a second page"


def test_a_long_list_is_cut_into_pages_with_groups_going_on() -> None:
    made = [
        cards.Card(f"o/{n}.html", f"T{n}", "", "", "open" if n < 11 else "later") for n in range(13)
    ]
    keys = [("open", ""), ("soon", ""), ("later", "")]
    paged = cards.paginate(made, keys, lambda c: c.group, per_page=8)
    assert [[(s.key, len(s.cards), s.total, s.start, s.continued) for s in p] for p in paged] == [
        [("open", 8, 11, 1, False)],
        [("open", 3, 11, 1, True), ("soon", 0, 0, 2, False), ("later", 2, 2, 2, False)],
    ]
    assert [s.key for s in cards.overview(paged)] == ["open", "soon", "later"]
    assert [s.start for s in cards.overview(paged)] == [1, 2, 2]
    assert cards.paginate([], keys, lambda c: c.group) == [
        [cards.Section(k, "", (), 0, start=1) for k, _ in keys]
    ]
    # past the most pages a list has: counted, not shown
    paged = cards.paginate(made, keys, lambda c: c.group, per_page=8, most=1)
    assert [[(s.key, len(s.cards), s.total) for s in p] for p in paged] == [
        [("open", 8, 11), ("soon", 0, 0), ("later", 0, 2)]
    ]
    assert cards.left_out(paged) == 5
    pager = cards.Pager(5, [f"p{n}" for n in range(1, 21)])
    assert pager.shown() == [1, None, 4, 5, 6, None, 20]
    assert cards.Pager(1, ["a", "b"]).shown() == [1, 2]
    assert cards.page_path("place/leeds", 1) == "place/leeds.html"
    assert cards.page_path("place/leeds", 3) == "place/leeds/page-3.html"


def test_a_list_too_long_to_show_whole_says_so_and_where_the_rest_are(
    site: SiteData, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cards, "MOST_PAGES", 1)
    leeds = next(c for c in site.collections() if c.path == "place/leeds")
    built = list(list_pages.listing(site, leeds))
    assert [path for path, _ in built] == ["place/leeds.html"]
    html = built[0][1]
    current = [v for v in leeds.members if v.is_current]
    assert len(current) > cards.PER_PAGE
    assert sum(map(len, _group_titles(html).values())) == cards.PER_PAGE
    left = len(current) - cards.PER_PAGE
    assert f"{left} more opportunities are not shown:" in _space(unescape(html))
    links = Page(html).links
    assert "leeds.csv" in links and "leeds.json" in links
    # and a list that fits its pages says nothing of the kind
    monkeypatch.undo()
    assert not [path for path, html in list_pages.listing(site, leeds) if "not shown:" in html]


def test_the_glossary_has_every_term_with_its_anchor(site: SiteData) -> None:
    page = Page(pages.glossary(site))
    for term in site.glossary.terms:
        assert term.slug in page.ids
        assert _space(term.means) in page.blocks


def test_transparency_pages_count_what_the_plan_holds(site: SiteData) -> None:
    for commissioner in site.commissioners:
        mine = [v for v in site.opportunities if v.commissioner.id == commissioner.id]
        html = pages.transparency(site, commissioner)
        page = Page(html)
        record = transparency.record(
            site, commissioner, [v for v in site.opportunities if v.commissioner == commissioner]
        )
        assert record.grants == sum(v.is_grant for v in mine)
        assert record.lotted == sum(bool(v.item.lots) for v in mine)
        assert html.count("<table") == html.count("<caption") > 0
        assert 'scope="col"' in html and 'scope="row"' in html
        for view in mine:
            if view.is_current:
                for gap in view.gaps:
                    assert _space(gap.reason or NO_REASON) in page.main_text
            if view.notice is not None and view.notice.short:
                assert _space(view.notice.reason or "No reason was given.") in page.main_text
        assert sum(whole for _, whole, _ in record.sizes) == sum(not v.is_cancelled for v in mine)


def test_contract_sizes_fall_in_bands() -> None:
    assert transparency.size_band(None) == "unknown"
    assert transparency.size_band(99_999) == "small"
    assert transparency.size_band(100_000) == "medium"
    assert transparency.size_band(500_000) == "medium"
    assert transparency.size_band(500_001) == "large"


# --- pages people can use, and the same every time -------------------------------------------


def test_every_page_has_the_basics(site: SiteData) -> None:
    for path, html in _site_pages(site):
        assert html.startswith('<!doctype html>\n<html lang="en-GB">'), path
        assert '<meta charset="utf-8">' in html, path
        assert 'name="viewport"' in html, path
        assert html.count("<h1") == 1, path
        for landmark in ("<header", "<nav", "<main", "<footer"):
            assert landmark in html, (path, landmark)
        assert 'class="skip-link" href="#main"' in html, path
        assert "<script" not in html, path
        levels = [level for level, _ in Page(html).headings]
        assert levels[0] == 1, path
        assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), path


def test_the_same_site_gives_the_same_bytes(site: SiteData) -> None:
    first = dict(_site_pages(site))
    again, _ = load_site(ROOT / "plans", TODAY)
    assert dict(_site_pages(again)) == first


def test_the_stylesheet_ships(written: set[str]) -> None:
    css = pages.STATIC["site.css"].decode()
    assert "@media print" in css and ":focus-visible" in css
    assert "static/site.css" in written

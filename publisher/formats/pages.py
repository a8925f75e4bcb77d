"""The site's HTML pages (notices, lists, the glossary and transparency pages) from the Jinja2
templates in templates/. Only facts and numbers are worked out here; every sentence a reader
sees is in a template.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from functools import partial

from publisher.formats.base import Format, Output, Part, Shelf, Whole, digest
from publisher.formats.cards import Card, Filler, filled, sections
from publisher.formats.list_pages import (
    WHEN,
    Fill,
    list_outputs,
    listing,
    when_of,
    when_outputs,
    whens,
)
from publisher.formats.page_context import FIRST_CARDS, glossary_groups, other_unknowns, timeline
from publisher.formats.page_lists import finder, listing_groups
from publisher.formats.page_render import card, memo, render
from publisher.model.transparency import record as transparency_record
from publisher.model.views import CommissionerView, OpportunityView, SiteData, listed_on
from publisher.text import templates

# The package's own templates. The OCDS extension is the package's alone; the static
# files are the package's, with a deployment's templates folder's static/ files beside
# them (`static_files`).
TEMPLATES = templates.PACKAGE
STATIC_DIR = TEMPLATES / "static"
STATIC: dict[str, bytes] = {
    path.name: path.read_bytes() for path in sorted(STATIC_DIR.iterdir()) if path.is_file()
}


def static_files() -> dict[str, bytes]:
    """The site's static/ files by name: the package's, then each in the static/ folder of
    a deployment's templates folder (at any depth: 'img/logo.png'), which wins over the
    package's file of the same name."""
    found = dict(STATIC)
    for folder in reversed(templates.search_path()[:-1]):
        own = folder / "static"
        if own.is_dir():
            for path in sorted(own.rglob("*")):
                if path.is_file():
                    found[path.relative_to(own).as_posix()] = path.read_bytes()
    if templates.brand().coloured:  # the deployment's colours (text/brand.py)
        found["brand.css"] = templates.environment().get_template("brand.css").render().encode()
    return found


# --- the environment and the pages ---------------------------------------------------------


def counts_of(members: Iterable[tuple[bool, Sequence[str]]]) -> Counter[str]:
    """How many current opportunities each list page has, by its path, from each
    opportunity's (is current, the list pages it is on)."""
    counts: Counter[str] = Counter()
    for current, paths in members:
        if current:
            counts.update(paths)
    return counts


def index(site: SiteData) -> str:
    current = [v for v in site.opportunities if v.is_current]
    return index_page(
        site,
        [card(site, v) for v in current],
        counts_of((v.is_current, listed_on(v)) for v in site.opportunities),
        packaged=bool(site.opportunities),
    )


def index_page(
    site: SiteData,
    current: Sequence[Card],
    counts: Counter[str],
    packaged: bool,
    fill: Filler = filled,
) -> str:
    """The home page: how many current opportunities are open now, opening soon and later,
    the first few of each, and every list with its count; `packaged` says whether the site
    has OCDS packages (it has any opportunity)."""
    return render(
        "index.html",
        site,
        "index.html",
        sections=sections(current, WHEN, when_of, FIRST_CARDS, fill),
        total=len(current),
        groups=listing_groups(site, counts),
        packaged=packaged,
        finder=finder(site),
    )


def notice(site: SiteData, view: OpportunityView) -> str:
    return render(
        "notice.html",
        site,
        view.url,
        view=view,
        timeline=timeline(site, view),
        lot_place_names={
            lot.id: [site.places.name(s) for s in lot.places] for lot in view.item.lots
        },
        unknowns=other_unknowns(view),
    )


def glossary(site: SiteData) -> str:
    return render("glossary.html", site, "glossary.html", groups=glossary_groups(site.glossary))


def transparency(site: SiteData, commissioner: CommissionerView) -> str:
    return render(
        "transparency.html",
        site,
        f"transparency/{commissioner.id}.html",
        commissioner=commissioner,
        record=transparency_record(
            site, commissioner, memo(site).by_commissioner.get(commissioner.id, [])
        ),
    )


def pages(site: SiteData) -> Iterator[tuple[str, str]]:
    """Every HTML page of the site by path (for previews and tests; site.py writes them)."""
    yield "index.html", index(site)
    yield from whens(site)
    yield "glossary.html", glossary(site)
    for view in site.opportunities:
        yield view.url, notice(site, view)
    for commissioner in site.commissioners:
        yield f"transparency/{commissioner.id}.html", transparency(site, commissioner)
    for collection in site.collections():
        if collection.listing is not None:
            yield from listing(site, collection)


# --- as a format (formats/base.py) ---------------------------------------------------------


class Pages(Format):
    """The HTML pages: each notice and transparency page with its plan file; the home page,
    the list pages, the glossary and the static files from every opportunity's card."""

    name = "html"

    def part(self, site: SiteData, view: OpportunityView) -> Part:
        made = card(site, view)
        # the card's HTML as seen from the top folder: lists show only a few of their cards,
        # read and moved to their folder when a list is made (see _fill)
        return Part(replace(made, html=""), (made.html.encode(),))

    def view_files(
        self, site: SiteData, view: OpportunityView
    ) -> Iterator[tuple[str, bytes | str]]:
        yield view.url, notice(site, view)

    def plan_files(
        self, site: SiteData, commissioner: CommissionerView | None, views: list[OpportunityView]
    ) -> Iterator[tuple[str, bytes | str]]:
        if commissioner is not None:
            yield f"transparency/{commissioner.id}.html", transparency(site, commissioner)

    def outputs(self, whole: Whole, shelf: Shelf) -> Iterator[Output]:
        site, members = whole.site, whole.members
        counts = counts_of((one.current, one.listed_on) for one in members)

        shown = [one for one in members if one.current]
        fill = Fill(shelf, shown)
        current = [shelf.facts(one) for one in shown]

        def index() -> str:
            return index_page(site, current, counts, bool(members), fill)

        key = digest("index.html", whole.said, whole.every)
        yield Output("index.html", key, index, len(members))
        yield from when_outputs(whole, current, fill)
        yield Output("glossary.html", digest("glossary.html"), lambda: glossary(site), 0)
        for name, content in static_files().items():
            key = digest(name, content)
            yield Output(f"static/{name}", key, partial(_same, content), 0)
        for bundle in whole.bundles:
            if bundle.listing is not None:
                yield from whole.paged(bundle, partial(list_outputs, site, whole, bundle, shelf))


def _same(content: bytes) -> bytes:
    return content


PAGES = Pages()

"""A page's parts that are the same on many pages (`page_render.keeper`) are made once for a
folder and key, and never given to a page they would be wrong on."""

from __future__ import annotations

from functools import partial

import pytest
from markupsafe import Markup

from publisher.formats import cards, list_pages, page_render
from publisher.model.views import SiteData
from publisher.text import templates


def test_a_kept_part_is_made_once_for_its_folder_and_key(site: SiteData) -> None:
    known = page_render.memo(site)
    environment = templates.environment()
    made: list[str] = []

    def part() -> str:
        made.append("made")
        return f"<p>follow {len(made)}</p>"

    second = page_render.keeper(known, "place/leeds/page-2.html", environment)
    third = page_render.keeper(known, "place/leeds/page-3.html", environment)
    assert second("follow", "place/leeds", caller=part) == Markup("<p>follow 1</p>")
    assert third("follow", "place/leeds", caller=part) == Markup("<p>follow 1</p>")
    assert len(made) == 1
    # another folder (its links differ), or another key: made again
    first = page_render.keeper(known, "place/leeds.html", environment)
    assert first("follow", "place/leeds", caller=part) == Markup("<p>follow 2</p>")
    assert third("follow", "place/bradford", caller=part) == Markup("<p>follow 3</p>")
    assert third("feeds", "place/leeds", caller=part) == Markup("<p>follow 4</p>")


def test_list_pages_with_kept_parts_are_the_pages_made_whole(
    site: SiteData, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every list's pages, made in turn (so their feeds and follow parts are kept and reused,
    across lists and folders), are the pages each made with nothing kept."""
    # two cards a page, so that the example plans' lists have several pages
    monkeypatch.setattr(list_pages, "paginate", partial(cards.paginate, per_page=2))
    lists = [c for c in site.collections() if c.listing is not None]
    assert sum(len(list(list_pages.listing(site, c))) > 2 for c in lists) > 3
    in_turn = [page for c in lists for page in list_pages.listing(site, c)]
    alone = []
    for collection in lists:
        for path, html in list_pages.listing(site, collection):
            page_render.memo(site).kept.clear()
            alone.append((path, html))
    assert in_turn == alone

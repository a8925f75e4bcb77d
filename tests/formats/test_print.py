"""A list page printed is a bulletin: the opportunities, without the parts that only work
on screen (the form, the feeds, the links to follow or share, what was awarded or
cancelled), on a few pages, in Chromium's print (the print block at the end of site.css)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from publisher.builder.site import build
from tests.formats.examples import ROOT, TODAY

ON_SCREEN_ONLY = [".find-link", ".feeds", ".share", "#follow", ".site-header nav"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("print") / "site"
    build(ROOT / "plans", out, today=TODAY, base_url="https://plans.example.org/")
    return out


def _shown(page: Any, selector: str) -> bool:
    return bool(
        page.eval_on_selector_all(
            selector, "all => all.some(e => getComputedStyle(e).display !== 'none')"
        )
    )


def test_a_printed_list_is_its_opportunities_only(site: Path, browser: Any) -> None:
    page = browser.new_page()
    try:
        page.goto((site / "place" / "leeds.html").as_uri())
        for selector in ON_SCREEN_ONLY:
            assert _shown(page, selector), f"{selector} is not on the screen at all"
        page.emulate_media(media="print")
        for selector in ON_SCREEN_ONLY:
            assert not _shown(page, selector), f"{selector} is printed"
        assert _shown(page, ".card") and _shown(page, "h1")
        assert page.eval_on_selector(".cards", "e => getComputedStyle(e).columnCount") == "2"
        pdf = page.pdf(format="A4")
    finally:
        page.close()
    # the list's first page (8 of its 18 opportunities; a list is paged on the screen and
    # in print): 2 A4 pages at most with the bulletin's print rules
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    assert 1 <= pages <= 2, f"the Leeds list prints on {pages} pages"

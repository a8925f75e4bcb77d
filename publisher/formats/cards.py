"""An opportunity as the lists show it (`Card`), a list's cards in groups (`Section`), and
a long list in pages (`paginate`, `Pager`), so that no page runs for more than a few
screens on a phone, however many opportunities a list has."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Card:
    """An opportunity as the lists show it: its card, rendered once from the top folder,
    and for the lists by title its link, title and status; which group of the home page it
    is in (page_context.GROUPS) and its own places (for place pages' groups)."""

    url: str
    title: str
    status_words: str
    html: str
    group: str = "later"
    places: tuple[str, ...] = ()


# Cards on one page of a list. A card is about half a screen on a small phone (375 by
# 667 px), so a page of them and the page's own parts stay within a few screens
# (tests/service/test_find.py measures every list page).
PER_PAGE = 8
# Pages of one list at most: no one pages through more, and a list of thousands (a whole
# region's) would otherwise make thousands of pages. The last page says how many more
# there are, and where to find them (the form, a narrower list, the spreadsheet).
MOST_PAGES = 50


@dataclass(frozen=True)
class Section:
    """One group of a page's opportunities: those of it on this page, how many it has in
    all, and on the home page the page with all of them. `key` names the group: 'open',
    'soon', 'later', or on a place page 'in' or the wider place's slug."""

    key: str
    name: str  # the wider place's name, for the groups of a place page
    cards: Sequence[Card]
    total: int
    more: str | None = None  # the page with all of them ('open.html')
    start: int = 1  # the page its first card is on
    continued: bool = False  # its first cards are on an earlier page


# How to get a card's HTML when only its facts are at hand: the build reads its fragment.
Filler = Callable[[Card], Card]


def filled(card: Card) -> Card:
    return card


def _grouped(
    cards: Sequence[Card], keys: Sequence[tuple[str, str]], key_of: Callable[[Card], str]
) -> dict[str, list[Card]]:
    by_key: dict[str, list[Card]] = {key: [] for key, _ in keys}
    for one in cards:
        by_key.setdefault(key_of(one), []).append(one)
    return by_key


def sections(
    cards: Sequence[Card],
    keys: Sequence[tuple[str, str]],
    key_of: Callable[[Card], str],
    shown: int,
    fill: Filler = filled,
) -> list[Section]:
    """The home page's groups: `cards` (in list order) by group, each key with its name, in
    `keys` order; the first `shown` of each (`fill` gives them their HTML), and a link to
    the page with all of them ('open.html')."""
    by_key = _grouped(cards, keys, key_of)
    return [
        Section(key, name, [fill(one) for one in by_key[key][:shown]], len(by_key[key]),
                f"{key}.html")
        for key, name in keys
    ]  # fmt: skip


def paginate(
    cards: Sequence[Card],
    keys: Sequence[tuple[str, str]],
    key_of: Callable[[Card], str],
    per_page: int = PER_PAGE,
    most: int | None = None,  # MOST_PAGES
) -> list[list[Section]]:
    """A list's cards (in list order) by group, in `keys` order, cut into pages of
    `per_page` cards: each page's groups, a group that runs over a page going on at the top
    of the next. A group with none is on the page where it would be, so that it can say so.
    Cards past `most` pages are left out (each group still counts them: `left_out`). The
    cards are not filled: a page fills only its own when it is made."""
    most = most or MOST_PAGES
    by_key = _grouped(cards, keys, key_of)
    pages: list[list[Section]] = [[]]
    room = per_page
    for key, name in keys:
        here = by_key[key]
        if not here:
            pages[-1].append(Section(key, name, (), 0, start=len(pages)))
            continue
        start, done = 0, 0
        while done < len(here):
            if room == 0:
                if len(pages) == most:
                    break
                pages.append([])
                room = per_page
            start = start or len(pages)
            taken = here[done : done + room]
            pages[-1].append(Section(key, name, taken, len(here), None, start, done > 0))
            done += len(taken)
            room -= len(taken)
        if not start:  # past the last page: counted, with none of its cards shown
            pages[-1].append(Section(key, name, (), len(here), start=len(pages)))
    return pages


def left_out(pages: Sequence[Sequence[Section]]) -> int:
    """How many of a list's cards are past its last page."""
    return sum(one.total for one in overview(pages)) - sum(
        len(one.cards) for page in pages for one in page
    )


def overview(pages: Sequence[Sequence[Section]]) -> list[Section]:
    """Each group once, as it starts: what the counts at the top of every page link to."""
    seen: dict[str, Section] = {}
    for page in pages:
        for section in page:
            seen.setdefault(section.key, section)
    return list(seen.values())


def page_path(stem: str, number: int) -> str:
    """The site path of page `number` of the list at `stem`: 'place/leeds.html', then
    'place/leeds/page-2.html' (a folder of its own, so no list's name can clash)."""
    return f"{stem}.html" if number == 1 else f"{stem}/page-{number}.html"


@dataclass(frozen=True)
class Pager:
    """Where a page is among its list's pages: its number and every page's address (the
    site path, or for the web app's /find its query)."""

    number: int
    addresses: Sequence[str]

    @property
    def count(self) -> int:
        return len(self.addresses)

    def address(self, number: int) -> str:
        return self.addresses[number - 1]

    def shown(self) -> list[int | None]:
        """The page numbers to link to: the first, the last and those either side of this
        one, with None where numbers are left out ('1 … 4 5 6 … 20')."""
        wanted = {1, self.count, self.number - 1, self.number, self.number + 1}
        numbers = sorted(n for n in wanted if 1 <= n <= self.count)
        out: list[int | None] = []
        last = 0
        for number in numbers:
            if number - last > 1:
                out.append(None)
            out.append(number)
            last = number
        return out

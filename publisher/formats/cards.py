"""An opportunity as the lists show it (`Card`), and a list's cards in groups (`sections`):
the first few of each group as cards, the rest by title, so that no list runs for pages
on a phone."""

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


@dataclass(frozen=True)
class Section:
    """One group of a page's opportunities: the first few as cards, the rest by title, and
    on the home page the page with all of them. `key` names the group: 'open', 'soon',
    'later', 'current', or on a place page 'in' or the wider place's slug."""

    key: str
    name: str  # the wider place's name, for the groups of a place page
    cards: Sequence[Card]
    rest: Sequence[Card]
    total: int
    more: str | None = None  # the page with all of them ('open.html')


# How to get a card's HTML when only its facts are at hand: the build reads its fragment.
Filler = Callable[[Card], Card]


def filled(card: Card) -> Card:
    return card


def sections(
    cards: Sequence[Card],
    keys: Sequence[tuple[str, str]],
    key_of: Callable[[Card], str],
    shown: int,
    fill: Filler = filled,
    more: bool = False,
) -> list[Section]:
    """`cards` (in list order) in groups, each key with its name, in `keys` order; the
    first `shown` of each as cards (`fill` gives them their HTML), the rest by title."""
    by_key: dict[str, list[Card]] = {key: [] for key, _ in keys}
    for one in cards:
        by_key.setdefault(key_of(one), []).append(one)
    out = []
    for key, name in keys:
        here = by_key[key]
        first = [fill(one) for one in here[:shown]]
        rest = [] if more else here[shown:]
        page = f"{key}.html" if more else None
        out.append(Section(key, name, first, rest, len(here), page))
    return out

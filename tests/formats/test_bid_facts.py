"""What a group needs to decide whether to bid (issue 16, point 4): what one grant is
worth, which kinds of organisation can apply, and once awarded who was funded; on the
notice, the cards, in the JSON and in the spreadsheets."""

from __future__ import annotations

import csv as stdlib_csv
import dataclasses
import io
import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest

from publisher.formats import csv, data, page_render, pages
from publisher.model.views import OpportunityView, SiteData
from publisher.plans.model import GrantSize, Money, OrganisationKind
from publisher.text import organisations, words

GENTLE = "leeds-community-healthcare/lch-gentle-exercise-grants"
SMALL_HEALTH = "bradford-district-and-craven-partnership/bdc-small-health-grants"
CARERS = "kirklees-council/kirklees-carers-support"
ALLIANCE = "west-yorkshire-icb/wy-alliance-grant"


class Text(HTMLParser):
    """The page's main text as blocks (a paragraph, a list item, a heading), and its links."""

    BLOCKS = frozenset({"p", "li", "h1", "h2", "h3", "dt", "dd"})

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.links: dict[str, str] = {}
        self._block: list[str] = []
        self._href: str | None = None
        self._anchor: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCKS:
            self._flush()
        if tag == "a":
            self._href, self._anchor = dict(attrs).get("href"), []

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BLOCKS:
            self._flush()
        if tag == "a" and self._href is not None:
            self.links[" ".join("".join(self._anchor).split())] = self._href
            self._href = None

    def handle_data(self, text: str) -> None:
        self._block.append(text)
        if self._href is not None:
            self._anchor.append(text)

    def _flush(self) -> None:
        block = " ".join("".join(self._block).split())
        if block:
            self.blocks.append(block)
        self._block = []

    def after(self, heading: str, until: str) -> list[str]:
        """The blocks after a heading, up to the next heading named `until`."""
        start = self.blocks.index(heading) + 1
        return self.blocks[start : self.blocks.index(until, start)]


def view_of(site: SiteData, uid: str) -> OpportunityView:
    return next(v for v in site.opportunities if v.uid == uid)


def notice(site: SiteData, uid: str) -> Text:
    return Text(pages.notice(site, view_of(site, uid)))


@pytest.mark.parametrize(
    ("size", "said"),
    [
        (GrantSize(min=500, max=4000), "grants of £500 to £4,000"),
        (GrantSize(max=4000), "grants of up to £4,000"),
        (GrantSize(min=0, max=4000), "grants of up to £4,000"),
        (4000, "grants of £4,000 each"),
        (GrantSize(min=2500, max=2500), "grants of £2,500 each"),
    ],
)
def test_one_grant_is_said_in_plain_words(size: GrantSize | float, said: str) -> None:
    money = Money(total=60000, per_award=size)
    assert words.per_award(money) == said
    assert words.money(money) == f"{said} (£60,000 in total)"
    assert words.per_award(money, "awards").startswith("awards of ")
    assert words.money(Money(per_award=size)) == said  # a size alone is enough to publish


def test_money_without_a_grant_size_reads_as_before(site: SiteData) -> None:
    assert words.per_award(Money(total=60000)) == ""
    assert words.money(Money(total=60000)) == "£60,000 in total"
    assert words.money(Money(total=900000, per_year=300000)) == (
        "£300,000 a year (£900,000 in total)"
    )
    for view in site.opportunities:
        value = view.item.value
        if value is not None and value.per_award is None:
            assert not words.money(value).startswith(("grants", "awards")), view.uid


def test_the_notice_and_card_say_what_one_group_can_get(site: SiteData) -> None:
    page = notice(site, GENTLE)
    money = page.after("How much money", "When")
    assert money[:2] == ["Grants of up to £4,000.", "£60,000 in total."]
    card = Text(page_render.card(site, view_of(site, GENTLE)).html)
    assert "Grants of up to £4,000 (£60,000 in total)" in card.blocks
    ranged = notice(site, SMALL_HEALTH).after("How much money", "When")
    assert ranged[0] == "Grants of £500 to £5,000."


def test_the_notice_names_the_kinds_of_organisation_that_can_apply(site: SiteData) -> None:
    who = notice(site, GENTLE).after("Who can apply", "What we don't know yet, and why")
    assert who[:6] == [
        "These kinds of organisation can apply:",
        "Registered charities",
        "Charitable incorporated organisations (CIOs)",
        "Community interest companies (CICs)",
        "Community groups with a written constitution",
        "Groups that are not registered, such as residents' groups",
    ]
    # A plan that does not name kinds says nothing new.
    carers = notice(site, CARERS).after("Who can apply", "What we don't know yet, and why")
    assert not any("kinds of organisation" in block for block in carers)


def test_every_kind_has_a_plain_name() -> None:
    assert set(organisations.NAMES) == set(OrganisationKind)
    for name in organisations.NAMES.values():
        assert name[0].islower(), name  # runs on in a sentence; the notice capitalises
        assert "-" not in name.replace("co-op", ""), name  # plain words, not the plan's id


def test_an_awarded_notice_says_who_was_funded_and_how_much(site: SiteData) -> None:
    page = notice(site, CARERS)
    funded = page.after("Who was funded", "When")
    assert funded == [
        "These are the 2 organisations funded.",
        "Kirklees Carers Together: £1.05 million.",
        "Young Carers Kirklees: £450,000.",
    ]
    assert page.links["Kirklees Carers Together"] == "https://carers-together.example.org"
    one = notice(site, ALLIANCE).after("Who was funded", "When")
    assert one == [
        "This is the organisation funded.",
        "West Yorkshire Charities Together: £450,000.",
    ]
    assert not any(re.search(r"\bwinners?\b", block, re.I) for block in [*funded, *one])


def test_who_was_funded_waits_for_the_award(site: SiteData) -> None:
    view = view_of(site, ALLIANCE)
    planned = view.item.model_copy(update={"status": "open"})
    page = Text(pages.notice(site, _with_item(view, planned)))
    assert "Who was funded" not in page.blocks
    assert "Who was funded" not in notice(site, GENTLE).blocks


def _with_item(view: OpportunityView, item: Any) -> OpportunityView:
    return dataclasses.replace(view, item=item)


def _record(site: SiteData, uid: str) -> dict[str, Any]:
    document = json.loads(data.as_json(site, site.everything))
    found: dict[str, Any] = next(o for o in document["opportunities"] if o["uid"] == uid)
    return found


def test_the_json_carries_grant_size_kinds_and_who_was_funded(site: SiteData) -> None:
    gentle = _record(site, GENTLE)
    assert gentle["value"]["per_award"] == {"min": None, "max": 4000}
    assert gentle["value"]["total"] == 60000
    assert gentle["value_text"] == "grants of up to £4,000 (£60,000 in total)"
    first = {"id": "registered-charity", "name": "registered charities"}
    assert gentle["eligibility"]["kinds"][0] == first
    assert [k["id"] for k in gentle["eligibility"]["kinds"]] == [
        "registered-charity", "cio", "cic", "constituted-group", "unconstituted-group"
    ]  # fmt: skip
    assert gentle["awarded"] == []
    assert _record(site, SMALL_HEALTH)["value"]["per_award"] == {"min": 500, "max": 5000}
    carers = _record(site, CARERS)
    assert carers["eligibility"] is None
    assert carers["value"]["per_award"] is None
    assert carers["awarded"] == [
        {
            "name": "Kirklees Carers Together",
            "amount": 1050000,
            "website": "https://carers-together.example.org",
        },
        {"name": "Young Carers Kirklees", "amount": 450000, "website": None},
    ]
    assert data.money(Money(total=60000, per_award=4000)) == {
        "currency": "GBP",
        "total": 60000,
        "per_year": None,
        "per_award": 4000,
    }


def _row(site: SiteData, uid: str) -> dict[str, str]:
    raw = csv.headings() + csv.row(site, view_of(site, uid))
    rows = list(stdlib_csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    return rows[0]


def test_the_spreadsheet_has_what_one_grant_is_worth(site: SiteData) -> None:
    gentle = _row(site, GENTLE)
    assert (gentle["Grant from (£)"], gentle["Grant up to (£)"]) == ("", "4000")
    assert gentle["Value"] == "grants of up to £4,000 (£60,000 in total)"
    small = _row(site, SMALL_HEALTH)
    assert (small["Grant from (£)"], small["Grant up to (£)"]) == ("500", "5000")
    carers = _row(site, CARERS)
    assert (carers["Grant from (£)"], carers["Grant up to (£)"]) == ("", "")
    assert carers["Value"] == "£300,000 a year (£1.5 million in total)"

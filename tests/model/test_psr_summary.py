"""The Provider Selection Regime summary, year by year (model/psr_summary.py): each figure
in the financial year (1 April to 31 March) of its award or expected award, newest year
first, and what the plan cannot place in a year said plainly; on the example plans."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest

from publisher.formats import pages
from publisher.formats.page_render import render
from publisher.model import transparency
from publisher.model.from_plan import opportunity_view
from publisher.model.psr_summary import FinancialYear, PsrSummary, year_of
from publisher.model.views import OpportunityView, SiteData
from publisher.plans.dates import PlanDate
from publisher.plans.model import Recipient, Status
from tests.formats.examples import load

ICB = "west-yorkshire-icb"
DIRECT = "west-yorkshire-icb/wy-suicide-bereavement-support"  # direct award C


@pytest.fixture(scope="module")
def site() -> SiteData:
    return load()


def _view(site: SiteData, uid: str) -> OpportunityView:
    return next(view for view in site.opportunities if view.uid == uid)


def _again(site: SiteData, view: OpportunityView, **update: object) -> OpportunityView:
    item = view.item.model_copy(update=update)
    return opportunity_view(view.commissioner, item, site.places, site.themes, site.glossary,
                            site.organisations, site.today, view.history)  # fmt: skip


def _decided(site: SiteData, view: OpportunityView, day: str, **update: object) -> OpportunityView:
    dates = view.item.dates.model_copy(update={"decision": PlanDate.parse(day), **update})
    return _again(site, view, dates=dates)


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _page(site: SiteData, views: list[OpportunityView]) -> str:
    """The commissioner's transparency page, counted from `views` alone."""
    commissioner = views[0].commissioner
    record = transparency.record(site, commissioner, views)
    path = f"transparency/{commissioner.id}.html"
    return _text(render("transparency.html", site, path, commissioner=commissioner, record=record))


def _summary(site: SiteData, views: list[OpportunityView]) -> PsrSummary:
    psr = transparency.record(site, views[0].commissioner, views).psr
    assert psr is not None
    return psr


def test_the_financial_year_runs_from_1_april_to_31_march() -> None:
    assert FinancialYear.of(dt.date(2027, 3, 31)) == FinancialYear(2026)
    assert FinancialYear.of(dt.date(2027, 4, 1)) == FinancialYear(2027)
    year = FinancialYear(2026)
    assert (year.first_day, year.last_day) == (dt.date(2026, 4, 1), dt.date(2027, 3, 31))
    assert year.short == "2026/27" and year.words == "1 April 2026 to 31 March 2027"
    assert FinancialYear(2099).short == "2099/00"


def test_the_example_icbs_summary_has_a_year_for_each_expected_decision(site: SiteData) -> None:
    mine = [v for v in site.opportunities if v.commissioner.id == ICB]
    psr = _summary(site, mine)
    assert site.today == dt.date(2026, 11, 23) and psr.this_year == FinancialYear(2026)
    assert [(y.year.start, y.when) for y in psr.years] == [(2027, "future"), (2026, "now")]
    future, now = psr.years
    # decided (or expected) in 2027-Q3, 2027-08 and 2027-04: the year from April 2027
    assert [(r.slug, r.planned, r.awarded) for r in future.routes] == [
        ("direct-award-b", 1, 0),
        ("direct-award-c", 1, 0),
        ("most-suitable-provider", 1, 0),
    ]
    # decided in February 2027: the year to 31 March 2027
    assert [(r.slug, r.planned, r.awarded) for r in now.routes] == [("competitive", 1, 0)]
    assert psr.undated_awarded == psr.undated_planned == 0
    text = _text(pages.transparency(site, mine[0].commissioner))
    first = text.index("1 April 2027 to 31 March 2028 (2027/28): planned")
    second = text.index("1 April 2026 to 31 March 2027 (2026/27): this year, so far")
    assert first < second  # newest first
    assert "2027/28 has not started: its 3 contracts are still planned." in text


def test_an_award_counts_in_the_financial_year_it_was_decided(site: SiteData) -> None:
    view = _view(site, DIRECT)
    won = Recipient(name="Calder Listening Ear")
    march = _decided(site, view, "2027-03-31", intention_to_award=None)
    april = _decided(site, view, "2027-04-01", intention_to_award=None)
    assert year_of(march) == FinancialYear(2026) and year_of(april) == FinancialYear(2027)
    psr = _summary(site, [_again(site, march, status=Status.AWARDED, awarded=[won])])
    (year,) = psr.years
    assert year.year == FinancialYear(2026) and year.awarded == 1
    assert year.new_providers == ["Calder Listening Ear"]
    assert year.lost_all == ["Roseheath Bereavement Trust"]
    text = _page(site, [_again(site, march, status=Status.AWARDED, awarded=[won])])
    assert "1 April 2026 to 31 March 2027 (2026/27): this year, so far" in text
    assert "In 2026/27, 1 contract was awarded under these rules." in text
    assert "1 new provider, which ran no service in this plan before: Calder Listening Ear" in text
    assert "2027/28" not in text


def test_a_date_spanning_two_years_or_none_at_all_is_said_not_placed(site: SiteData) -> None:
    view = _view(site, DIRECT)
    none = view.item.dates.model_copy(
        update={"decision": None, "intention_to_award": None, "service_starts": None}
    )
    undated = _again(site, view, dates=none)
    rough = _decided(site, view, "2027", intention_to_award=None)  # January to December
    placed = _decided(site, view, "2027-Q1", intention_to_award=None)  # January to March
    assert year_of(undated) is None and year_of(rough) is None
    assert year_of(placed) == FinancialYear(2026)
    awarded = _again(site, rough, status=Status.AWARDED)
    psr = _summary(site, [undated, awarded, placed])
    assert (psr.undated_planned, psr.undated_awarded) == (1, 1)
    assert [(y.year.start, y.planned, y.awarded) for y in psr.years] == [(2026, 1, 0)]
    text = _page(site, [undated, awarded, placed])
    assert (
        "1 contract awarded and 1 contract still planned are not in any year above: the plan "
        "gives no date for the decision, the intention to award or the start of the service, "
        "or gives one too rough to place in one year"
    ) in text

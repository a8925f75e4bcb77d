"""Routes know their own steps (issue 19): a direct award has no tender, so no gap for its
dates; the Provider Selection Regime's intention to award and the standstill after it (8
working days, England's bank holidays skipped) are on the notice, in the feeds and in the
calendars; the transparency page gives the PSR summary as far as the plan tells."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import feedparser
import pytest
from icalendar import Calendar

from publisher.changes import diff, wording
from publisher.formats import calendar, data, feeds, pages
from publisher.model import transparency
from publisher.model.from_plan import opportunity_view
from publisher.model.views import OpportunityView, SiteData
from publisher.plans import rules
from publisher.plans.dates import PlanDate
from publisher.plans.model import Recipient, Route, Status
from publisher.plans.routes import STEPS, Round, label, steps
from publisher.plans.working_days import BANK_HOLIDAYS, LAST_YEAR, add_working_days

DIRECT = "west-yorkshire-icb/wy-suicide-bereavement-support"  # direct award C, with PSR details


def _view(site: SiteData, uid: str) -> OpportunityView:
    return next(view for view in site.opportunities if view.uid == uid)


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _again(site: SiteData, view: OpportunityView, **update: object) -> OpportunityView:
    item = view.item.model_copy(update=update)
    return opportunity_view(view.commissioner, item, site.places, site.themes, site.glossary,
                            site.organisations, site.today, view.history)  # fmt: skip


# --- the done-when test of issue 19 ----------------------------------------------------------


def test_the_example_icbs_direct_award_has_no_tender_gap_and_its_standstill_is_a_calendar_event(
    site: SiteData,
) -> None:
    view = _view(site, DIRECT)
    assert view.item.route is Route.DIRECT_AWARD_C
    assert "There is no tender" not in str(view.item.unknown)
    assert [gap.field for gap in view.gaps if gap.field.startswith("tender")] == []
    record = transparency.record(site, view.commissioner, [view])
    assert [g.gap.field for g in record.gaps] == []  # no gap counted on the transparency page

    intention = view.item.dates.intention_to_award
    assert intention is not None and not intention.is_approximate
    ends = view.standstill_ends
    assert ends is not None
    assert ends.first_day == add_working_days(intention.first_day, 8)
    events = {
        str(e["UID"]): e
        for e in Calendar.from_ical(calendar.ics(site, site.everything)).walk("VEVENT")
        if str(e["UID"]).startswith(DIRECT + "/")
    }
    standstill = next(e for uid, e in events.items() if "/standstill_ends@" in uid)
    assert standstill.decoded("DTSTART") == ends.first_day
    assert "Last day to challenge the decision" in str(standstill["SUMMARY"])
    assert any("/intention_to_award@" in uid for uid in events)
    assert not any("/tender_" in uid for uid in events)


def test_the_example_icbs_psr_details_appear_on_the_notice(site: SiteData) -> None:
    view = _view(site, DIRECT)
    text = _text(pages.notice(site, view))
    decision = view.item.award_decision
    assert decision is not None and decision.key_criteria is not None
    assert "Intention to award, and the wait before signing" in text
    assert "must wait 8 working days before it signs the contract" in text
    assert "Who is making the decision: ICB Mental Health Commissioning Committee and" in text
    for reason in (decision.key_criteria.quality_and_innovation, decision.key_criteria.value):
        assert reason is not None and " ".join(reason.split()) in text
    assert "Improving access, reducing health inequalities and giving people choice" in text
    assert "1 conflict of interest was declared" in text
    assert "She left the meeting for this decision" in text
    assert "There is no tender for this." in text  # what to do now
    assert "There is no date yet for the tender to open" not in text
    assert "Get alerts when the tender opens" not in text


def test_the_feed_says_when_the_intention_and_the_standstill_are(site: SiteData) -> None:
    view = _view(site, DIRECT)
    assert [key.field for key in feeds.headline_dates(view)] == [
        "intention_to_award",
        "standstill_ends",
    ]
    parsed = feedparser.parse(feeds.rss(site, site.everything))
    entry = next(e for e in parsed.entries if e.link.endswith(view.url))
    assert "Intention to award published on" in entry.summary
    assert "last day to challenge the decision on" in entry.summary


def test_the_json_carries_the_intention_and_the_standstill(site: SiteData) -> None:
    view = _view(site, DIRECT)
    dates = data.opportunity(site, view)["dates"]
    assert dates["tender_opens"] is None
    assert dates["intention_to_award"]["label"] == "Intention to award published"
    assert dates["standstill_ends"]["label"] == "Last day to challenge the decision"


def test_a_moved_intention_to_award_is_news(site: SiteData) -> None:
    item = _view(site, DIRECT).item
    later = item.dates.model_copy(update={"intention_to_award": PlanDate.parse("2027-06-16")})
    (change,) = diff.compare(item, item.model_copy(update={"dates": later}))
    assert change.is_news
    assert "date the intention to award is published" in wording.sentence(change)


# --- the routes table ------------------------------------------------------------------------


def test_every_route_has_its_steps() -> None:
    assert set(STEPS) == set(Route)
    for route in (Route.DIRECT_AWARD_A, Route.DIRECT_AWARD_C, Route.DIRECT_AWARD):
        assert not steps(route).has_tender
        assert steps(route).not_applicable == {"tender_opens", "tender_closes"}
    for route in (Route.DIRECT_AWARD_C, Route.MOST_SUITABLE_PROVIDER, Route.COMPETITIVE):
        assert steps(route).intention and steps(route).psr
    for route in (Route.DIRECT_AWARD_A, Route.DIRECT_AWARD_B, Route.OPEN, Route.DIRECT_AWARD):
        assert not steps(route).intention
    assert steps(Route.OPEN_GRANT_ROUND).round is Round.APPLICATIONS
    assert label("tender_opens", Route.OPEN_GRANT_ROUND, None) == "Applications open"
    assert label("tender_opens", None, None) == "Tender opens"
    assert label("tender_closes", Route.DIRECT_AWARD_B, None) == "Last day to ask to join"


@pytest.mark.parametrize(
    ("route", "gap"),
    [
        (Route.DIRECT_AWARD_A, False),
        (Route.DIRECT_AWARD_B, False),  # providers ask to join at any time
        (Route.DIRECT_AWARD_C, False),
        (Route.MOST_SUITABLE_PROVIDER, False),
        (Route.DIRECT_AWARD, False),
        (Route.COMPETITIVE, True),
        (Route.OPEN, True),
        (Route.OPEN_GRANT_ROUND, True),
        (Route.UNDECIDED, True),
    ],
)
def test_a_missing_opening_date_is_a_gap_only_where_the_route_has_a_round(
    site: SiteData, route: Route, gap: bool
) -> None:
    view = _view(site, DIRECT)
    item = view.item.model_copy(update={"route": route})
    assert ("tender_opens" in rules.gaps(item)) is gap


def test_a_tender_date_given_to_a_direct_award_is_left_off_the_notice_and_calendar(
    site: SiteData,
) -> None:
    view = _view(site, DIRECT)
    dates = view.item.dates.model_copy(update={"tender_opens": PlanDate.parse("2027-03")})
    again = _again(site, view, dates=dates)
    assert "tender_opens" not in [key.field for key in again.key_dates]


def test_no_standstill_is_worked_out_for_an_approximate_intention_or_another_route(
    site: SiteData,
) -> None:
    view = _view(site, DIRECT)
    month = view.item.dates.model_copy(update={"intention_to_award": PlanDate.parse("2027-05")})
    assert _again(site, view, dates=month).standstill_ends is None
    assert _again(site, view, route=Route.DIRECT_AWARD_A).standstill_ends is None
    text = _text(pages.notice(site, _again(site, view, dates=month)))
    assert "once the plan names the day the intention is published" in text


# --- working days ----------------------------------------------------------------------------


def test_the_standstill_skips_weekends_and_bank_holidays() -> None:
    # Wednesday 26 May 2027: the spring bank holiday is Monday 31 May.
    assert add_working_days(dt.date(2027, 5, 26), 8) == dt.date(2027, 6, 8)
    # Monday 7 June 2027: no holiday, 8 working days end on Thursday 17 June.
    assert add_working_days(dt.date(2027, 6, 7), 8) == dt.date(2027, 6, 17)
    # Over Christmas 2026: 25 and 28 December and 1 January are holidays.
    assert add_working_days(dt.date(2026, 12, 23), 8) == dt.date(2027, 1, 7)
    # Good Friday and Easter Monday 2027 (26 and 29 March).
    assert add_working_days(dt.date(2027, 3, 24), 2) == dt.date(2027, 3, 30)


def test_past_the_table_no_day_is_made_up() -> None:
    assert add_working_days(dt.date(LAST_YEAR, 12, 27), 8) is None
    assert add_working_days(dt.date(2023, 12, 1), 8) is None
    assert all(day.weekday() < 5 for day in BANK_HOLIDAYS)  # each a weekday, as GOV.UK lists
    assert {day.year for day in BANK_HOLIDAYS} == set(range(2024, LAST_YEAR + 1))


def test_past_the_table_the_notice_says_it_cannot_give_the_day(site: SiteData) -> None:
    view = _view(site, DIRECT)
    later = PlanDate.parse(f"{LAST_YEAR + 1}-06-01")
    again = _again(
        site, view, dates=view.item.dates.model_copy(update={"intention_to_award": later})
    )
    assert again.standstill_ends is None
    text = _text(pages.notice(site, again))
    assert "our list of England's bank holidays does not reach that far" in text


# --- the PSR summary on the transparency page -------------------------------------------------


def test_the_psr_summary_counts_routes_new_providers_and_providers_that_lost_all(
    site: SiteData,
) -> None:
    view = _view(site, DIRECT)
    won = _again(
        site, view, status=Status.AWARDED, awarded=[Recipient(name="Calder Listening Ear")]
    )
    kept = _again(
        site,
        _view(site, "leeds-community-healthcare/lch-breastfeeding-peer-support"),
        status=Status.AWARDED,
        awarded=[Recipient(name="Leeds Mums Together")],
    )
    record = transparency.record(site, view.commissioner, [won, kept])
    psr = record.psr
    assert psr is not None
    # decided in April 2027 and January 2027: two financial years, the newest first
    later, earlier = psr.years
    assert (later.year.short, earlier.year.short) == ("2027/28", "2026/27")
    for year in (later, earlier):
        assert [(row.slug, row.planned, row.awarded) for row in year.routes] == [
            ("direct-award-c", 0, 1)
        ]
        assert year.awarded == 1 and year.unnamed == 0
    assert later.kept == 0 and later.new_providers == ["Calder Listening Ear"]
    assert later.lost_all == ["Roseheath Bereavement Trust"]
    assert earlier.kept == 1 and earlier.new_providers == [] and earlier.lost_all == []
    text = _text(pages.transparency(site, view.commissioner))
    assert "NHS Provider Selection Regime: the yearly summary" in text
    assert "What this cannot tell" in text


def test_a_plan_with_no_psr_route_has_no_psr_summary(site: SiteData) -> None:
    grants = [v for v in site.opportunities if v.item.route is Route.OPEN_GRANT_ROUND]
    assert grants
    assert transparency.record(site, grants[0].commissioner, grants).psr is None

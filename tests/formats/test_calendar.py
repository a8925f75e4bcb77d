"""The calendars: real parsers read them, UIDs hold, SEQUENCE rises only when dates move,
approximate dates stay approximate, cancelled opportunities cancel their events."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from ical.calendar_stream import IcsCalendarStream
from icalendar import Calendar, Component, Event
from icalendar.parser import Contentline

from publisher.formats import calendar, calendar_sequences
from publisher.model.from_plan import opportunity_view
from publisher.model.views import Collection, Listing, SiteData
from publisher.plans.dates import PlanDate
from publisher.plans.model import EngagementEvent, Status
from tests.formats.examples import load

CANCELLED = "west-yorkshire-icb/wy-breathing-clubs"
MONTHLY = "west-yorkshire-icb/wy-charity-support-bodies"  # tender_opens: 2027-05
QUARTERLY = "west-yorkshire-icb/wy-talking-therapies-choice"  # tender_opens: 2027-Q2
EVENTFUL = "west-yorkshire-icb/wy-maternity-support-minoritised-women"


def changed(site: SiteData, uid: str, **dates: Any) -> SiteData:
    """The site with one opportunity's dates changed, its view worked out again."""
    views = []
    for view in site.opportunities:
        if view.uid != uid:
            views.append(view)
            continue
        item = view.item.model_copy(update={"dates": view.item.dates.model_copy(update=dates)})
        views.append(opportunity_view(view.commissioner, item, site.places, site.themes,
                                      site.glossary, site.organisations, site.today,
                                      view.history))  # fmt: skip
    return dataclasses.replace(site, opportunities=views, sequences=dict(site.sequences))


def parse(ics: bytes) -> Calendar:
    return Calendar.from_ical(ics)


def vevents(ics: bytes) -> dict[str, Component]:
    return {str(event["UID"]): event for event in parse(ics).walk("VEVENT")}


def of(events: dict[str, Component], uid: str) -> dict[str, Component]:
    return {key: event for key, event in events.items() if key.startswith(uid + "/")}


def test_every_calendar_parses_with_icalendar_and_a_second_parser(site: SiteData) -> None:
    for collection in site.collections():
        ics = calendar.ics(site, collection)
        cal = parse(ics)
        assert cal["VERSION"] == "2.0"
        stream = IcsCalendarStream.from_ics(ics.decode("utf-8"))  # Home Assistant's parser
        (other,) = stream.calendars
        assert len(other.events) == len(cal.walk("VEVENT"))
        assert [t.tz_id for t in other.timezones] == ["Europe/London"]


def test_calendar_properties_tell_programs_what_it_is_and_how_often_to_look(
    site: SiteData,
) -> None:
    collection = next(c for c in site.collections() if c.path == "place/leeds")
    ics = calendar.ics(site, collection)
    text = ics.decode("utf-8")
    cal = parse(ics)
    assert str(cal["X-WR-CALNAME"]) == "Opportunities in Leeds: key dates"
    assert "when tenders and grant applications open" in str(cal["X-WR-CALDESC"])
    assert "\r\nREFRESH-INTERVAL;VALUE=DURATION:PT12H\r\n" in text
    assert "\r\nX-PUBLISHED-TTL:PT12H\r\n" in text
    assert cal["METHOD"] == "PUBLISH" and cal["CALSCALE"] == "GREGORIAN"
    assert str(cal["PRODID"]).startswith("-//Forward plan publisher//")
    (zone,) = cal.walk("VTIMEZONE")
    assert zone["TZID"] == "Europe/London"
    assert {c.name for c in zone.subcomponents} == {"STANDARD", "DAYLIGHT"}
    assert str(cal["SOURCE"]) == "http://localhost:8000/place/leeds.ics"


def test_one_event_per_key_date_and_engagement_event(site: SiteData) -> None:
    events = vevents(calendar.ics(site, site.everything))
    expected = sum(len(v.key_dates) + len(v.item.dates.engagement) for v in site.opportunities)
    assert len(events) == expected
    maternity = of(events, EVENTFUL)
    assert len(maternity) == 4 + 3
    # Two sessions share a title: each keeps its own UID.
    assert sum("/events/listening-session" in uid for uid in maternity) == 2


def test_uids_are_stable_across_builds_and_changes_to_other_opportunities(
    site: SiteData,
) -> None:
    first = calendar.ics(site, site.everything)
    again = load()
    assert calendar.ics(again, again.everything) == first
    moved = changed(again, MONTHLY, tender_opens=PlanDate.parse("2027-06-14"))
    before, after = vevents(first), vevents(calendar.ics(moved, moved.everything))
    assert set(after) == set(before)
    for uid in set(before) - set(of(before, MONTHLY)):
        assert after[uid].to_ical() == before[uid].to_ical()


def test_reordering_events_keeps_their_uids(site: SiteData) -> None:
    view = next(v for v in site.opportunities if v.uid == EVENTFUL)
    reordered = changed(site, EVENTFUL, engagement=list(reversed(view.item.dates.engagement)))
    before = set(of(vevents(calendar.ics(site, site.everything)), EVENTFUL))
    after = set(of(vevents(calendar.ics(reordered, reordered.everything)), EVENTFUL))
    assert after == before


def test_cancelled_opportunity_cancels_every_event(site: SiteData) -> None:
    events = of(vevents(calendar.ics(site, site.everything)), CANCELLED)
    assert len(events) == 4
    for event in events.values():
        assert event["STATUS"] == "CANCELLED"
        assert str(event["SUMMARY"]).startswith("Example only: Cancelled: ")
        assert "has been cancelled" in str(event["DESCRIPTION"])


def test_approximate_dates_are_tentative_all_day_spans_titled_around(site: SiteData) -> None:
    events = vevents(calendar.ics(site, site.everything))
    month = events[f"{MONTHLY}/tender_opens@localhost"]
    assert month.decoded("DTSTART") == dt.date(2027, 5, 1)
    assert month.decoded("DTEND") == dt.date(2027, 6, 1)
    assert month["STATUS"] == "TENTATIVE"
    assert month["TRANSP"] == "TRANSPARENT"
    assert str(month["SUMMARY"]) == (
        "Example only: Around May 2027: applications open – "
        "Funding for a charity support body in each West Yorkshire place"
    )
    quarter = events[f"{QUARTERLY}/tender_opens@localhost"]
    assert (quarter.decoded("DTSTART"), quarter.decoded("DTEND")) == (
        dt.date(2027, 4, 1),
        dt.date(2027, 7, 1),
    )
    assert quarter["STATUS"] == "TENTATIVE"
    assert str(quarter["SUMMARY"]).startswith(
        "Example only: Around April to June 2027: providers can start asking to join – "
    )
    year = changed(site, MONTHLY, tender_opens=PlanDate.parse("2028"))
    event = vevents(calendar.ics(year, year.everything))[f"{MONTHLY}/tender_opens@localhost"]
    assert (event.decoded("DTSTART"), event.decoded("DTEND")) == (
        dt.date(2028, 1, 1),
        dt.date(2029, 1, 1),
    )
    assert str(event["SUMMARY"]).startswith("Example only: Around 2028: ")


def test_exact_dates_are_days_or_london_times(site: SiteData) -> None:
    ics = calendar.ics(site, site.everything)
    events = vevents(ics)
    day = events[f"{MONTHLY}/service_starts@localhost"]
    assert day.decoded("DTSTART") == dt.date(2027, 10, 1)
    assert day.decoded("DTEND") == dt.date(2027, 10, 2)
    assert day["STATUS"] == "CONFIRMED"
    online = events[
        "west-yorkshire-icb/wy-mens-suicide-prevention/events/"
        "online-briefing-for-interested-groups@localhost"
    ]
    start, end = online.decoded("DTSTART"), online.decoded("DTEND")
    assert (start.isoformat(), end.isoformat()) == (
        "2027-01-20T14:00:00+00:00",
        "2027-01-20T15:30:00+00:00",
    )
    assert str(start.tzinfo) == "Europe/London"
    assert online["LOCATION"] == "Online"
    assert online["URL"] == "https://example.org/west-yorkshire-icb/events/mens-suicide-briefing"
    assert "You can join online: https://example.org/" in str(online["DESCRIPTION"])
    assert "It will be recorded" in str(online["DESCRIPTION"])
    text = ics.decode("utf-8")
    assert "DTSTART;TZID=Europe/London:20270120T140000\r\n" in text
    venue = next(
        event
        for uid, event in of(events, EVENTFUL).items()
        if "listening-session" in uid and event.decoded("DTSTART").day == 10
    )
    assert venue["LOCATION"] == "Manningham Community Hub, Bradford"
    assert "Payment for taking part: £30 shopping voucher" in str(venue["DESCRIPTION"])
    assert "Hosted by Community Action Bradford" in str(venue["DESCRIPTION"])
    assert "http://localhost:8000/opportunities/" + EVENTFUL + ".html" in str(venue["DESCRIPTION"])
    timed = changed(site, MONTHLY, tender_closes=PlanDate.parse("2027-06-30T12:00"))
    close = vevents(calendar.ics(timed, timed.everything))[f"{MONTHLY}/tender_closes@localhost"]
    assert close.decoded("DTSTART").isoformat() == "2027-06-30T12:00:00+01:00"
    assert "DTEND" not in close


def test_sequence_rises_when_a_date_moves_and_stays_otherwise(
    site: SiteData, tmp_path: Path
) -> None:
    path = tmp_path / "all.ics"
    uid = f"{MONTHLY}/tender_opens@localhost"
    path.write_bytes(calendar.ics(site, site.everything))
    assert {seq for _, seq in calendar_sequences.read_sequences(path).values()} == {0}

    same = dataclasses.replace(site, sequences=calendar_sequences.read_sequences(path))
    assert calendar.ics(same, same.everything) == path.read_bytes()

    moved = changed(same, MONTHLY, tender_opens=PlanDate.parse("2027-06-14"))
    path.write_bytes(calendar.ics(moved, moved.everything))
    events = vevents(path.read_bytes())
    assert events[uid]["SEQUENCE"] == 1
    assert events[uid]["STATUS"] == "CONFIRMED"  # the day is named now
    assert {e["SEQUENCE"] for key, e in events.items() if key != uid} == {0}

    moved.sequences = calendar_sequences.read_sequences(path)
    kept = calendar.ics(moved, moved.everything)
    assert kept == path.read_bytes()  # nothing changed since: SEQUENCE stays 1

    again = changed(moved, MONTHLY, tender_opens=PlanDate.parse("2027-06-21"))
    assert vevents(calendar.ics(again, again.everything))[uid]["SEQUENCE"] == 2


def test_cancelling_raises_sequence(site: SiteData, tmp_path: Path) -> None:
    path = tmp_path / "all.ics"
    path.write_bytes(calendar.ics(site, site.everything))
    views = [
        dataclasses.replace(v, item=v.item.model_copy(update={"status": Status.CANCELLED}))
        if v.uid == MONTHLY
        else v
        for v in site.opportunities
    ]
    cancelled = dataclasses.replace(
        site, opportunities=views, sequences=calendar_sequences.read_sequences(path)
    )
    events = of(vevents(calendar.ics(cancelled, cancelled.everything)), MONTHLY)
    assert {e["STATUS"] for e in events.values()} == {"CANCELLED"}
    assert {e["SEQUENCE"] for e in events.values()} == {1}


def test_read_sequences_forgives_missing_and_broken_files(tmp_path: Path) -> None:
    assert calendar_sequences.read_sequences(tmp_path / "nowhere.ics") == {}
    broken = tmp_path / "broken.ics"
    broken.write_bytes(b"BEGIN:VCALENDAR\r\nthis is not iCalendar\r\n\xff\xfe")
    assert calendar_sequences.read_sequences(broken) == {}
    noevent = tmp_path / "empty.ics"
    noevent.write_bytes(b"")
    assert calendar_sequences.read_sequences(noevent) == {}


def test_nothing_reads_the_clock(site: SiteData) -> None:
    events = vevents(calendar.ics(site, site.everything))
    stamps = {event.decoded("DTSTAMP") for event in events.values()}
    view = next(v for v in site.opportunities if v.uid == MONTHLY)
    unknown = dataclasses.replace(view, last_changed=None, notice=None)
    other = dataclasses.replace(site, opportunities=[unknown])
    (stamp,) = {
        e.decoded("DTSTAMP") for e in vevents(calendar.ics(other, other.everything)).values()
    }
    assert stamp == dt.datetime(2026, 11, 23, tzinfo=dt.UTC)  # the build's today
    assert all(s.time() in (dt.time(0), dt.time(23)) for s in stamps)  # London midnights


def test_an_empty_list_still_makes_a_valid_calendar(site: SiteData) -> None:
    empty = Collection(Listing("place", "nowhere", "Nowhere"), [])
    ics = calendar.ics(site, empty)
    assert parse(ics).walk("VEVENT") == []
    assert IcsCalendarStream.from_ics(ics.decode("utf-8")).calendars[0].events == []


def test_event_keys_ignore_order_and_tell_twins_apart() -> None:
    one = EngagementEvent(title="Drop-in session", start=PlanDate.parse("2027-01-10T10:00"))
    two = EngagementEvent(title="Drop-in session", start=PlanDate.parse("2027-01-17T10:00"))
    three = EngagementEvent(title="Co-design: day one!", start=PlanDate.parse("2027-02"))
    keys = calendar.event_keys([one, two, three])
    assert keys == [
        "drop-in-session-2027-01-10t10-00",
        "drop-in-session-2027-01-17t10-00",
        "co-design-day-one",
    ]
    assert calendar.event_keys([three, two, one]) == list(reversed(keys))


def icalendar_fold(line: str) -> str:
    folded: bytes = Contentline(line).to_ical()  # type: ignore[no-untyped-call]
    return folded.decode("utf-8")


@given(
    st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]), max_size=400)
)
@settings(max_examples=1000)
def test_fast_folding_is_icalendars_folding(line: str) -> None:
    assert calendar.fold(line) == icalendar_fold(line)


@given(st.text(alphabet="ab\\^;,: £é€😀", max_size=300))
@settings(max_examples=1000)
def test_fast_folding_keeps_escapes_whole(line: str) -> None:
    assert calendar.fold(line) == icalendar_fold(line)


def test_icalendar_writes_each_event_back_byte_for_byte(site: SiteData) -> None:
    """Events are put together without icalendar's Event (for speed); icalendar must read
    each one and write exactly the same bytes, order and escaping and folding included."""
    ics = calendar.ics(site, site.everything)
    events = re.findall(rb"BEGIN:VEVENT\r\n.*?END:VEVENT\r\n", ics, flags=re.DOTALL)
    assert len(events) > 100
    for text in events:
        assert Event.from_ical(text).to_ical() == text


def test_an_event_id_from_the_plan_is_its_key() -> None:
    start = PlanDate.parse("2027-01-14T10:00")
    named = EngagementEvent(id="launch", title="Co-design day", start=start)
    twin = EngagementEvent(title="Co-design day", start=PlanDate.parse("2027-02-14T10:00"))
    assert calendar.event_keys([named, twin]) == ["launch", "co-design-day-2027-02-14t10-00"]

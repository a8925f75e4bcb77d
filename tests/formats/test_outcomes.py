"""Feeds and calendars say what happened: an awarded, cancelled or withdrawn opportunity gets
an item dated the day it happened (from git), titled so, that feed readers show as new; an
example plan's items and events say "Example only"; ids and UIDs never change."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import pytest
from icalendar import Calendar, Component

from publisher.formats import calendar, calendar_sequences, feeds
from publisher.model.read import load_site
from publisher.model.views import OpportunityView, SiteData
from publisher.plans.dates import LONDON
from tests.changes.gitplans import BASE_OPPORTUNITY, COMMISSIONER, PlanRepo
from tests.formats.examples import load

TODAY = dt.date(2026, 6, 1)
TAG = f"tag:localhost,2026:opportunities/{COMMISSIONER}"
FIRST = "2026-05-01"
OTHER_CHANGED = "2026-05-10"  # an unrelated change, between publication and the outcomes
CANCELLED_ON = "2026-05-20"
AWARDED_ON = "2026-05-25"
WITHDRAWN_ON = "2026-05-28"


@dataclasses.dataclass(frozen=True)
class Story:
    """A plan's git history: four opportunities published on FIRST, then one edited, one
    cancelled, one awarded and one taken out of the plan, each on its own day."""

    site: SiteData
    commits: dict[str, str]  # what happened -> its commit


def opportunity(key: str, title: str) -> dict[str, Any]:
    return {**copy.deepcopy(BASE_OPPORTUNITY), "id": key, "title": title}


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    repo = PlanRepo(tmp_path_factory.mktemp("outcomes"))
    repo.opportunities = [
        opportunity("link-workers", "Social prescribing link workers in Leeds"),
        opportunity("carers-grants", "Grants for carers' groups"),
        opportunity("warm-spaces", "Warm spaces this winter"),
        opportunity("lunch-clubs", "Lunch clubs for older people"),
    ]
    commits = {"first": repo.commit(FIRST, "first plan")}
    repo.opportunities[0]["dates"]["tender_closes"] = "2027-07-31"
    commits["edited"] = repo.commit(OTHER_CHANGED, "closing later")
    repo.opportunities[1]["status"] = "cancelled"
    commits["cancelled"] = repo.commit(CANCELLED_ON, "carers' grants cancelled")
    repo.opportunities[2]["status"] = "awarded"
    commits["awarded"] = repo.commit(AWARDED_ON, "warm spaces awarded")
    repo.opportunities.pop(3)
    commits["withdrawn"] = repo.commit(WITHDRAWN_ON, "lunch clubs taken out")
    site, problems = load_site(repo.plans, TODAY)
    assert not problems
    return Story(site, commits)


def parsed(content: bytes) -> feedparser.FeedParserDict:
    result = feedparser.parse(content)
    assert result.bozo == 0, result.get("bozo_exception")
    return result


def both(site: SiteData) -> Iterator[feedparser.FeedParserDict]:
    """The site's feed of everything, as RSS and as Atom, read by feed readers' parser."""
    for make in (feeds.rss, feeds.atom):
        yield parsed(make(site, site.everything))


def day(entry: feedparser.FeedParserDict, field: str = "") -> dt.date:
    """The day an item is dated, in London (the parser gives the time in UTC): when it was
    updated (Atom), else published (RSS has only pubDate)."""
    field = field or ("updated_parsed" if "updated_parsed" in entry else "published_parsed")
    year, month, date, hour, minute, second = entry[field][:6]
    utc = dt.datetime(year, month, date, hour, minute, second, tzinfo=dt.UTC)
    return utc.astimezone(LONDON).date()


def change_id(key: str, commit: str) -> str:
    return f"{TAG}/{key}/changes/{commit[:12]}"


@pytest.mark.parametrize(
    ("key", "what", "on", "title"),
    [
        ("carers-grants", "cancelled", CANCELLED_ON, "Cancelled: Grants for carers' groups"),
        ("warm-spaces", "awarded", AWARDED_ON, "Awarded: Warm spaces this winter"),
        ("lunch-clubs", "withdrawn", WITHDRAWN_ON, "Withdrawn: Lunch clubs for older people"),
    ],
)
def test_an_outcome_is_its_own_item_dated_the_day_it_happened(
    story: Story, key: str, what: str, on: str, title: str
) -> None:
    for feed in both(story.site):
        entries = feed.entries
        outcome = change_id(key, story.commits[what])
        found = [e for e in entries if e.id == outcome]
        assert len(found) == 1, [e.id for e in entries]
        item = found[0]
        assert item.title == title
        # Published and updated that day: in RSS (pubDate) as in Atom, it is news.
        assert day(item, "published_parsed") == dt.date.fromisoformat(on)
        assert day(item) == dt.date.fromisoformat(on)
        # Newest first: before every item updated earlier, after every item updated later.
        if feed.version == "atom10":
            at = entries.index(item)
            assert all(day(e) >= day(item) for e in entries[:at])
            assert all(day(e) <= day(item) for e in entries[at:])
        # Its opportunity's own item keeps its id, and says what happened too.
        own = next(e for e in entries if e.id == f"{TAG}/{key}")
        assert own.title == title
        assert day(own, "published_parsed") == dt.date.fromisoformat(FIRST)


def test_the_newest_outcome_leads_the_feed(story: Story) -> None:
    for feed in both(story.site):
        assert [e.title for e in feed.entries[:2]] == [
            "Withdrawn: Lunch clubs for older people"
        ] * 2
        assert feed.entries[2].title == "Awarded: Warm spaces this winter"


def test_a_withdrawn_opportunitys_day_is_when_it_left_the_plan(story: Story) -> None:
    view = next(v for v in story.site.opportunities if v.item.id == "lunch-clubs")
    assert view.withdrawn == dt.date.fromisoformat(WITHDRAWN_ON)
    for feed in both(story.site):
        item = next(
            e for e in feed.entries if e.id == change_id("lunch-clubs", story.commits["withdrawn"])
        )
        assert day(item) == view.withdrawn


def test_awarded_items_are_labelled_in_their_text(story: Story) -> None:
    atom = parsed(feeds.atom(story.site, story.site.everything))
    own = next(e for e in atom.entries if e.id == f"{TAG}/warm-spaces")
    assert own.summary.startswith("This opportunity has been awarded. ")
    assert "<p><strong>This opportunity has been awarded.</strong></p>" in own.content[0].value
    change = next(
        e for e in atom.entries if e.id == change_id("warm-spaces", story.commits["awarded"])
    )
    assert "It has been awarded." in change.summary


def test_an_ordinary_change_is_still_titled_changed_and_no_outcome_in_a_plain_plan(
    story: Story,
) -> None:
    for feed in both(story.site):
        edited = next(
            e for e in feed.entries if e.id == change_id("link-workers", story.commits["edited"])
        )
        assert edited.title == "Changed: Social prescribing link workers in Leeds"
        assert not any(
            "Example only" in e.title or "Example only" in e.summary for e in feed.entries
        )


def test_item_ids_are_the_ones_feeds_always_gave(story: Story) -> None:
    """Ids are a contract with feed readers: an opportunity's own item is named after its
    notice, each announced change after its commit, as before outcomes were titled."""
    for feed in both(story.site):
        assert sorted(e.id for e in feed.entries) == sorted(
            [
                f"{TAG}/{key}"
                for key in ("link-workers", "carers-grants", "warm-spaces", "lunch-clubs")
            ]
            + [change_id("link-workers", story.commits["edited"])]
            + [change_id("carers-grants", story.commits["cancelled"])]
            + [change_id("warm-spaces", story.commits["awarded"])]
            + [change_id("lunch-clubs", story.commits["withdrawn"])]
        )


# --- example plans ---------------------------------------------------------------------------


def real(site: SiteData) -> SiteData:
    """The example site as if its plans were real ones."""

    def plain(view: OpportunityView) -> OpportunityView:
        return dataclasses.replace(
            view, commissioner=dataclasses.replace(view.commissioner, example=False)
        )

    return dataclasses.replace(site, opportunities=[plain(v) for v in site.opportunities])


def events(ics: bytes) -> dict[str, Component]:
    return {str(e["UID"]): e for e in Calendar.from_ical(ics).walk("VEVENT")}


def test_example_plans_items_and_events_say_example_only_and_real_ones_do_not() -> None:
    site = load()
    assert site.opportunities and all(v.commissioner.example for v in site.opportunities)
    plain = real(site)
    for example_feed, real_feed in zip(both(site), both(plain), strict=True):
        assert example_feed.entries
        for entry in example_feed.entries:
            assert entry.title.startswith("Example only: ")
            assert "Example only: this is not a real opportunity." in entry.summary
        for entry in real_feed.entries:
            assert "Example only" not in entry.title and "Example only" not in entry.summary
        # The same items, under the same ids, in the same order.
        assert [e.id for e in example_feed.entries] == [e.id for e in real_feed.entries]
        for mine, other in zip(example_feed.entries, real_feed.entries, strict=True):
            assert mine.title == "Example only: " + other.title
    example_events = events(calendar.ics(site, site.everything))
    real_events = events(calendar.ics(plain, plain.everything))
    assert example_events and example_events.keys() == real_events.keys()  # the same UIDs
    for uid, event in example_events.items():
        assert str(event["SUMMARY"]) == "Example only: " + str(real_events[uid]["SUMMARY"])
        first = str(event["DESCRIPTION"]).splitlines()[0]
        assert first == "Example only: this is not a real opportunity."
        assert "Example only" not in str(real_events[uid]["DESCRIPTION"])


def test_saying_example_only_raises_sequence_once(tmp_path: Path) -> None:
    """A calendar that had the events without "Example only" sees them changed, once: the
    summary is what a calendar program shows of an event."""
    site = load()
    before = tmp_path / "all.ics"
    plain = real(site)
    before.write_bytes(calendar.ics(plain, plain.everything))
    assert {n for _, n in calendar_sequences.read_sequences(before).values()} == {0}
    site.sequences = calendar_sequences.read_sequences(before)
    now = tmp_path / "now.ics"
    now.write_bytes(calendar.ics(site, site.everything))
    assert {e.decoded("SEQUENCE") for e in events(now.read_bytes()).values()} == {1}
    again = load()
    again.sequences = calendar_sequences.read_sequences(now)
    assert calendar.ics(again, again.everything) == now.read_bytes()  # no change: still 1

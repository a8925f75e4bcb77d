"""The RSS and Atom feeds: feed readers' parser reads them cleanly, ids never change, every
date comes from the plans, and a cancelled opportunity says so."""

from __future__ import annotations

import dataclasses
import datetime as dt

import feedparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publisher.formats import feed_items, feeds
from publisher.model.views import Collection, Listing, SiteData
from publisher.plans.dates import LONDON
from tests.formats import feedgen_items
from tests.formats.examples import load_first_published as load


@pytest.fixture(scope="module")
def site() -> SiteData:
    """The example plans as first published: one item each, and one per announced change."""
    return load()


BASE = "http://localhost:8000/"
CANCELLED = "west-yorkshire-icb/wy-breathing-clubs"


def parsed(content: bytes) -> feedparser.FeedParserDict:
    result = feedparser.parse(content)
    assert result.bozo == 0, result.get("bozo_exception")
    return result


def ids(content: bytes) -> list[str]:
    return [entry.id for entry in parsed(content).entries]


def test_every_feed_parses_cleanly_with_an_item_per_opportunity(site: SiteData) -> None:
    for collection in site.collections():
        for kind, make in (("rss", feeds.rss), ("atom", feeds.atom)):
            result = parsed(make(site, collection))
            assert result.version == ("rss20" if kind == "rss" else "atom10")
            assert len(result.entries) == len(collection.members)
            assert {e.id for e in result.entries} == {
                f"tag:localhost,2026:{v.url.removesuffix('.html')}" for v in collection.members
            }
            own = f"{BASE}{collection.path}.{kind}"
            assert [link.href for link in result.feed.links if link.rel == "self"] == [own]


def test_feed_titles_and_links_are_plain(site: SiteData) -> None:
    by_path = {c.path: c for c in site.collections()}
    leeds = parsed(feeds.rss(site, by_path["place/leeds"])).feed
    assert leeds.title == "Opportunities in Leeds"
    assert leeds.link == f"{BASE}place/leeds.html"
    assert leeds.language == "en-GB"
    assert leeds.subtitle.startswith("Opportunities in Leeds: what NHS bodies and councils")
    titles = {
        "all": "All opportunities from NHS and council forward plans",
        "theme/mental-health": "Opportunities about mental health",
        "commissioner/leeds-city-council": "Opportunities from Leeds City Council",
        "funding/grant-programme": "Opportunities funded by a grant programme",
        "funding/undecided": "Opportunities where the kind of funding is not decided yet",
    }
    for path, title in titles.items():
        assert parsed(feeds.atom(site, by_path[path])).feed.title == title
    assert parsed(feeds.atom(site, by_path["all"])).feed.link == f"{BASE}index.html"


def test_an_item_says_who_where_how_much_and_when_with_a_link(site: SiteData) -> None:
    view = next(
        v for v in site.opportunities if v.uid == "west-yorkshire-icb/wy-charity-support-bodies"
    )
    for make in (feeds.rss, feeds.atom):
        result = parsed(make(site, site.everything))
        entry = next(e for e in result.entries if e.link == f"{BASE}{view.url}")
        assert entry.title == (
            "Example only: Funding for a charity support body in each West Yorkshire place"
        )
        text = entry.summary if make is feeds.rss else entry.content[0].value
        assert text.startswith(
            "<p><strong>Example only: this is not a real opportunity.</strong></p>"
            "<p>Small charities rely on local support bodies"
        )
        assert (
            "Who: NHS West Yorkshire Integrated Care Board. Where: West Yorkshire. "
            "How much: £500,000 a year (£1.5 million in total). When: Applications open "
            "around May 2027; closing date for applications on 30 June 2027." in text
        )
        assert f'<a href="{BASE}{view.url}">Read the full notice</a>' in text
        # Atom categories carry the slug (and the name as label); RSS ones the name.
        names = {tag.term if make is feeds.rss else tag.label for tag in entry.tags}
        assert names >= {"West Yorkshire", "Support for charities"}
    atom = parsed(feeds.atom(site, site.everything))
    entry = next(e for e in atom.entries if e.link == f"{BASE}{view.url}")
    assert entry.summary.endswith(f"Read the full notice: {BASE}{view.url}")
    assert entry.author_detail.name == "NHS West Yorkshire Integrated Care Board"
    assert entry.author_detail.email == "commissioning-wy@example.org"


def test_a_cancelled_opportunity_says_so(site: SiteData) -> None:
    for make in (feeds.rss, feeds.atom):
        result = parsed(make(site, site.everything))
        entry = next(e for e in result.entries if e.id.endswith(CANCELLED))
        assert entry.title == (
            "Example only: Cancelled: Peer support clubs for people with long-term lung conditions"
        )
        assert "This opportunity has been cancelled." in entry.summary


def test_ids_are_stable_across_builds_and_changes_to_other_opportunities(
    site: SiteData,
) -> None:
    first = {
        kind: ids(make(site, site.everything))
        for kind, make in (("rss", feeds.rss), ("atom", feeds.atom))
    }
    again = load()
    assert feeds.rss(again, again.everything) == feeds.rss(site, site.everything)
    views = [
        dataclasses.replace(
            v,
            item=v.item.model_copy(update={"title": "A new title"}),
            last_changed=dt.date(2026, 11, 30),
        )
        if v.uid == CANCELLED
        else v
        for v in again.opportunities
    ]
    edited = dataclasses.replace(again, opportunities=views)
    for kind, make in (("rss", feeds.rss), ("atom", feeds.atom)):
        now = ids(make(edited, edited.everything))
        assert sorted(now) == sorted(first[kind])
        assert now[0].endswith(CANCELLED)  # the most recently changed comes first
        assert now[1:] == [i for i in first[kind] if not i.endswith(CANCELLED)]
    # On another host the ids stay the same when only the scheme or the path changes.
    moved = dataclasses.replace(again, base_url="https://example.org/opportunities/")
    other = dataclasses.replace(again, base_url="http://example.org/")
    assert ids(feeds.atom(moved, moved.everything)) == ids(feeds.atom(other, other.everything))


def test_dates_come_from_the_plans_never_the_clock(site: SiteData) -> None:
    rss = parsed(feeds.rss(site, site.everything))
    atom = parsed(feeds.atom(site, site.everything))
    newest = max(feeds.changed(site, v) for v in site.opportunities)
    assert rss.feed.updated_parsed[:3] == newest.timetuple()[:3]
    assert atom.feed.updated_parsed[:3] == newest.timetuple()[:3]
    view = site.opportunities[0]
    bare = dataclasses.replace(view, last_changed=None, notice=None)
    alone = dataclasses.replace(site, opportunities=[bare], today=dt.date(2027, 2, 3))
    content = feeds.atom(alone, alone.everything)
    assert b"<updated>2027-02-03T00:00:00+00:00</updated>" in content
    entry = parsed(content).entries[0]
    assert entry.updated == entry.published == "2027-02-03T00:00:00+00:00"
    summer = dataclasses.replace(alone, today=dt.date(2027, 7, 1))
    assert b"Thu, 01 Jul 2027 00:00:00 +0100" in feeds.rss(summer, summer.everything)
    empty = Collection(Listing("place", "nowhere", "Nowhere"), [])
    for make in (feeds.rss, feeds.atom):
        result = parsed(make(alone, empty))
        assert result.entries == []
        assert result.feed.updated_parsed[:3] == (2027, 2, 3)


def test_items_made_once_give_feedgens_own_output(site: SiteData) -> None:
    """Items are reused between feeds; the feed is the same as feedgen building it whole."""
    for collection in site.collections()[:12]:
        items = [feeds.item(site, view) for view in collection.members]
        items.sort(key=lambda about: (-about.updated.timestamp(), about.id))
        newest = max(about.updated for about in items)
        for atom in (False, True):
            own = f"{collection.path}.{'atom' if atom else 'rss'}"
            whole = feeds.header(site, collection, own, newest)
            for about in items:
                whole.add_entry(feedgen_items.entry(about, atom), order="append")
            expected = whole.atom_str(pretty=True) if atom else whole.rss_str(pretty=True)
            assert (feeds.atom if atom else feeds.rss)(site, collection) == expected


# Text with what XML escapes, white space, control characters the writers scrub, and
# letters from beyond ASCII; sometimes nothing at all.
AWKWARD = st.text(st.sampled_from("ab <>&\"'\t\n\r\x00\x07\u202e£é–😀"), max_size=12)
WHEN = st.datetimes(
    min_value=dt.datetime(2000, 1, 1),
    max_value=dt.datetime(2099, 12, 31),
    timezones=st.just(LONDON),
)


@settings(max_examples=300, deadline=None)
@given(
    about=st.builds(
        feeds.Item,
        id=AWKWARD.map(lambda text: "tag:x," + text),
        link=AWKWARD,
        title=AWKWARD,
        text=AWKWARD,
        html=AWKWARD,
        author=AWKWARD,
        email=st.none() | AWKWARD,
        updated=WHEN,
        published=WHEN,
        categories=st.lists(st.tuples(AWKWARD, AWKWARD, AWKWARD), max_size=3).map(tuple),
    )
)
def test_items_are_written_as_feedgen_writes_them(about: feeds.Item) -> None:
    assert feed_items.rss_item(about) == feedgen_items.entry_xml(about, atom=False)
    assert feed_items.atom_entry(about) == feedgen_items.entry_xml(about, atom=True)


def test_a_feed_carries_only_its_newest_items(site: SiteData, monkeypatch) -> None:
    every = feeds.items_of(site, site.everything)
    expected = sorted(every, key=lambda one: (-one.updated.timestamp(), one.id))[:5]
    monkeypatch.setattr(feeds, "FEED_ITEMS", 5)
    for make in (feeds.rss, feeds.atom):
        assert ids(make(site, site.everything)) == [one.id for one in expected]
    assert len(every) > 5

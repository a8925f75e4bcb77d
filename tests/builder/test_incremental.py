"""Builds that reuse the last one: only what changed is made again, unchanged files are the
last site's (hard links), and the site is always, byte for byte, what a build from scratch
makes."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from publisher.builder import cache, splice, tasks
from publisher.builder.site import build
from publisher.formats import base, calendar, data, feeds, list_pages, ocds, pages
from publisher.formats.base import Bundle, Layout, Shelf
from publisher.model.read import load_site
from tests.builder.sites import tree as _tree
from tests.changes.gitplans import COMMISSIONER, PlanRepo

ROOT = Path(__file__).parents[2]
PLANS = ROOT / "plans"
TODAY = dt.date(2026, 11, 23)
TITLE = "Refuges and outreach for people escaping domestic abuse in Leeds"  # a Leeds plan


def _inodes(folder: Path) -> dict[str, int]:
    return {
        p.relative_to(folder).as_posix(): p.stat().st_ino
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _remade(before: dict[str, int], after: dict[str, int]) -> set[str]:
    return {path for path, inode in after.items() if before.get(path) != inode}


def _copy(tmp_path: Path) -> Path:
    plans = tmp_path / "plans"
    shutil.copytree(PLANS, plans)
    assert TITLE in (plans / "leeds-city-council.yaml").read_text()
    return plans


def test_a_build_with_nothing_changed_links_every_file(tmp_path: Path) -> None:
    plans = _copy(tmp_path)
    out = tmp_path / "feeds"
    build(plans, out, today=TODAY)
    before = _inodes(out)
    build(plans, out, today=TODAY)
    assert _inodes(out) == before


def test_a_build_from_another_folder_renders_nothing_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache knows a plan file by its name in the plans folder, not as shown: a build
    run by hand from another folder than the service's makes nothing again, and its
    messages name the files as shown from where it ran."""
    plans = _copy(tmp_path)
    plan = plans / "leeds-city-council.yaml"
    plan.write_text(plan.read_text().replace("  - id: ", "  - surprise: 1\n    id: ", 1))
    out = tmp_path / "feeds"
    monkeypatch.chdir(tmp_path)
    named = {p.file for p in build(Path("plans"), out, today=TODAY).problems}
    assert "plans/leeds-city-council.yaml" in named and len(named) > 1
    before = _inodes(out)
    monkeypatch.chdir(plans)
    again = build(Path("."), out, today=TODAY)
    assert _inodes(out) == before
    assert {p.file for p in again.problems} == {name.removeprefix("plans/") for name in named}
    monkeypatch.chdir(tmp_path)
    assert {p.file for p in build(plans, out, today=TODAY).problems} == named
    assert _inodes(out) == before


def test_one_changed_plan_remakes_only_the_files_that_carry_it(tmp_path: Path) -> None:
    plans = _copy(tmp_path)
    out = tmp_path / "feeds"
    build(plans, out, today=TODAY)
    before = _inodes(out)
    plan = plans / "leeds-city-council.yaml"
    plan.write_text(plan.read_text().replace(TITLE, "Refuges and outreach in Leeds"))
    build(plans, out, today=TODAY)
    remade = _remade(before, _inodes(out))
    assert "opportunities/leeds-city-council/leeds-domestic-abuse-refuges.html" in remade
    assert {"index.html", "all.rss", "all.ics", "all.json"} <= remade
    # of a list's pages, only the one that holds its card
    harehills = ["place/harehills.html", "place/harehills/page-2.html"]
    holding = {p for p in harehills if "leeds-domestic-abuse-refuges" in (out / p).read_text()}
    assert len(holding) == 1 and holding <= remade and not (set(harehills) - holding) & remade
    assert "ocds/release-package.json" in remade and "ocds/leeds-city-council.json" in remade
    # Another commissioner's notices and lists, and lists that do not carry it, are linked.
    assert not [p for p in remade if p.startswith("opportunities/kirklees-council/")]
    assert not {"commissioner/kirklees-council.rss", "transparency/kirklees-council.html"} & remade
    assert not {"place/kirklees.ics", "place/huddersfield.json", "glossary.html"} & remade
    fresh = tmp_path / "fresh"
    build(plans, fresh, today=TODAY)
    # A new title is a new summary for its calendar events: over the last site their
    # SEQUENCE rises, where a build from scratch starts at 0. Everything else is the same.
    _same_but_calendars(out, fresh)
    renamed = (out / "all.ics").read_bytes().decode().split("BEGIN:VEVENT")
    ours = [e for e in renamed if "UID:leeds-city-council/leeds-domestic-abuse-refuges/" in e]
    assert ours and all("SEQUENCE:1\r\n" in e for e in ours)
    others = [e for e in renamed[1:] if e not in ours]
    assert all("SEQUENCE:0\r\n" in e for e in others)


def test_a_lists_feed_key_is_worked_out_again_only_when_the_list_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A feed's key is made from its members' feed items, a step of Python per member; a
    list with the same members as last time takes it from the last build's manifest."""
    plans = _copy(tmp_path)
    out = tmp_path / "feeds"
    build(plans, out, today=TODAY)
    worked: list[str] = []
    real = base.own_key

    def counting(bundle: Bundle, shelf: Shelf, in_order: bool = True) -> bytes:
        worked.append(bundle.path)
        return real(bundle, shelf, in_order)

    monkeypatch.setattr(feeds, "own_key", counting)
    build(plans, out, today=TODAY)
    assert worked == []
    plan = plans / "leeds-city-council.yaml"
    plan.write_text(plan.read_text().replace(TITLE, "Refuges and outreach in Leeds"))
    before = _inodes(out)
    build(plans, out, today=TODAY)
    remade = _remade(before, _inodes(out))
    assert "all" in worked and "place/harehills" in worked and "place/kirklees" not in worked
    assert {f"{path}.rss" for path in worked} == {p for p in remade if p.endswith(".rss")}


def test_big_files_are_spliced_from_the_last_site_and_their_spans_kept_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plans = _copy(tmp_path)
    out = tmp_path / "feeds"
    build(plans, out, today=TODAY)
    folder = cache.folder_for(out.resolve())
    manifest = cache.load_manifest(folder, out.resolve())
    assert manifest is not None and "all.json" in manifest.spanned
    # Each big file's spans are a file of their own, read only when it is made again (in
    # folders by the first two letters of their names).
    assert len(list((folder / "spans").glob("*/*.spans"))) == len(manifest.spanned)
    assert not list((folder / "spans").glob("*.spans"))
    spliced: dict[str, bool] = {}
    write = splice.write

    def spy(target: str, layout: Layout, old: str | None = None, spans=None) -> splice.Spans:
        spliced[Path(target).name] = spans is not None and old is not None
        return write(target, layout, old, spans)

    monkeypatch.setattr(splice, "write", spy)
    plan = plans / "leeds-city-council.yaml"
    plan.write_text(plan.read_text().replace(TITLE, "Refuges and outreach in Leeds"))
    build(plans, out, today=TODAY, workers=1)  # here, where the spy sees it
    assert spliced["all.json"] and spliced["release-package.json"] and spliced["all.ics"]
    assert spliced["record-package.json"]
    after = cache.load_manifest(folder, out.resolve())
    assert after is not None and after.spanned == manifest.spanned
    # The spans of the files made again replace theirs: none is left behind.
    assert len(list((folder / "spans").glob("*/*.spans"))) == len(after.spanned)
    fresh = tmp_path / "fresh"
    build(plans, fresh, today=TODAY)
    _same_but_calendars(out, fresh)


def test_a_moved_date_raises_sequence_as_a_build_from_scratch_does(tmp_path: Path) -> None:
    plans = _copy(tmp_path)
    out, scratch = tmp_path / "feeds", tmp_path / "scratch"
    build(plans, out, today=TODAY)
    build(plans, scratch, today=TODAY)
    shutil.rmtree(cache.folder_for(scratch))  # it reads SEQUENCE back from its all.ics
    plan = plans / "leeds-city-council.yaml"
    text = plan.read_text()
    moved = text.replace("tender_closes: 2027-08-02", "tender_closes: 2027-08-16")
    assert moved != text
    plan.write_text(moved)
    build(plans, out, today=TODAY)
    build(plans, scratch, today=TODAY)
    assert b"SEQUENCE:1\r\n" in (out / "all.ics").read_bytes()
    assert _tree(out) == _tree(scratch)


def test_a_site_changed_by_hand_or_a_broken_cache_is_made_again(tmp_path: Path) -> None:
    plans = _copy(tmp_path)
    out = tmp_path / "feeds"
    build(plans, out, today=TODAY)
    expected = _tree(out)
    notice = out / "opportunities" / "kirklees-council"
    removed = sorted(notice.iterdir())[0]
    removed.unlink()
    (out / "place" / "leeds.rss").unlink()
    build(plans, out, today=TODAY)
    assert _tree(out) == expected
    folder = cache.folder_for(out)
    for kept in folder.rglob("*"):
        if kept.is_file():
            kept.write_bytes(b"not a pickle")
    build(plans, out, today=TODAY)
    assert _tree(out) == expected
    shutil.rmtree(out)  # the cache describes a site that is gone
    build(plans, out, today=TODAY)
    assert _tree(out) == expected


def test_a_new_day_remakes_only_what_reads_differently(tmp_path: Path) -> None:
    # Leeds: one opportunity that reads the same for months (its dates are months ahead,
    # approximate, and it was first published on a known day); Wakefield: the example,
    # with opportunities open now whose days left change every day.
    repo = PlanRepo(tmp_path / "repo")
    shutil.copy(PLANS / "wakefield-council.yaml", repo.plans / "wakefield-council.yaml")
    repo.commit("2026-09-01", "first plans")
    out = tmp_path / "feeds"
    first = dt.date(2026, 11, 25)  # Leeds's gaps have been open 12 weeks since Tuesday
    build(repo.plans, out, today=first)
    notice = "opportunities/leeds-city-council/social-prescribing.html"
    for days in (1, 2, 4):  # the example moves a week on Monday 30th (SEQUENCEs rise then)
        day = first + dt.timedelta(days=days)
        before, old = _inodes(out), _tree(out)
        build(repo.plans, out, today=day)
        fresh = tmp_path / f"fresh-{days}"
        build(repo.plans, fresh, today=day)
        built = _tree(out)
        assert built == _tree(fresh), day  # byte for byte a build from scratch that day
        shutil.rmtree(fresh)
        remade = _remade(before, _inodes(out))
        # Every file that reads differently is made again (never written through a link),
        # and no other: the day's work, and only that (a feed's items say nothing of days
        # left, a calendar without events changes on new year's day).
        differs = {p for p in built if old.get(p) != built[p]}
        assert remade == differs, (day, sorted(remade - differs)[:5], sorted(differs - remade))
        # ... and what reads the same is linked: Leeds's notice, list and feed.
        assert notice not in remade
        for kept in ("commissioner/leeds-city-council.html", "commissioner/leeds-city-council.rss"):
            assert kept not in remade, (day, kept)
        assert [p for p in remade if p.startswith("opportunities/wakefield-council/")]
    # The home page says the day; other pages do not (they would all change every day).
    assert "as they stood on 29 November 2026" in (out / "index.html").read_text()
    assert "(12 weeks)" in (out / "transparency" / "leeds-city-council.html").read_text()
    assert "stood on" not in (out / notice).read_text()


def test_a_closing_date_passing_keeps_the_feeds_that_say_the_same(tmp_path: Path) -> None:
    """When an opportunity's closing date passes, its data files and calendars change; its
    feed items and releases do not, so the feeds of every list it is on and the OCDS
    packages are linked, not written again (at England's size, national opportunities
    closing rewrote 3.4 GB of identical feeds)."""
    repo = PlanRepo(tmp_path / "repo")
    repo.first.update(status="open")
    repo.first["dates"] = {"tender_opens": "2026-11-02", "tender_closes": "2026-12-10"}
    repo.commit("2026-11-01", "open until 10 December")
    out = tmp_path / "feeds"
    build(repo.plans, out, today=dt.date(2026, 12, 9))
    before, old = _inodes(out), _tree(out)
    build(repo.plans, out, today=dt.date(2026, 12, 11))
    remade, built = _remade(before, _inodes(out)), _tree(out)
    assert '"state":"closed"' in (out / "place" / "leeds.json").read_text()
    assert {"place/leeds.json", "place/leeds.html", "all.json"} <= remade
    lists = ["all", "place/leeds", "theme/mental-health", f"commissioner/{COMMISSIONER}"]
    same = {f"{path}.{kind}" for path in [*lists, "funding/contract"] for kind in ("rss", "atom")}
    # so are the OCDS packages, made from its releases alone
    same |= {"ocds/release-package.json", "ocds/record-package.json"}
    assert all(built[p] == old[p] for p in same)
    assert not same & remade
    fresh = tmp_path / "fresh"
    build(repo.plans, fresh, today=dt.date(2026, 12, 11))
    assert _tree(fresh) == built


def test_a_plan_files_files_made_again_the_same_are_linked(tmp_path: Path) -> None:
    """A plan file's files made again on a new day (its transparency page counts the weeks
    its gaps have been open) that read as before (its OCDS package) are linked from the
    last site, not written again."""
    repo = PlanRepo(tmp_path / "repo")
    repo.commit("2026-09-01", "first plan")  # a Tuesday: a week more on each Tuesday
    out = tmp_path / "feeds"
    build(repo.plans, out, today=dt.date(2026, 11, 30))
    before, old = _inodes(out), _tree(out)
    build(repo.plans, out, today=dt.date(2026, 12, 1))
    remade, built = _remade(before, _inodes(out)), _tree(out)
    page = f"transparency/{COMMISSIONER}.html"
    assert page in remade and b"(13 weeks)" in built[page] and b"(12 weeks)" in old[page]
    package = f"ocds/{COMMISSIONER}.json"
    assert built[package] == old[package] and package not in remade
    assert remade == {p for p in built if built[p] != old.get(p)}
    fresh = tmp_path / "fresh"
    build(repo.plans, fresh, today=dt.date(2026, 12, 1))
    assert _tree(fresh) == built


def test_a_plan_files_own_pages_are_kept_when_its_views_read_the_same(tmp_path: Path) -> None:
    # On 1 December Calderdale's Todmorden day activities are made again (what its notice
    # reads of the day changes) but its view, and so the transparency page and the OCDS
    # package made from every view of the plan file, say the same as the day before.
    repo = PlanRepo(tmp_path / "repo")
    shutil.copy(PLANS / "calderdale-council.yaml", repo.plans / "calderdale-council.yaml")
    repo.commit("2026-09-01", "first plans")
    out = tmp_path / "feeds"
    build(repo.plans, out, today=dt.date(2026, 11, 30))
    units = _units(out, "calderdale-council.yaml")
    before = _inodes(out)
    day = dt.date(2026, 12, 1)
    build(repo.plans, out, today=day)
    after = _units(out, "calderdale-council.yaml")
    made_again = [uid for uid, unit in after.items() if units[uid] != unit]
    assert made_again == ["calderdale-council/calderdale-todmorden-day-activities"]
    remade = _remade(before, _inodes(out))
    assert "opportunities/calderdale-council/calderdale-todmorden-day-activities.html" in remade
    assert not {"transparency/calderdale-council.html", "ocds/calderdale-council.json"} & remade
    fresh = tmp_path / "fresh"
    build(repo.plans, fresh, today=day)
    assert _tree(out) == _tree(fresh)


def _units(out: Path, plan: str) -> dict[str, cache.Unit]:
    """The units of the entry that made `plan`'s part of the site at `out`."""
    folder = cache.folder_for(out.resolve())
    manifest = cache.load_manifest(folder, out.resolve())
    assert manifest is not None
    [name] = [name for shown, name in manifest.entries.items() if shown.endswith(plan)]
    entry = cache.load_entry(folder, name)
    assert entry is not None
    return entry.units


def test_new_places_make_everything_again(tmp_path: Path) -> None:
    plans = _copy(tmp_path)
    out = tmp_path / "feeds"
    build(plans, out, today=TODAY)
    before = _inodes(out)
    places = plans / "places.yaml"
    places.write_text(places.read_text().replace("name: Harehills", "name: Harehills and Gipton"))
    build(plans, out, today=TODAY)
    assert "Harehills and Gipton" in (out / "place" / "harehills.html").read_text()
    # Every file is made again; a plan file's that read the same (notices not naming
    # Harehills) are then linked from the last site, not written again.
    after = _inodes(out)
    kept = {path for path, inode in after.items() if before.get(path) == inode}
    assert kept and all(
        path.startswith(("opportunities/", "ocds/", "transparency/")) for path in kept
    )
    fresh = tmp_path / "fresh"
    build(plans, fresh, today=TODAY)
    assert _tree(out) == _tree(fresh)


def test_a_new_commit_remakes_the_commissioner_it_touched(tmp_path: Path) -> None:
    repo = PlanRepo(tmp_path / "repo")
    shutil.copy(PLANS / "kirklees-council.yaml", repo.plans / "kirklees-council.yaml")
    repo.commit("2026-09-01", "first plan")
    out = tmp_path / "feeds"
    build(repo.plans, out, today=TODAY)
    before = _inodes(out)
    repo.first["summary"] = "Link workers help people find groups, activities and advice."
    repo.first["dates"]["tender_opens"] = "2027-05"
    repo.commit("2026-10-01", "tender later")
    build(repo.plans, out, today=TODAY)
    remade = _remade(before, _inodes(out))
    notice = "opportunities/leeds-city-council/social-prescribing.html"
    assert notice in remade
    assert "2027" in (out / notice).read_text() and "What has changed" in (out / notice).read_text()
    assert not [p for p in remade if p.startswith("opportunities/kirklees-council/")]
    fresh = tmp_path / "fresh"
    build(repo.plans, fresh, today=TODAY)
    built, scratch = _tree(out), _tree(fresh)
    assert set(built) == set(scratch)
    # Only the calendars differ: the moved event's SEQUENCE rose over the last site.
    assert [p for p in built if built[p] != scratch[p] and not p.endswith(".ics")] == []


def test_a_full_disk_while_keeping_parts_leaves_the_last_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plans = _copy(tmp_path)
    out = tmp_path / "feeds"
    build(plans, out, today=TODAY)
    before = _tree(out)

    def full(folder: Path, name: str, blob: bytes) -> None:
        raise OSError(28, "No space left on device", str(folder / f"{name}.data"))

    monkeypatch.setattr(cache, "save_store", full)
    with pytest.raises(OSError, match="No space left"):
        build(plans, out, today=TODAY + dt.timedelta(days=1))
    assert _tree(out) == before
    monkeypatch.undo()
    build(plans, out, today=TODAY + dt.timedelta(days=1))
    fresh = tmp_path / "fresh"
    build(plans, fresh, today=TODAY + dt.timedelta(days=1))
    assert _tree(out) == _tree(fresh)


def test_the_build_assembles_what_each_renderer_makes_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build puts files together from kept parts; the same files made from the views
    (as the service makes filtered feeds) are byte for byte the same, capped feeds too."""
    monkeypatch.setattr(feeds, "FEED_ITEMS", 5)
    out = tmp_path / "feeds"
    build(PLANS, out, today=TODAY)
    site, _ = load_site(PLANS, TODAY)
    ocds.use_prefix(site, None)
    by_path = {c.path: c for c in site.collections()}
    for path in ("all", "place/leeds", "theme/mental-health", "funding/grant"):
        collection = by_path[path]
        assert (out / f"{path}.rss").read_bytes() == feeds.rss(site, collection)
        assert (out / f"{path}.atom").read_bytes() == feeds.atom(site, collection)
        assert (out / f"{path}.ics").read_bytes() == calendar.ics(site, collection)
        assert (out / f"{path}.json").read_bytes() == data.as_json(site, collection)
        if path != "all":
            for page, html in list_pages.listing(site, collection):
                assert (out / page).read_text() == html, page
    # Every feed: the build's later feeds take their items from every member put in order
    # once (feeds.FeedOrder), its first ones rank their own members.
    for collection in site.collections():
        assert (out / f"{collection.path}.rss").read_bytes() == feeds.rss(site, collection)
        assert (out / f"{collection.path}.atom").read_bytes() == feeds.atom(site, collection)
    assert (out / "index.html").read_text() == pages.index(site)
    for page, html in list_pages.whens(site):
        assert (out / page).read_text() == html, page
    releases = ocds.made_for(site, site.opportunities)
    assert (out / ocds.RELEASES).read_bytes() == ocds.package_text(site, releases, ocds.RELEASES)
    assert (out / ocds.RECORDS).read_bytes() == ocds.record_package_text(site, releases)


def test_a_plan_edited_during_a_build_is_published_as_it_was_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a build renders is the bytes it named its cache entry by: an edit landing in
    the middle of a build (a pull) is published by the next build, never filed under the
    old bytes' name."""
    plans = _copy(tmp_path)
    plan = plans / "leeds-city-council.yaml"
    out = tmp_path / "feeds"
    real = tasks.render_file

    def edited_meanwhile(*args: object, **kwargs: object) -> cache.Entry:
        plan.write_text(plan.read_text().replace(TITLE, "Refuges and outreach in Leeds"))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tasks, "render_file", edited_meanwhile)
    build(plans, out, today=TODAY)
    notice = out / "opportunities" / "leeds-city-council" / "leeds-domestic-abuse-refuges.html"
    assert TITLE in notice.read_text()
    monkeypatch.undo()
    build(plans, out, today=TODAY)
    assert "Refuges and outreach in Leeds" in notice.read_text()


def _same_but_calendars(built: Path, scratch: Path) -> None:
    """The same files, byte for byte, but calendars: over a last site, SEQUENCE rises for
    the events that moved, where a build from scratch starts at 0."""
    one, other = _tree(built), _tree(scratch)
    assert set(one) == set(other)
    assert [p for p in one if one[p] != other[p] and not p.endswith(".ics")] == []


def test_withdrawn_opportunities_and_a_removed_plan_build_as_from_scratch(
    tmp_path: Path,
) -> None:
    repo = PlanRepo(tmp_path / "repo")
    repo.opportunities.append({**repo.first, "id": "carers-grants", "title": "Carers' grants"})
    shutil.copy(PLANS / "kirklees-council.yaml", repo.plans / "kirklees-council.yaml")
    repo.commit("2026-09-01", "first plans")
    out = tmp_path / "feeds"
    build(repo.plans, out, today=TODAY)
    repo.opportunities.pop(1)  # withdrawn: its notice stays, saying so
    repo.commit("2026-10-01", "carers' grants withdrawn")
    build(repo.plans, out, today=TODAY)
    notice = out / "opportunities" / "leeds-city-council" / "carers-grants.html"
    assert "withdrawn" in notice.read_text().lower()
    _same_but_calendars(out, _scratch(repo.plans, tmp_path / "one"))
    (repo.plans / "kirklees-council.yaml").unlink()  # a whole plan taken away
    repo.commit("2026-10-15", "Kirklees plan removed")
    build(repo.plans, out, today=TODAY)
    gone = sorted((out / "opportunities" / "kirklees-council").iterdir())
    assert gone and all("withdrawn" in p.read_text().lower() for p in gone)
    _same_but_calendars(out, _scratch(repo.plans, tmp_path / "two"))


def _scratch(plans: Path, where: Path) -> Path:
    out = where / "feeds"
    build(plans, out, today=TODAY)
    return out


def test_a_list_is_paged_again_only_when_its_members_change(tmp_path: Path) -> None:
    plans = _copy(tmp_path)
    out = tmp_path / "feeds"
    first = build(plans, out, today=TODAY)
    assert "place/harehills" in first.paged and "commissioner/kirklees-council" in first.paged
    assert build(plans, out, today=TODAY).paged == []  # every list's pages kept
    plan = plans / "leeds-city-council.yaml"
    plan.write_text(plan.read_text().replace(TITLE, "Refuges and outreach in Leeds"))
    again = build(plans, out, today=TODAY).paged
    assert {"place/harehills", "commissioner/leeds-city-council"} <= set(again)
    assert "commissioner/kirklees-council" not in again and "place/kirklees" not in again
    fresh = tmp_path / "fresh"
    build(plans, fresh, today=TODAY)
    _same_but_calendars(out, fresh)


def test_a_kept_lists_missing_page_is_made_from_its_list_paged_again(tmp_path: Path) -> None:
    plans = _copy(tmp_path)
    out = tmp_path / "feeds"
    build(plans, out, today=TODAY)
    expected = _tree(out)
    (out / "place" / "harehills" / "page-2.html").unlink()
    (out / "place" / "harehills.html").unlink()
    assert build(plans, out, today=TODAY).paged == []  # its pages' keys were kept
    assert _tree(out) == expected


def test_spans_kept_in_one_folder_by_an_earlier_version_are_removed(tmp_path: Path) -> None:
    """Before spans went in folders of their own they were kept in one; a build that makes
    everything again (a new version of the publisher) removes those left there."""
    out = tmp_path / "feeds"
    build(PLANS, out, today=TODAY)
    folder = cache.folder_for(out.resolve())
    left = folder / "spans" / f"{'ab' * 16}.spans"
    left.write_bytes(b"spans kept by an earlier version")
    (folder / cache.MANIFEST).unlink()  # as a new version finds no manifest of its own
    build(PLANS, out, today=TODAY)
    assert not left.exists()
    manifest = cache.load_manifest(folder, out.resolve())
    assert manifest is not None
    assert len(list((folder / "spans").glob("*/*.spans"))) == len(manifest.spanned)

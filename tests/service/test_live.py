"""The loaded plans kept out of the garbage collector's way (service/live.py): frozen while
they are served, and let go once a new build is loaded. What is made from them is kept
gzipped only, so many more feeds fit the app's budget."""

from __future__ import annotations

import gc
import gzip
import json
import shutil
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import anyio
import anyio.from_thread
import anyio.to_thread
import pytest
from starlette.requests import Request

from publisher.formats import memo
from publisher.model.read import load_site
from publisher.model.views import SiteData
from publisher.service import filtered
from publisher.service import live as live_module
from publisher.service.conditional import Representation, etag_of
from publisher.service.health import healthz
from publisher.service.live import Live, Loaded, PlansError, Stamp
from tests.formats.examples import TODAY
from tests.model.test_read_kept import _git, _parsed_plans
from tests.model.test_read_once import Reads
from tests.service.conftest import NOW, PLANS, Site

URL = "http://127.0.0.1:8000/"


@pytest.fixture
def folder(site: Site, tmp_path: Path) -> Path:
    """A copy of the served site, for a test to land new builds in."""
    copied = tmp_path / "site"
    shutil.copytree(site.folder, copied)
    return copied


def _new_build(folder: Path) -> None:
    """A new build landing, as the build swaps files in."""
    data = folder / "all.json"
    new = folder / "all.json.new"
    new.write_bytes(data.read_bytes())
    new.replace(data)


def test_a_new_build_lets_the_last_ones_plans_go(folder: Path, unfrozen: None) -> None:
    live = Live(folder, PLANS, "http://127.0.0.1:8000/", lambda: NOW)
    choice = filtered.Choice(place=("leeds",))

    async def feed() -> None:
        await live.rendered(("feed", "leeds"), lambda s: filtered.render(s, choice, "rss"), "x")

    first = anyio.run(live.site)
    anyio.run(feed)
    assert gc.get_freeze_count() > 0, "the loaded plans and the feed's items are frozen"
    old = weakref.ref(first.site)
    first.site.__dict__["cycle"] = first.site  # what refcounts alone cannot free
    del first
    _new_build(folder)
    second = anyio.run(live.site)
    anyio.run(feed)
    assert second.site is not old()
    assert old() is None, "the last build's plans are collected, cycles and all, not kept frozen"


def test_once_a_new_build_is_loaded_readers_get_their_last_feed_until_it_is_made_again(
    folder: Path, unfrozen: None
) -> None:
    live = Live(folder, PLANS, URL, lambda: NOW)
    key = ("feed", "leeds", "rss")
    made_from: list[SiteData] = []
    let_go = threading.Event()

    def make(data: SiteData) -> bytes:
        made_from.append(data)
        if len(made_from) > 1:
            let_go.wait(60)  # injected: making it again takes as long as the test wants
        return filtered.render(data, filtered.Choice(place=("leeds",)), "rss")

    async def until(done: Callable[[], bool]) -> None:
        with anyio.fail_after(60):
            while not done():
                await anyio.sleep(0.01)

    async def serve() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(live.warm)
            first, kept = await live.rendered(key, make, "x")
            _new_build(folder)
            await live.site()  # tells of it
            await until(lambda: len(made_from) == 2)  # loaded, and being made again
            assert live.loaded is not first and not live.reloading
            with anyio.fail_after(5):
                _, given = await live.rendered(key, make, "x")
            assert given is kept and live.current(key) is kept, "the last one's, meanwhile"
            let_go.set()
            await until(lambda: live.current(key) is not kept)
            _, now = await live.rendered(key, make, "x")
            assert now is live.current(key) and now is not kept
            assert live.loaded is not None and made_from[1] is live.loaded.site
            assert len(made_from) == 2, "made once for each build"
            group.cancel_scope.cancel()

    anyio.run(serve)


@pytest.mark.parametrize("cycle", [False, True], ids=["freed by refcounts", "in a cycle"])
def test_while_the_app_runs_a_full_collection_is_made_only_for_a_cycle(
    folder: Path, unfrozen: None, monkeypatch: pytest.MonkeyPatch, cycle: bool
) -> None:
    """A full collection holds every reply up (1.2 s at 20,000): with the app running, a
    new build's load makes none when the last build's plans were freed by their refcounts,
    and one, a while later, when a cycle holds them."""
    monkeypatch.setattr(live_module, "LINGER", 0.2)
    live = Live(folder, PLANS, URL, lambda: NOW)
    full: list[float] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            full.append(time.monotonic())

    async def serve() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(live.warm)
            first = await live.site()
            old = weakref.ref(first.site)
            if cycle:
                first.site.__dict__["cycle"] = first.site
            del first
            _new_build(folder)
            gc.callbacks.append(seen)
            gc.disable()  # only the collections asked for, none by allocation counts
            try:
                await live.site()  # tells of the new build
                with anyio.fail_after(60):
                    while live.reloading:
                        await anyio.sleep(0.01)
                loaded = time.monotonic()
                assert (old() is not None) == cycle
                await anyio.sleep(1)  # past the linger
            finally:
                gc.enable()
                gc.callbacks.remove(seen)
            assert old() is None, "the last build's plans are let go, cycle or not"
            if cycle:
                assert len(full) == 1 and full[0] - loaded >= 0.1, "one, once it lingered"
            else:
                assert full == [], "nothing to collect: no interpreter-wide pause"
            group.cancel_scope.cancel()

    anyio.run(serve)


def test_the_last_builds_feed_items_are_freed_a_piece_at_a_time(
    folder: Path, unfrozen: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Freed with the last build's plans, all at once, the feed items made for it held
    every reply up (0.4 s at 20,000 with 200 feeds made); they are freed in steps, the
    interpreter handed over between them, and the feeds made again are the same."""
    live = Live(folder, PLANS, URL, lambda: NOW)
    choice = filtered.Choice(place=("leeds",))
    first = anyio.run(live.site)
    made = filtered.render(first.site, choice, "rss")
    store = memo._MEMO[id(first.site)][1]  # the feed items made for it
    pieces = len(store)
    assert pieces > 10
    handed: list[float] = []
    hand_over = memo._hand_over

    def observed() -> None:
        handed.append(time.monotonic())
        hand_over()

    monkeypatch.setattr(memo, "_hand_over", observed)
    monkeypatch.setattr(memo.forget, "__defaults__", (10,))  # ten at a time
    del first
    _new_build(folder)
    second = anyio.run(live.site)
    assert store == {}, "the last build's feed items were freed"
    assert len(handed) == -(-pieces // 10), "a step at a time"
    assert filtered.render(second.site, choice, "rss") == made


def test_a_kept_feed_is_held_gzipped_only_and_gives_the_same_body(
    site: Site, unfrozen: None
) -> None:
    live = Live(site.folder, PLANS, URL, lambda: NOW)
    choice = filtered.Choice(place=("leeds",))
    made: list[bytes] = []

    def make(data: SiteData) -> bytes:
        made.append(filtered.render(data, choice, "json"))
        return made[-1]

    async def feed() -> Representation:
        _, rep = await live.rendered(("feed", "leeds", "json"), make, "application/json")
        return rep

    rep = anyio.run(feed)
    [body] = made
    assert rep.plain is None and rep.gzip_body is not None
    assert rep.size == len(rep.gzip_body) < len(body) / 3
    assert gzip.decompress(rep.gzip_body) == rep.body() == body
    assert (rep.length, rep.etag) == (len(body), etag_of(body))


def test_a_feed_too_big_to_keep_plain_is_kept_gzipped_and_made_once(
    site: Site, unfrozen: None
) -> None:
    choice = filtered.Choice(place=("west-yorkshire",))
    plain = len(filtered.render(load_site(PLANS, TODAY, URL)[0], choice, "json"))
    # Its plain body is more than a quarter of the budget (the most one feed may take),
    # its gzipped body less.
    live = Live(site.folder, PLANS, URL, lambda: NOW, budget=2 * plain)
    made: list[int] = []

    def make(data: SiteData) -> bytes:
        made.append(1)
        return filtered.render(data, choice, "json")

    async def feed() -> Representation:
        _, rep = await live.rendered(("feed", "west-yorkshire", "json"), make, "application/json")
        return rep

    first, again = anyio.run(feed), anyio.run(feed)
    assert again is first and len(made) == 1, "asked again, it is not made again"
    assert first.length == plain


def test_after_a_new_build_what_readers_asked_for_is_made_again(
    folder: Path, unfrozen: None
) -> None:
    live = Live(folder, PLANS, URL, lambda: NOW)
    made: list[tuple[object, SiteData]] = []
    broken = [False]

    def maker(key: object, place: str, fmt: str) -> Callable[[SiteData], bytes]:
        def make(data: SiteData) -> bytes:
            if broken[0] and place == "calderdale":
                raise RuntimeError("a fault in making it")  # injected: not made again
            made.append((key, data))
            return filtered.render(data, filtered.Choice(place=(place,)), fmt)

        return make

    asked = [("feed", "leeds", "rss"), ("feed", "calderdale", "json"), ("feed", "wakefield", "ics")]

    async def ask(key: tuple[str, str, str]) -> None:
        await live.rendered(key, maker(key, key[1], key[2]), "x")

    for key in [*asked, asked[0]]:  # Leeds asked for last
        anyio.run(ask, key)
    assert len(made) == 3
    _new_build(folder)
    broken[0] = True

    async def reload() -> tuple[SiteData, int]:
        loaded = await live.site()
        return loaded.site, await live.remake()

    now, done = anyio.run(reload)
    assert done == 2, "Calderdale's failed, and the others were still made"
    again = made[3:]
    assert [key for key, _ in again] == [asked[0], asked[2]], "the newest asked for first"
    assert all(data is now for _, data in again), "from the new build's plans"
    assert live.current(asked[0]) is not None and live.current(asked[2]) is not None
    assert live.current(asked[1]) is None


def test_the_app_makes_them_again_when_a_request_finds_a_new_build(
    folder: Path, unfrozen: None
) -> None:
    live = Live(folder, PLANS, URL, lambda: NOW)
    key = ("feed", "leeds", "rss")

    def make(data: SiteData) -> bytes:
        return filtered.render(data, filtered.Choice(place=("leeds",)), "rss")

    async def serve() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(live.warm)  # as the app's lifespan runs it
            await live.rendered(key, make, "x")
            _new_build(folder)
            await live.site()  # a request notices the new build
            with anyio.fail_after(60):
                while live.current(key) is None:
                    await anyio.sleep(0.01)
            group.cancel_scope.cancel()

    anyio.run(serve)


def test_while_a_new_build_loads_requests_are_answered_from_the_last_one(
    folder: Path, unfrozen: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = Live(folder, PLANS, URL, lambda: NOW)
    key = ("feed", "leeds", "rss")
    loads: list[Loaded] = []
    let_go = threading.Event()
    load = live._load

    def held(stamp: Stamp | None) -> Loaded:  # injected: a load as slow as the test wants
        if loads:
            let_go.wait(60)
        loads.append(load(stamp))
        return loads[-1]

    monkeypatch.setattr(live, "_load", held)

    def make(data: SiteData) -> bytes:
        return filtered.render(data, filtered.Choice(place=("leeds",)), "rss")

    def health() -> dict[str, Any]:
        asked = Request({"type": "http", "client": ("127.0.0.1", 1), "headers": []})
        answer = anyio.from_thread.run(healthz, asked, folder, NOW, live, None, None)
        assert answer.status_code == 200
        return cast(dict[str, Any], json.loads(bytes(answer.body)))

    async def serve() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(live.warm)  # as the app's lifespan runs it
            first, kept = await live.rendered(key, make, "x")
            was = (await anyio.to_thread.run_sync(health))["plans_loaded"]
            assert was["loading_new_build"] is False
            _new_build(folder)
            with anyio.fail_after(5):  # not the minute the load is held for
                during, again = await live.rendered(key, make, "x")
                said = await anyio.to_thread.run_sync(health)
            assert during is first and again is kept, "the last build's, as it was made"
            assert live.current(key) is kept, "and so is the quick path's"
            assert said["plans_loaded"] == {**was, "loading_new_build": True}
            assert said["opportunities"] == len(first.site.opportunities)
            assert live.reloading and len(loads) == 1
            let_go.set()
            with anyio.fail_after(60):
                while live.reloading:
                    await anyio.sleep(0.01)
            now, _ = await live.rendered(key, make, "x")
            assert now is loads[1] and now.stamp == live.stamp(), "the new build's, once loaded"
            assert not (await anyio.to_thread.run_sync(health))["plans_loaded"]["loading_new_build"]
            group.cancel_scope.cancel()

    anyio.run(serve)
    assert len(loads) == 2, "each build loaded once"


def test_when_a_new_builds_plans_cannot_be_read_it_is_said_once_known(
    folder: Path, tmp_path: Path, unfrozen: None
) -> None:
    plans = tmp_path / "plans"
    shutil.copytree(PLANS, plans)
    live = Live(folder, plans, URL, lambda: NOW)

    async def serve() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(live.warm)
            first = await live.site()
            (plans / "places.yaml").write_text("places: [\n")  # broken since the build
            _new_build(folder)
            assert await live.site() is first, "until the load has finished"
            with anyio.fail_after(60):
                while live.reloading:
                    await anyio.sleep(0.01)
            with pytest.raises(PlansError, match=r"places\.yaml"):
                await live.site()  # said, not the last build's served on and on
            group.cancel_scope.cancel()

    anyio.run(serve)


def test_what_is_made_again_keeps_the_order_it_was_last_asked_for_in(
    folder: Path, unfrozen: None
) -> None:
    data = load_site(PLANS, TODAY, URL)[0]
    asked = ["wakefield", "calderdale", "kirklees", "keighley"]  # Wakefield's least recent

    def make_for(place: str) -> Callable[[SiteData], bytes]:
        return lambda site: filtered.render(site, filtered.Choice(place=(place,)), "rss")

    sizes = {
        place: Representation.of(make_for(place)(data), "x").pack().size
        for place in [*asked, "halifax"]
    }
    # Room for all but one of the five: asking for Halifax's drops the least recently used.
    live = Live(folder, PLANS, URL, lambda: NOW, budget=sum(sizes.values()) - 1)
    assert max(sizes.values()) <= live.budget // 4, "each may be kept"

    async def ask(place: str) -> None:
        await live.rendered(("feed", place), make_for(place), "x")

    for place in asked:
        anyio.run(ask, place)
    _new_build(folder)

    async def reload() -> int:
        await live.site()
        return await live.remake()

    assert anyio.run(reload) == 4
    anyio.run(ask, "halifax")
    kept = {place for place in sizes if live.current(("feed", place)) is not None}
    assert kept == {"calderdale", "kirklees", "keighley", "halifax"}


def test_a_new_build_is_loaded_reading_again_only_the_plan_files_it_changed(
    folder: Path, tmp_path: Path, unfrozen: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    plans = tmp_path / "plans"  # the example plans in a git repository of their own
    shutil.copytree(PLANS, plans, ignore=shutil.ignore_patterns("schema", "*.md"))
    for command in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "plans"]):
        _git(plans, *command)
    live = Live(folder, plans, URL, lambda: NOW)
    choice = filtered.Choice(place=("leeds",))
    first = filtered.render(anyio.run(live.site).site, choice, "json")

    reads = Reads(plans, monkeypatch)
    _new_build(folder)  # the same plans: nothing is parsed again
    again = anyio.run(live.site).site
    assert _parsed_plans(reads, plans) == {}
    assert filtered.render(again, choice, "json") == first

    leeds = plans / "leeds-city-council.yaml"
    leeds.write_text(leeds.read_text().replace("title: ", "title: Revised ", 1))
    _git(plans, "commit", "-q", "-am", "a title reworded")
    reads = Reads(plans, monkeypatch)  # it knows the files by their text
    _new_build(folder)
    changed = anyio.run(live.site).site
    assert _parsed_plans(reads, plans) == {"leeds-city-council.yaml": 1}
    fresh, _ = load_site(plans, TODAY, URL)
    assert filtered.render(changed, choice, "json") == filtered.render(fresh, choice, "json")
    assert b"Revised " in filtered.render(changed, choice, "json")

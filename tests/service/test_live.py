"""The loaded plans kept out of the garbage collector's way (service/live.py): frozen while
they are served, and let go once a new build is loaded."""

from __future__ import annotations

import gc
import shutil
import weakref
from pathlib import Path

import anyio

from publisher.service import filtered
from publisher.service.live import Live
from tests.service.conftest import NOW, PLANS, Site


def test_a_new_build_lets_the_last_ones_plans_go(
    site: Site, tmp_path: Path, unfrozen: None
) -> None:
    folder = tmp_path / "site"
    shutil.copytree(site.folder, folder)
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
    data = folder / "all.json"  # a new build, as the build swaps files in
    new = folder / "all.json.new"
    new.write_bytes(data.read_bytes())
    new.replace(data)
    second = anyio.run(live.site)
    anyio.run(feed)
    assert second.site is not old()
    assert old() is None, "the last build's plans are collected, cycles and all, not kept frozen"

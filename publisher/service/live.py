"""The plans as the served site shows them, for filtered feeds and the subscribe page:
loaded again when a new build lands in the site folder, with what is rendered from them
kept until then.

A build that changes any opportunity replaces all.json, and a build for a new day replaces
build.json (the day it was built for, formats/data.py), so their inodes, sizes and mtimes
tell when to load again. Loading and rendering run in a worker thread, one at a time, so the
event loop keeps serving files meanwhile.

While the app runs (`Live.warm`, from its lifespan), a new build's plans are loaded in
the background: requests meanwhile are answered from the last build's, as their cache
headers already allow, rather than each waiting the seconds a load takes (4.6 s at 20,000
opportunities after one plan file changed, some 9 s on a new day). Health checks too. Only
the first load, and a load that failed, are waited for.

Once a new build is loaded, what readers asked for under the last one is made again in
the background, newest first (`Live.remake`), so that feed readers polling after a build
find their filtered feeds made rather than each waiting for its own in turn; until each is
made again, readers are given what was made under the last build (200 feeds take some 5 s
at 20,000: waiting for them, a reader's poll waited up to that long).

What they leave behind (the plans, each opportunity's feed items) lives until the next
build, so it is frozen out of Python's garbage collector (`gc.freeze`): a full collection
would otherwise walk millions of objects at 20,000 opportunities, holding up every request
for seconds, again and again as feeds are made. Once a new build is loaded, the last one's
plans are freed by their refcounts, and what is alive is frozen again. One full collection
(1.2 s at 20,000, every reply waiting) is made only when the last build's plans live on
after a while (held by a cycle), every `COLLECT_EVERY` loads for the small cycles they
leave, and at each load when nothing runs in the background (no lifespan: tests, tools).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import logging
import os
import re
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import anyio
import anyio.to_thread
from anyio.abc import TaskGroup

from publisher.formats import calendar_sequences, data, data_v1, memo
from publisher.model.read import PlansUnreadableError, load_site
from publisher.model.views import SiteData
from publisher.plans.dates import LONDON
from publisher.plans.load import paused_gc
from publisher.service import filtered
from publisher.service.conditional import Representation

Clock = Callable[[], dt.datetime]
Stamp = tuple[int, ...]
Recipe = tuple[Callable[[SiteData], bytes], str]  # how a kept rendering is made, its type
MB = 1024 * 1024
LINGER = 10.0  # seconds for requests under way to let the last build's plans go
# Small cycles a build's plans leave (some 500 objects at 20,000) are frozen with the next;
# every so many loads, a full collection frees them, so a long-running app does not grow.
COLLECT_EVERY = 16
T = TypeVar("T")
log = logging.getLogger(__name__)
KEPT_AS = "model-served"  # the app's own readings of plan files (the notify pass prunes its)
# The files whose replacement says a new build has landed: the day it was built for, and
# every opportunity (either may be kept, hard-linked, by a build that changed only the other).
_STAMPED = (data.BUILD_FILE, "all.json")
# Where the day the site was built for is said, first found first: build.json; else, in a
# site built before it existed, v1/all.json or all.json (JSON version 1) near their top.
# Filtered feeds use the same day, so that they say what the site's own feeds say.
_SAYING_THE_DAY = (data.BUILD_FILE, data_v1.PATH, "all.json")
_BUILT_FOR = re.compile(rb'"generated_for":\s*"(\d{4}-\d{2}-\d{2})"')


class PlansError(Exception):
    """The plans could not be read; the message says why, plainly."""


@dataclass(frozen=True)
class Loaded:
    site: SiteData
    stamp: Stamp | None  # build.json's and all.json's when loaded; None: no built site
    built: float | None  # when the served site was built (`Built.when`)


@dataclass(frozen=True)
class Built:
    """What the site folder says about the last build."""

    # the last time a build changed what it says: the newer of build.json (made each day)
    # and all.json (made when an opportunity changes); None: there is no built site
    when: dt.datetime | None
    today: dt.date | None  # the day it was built for


def _stamped(site_dir: Path | str) -> list[os.stat_result | None]:
    """What the files whose replacement says a new build has landed are (None: missing).
    (Asked on every request for a filtered feed: plain strings, not paths.)"""
    found: list[os.stat_result | None] = []
    for name in _STAMPED:
        try:
            found.append(os.stat(f"{site_dir}/{name}"))
        except OSError:
            found.append(None)
    return found


def last_build(site_dir: Path) -> Built:
    times = [info.st_mtime for info in _stamped(site_dir) if info is not None]
    if not times:
        return Built(None, None)
    return Built(dt.datetime.fromtimestamp(max(times), dt.UTC), built_for(site_dir))


def built_for(site_dir: Path) -> dt.date | None:
    """The day the site in `site_dir` was built for, from the first file that says it."""
    for name in _SAYING_THE_DAY:
        try:
            with (site_dir / name).open("rb") as file:
                head = file.read(4096)
        except OSError:
            continue
        found = _BUILT_FOR.search(head)
        if found is not None:
            try:
                return dt.date.fromisoformat(found.group(1).decode())
            except ValueError:
                continue
    return None


class Live:
    """The loaded plans and what has been rendered from them."""

    def __init__(
        self, site_dir: Path, plans: Path, base_url: str, clock: Clock, budget: int = 128 * MB
    ) -> None:
        self.site_dir = site_dir
        self._site_dir = str(site_dir)
        self.plans = plans
        self.base_url = base_url
        self.clock = clock
        self.budget = budget
        self.loaded: Loaded | None = None
        self.failed: tuple[Stamp | None, str] | None = None
        self._lock: anyio.Lock | None = None
        self._limiter: anyio.CapacityLimiter | None = None
        # what was made, by key, least recently asked for first, with how it was made
        self._rendered: OrderedDict[Hashable, tuple[Representation, Recipe]] = OrderedDict()
        self._making: dict[Hashable, anyio.Event] = {}  # renderings under way, by key
        self._held = 0
        # kept under the build before the one loaded, newest first: to make again (remake)
        self._again: list[tuple[Hashable, Recipe]] = []
        # what they were, given meanwhile while the app runs (`warm`), until each is made again
        self._stale: dict[Hashable, Representation] = {}
        self._reloaded: anyio.Event | None = None  # set when a new build is loaded
        self._background: TaskGroup | None = None  # where warm() loads new builds
        self._reloading = False  # a new build is being loaded in the background
        self._waited_for: Stamp | None = None  # a build whose background load went wrong
        self._loads = 0

    def stamp(self) -> Stamp | None:
        found: list[int] = []
        for info in _stamped(self._site_dir):
            if info is None:  # missing: a site built before build.json, or none
                found += (0, 0, 0)
            else:
                found += (info.st_ino, info.st_size, info.st_mtime_ns)
        return tuple(found) if any(found) else None

    @property
    def reloading(self) -> bool:
        """A new build is being loaded while the last one's plans are served."""
        return self._reloading

    async def site(self) -> Loaded:
        """The plans as of the served build; loaded again if a new build has landed: in
        the background while the app runs (the last build's are given meanwhile), else
        before this returns."""
        stamp = self.stamp()
        if self.loaded is not None and self.loaded.stamp == stamp:
            return self.loaded
        # (No reference to the last build's is held across the load: it is collected then.)
        if (
            self.loaded is not None
            and self._background is not None
            and (self.failed is None or self.failed[0] != stamp)
            and self._waited_for != stamp
        ):
            if not self._reloading:
                self._reloading = True
                self._background.start_soon(self._reload, stamp)
            return self.loaded
        return await self._load_now()

    async def _reload(self, stamp: Stamp | None) -> None:
        """Load a new build in the background. A failure to read the plans is kept (and
        said by what needs them); anything else is logged, and the next request for that
        build waits for its load, so it is told as it would be without a background."""
        try:
            await self._load_now()
        except PlansError:
            pass
        except Exception:
            log.exception("The new build's plans could not be loaded in the background")
            self._waited_for = stamp
        finally:
            self._reloading = False

    async def _load_now(self) -> Loaded:
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            stamp = self.stamp()
            if self.loaded is not None and self.loaded.stamp == stamp:
                return self.loaded
            if self.failed is not None and self.failed[0] == stamp:
                raise PlansError(self.failed[1])
            try:
                loaded = await self._in_thread(self._load, stamp)
            except PlansUnreadableError as error:
                self.failed = (stamp, str(error))
                raise PlansError(str(error)) from None
            last = weakref.ref(self.loaded.site) if self.loaded is not None else None
            # its feed items freed a piece at a time, after (in a list, so that nothing
            # here holds it once it is let go)
            replaced = [self.loaded.site] if self.loaded is not None else []
            self.loaded, self.failed = loaded, None
            again = [(key, kept[1]) for key, kept in reversed(self._rendered.items())]
            stale = {key: kept[0] for key, kept in self._rendered.items()}
            if self._background is not None:  # remade there (warm): given until then
                left = [(k, made) for k, made in self._again if k in self._stale and k not in stale]
                self._stale = {**{k: self._stale[k] for k, _ in left}, **stale}
                again += left
            self._again = again
            self._rendered.clear()
            self._held = 0
            if replaced:
                await self._in_thread(_forget_first, replaced)
            self._loads += 1
            collect = last is not None and (
                self._background is None or self._loads % COLLECT_EVERY == 0
            )
            if not collect and last is not None and last() is not None:
                # Held yet: by a request under way, or by a cycle. A full collection holds
                # the interpreter for a second or more at 20,000 (every reply waits), so it
                # is left for a while, and made only if the last build's plans live on (a
                # cycle only it frees).
                assert self._background is not None
                self._background.start_soon(self._collect_if_alive, last)
            await self._in_thread(_settle, collect)
            if self._again and self._reloaded is not None:
                self._reloaded.set()
            return loaded

    async def _collect_if_alive(self, last: weakref.ref[SiteData]) -> None:
        await anyio.sleep(LINGER)
        if last() is not None:
            await self._in_thread(_settle, True)

    async def warm(self) -> None:
        """Load the plans ahead of the first request that needs them (at start-up); then
        load each new build in the background when a request finds it (`site`), and once
        it is loaded, make again what was asked for under the last one (`remake`). Runs
        until cancelled (the app's lifespan)."""
        async with anyio.create_task_group() as background:
            self._background = background
            try:
                with contextlib.suppress(PlansError):  # said by the pages that need the plans
                    await self.site()
                while True:
                    self._reloaded = anyio.Event()
                    if not self._again:
                        await self._reloaded.wait()
                    await self.remake()
            finally:
                self._background = None

    async def remake(self) -> int:
        """Make again, newest first, what readers asked for under the build before the one
        loaded (their filtered feeds and pages), each as a request would (`rendered`: one
        being asked for meanwhile is made once), so that readers polling after a build find
        it made. Returns how many were made; another build landing meanwhile starts its
        own list."""
        done = 0
        while self._again:
            key, (make, content_type) = self._again.pop(0)
            try:
                if key in self._rendered:
                    continue  # asked for, and made, since the build was loaded
                await self.rendered(key, make, content_type, again=True)
            except PlansError:  # the plans cannot be read: said by the pages that need them
                self._again = []  # and nothing is made until a build that can be is loaded
                self._stale.clear()
                return done
            except Exception:  # a request for it would say; the rest are made
                log.info("Not made again after the new build: %r", key, exc_info=True)
                continue
            finally:
                self._stale.pop(key, None)  # made again, or asked for as a request would
            if key in self._rendered:  # kept as least recently used of those made again
                self._rendered.move_to_end(key, last=False)
            done += 1
        return done

    def _load(self, stamp: Stamp | None) -> Loaded:
        built = last_build(self.site_dir)
        today = built.today or self.clock().astimezone(LONDON).date()
        with paused_gc():  # the collector would walk all of it, only to find it alive
            # The plan files a build did not change are taken as the last load read them
            # (model/kept.py): 2.4 s instead of 7.2 s at 20,000 after one plan changed.
            site, _ = load_site(self.plans, today, self.base_url, reuse=True, kept_as=KEPT_AS)
            # The served calendars' SEQUENCE numbers, so filtered calendars give the same ones.
            site.sequences = calendar_sequences.read_sequences(self.site_dir / "all.ics")
            filtered.index_of(site)  # made here, off the event loop
            gc.freeze()
        return Loaded(site, stamp, built.when.timestamp() if built.when else None)

    async def _in_thread(self, work: Callable[..., T], *args: object) -> T:
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(1)
        return await anyio.to_thread.run_sync(work, *args, limiter=self._limiter)

    def current(self, key: Hashable) -> Representation | None:
        """What was made for `key` from the plans served now (the last build's while a new
        one loads in the background); None when it was not made, or a new build has landed
        that no request has told of yet (nothing is loaded or made)."""
        if self.loaded is None or (self.loaded.stamp != self.stamp() and not self._reloading):
            return None
        kept = self._rendered.get(key)
        return kept[0] if kept is not None else self._stale.get(key)

    async def rendered(
        self,
        key: Hashable,
        make: Callable[[SiteData], bytes],
        content_type: str,
        *,
        again: bool = False,
    ) -> tuple[Loaded, Representation]:
        """`make(site)` as a representation, made once per build and key: requests for a
        key being made wait for it rather than make it again, one after another. While the
        app runs, what was made for `key` under the last build is given until it is made
        again in the background (`remake`, which asks with `again`)."""
        loaded = await self.site()
        stale = None if again or key in self._rendered else self._stale.get(key)
        if stale is not None:
            return loaded, stale
        while (making := self._making.get(key)) is not None:
            await making.wait()
        kept = self._rendered.get(key)
        if kept is not None:
            self._rendered.move_to_end(key)
            return loaded, kept[0]
        self._making[key] = made = anyio.Event()
        try:  # the ETag's hash and the gzipped body of a large one take a while too
            rep = await self._in_thread(
                lambda: _settled(
                    Representation.of(make(loaded.site), content_type, loaded.built).pack()
                )
            )
        finally:
            del self._making[key]
            made.set()
        if self.loaded is loaded and rep.size <= self.budget // 4:
            self._rendered[key] = (rep, (make, content_type))
            self._held += rep.size
            while self._held > self.budget and self._rendered:
                _, (old, _) = self._rendered.popitem(last=False)
                self._held -= old.size
        return loaded, rep


def _forget_first(sites: list[SiteData]) -> None:
    """Free what was worked out for the first of `sites` (formats/memo.py) a piece at a
    time, then let go of it: freed with it, at once, it held every reply for 0.4 s."""
    memo.forget(sites[0])
    sites.pop(0)


def _settle(collect: bool) -> None:
    """Freeze what is alive now out of the garbage collector's way (see the module); with
    `collect`, first collect what was frozen and has died since in cycles (the last build's
    plans, when refcounts alone did not free them)."""
    if collect:
        gc.unfreeze()
        gc.collect()
    gc.freeze()


def _settled(made: T) -> T:
    """`made`, with what making it left alive (feed items kept for the build) frozen."""
    gc.freeze()
    return made

"""The build's work, in forked worker processes when there is enough of it: rendering plan
files (each file's notices, transparency page and OCDS package, and its opportunities'
parts, kept in the cache), and making the files put together from many opportunities
(big ones spliced from the last site where their members are unchanged)."""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import TypeGuard

from publisher.builder import cache, days, parts, splice
from publisher.builder.cache import Entry, Unit
from publisher.builder.parts import Kept
from publisher.builder.splice import Spans
from publisher.changes import last_good
from publisher.changes.history import History, Progress, Record
from publisher.changes.last_good import Held
from publisher.changes.wording import Names
from publisher.formats.base import Layout, Output, digest
from publisher.formats.registry import FORMATS
from publisher.model import changelog
from publisher.model.from_plan import commissioner_view
from publisher.model.read import file_views, read_published
from publisher.model.views import CommissionerView, OpportunityView, SiteData, day_facts
from publisher.plans import examples
from publisher.plans.check import PlanRead
from publisher.plans.errors import shown_as
from publisher.plans.load import paused_gc
from publisher.plans.model import Opportunity
from publisher.plans.reference import Reference
from publisher.text import slots
from publisher.workers import may_fork

PARALLEL_FROM = 500  # opportunities; below this, starting processes costs more than it saves
PARALLEL_FILES = 16  # plan files to read and render


def write(folder: Path, path: str, content: bytes | str) -> None:
    """Write a new file of the site (its folder made only when missing: a build writes
    some 20,000 files)."""
    target = f"{folder}/{path}"
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        file = open(target, "xb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        file = open(target, "xb")  # noqa: SIM115
    except FileExistsError:
        # Written already (two plans share an id), or linked from the last site: replace
        # it, never write through a link into the site being served.
        discard(target)
        file = open(target, "xb")  # noqa: SIM115
    with file:
        file.write(data)


# Building into the spare (spare.py): its files that are the last site's own already,
# whether a file found in the way is the spare's own, older, to be replaced, and where
# replaced files go. Set by the build before workers fork.
_same: frozenset[str] = frozenset()
_replacing = False
_trash: str | None = None
_discarded = itertools.count()


def into_spare(same: frozenset[str] | None, trash: Path | None = None) -> None:
    """Link into the spare from now on (`same`: its files the last site's own), or, with
    None, into an empty folder; files replaced go to `trash` (a folder, made here)."""
    global _same, _replacing, _trash  # noqa: PLW0603 - read by forked workers
    _same, _replacing = same or frozenset(), same is not None
    _trash = None
    if trash is not None:
        trash.mkdir(exist_ok=True)
        _trash = str(trash)


def discard(target: str) -> None:
    """Take the file at `target` out of the site being built. Moved to the trash when there
    is one, to be removed in the background: removing the spare's older copy of a big
    list, feed or calendar (its last link) frees its blocks, some 1.5 ms a file, and a
    build after a day of changes replaced 7,000 of them (11 s)."""
    if _trash is None:
        os.unlink(target)
        return
    os.rename(target, f"{_trash}/{os.getpid()}-{next(_discarded)}")


def link(old: Path, new: Path, path: str) -> bool:
    """Give the new site last build's file at `path`; False when it is not there. (Plain
    strings and folders made only when missing: a build links some 20,000 files.)"""
    if path in _same:
        return True  # the spare's file is the last site's already
    source, target = f"{old}/{path}", f"{new}/{path}"
    try:
        os.link(source, target)
    except FileExistsError:
        if not _replacing:
            return True
        discard(target)  # the spare's own, older
        return link(old, new, path)
    except FileNotFoundError:
        if not os.path.exists(source):
            return False
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.link(source, target)
    return True


def open_entry(folder: Path, name: str, entry: Entry) -> bool:
    """Make an entry's fragments readable; False when its store is missing or damaged."""
    return not entry.parts or parts.open_store(name, cache.store_path(folder, name), entry.bounds)


def give(
    old: Path, new: Path, paths: Iterable[str], slotted: dict[str, bytes], today: dt.date | None
) -> list[str] | None:
    """Give the new site every one of `paths` from the last one, or none: a file missing
    from the old site means its plan file is rendered again, and a link left behind would
    be written through. Each is linked, or, with `today` (the old site was filled in for
    another day), written from its slots in `slotted` filled for `today` (text/slots.py).
    Returns those linked; None when one was missing (and nothing is given)."""
    given: list[str] = []
    linked: list[str] = []
    for path in paths:
        kept = slotted.get(path)
        if kept is not None and today is not None:
            write(new, path, slots.fill(kept, today))
        elif link(old, new, path):
            linked.append(path)
        else:
            for done in given:
                (new / done).unlink(missing_ok=True)
            return None
        given.append(path)
    return linked


# --- a plan file at a time -----------------------------------------------------------------


@dataclass
class Context:
    """What rendering any plan file needs; forked workers share it."""

    site: SiteData  # the site-wide inputs: no opportunities or commissioners
    reference: Reference
    history: History
    names: Names
    withdrawn: dict[str, dict[str, Record]]  # by commissioner id
    staging: Path
    cache: Path
    out: Path  # the last site
    # each plan file to render: its path, as shown, its entry's name, and the entry that
    # made the last site from the same file on another day (Earlier), if any
    tasks: list[tuple[Path, str, str, str | None]] = field(default_factory=list)
    # each plan file's bytes as read when its entry was named: what is rendered is what
    # was named, even if the file changes during the build
    raw: dict[Path, bytes] = field(default_factory=dict)


_context: Context | None = None  # handed to forked workers


def derive(ctx: Context, **changes: object) -> SiteData:
    """A site like the context's, with `changes`."""
    return replace(ctx.site, **changes)  # type: ignore[arg-type]


def render_file(
    ctx: Context, path: Path, shown: str, name: str, previous: str | None = None
) -> Entry:
    """Write a plan file's notices, transparency page and OCDS package into the staging
    site, and its parts' fragments into the store `name`; return the rest of its parts.
    A file with errors is reported, and its last good version published instead (or,
    without one, it is left out). `previous`: the entry that made the last site from the
    same file, another day; each opportunity that reads the same today is taken from it
    (its notice from the last site, its parts from that entry's store), not rendered."""
    with days.watching() as rule:
        entry = _render_file(ctx, path, shown, name, previous)
    entry.days = rule()
    return entry


def _render_file(ctx: Context, path: Path, shown: str, name: str, previous: str | None) -> Entry:
    raw = ctx.raw.get(path)
    today = days.Day(ctx.site.today)  # what is read of it is noted, to key the entry
    earlier = Earlier.of(ctx, previous)
    # The rules that read the day give only warnings (plans/rules.py), which a build does
    # not show: the file is read as of the plain day, and read once for every day its
    # bytes are the same (an example plan's dates move with the day: it is read each day).
    if earlier.read is not None and previous is not None:
        read, held = earlier.read
        read = replace(read, file=shown, problems=shown_as(read.problems, read.file, shown))
        cache.share_read(ctx.cache, previous, name)
    else:
        read, held = read_published(path, shown, ctx.reference, ctx.site.today, raw, ctx.cache)
        if read.shift is None and not read.has_errors:
            cache.save_read(ctx.cache, name, (replace(read, document=None), held))
    if read.header is not None:
        examples.shift_for(read.header, today)  # noted: how far an example plan moves
    if read.header is None or (read.has_errors and held is None):
        return Entry(shown, read.problems, None)
    if held is None and raw is not None:
        last_good.keep(ctx.cache, path.name, raw, ctx.site.today)
    commissioner = commissioner_view(read.header, path.name, held)
    site = derive(ctx, opportunities=[], commissioners=[commissioner], today=today)
    until = held.when if held is not None else None
    shift = repr(read.shift)
    files: list[str] = []
    slotted: dict[str, bytes] = {}
    linked: list[str] = []
    made: list[parts.Parts | Kept] = []
    units: dict[str, Unit] = {}
    views: dict[str, OpportunityView] = {}  # made only where needed

    def view_of(pair: tuple[int, Opportunity]) -> OpportunityView:
        one = replace(read, opportunities=[pair])
        [view] = file_views(site, commissioner, one, ctx.history, ctx.names, until)
        return view

    # Each opportunity on its own: taken from the earlier entry when it reads the same
    # today (its view is then not even made), else its view, notice and parts made, and
    # what they read of the day noted for it alone.
    pairs = [(f"{commissioner.id}/{pair[1].id}", pair) for pair in read.opportunities]
    for uid, pair in pairs:
        found = earlier.units.get(uid)
        if found is not None and earlier.take(ctx, found[0], shift, slotted, linked):
            unit, part = found
            days.note(unit.rule)  # the file reads what its opportunity read
            made.append(part)
        else:
            with days.watching() as own:
                view = views[uid] = view_of(pair)
                these = _write_view_files(ctx, site, view, slotted, linked)
                made.append(parts.of(site, view))
            rule = own()
            basis = digest(day_facts(view))
            unit = Unit(rule, rule.sign(ctx.site.today), tuple(these), shift, basis)
        files += unit.files
        units[uid] = unit
    gone = ctx.withdrawn.get(commissioner.id)
    bases = [units[uid].basis + uid.encode() for uid in units]
    if gone:  # taken out of the plan: made every time
        for view in changelog.withdrawn_views(site, ctx.history, ctx.names, gone):
            views[view.uid] = view
            files += _write_view_files(ctx, site, view, slotted)
            made.append(parts.of(site, view))
            bases.append(digest(day_facts(view)) + view.uid.encode())
    # The files made from every opportunity: taken when every view says what it said when
    # they were made (an opportunity made again today may not: its notice may read
    # differently, its view the same) and they read the same today; else made from every
    # view.
    basis = digest(*sorted(bases))
    whole = earlier.whole
    if (
        whole is None
        or whole.basis != basis
        or not earlier.take(ctx, whole, shift, slotted, linked)
    ):
        for uid, pair in pairs:  # each view's reading of the day is noted for the file
            if uid not in views:
                views[uid] = view_of(pair)
        with days.watching() as own:  # what the files read of the day besides
            ordered = sorted(views.values(), key=lambda view: view.sort_key())
            everything = derive(
                ctx, opportunities=ordered, commissioners=[commissioner], today=today
            )
            these = write_plan_files(ctx, everything, commissioner, ordered, slotted, linked)
        rule = own()
        whole = Unit(rule, rule.sign(ctx.site.today), tuple(these), shift, basis)
    else:
        days.note(whole.rule)
    files += whole.files
    made.sort(key=lambda one: one.sort_key)
    kept_parts, blob, bounds = parts.keep(made, name)
    if slots.left_in(blob):  # lists and feeds carry parts as kept: never a slot
        raise RuntimeError(f"a count of days was kept as a slot in the parts of {shown}")
    cache.save_store(ctx.cache, name, blob)
    return Entry(
        shown, read.problems, commissioner, kept_parts, files, bounds, slotted=slotted,
        units=units, whole=whole, linked=linked,
    )  # fmt: skip


@dataclass
class Earlier:
    """What the entry that made the last site from a plan file kept: each opportunity's
    unit and parts (the entry's store open), the file's whole unit, its files with slots
    and the file as read."""

    units: dict[str, tuple[Unit, Kept]] = field(default_factory=dict)
    slotted: dict[str, bytes] = field(default_factory=dict)
    read: tuple[PlanRead, Held | None] | None = None  # the plan file as it read it
    whole: Unit | None = None  # the files it made from all its opportunities

    @classmethod
    def of(cls, ctx: Context, name: str | None) -> Earlier:
        if name is None:
            return cls()
        found = cache.load_read(ctx.cache, name)
        read = found if _is_read(found) else None
        entry = cache.load_entry(ctx.cache, name)
        if entry is None or not entry.units or not open_entry(ctx.cache, name, entry):
            return cls(read=read)
        by_uid = {part.uid: part for part in entry.parts}
        units = {uid: (unit, by_uid[uid]) for uid, unit in entry.units.items() if uid in by_uid}
        return cls(units, entry.slotted, read, entry.whole)

    def take(
        self,
        ctx: Context,
        unit: Unit,
        shift: str,
        slotted: dict[str, bytes],
        linked: list[str],
    ) -> bool:
        """Give the staging site `unit`'s files when it reads the same today as when it was
        made: linked from the last site (noted in `linked`), or filled again from their
        slots. False (and nothing given) when it reads differently, or a file is missing."""
        if unit.shift != shift or unit.rule.sign(ctx.site.today) != unit.sign:
            return False
        these = give(ctx.out, ctx.staging, unit.files, self.slotted, ctx.site.today)
        if these is None:
            return False
        slotted.update((path, self.slotted[path]) for path in unit.files if path in self.slotted)
        linked += these
        return True


def _is_read(found: object) -> TypeGuard[tuple[PlanRead, Held | None]]:
    return (
        isinstance(found, tuple)
        and len(found) == 2
        and isinstance(found[0], PlanRead)
        and (found[1] is None or isinstance(found[1], Held))
    )


def _write_view_files(
    ctx: Context,
    site: SiteData,
    view: OpportunityView,
    slotted: dict[str, bytes],
    linked: list[str] | None = None,
) -> list[str]:
    """Write every format's files of one opportunity; return their paths."""
    return _write(ctx, (one.view_files(site, view) for one in FORMATS), slotted, linked)


def write_plan_files(
    ctx: Context,
    site: SiteData,
    commissioner: CommissionerView | None,
    views: list[OpportunityView],
    slotted: dict[str, bytes],
    linked: list[str] | None = None,
) -> list[str]:
    """Write every format's files of one plan file as a whole (not its opportunities')
    into the staging site; return their paths."""
    made = (one.plan_files(site, commissioner, views) for one in FORMATS)
    return _write(ctx, made, slotted, linked)


def _write(
    ctx: Context,
    made: Iterator[Iterator[tuple[str, bytes | str]]],
    slotted: dict[str, bytes],
    linked: list[str] | None = None,
) -> list[str]:
    """Write files into the staging site, their counts of days filled in; keep in `slotted`
    those with counts as rendered, with slots (text/slots.py), so that another day's build
    fills them again instead of rendering them. A file that reads as the last site's does
    is linked from there instead, and named in `linked` (a plan file read again on a new
    day makes its commissioner's OCDS package again, the same: 60 MB a day shaped like
    England)."""
    written = []
    today = ctx.site.today  # plain: what is filled in is not watched, and not kept
    with slots.held():
        for files in made:
            for path, content in files:
                data = content.encode("utf-8") if isinstance(content, str) else content
                if slots.MARK in data:
                    slotted[path] = data
                    data = slots.fill(data, today)
                if linked is not None and _link_if_same(ctx.out, ctx.staging, path, data):
                    linked.append(path)
                else:
                    write(ctx.staging, path, data)
                written.append(path)
    return written


def _link_if_same(old: Path, new: Path, path: str, data: bytes) -> bool:
    """Give the new site the old site's file at `path` when it holds `data` (read only when
    it is as long), as `write` would give it `data`; False when it does not (or cannot)."""
    source, target = f"{old}/{path}", f"{new}/{path}"
    try:
        with open(source, "rb") as file:
            if os.fstat(file.fileno()).st_size != len(data) or file.read() != data:
                return False
        try:
            os.link(source, target)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.link(source, target)
        except FileExistsError:
            if os.path.samefile(source, target):
                return True  # the spare's file is the old site's already
            discard(target)  # written already (two plans share an id), or the spare's own
            os.link(source, target)
    except OSError:
        return False
    return True


def orphans(ctx: Context, bodies: set[str]) -> tuple[list[Kept], list[str]]:
    """Opportunities taken out of plans whose commissioner has no plan file published any
    more: their notices stay, saying so. Returns their parts and files."""
    records = {
        key: record
        for body, found in ctx.withdrawn.items()
        if body not in bodies
        for key, record in found.items()
    }
    if not records:
        return [], []
    site = derive(ctx, opportunities=[], commissioners=[])
    views = changelog.withdrawn_views(site, ctx.history, ctx.names, records)
    site.opportunities = views
    slotted: dict[str, bytes] = {}  # made every build: nothing to fill again
    files = [path for view in views for path in _write_view_files(ctx, site, view, slotted)]
    files += write_plan_files(ctx, site, None, views, slotted)
    kept, blob, bounds = parts.keep([parts.of(site, view) for view in views], "orphans")
    parts.register("orphans", blob, bounds)  # in memory: they are made every build
    return kept, files


def _render_task(index: int) -> bytes:
    """In a worker, or here: render one plan file, keep its entry, and return it packed."""
    assert _context is not None
    path, shown, name, previous = _context.tasks[index]
    with paused_gc():
        blob = cache.pack(render_file(_context, path, shown, name, previous))
    cache.save_entry(_context.cache, name, blob)
    return blob


def render_files(ctx: Context, workers: int, progress: Progress | None) -> list[Entry]:
    """Render every task's plan file, in forked workers when there are enough."""
    global _context  # noqa: PLW0603 - handed to the forked workers
    _context = ctx
    total = len(ctx.tasks)
    entries: list[Entry] = []
    try:
        if may_fork(workers, total, PARALLEL_FILES):
            with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
                for blob in pool.map(_render_task, range(total)):
                    entries.append(cache.unpack(blob))
                    _tell(progress, len(entries), total, "Reading plans and writing notices")
        else:
            for index in range(total):
                entries.append(cache.unpack(_render_task(index)))
                _tell(progress, len(entries), total, "Reading plans and writing notices")
    finally:
        _context = None
    return entries


def _tell(progress: Progress | None, done: int, total: int, what: str) -> None:
    if progress is not None and (done % 20 == 0 or done == total):
        progress(done, total, what)


# --- the files made from many opportunities ------------------------------------------------


@dataclass(frozen=True)
class Making:
    """What making the files from many opportunities needs besides them: each file's key
    from what it read of the day (`key_of`), the cache where big files' spans are kept,
    and the site being replaced (`last`: a big file is spliced from its copy there), with
    its files' keys and the big ones whose spans were kept."""

    key_of: Callable[[Output, days.Rule], bytes]
    cache: Path
    last: Path | None = None
    keys: dict[str, bytes] = field(default_factory=dict)
    spanned: frozenset[str] = frozenset()

    def spans(self, path: str) -> Spans | None:
        """Where the members of the last site's file at `path` are, if that was kept."""
        if self.last is None or path not in self.spanned:
            return None
        return cache.load_spans(self.cache, path, self.keys[path])


_outputs: list[Output] = []  # handed to forked workers: what is still to be made
_folder: Path | None = None
_making: Making | None = None


def _make_at(indices: list[int]) -> list[tuple[int, bytes, days.Rule, bool]]:
    """Make the outputs at `indices`; a big one's members are copied from the last site
    where they are unchanged, and where they are now kept for the next build. Returns
    each one's key, what it read of the day, and whether it is a big one."""
    assert _folder is not None and _making is not None
    out: list[tuple[int, bytes, days.Rule, bool]] = []
    with paused_gc():
        for index in indices:
            output = _outputs[index]
            with days.watching() as read:  # a Layout's members are made as they are written
                where = _make_one(output, _folder, _making)
            rule = read()
            key = _making.key_of(output, rule)
            if where is not None:
                cache.save_spans(_making.cache, output.path, key, where)
            before = _making.keys.get(output.path)
            if output.path in _making.spanned and before is not None and before != key:
                cache.drop_spans(_making.cache, output.path, before)  # it is made again
            out.append((index, key, rule, where is not None))
    return out


def _make_one(output: Output, folder: Path, making: Making) -> Spans | None:
    made = output.make()
    if not isinstance(made, Layout):
        write(folder, output.path, made)
        return None
    target = folder / output.path
    target.parent.mkdir(parents=True, exist_ok=True)
    if _replacing and target.exists():  # the spare's (spare.py): never written through
        discard(str(target))
    spans = making.spans(output.path)
    old = str(making.last / output.path) if making.last is not None and spans else None
    return splice.write(str(target), made, old, spans)


def make_all(
    outputs: list[Output],
    folder: Path,
    making: Making,
    workers: int,
    progress: Progress | None,
) -> tuple[dict[str, bytes], dict[str, days.Rule], set[str]]:
    """Make `outputs` in `folder`, the largest first in forked workers when there are
    enough, so the workers finish together. Returns each one's key and what it read of
    the day, and the big ones (whose members' places are kept)."""
    global _outputs, _folder, _making
    order = sorted(range(len(outputs)), key=lambda i: (-outputs[i].size, outputs[i].path))
    _outputs, _folder, _making = outputs, folder, making
    keys: dict[str, bytes] = {}
    rules: dict[str, days.Rule] = {}
    spanned: set[str] = set()
    try:
        work = sum(output.size for output in outputs)
        if may_fork(workers, work, PARALLEL_FROM) and len(outputs) > 1:
            with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
                for made in pool.map(_make_at, [[i] for i in order], chunksize=4):
                    _keep(keys, rules, spanned, outputs, made)
                    _tell(progress, len(keys), len(outputs), "Writing lists, feeds and calendars")
        else:
            for index in order:
                _keep(keys, rules, spanned, outputs, _make_at([index]))
                _tell(progress, len(keys), len(outputs), "Writing lists, feeds and calendars")
    finally:
        _outputs, _folder, _making = [], None, None
    return keys, rules, spanned


def _keep(
    keys: dict[str, bytes],
    rules: dict[str, days.Rule],
    spanned: set[str],
    outputs: list[Output],
    made: list[tuple[int, bytes, days.Rule, bool]],
) -> None:
    for index, key, rule, big in made:
        path = outputs[index].path
        keys[path], rules[path] = key, days.shared(rule)
        if big:
            spanned.add(path)

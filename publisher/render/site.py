"""Build the static site from the plans, and swap the new site in whole, so readers never
see half a site and a failed build leaves the last good one.

A build goes a plan file at a time (in worker processes for a large site): it writes the
file's notices, its commissioner's transparency page and OCDS package, and keeps each
opportunity's parts (parts.py). The files made from many opportunities (lists, feeds,
calendars, data files, the site-wide packages) are then put together from the parts
(assemble.py). Parts are kept beside the site (cache.py), so the next build reads and
renders only the plan files that changed, links every file whose inputs did not change from
the site it replaces, and makes again only the collections whose members changed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import datetime as dt
import os
import shutil
import subprocess
import zoneinfo
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path

from publisher.changes.history import History, Record, read_history
from publisher.changes.wording import Names
from publisher.plans.check import PlanRead, display_path, load_reference, read_plan
from publisher.plans.errors import Problem, Severity
from publisher.plans.load import commissioner_of, load, paused_gc
from publisher.plans.model import ChannelFile, Organisation
from publisher.plans.reference import (
    PLACES_FILE,
    THEMES_FILE,
    Places,
    Reference,
    channel_files,
    load_glossary,
)
from publisher.plans.validate import validate
from publisher.render import assemble, cache, calendar, changelog, ocds, pages, parts, splice
from publisher.render.assemble import Output
from publisher.render.cache import Entry, Manifest
from publisher.render.parts import Kept
from publisher.render.splice import Layout, Spans
from publisher.render.views import (
    CommissionerView,
    OpportunityView,
    SiteData,
    commissioner_view,
    view_in,
)
from publisher.workers import may_fork

LONDON = zoneinfo.ZoneInfo("Europe/London")
Progress = Callable[[int, int, str], None]  # done, total, what is being done (plain words)


class BuildError(Exception):
    """The site could not be built; the previous site is left as it was."""


@dataclass
class BuildReport:
    out: Path
    files: int = 0
    opportunities: int = 0
    problems: list[Problem] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    history_note: str | None = None  # why there is no history from git, or only some

    @property
    def errors(self) -> int:
        return sum(1 for p in self.problems if p.severity is Severity.ERROR)


def plan_files(plans: Path) -> list[Path]:
    return sorted(
        p
        for p in plans.iterdir()
        if p.suffix in (".yaml", ".yml")
        and p.name not in (PLACES_FILE, THEMES_FILE)
        and not p.name.startswith(".")
        and p.is_file()
    )


def _organisations(plans: Path) -> dict[str, Organisation]:
    out: dict[str, Organisation] = {}
    for path in channel_files(plans):
        document, _ = load(path, path.name)
        if document is None:
            continue
        channels, _ = validate(ChannelFile, document.data)
        if channels is not None:
            out[channels.organisation.id] = channels.organisation
    return dict(sorted(out.items()))


def load_site(
    plans: Path,
    today: dt.date,
    base_url: str = "http://localhost:8000/",
    progress: Progress | None = None,
) -> tuple[SiteData, list[Problem]]:
    """Read every plan under `plans` into the views the site is rendered from (for the
    service's own pages and the notify pass; `build` goes a plan file at a time).

    A plan file with errors is reported and left out; the others are still published.
    """
    start = _start(plans, today, base_url, progress)
    site, history = start.site, start.history
    problems: list[Problem] = []
    with paused_gc():
        for done, path in enumerate(start.files, start=1):
            if progress is not None and (done % 20 == 0 or done == len(start.files)):
                progress(done, len(start.files), "Reading plans")
            read = read_plan(path, display_path(path), start.reference, None, today)
            problems += read.problems
            if read.has_errors or read.header is None:
                site.skipped.append(read.file)
                continue
            commissioner = commissioner_view(read.header, read.file)
            site.commissioners.append(commissioner)
            site.opportunities += file_views(site, commissioner, read, history, start.names)
        site.opportunities += changelog.withdrawn_views(site, history, start.names)
    site.opportunities.sort(key=lambda view: view.sort_key())
    site.commissioners.sort(key=lambda c: c.id)
    return site, problems


@dataclass
class _Start:
    """What a build or a read knows before any plan file is read."""

    site: SiteData  # no opportunities or commissioners yet
    reference: Reference
    history: History
    names: Names
    files: list[Path]


def _start(plans: Path, today: dt.date, base_url: str, progress: Progress | None) -> _Start:
    glossary = load_glossary()
    reference = load_reference(plans, glossary)
    if reference.places is None or reference.themes is None:
        raise BuildError(
            f"{display_path(plans / PLACES_FILE)} or {display_path(plans / THEMES_FILE)} is "
            "missing or has errors; run 'publisher check' to see what is wrong."
        )
    history = read_history(plans, progress)
    site = SiteData(
        [], [], reference.places, reference.themes, glossary, _organisations(plans), today,
        base_url,
    )  # fmt: skip
    site.history_note = history.note
    return _Start(site, reference, history, changelog.site_names(site), plan_files(plans))


def file_views(
    site: SiteData, commissioner: CommissionerView, read: PlanRead, history: History, names: Names
) -> list[OpportunityView]:
    """The views of a plan file's opportunities, with what git tells of each."""
    out = []
    for _, item in read.opportunities:
        key = f"{commissioner.id}/{item.id}"
        out.append(
            view_in(site, commissioner, item, changelog.history_of(history, key, item, names))
        )
    return out


def _write(folder: Path, path: str, content: bytes | str) -> None:
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
        os.unlink(target)
        file = open(target, "xb")  # noqa: SIM115
    with file:
        file.write(data)


def _link(old: Path, new: Path, path: str) -> bool:
    """Give the new site last build's file at `path`; False when it is not there. (Plain
    strings and folders made only when missing: a build links some 20,000 files.)"""
    source, target = f"{old}/{path}", f"{new}/{path}"
    try:
        os.link(source, target)
    except FileExistsError:
        return True
    except FileNotFoundError:
        if not os.path.exists(source):
            return False
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.link(source, target)
    return True


def _open(folder: Path, name: str, entry: Entry) -> bool:
    """Make an entry's fragments readable; False when its store is missing or damaged."""
    return not entry.parts or parts.open_store(name, cache.store_path(folder, name), entry.bounds)


def _link_all(old: Path, new: Path, paths: list[str]) -> bool:
    """Link every one of `paths`, or none: a file missing from the old site means its plan
    file is rendered again, and a link left behind would be written through."""
    linked: list[str] = []
    for path in paths:
        if not _link(old, new, path):
            for done in linked:
                (new / done).unlink(missing_ok=True)
            return False
        linked.append(path)
    return True


# --- a plan file at a time -----------------------------------------------------------------


@dataclass
class _Context:
    """What rendering any plan file needs; forked workers share it."""

    site: SiteData  # the site-wide inputs: no opportunities or commissioners
    prefix: str  # the OCDS ocid prefix
    reference: Reference
    history: History
    names: Names
    withdrawn: dict[str, dict[str, Record]]  # by commissioner id
    staging: Path
    cache: Path
    tasks: list[tuple[Path, str, str]] = field(default_factory=list)  # path, shown, entry


_context: _Context | None = None  # handed to forked workers


def _derive(ctx: _Context, **changes: object) -> SiteData:
    """A site like the context's, with `changes`, publishing under the same ocid prefix."""
    site = replace(ctx.site, **changes)  # type: ignore[arg-type]
    ocds.use_prefix(site, ctx.prefix)
    return site


def render_file(ctx: _Context, path: Path, shown: str, name: str) -> Entry:
    """Write a plan file's notices, transparency page and OCDS package into the staging
    site, and its parts' fragments into the store `name`; return the rest of its parts.
    A file with errors is reported and left out."""
    read = read_plan(path, shown, ctx.reference, None, ctx.site.today)
    if read.has_errors or read.header is None:
        return Entry(shown, read.problems, None)
    commissioner = commissioner_view(read.header, read.file)
    site = _derive(ctx, opportunities=[], commissioners=[commissioner])
    views = file_views(site, commissioner, read, ctx.history, ctx.names)
    site.opportunities = views
    gone = ctx.withdrawn.get(commissioner.id)
    if gone:
        views += changelog.withdrawn_views(site, ctx.history, ctx.names, gone)
    views.sort(key=lambda view: view.sort_key())
    site.opportunities = views
    files = [view.url for view in views]
    for view in views:
        _write(ctx.staging, view.url, pages.notice(site, view))
    own = f"transparency/{commissioner.id}.html"
    _write(ctx.staging, own, pages.transparency(site, commissioner))
    files.append(own)
    if views:
        package = f"ocds/{commissioner.id}.json"
        made = ocds.made_for(site, views)
        _write(ctx.staging, package, ocds.package_text(site, made, package, commissioner))
        files.append(package)
    kept, blob, bounds = parts.keep([parts.of(site, v) for v in views], name)
    cache.save_store(ctx.cache, name, blob)
    return Entry(shown, read.problems, commissioner, kept, files, bounds)


def _orphans(ctx: _Context, bodies: set[str]) -> tuple[list[Kept], int]:
    """Opportunities taken out of plans whose commissioner has no plan file published any
    more: their notices stay, saying so. Returns their parts and how many files."""
    records = {
        key: record
        for body, found in ctx.withdrawn.items()
        if body not in bodies
        for key, record in found.items()
    }
    if not records:
        return [], 0
    site = _derive(ctx, opportunities=[], commissioners=[])
    views = changelog.withdrawn_views(site, ctx.history, ctx.names, records)
    site.opportunities = views
    for view in views:
        _write(ctx.staging, view.url, pages.notice(site, view))
    kept, blob, bounds = parts.keep([parts.of(site, view) for view in views], "orphans")
    parts.register("orphans", blob, bounds)  # in memory: they are made every build
    return kept, len(views)


def _render_task(index: int) -> bytes:
    """In a worker, or here: render one plan file, keep its entry, and return it packed."""
    assert _context is not None
    path, shown, name = _context.tasks[index]
    with paused_gc():
        blob = cache.pack(render_file(_context, path, shown, name))
    cache.save_entry(_context.cache, name, blob)
    return blob


def _render_files(ctx: _Context, workers: int, progress: Progress | None) -> list[Entry]:
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

_outputs: list[Output] = []  # handed to forked workers: what is still to be made
_folder: Path | None = None
_last: tuple[Path, dict[str, Spans]] | None = None  # the site replaced, and its spans


def _make_at(indices: list[int]) -> list[tuple[int, Spans | None]]:
    """Make the outputs at `indices`; a big one's members are copied from the last site
    where they are unchanged. Returns where the members of each big one are."""
    assert _folder is not None
    out: list[tuple[int, Spans | None]] = []
    with paused_gc():
        for index in indices:
            output = _outputs[index]
            made = output.make()
            if not isinstance(made, Layout):
                _write(_folder, output.path, made)
                out.append((index, None))
                continue
            target = _folder / output.path
            target.parent.mkdir(parents=True, exist_ok=True)
            old, spans = None, None
            if _last is not None and output.path in _last[1]:
                old, spans = str(_last[0] / output.path), _last[1][output.path]
            out.append((index, splice.write(str(target), made, old, spans)))
    return out


def _make_all(
    outputs: list[Output],
    folder: Path,
    last: tuple[Path, dict[str, Spans]] | None,
    workers: int,
    progress: Progress | None,
) -> dict[str, Spans]:
    """Make `outputs` in `folder`, the largest first in forked workers when there are
    enough, so the workers finish together; `last` is the site being replaced and where
    its big files' members are. Returns where the new big files' members are."""
    global _outputs, _folder, _last
    order = sorted(range(len(outputs)), key=lambda i: (-outputs[i].size, outputs[i].path))
    _outputs, _folder, _last = outputs, folder, last
    spans: dict[str, Spans | None] = {}
    try:
        work = sum(output.size for output in outputs)
        if may_fork(workers, work, PARALLEL_FROM) and len(outputs) > 1:
            with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
                for made in pool.map(_make_at, [[i] for i in order], chunksize=4):
                    _keep(spans, outputs, made)
                    _tell(progress, len(spans), len(outputs), "Writing lists, feeds and calendars")
        else:
            for index in order:
                _keep(spans, outputs, _make_at([index]))
                _tell(progress, len(spans), len(outputs), "Writing lists, feeds and calendars")
    finally:
        _outputs, _folder, _last = [], None, None
    return {path: found for path, found in spans.items() if found is not None}


def _keep(
    spans: dict[str, Spans | None], outputs: list[Output], made: list[tuple[int, Spans | None]]
) -> None:
    for index, found in made:
        spans[outputs[index].path] = found


# --- the build -----------------------------------------------------------------------------

PARALLEL_FROM = 500  # opportunities; below this, starting processes costs more than it saves
PARALLEL_FILES = 16  # plan files to read and render


def _history_digests(history: History) -> dict[str, bytes]:
    """For each commissioner, a digest of what git tells of its opportunities: when it
    changes, its plan file's notices and parts are made again."""
    lines: dict[str, list[str]] = {}
    for key, record in history.records.items():
        last = record.events[-1].id if record.events else None
        stamp = (record.first_published, len(record.events), last, record.withdrawn)
        kept = cache.digest(record.last).hex() if record.last and record.withdrawn else None
        lines.setdefault(key.split("/", 1)[0], []).append(
            f"{key} {stamp} {len(record.versions)} {kept}"
        )
    return {body: cache.digest(*sorted(found)) for body, found in lines.items()}


def _reference_bytes(plans: Path) -> bytes:
    """The files every page may draw on: places, themes and channels."""
    found = [plans / PLACES_FILE, plans / THEMES_FILE, *channel_files(plans)]
    return cache.digest(*(f"{p.name}\0".encode() + _read_or_empty(p) for p in found))


def _read_or_empty(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""  # the read that matters reports it


def build(
    plans: Path,
    out: Path,
    *,
    today: dt.date,
    base_url: str = "http://localhost:8000/",
    progress: Progress | None = None,
    workers: int | None = None,
    ocid_prefix: str | None = None,  # None: $PUBLISHER_OCID_PREFIX, else a placeholder
) -> BuildReport:
    """Build the site from `plans` into `out`, atomically, reusing what the last build made
    where nothing it was made from has changed."""
    workers = workers if workers is not None else (os.cpu_count() or 1)
    start = _start(plans, today, base_url, progress)
    site = start.site
    if (wrong := ocds.use_prefix(site, ocid_prefix)) is not None:
        raise BuildError(f"{wrong}.")
    raw = {path: _read_or_empty(path) for path in start.files}
    heads = {path: commissioner_of(text) for path, text in raw.items()}
    site.commissioner_names = tuple(sorted({head[1] for head in heads.values() if head}))
    prefix = ocds.site_prefix(site)
    base = cache.digest(
        cache.code_digest(), _reference_bytes(plans), today.isoformat(), base_url, prefix,
        repr(site.commissioner_names),
    )  # fmt: skip
    names = _entry_names(start, base, raw, heads)
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(out)
    folder = cache.folder_for(out)
    cache.keep_templates(folder / "templates")
    manifest = cache.load_manifest(folder, out)
    staging = out.with_name(f".{out.name}.building-{os.getpid()}")
    staging.mkdir()
    try:
        with paused_gc():
            report, made = _build_into(
                start, base, names, manifest, out, staging, folder, workers, progress, prefix
            )
        readme = out / "README.md"
        if readme.is_file():
            shutil.copy2(readme, staging / "README.md")
        swap_in(staging, out, report.files)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    site_id = cache.identity(out)
    if site_id is not None:
        cache.save_manifest(folder, replace(made, site=site_id))
        cache.prune(folder, made.entries.values())
    return report


def _entry_names(
    start: _Start, base: bytes, raw: dict[Path, bytes], heads: dict[Path, tuple[str, str] | None]
) -> dict[Path, tuple[str, str]]:
    """Each plan file as shown, and the name of its entry: a digest of everything its
    notices and parts are made from (the site-wide inputs in `base`, its bytes, and its
    commissioner's history; all the history when the file does not plainly name one)."""
    stories = _history_digests(start.history)
    everything = cache.digest(*(stories[body] for body in sorted(stories)))
    names = {}
    for path in start.files:
        shown = display_path(path)
        head = heads[path]
        story = stories.get(head[0], b"") if head is not None else everything
        names[path] = (shown, cache.digest(base, shown, raw[path], story).hex())
    return names


def _build_into(
    start: _Start,
    base: bytes,
    names: dict[Path, tuple[str, str]],  # plan file -> (as shown, entry name)
    manifest: Manifest | None,
    out: Path,
    staging: Path,
    folder: Path,
    workers: int,
    progress: Progress | None,
    prefix: str,
) -> tuple[BuildReport, Manifest]:
    """Build into `staging`: link what the last build made and is unchanged, render the
    plan files whose entries are missing, then make the collections whose members changed.
    Returns the report and the manifest of the new site."""
    site = start.site
    # Last build's entries: their parts where nothing changed, and every event's SEQUENCE.
    entries: dict[Path, Entry] = {}
    earlier: list[Entry] = []  # last build's, for their SEQUENCE numbers
    if manifest is not None:
        wanted = {name: path for path, (shown, name) in names.items()}
        for name in manifest.entries.values():
            entry = cache.load_entry(folder, name)
            if entry is None:
                continue
            earlier.append(entry)
            hit = wanted.get(name)
            if (
                hit is not None
                and _open(folder, name, entry)
                and _link_all(out, staging, entry.files)
            ):
                entries[hit] = entry
    if len(entries) < len(start.files):  # some plan files are rendered: SEQUENCE numbers
        if manifest is not None:
            site.sequences = parts.Sequences(one for entry in earlier for one in entry.parts)
        elif (out / "all.ics").is_file():
            site.sequences = calendar.read_sequences(out / "all.ics")
    del earlier
    withdrawn: dict[str, dict[str, Record]] = {}
    for uid, record in start.history.withdrawn().items():
        withdrawn.setdefault(uid.split("/", 1)[0], {})[uid] = record
    ctx = _Context(
        site, prefix, start.reference, start.history, start.names, withdrawn, staging, folder
    )
    ctx.tasks = [(path, *names[path]) for path in start.files if path not in entries]
    for (path, _, name), entry in zip(
        ctx.tasks, _render_files(ctx, workers, progress), strict=True
    ):
        if not _open(folder, name, entry):
            raise BuildError(f"could not read back what was just written to {folder}")
        entries[path] = entry
    ordered = [entries[path] for path in start.files]
    report = BuildReport(out, history_note=start.history.note)
    commissioners = []
    everything: list[Kept] = []
    for entry in ordered:
        report.problems += entry.problems
        if entry.commissioner is None:
            report.skipped.append(entry.source)
            continue
        commissioners.append(entry.commissioner)
        everything += entry.parts
    gone, written = _orphans(ctx, {c.id for c in commissioners})
    everything += gone
    everything.sort(key=lambda one: one.sort_key)
    commissioners.sort(key=lambda c: c.id)
    whole = _derive(ctx, opportunities=[], commissioners=commissioners)
    keys: dict[str, bytes] = {}
    to_make: list[Output] = []
    kept: dict[str, Spans] = {}
    for output in assemble.outputs(whole, everything):
        key = cache.digest(base, output.key)
        keys[output.path] = key
        if (
            manifest is None
            or manifest.outputs.get(output.path) != key
            or not _link(out, staging, output.path)
        ):
            to_make.append(output)
        elif output.path in manifest.spans:
            kept[output.path] = manifest.spans[output.path]
    last = (out, manifest.spans) if manifest is not None else None
    kept.update(_make_all(to_make, staging, last, workers, progress))
    report.opportunities = len(everything)
    report.files = len(keys) + sum(len(entry.files) for entry in ordered) + written
    made = Manifest((0, 0), {shown: name for shown, name in names.values()}, keys, kept)
    return report, made


_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories in one step (Linux renameat2); False where that is unsupported."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd = -100
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    return bool(result == 0)


def swap_in(staging: Path, out: Path, files: int = 0) -> None:
    """Make `staging` (of `files` files) the site at `out` in one step; the old site is
    removed afterwards."""
    if not out.exists():
        staging.rename(out)
        return
    if _exchange(staging, out):
        _remove(staging, files)
        return
    # Two renames: a reader may, for a moment, find no site, but never half of one.
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    out.rename(old)
    staging.rename(out)
    _remove(old, files)


BACKGROUND_FROM = 5_000  # files: a replaced site this big is removed in the background


def _remove(folder: Path, files: int) -> None:
    """Remove a replaced site. A big one (20,000 files take a third of a second) is left to
    a process of its own, so the build ends once the new site is in place; if that process
    is stopped, the next build removes what is left."""
    if files >= BACKGROUND_FROM and os.name == "posix":
        try:
            # sh puts rm in the background and ends at once: nothing is left to wait for.
            # At the lowest priority, it does not slow a build that follows at once.
            subprocess.run(
                ["sh", "-c", 'nice -n 19 rm -rf -- "$1" &', "sh", str(folder)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                check=True,
                timeout=30,
            )
            return
        except (OSError, subprocess.SubprocessError):
            pass
    shutil.rmtree(folder)


def _remove_abandoned(out: Path) -> None:
    """Remove half-built sites left beside `out` by builds that were killed (their process
    is gone); a build still running keeps its own."""
    leftovers = [
        *out.parent.glob(f".{out.name}.building-*"),
        *out.parent.glob(f".{out.name}.old-*"),
    ]
    for folder in leftovers:
        pid = folder.name.rsplit("-", 1)[-1]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            continue  # another user's running process


def sizes(folder: Path) -> dict[str, int]:
    """Each file's size under `folder`, by site path (for reports and tests)."""
    return {
        p.relative_to(folder).as_posix(): p.stat().st_size
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


__all__ = ["BuildError", "BuildReport", "CommissionerView", "Places", "build", "load_site"]

"""Build the static site from the plans: read, work out the views, render, and swap the new
site in whole, so readers never see half a site and a failed build leaves the last good one.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import datetime as dt
import os
import shutil
import zoneinfo
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from publisher.changes.history import read_history
from publisher.plans.check import display_path, load_reference, read_plan
from publisher.plans.errors import Problem, Severity
from publisher.plans.load import load, paused_gc
from publisher.plans.model import ChannelFile, Organisation
from publisher.plans.reference import (
    PLACES_FILE,
    THEMES_FILE,
    Places,
    channel_files,
    load_glossary,
)
from publisher.plans.validate import validate
from publisher.render import calendar, changelog, data, feeds, ocds, pages
from publisher.render.views import (
    Collection,
    CommissionerView,
    OpportunityView,
    SiteData,
    commissioner_view,
    opportunity_view,
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
    """Read every plan under `plans` into the views the site is rendered from.

    A plan file with errors is reported and left out; the others are still published.
    """
    glossary = load_glossary()
    reference = load_reference(plans, glossary)
    if reference.places is None or reference.themes is None:
        raise BuildError(
            f"{display_path(plans / PLACES_FILE)} or {display_path(plans / THEMES_FILE)} is "
            "missing or has errors; run 'publisher check' to see what is wrong."
        )
    organisations = _organisations(plans)
    record_history = read_history(plans, progress)
    problems: list[Problem] = []
    site = SiteData(
        [], [], reference.places, reference.themes, glossary, organisations, today, base_url
    )
    places, themes = reference.places, reference.themes
    names = changelog.site_names(site)
    site.history_note = record_history.note
    files = plan_files(plans)
    with paused_gc():
        for done, path in enumerate(files, start=1):
            if progress is not None and (done % 20 == 0 or done == len(files)):
                progress(done, len(files), "Reading plans")
            read = read_plan(path, display_path(path), reference, None, today)
            problems += read.problems
            if read.has_errors or read.header is None:
                site.skipped.append(read.file)
                continue
            commissioner = commissioner_view(read.header, read.file)
            site.commissioners.append(commissioner)
            for _, item in read.opportunities:
                key = f"{commissioner.id}/{item.id}"
                site.opportunities.append(
                    opportunity_view(
                        commissioner,
                        item,
                        places,
                        themes,
                        glossary,
                        organisations,
                        today,
                        changelog.history_of(record_history, key, item, names),
                    )
                )
        site.opportunities += changelog.withdrawn_views(site, record_history, names)
    site.opportunities.sort(key=lambda view: view.sort_key())
    site.commissioners.sort(key=lambda c: c.id)
    return site, problems


def _outputs(site: SiteData) -> Iterator[tuple[str, Callable[[], bytes | str]]]:
    """Every file of the site: its path and how to make it. The URLs are a public contract."""
    yield "index.html", lambda: pages.index(site)
    yield "glossary.html", lambda: pages.glossary(site)
    for name, content in pages.STATIC.items():
        yield f"static/{name}", lambda content=content: content  # type: ignore[misc]
    for view in site.opportunities:
        yield view.url, lambda view=view: pages.notice(site, view)  # type: ignore[misc]
    for commissioner in site.commissioners:
        yield (
            f"transparency/{commissioner.id}.html",
            lambda c=commissioner: pages.transparency(site, c),  # type: ignore[misc]
        )
    for collection in site.collections():
        yield from _collection_outputs(site, collection)
    yield from ocds.outputs(site)  # ocds/: Open Contracting Data Standard packages


def _collection_outputs(
    site: SiteData, collection: Collection
) -> Iterator[tuple[str, Callable[[], bytes | str]]]:
    stem = collection.path
    if collection.listing is not None:
        yield f"{stem}.html", lambda: pages.listing(site, collection)
    yield f"{stem}.rss", lambda: feeds.rss(site, collection)
    yield f"{stem}.atom", lambda: feeds.atom(site, collection)
    yield f"{stem}.ics", lambda: calendar.ics(site, collection)
    yield f"{stem}.json", lambda: data.as_json(site, collection)


# The parts of each opportunity that every page or file carrying it shares. Made once per
# build, in parallel for large sites, then kept where each module looks for them.
FRAGMENTS: dict[str, Callable[[SiteData, OpportunityView], object]] = {
    "feed": feeds.made,
    "ics": calendar.fragment,
    "json": data.fragment,
    "card": pages.card,
    "ocds": ocds.fragment,
}


def remember(site: SiteData, view: OpportunityView, kind: str, value: object) -> None:
    if kind == "card":
        pages.remember_card(site, view, value)
    else:
        feeds.remember(site, view, kind, value)


PARALLEL_FROM = 500  # opportunities; below this, starting processes costs more than it saves

# What forked workers render: the site, the folder, and the outputs still to write.
_shared: tuple[SiteData, Path, list[tuple[str, Callable[[], bytes | str]]]] | None = None


def _write(folder: Path, path: str, content: bytes | str) -> None:
    target = folder / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)


def _notices_and_fragments(start: int, stop: int) -> list[tuple[int, dict[str, object]]]:
    """In a worker: write the notices of opportunities[start:stop] and return their shared
    parts for the main process to assemble the collections from."""
    assert _shared is not None
    site, folder, _ = _shared
    out = []
    with paused_gc():
        for index in range(start, stop):
            view = site.opportunities[index]
            _write(folder, view.url, pages.notice(site, view))
            out.append((index, {kind: make(site, view) for kind, make in FRAGMENTS.items()}))
    return out


def _outputs_at(indices: list[int]) -> int:
    """In a worker: write the outputs at these positions of the shared list."""
    assert _shared is not None
    _, folder, outputs = _shared
    with paused_gc():
        for index in indices:
            path, make = outputs[index]
            _write(folder, path, make())
    return len(indices)


def _in_parallel(site: SiteData, folder: Path, workers: int, progress: Progress | None) -> None:
    """Write every notice and make every shared part in worker processes (forked, so they
    share the site without copying it), then keep the parts here."""
    global _shared  # noqa: PLW0603 - handed to the forked workers
    _shared = (site, folder, [])
    total = len(site.opportunities)
    size = max(50, total // (workers * 8))
    chunks = [(start, min(start + size, total)) for start in range(0, total, size)]
    done = 0
    try:
        with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
            for results in pool.map(_notices_and_fragments, *zip(*chunks, strict=True)):
                for index, parts in results:
                    view = site.opportunities[index]
                    for kind, value in parts.items():
                        remember(site, view, kind, value)
                done += len(results)
                if progress is not None:
                    progress(done, total, "Writing notices")
    finally:
        _shared = None


def render_into(
    site: SiteData, folder: Path, progress: Progress | None = None, workers: int | None = None
) -> int:
    """Write every file of the site under `folder`; return how many."""
    workers = workers if workers is not None else (os.cpu_count() or 1)
    outputs = list(_outputs(site))
    parallel = may_fork(workers, len(site.opportunities), PARALLEL_FROM)
    if not parallel:
        for done, (path, make) in enumerate(outputs, start=1):
            _write(folder, path, make())
            if progress is not None and (done % 200 == 0 or done == len(outputs)):
                progress(done, len(outputs), "Writing the site")
        return len(outputs)
    _in_parallel(site, folder, workers, progress)
    notices = {view.url for view in site.opportunities}
    rest = [(path, make) for path, make in outputs if path not in notices]
    _rest_in_parallel(site, folder, rest, workers, progress)
    return len(rest) + len(notices)


def _rest_in_parallel(
    site: SiteData,
    folder: Path,
    outputs: list[tuple[str, Callable[[], bytes | str]]],
    workers: int,
    progress: Progress | None,
) -> None:
    """Write the lists, feeds, calendars and JSON in forked workers, which share the parts
    made before the fork; the largest first, so the workers finish together."""
    global _shared  # noqa: PLW0603 - handed to the forked workers
    sizes = {c.path: len(c.members) for c in site.collections()}
    order = sorted(
        range(len(outputs)),
        key=lambda i: (-sizes.get(outputs[i][0].rsplit(".", 1)[0], 0), outputs[i][0]),
    )
    _shared = (site, folder, outputs)
    done = 0
    try:
        with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
            for written in pool.map(_outputs_at, [[i] for i in order], chunksize=4):
                done += written
                if progress is not None and (done % 200 == 0 or done == len(outputs)):
                    progress(done, len(outputs), "Writing lists, feeds and calendars")
    finally:
        _shared = None


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


def swap_in(staging: Path, out: Path) -> None:
    """Make `staging` the site at `out` in one step; the old site is removed afterwards."""
    if not out.exists():
        staging.rename(out)
        return
    if _exchange(staging, out):
        shutil.rmtree(staging)
        return
    # Two renames: a reader may, for a moment, find no site, but never half of one.
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    out.rename(old)
    staging.rename(out)
    shutil.rmtree(old)


def _remove_abandoned(out: Path) -> None:
    """Remove half-built sites left beside `out` by builds that were killed (their process
    is gone); a build still running keeps its own."""
    for folder in out.parent.glob(f".{out.name}.building-*"):
        pid = folder.name.rsplit("-", 1)[-1]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            continue  # another user's running process


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
    """Build the site from `plans` into `out`, atomically."""
    site, problems = load_site(plans, today, base_url, progress)
    if (wrong := ocds.use_prefix(site, ocid_prefix)) is not None:
        raise BuildError(f"{wrong}.")
    site.sequences = calendar.read_sequences(out / "all.ics")
    report = BuildReport(
        out,
        problems=problems,
        skipped=site.skipped,
        opportunities=len(site.opportunities),
        history_note=site.history_note,
    )
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(out)
    staging = out.with_name(f".{out.name}.building-{os.getpid()}")
    staging.mkdir()
    try:
        with paused_gc():
            report.files = render_into(site, staging, progress, workers)
        readme = out / "README.md"
        if readme.is_file():
            shutil.copy2(readme, staging / "README.md")
        swap_in(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return report


def sizes(folder: Path) -> dict[str, int]:
    """Each file's size under `folder`, by site path (for reports and tests)."""
    return {
        p.relative_to(folder).as_posix(): p.stat().st_size
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


__all__ = ["BuildError", "BuildReport", "CommissionerView", "Places", "build", "load_site"]

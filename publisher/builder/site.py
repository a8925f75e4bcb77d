"""Build the static site from the plans, and swap the new site in whole, so readers never
see half a site and a failed build leaves the last good one.

A build goes a plan file at a time (in worker processes for a large site, tasks.py): it
writes the file's notices, its commissioner's transparency page and OCDS package, and keeps
each opportunity's parts (parts.py). The files made from many opportunities (lists, feeds,
calendars, data files, the site-wide packages) are then put together from the parts
(assemble.py). Parts are kept beside the site (cache.py), so the next build reads and
renders only the plan files that changed, links every file whose inputs did not change from
the site it replaces, and makes again only the collections whose members changed. The new
site is swapped in whole (swap.py).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

from publisher.builder import assemble, cache, parts, swap, tasks
from publisher.builder.cache import Entry, Manifest
from publisher.builder.parts import Kept
from publisher.builder.splice import Spans
from publisher.changes.history import History, Progress, Record
from publisher.formats.base import Output, digest
from publisher.formats.registry import FORMATS
from publisher.model import read
from publisher.plans.check import display_path
from publisher.plans.errors import Problem, Severity
from publisher.plans.load import commissioner_of, paused_gc
from publisher.plans.reference_files import ReferenceFiles
from publisher.settings import DEFAULT_OCID_PREFIX, ocid_prefix_problem


class BuildError(read.PlansUnreadableError):
    """The site could not be built; the previous site is left as it was."""


@dataclass
class BuildReport:
    out: Path
    files: int = 0
    opportunities: int = 0
    problems: list[Problem] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    # plan files with errors whose last good version is published instead: (file, its day)
    held: list[tuple[str, dt.date]] = field(default_factory=list)
    history_note: str | None = None  # why there is no history from git, or only some

    @property
    def errors(self) -> int:
        return sum(1 for p in self.problems if p.severity is Severity.ERROR)


# --- the build -----------------------------------------------------------------------------


def _history_digests(history: History) -> dict[str, bytes]:
    """For each commissioner, a digest of what git tells of its opportunities: when it
    changes, its plan file's notices and parts are made again."""
    lines: dict[str, list[str]] = {}
    for key, record in history.records.items():
        last = record.events[-1].id if record.events else None
        stamp = (record.first_published, len(record.events), last, record.withdrawn)
        kept = digest(record.last).hex() if record.last and record.withdrawn else None
        lines.setdefault(key.split("/", 1)[0], []).append(
            f"{key} {stamp} {len(record.versions)} {kept}"
        )
    return {body: digest(*sorted(found)) for body, found in lines.items()}


def _reference_bytes(files: ReferenceFiles) -> bytes:
    """The files every page may draw on: places, themes and channels (their bytes as read
    for the model, not read again)."""
    return digest(*(f"{f.path.name}\0".encode() + (f.raw or b"") for f in files.all()))


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None  # the plan's own read says why, in plain words


def build(
    plans: Path,
    out: Path,
    *,
    today: dt.date,
    base_url: str = "http://localhost:8000/",
    progress: Progress | None = None,
    workers: int | None = None,
    ocid_prefix: str | None = None,  # None: a placeholder (settings.DEFAULT_OCID_PREFIX)
) -> BuildReport:
    """Build the site from `plans` into `out`, atomically, reusing what the last build made
    where nothing it was made from has changed."""
    workers = workers if workers is not None else (os.cpu_count() or 1)
    start = read.start(plans, today, base_url, progress)
    site = start.site
    site.ocid_prefix = ocid_prefix if ocid_prefix is not None else DEFAULT_OCID_PREFIX
    if (wrong := ocid_prefix_problem(site.ocid_prefix)) is not None:
        raise BuildError(f"{wrong}.")
    raw = {path: _read_or_none(path) for path in start.files}
    read.listing(site, raw.values())  # England's places the plans name get pages too
    heads = {path: commissioner_of(text) if text else None for path, text in raw.items()}
    site.commissioner_names = tuple(sorted({head[1] for head in heads.values() if head}))
    base = digest(
        cache.version(), _reference_bytes(start.reference_files), today.isoformat(), base_url,
        site.ocid_prefix, repr(site.commissioner_names),
        repr(sorted(site.places.by_slug)),
    )  # fmt: skip
    names = _entry_names(start, base, raw, heads)
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    swap.remove_abandoned(out)
    folder = cache.folder_for(out)
    cache.keep_templates(folder / "templates")
    manifest = cache.load_manifest(folder, out)
    staging = out.with_name(f".{out.name}.building-{os.getpid()}")
    staging.mkdir()
    try:
        with paused_gc():
            report, made = _build_into(
                start, base, names, raw, manifest, out, staging, folder, workers, progress
            )
        readme = out / "README.md"
        if readme.is_file():
            shutil.copy2(readme, staging / "README.md")
        swap.swap_in(staging, out, report.files)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    site_id = cache.identity(out)
    if site_id is not None:
        cache.save_manifest(folder, replace(made, site=site_id))
        cache.prune(folder, made.entries.values())
    return report


def _entry_names(
    start: read.Start,
    base: bytes,
    raw: dict[Path, bytes | None],
    heads: dict[Path, tuple[str, str] | None],
) -> dict[Path, tuple[str, str]]:
    """Each plan file as shown, and the name of its entry: a digest of everything its
    notices and parts are made from (the site-wide inputs in `base`, its bytes, and its
    commissioner's history; all the history when the file does not plainly name one)."""
    stories = _history_digests(start.history)
    everything = digest(*(stories[body] for body in sorted(stories)))
    names = {}
    for path in start.files:
        shown = display_path(path)
        head = heads[path]
        story = stories.get(head[0], b"") if head is not None else everything
        names[path] = (shown, digest(base, shown, raw[path] or b"\0", story).hex())
    return names


def _build_into(
    start: read.Start,
    base: bytes,
    names: dict[Path, tuple[str, str]],  # plan file -> (as shown, entry name)
    raw: dict[Path, bytes | None],  # plan file -> its bytes, as named
    manifest: Manifest | None,
    out: Path,
    staging: Path,
    folder: Path,
    workers: int,
    progress: Progress | None,
) -> tuple[BuildReport, Manifest]:
    """Build into `staging`: link what the last build made and is unchanged, render the
    plan files whose entries are missing, then make the collections whose members changed.
    Returns the report and the manifest of the new site."""
    site = start.site
    # Last build's entries: their parts where nothing changed, and every event's SEQUENCE.
    entries: dict[Path, Entry] = {}
    earlier: list[Entry] = []  # last build's, for what formats recall of them
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
                and tasks.open_entry(folder, name, entry)
                and tasks.link_all(out, staging, entry.files)
            ):
                entries[hit] = entry
    if len(entries) < len(start.files):  # some plan files are rendered: what formats recall
        last_parts = [one for entry in earlier for one in entry.parts] if manifest else None
        for one, shelf in zip(FORMATS, parts.SHELVES, strict=True):
            one.recall(site, last_parts, shelf, out)  # e.g. each calendar event's SEQUENCE
    del earlier
    withdrawn: dict[str, dict[str, Record]] = {}
    for uid, record in start.history.withdrawn().items():
        withdrawn.setdefault(uid.split("/", 1)[0], {})[uid] = record
    ctx = tasks.Context(
        site, start.reference, start.history, start.names, withdrawn, staging, folder
    )
    ctx.tasks = [(path, *names[path]) for path in start.files if path not in entries]
    ctx.raw = {path: text for path, text in raw.items() if text is not None}
    for (path, _, name), entry in zip(
        ctx.tasks, tasks.render_files(ctx, workers, progress), strict=True
    ):
        if not tasks.open_entry(folder, name, entry):
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
        if entry.commissioner.held_from is not None:
            report.held.append((entry.source, entry.commissioner.held_from))
        commissioners.append(entry.commissioner)
        everything += entry.parts
    gone, written = tasks.orphans(ctx, {c.id for c in commissioners})
    everything += gone
    everything.sort(key=lambda one: one.sort_key)
    commissioners.sort(key=lambda c: c.id)
    whole = tasks.derive(ctx, opportunities=[], commissioners=commissioners)
    keys: dict[str, bytes] = {}
    to_make: list[Output] = []
    kept: dict[str, Spans] = {}
    for output in assemble.outputs(whole, everything):
        key = digest(base, output.key)
        keys[output.path] = key
        if (
            manifest is None
            or manifest.outputs.get(output.path) != key
            or not tasks.link(out, staging, output.path)
        ):
            to_make.append(output)
        elif output.path in manifest.spans:
            kept[output.path] = manifest.spans[output.path]
    last = (out, manifest.spans) if manifest is not None else None
    kept.update(tasks.make_all(to_make, staging, last, workers, progress))
    report.opportunities = len(everything)
    report.files = len(keys) + sum(len(entry.files) for entry in ordered) + written
    made = Manifest((0, 0), {shown: name for shown, name in names.values()}, keys, kept)
    return report, made


def sizes(folder: Path) -> dict[str, int]:
    """Each file's size under `folder`, by site path (for reports and tests)."""
    return {
        p.relative_to(folder).as_posix(): p.stat().st_size
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


__all__ = ["BuildError", "BuildReport", "build", "sizes"]

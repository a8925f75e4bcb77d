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

from publisher.builder import assemble, cache, days, paged, parts, spare, swap, tasks
from publisher.builder.cache import Dated, Entry, Manifest
from publisher.builder.parts import Kept
from publisher.builder.spare import Spare
from publisher.changes.history import History, Progress, Record
from publisher.formats.base import Output, Whole, digest, digest_after
from publisher.formats.registry import FORMATS
from publisher.model import read
from publisher.plans.check import display_path
from publisher.plans.errors import Problem, Severity, shown_as
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
    paged: list[str] = field(default_factory=list)  # lists paged again (others were kept)

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
        cache.version(), _reference_bytes(start.reference_files), base_url, site.ocid_prefix,
        repr(site.commissioner_names), repr(sorted(site.places.by_slug)),
    )  # fmt: skip
    # The day is in each key as far as each file reads it (days.py), not in `base`.
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    swap.remove_abandoned(out)
    folder = cache.folder_for(out)
    cache.keep_templates(folder / "templates")
    manifest = cache.load_manifest(folder, out)
    names = _entry_names(start, base, raw, heads, manifest)
    staging = out.with_name(f".{out.name}.building-{os.getpid()}")
    taken = Spare.take(out, staging, manifest)  # the site before last, or an empty folder
    trash = out.with_name(f".{out.name}.old-trash-{os.getpid()}") if taken else None
    tasks.into_spare(taken.same if taken is not None else None, trash)
    try:
        with paused_gc():
            report, made = _build_into(
                start, base, names, raw, manifest, out, staging, folder, workers, progress
            )
        readme = out / "README.md"
        if readme.is_file():
            if (staging / "README.md").exists():  # never written through
                tasks.discard(str(staging / "README.md"))
            shutil.copy2(readme, staging / "README.md")
            made.paths |= {"README.md"}
            made.written |= {"README.md"}
        if taken is not None:
            taken.finish(staging, made.paths)
        # The site replaced is the next build's spare when what it holds is known.
        keep = spare.folder_for(out) if manifest is not None and manifest.paths else None
        kept = swap.swap_in(staging, out, report.files, keep)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        tasks.into_spare(None)
        if trash is not None:  # what the spare held that was replaced
            try:
                trash.rmdir()  # nothing was
            except OSError:
                if trash.exists():
                    swap.remove(trash, swap.BACKGROUND_FROM)
    site_id = cache.identity(out)
    if site_id is not None:
        before = manifest.paths if manifest is not None else frozenset()
        made = replace(
            made,
            site=site_id,
            spare=spare.stamp(spare.folder_for(out)) if kept else None,
            added=made.paths - before,
            removed=before - made.paths,
        )
        cache.save_manifest(folder, made)
        cache.prune(folder, made.entries.values())
        cache.prune_spans(folder, manifest, made)
    return report


def _entry_names(
    start: read.Start,
    base: bytes,
    raw: dict[Path, bytes | None],
    heads: dict[Path, tuple[str, str] | None],
    manifest: Manifest | None,
) -> dict[Path, tuple[str, str, str]]:
    """Each plan file as shown, its stem and the name of its entry. The stem is a digest of
    everything but the day its notices and parts are made from (the site-wide inputs in
    `base`, its bytes, and its commissioner's history; all the history when the file does
    not plainly name one). The entry is the last build's for that stem when the file reads
    the same today as on the day that entry was made (cache.Dated); otherwise a new one."""
    stories = _history_digests(start.history)
    everything = digest(*(stories[body] for body in sorted(stories)))
    today = start.site.today
    names = {}
    for path in start.files:
        shown = display_path(path)
        head = heads[path]
        story = stories.get(head[0], b"") if head is not None else everything
        # by its name in the plans folder, not as shown: the same from any folder
        stem = digest(base, path.name, raw[path] or b"\0", story).hex()
        known = manifest.dated.get(path.name) if manifest is not None else None
        name = None
        if known is not None and known.stem == stem:
            name = known.names.get(known.rule.sign(today))
        if name is None:
            name = digest(stem, "made on", today.isoformat()).hex()
        names[path] = (shown, stem, name)
    return names


def _dated(
    names: dict[Path, tuple[str, str, str]],
    entries: dict[Path, Entry],
    manifest: Manifest | None,
    today: dt.date,
) -> dict[str, Dated]:
    """Which entry of each plan file serves which days, for the next build."""
    out = {}
    for path, (_, stem, name) in names.items():
        rule = entries[path].days
        known = manifest.dated.get(path.name) if manifest is not None else None
        found = {}
        if known is not None and known.stem == stem and known.rule == rule:
            found = {sign: one for sign, one in known.names.items() if one != name}
        found[rule.sign(today)] = name
        out[path.name] = Dated(stem, rule, found)
    return out


def _as_shown(entry: Entry, shown: str) -> Entry:
    """A kept entry, its messages naming its plan file as this build shows it (a build run
    from another folder shows the same file another way)."""
    entry.problems = shown_as(entry.problems, entry.source, shown)
    entry.source = shown
    return entry


def _previous(path: Path, name: tuple[str, str, str], manifest: Manifest | None) -> str | None:
    """The entry that made the last site from a plan file with the same stem (another day's
    reading of the same file): its opportunities that read the same today are taken from
    it (tasks.Earlier)."""
    _, stem, _ = name
    known = manifest.dated.get(path.name) if manifest is not None else None
    if known is None or known.stem != stem or manifest is None:
        return None
    return manifest.entries.get(path.name)


def _build_into(
    start: read.Start,
    base: bytes,
    names: dict[Path, tuple[str, str, str]],  # plan file -> (as shown, stem, entry name)
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
    linked: set[str] = set()  # files linked from the last site, not written
    earlier: list[Entry] = []  # last build's, for what formats recall of them
    if manifest is not None:
        wanted = {name: path for path, (_, _, name) in names.items()}
        # the old site's counts of days were filled in for another day: fill them again
        refill = site.today if manifest.day != site.today else None
        for name in manifest.entries.values():
            entry = cache.load_entry(folder, name)
            if entry is None:
                continue
            earlier.append(entry)
            hit = wanted.get(name)
            if (
                hit is not None
                and tasks.open_entry(folder, name, entry)
                and (given := tasks.give(out, staging, entry.files, entry.slotted, refill))
                is not None
            ):
                entries[hit] = _as_shown(entry, names[hit][0])
                linked.update(given)
    if len(entries) < len(start.files):  # some plan files are rendered: what formats recall
        last_parts = [one for entry in earlier for one in entry.parts] if manifest else None
        for one, shelf in zip(FORMATS, parts.SHELVES, strict=True):
            one.recall(site, last_parts, shelf, out)  # e.g. each calendar event's SEQUENCE
    del earlier
    withdrawn: dict[str, dict[str, Record]] = {}
    for uid, record in start.history.withdrawn().items():
        withdrawn.setdefault(uid.split("/", 1)[0], {})[uid] = record
    ctx = tasks.Context(
        site, start.reference, start.history, start.names, withdrawn, staging, folder, out
    )
    ctx.tasks = [
        (path, names[path][0], names[path][2], _previous(path, names[path], manifest))
        for path in start.files
        if path not in entries
    ]
    ctx.raw = {path: text for path, text in raw.items() if text is not None}
    for (path, _, name, _), entry in zip(
        ctx.tasks, tasks.render_files(ctx, workers, progress), strict=True
    ):
        if not tasks.open_entry(folder, name, entry):
            raise BuildError(f"could not read back what was just written to {folder}")
        entries[path] = entry
        linked.update(entry.linked)
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
    today = site.today
    whole = tasks.derive(ctx, opportunities=[], commissioners=commissioners, today=days.Day(today))
    # Each file's key: its members and shape, and the day as far as it read it last time
    # (as far as working out the list of files read it: that list is the same whenever
    # that reading is, and so is all it hands each file).
    memo: list[paged.Memo] = []  # the one Memo of this build, once assemble asks for it

    def pages(whole: Whole) -> paged.Memo:
        if not memo:
            memo.append(paged.Memo(base, whole.said, today, manifest.paged if manifest else None))
        return memo[0]

    keyed = paged.Keys(manifest.keys if manifest is not None else None)
    with days.watching() as listing:
        outputs = list(assemble.outputs(whole, everything, pages, keyed))
    shared = listing().sign(today)
    before = manifest.days if manifest is not None else {}

    after_base = digest_after(base)
    signs: dict[int, tuple[days.Rule, str]] = {}  # most files share a few rules (days.shared)

    def key_of(output: Output, rule: days.Rule) -> bytes:
        """The file's key: what it is made from, and the day as far as it reads it."""
        found = signs.get(id(rule))
        if found is None or found[0] is not rule:
            found = signs[id(rule)] = (rule, rule.sign(today))
        return after_base(output.key, shared, found[1])

    keys: dict[str, bytes] = {}
    rules: dict[str, days.Rule] = {}
    to_make: list[Output] = []
    spanned: set[str] = set()  # the big files whose members' places are kept
    for output in outputs:
        rule = before.get(output.path)
        if rule is not None:
            rules[output.path] = rule
        if (
            manifest is None
            or rule is None
            or manifest.outputs.get(output.path) != (key := key_of(output, rule))
            or not tasks.link(out, staging, output.path)
        ):
            to_make.append(output)
        else:
            keys[output.path] = key
            linked.add(output.path)
            if output.path in manifest.spanned:
                spanned.add(output.path)

    making = tasks.Making(key_of, folder)
    if manifest is not None:
        making = replace(making, last=out, keys=manifest.outputs, spanned=manifest.spanned)
    made_keys, read_days, big = tasks.make_all(to_make, staging, making, workers, progress)
    keys.update(made_keys)
    rules.update(read_days)
    spanned |= big
    report.opportunities = len(everything)
    report.paged = memo[0].paged if memo else []
    paths = frozenset([*keys, *(path for entry in ordered for path in entry.files), *written])
    report.files = len(paths)
    made = Manifest(
        (0, 0), {path.name: name for path, (_, _, name) in names.items()}, keys, frozenset(spanned),
        _dated(names, entries, manifest, today), rules, memo[0].kept if memo else {},
        keyed.kept, today,
        paths, paths - linked,
    )  # fmt: skip
    return report, made


def sizes(folder: Path) -> dict[str, int]:
    """Each file's size under `folder`, by site path (for reports and tests)."""
    return {
        p.relative_to(folder).as_posix(): p.stat().st_size
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


__all__ = ["BuildError", "BuildReport", "build", "sizes"]

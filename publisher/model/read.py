"""The published model: a plans folder, with its reference data (places, themes, the
organisations behind channels, the glossary) and what git tells of each opportunity, read
into what the public sees (`SiteData` of `OpportunityView`s, status worked out from dates).

The build reads it a plan file at a time (`start`, then `file_views` per file, in worker
processes); `notify`, `diff` and the web app read it whole (`load_site`). Each file is read
once a pass: places, themes and channel files once (`ReferenceFiles`, kept in `Start` for
the build's cache key, or given by `notify`, which wants the channels too), each plan once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from publisher.changes import last_good
from publisher.changes.history import History, Progress, read_history
from publisher.changes.wording import Names
from publisher.model import changelog, examples, kept
from publisher.model.from_plan import commissioner_view, view_in
from publisher.model.views import (
    CommissionerView,
    OpportunityView,
    SiteData,
)
from publisher.plans import characters
from publisher.plans.check import PlanRead, display_path, load_reference, read_plan
from publisher.plans.england import named_places
from publisher.plans.errors import Problem, Severity, shown_as
from publisher.plans.folder import plan_files
from publisher.plans.load import commissioner_of, paused_gc
from publisher.plans.model import ChannelFile, Organisation
from publisher.plans.reference import PLACES_FILE, THEMES_FILE, Reference, load_glossary
from publisher.plans.reference_files import ReferenceFiles, read_reference_files
from publisher.plans.validate import validate


class PlansUnreadableError(Exception):
    """The plans folder cannot be read into a site: its places or themes are missing or
    have errors. (A plan file with errors is only left out.)"""


def organisations(files: ReferenceFiles) -> dict[str, Organisation]:
    """The infrastructure bodies behind the folder's channel files, by id."""
    out: dict[str, Organisation] = {}
    for read in files.channels:
        document = read.document
        if document is None or characters.check_text(document.data, document.text):
            continue  # `check` refuses the file; its names are not published either
        channels, _ = validate(ChannelFile, document.data)
        if channels is not None:
            out[channels.organisation.id] = channels.organisation
    return dict(sorted(out.items()))


def load_site(
    plans: Path,
    today: dt.date,
    base_url: str = "http://localhost:8000/",
    progress: Progress | None = None,
    files: ReferenceFiles | None = None,
    reuse: bool = False,
    raws: Mapping[Path, bytes | None] = {},
    kept_as: str = "model",
) -> tuple[SiteData, list[Problem]]:
    """Read every plan under `plans` into the views the site is rendered from (for the
    service's own pages and the notify pass; `build` goes a plan file at a time). `files`:
    the folder's reference files, when the caller has read them already for its own use.
    `reuse`: take each plan file's reading from the last pass when nothing it was made
    from has changed (kept.py; for the notify pass, every few minutes, and the web app's
    each new build), kept under the name `kept_as`. `raws`: plan files' bytes read already
    this pass.

    A plan file with errors is reported and left out; the others are still published.
    """
    begun = start(plans, today, base_url, progress, files)
    site, history = begun.site, begun.history
    problems: list[Problem] = []
    raw = {path: raws[path] if path in raws else read_or_none(path) for path in begun.files}
    listing(site, raw.values())
    where = kept.folder(plans, kept_as) if reuse else None
    keys = _reading_keys(begun, raw, base_url) if where is not None else {}
    with paused_gc():
        for done, path in enumerate(begun.files, start=1):
            if progress is not None and (done % 20 == 0 or done == len(begun.files)):
                progress(done, len(begun.files), "Reading plans")
            reading = kept.load(where, keys[path]) if where is not None else None
            if reading is not None and reading.file != (shown := display_path(path)):
                problems_now = shown_as(reading.problems, reading.file, shown)
                reading = replace(reading, file=shown, problems=problems_now)
            if reading is None:
                reading = _reading(site, begun, path, raw[path])
                if where is not None:
                    kept.save(where, keys[path], reading)
            problems += reading.problems
            if reading.commissioner is None or reading.views is None:
                site.skipped.append(reading.file)
                continue
            if reading.held:
                site.held.append(reading.file)
            site.commissioners.append(reading.commissioner)
            site.opportunities += reading.views
        site.opportunities += changelog.withdrawn_views(site, history, begun.names)
    if where is not None:
        kept.prune(where, keys.values())
    site.opportunities.sort(key=lambda view: view.sort_key())
    site.commissioners.sort(key=lambda c: c.id)
    return site, problems


def read_or_none(path: Path) -> bytes | None:
    """A plan file's bytes; None when it cannot be read (reading it again says why)."""
    try:
        return path.read_bytes()
    except OSError:
        return None


def listing(site: SiteData, raws: Iterable[bytes | None]) -> None:
    """The site lists, beside its own places and those its channels name, the places of
    England's that these plan files (their bytes) name, and the places they are in."""
    site.places = site.places.listing(named_places(raws))


def _reading(site: SiteData, begun: Start, path: Path, raw: bytes | None) -> kept.Reading:
    """What one plan file gives the published model."""
    read, held = read_published(path, display_path(path), begun.reference, site.today, raw)
    if read.header is None or (read.has_errors and held is None):
        return kept.Reading(read.problems, read.file, None)
    commissioner = commissioner_view(read.header, path.name, held)
    until = held.when if held is not None else None
    views = file_views(site, commissioner, read, begun.history, begun.names, until)
    return kept.Reading(read.problems, read.file, commissioner, held is not None, views)


def _reading_keys(begun: Start, raw: dict[Path, bytes | None], base_url: str) -> dict[Path, str]:
    """Each plan file's reading's name: everything it is made from (kept.py)."""
    stories = kept.stories(begun.history)
    everything = b"".join(stories[body] for body in sorted(stories))
    site = begun.site
    shared = kept.name(
        *(f"{f.path.name}\0".encode() + (f.raw or b"") for f in begun.reference_files.all()),
        site.today.isoformat(), base_url, repr(sorted(site.places.by_slug)),
    )  # fmt: skip
    out = {}
    for path, text in raw.items():
        head = commissioner_of(text) if text else None
        story = stories.get(head[0], b"") if head is not None else everything
        out[path] = kept.name(shared, path.name, text or b"\0", story)  # from any folder
    return out


def read_published(
    path: Path,
    shown: str,
    reference: Reference,
    today: dt.date,
    content: bytes | None = None,
    kept: Path | None = None,
) -> tuple[PlanRead, last_good.Held | None]:
    """A plan file as the site publishes it: its newest version, or, when that has errors,
    its last good one (from git, or else from the copy a build kept in `kept`), so a broken
    edit never takes a commissioner off the site. The problems are always the newest
    version's; the second value says which version is published when it is not the newest."""
    read = read_plan(path, shown, reference, None, today, content)
    if not read.has_errors and read.header is not None:
        return read, None

    def good(raw: bytes) -> bool:
        earlier = read_plan(path, shown, reference, None, today, raw)
        return not earlier.has_errors and earlier.header is not None

    held = last_good.from_git(path, good)
    if held is None and kept is not None:
        held = last_good.kept(kept, path.name, good, shown)
    if held is None:
        return read, None
    published = read_plan(path, shown, reference, None, today, held.raw)
    published.problems = read.problems  # what is wrong now is what the check reports
    return published, held


def first_error(problems: list[Problem]) -> Problem | None:
    """The first error in a file's problems, by line: where to start fixing it."""
    errors = [p for p in problems if p.severity is Severity.ERROR]
    return min(errors, key=lambda p: (p.line, p.column), default=None)


@dataclass
class Start:
    """What a build or a read knows before any plan file is read."""

    site: SiteData  # no opportunities or commissioners yet
    reference: Reference
    history: History
    names: Names
    files: list[Path]
    reference_files: ReferenceFiles  # places, themes and channel files, as read for this


def start(
    plans: Path,
    today: dt.date,
    base_url: str,
    progress: Progress | None,
    files: ReferenceFiles | None = None,
) -> Start:
    """Read the reference files (unless given `files`, read already this pass) and the
    history: everything but the plan files themselves."""
    files = files if files is not None else read_reference_files(plans)
    glossary = load_glossary()
    reference = load_reference(plans, glossary, files)
    if reference.places is None or reference.themes is None:
        raise PlansUnreadableError(
            f"{display_path(plans / PLACES_FILE)} or {display_path(plans / THEMES_FILE)} is "
            "missing or has errors; run 'publisher check' to see what is wrong."
        )
    paths = plan_files(plans)
    # The places of England's the channels name are listed; those the plans name, once
    # their bytes are read (`listing`).
    reference.places = reference.places.listing(named_places(r.raw for r in files.channels))
    history = read_history(plans, progress)
    site = SiteData(
        [], [], reference.places, reference.themes, glossary, organisations(files), today,
        base_url,
    )  # fmt: skip
    site.history_note = history.note
    names = changelog.site_names(site)
    return Start(site, reference, history, names, paths, files)


def file_views(
    site: SiteData,
    commissioner: CommissionerView,
    read: PlanRead,
    history: History,
    names: Names,
    until: dt.datetime | None = None,
) -> list[OpportunityView]:
    """The views of a plan file's opportunities, with what git tells of each. An example
    plan's dates were moved to today as it was read (plans/examples.py); what git tells of
    it moves with them, and each view keeps the entry as the file wrote it. `until`: the
    file is held at its last good version, committed then; what later commits changed was
    never published, so it is not told."""
    out = []
    for index, item in read.opportunities:
        key = f"{commissioner.id}/{item.id}"
        record = history.records.get(key)
        if record is not None and until is not None:
            record = replace(
                record,
                events=[event for event in record.events if event.when <= until],
                versions=[(when, raw) for when, raw in record.versions if when <= until],
                withdrawn=None,
                last=None,
            )
        told = changelog.history_of(history, key, item, names, record)
        if read.shift is not None and told is not None:
            told = examples.shifted_history(told, read.shift, site.today)
        view = view_in(site, commissioner, item, told)
        if read.shift is not None:
            view = replace(view, written=read.written[index])
        out.append(view)
    return out

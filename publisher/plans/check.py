"""Check plan, channel, places and themes files: every problem in every file, with its place.

One broken file never hides another: each file is read and checked on its own (in
parallel when there are many), and only ids are compared across files.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from multiprocessing import get_context
from pathlib import Path

from publisher.plans import characters, examples, language, misread, reference_rules, rules
from publisher.plans.england import england_places
from publisher.plans.errors import Problem, Severity
from publisher.plans.language import JargonIndex
from publisher.plans.load import Document, load, paused_gc
from publisher.plans.model import (
    ChannelFile,
    Opportunity,
    PlacesFile,
    PlanHeader,
    ThemesFile,
)
from publisher.plans.reference import (
    CHANNELS_DIR,
    PLACES_FILE,
    THEMES_FILE,
    Glossary,
    Places,
    Reference,
    load_glossary,
    organisation_id,
    own_places,
    plans_root,
    with_slugs,
)
from publisher.plans.reference_files import ReferenceFiles, read_reference_files
from publisher.plans.reference_files import display_path as display_path  # noqa: PLC0414 (re-exported: its home before)
from publisher.plans.validate import Finding, check_schema_version, error, to_problems, validate
from publisher.workers import may_fork

PARALLEL_FROM = 16  # files; below this, starting worker processes costs more than it saves


class Kind(StrEnum):
    PLAN = "plan"
    CHANNELS = "channels"
    PLACES = "places"
    THEMES = "themes"


def kind_of(path: Path) -> Kind:
    if path.name == PLACES_FILE:
        return Kind.PLACES
    if path.name == THEMES_FILE:
        return Kind.THEMES
    if path.parent.name == CHANNELS_DIR:
        return Kind.CHANNELS
    return Kind.PLAN


@dataclass
class PlanRead:
    """A plan file read as far as it could be: its valid parts and its problems."""

    file: str
    header: PlanHeader | None = None
    opportunities: list[tuple[int, Opportunity]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    document: Document | None = None
    # An example plan's dates moved to today (examples.py): how far, and each opportunity
    # by its index as the file wrote it
    shift: examples.Shift | None = None
    written: dict[int, Opportunity] = field(default_factory=dict)

    @property
    def has_errors(self) -> bool:
        return any(p.severity is Severity.ERROR for p in self.problems)


@dataclass
class FileResult:
    file: str
    kind: Kind
    problems: list[Problem]
    declared_id: str | None = None  # the commissioner or organisation id
    opportunities: int = 0


@dataclass
class CheckReport:
    files: list[FileResult]
    extra: list[Problem] = field(default_factory=list)

    @property
    def problems(self) -> list[Problem]:
        found = [p for result in self.files for p in result.problems] + self.extra
        return sorted(found, key=Problem.sort_key)

    def strict(self) -> CheckReport:
        """The same report with every warning counted as an error (--strict)."""
        files = [
            FileResult(
                r.file, r.kind, [p.promoted() for p in r.problems], r.declared_id, r.opportunities
            )
            for r in self.files
        ]
        return CheckReport(files, [p.promoted() for p in self.extra])

    def count(self, severity: Severity) -> int:
        return sum(1 for p in self.problems if p.severity is severity)


class UsageError(Exception):
    """The command was asked for something that does not exist (exit 2)."""


def read_plan(
    path: Path,
    display: str,
    reference: Reference,
    jargon: JargonIndex | None,
    today: dt.date,
    content: bytes | None = None,  # the file's bytes, read already
) -> PlanRead:
    """Read a plan file and apply every rule (the plain-English ones only given `jargon`:
    the build leaves those warnings to the check); the valid opportunities come back even when
    others in the file have errors, so the caller decides what to do with a partial plan."""
    read = PlanRead(display)
    with paused_gc():
        document, problems = load(path, display, content)
        if document is None:
            read.problems = problems
            return read
        read.document = document
        findings = check_schema_version(document.data, "plan")
        if findings:
            read.problems = to_problems(document, findings)
            return read
        data: dict[str, object] = document.data
        unsafe = characters.check_text(data, document.text)
        header, findings = validate(
            PlanHeader, {k: v for k, v in data.items() if k != "opportunities"}
        )
        findings = unsafe + findings + misread.check_misread(document)
        raw = data.get("opportunities", [])
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            findings.append(
                error(
                    ("opportunities",),
                    "wrong-type",
                    "'opportunities' should be a list, one item per opportunity "
                    "starting with '- id:'.",
                )
            )
            raw = []
        for index, item in enumerate(raw):
            opportunity, found = validate(Opportunity, item, ("opportunities", index))
            findings += reference_rules.known_slug_hints(found, data, reference)
            if opportunity is not None:
                read.opportunities.append((index, opportunity))
            if opportunity is not None and jargon is not None:
                findings += language.check_opportunity(
                    opportunity, ("opportunities", index), jargon
                )
        if header is not None:
            read.header = header
            read.shift = examples.shift_for(header, today)
            if read.shift is not None:  # an example plan, read as if written for today
                read.written = dict(read.opportunities)
                read.opportunities = [
                    (index, examples.shifted(item, read.shift))
                    for index, item in read.opportunities
                ]
            findings += rules.check_plan(header, read.opportunities, reference, path.stem, today)
            if reference.places is not None:  # a place named by its ONS code: by its slug
                read.opportunities = [
                    (index, with_slugs(item, reference.places))
                    for index, item in read.opportunities
                ]
        read.problems = to_problems(document, findings)
    return read


def _check_other(
    path: Path, display: str, kind: Kind, reference: Reference
) -> tuple[list[Problem], str | None]:
    document, problems = load(path, display)
    if document is None:
        return problems, None
    findings: list[Finding] = check_schema_version(document.data, kind.value)
    declared = None
    if not findings:
        findings = characters.check_text(document.data, document.text)
        if kind is Kind.CHANNELS:
            channels, found = validate(ChannelFile, document.data)
            findings += found
            if channels is not None:
                declared = channels.organisation.id
                findings += reference_rules.check_channels(channels, reference, path.stem)
        elif kind is Kind.PLACES:
            places, found = validate(PlacesFile, document.data)
            findings += found
            if places is not None:
                findings += reference_rules.check_places(places)
        else:
            themes, found = validate(ThemesFile, document.data)
            findings += found
            findings += reference_rules.check_themes(themes) if themes is not None else []
    return to_problems(document, findings), declared


@dataclass(frozen=True)
class _Task:
    path: Path
    display: str
    kind: Kind
    root: Path


@dataclass(frozen=True)
class _Context:
    references: dict[Path, Reference]
    jargon: JargonIndex
    today: dt.date


_context: _Context | None = None


def _set_context(context: _Context) -> None:
    global _context  # noqa: PLW0603 - each worker process receives its context once
    _context = context


def _start_worker(context: _Context) -> None:
    # Checking builds millions of small acyclic objects; the cycle collector would walk
    # them over and over for nothing. A worker lives only for one check.
    gc.disable()
    _set_context(context)


def _run(task: _Task) -> FileResult:
    assert _context is not None
    reference = _context.references[task.root]
    if task.kind is Kind.PLAN:
        read = read_plan(task.path, task.display, reference, _context.jargon, _context.today)
        declared = read.header.commissioner.id if read.header else None
        return FileResult(task.display, task.kind, read.problems, declared, len(read.opportunities))
    problems, declared = _check_other(task.path, task.display, task.kind, reference)
    return FileResult(task.display, task.kind, problems, declared)


def discover(paths: Sequence[Path]) -> list[Path]:
    """The files to check: files as given, and the YAML files of folders as given."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            for folder in (path, path / CHANNELS_DIR):
                if folder.is_dir():
                    found += sorted(
                        p
                        for p in folder.iterdir()
                        if p.suffix in (".yaml", ".yml")
                        and not p.name.startswith(".")
                        and p.is_file()
                    )
        elif path.exists():
            found.append(path)
        else:
            raise UsageError(f"There is no file or folder called '{path}'.")
    unique: dict[Path, None] = {}
    for path in found:
        unique.setdefault(path.resolve(), None)
    return list(unique)


def _refused(document: Document, kind: str) -> bool:
    """Whether a places or themes file cannot be used: not its format, or text that the
    text rule refuses (a build would publish its names)."""
    return bool(
        check_schema_version(document.data, kind)
        or characters.check_text(document.data, document.text)
    )


def load_reference(
    root: Path, glossary: Glossary, files: ReferenceFiles | None = None
) -> Reference:
    """The places, themes and organisations that plans under `root` may name (from `files`,
    its reference files read already this pass, when given)."""
    files = files if files is not None else read_reference_files(root)
    reference = Reference(glossary=glossary)
    places_doc = files.places.document
    if files.places.raw is None and not files.places.path.exists():
        # No places.yaml: plans name places from England's (england.py) alone.
        reference.places = Places({}, england_places())
    elif places_doc is not None and not _refused(places_doc, "places"):
        places, _ = validate(PlacesFile, places_doc.data)
        if places is not None:
            reference.places = own_places(places.places)
    themes_doc = files.themes.document
    if themes_doc is not None and not _refused(themes_doc, "themes"):
        themes, _ = validate(ThemesFile, themes_doc.data)
        if themes is not None:
            reference.themes = {t.slug: t for t in themes.themes}
    organisations = set()
    for read in files.channels:
        org_id = organisation_id(read.document) if read.document is not None else None
        if org_id:
            organisations.add(org_id)
    reference.organisations = frozenset(organisations)
    return reference


def check(
    paths: Sequence[Path],
    today: dt.date,
    *,
    workers: int | None = None,
    glossary: Glossary | None = None,
    allow_private_webhooks: bool = False,
) -> CheckReport:
    """Check every file under `paths`; raise UsageError only for paths that do not exist.
    `allow_private_webhooks`: the setting of the publisher that will read these files."""
    files = discover(paths)
    glossary = glossary or load_glossary()
    roots = {path: plans_root(path) for path in files}
    extra: list[Problem] = []
    for root in sorted(set(roots.values())):
        for name in (PLACES_FILE, THEMES_FILE):
            reference_file = root / name
            if name == PLACES_FILE and not reference_file.exists():
                continue  # a folder's own places are optional: England's are always there
            if not reference_file.is_file():
                extra.append(
                    Problem(
                        display_path(reference_file),
                        0,
                        0,
                        (),
                        Severity.ERROR,
                        "missing-file",
                        f"There is no {name} in {display_path(root)}/, so the "
                        f"{name.removesuffix('.yaml')} that plans name cannot be "
                        "checked.",
                        f"Create {name}; see the example plans.",
                    )
                )
            elif reference_file.resolve() not in roots:
                files.append(reference_file.resolve())
                roots[reference_file.resolve()] = root
    references = {root: load_reference(root, glossary) for root in set(roots.values())}
    for reference in references.values():
        reference.allow_private_webhooks = allow_private_webhooks
    context = _Context(
        references,
        JargonIndex.build(glossary),
        today,
    )
    tasks = [_Task(path, display_path(path), kind_of(path), roots[path]) for path in files]
    results = _run_all(tasks, context, workers)
    extra += _cross_file(results)
    return CheckReport(results, extra)


def _run_all(tasks: list[_Task], context: _Context, workers: int | None) -> list[FileResult]:
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if not may_fork(workers, len(tasks), PARALLEL_FROM):
        _set_context(context)
        with paused_gc():
            return [_run(task) for task in tasks]
    chunk = max(1, len(tasks) // (workers * 4))
    with ProcessPoolExecutor(
        workers, mp_context=get_context("fork"), initializer=_start_worker, initargs=(context,)
    ) as pool:
        return list(pool.map(_run, tasks, chunksize=chunk))


def _cross_file(results: Iterable[FileResult]) -> list[Problem]:
    out: list[Problem] = []
    first: dict[tuple[Kind, str], str] = {}
    for result in results:
        if result.declared_id is None:
            continue
        key = (result.kind, result.declared_id)
        if key in first:
            what = "commissioner" if result.kind is Kind.PLAN else "organisation"
            out.append(
                Problem(
                    result.file,
                    0,
                    0,
                    (),
                    Severity.ERROR,
                    "duplicate-id",
                    f"The {what} id '{result.declared_id}' is also used by {first[key]}.",
                    "Each body has one file and one id.",
                )
            )
        else:
            first[key] = result.file
    return out

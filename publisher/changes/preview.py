"""What the public will see change between two versions of the plans (two git revisions,
or a revision and the working tree): for `publisher diff` and pull-request comments.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from publisher.changes import git, last_good
from publisher.changes.diff import Change, Weight, compare_all
from publisher.changes.wording import Names, sentence, text_environment
from publisher.plans import report
from publisher.plans.characters import one_line, scrub
from publisher.plans.check import UsageError, check, load_reference, read_plan
from publisher.plans.errors import Problem, Severity
from publisher.plans.folder import plan_files
from publisher.plans.model import Funding, Opportunity
from publisher.plans.reference import Glossary, Reference, load_glossary


@dataclass
class Version:
    """One version of the plans, as the build would publish it."""

    opportunities: dict[str, Opportunity] = field(default_factory=dict)
    commissioners: dict[str, str] = field(default_factory=dict)  # id -> name
    problems: list[Problem] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)  # plan files with errors
    # plan files with errors whose last good version the site keeps: (file, its day)
    held: list[tuple[str, dt.date]] = field(default_factory=list)


@dataclass(frozen=True)
class Line:
    change: Change
    text: str

    @property
    def weight(self) -> str:
        return self.change.weight.value


@dataclass(frozen=True)
class Item:
    """One opportunity's changes."""

    commissioner: str
    id: str
    title: str
    url: str
    lines: tuple[Line, ...]

    @property
    def is_news(self) -> bool:
        return any(line.change.weight is Weight.NEWS for line in self.lines)


@dataclass
class Preview:
    base: str
    head: str
    groups: dict[str, list[Item]]  # commissioner name -> items
    new_warnings: list[Problem]
    left_out: list[str]
    errors: list[Problem]
    held: list[tuple[str, dt.date]] = field(default_factory=list)

    @property
    def items(self) -> list[Item]:
        return [item for items in self.groups.values() for item in items]

    def counts(self) -> dict[str, int]:
        """How many opportunities are new, withdrawn, changed in a way that is news, or
        changed in details only: each counted once, under one heading."""
        out = {"new": 0, "withdrawn": 0, "changed": 0, "details": 0}
        for item in self.items:
            kind = item.lines[0].change.kind.value
            if kind in ("new", "withdrawn"):
                out[kind] += 1
            else:
                out["changed" if item.is_news else "details"] += 1
        return out


def read_version(
    folder: Path,
    shown_as: Path,
    today: dt.date,
    glossary: Glossary,
    repository: tuple[Path, str] | None = None,
) -> Version:
    """The plans in `folder` as the build would publish them; problems name files as
    `shown_as` (the folder's place in the repository), not the temporary copy. With
    `repository` (the plans folder in git, and the revision `folder` holds), a file with
    errors is held at its last good version in git, as the build holds it."""
    version = Version()
    if not folder.is_dir():
        return version
    report = check([folder], today, glossary=glossary, workers=1)
    prefix = str(folder.resolve())
    for problem in report.problems:
        file = str(Path(problem.file).resolve())
        shown = shown_as / Path(file).relative_to(prefix) if file.startswith(prefix) else file
        version.problems.append(replace(problem, file=str(shown)))
    reference = load_reference(folder, glossary)
    for path in plan_files(folder):
        read = read_plan(path, path.name, reference, None, today)
        if read.header is None or read.has_errors:
            held = _last_good(path, reference, today, repository)
            if held is None:
                version.left_out.append(str(shown_as / path.name))
                continue
            read = read_plan(path, path.name, reference, None, today, held.raw)
            version.held.append((str(shown_as / path.name), held.day))
            if read.header is None:
                continue
        body = read.header.commissioner
        version.commissioners[body.id] = body.name
        for _, item in read.opportunities:
            version.opportunities[f"{body.id}/{item.id}"] = item
    return version


def _last_good(
    path: Path, reference: Reference, today: dt.date, repository: tuple[Path, str] | None
) -> last_good.Held | None:
    if repository is None:
        return None

    def good(raw: bytes) -> bool:
        read = read_plan(path, path.name, reference, None, today, raw)
        return read.header is not None and not read.has_errors

    plans, revision = repository
    return last_good.from_git(plans / path.name, good, revision)


@contextmanager
def checked_out(plans: Path, revision: str) -> Iterator[tuple[Path, Path]]:
    """The plans folder as it was at `revision`, in a temporary folder; and where the
    folder sits in the repository, for messages."""
    try:
        top = Path(git.run(plans, "rev-parse", "--show-toplevel").decode().strip())
    except FileNotFoundError:
        raise UsageError("git is not installed; 'publisher diff' needs it.") from None
    except subprocess.SubprocessError:
        raise UsageError(f"{plans} is not in a git repository.") from None
    rel = plans.resolve().relative_to(top.resolve())
    try:
        git.run(top, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    except subprocess.SubprocessError:
        raise UsageError(
            f"There is no revision called '{revision}' in this repository. "
            "Name a branch, a tag or a commit (for a pull request: origin/main)."
        ) from None
    with tempfile.TemporaryDirectory(prefix="publisher-diff-") as temp:
        try:
            tar = git.run(top, "archive", "--format=tar", revision, "--", rel.as_posix() or ".")
        except subprocess.SubprocessError:
            tar = b""  # the plans folder did not exist at that revision
        if tar:
            with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
                archive.extractall(temp, filter="data")
        yield Path(temp) / rel, rel


def preview(
    plans: Path,
    base: str,
    head: str | None,
    today: dt.date,
    base_url: str,
) -> Preview:
    """Compare the plans at `base` with `head` (None: the files as they are now)."""
    glossary = load_glossary()
    with checked_out(plans, base) as (folder, rel):
        before = read_version(folder, rel, today, glossary, (plans, base))
    if head is None:
        after = read_version(plans, rel, today, glossary, (plans, "HEAD"))
    else:
        with checked_out(plans, head) as (folder, rel):
            after = read_version(folder, rel, today, glossary, (plans, head))
    reference = load_reference(plans, glossary)
    places = reference.places
    names = Names(
        places=places.name if places is not None else (lambda s: s),
        themes=lambda s: (
            reference.themes[s].name if reference.themes and s in reference.themes else s
        ),
        glossary=glossary,
    )
    groups: dict[str, list[Item]] = {}
    for key, changes in compare_all(before.opportunities, after.opportunities).items():
        commissioner, opp_id = key.split("/", 1)
        item = after.opportunities.get(key) or before.opportunities[key]
        grant = item.funding in (Funding.GRANT, Funding.GRANT_PROGRAMME)
        name = after.commissioners.get(commissioner) or before.commissioners.get(
            commissioner, commissioner
        )
        lines = tuple(Line(c, sentence(c, grant, names)) for c in changes)
        url = f"{base_url}opportunities/{commissioner}/{opp_id}.html"
        groups.setdefault(name, []).append(Item(commissioner, opp_id, item.title, url, lines))
    seen = {_problem_key(p) for p in before.problems}
    new_warnings = [
        p for p in after.problems if p.severity is Severity.WARNING and _problem_key(p) not in seen
    ]
    errors = [p for p in after.problems if p.severity is Severity.ERROR]
    return Preview(
        base,
        head or "the working tree",
        dict(sorted(groups.items())),
        new_warnings,
        sorted(set(after.left_out)),
        errors,
        sorted(set(after.held)),
    )


def _problem_key(problem: Problem) -> tuple[str, str, str, str]:
    # Lines move when a file is edited; the same warning on another line is not new.
    return (problem.file, problem.dotted_path, problem.code, problem.message)


def markdown(result: Preview) -> str:
    """Ready for a pull-request comment."""
    return text_environment().get_template("diff.md").render(p=result, md=_md_escape, code=_md_code)


def text(result: Preview) -> str:
    """For a terminal: text quoted from a plan (a problem quotes a field's name) cannot send
    it control sequences or reorder its lines."""
    return scrub(text_environment().get_template("diff.txt").render(p=result))


def as_json(result: Preview) -> str:
    return (
        json.dumps(
            {
                "base": result.base,
                "head": result.head,
                "counts": result.counts(),
                "opportunities": [
                    {
                        "commissioner": item.commissioner,
                        "id": item.id,
                        "title": item.title,
                        "url": item.url,
                        "news": item.is_news,
                        "changes": [
                            {
                                "kind": line.change.kind.value,
                                "weight": line.weight,
                                "field": line.change.field or None,
                                "text": line.text,
                            }
                            for line in item.lines
                        ],
                    }
                    for item in result.items
                ],
                "new_warnings": [report.as_dict(p) for p in result.new_warnings],
                "errors": [report.as_dict(p) for p in result.errors],
                "left_out": result.left_out,
                "held": [
                    {"file": file, "version_of": day.isoformat()} for file, day in result.held
                ],
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~&])")
# GitHub turns @name into a mention (a notification to that person or team) and #12 or
# owner/repo#12 into a cross-reference (a note on that issue), even after a backslash. A
# zero-width space after the sign stops both, as Dependabot does in the release notes it
# quotes; written as an entity it shows in the Markdown that it is there on purpose.
_PINGS = re.compile(r"([@#])(?=[\w-])")
_ZERO_WIDTH_SPACE = "&#8203;"


def _md_escape(value: str) -> str:
    """Plan text shown literally in Markdown on one line: a title cannot add links, HTML or
    formatting, mention anyone, or hide or reorder text with control or direction characters."""
    escaped = _MD_SPECIAL.sub(r"\\\1", one_line(value))
    return _PINGS.sub(lambda m: m.group(1) + _ZERO_WIDTH_SPACE, escaped)


def _md_code(value: str) -> str:
    """`value` as inline code (a file name, a field's path, a revision): fenced with more
    backticks than it holds, so a backtick in it cannot end the code early."""
    text = one_line(value)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


FORMATS = {"markdown": markdown, "text": text, "json": as_json}

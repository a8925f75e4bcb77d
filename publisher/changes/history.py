"""Each opportunity's history from git: when it was first published and every change since,
dated by the commit on the main line (a merged pull request is one step).

An opportunity keeps its identity by commissioner and id, so files renamed or moved between
commits lose nothing. History is cached inside the repository's git folder, so a build
after one new commit reads only that commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import pickle
import subprocess
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path

from pydantic import ValidationError

from publisher.changes import git
from publisher.changes.diff import Change, compare, returned
from publisher.plans.dates import LONDON
from publisher.plans.load import parse, paused_gc
from publisher.plans.model import Opportunity
from publisher.workers import may_fork

# The cache holds pickled objects of these modules' classes: any change to them makes a
# new cache, so an upgrade never reads objects of an older shape.
CACHE_VERSION = hashlib.sha256(
    b"".join(
        (Path(__file__).parent.parent / name).read_bytes()
        for name in (
            "changes/history.py",
            "changes/git.py",
            "changes/diff.py",
            "plans/model.py",
            "plans/dates.py",
        )
    )
).hexdigest()[:16]
PARALLEL_FROM = 32  # blobs; below this, starting workers costs more than it saves
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Event:
    """One change to one opportunity, in the commit that made it."""

    when: dt.datetime  # the commit's time, timezone-aware
    commit: str
    change: Change
    number: int = 0  # its place among the changes that commit made to this opportunity

    @property
    def day(self) -> dt.date:
        return self.when.astimezone(LONDON).date()

    @property
    def id(self) -> str:
        """Stable forever: the commit and the change's place in it."""
        return f"{self.commit[:12]}-{self.number}"


@dataclass
class Record:
    """One opportunity's history."""

    first_published: dt.date | None = None  # None: it was there before the history starts
    events: list[Event] = field(default_factory=list)
    withdrawn: dt.datetime | None = None  # when it was last taken out of the plans
    last: str | None = None  # its last version (canonical JSON), kept once withdrawn
    # each earlier version that was news (its raw values as JSON) and when it became
    # news, oldest first, for open data; the latest is the one in the plans now
    versions: list[tuple[dt.datetime, str]] = field(default_factory=list)
    news: dt.datetime | None = None  # when the version now in the plans became news
    stash: str | None = None  # the last publishable version, while a broken one is there
    commissioner_name: str = ""


@dataclass
class History:
    records: dict[str, Record] = field(default_factory=dict)  # by "commissioner/id"
    head: str | None = None
    note: str | None = None  # said once to the person building: why history is missing or short
    blobs: dict[str, str] = field(default_factory=dict)  # plan file path -> blob, at head
    # at head: each opportunity's version (a digest of its raw values) and its file
    current: dict[str, tuple[bytes, str]] = field(default_factory=dict)

    def first_published(self, key: str) -> dt.date | None:
        record = self.records.get(key)
        return record.first_published if record is not None else None

    def events(self, key: str) -> list[Event]:
        record = self.records.get(key)
        return record.events if record is not None else []

    def earlier_versions(self, key: str) -> list[tuple[dt.date, str]]:
        """The versions that were news before the one in the plans now, oldest first."""
        record = self.records.get(key)
        if record is None:
            return []
        return [(when.astimezone(LONDON).date(), raw) for when, raw in record.versions]

    def withdrawn(self) -> dict[str, Record]:
        return {k: r for k, r in self.records.items() if r.withdrawn is not None and r.last}


@dataclass(frozen=True)
class _Parsed:
    """A plan file at one commit: its commissioner and each opportunity's raw version."""

    commissioner: str
    name: str
    versions: dict[str, str]  # opportunity id -> the raw YAML values as key-sorted JSON


def _parse_blob(raw: bytes) -> _Parsed | None:
    """A plan file's opportunities as raw values: cheap enough for every file in every
    commit. Only versions that differ are read into the plan model later."""
    try:
        text = raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError:
        return None
    document, _ = parse(text, "history")
    if document is None or not isinstance(document.data, dict):
        return None
    body = document.data.get("commissioner")
    items = document.data.get("opportunities")
    if not isinstance(body, dict) or not isinstance(body.get("id"), str):
        return None
    versions: dict[str, str] = {}
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            versions[item["id"]] = json.dumps(item, sort_keys=True, default=str)
    return _Parsed(body["id"], str(body.get("name") or body["id"]), versions)


def _parse_all(contents: list[bytes]) -> list[_Parsed | None]:
    if not may_fork(os.cpu_count() or 1, len(contents), PARALLEL_FROM):
        with paused_gc():
            return [_parse_blob(raw) for raw in contents]
    with ProcessPoolExecutor(os.cpu_count(), mp_context=get_context("fork")) as pool:
        return list(pool.map(_parse_blob, contents, chunksize=4))


def _model(version: str | None) -> Opportunity | None:
    if version is None:
        return None
    try:
        return Opportunity.model_validate(json.loads(version))
    except (ValidationError, ValueError):
        return None


def _cache_path(git_dir: Path, rel: str) -> Path:
    name = hashlib.sha1(rel.encode()).hexdigest()[:12]
    return git_dir / "publisher" / f"history-{name}.pickle"


# The cache is a run of pickles: the history without its records and current versions,
# then those a piece at a time. Unpickling holds the interpreter until it is done, and the
# web app reads the history in a thread beside the event loop: in one piece, 5 MB at
# 20,000 opportunities held every reply up for about 0.1 s.
CACHE_PIECE = 1000


def _load_cache(path: Path) -> History | None:
    try:
        # Unpickling makes an object or more for each event and version, none of them
        # garbage: with the collector paused it takes half the time (20,000 opportunities).
        with path.open("rb") as file, paused_gc():
            version, history, pieces = pickle.load(file)
            if version != CACHE_VERSION or not isinstance(history, History):
                return None
            for _ in range(pieces):
                records, current = pickle.load(file)
                history.records.update(records)
                history.current.update(current)
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError):
        return None
    return history


def _save_cache(path: Path, history: History) -> None:
    # The cache only saves time: a repository we cannot write to is read in full next time.
    records, current = list(history.records.items()), list(history.current.items())
    pieces = -(-max(len(records), len(current)) // CACHE_PIECE)
    shell = replace(history, records={}, current={})
    try:
        path.parent.mkdir(exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        with partial.open("wb") as file:
            pickle.dump((CACHE_VERSION, shell, pieces), file, protocol=pickle.HIGHEST_PROTOCOL)
            for at in range(0, pieces * CACHE_PIECE, CACHE_PIECE):
                piece = (records[at : at + CACHE_PIECE], current[at : at + CACHE_PIECE])
                pickle.dump(piece, file, protocol=pickle.HIGHEST_PROTOCOL)
        partial.replace(path)
    except OSError:
        return


def read_history(plans: Path, progress: Progress | None = None) -> History:
    """The history of every opportunity in the plans folder, from git, using the cache."""
    where = git.where(plans)
    if isinstance(where, str):
        return History(note=where)
    top, rel, git_dir, shallow = where
    try:
        head = git.run(top, "rev-parse", "--verify", "--quiet", "HEAD").decode().strip()
    except (OSError, subprocess.SubprocessError):
        return History(note=f"the git repository at {top} has no commits yet, so no history")
    cache = _cache_path(git_dir, rel)
    history = _load_cache(cache)
    if history is not None and history.head == head:
        return history
    since = None
    if history is not None and history.head is not None:
        try:
            git.run(top, "merge-base", "--is-ancestor", history.head, head)
            since = history.head
        except (OSError, subprocess.SubprocessError):
            history = None  # history was rewritten: read it all again
    if history is None or since is None:
        history = History()
    try:
        commits = git.commits(top, rel, since)
    except (OSError, subprocess.SubprocessError) as err:
        return History(note=f"git could not read the history of {plans}: {err}")
    _walk(top, history, commits, fresh=since is None, shallow=shallow, progress=progress)
    history.head = head
    if shallow and since is None and commits:
        day = commits[0].when.astimezone(LONDON).date()
        history.note = (
            f"this is a shallow clone, so history starts on {day:%d %B %Y}; opportunities "
            "already in the plans then have no first publication date from git"
        )
    _save_cache(cache, history)
    return history


def _walk(
    top: Path,
    history: History,
    commits: list[git.Commit],
    fresh: bool,
    shallow: bool,
    progress: Progress | None,
) -> None:
    needed = dict.fromkeys(
        blob for c in commits for _, before, after in c.files for blob in (before, after)
    )
    # a file's last readable version, when a commit left it unreadable
    needed.update(
        dict.fromkeys(
            history.blobs[p] for c in commits for p, _, _ in c.files if p in history.blobs
        )
    )
    needed.pop(git.ZERO, None)
    shas = list(needed)
    if progress is not None and shas:
        progress(0, len(shas), "Reading plan history from git")
    contents = dict(git.read_blobs(top, shas))
    parsed_list = _parse_all([contents.get(sha, b"") for sha in shas])
    parsed = dict(zip(shas, parsed_list, strict=True))
    del contents
    for position, commit in enumerate(commits):
        boundary = fresh and shallow and position == 0
        _step(history, commit, parsed, boundary)
        if progress is not None and position % 50 == 49:
            progress(position + 1, len(commits), "Working out what changed in each commit")


def _digest(version: str) -> bytes:
    return hashlib.blake2b(version.encode(), digest_size=16).digest()


def _step(
    history: History, commit: git.Commit, parsed: dict[str, _Parsed | None], boundary: bool
) -> None:
    current = history.current
    before: dict[str, str] = {}
    after: dict[str, tuple[str, str]] = {}
    names: dict[str, str] = {}
    for path, old, new in commit.files:
        new_state = parsed.get(new) if new != git.ZERO else None
        if new != git.ZERO and new_state is None:
            continue  # a file git has but we cannot read: it was not published then either
        old_state = parsed.get(old) if old != git.ZERO else None
        if old_state is None and path in history.blobs:
            # the last version of this file that could be read (the one in between was not)
            old_state = parsed.get(history.blobs[path])
        if old_state is not None:
            for opp_id, version in old_state.versions.items():
                key = f"{old_state.commissioner}/{opp_id}"
                if key in current and current[key][1] == path:
                    del current[key]
                    before[key] = version
        if new == git.ZERO:
            history.blobs.pop(path, None)
            continue
        assert new_state is not None
        history.blobs[path] = new
        names[new_state.commissioner] = new_state.name
        for opp_id, version in new_state.versions.items():
            after[f"{new_state.commissioner}/{opp_id}"] = (version, path)
    for key in sorted(before.keys() | after.keys()):
        old_version = before.get(key)
        if key in after:
            version, path = after[key]
            current[key] = (_digest(version), path)
        elif key in current:  # moved to a file this commit did not change
            continue
        new_version = after[key][0] if key in after else None
        if old_version == new_version:
            continue
        record = history.records.setdefault(key, Record())
        commissioner = key.split("/", 1)[0]
        record.commissioner_name = names.get(commissioner, record.commissioner_name)
        _record(record, old_version, new_version, commit, boundary)


def _record(
    record: Record,
    old_version: str | None,
    new_version: str | None,
    commit: git.Commit,
    boundary: bool,
) -> None:
    day = commit.when.astimezone(LONDON).date()
    if old_version is None and boundary:
        return  # there before the shallow history starts: when, we cannot know
    new = _model(new_version)
    if new_version is not None and new is None:
        # A version the build could not publish: nothing was announced. Remember the last
        # one that could be, to compare the next good version with.
        if old_version is not None and record.stash is None and _model(old_version):
            record.stash = old_version
        return
    old = _model(old_version)
    if old_version is not None and old is None and record.stash is not None:
        old_version, old = record.stash, _model(record.stash)  # the last publishable one
    record.stash = None
    changes: list[Change]
    if new is not None and (old_version is None or (old is None and not record.events)):
        if record.withdrawn is not None:
            changes = [returned(new)]
            record.withdrawn = None
            record.last = None
        else:
            changes = compare(None, new)
            record.first_published = day
    elif new is None:
        changes = compare(old, None) if old is not None else []
        record.withdrawn = commit.when
        record.last = old_version if old is not None else record.last
    elif old is None:
        return  # nothing published to compare with
    else:
        changes = compare(old, new)
    for number, change in enumerate(changes):
        record.events.append(Event(commit.when, commit.sha, change, number))
    if any(change.is_news for change in changes):
        if record.news is not None and old_version is not None:
            # the version that was news before, as it stood until this change mattered
            record.versions.append((record.news, old_version))
        record.news = commit.when if new is not None else None

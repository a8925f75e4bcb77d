"""The last good version of a plan file whose newest version has errors: what the site keeps
publishing until the file is fixed, so one broken edit never takes a commissioner off the
site. Found in git (the newest commit where the file passed the check), or else in a copy
the last build kept of each file it published."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from publisher.changes import git
from publisher.plans.dates import LONDON

MAX_VERSIONS = 50  # the file's versions looked at, newest first, before giving up


@dataclass(frozen=True)
class Held:
    """A plan file's last good version, published instead of its newest one."""

    raw: bytes
    day: dt.date  # when that version was committed (or published, without git)
    when: dt.datetime | None = None  # the commit's time: later commits are the broken ones


def from_git(path: Path, good: Callable[[bytes], bool], revision: str = "HEAD") -> Held | None:
    """The newest version of `path` in git, as at `revision`, that `good` accepts; None
    without git or without such a version."""
    where = git.where(path.parent)
    if isinstance(where, str):
        return None
    top = where[0]
    try:
        rel = path.resolve().relative_to(top.resolve()).as_posix()
        log = git.run(
            top, "log", "--first-parent", f"-n{MAX_VERSIONS}", "--format=%H %ct", revision,
            "--", rel,
        ).decode()  # fmt: skip
    except (ValueError, OSError, subprocess.SubprocessError):
        return None
    for line in log.splitlines():
        sha, stamp = line.split()
        try:
            raw = git.run(top, "cat-file", "blob", f"{sha}:{rel}")
        except (OSError, subprocess.SubprocessError):
            continue  # this commit deleted the file
        if good(raw):
            when = dt.datetime.fromtimestamp(int(stamp), dt.UTC).astimezone(LONDON)
            return Held(raw, when.date(), when)
    return None


# --- without git: the copy the last build kept -----------------------------------------------


def _kept_path(folder: Path, name: str) -> Path:
    return folder / "published" / (name.replace("/", "__") + ".json")


def keep(folder: Path, name: str, raw: bytes, day: dt.date) -> None:
    """Keep the version of a plan file (`name`: its name in the plans folder) a build
    published, and when it was first published as it is, for when a later version has
    errors and there is no git to go back to."""
    target = _kept_path(folder, name)
    try:
        old = json.loads(target.read_text("utf-8"))
        if old.get("text") == raw.decode("utf-8", "surrogateescape"):
            return  # the same version: keep its first day
    except (OSError, ValueError):
        pass
    record = {"day": day.isoformat(), "text": raw.decode("utf-8", "surrogateescape")}
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".tmp")
        partial.write_text(json.dumps(record), "utf-8")
        partial.replace(target)
    except OSError:
        return  # only a fallback: without it, a broken file is left out


def kept(folder: Path, name: str, good: Callable[[bytes], bool], shown: str) -> Held | None:
    """The version of the plan file `name` the last build kept, if `good` still accepts it.
    `shown`: the file as shown, which builds before December 2026 kept it by (relative to
    the folder they ran from, so a build run from elsewhere did not find it)."""
    for one in (name, shown):
        try:
            record = json.loads(_kept_path(folder, one).read_text("utf-8"))
            raw = str(record["text"]).encode("utf-8", "surrogateescape")
            day = dt.date.fromisoformat(str(record["day"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        return Held(raw, day) if good(raw) else None
    return None

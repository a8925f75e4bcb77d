"""What reading a plan file gave, kept between passes, so a notify pass every few minutes
reads again only the plan files that changed (and each once a day: what is published
depends on the day).

Kept in the plans repository's git folder, beside the history (`.git/publisher/model/`;
the web app keeps its own, `.git/publisher/model-served/`, for loading a new build),
one file per plan file's reading, named by a digest of everything that reading was made
from: the file's bytes, its commissioner's history, places, themes and channel files, the
day, the site's address and the publisher's code. The cache only saves time: anything
missing, unreadable or from another version is read again from the plan.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import pickle
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from publisher.changes import git
from publisher.changes.history import History
from publisher.model.views import CommissionerView, OpportunityView
from publisher.plans.errors import Problem
from publisher.plans.folder import plan_files
from publisher.plans.reference import PLACES_FILE, THEMES_FILE, channel_files

CODE = Path(__file__).resolve().parents[1]  # the publisher package


@dataclass
class Reading:
    """What `load_site` took from one plan file."""

    problems: list[Problem]
    file: str  # as shown
    commissioner: CommissionerView | None  # None: left out for errors
    held: bool = False  # published at its last good version
    views: list[OpportunityView] | None = None


@cache
def code() -> bytes:
    """The publisher's code and templates as installed (names, sizes and times: read once
    a process, as a running service does not change its code)."""
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(CODE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            stat = path.stat()
            digest.update(f"{path.relative_to(CODE)} {stat.st_size} {stat.st_mtime_ns}\0".encode())
    return digest.digest()


def folder(plans: Path, kept_as: str = "model") -> Path | None:
    """Where readings of `plans` are kept, by those who keep them under the name `kept_as`
    (each keeps and prunes its own): None when it is not in a git repository."""
    where = git.where(plans)
    if isinstance(where, str):
        return None
    return where[2] / "publisher" / kept_as


def stories(history: History) -> dict[str, bytes]:
    """For each commissioner, a digest of what git tells of its opportunities."""
    lines: dict[str, list[str]] = {}
    for key, record in history.records.items():
        last = record.events[-1].id if record.events else None
        stamp = (record.first_published, len(record.events), last, record.withdrawn)
        lines.setdefault(key.split("/", 1)[0], []).append(f"{key} {stamp} {len(record.versions)}")
    return {
        body: hashlib.blake2b("\n".join(sorted(found)).encode(), digest_size=16).digest()
        for body, found in lines.items()
    }


def name(*parts: bytes | str) -> str:
    digest = hashlib.blake2b(code(), digest_size=16)
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()


def load(where: Path, key: str) -> Reading | None:
    try:
        with (where / f"{key}.pickle").open("rb") as file:
            found = pickle.load(file)
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError):
        return None
    except (ImportError, IndexError, KeyError):
        return None  # pickled by another version of the code
    return found if isinstance(found, Reading) else None


def save(where: Path, key: str, reading: Reading) -> None:
    """Keep a reading; a folder we cannot write is only a slower next pass."""
    partial = where / f".{key}.{os.getpid()}.tmp"
    try:
        where.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(pickle.dumps(reading, pickle.HIGHEST_PROTOCOL))
        partial.replace(where / f"{key}.pickle")
    except OSError:
        partial.unlink(missing_ok=True)


def prune(where: Path, keep: Iterable[str]) -> None:
    """Remove readings not used by this pass."""
    wanted = {f"{key}.pickle" for key in keep}
    try:
        for path in where.glob("*.pickle"):
            if path.name not in wanted:
                path.unlink(missing_ok=True)
    except OSError:
        return


def inputs(plans: Path, today: dt.date, base_url: str) -> tuple[str, dict[Path, bytes | None]]:
    """A digest of everything `load_site(plans, today, base_url)` is made from, found
    without parsing anything: every plan, places, themes and channel file's name and bytes,
    the git commit the history is read at (and where, and whether shallow), the day, the
    site's address and the publisher's code (its glossary and England's places with it).
    The same digest means the same model: a notify pass that finds the one its last pass
    recorded need not read the model at all. With it, the bytes read (None: unreadable),
    for a pass that goes on to read the model from those same bytes."""
    digest = hashlib.blake2b(code(), digest_size=20)

    def add(part: bytes | str) -> None:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")

    add(today.isoformat())
    add(base_url)
    where = git.where(plans)
    if isinstance(where, str):
        add(where)
    else:
        top, rel, git_dir, shallow = where
        add(f"{top}\0{rel}\0{git_dir}\0{shallow}")
        try:
            add(git.run(top, "rev-parse", "--verify", "--quiet", "HEAD"))
        except (OSError, subprocess.SubprocessError):
            add("no commits")
    raws: dict[Path, bytes | None] = {}
    read = [plans / PLACES_FILE, plans / THEMES_FILE, *channel_files(plans), *plan_files(plans)]
    for path in read:
        add(path.relative_to(plans).as_posix())
        try:
            raw = raws[path] = path.read_bytes()
        except OSError as error:
            raws[path] = None
            add(f"unreadable: {error.strerror}")
            continue
        add(str(len(raw)))
        add(raw)
    return digest.hexdigest(), raws

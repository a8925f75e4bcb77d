"""Reading a plans folder's history from git: where the repository is, the main line's
commits that touched plan files, and file versions in bulk. No interpretation here:
history.py turns these into each opportunity's changes."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from publisher.plans.reference import PLACES_FILE, THEMES_FILE

GIT_TIMEOUT = 300
ZERO = "0" * 40  # git's name for "no file"


def run(top: str | Path, *args: str, stdin: bytes | None = None) -> bytes:
    return subprocess.run(
        ["git", "-C", str(top), "-c", "core.quotePath=false", *args],
        input=stdin,
        capture_output=True,
        check=True,
        timeout=GIT_TIMEOUT,
    ).stdout


def where(plans: Path) -> tuple[Path, str, Path, bool] | str:
    """The repository's top, the plans folder within it, the git folder and whether the
    clone is shallow; or why there is no history."""
    try:
        out = run(
            plans,
            "rev-parse",
            "--show-toplevel",
            "--absolute-git-dir",
            "--is-shallow-repository",
        )
    except FileNotFoundError:
        return "git is not installed, so there is no history"
    except (OSError, subprocess.SubprocessError):
        return f"{plans} is not in a git repository, so there is no history"
    top, git_dir, shallow = out.decode().splitlines()[:3]
    rel = plans.resolve().relative_to(Path(top).resolve()).as_posix()
    return Path(top), "" if rel == "." else rel, Path(git_dir), shallow == "true"


def is_plan(path: str, rel: str) -> bool:
    pure = PurePosixPath(path)
    return (
        str(pure.parent) == (rel or ".")
        and pure.suffix in (".yaml", ".yml")
        and pure.name not in (PLACES_FILE, THEMES_FILE)
        and not pure.name.startswith(".")
    )


@dataclass(frozen=True)
class Commit:
    sha: str
    when: dt.datetime
    files: list[tuple[str, str, str]]  # path, blob before, blob after (ZERO: none)


def commits(top: Path, rel: str, since: str | None) -> list[Commit]:
    """The main line's commits that touched plan files, oldest first."""
    span = [f"{since}..HEAD"] if since else ["HEAD"]
    out = run(
        top,
        "log",
        "--first-parent",
        "--reverse",
        "--no-renames",
        "--raw",
        "--no-abbrev",
        "--format=%x01%H %ct",
        *span,
        "--",
        rel or ".",
    ).decode("utf-8", "replace")
    commits: list[Commit] = []
    for chunk in out.split("\x01")[1:]:
        lines = chunk.splitlines()
        sha, stamp = lines[0].split()
        files = []
        for line in lines[1:]:
            if not line.startswith(":"):
                continue
            meta, _, path = line.partition("\t")
            parts = meta.split()
            if is_plan(path, rel):
                files.append((path, parts[2], parts[3]))
        if files:
            when = dt.datetime.fromtimestamp(int(stamp), dt.UTC)
            commits.append(Commit(sha, when, files))
    return commits


def read_blobs(top: Path, shas: list[str]) -> Iterator[tuple[str, bytes]]:
    """Blobs' contents from one `git cat-file --batch`."""
    if not shas:
        return
    out = run(top, "cat-file", "--batch", stdin="\n".join(shas).encode() + b"\n")
    at = 0
    for sha in shas:
        end = out.index(b"\n", at)
        header = out[at:end].split()
        if len(header) < 3 or header[1] == b"missing":
            at = end + 1
            continue
        size = int(header[2])
        yield sha, out[end + 1 : end + 1 + size]
        at = end + 1 + size + 1

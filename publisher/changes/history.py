"""When plan files last changed, from git. (Per-opportunity history comes with change
detection; this is the part the static build needs now.)"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

GIT_TIMEOUT = 60


def last_commit_dates(folder: Path) -> dict[Path, dt.date]:
    """The date of the last commit that touched each file under `folder`; empty when the
    folder is not in a git repository or git is not installed."""
    try:
        top = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            check=True,
            timeout=GIT_TIMEOUT,
        ).stdout.strip()
        log = subprocess.run(
            [
                "git",
                "-C",
                top,
                "log",
                "--format=%x00%cs",
                "--name-only",
                "--",
                str(folder.resolve()),
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=GIT_TIMEOUT,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    dates: dict[Path, dt.date] = {}
    when: dt.date | None = None
    for line in log.splitlines():
        if line.startswith("\x00"):
            when = dt.date.fromisoformat(line[1:])
        elif line and when is not None:
            dates.setdefault((Path(top) / line).resolve(), when)
    return dates

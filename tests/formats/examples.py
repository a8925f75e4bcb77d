"""The example plans as the render tests use them: read once as of one fixed day."""

from __future__ import annotations

import atexit
import datetime as dt
import os
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

from publisher.model.read import load_site
from publisher.model.views import SiteData

ROOT = Path(__file__).parents[2]
TODAY = dt.date(2026, 11, 23)


def load() -> SiteData:
    """A fresh SiteData of the example plans (tests that change it take their own)."""
    site, _ = load_site(ROOT / "plans", TODAY)
    return site


@cache
def first_published() -> Path:
    """The example plans in a git repository of their own, committed once on TODAY: the
    plans as first published, whatever the project's own history of plans/ holds since
    (a later commit there is a change dated after TODAY, which tests that count feed items
    or releases per opportunity would otherwise see)."""
    root = Path(tempfile.mkdtemp(prefix="example-plans-"))
    atexit.register(shutil.rmtree, root, True)
    shutil.copytree(ROOT / "plans", root / "plans")
    stamp = f"{TODAY.isoformat()}T09:00:00+00:00"
    env = {**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
    for args in (
        ("init", "-q", "-b", "main"),
        ("-c", "user.name=Test", "-c", "user.email=test@example.org", "add", "plans"),
        ("-c", "user.name=Test", "-c", "user.email=test@example.org", "commit", "-qm", "Plans"),
    ):
        subprocess.run(["git", "-C", str(root), *args], check=True, env=env, capture_output=True)
    return root / "plans"


def load_first_published() -> SiteData:
    """`load`, of the plans as first published (see `first_published`)."""
    site, _ = load_site(first_published(), TODAY)
    return site

"""A real git repository of plans, built commit by commit, for history and diff tests."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

EXAMPLES = Path(__file__).resolve().parents[2] / "plans"
COMMISSIONER = "leeds-city-council"

BASE_OPPORTUNITY: dict[str, Any] = {
    "id": "social-prescribing",
    "title": "Social prescribing link workers in Leeds",
    "summary": "Link workers help people find local groups and activities.",
    "status": "planning",
    "places": ["leeds"],
    "themes": ["mental-health"],
    "funding": "contract",
    "route": "undecided",
    "dates": {"tender_opens": "2027-03", "tender_closes": "2027-Q2", "service_starts": "2027-10"},
    "duration": {"years": 3},
    "unknown": {
        "value": "The budget is set in February.",
        "route": "We are talking to local groups first.",
    },
}


class PlanRepo:
    """plans/ in a git repository; `commit` writes the plan file and commits it on a day."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.plans = root / "plans"
        self.plans.mkdir(parents=True)
        for name in ("places.yaml", "themes.yaml"):
            shutil.copy(EXAMPLES / name, self.plans / name)
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.name", "Test")
        self.git("config", "user.email", "test@example.org")
        self.opportunities: list[dict[str, Any]] = [copy.deepcopy(BASE_OPPORTUNITY)]
        self.file = self.plans / f"{COMMISSIONER}.yaml"

    def git(self, *args: str, day: str | None = None) -> str:
        env = dict(os.environ)
        if day is not None:
            env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"{day}T12:00:00+00:00"
        return subprocess.run(
            ["git", "-C", str(self.root), *args],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        ).stdout.strip()

    def write(self) -> None:
        plan = {
            "schema": 1,
            "commissioner": {"id": COMMISSIONER, "name": "Leeds City Council", "kind": "council"},
            "opportunities": self.opportunities,
        }
        self.file.write_text(yaml.safe_dump(plan, sort_keys=False, allow_unicode=True))

    def commit(self, day: str, message: str = "change") -> str:
        self.write()
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message, day=day)
        return self.git("rev-parse", "HEAD")

    @property
    def first(self) -> dict[str, Any]:
        return self.opportunities[0]

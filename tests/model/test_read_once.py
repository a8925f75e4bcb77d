"""`publisher notify`, `publisher build` and the web app read each plan, places, themes and
channel file once per pass: each is opened once and parsed once.

Counting is observation only: the real open and the real parser run, and a wrapper notes
which file each call was for."""

from __future__ import annotations

import builtins
import datetime as dt
import io
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import pytest

import publisher.plans.load
from publisher.builder.site import build
from publisher.delivery import notify
from publisher.plans.errors import Severity
from publisher.service.live import Live
from publisher.settings import Settings
from tests.formats.examples import ROOT, TODAY

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


class Reads:
    """How many times each file of a plans folder is opened and parsed."""

    def __init__(self, plans: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.plans = plans.resolve()
        self.files = sorted(p for p in self.plans.rglob("*.yaml") if p.is_file())
        # The parser is given text, not a path: each example file's text is its own.
        self.by_text = {p.read_text(encoding="utf-8"): p for p in self.files}
        assert len(self.by_text) == len(self.files)
        self.opened: Counter[Path] = Counter()
        self.parsed: Counter[Path] = Counter()
        real_open = io.open
        real_parse = publisher.plans.load.parse

        def counting_open(file: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(file, (str, Path)):
                path = Path(file).resolve()
                if path.is_relative_to(self.plans):
                    self.opened[path] += 1
            return real_open(file, *args, **kwargs)

        def counting_parse(text: str, file: str) -> Any:
            # Only the folder's files: not the glossary shipped with the publisher, nor
            # blobs from git (the history), whose text may be a file's too.
            path = self.by_text.get(text)
            if path is not None and file != "history":
                self.parsed[path] += 1
            return real_parse(text, file)

        monkeypatch.setattr(io, "open", counting_open)  # what pathlib opens files with
        monkeypatch.setattr(builtins, "open", counting_open)
        monkeypatch.setattr(publisher.plans.load, "parse", counting_parse)

    def not_once(self) -> dict[str, tuple[int, int]]:
        """Each file not opened exactly once and parsed exactly once: (opened, parsed)."""
        everything = set(self.files) | set(self.opened) | set(self.parsed)
        return {
            path.relative_to(self.plans).as_posix()
            if path.is_relative_to(self.plans)
            else str(path): (
                self.opened[path],
                self.parsed[path],
            )
            for path in sorted(everything)
            if (self.opened[path], self.parsed[path]) != (1, 1)
        }


@pytest.fixture
def plans(tmp_path: Path) -> Path:
    """The example plans, copied: places, themes, six channel files and seven plans."""
    folder = tmp_path / "plans"
    shutil.copytree(ROOT / "plans", folder, ignore=shutil.ignore_patterns("schema", "*.md"))
    return folder


def test_the_example_folder_has_every_kind_of_file(plans: Path) -> None:
    names = {p.relative_to(plans).as_posix() for p in plans.rglob("*.yaml")}
    assert {"places.yaml", "themes.yaml", "channels/voluntary-action-leeds.yaml"} <= names
    assert len(names) == 15


def test_a_notify_pass_reads_each_file_once(
    plans: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'notify.db'}",
        base_url="https://plans.example.org/",
        maildir=tmp_path / "mail",
    )
    reads = Reads(plans, monkeypatch)
    report = notify.run_pass(plans, settings, lambda: NOW, dry_run=True)
    assert report.first_run and report.held == []
    assert not [p for p in report.problems if p.severity is Severity.ERROR]
    assert reads.not_once() == {}


def test_a_build_reads_each_file_once(
    plans: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = Reads(plans, monkeypatch)
    report = build(plans, tmp_path / "site", today=TODAY)
    assert report.errors == 0 and report.opportunities > 0
    assert reads.not_once() == {}


def test_the_web_app_reads_each_file_once_per_load(
    plans: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    build(plans, site, today=TODAY)
    live = Live(site, plans, "http://127.0.0.1:8000/", lambda: NOW)
    reads = Reads(plans, monkeypatch)
    loaded = anyio.run(live.site)
    assert loaded.site.opportunities
    assert reads.not_once() == {}

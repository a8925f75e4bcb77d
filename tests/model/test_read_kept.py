"""The notify pass, every few minutes, reads again only the plan files that changed: what
each plan file gave the published model is kept in the plans repository's git folder
(model/kept.py), named by everything it was made from."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from publisher.delivery import notify
from publisher.model.read import load_site
from publisher.settings import Settings
from tests.formats.examples import ROOT, TODAY
from tests.model.test_read_once import NOW, Reads


def _git(plans: Path, *args: str) -> None:
    day = "2026-11-01T12:00:00+00:00"
    env = {**os.environ, "GIT_AUTHOR_DATE": day, "GIT_COMMITTER_DATE": day}
    who = ["-c", "user.name=Test", "-c", "user.email=test@example.org"]
    subprocess.run(["git", "-C", str(plans), *who, *args], check=True, env=env)


@pytest.fixture
def plans(tmp_path: Path) -> Path:
    """The example plans in a git repository."""
    folder = tmp_path / "plans"
    shutil.copytree(ROOT / "plans", folder, ignore=shutil.ignore_patterns("schema", "*.md"))
    _git(folder, "init", "-q", "-b", "main")
    _git(folder, "add", "-A")
    _git(folder, "commit", "-q", "-m", "plans")
    return folder


def _parsed_plans(reads: Reads, plans: Path) -> dict[str, int]:
    return {
        path.name: count
        for path, count in reads.parsed.items()
        if count
        and path.parent == plans.resolve()
        and path.name not in ("places.yaml", "themes.yaml")
    }


def test_a_notify_pass_with_nothing_changed_parses_no_plan_file(
    plans: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'notify.db'}",
        base_url="https://plans.example.org/",
        maildir=tmp_path / "mail",
    )
    first = notify.run_pass(plans, settings, lambda: NOW)
    reads = Reads(plans, monkeypatch)
    again = notify.run_pass(plans, settings, lambda: NOW + dt.timedelta(minutes=5))
    assert _parsed_plans(reads, plans) == {}
    assert again.problems == first.problems and again.held == first.held
    # One plan changed: only it is read again, and the change is announced.
    leeds = plans / "leeds-city-council.yaml"
    text = leeds.read_text()
    title = "Refuges and outreach for people escaping domestic abuse in Leeds"
    assert title in text
    leeds.write_text(text.replace(title, f"{title} and Wakefield"))
    reads = Reads(plans, monkeypatch)
    changed = notify.run_pass(plans, settings, lambda: NOW + dt.timedelta(minutes=10))
    assert _parsed_plans(reads, plans) == {"leeds-city-council.yaml": 1}
    assert changed.problems == first.problems
    site, _ = load_site(plans, NOW.date(), settings.base_url, reuse=True)
    assert f"{title} and Wakefield" in {view.item.title for view in site.opportunities}


def test_the_model_kept_is_the_model_read(plans: Path) -> None:
    for day in (TODAY, TODAY + dt.timedelta(days=1), TODAY + dt.timedelta(days=1)):
        read, problems = load_site(plans, day)
        kept, kept_problems = load_site(plans, day, reuse=True)
        assert kept.opportunities == read.opportunities
        assert kept.commissioners == read.commissioners
        assert (kept.skipped, kept.held, kept_problems) == (read.skipped, read.held, problems)
    assert len(list((plans / ".git" / "publisher" / "model").glob("*.pickle"))) == 7


def test_readings_kept_from_another_folder_are_used_and_name_files_as_shown(
    plans: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(plans.parent)
    first, problems = load_site(Path("plans"), TODAY, reuse=True)
    assert problems and {p.file for p in problems} == {
        f"plans/{name}" for name in {Path(p.file).name for p in problems}
    }
    monkeypatch.chdir(plans)
    reads = Reads(plans, monkeypatch)
    kept, kept_problems = load_site(Path("."), TODAY, reuse=True)
    assert _parsed_plans(reads, plans) == {}
    assert kept_problems == load_site(Path("."), TODAY)[1]
    assert {p.file.removeprefix("plans/") for p in problems} == {p.file for p in kept_problems}
    assert kept.opportunities == first.opportunities

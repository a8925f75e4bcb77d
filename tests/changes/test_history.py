"""History from a real git repository of plans, built commit by commit: every kind of change
is found, dated by its commit and worded as a person would want; wording edits are not news."""

from __future__ import annotations

import copy
import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest

from publisher.changes import history as history_module
from publisher.changes.diff import Kind, Weight
from publisher.changes.history import History, read_history
from publisher.changes.wording import sentence
from tests.changes.gitplans import COMMISSIONER, PlanRepo

KEY = f"{COMMISSIONER}/social-prescribing"


def kinds(history: History, key: str = KEY) -> list[tuple[str, str]]:
    return [(e.day.isoformat(), e.change.kind.value) for e in history.events(key)]


def said(history: History, kind: Kind, key: str = KEY) -> str:
    found = [e for e in history.events(key) if e.change.kind is kind]
    assert len(found) == 1, kinds(history, key)
    return sentence(found[0].change)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> PlanRepo:
    """One plan, changed in every way that matters, one commit a day."""
    repo = PlanRepo(tmp_path_factory.mktemp("history"))
    repo.commit("2026-01-05", "first plan")
    repo.first["summary"] = "Link workers help people find groups and activities near them."
    repo.commit("2026-01-06", "wording only")
    repo.first["dates"]["tender_opens"] = "2027-03-15"
    repo.commit("2026-01-07", "tender date fixed")
    repo.first["dates"]["tender_closes"] = "2027-08-20"
    repo.commit("2026-01-08", "closing date later")
    repo.first["value"] = {"per_year": 400000}
    del repo.first["unknown"]["value"]
    repo.commit("2026-01-09", "budget known")
    repo.first["route"] = "open"
    repo.first["unknown"]["route"] = "We chose an open procedure."  # a stale reason, reworded
    repo.commit("2026-01-10", "route decided")
    repo.first["places"] = ["leeds", "wakefield"]
    repo.first["status"] = "engagement"
    repo.commit("2026-01-11", "places and status")
    repo.first["unknown"]["duration"] = "It depends on the pilot."
    repo.commit("2026-01-12", "a reason for a gap")
    repo.opportunities.append(
        {**repo.opportunities[0], "id": "carers-grants", "title": "Grants for carers' groups"}
    )
    repo.commit("2026-01-13", "a new opportunity")
    repo.opportunities[1] = {**repo.opportunities[1], "status": "cancelled"}
    repo.commit("2026-01-14", "cancelled")
    repo.opportunities.pop(1)
    repo.commit("2026-01-15", "withdrawn")
    # Rename the file: the opportunity keeps its identity, nothing is announced.
    repo.git("mv", f"plans/{COMMISSIONER}.yaml", f"plans/{COMMISSIONER}.yml")
    repo.file = repo.plans / f"{COMMISSIONER}.yml"
    repo.commit("2026-01-16", "renamed")
    return repo


@pytest.fixture(scope="module")
def history(repo: PlanRepo) -> History:
    return read_history(repo.plans)


def test_each_kind_of_change_is_found_on_its_day(history: History) -> None:
    assert kinds(history) == [
        ("2026-01-05", "new"),
        ("2026-01-06", "details"),
        ("2026-01-07", "date-fixed"),
        ("2026-01-08", "date-moved"),
        ("2026-01-09", "value-known"),
        ("2026-01-10", "route-decided"),
        ("2026-01-10", "reason-changed"),
        ("2026-01-11", "status"),
        ("2026-01-11", "places"),
        ("2026-01-12", "reason-given"),
    ]
    assert history.first_published(KEY) == dt.date(2026, 1, 5)
    other = f"{COMMISSIONER}/carers-grants"
    assert kinds(history, other) == [
        ("2026-01-13", "new"),
        ("2026-01-14", "cancelled"),
        ("2026-01-15", "withdrawn"),
    ]
    assert history.records[other].withdrawn is not None
    assert history.records[other].last is not None  # its last version, for its notice


def test_a_wording_edit_is_recorded_but_not_news(history: History) -> None:
    details = [e for e in history.events(KEY) if e.change.kind is Kind.DETAILS]
    assert [e.change.weight for e in details] == [Weight.DETAILS]
    assert sentence(details[0].change) == "Details updated (summary)."
    news = [e.change.kind for e in history.events(KEY) if e.change.is_news]
    assert Kind.DETAILS not in news and Kind.REASON_GIVEN not in news


def test_changes_are_worded_as_a_person_would_want(history: History) -> None:
    assert said(history, Kind.DATE_FIXED) == (
        "The date the tender opens is now set: 15 March 2027 (it was around March 2027)."
    )
    assert said(history, Kind.DATE_MOVED) == (
        "The closing date for bids has moved later, by about 3 months: "
        "it is now 20 August 2027, not April to June 2027."
    )
    assert said(history, Kind.VALUE_KNOWN) == "The money is now known: £400,000 a year."
    assert said(history, Kind.STATUS) == "The commissioner is now shaping it with local groups."
    assert said(history, Kind.PLACES) == "Now also covers wakefield."
    assert said(history, Kind.REASON_GIVEN) == (
        "The commissioner has said why the length of the contract or grant is not known yet: "
        "It depends on the pilot."
    )


def test_a_renamed_file_announces_nothing(history: History, repo: PlanRepo) -> None:
    days = {e.day for record in history.records.values() for e in record.events}
    assert dt.date(2026, 1, 16) not in days
    assert history.note is None


def test_history_is_cached_and_read_on_from_the_last_commit(repo: PlanRepo) -> None:
    first = read_history(repo.plans)
    cache = list((repo.root / ".git" / "publisher").glob("history-*.pickle"))
    assert len(cache) == 1
    repo.first["dates"]["service_starts"] = "2027-11"
    head = repo.commit("2026-01-20", "start later")
    again = read_history(repo.plans)
    assert again.head == head != first.head
    assert kinds(again)[-1] == ("2026-01-20", "date-moved")
    assert kinds(again)[:-1] == kinds(first)
    # The same answer as reading everything again without the cache.
    shutil.rmtree(repo.root / ".git" / "publisher")
    fresh = read_history(repo.plans)
    assert {k: kinds(fresh, k) for k in fresh.records} == {
        k: kinds(again, k) for k in again.records
    }


def test_rewritten_history_is_read_again(tmp_path: Path) -> None:
    repo = PlanRepo(tmp_path)
    repo.commit("2026-02-01")
    repo.first["status"] = "engagement"
    repo.commit("2026-02-02")
    assert kinds(read_history(repo.plans))[-1][1] == "status"
    repo.git("reset", "-q", "--hard", "HEAD~1")
    repo.first["status"] = "planning"
    repo.first["value"] = {"total": 100000}
    repo.commit("2026-02-03")
    assert [k for _, k in kinds(read_history(repo.plans))] == ["new", "value-known"]


def test_a_folder_outside_git_has_no_history_and_says_so(tmp_path: Path) -> None:
    plans = tmp_path / "plans"
    plans.mkdir()
    history = read_history(plans)
    assert history.records == {}
    assert history.note is not None and "not in a git repository" in history.note


def test_a_shallow_clone_starts_its_history_at_its_first_commit(
    repo: PlanRepo, tmp_path: Path
) -> None:
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "3", f"file://{repo.root}", str(clone)], check=True
    )
    history = read_history(clone / "plans")
    assert history.note is not None and "shallow clone" in history.note
    # It was there before the shallow history starts: when, git cannot say here.
    assert history.first_published(KEY) is None
    assert all(e.change.kind is not Kind.NEW for e in history.events(KEY))


def test_merged_pull_requests_count_as_one_step_on_the_day_they_merge(tmp_path: Path) -> None:
    repo = PlanRepo(tmp_path)
    repo.commit("2026-03-01")
    repo.git("checkout", "-q", "-b", "pr")
    repo.first["value"] = {"total": 50000}
    repo.commit("2026-03-02", "budget")
    repo.first["route"] = "open"
    repo.commit("2026-03-03", "route")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge pr", "pr", day="2026-03-10")
    events = kinds(read_history(repo.plans))
    assert events == [
        ("2026-03-01", "new"),
        ("2026-03-10", "value-known"),
        ("2026-03-10", "route-decided"),
    ]


def test_a_plan_file_with_broken_yaml_in_one_commit_announces_nothing(tmp_path: Path) -> None:
    repo = PlanRepo(tmp_path)
    repo.commit("2026-04-01")
    repo.file.write_text(repo.file.read_text() + "\n  broken: [\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "broken", day="2026-04-02")
    repo.first["status"] = "engagement"
    repo.commit("2026-04-03", "fixed, and a change")
    assert kinds(read_history(repo.plans)) == [("2026-04-01", "new"), ("2026-04-03", "status")]


def test_a_broken_version_in_between_loses_no_change(tmp_path: Path) -> None:
    repo = PlanRepo(tmp_path)
    repo.commit("2026-04-01")
    # Added with a typo, fixed the next day: new on the day it could first be published.
    repo.opportunities.append({**copy.deepcopy(repo.first), "id": "typo", "status": "opne"})
    repo.commit("2026-04-02")
    repo.opportunities[1]["status"] = "planning"
    repo.commit("2026-04-03")
    # A broken value, fixed in the same commit as a date move: the move is still news.
    repo.first["value"] = {"per_year": "lots"}
    repo.commit("2026-04-04")
    repo.first["value"] = {"per_year": 50000}
    repo.first["dates"]["tender_opens"] = "2027-05"
    repo.commit("2026-04-05")
    history = read_history(repo.plans)
    assert kinds(history, f"{COMMISSIONER}/typo") == [("2026-04-03", "new")]
    assert history.first_published(f"{COMMISSIONER}/typo") == dt.date(2026, 4, 3)
    assert kinds(history) == [
        ("2026-04-01", "new"),
        ("2026-04-05", "date-moved"),
        ("2026-04-05", "value-known"),
    ]


def test_the_cache_is_kept_in_pieces_and_read_back_whole(
    repo: PlanRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kept a few records at a time (so a thread reading it lets others run between
    pieces), it reads back as the history it kept; cut short, it is not used."""
    monkeypatch.setattr(history_module, "CACHE_PIECE", 1)
    history = read_history(repo.plans)
    assert len(history.records) > 1, "two pieces or more"
    [cache] = (repo.root / ".git" / "publisher").glob("history-*.pickle")
    kept = history_module._load_cache(cache)
    assert kept == history
    assert list(kept.records) == list(history.records), "in the same order"
    cache.write_bytes(cache.read_bytes()[: cache.stat().st_size * 2 // 3])
    assert history_module._load_cache(cache) is None
    assert read_history(repo.plans) == history, "read again from git"

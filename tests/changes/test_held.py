"""A broken plan file never takes a commissioner off the site (issue 18): the build keeps
its last good version from git and says so; `publisher diff` says the change would hold
it; every link sent before still answers."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import httpx
import pytest

from publisher import cli
from publisher.builder import cache
from publisher.builder.site import build
from publisher.changes.diff import Change, Kind
from publisher.changes.preview import Item, Line, Preview
from publisher.delivery import notify
from publisher.delivery.database import connect
from publisher.delivery.snapshot import load_published
from publisher.model.read import load_site
from publisher.plans.model import Status
from publisher.service.web import create_app
from publisher.settings import Settings
from tests.changes.gitplans import COMMISSIONER, PlanRepo
from tests.service.server import free_socket, serving

TODAY = dt.date(2026, 6, 1)
BROKEN_AT = "- id: carers-grants\n"


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> tuple[PlanRepo, Path, list[str]]:
    """A plan published on 1 May, then a commit whose edit breaks its YAML."""
    repo = PlanRepo(tmp_path_factory.mktemp("held"))
    repo.opportunities.append(
        {**repo.first, "id": "carers-grants", "title": "Grants for carers' groups"}
    )
    repo.commit("2026-05-01", "first plan")
    out = repo.root / "feeds"
    build(repo.plans, out, today=TODAY)
    sent = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html"))
    text = repo.file.read_text()
    assert BROKEN_AT in text
    repo.file.write_text(text.replace(BROKEN_AT, BROKEN_AT + '  title: "Young" carers\n'))
    repo.git("commit", "-q", "-am", "a broken edit", day="2026-05-20")
    return repo, out, sent


def test_the_build_keeps_the_last_good_version(
    broken: tuple[PlanRepo, Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, out, sent = broken
    code = cli.main(
        ["build", "--plans", str(repo.plans), "--out", str(out), "--today", "2026-06-01"]
    )
    captured = capsys.readouterr()
    assert code == 1  # the file has errors: the build says so
    assert "leeds-city-council.yaml line " in captured.err
    assert "so the site still shows its version of 1 May 2026" in captured.err
    now = {p.relative_to(out).as_posix() for p in out.rglob("*.html")}
    assert [path for path in sent if path not in now] == []  # no link sent before is a 404
    notice = (out / f"opportunities/{COMMISSIONER}/carers-grants.html").read_text()
    said = (
        "A newer version of this plan has mistakes in it, so it is not shown yet: this page"
        " shows the plan as it was on 1 May 2026."
    )
    assert said in notice and "taken out of the plan" not in notice
    assert said in (out / f"transparency/{COMMISSIONER}.html").read_text()
    listed = json.loads((out / "all.json").read_text())
    assert len(listed["opportunities"]) == 2
    with serving(free_socket(), lambda url: create_app(out, repo.plans, url)) as served:
        answers = {path: httpx.get(served.url + path, timeout=30).status_code for path in sent}
    assert {path: code for path, code in answers.items() if code != 200} == {}


def test_diff_says_the_change_would_hold_them(
    broken: tuple[PlanRepo, Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, _, _ = broken
    code = cli.main(["diff", "--plans", str(repo.plans), "HEAD~1", "HEAD"])
    out, _ = capsys.readouterr()
    assert code == 1
    assert "Withdrawn" not in out
    assert "would be held at their last good version" in out
    assert "would keep showing the version of 1 May 2026" in out
    assert "line " in out  # the checker's errors, with their lines
    code = cli.main(["diff", "--plans", str(repo.plans), "HEAD~1", "HEAD", "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert data["opportunities"] == [] and data["left_out"] == []
    assert data["held"] == [{"file": f"plans/{COMMISSIONER}.yaml", "version_of": "2026-05-01"}]
    assert data["errors"]


def test_without_git_the_last_build_keeps_it(tmp_path: Path) -> None:
    repo = PlanRepo(tmp_path)
    shutil.rmtree(tmp_path / ".git")
    repo.write()
    out = tmp_path / "feeds"
    first = build(repo.plans, out, today=TODAY)
    assert first.held == [] and first.skipped == []
    repo.file.write_text(repo.file.read_text().replace("status: planning", "status: nonsense"))
    later = build(repo.plans, out, today=dt.date(2026, 6, 2))
    assert later.skipped == [] and [day for _, day in later.held] == [TODAY]
    assert later.errors == 1
    assert (out / f"opportunities/{COMMISSIONER}/social-prescribing.html").is_file()


def test_without_git_a_build_from_another_folder_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kept version is known by the file's name in the plans folder: a build run by
    hand from another folder finds it, and so does a build after one that kept it under
    the name it was shown by (as builds did before)."""
    repo = PlanRepo(tmp_path)
    shutil.rmtree(tmp_path / ".git")
    repo.write()
    out = tmp_path / "feeds"
    monkeypatch.chdir(tmp_path)
    assert build(Path("plans"), out, today=TODAY).held == []
    repo.file.write_text(repo.file.read_text().replace("status: planning", "status: nonsense"))
    monkeypatch.chdir(repo.plans)
    later = build(Path("."), out, today=dt.date(2026, 6, 2))
    assert later.skipped == [] and later.held == [(f"{COMMISSIONER}.yaml", TODAY)]
    kept = cache.folder_for(out) / "published"
    (kept / f"{COMMISSIONER}.yaml.json").rename(kept / f"plans__{COMMISSIONER}.yaml.json")
    monkeypatch.chdir(tmp_path)
    older = build(Path("plans"), out, today=dt.date(2026, 6, 3))
    assert older.skipped == [] and older.held == [(f"plans/{COMMISSIONER}.yaml", TODAY)]


def _item(kind: Kind, before: object = None) -> Item:
    return Item(COMMISSIONER, "x", "X", "", (Line(Change(kind, before=before), "words"),))


def test_diff_counts_are_never_negative() -> None:
    """Taking an awarded or cancelled opportunity off the plan is a note, not news: it was
    once subtracted from the changed count as well as counted as withdrawn ("-2 changed")."""
    items = [
        _item(Kind.WITHDRAWN, Status.AWARDED),
        _item(Kind.WITHDRAWN, Status.CANCELLED),
        _item(Kind.WITHDRAWN, Status.PLANNING),
        _item(Kind.NEW),
        _item(Kind.DETAILS),
        _item(Kind.DATE_MOVED),
    ]
    preview = Preview("a", "b", {"Leeds": items}, [], [], [])
    assert preview.counts() == {"new": 1, "withdrawn": 3, "changed": 1, "details": 1}


def test_notify_agrees_nothing_is_withdrawn(tmp_path: Path) -> None:
    """The notify pass reads the plans as the build publishes them: the held file's
    opportunities are still there, unchanged, so nothing is announced or withdrawn."""
    repo = PlanRepo(tmp_path / "repo")
    repo.commit("2026-05-01", "first plan")
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'state.db'}", maildir=tmp_path / "mail"
    )
    engine = connect(settings.database_url)
    first = notify.run_pass(
        repo.plans, settings, lambda: dt.datetime(2026, 5, 2, 9, tzinfo=dt.UTC), engine=engine
    )
    assert first.first_run
    repo.file.write_text(repo.file.read_text().replace("status: planning", "status: nonsense"))
    repo.git("commit", "-q", "-am", "a broken edit", day="2026-05-20")
    later = notify.run_pass(
        repo.plans, settings, lambda: dt.datetime(2026, 5, 21, 9, tzinfo=dt.UTC), engine=engine
    )
    assert later.announcements == []
    assert [Path(file).name for file in later.held] == [f"{COMMISSIONER}.yaml"]
    with engine.connect() as conn:
        published = load_published(conn)
    assert published[f"{COMMISSIONER}/social-prescribing"].withdrawn_at is None


def test_what_the_broken_version_changed_is_not_told(tmp_path: Path) -> None:
    """A version whose opportunities are well formed but which breaks a rule (a place that
    does not exist) is in git's history; the site shows the version before it, so neither
    the notice nor the feed tells of the change it made."""
    repo = PlanRepo(tmp_path)
    repo.commit("2026-05-01", "first plan")
    repo.first["dates"]["tender_closes"] = "2027-07-31"
    repo.first["places"] = ["nowhere"]
    repo.commit("2026-05-20", "closing later, and a place that does not exist")
    out = tmp_path / "feeds"
    report = build(repo.plans, out, today=TODAY)
    assert [day for _, day in report.held] == [dt.date(2026, 5, 1)]
    notice = (out / f"opportunities/{COMMISSIONER}/social-prescribing.html").read_text()
    assert "20 May 2026" not in notice
    assert "20 May 2026" not in (out / "all.atom").read_text()
    site, _ = load_site(repo.plans, TODAY)
    (view,) = site.opportunities
    assert view.changes[0].day == dt.date(2026, 5, 1)  # only its first publication
    assert all(line.day < dt.date(2026, 5, 20) for line in view.changes)

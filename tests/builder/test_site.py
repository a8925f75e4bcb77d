"""The build as a whole: the public URLs, atomic replacement, determinism, bad files."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from publisher.builder import cache, swap
from publisher.builder.site import build, sizes
from publisher.formats import pages
from publisher.model import read
from tests.builder.sites import tree as _tree

ROOT = Path(__file__).parents[2]
PLANS = ROOT / "plans"
TODAY = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site") / "feeds"
    build(PLANS, out, today=TODAY)
    return out


def test_the_public_urls_exist(built: Path) -> None:
    files = set(sizes(built))
    for stem in (
        "all",
        "place/leeds",
        "place/west-yorkshire",
        "theme/mental-health",
        "commissioner/west-yorkshire-icb",
        "funding/grant",
        "funding/contract",
    ):
        for ext in ("rss", "atom", "ics", "json"):
            assert f"{stem}.{ext}" in files
        if stem != "all":
            assert f"{stem}.html" in files
    assert {"index.html", "glossary.html", "transparency/leeds-city-council.html"} <= files
    assert "opportunities/leeds-city-council/leeds-domestic-abuse-refuges.html" in files
    assert not [name for name, size in sizes(built).items() if size == 0]


def test_the_same_plans_give_byte_identical_output(built: Path, tmp_path: Path) -> None:
    again = tmp_path / "feeds"
    build(PLANS, again, today=TODAY)
    assert _tree(again) == _tree(built)
    build(PLANS, again, today=TODAY)  # over its own last build: calendars keep SEQUENCE
    assert _tree(again) == _tree(built)


PARALLEL_BUILD = """
import datetime as dt, json, sys
from pathlib import Path
from publisher.builder import site, tasks
tasks.PARALLEL_FROM = 1
tasks.PARALLEL_FILES = 1
seen = []
site.build(Path(sys.argv[1]), Path(sys.argv[2]), today=dt.date.fromisoformat(sys.argv[3]),
           workers=2, progress=lambda *a: seen.append(a))
print(json.dumps(sorted({what for _, _, what in seen})))
"""


def parallel_build(out: Path) -> list[str]:
    """A build forced to use forked workers, in a process of its own: the build never forks
    a process that runs other threads, and a test process may have some."""
    done = subprocess.run(
        [sys.executable, "-c", PARALLEL_BUILD, str(PLANS), str(out), TODAY.isoformat()],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    stages: list[str] = json.loads(done.stdout)
    return stages


def test_a_parallel_build_gives_the_same_site(built: Path, tmp_path: Path) -> None:
    parallel = tmp_path / "feeds"
    stages = parallel_build(parallel)
    assert "Writing lists, feeds and calendars" in stages  # it did run in parallel
    assert _tree(parallel) == _tree(built)


def test_a_crash_mid_build_leaves_the_last_good_site(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "feeds"
    build(PLANS, out, today=TODAY)
    before = _tree(out)
    calls = {"n": 0}
    real = pages.notice

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(pages, "notice", failing)
    with pytest.raises(OSError):  # a new day: every notice is written again
        build(PLANS, out, today=TODAY + dt.timedelta(days=1))
    assert _tree(out) == before
    # no half-built leftovers; the cache the next build reuses is beside the site
    assert sorted(p.name for p in tmp_path.iterdir()) == [".feeds.cache", "feeds"]
    monkeypatch.setattr(pages, "notice", real)
    build(PLANS, out, today=TODAY + dt.timedelta(days=1))
    fresh = tmp_path / "fresh"
    build(PLANS, fresh, today=TODAY + dt.timedelta(days=1))
    assert _tree(out) == _tree(fresh)


def test_without_an_atomic_exchange_the_swap_still_works(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "feeds"
    build(PLANS, out, today=TODAY)
    monkeypatch.setattr(swap, "_exchange", lambda a, b: False)
    build(PLANS, out, today=TODAY)
    assert (out / "index.html").is_file()
    # the replaced site is kept as the next build's spare (spare.py)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".feeds.cache", ".feeds.spare", "feeds"]


def test_a_plan_with_errors_is_left_out_and_the_rest_publish(tmp_path: Path) -> None:
    plans = tmp_path / "plans"
    shutil.copytree(PLANS, plans)
    (plans / "calderdale-council.yaml").write_text("schema: 1\ncommissioner: [\n")
    out = tmp_path / "feeds"
    report = build(plans, out, today=TODAY)
    assert [Path(name).name for name in report.skipped] == ["calderdale-council.yaml"]
    assert report.errors >= 1
    assert not (out / "opportunities" / "calderdale-council").exists()
    assert (out / "opportunities" / "leeds-city-council").is_dir()


def _publisher(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "publisher", *args],
        cwd=cwd,
        text=True,
        capture_output=True,
        timeout=300,
        check=False,
    )


def test_build_command_reports_plainly(tmp_path: Path) -> None:
    shutil.copytree(PLANS, tmp_path / "plans")
    run = _publisher("build", "--today", "2026-11-23", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "Built " in run.stdout and "49 opportunities into feeds/." in run.stdout
    (tmp_path / "plans" / "kirklees-council.yaml").write_text("schema: 1\ncommissioner: [\n")
    run = _publisher("build", "--today", "2026-11-23", cwd=tmp_path)
    assert run.returncode == 1
    # the last build kept the file's good version: the site still shows it, and says so
    assert "publisher build: plans/kirklees-council.yaml line 2: This square bracket" in run.stderr
    assert "so the site still shows its version of 23 November 2026" in run.stderr
    assert "49 opportunities into feeds/." in run.stdout
    assert (tmp_path / "feeds" / "index.html").is_file()
    run = _publisher("build", "--today", "2026-11-23", "--out", "other", cwd=tmp_path)
    assert run.returncode == 1  # no good version anywhere: left out
    assert "Left out plans/kirklees-council.yaml: it has 1 error." in run.stdout


def test_build_command_failures_are_messages_not_tracebacks(tmp_path: Path) -> None:
    run = _publisher("build", "--plans", "nowhere", cwd=tmp_path)
    assert run.returncode == 2 and "there is no plans folder" in run.stderr
    shutil.copytree(PLANS, tmp_path / "plans")
    (tmp_path / "blocked").write_text("a file where a folder should be")
    run = _publisher("build", "--out", "blocked/feeds", "--today", "2026-11-23", cwd=tmp_path)
    assert run.returncode == 1
    assert "could not write the site to 'blocked/feeds'" in run.stderr
    assert "Traceback" not in run.stderr
    (tmp_path / "plans" / "themes.yaml").unlink()  # places.yaml may go: England's remain
    run = _publisher("build", "--today", "2026-11-23", cwd=tmp_path)
    assert run.returncode == 1 and "themes.yaml" in run.stderr and "Traceback" not in run.stderr


def test_progress_is_reported_for_each_stage(tmp_path: Path, monkeypatch) -> None:
    seen: list[tuple[int, int, str]] = []
    build(PLANS, tmp_path / "serial", today=TODAY, progress=lambda *a: seen.append(a))
    stages = {what for _, _, what in seen}
    expected = {"Reading plans and writing notices", "Writing lists, feeds and calendars"}
    assert stages == expected
    assert seen[-1][0] == seen[-1][1]  # it ends at the total
    assert set(parallel_build(tmp_path / "parallel")) == expected


def test_a_killed_builds_leftovers_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "feeds"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    leftover = tmp_path / f".feeds.building-{dead}"
    (leftover / "opportunities").mkdir(parents=True)
    replaced = tmp_path / f".feeds.old-{dead}"  # a removal that was stopped
    (replaced / "place").mkdir(parents=True)
    build(PLANS, out, today=TODAY)
    assert not leftover.exists() and not replaced.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".feeds.cache", "feeds"]


def test_lists_show_closing_soon_first_then_the_newest() -> None:
    site_data, _ = read.load_site(PLANS, TODAY)
    views = site_data.opportunities
    open_now = [v for v in views if v.item.status.value == "open" and v.closes is not None]
    closing = [v.closes.first_day for v in open_now if v.closes is not None]
    assert views[: len(open_now)] == open_now and closing == sorted(closing)
    rest = views[len(open_now) :]
    seen = [v.first_seen or dt.date.min for v in rest]
    assert seen == sorted(seen, reverse=True)


def test_a_big_replaced_site_is_removed_in_the_background(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(swap, "BACKGROUND_FROM", 1)  # the example site counts as big
    out = tmp_path / "feeds"
    build(PLANS, out, today=TODAY)
    build(PLANS, out, today=TODAY + dt.timedelta(days=1))  # the first site is the spare
    assert (tmp_path / ".feeds.spare").is_dir()
    shutil.rmtree(cache.folder_for(out))  # nothing says what the spare and the site hold:
    build(PLANS, out, today=TODAY + dt.timedelta(days=1))  # neither is kept
    assert (out / "index.html").is_file()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        left = sorted(p.name for p in tmp_path.iterdir())
        if left == [".feeds.cache", "feeds"]:
            break
        time.sleep(0.05)
    assert left == [".feeds.cache", "feeds"]  # the old site is gone, the new one in place
    assert "2026-11-24" in (out / "build.json").read_text()

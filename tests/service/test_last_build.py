"""The day the served site was built for (service/live.py): said by build.json since JSON
version 2, else by a version 1 all.json, and a new day's build, which replaces only
build.json when nothing else changed, is noticed."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import anyio

from publisher.service.live import Live, built_for, last_build
from tests.service.conftest import NOW, PLANS

DAY = dt.date(2026, 11, 24)
V1_HEAD = {"schema_version": 1, "$schema": "x", "generated_for": "2026-11-20", "collection": {}}
V2_HEAD = {"schema_version": 2, "$schema": "x", "collection": {}, "opportunities": []}


def _write(path: Path, value: object, mtime: float | None = None) -> None:
    """Write `path` as a build does: a new file moved into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    new = path.with_name(path.name + ".new")
    new.write_text(json.dumps(value, indent=2))
    if mtime is not None:
        os.utime(new, (mtime, mtime))
    new.replace(path)


def test_the_day_comes_from_build_json(tmp_path: Path) -> None:
    _write(tmp_path / "all.json", V2_HEAD, mtime=1_000_000)
    _write(tmp_path / "v1" / "all.json", V1_HEAD)  # says another day: build.json wins
    _write(tmp_path / "build.json", {"generated_for": DAY.isoformat()}, mtime=2_000_000)
    built = last_build(tmp_path)
    assert built.today == DAY
    # the newer of build.json (each day) and all.json (each change to an opportunity)
    assert built.when == dt.datetime.fromtimestamp(2_000_000, dt.UTC)
    _write(tmp_path / "all.json", V2_HEAD, mtime=3_000_000)
    assert last_build(tmp_path).when == dt.datetime.fromtimestamp(3_000_000, dt.UTC)


def test_a_site_built_before_build_json_says_the_day_in_its_version_1_files(
    tmp_path: Path,
) -> None:
    _write(tmp_path / "all.json", V1_HEAD)  # built before version 2
    assert last_build(tmp_path).today == dt.date(2026, 11, 20)
    _write(tmp_path / "all.json", V2_HEAD)
    assert built_for(tmp_path) is None  # version 2 does not say the day
    _write(tmp_path / "v1" / "all.json", {**V1_HEAD, "generated_for": "2026-11-21"})
    assert built_for(tmp_path) == dt.date(2026, 11, 21)
    _write(tmp_path / "build.json", {"generated_for": "not a day"})
    assert built_for(tmp_path) == dt.date(2026, 11, 21)


def test_no_built_site(tmp_path: Path) -> None:
    built = last_build(tmp_path)
    assert (built.when, built.today) == (None, None)
    assert Live(tmp_path, PLANS, "http://127.0.0.1:8000/", lambda: NOW).stamp() is None


def test_a_new_days_build_that_keeps_all_json_is_loaded_for_its_day(
    tmp_path: Path, unfrozen: None
) -> None:
    _write(tmp_path / "all.json", V2_HEAD)
    _write(tmp_path / "build.json", {"generated_for": DAY.isoformat()})
    live = Live(tmp_path, PLANS, "http://127.0.0.1:8000/", lambda: NOW)
    first = anyio.run(live.site)
    assert first.site.today == DAY
    assert anyio.run(live.site) is first  # nothing new: not loaded again
    kept = (tmp_path / "all.json").stat().st_ino
    _write(tmp_path / "build.json", {"generated_for": "2026-11-25"})
    assert (tmp_path / "all.json").stat().st_ino == kept
    second = anyio.run(live.site)
    assert second is not first and second.site.today == dt.date(2026, 11, 25)

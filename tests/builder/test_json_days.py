"""The JSON files on the next day (docs/json.md, version 2): with nothing else changed, the
lists are the same bytes and are not made again; only build.json, which says the day, and
v1/all.json, version 1 with its days left, are."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from publisher.builder.site import build
from publisher.formats import data, data_v1
from publisher.model.read import load_site
from tests.formats.examples import first_published
from tests.formats.test_data import validators

# The example plans were written for Monday 23 November 2026 and move on a week each
# Monday (plans/examples.py), so from Tuesday to Wednesday their dates stay put.
FIRST = dt.date(2026, 11, 24)
NEXT = FIRST + dt.timedelta(days=1)
DAILY = {data.BUILD_FILE, data_v1.PATH}


def _json(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Each JSON file's bytes and inode, by site path."""
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_ino)
        for p in sorted(folder.rglob("*.json"))
    }


def test_the_next_day_makes_again_only_the_files_that_say_the_day(tmp_path: Path) -> None:
    plans = first_published()  # committed, so each opportunity's first day is known
    out = tmp_path / "site"
    build(plans, out, today=FIRST)
    before = _json(out)
    build(plans, out, today=NEXT)
    after = _json(out)
    assert set(after) == set(before) and set(after) > DAILY
    assert len(after) > 50  # every list's file, the OCDS packages, the two daily files
    changed = {path for path in after if after[path][0] != before[path][0]}
    assert changed == DAILY
    # The lists are linked, not written again. (A commissioner's OCDS package is written
    # with its plan file's notices, which say the days left: rendered again, same bytes.)
    remade = {p for p in after if after[p][1] != before[p][1] and not p.startswith("ocds/")}
    assert remade == DAILY, sorted(remade - DAILY)
    # ... and the next day's build is byte for byte a build from scratch that day.
    fresh = tmp_path / "fresh"
    build(plans, fresh, today=NEXT)
    assert {path: made for path, (made, _) in _json(fresh).items()} == {
        path: made for path, (made, _) in after.items()
    }
    assert json.loads(after[data.BUILD_FILE][0]) == {"generated_for": NEXT.isoformat()}


def test_each_version_follows_its_schema_and_version_1_counts_the_days(tmp_path: Path) -> None:
    plans = first_published()
    out = tmp_path / "site"
    build(plans, out, today=FIRST)
    v1_first: dict[str, Any] = json.loads((out / data_v1.PATH).read_bytes())
    build(plans, out, today=NEXT)  # v1/all.json spliced from the first day's
    checked = 0
    for path in sorted(out.rglob("*.json")):
        shown = path.relative_to(out).as_posix()
        if shown.startswith(("ocds/", "static/")) or shown in DAILY:
            continue
        document = json.loads(path.read_bytes())
        for validator in validators(2):
            errors = sorted(validator.iter_errors(document), key=str)
            assert not errors, f"{shown}: {errors[0]}"
        checked += 1
    assert checked > 40
    made = (out / data_v1.PATH).read_bytes()
    v1 = json.loads(made)
    for validator in validators(1):
        errors = sorted(validator.iter_errors(v1), key=str)
        assert not errors, f"{data_v1.PATH}: {errors[0]}"
    assert (v1["schema_version"], v1["generated_for"]) == (1, NEXT.isoformat())
    # What the views of that day say, made from the opportunities' kept parts.
    site, _ = load_site(plans, NEXT)
    assert made == data.as_json_v1(site, site.everything)
    # An open opportunity has a day fewer left; the rest say the same.
    days = {o["uid"]: o["days_left"] for o in v1["opportunities"]}
    before = {o["uid"]: o["days_left"] for o in v1_first["opportunities"]}
    counted = [uid for uid, left in before.items() if left is not None]
    assert counted and all(days[uid] == before[uid] - 1 for uid in counted)
    assert all(days[uid] is None for uid in before if uid not in counted)

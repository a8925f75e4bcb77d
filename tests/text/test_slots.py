"""Counts of days as slots (text/slots.py): the words at once outside a build, a slot
while a build renders, filled for the day as a file is written; and a build of the next
day filling a kept notice's days left in, without rendering its plan file again."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from html import unescape
from pathlib import Path

from publisher.builder import cache
from publisher.builder.site import build
from publisher.text import slots
from tests.changes.gitplans import PlanRepo
from tests.formats.examples import ROOT

TODAY = dt.date(2026, 12, 7)

PLAN = """\
schema: 1
commissioner:
  id: barnsley-council
  name: Barnsley Council
  kind: council
opportunities:
  - id: advice
    title: Money advice in Barnsley
    summary: People in debt need advice close to home.
    status: open
    places: [barnsley]
    themes: [carers]
    funding: grant
    value: {total: 40000}
    dates:
      tender_opens: 2026-11-02
      tender_closes: 2026-12-18
"""


def test_outside_a_build_the_words_are_given_at_once() -> None:
    assert slots.days_until(dt.date(2026, 12, 18), TODAY) == "11 days"
    assert slots.days_until(dt.date(2026, 12, 8), TODAY) == "1 day"
    assert slots.days_since(dt.date(2026, 12, 1), TODAY) == "6 days"
    assert slots.days_since(dt.date(2026, 12, 9), TODAY) == "no days"  # not yet


def test_while_held_a_slot_is_given_and_filled_for_any_day() -> None:
    with slots.held():
        page = f"<p>{slots.days_until(dt.date(2026, 12, 18), TODAY)} left; out of date for "
        page += f"{slots.days_since(dt.date(2026, 12, 1), TODAY)}.</p>"
    assert slots.days_until(dt.date(2026, 12, 18), TODAY) == "11 days"  # held no longer
    data = page.encode()
    assert slots.MARK in data and b"11 days" not in data
    assert slots.fill(data, TODAY) == b"<p>11 days left; out of date for 6 days.</p>"
    tomorrow = slots.fill(data, TODAY + dt.timedelta(days=1))
    assert tomorrow == b"<p>10 days left; out of date for 7 days.</p>"
    assert slots.fill(b"no slots", TODAY) == b"no slots"
    assert slots.left_in(data) and not slots.left_in(tomorrow) and not slots.left_in(b"\x00")


def _text(path: Path) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", path.read_text())).split())


def test_the_next_day_fills_days_left_in_without_rendering_the_plan_again(
    tmp_path: Path,
) -> None:
    repo = PlanRepo(tmp_path / "repo")  # in git: its release dates are its commits'
    plans = repo.plans
    shutil.copy(ROOT / "plans" / "themes.yaml", plans / "themes.yaml")
    (plans / "barnsley-council.yaml").write_text(PLAN)
    repo.commit("2026-11-02", "the plan")
    out = tmp_path / "feeds"
    notice = out / "opportunities" / "barnsley-council" / "advice.html"
    folder = cache.folder_for(out.resolve())

    build(plans, out, today=TODAY)
    assert "Closes 18 December 2026. 11 days left." in _text(notice)
    assert slots.MARK not in notice.read_bytes()
    first = cache.load_manifest(folder, out.resolve())
    assert first is not None

    build(plans, out, today=TODAY + dt.timedelta(days=1))
    assert "Closes 18 December 2026. 10 days left." in _text(notice)
    after = cache.load_manifest(folder, out.resolve())
    assert after is not None
    mine = next(path for path in first.entries if path.endswith("barnsley-council.yaml"))
    assert after.entries[mine] == first.entries[mine]  # its notices were not rendered again

    fresh = tmp_path / "fresh"
    build(plans, fresh, today=TODAY + dt.timedelta(days=1))
    assert notice.read_bytes() == (fresh / notice.relative_to(out)).read_bytes()

    build(plans, out, today=dt.date(2026, 12, 18))  # its last day: rendered, and says so
    assert "Closes today." in _text(notice)


TWO = (
    PLAN
    + """\
  - id: befriending
    title: Befriending for older people in Barnsley
    summary: Older people living alone need someone to talk to.
    status: planning
    places: [barnsley]
    themes: [carers]
    funding: grant
    value: {total: 20000}
    dates:
      tender_opens: 2026-12-08
      tender_closes: 2027-01-22
"""
)


def test_a_plan_read_again_takes_its_opportunities_that_read_the_same(tmp_path: Path) -> None:
    # Befriending opens on the 8th; the advice grants read the same that day but for
    # their days left, so their notice is filled in from its slots, not rendered.
    repo = PlanRepo(tmp_path / "repo")
    plans = repo.plans
    shutil.copy(ROOT / "plans" / "themes.yaml", plans / "themes.yaml")
    (plans / "barnsley-council.yaml").write_text(TWO)
    repo.commit("2026-11-02", "the plan")
    out = tmp_path / "feeds"
    folder = cache.folder_for(out.resolve())
    build(plans, out, today=TODAY)
    first = cache.load_manifest(folder, out.resolve())
    assert first is not None
    mine = next(path for path in first.entries if path.endswith("barnsley-council.yaml"))
    entry = cache.load_entry(folder, first.entries[mine])
    assert entry is not None and set(entry.units) == {
        "barnsley-council/advice",
        "barnsley-council/befriending",
    }

    day = TODAY + dt.timedelta(days=1)
    build(plans, out, today=day)
    after = cache.load_manifest(folder, out.resolve())
    assert after is not None and after.entries[mine] != first.entries[mine]  # read again
    again = cache.load_entry(folder, after.entries[mine])
    assert again is not None
    # the advice grants' unit was taken as it was; befriending's was made again
    assert again.units["barnsley-council/advice"] == entry.units["barnsley-council/advice"]
    assert (
        again.units["barnsley-council/befriending"] != entry.units["barnsley-council/befriending"]
    )
    notices = out / "opportunities" / "barnsley-council"
    assert "10 days left" in _text(notices / "advice.html")
    assert "open now" in _text(notices / "befriending.html")

    fresh = tmp_path / "fresh"
    build(plans, fresh, today=day)
    for path in sorted(p for p in fresh.rglob("*") if p.is_file()):
        assert path.read_bytes() == (out / path.relative_to(fresh)).read_bytes(), path
        assert not slots.left_in(path.read_bytes()), path  # every slot filled, everywhere


def test_a_plan_read_again_on_another_day_is_not_parsed_again(tmp_path: Path) -> None:
    repo = PlanRepo(tmp_path / "repo")
    shutil.copy(ROOT / "plans" / "themes.yaml", repo.plans / "themes.yaml")
    (repo.plans / "barnsley-council.yaml").write_text(TWO)
    repo.commit("2026-11-02", "the plan")
    out = tmp_path / "feeds"
    folder = cache.folder_for(out.resolve())
    readings = []
    for day in (TODAY, TODAY + dt.timedelta(days=1)):  # befriending opens: read again
        build(repo.plans, out, today=day)
        manifest = cache.load_manifest(folder, out.resolve())
        assert manifest is not None
        name = next(n for p, n in manifest.entries.items() if "barnsley" in p)
        readings.append((name, (folder / f"{name}.read").stat().st_ino))
    assert readings[0][0] != readings[1][0]  # rendered again...
    assert readings[0][1] == readings[1][1]  # ... from the reading the first day kept

"""The demo stays alive: an example plan with `written_for` is read as if written for the
build's day, every date moved by the same whole weeks (months, quarters, years for
approximate dates), in the model once, so the check, pages, feeds, calendars and JSON agree;
the example without `written_for` is left to go stale, and shows it."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from publisher import cli
from publisher.builder.site import build
from publisher.model.read import load_site
from publisher.model.views import OpportunityView, SiteData, State
from publisher.plans.dates import PlanDate, Precision
from publisher.plans.examples import Shift, shift_words, shifted
from publisher.plans.model import Opportunity, PlanHeader
from tests.formats.examples import ROOT

PLANS = ROOT / "plans"
WRITTEN_FOR = dt.date(2026, 11, 23)  # a Monday, as the example plans say
LATER = dt.date(2027, 12, 6)  # 54 weeks on: a Monday too
UNMOVED = "wakefield-council"  # the example with no written_for, left to go stale


def dates_in(value: Any, path: str = "") -> Iterator[tuple[str, PlanDate]]:
    """Every plan date in an opportunity, by where it is."""
    if isinstance(value, PlanDate):
        yield path, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from dates_in(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, list | tuple):
        for index, inner in enumerate(value):
            yield from dates_in(inner, f"{path}[{index}]")


# --- the arithmetic ---------------------------------------------------------------------


def test_whole_weeks_and_the_periods_they_carry_a_date_over() -> None:
    assert Shift.between(WRITTEN_FOR, LATER) == Shift(weeks=54, months=13, quarters=4, years=1)
    # Within the first week nothing moves; on the next Monday, a week.
    assert not Shift.between(WRITTEN_FOR, dt.date(2026, 11, 29))
    assert Shift.between(WRITTEN_FOR, dt.date(2026, 11, 30)) == Shift(1, 0, 0, 0)
    assert Shift.between(WRITTEN_FOR, dt.date(2026, 12, 7)) == Shift(2, 1, 0, 0)
    assert Shift.between(WRITTEN_FOR, dt.date(2026, 11, 16)) == Shift(-1, 0, 0, 0)
    assert Shift.between(WRITTEN_FOR, WRITTEN_FOR) == Shift(0, 0, 0, 0)


@pytest.mark.parametrize(
    ("written", "moved"),
    [
        ("2027-02-02T18:30", "2028-02-15T18:30"),  # a Tuesday evening stays one
        ("2026-12-07", "2027-12-20"),
        ("2027-05", "2028-06"),
        ("2027-Q3", "2028-Q3"),
        ("2026-Q4", "2027-Q4"),
        ("2027", "2028"),
    ],
)
def test_a_date_moves_as_precisely_as_it_was_written(written: str, moved: str) -> None:
    before = PlanDate.parse(written)
    after = Shift.between(WRITTEN_FOR, LATER).plan_date(before)
    assert after.text == moved
    assert after.precision is before.precision
    if not before.is_approximate:
        assert after.first_day.weekday() == before.first_day.weekday()


def test_sentences_name_the_moved_dates() -> None:
    shift = Shift.between(WRITTEN_FOR, LATER)
    assert shift_words("Applications close on 8 January 2027.", shift) == (
        "Applications close on 21 January 2028."
    )
    assert shift_words("We will decide in May 2027, after talking in spring 2027.", shift) == (
        "We will decide in June 2028, after talking in spring 2028."
    )
    assert shift_words("Warm spaces for winter 2026 to 2027", shift) == (
        "Warm spaces for winter 2027 to 2028"
    )
    assert shift_words("We expect to know in January.", shift) == "We expect to know in February."
    # Money, counts and words that are not dates stay as they are.
    for words in ("Grants of £2,000 to £20,000.", "We may fund 2030 hours.", "Maybe in 2,027"):
        assert shift_words(words, Shift(54, 13, 4, 1)) == words.replace("2030", "2031")


def test_written_for_is_only_for_example_plans() -> None:
    header = {"schema": 1, "commissioner": {"id": "x", "name": "X", "kind": "council"}}
    assert PlanHeader.model_validate({**header, "example": True, "written_for": "2026-11-23"})
    with pytest.raises(ValidationError, match="only for example plans"):
        PlanHeader.model_validate({**header, "written_for": "2026-11-23"})


def test_an_opportunity_keeps_the_fields_it_set() -> None:
    item = Opportunity.model_validate(
        {"id": "a", "title": "A", "summary": "Closes on 8 January 2027.", "status": "open",
         "dates": {"tender_closes": "2027-01-08"}}
    )  # fmt: skip
    moved = shifted(item, Shift.between(WRITTEN_FOR, LATER))
    assert moved.model_dump(exclude_unset=True).keys() == item.model_dump(exclude_unset=True).keys()
    assert moved.dates.tender_closes == PlanDate.parse("2028-01-21")
    assert moved.summary == "Closes on 21 January 2028."
    assert moved.id == item.id


# --- the example site, a year on --------------------------------------------------------


@pytest.fixture(scope="module")
def sites() -> tuple[SiteData, SiteData]:
    then, problems = load_site(PLANS, WRITTEN_FOR)
    assert not [p for p in problems if p.severity.value == "error"]
    later, _ = load_site(PLANS, LATER)
    return then, later


def by_uid(site: SiteData) -> dict[str, OpportunityView]:
    return {view.uid: view for view in site.opportunities if view.withdrawn is None}


def test_a_year_on_every_moved_date_is_54_weeks_on_as_precise_as_before(
    sites: tuple[SiteData, SiteData],
) -> None:
    then, later = by_uid(sites[0]), by_uid(sites[1])
    assert then.keys() == later.keys()
    shift = Shift.between(WRITTEN_FOR, LATER)
    moved = 0
    for uid, view in then.items():
        before, after = dict(dates_in(view.item)), dict(dates_in(later[uid].item))
        assert before.keys() == after.keys(), uid
        for where, date in before.items():
            if view.commissioner.id == UNMOVED:
                assert after[where] == date, (uid, where)
                continue
            assert after[where] == shift.plan_date(date), (uid, where)
            assert after[where].precision is date.precision
            if not date.is_approximate:
                assert after[where].first_day - date.first_day == dt.timedelta(weeks=54)
                assert after[where].first_day.weekday() == date.first_day.weekday()
            moved += 1
    assert moved > 100  # every example but one has many dates


def test_a_year_on_the_moved_examples_read_as_they_did(sites: tuple[SiteData, SiteData]) -> None:
    then, later = by_uid(sites[0]), by_uid(sites[1])
    moved = [uid for uid, view in then.items() if view.commissioner.id != UNMOVED]
    # What was open on the day the examples were written is open a year on, with as many
    # days left; what was opening soon still is; nothing moved reads as behind its dates.
    assert sum(then[uid].state is State.OPEN for uid in moved) >= 3
    for uid in moved:
        assert later[uid].state is then[uid].state, uid
        assert later[uid].days_left == then[uid].days_left, uid
        assert later[uid].stale == _moved_stale(then[uid]), uid
        assert later[uid].item.status is then[uid].item.status
        assert later[uid].commissioner.example


def _moved_stale(view: OpportunityView) -> object:
    if view.stale is None:
        return None
    shift = Shift.between(WRITTEN_FOR, LATER)
    return type(view.stale)(
        view.stale.behind,
        view.stale.says,
        shift.plan_date(view.stale.date),
        shift.day(view.stale.since),
        None if view.stale.updated is None else shift.day(view.stale.updated),
    )


def test_what_git_tells_moves_with_the_dates(sites: tuple[SiteData, SiteData]) -> None:
    then, later = by_uid(sites[0]), by_uid(sites[1])
    published = [
        (then[uid].published, view.published)
        for uid, view in later.items()
        if view.commissioner.id != UNMOVED and then[uid].published is not None
    ]
    assert published  # the examples are in git
    for before, after in published:
        assert after == min(before + dt.timedelta(weeks=54), LATER)  # type: ignore[operator]


def test_the_example_left_unmoved_shows_as_stale(sites: tuple[SiteData, SiteData]) -> None:
    then, later = by_uid(sites[0]), by_uid(sites[1])
    unmoved = [uid for uid in later if uid.startswith(f"{UNMOVED}/")]
    assert unmoved
    assert all(later[uid].item == then[uid].item for uid in unmoved)
    assert not any(then[uid].stale for uid in unmoved)
    stale = [later[uid] for uid in unmoved if later[uid].stale is not None]
    assert len(stale) >= 2
    assert all(view.stale.updated is not None and view.stale.updated < LATER for view in stale)  # type: ignore[union-attr]


def test_on_the_day_written_for_nothing_moves(tmp_path: Path) -> None:
    """Built on the day the examples were written for (or within that week), the model's
    dates are those of the plans as written: the same as with no written_for at all."""
    plain = tmp_path / "plain"
    shutil.copytree(PLANS, plain)
    for path in plain.glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(r"(?m)^written_for: .*\n", "", text), encoding="utf-8")
    copied = tmp_path / "copied"
    shutil.copytree(PLANS, copied)  # outside git too, so both have no history
    for day in (WRITTEN_FOR, dt.date(2026, 11, 29)):
        as_written, _ = load_site(plain, day)
        with_field, _ = load_site(copied, day)
        assert [v.item for v in as_written.opportunities] == [
            v.item for v in with_field.opportunities
        ]
        assert all(v.written is None for v in with_field.opportunities)
    a_week_on, _ = load_site(copied, dt.date(2026, 11, 30))
    assert any(v.written is not None for v in a_week_on.opportunities)


# --- every format, and the check --------------------------------------------------------


def test_pages_feeds_calendars_and_json_show_the_moved_dates(
    tmp_path: Path, sites: tuple[SiteData, SiteData]
) -> None:
    out = tmp_path / "site"
    build(PLANS, out, today=LATER, workers=1)
    views = by_uid(sites[1])
    data = {o["uid"]: o for o in json.loads((out / "all.json").read_text())["opportunities"]}
    calendar = (out / "all.ics").read_text()
    opening = [
        view
        for view in views.values()
        if view.commissioner.id != UNMOVED
        and view.item.dates.tender_opens is not None
        and not view.item.dates.tender_opens.is_approximate
    ]
    assert opening
    for view in opening:
        opens = view.item.dates.tender_opens
        assert opens is not None
        assert data[view.uid]["dates"]["tender_opens"]["text"] == opens.text
        assert data[view.uid]["commissioner"]["example"] is True
        page = (out / view.url).read_text()
        assert "Example only" in page
        assert f"{opens.first_day.day} {opens.first_day:%B %Y}" in page
    for view in views.values():
        for event in view.item.dates.engagement:
            if view.commissioner.id != UNMOVED and event.start.precision is Precision.MINUTE:
                assert f"DTSTART;TZID=Europe/London:{event.start.start:%Y%m%dT%H%M}" in calendar


def test_the_check_does_not_warn_of_passed_dates_in_moved_examples(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = cli.main(["check", str(PLANS), "--today", LATER.isoformat()])
    out = capsys.readouterr().out
    assert code == 0
    passed = [line for line in out.splitlines() if "[date-passed]" in line or "has passed" in line]
    assert passed and all(UNMOVED in line for line in passed if ".yaml:" in line)


def test_the_move_is_not_news(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    """A year on, every example date has moved, but no plan was edited: nothing to announce."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'publisher.db'}")
    monkeypatch.setenv("PUBLISHER_MAILDIR", str(tmp_path / "mail"))
    monkeypatch.delenv("SMTP_URL", raising=False)
    assert cli.main(["notify", "--plans", str(PLANS), "--now", "2026-11-23T09:00"]) == 0
    capsys.readouterr()
    assert cli.main(["notify", "--plans", str(PLANS), "--now", "2027-12-06T09:00"]) == 0
    assert "No changes that matter" in capsys.readouterr().out

"""The built site tells a plan's history: notices list what has changed, feeds get an item
per announced change, calendars keep UIDs and raise SEQUENCE, withdrawn opportunities stay
findable and say so."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import feedparser
import pytest
from icalendar import Calendar

from publisher.builder.site import build
from tests.changes.gitplans import COMMISSIONER, PlanRepo
from tests.formats import ocds_schemas
from tests.formats.test_ocds import merger

TODAY = dt.date(2026, 6, 1)
NOTICE = f"opportunities/{COMMISSIONER}/social-prescribing.html"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[PlanRepo, Path, str, str]:
    repo = PlanRepo(tmp_path_factory.mktemp("site-history"))
    repo.opportunities.append(
        {**repo.opportunities[0], "id": "carers-grants", "title": "Grants for carers' groups"}
    )
    repo.commit("2026-05-01", "first plan")
    out = repo.root / "feeds"
    build(repo.plans, out, today=TODAY)
    first_ics = (out / "all.ics").read_text()
    repo.first["dates"]["tender_closes"] = "2027-07-31"
    repo.first["summary"] = "Link workers help people find groups near them."
    repo.opportunities.pop(1)
    head = repo.commit("2026-05-20", "closing later; carers' grants withdrawn")
    build(repo.plans, out, today=TODAY)
    return repo, out, first_ics, head


def test_the_notice_lists_what_has_changed_with_dates(
    built: tuple[PlanRepo, Path, str, str],
) -> None:
    _, out, _, _ = built
    page = (out / NOTICE).read_text()
    section = page[page.index('id="last-changed"') :]
    assert "20 May 2026" in section and "1 May 2026" in section
    assert "The closing date for bids has moved later" in section
    assert "Details updated (summary)." in section
    assert section.index("20 May 2026") < section.index("1 May 2026")  # newest first
    assert "first published on 1 May 2026" in page  # the notice given, from git


def test_feeds_get_an_item_per_announced_change_with_a_stable_id(
    built: tuple[PlanRepo, Path, str, str],
) -> None:
    repo, out, _, head = built
    feed = feedparser.parse((out / "all.atom").read_bytes())
    assert not feed.bozo
    ids = [entry.id for entry in feed.entries]
    change = f"{NOTICE.removesuffix('.html')}/changes/{head[:12]}"
    assert any(i.endswith(change) for i in ids)
    item = next(e for e in feed.entries if e.id.endswith(change))
    assert item.title == "Changed: Social prescribing link workers in Leeds"
    assert "moved later" in item.summary and "Details updated" not in item.summary
    withdrawn = [e for e in feed.entries if "carers-grants" in e.id]
    assert {e.title for e in withdrawn} == {"Withdrawn: Grants for carers' groups"}
    assert len(withdrawn) == 2  # its own item, and the announcement of its withdrawal
    build(repo.plans, out, today=TODAY)  # built again: the same ids, the same bytes
    again = feedparser.parse((out / "all.atom").read_bytes())
    assert [e.id for e in again.entries] == ids


def test_calendars_keep_uids_raise_sequence_and_cancel_withdrawn_dates(
    built: tuple[PlanRepo, Path, str, str],
) -> None:
    _, out, first_ics, _ = built
    before = {str(e["UID"]): e for e in Calendar.from_ical(first_ics).walk("VEVENT")}
    after = {
        str(e["UID"]): e for e in Calendar.from_ical((out / "all.ics").read_text()).walk("VEVENT")
    }
    assert before.keys() == after.keys()
    moved = [uid for uid in after if "social-prescribing" in uid and "tender_closes" in uid]
    assert len(moved) == 1
    assert int(after[moved[0]].get("SEQUENCE", 0)) == int(before[moved[0]].get("SEQUENCE", 0)) + 1
    for uid, event in after.items():
        if "carers-grants" in uid:
            assert event["STATUS"] == "CANCELLED"


def test_a_withdrawn_opportunity_keeps_its_notice_and_leaves_the_lists(
    built: tuple[PlanRepo, Path, str, str],
) -> None:
    _, out, _, _ = built
    page = (out / f"opportunities/{COMMISSIONER}/carers-grants.html").read_text()
    assert "taken out of the plan on 20 May 2026" in page
    assert "carers-grants.html" not in (out / "index.html").read_text()
    data = json.loads((out / "all.json").read_text())
    record = next(o for o in data["opportunities"] if o["uid"].endswith("carers-grants"))
    assert record["withdrawn"] == "2026-05-20"
    assert record["first_published"] == "2026-05-01"
    assert [c["announced"] for c in record["changes"]] == [True, True]


def test_open_data_gets_a_release_per_announced_version(
    built: tuple[PlanRepo, Path, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _, _ = built
    package = json.loads((out / "ocds/release-package.json").read_text())
    mine = [r for r in package["releases"] if r["ocid"].endswith("-social-prescribing")]
    assert [r["date"][:10] for r in mine] == ["2026-05-01", "2026-05-20"]
    assert len({r["id"] for r in mine}) == 2
    closes = [r["tender"]["tenderPeriod"]["endDate"][:10] for r in mine]
    assert closes == ["2027-04-01", "2027-07-31"]  # Q2 as its first day, then the day
    assert ocds_schemas.main([str(out / "ocds/release-package.json")]) == 0
    capsys.readouterr()
    record = merger().create_compiled_release(mine)
    assert record["tender"]["tenderPeriod"]["endDate"].startswith("2027-07-31")

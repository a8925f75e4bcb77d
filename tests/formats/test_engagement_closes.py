"""When preliminary market engagement closes (`dates.engagement_closes`), the date a
Procurement Act UK2 notice gives: checked (a date; after the tender opens; missing where a
UK2 notice needs it), on the notice, in the calendar, the JSON and the feeds' news, in the
OCDS UK2 release where Find a Tender puts it, and in `publisher pipeline`'s notes."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from html import unescape
from pathlib import Path

from icalendar import Calendar

from publisher.changes import diff, wording
from publisher.formats import calendar, data, ocds, ocds_releases, pages, pipeline
from publisher.model.views import OpportunityView, SiteData
from publisher.plans.check import check
from publisher.plans.dates import PlanDate
from publisher.plans.errors import Severity
from tests.formats.examples import ROOT
from tests.formats.ocds_schemas import errors as ocds_errors

KIRKLEES = "kirklees-council/kirklees-welfare-debt-advice"  # competitive flexible, UK2
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
    status: engagement
    places: [barnsley]
    themes: [carers]
    funding: contract
    route: {route}
    value: {{total: 400000}}
    duration: {{years: 2}}
    dates:
      engagement:
        - title: Open meeting for advice groups
          start: 2027-01-13T10:00
          where: Town Hall, Barnsley
{closes}      tender_opens: 2027-04-05
      service_starts: 2027-10-01
"""


def _view(site: SiteData, uid: str) -> OpportunityView:
    return next(view for view in site.opportunities if view.uid == uid)


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _problems(tmp_path: Path, closes: str | None, route: str = "open") -> list[tuple[str, ...]]:
    folder = tmp_path / "plans"
    folder.mkdir(parents=True)
    shutil.copy(ROOT / "plans" / "themes.yaml", folder / "themes.yaml")
    line = f"      engagement_closes: {closes}\n" if closes is not None else ""
    (folder / "barnsley-council.yaml").write_text(PLAN.format(route=route, closes=line))
    return [
        (p.severity.value, p.code, f"{Path(p.file).name}:{p.line}", p.message)
        for p in check([folder], TODAY).problems
    ]


# --- the check ------------------------------------------------------------------------------


def test_a_closing_date_that_is_no_date_is_an_error_at_its_line(tmp_path: Path) -> None:
    found = [p for p in _problems(tmp_path, "next week") if p[0] == Severity.ERROR.value]
    assert len(found) == 1
    _, _, where, message = found[0]
    assert where == "barnsley-council.yaml:22"
    assert "next week" in message


def test_a_closing_date_after_the_tender_opens_is_a_warning(tmp_path: Path) -> None:
    found = [p for p in _problems(tmp_path, "2027-05-01") if p[1] == "engagement-after-tender"]
    assert found == [
        (
            "warning",
            "engagement-after-tender",
            "barnsley-council.yaml:22",
            "Market engagement closes after the tender opens.",
        )
    ]
    assert not [p for p in _problems(tmp_path / "b", "2027-02-12") if p[0] == "warning"]


def test_a_uk2_without_a_closing_date_is_a_warning_only_under_the_act(tmp_path: Path) -> None:
    found = [p[1:3] for p in _problems(tmp_path, None) if p[0] == "warning"]
    assert found == [("engagement-closes-missing", "barnsley-council.yaml:18")]
    # the NHS Provider Selection Regime has no UK2 notice
    psr = _problems(tmp_path / "psr", None, route="competitive")
    assert "engagement-closes-missing" not in [p[1] for p in psr]


# --- what the public sees --------------------------------------------------------------------


def test_the_notice_says_when_engagement_closes(site: SiteData) -> None:
    view = _view(site, KIRKLEES)
    assert view.item.dates.engagement_closes == PlanDate.parse("2027-02-12")
    text = _text(pages.notice(site, view))
    assert "You can take part in the market engagement until 12 February 2027" in text
    assert "12 February 2027 : Market engagement closes." in text  # the timeline


def test_the_calendar_and_the_json_have_it_as_a_key_date(site: SiteData) -> None:
    view = _view(site, KIRKLEES)
    [event] = [
        e
        for e in Calendar.from_ical(calendar.ics(site, site.everything)).walk("VEVENT")
        if str(e["UID"]).startswith(f"{KIRKLEES}/engagement_closes@")
    ]
    assert event.decoded("DTSTART") == dt.date(2027, 2, 12)
    assert "Market engagement closes" in str(event["SUMMARY"])
    dates = data.opportunity(site, view)["dates"]
    assert dates["engagement_closes"]["label"] == "Market engagement closes"
    assert next(iter(dates)) == "engagement_closes"


def test_a_moved_closing_date_is_news(site: SiteData) -> None:
    item = _view(site, KIRKLEES).item
    later = item.dates.model_copy(update={"engagement_closes": PlanDate.parse("2027-02-26")})
    (change,) = diff.compare(item, item.model_copy(update={"dates": later}))
    assert change.is_news
    assert "date market engagement closes" in wording.sentence(change)


# --- OCDS and the pipeline -------------------------------------------------------------------


def test_the_uk2_release_has_the_closing_date_as_an_engagement_milestone(site: SiteData) -> None:
    view = _view(site, KIRKLEES)
    release = ocds_releases.release(site, view, dt.date(2026, 11, 23), ocds.DEFAULT_PREFIX)
    planning = release["planning"]
    assert [d["noticeType"] for d in planning["documents"]] == ["UK2"]
    closes = planning["milestones"][-1]
    assert closes == {
        "id": "engagement-closes",
        "title": "Market engagement closes",
        "type": "engagement",
        "description": "The last day to take part in preliminary market engagement.",
        "dueDate": "2027-02-12T23:59:59+00:00",
        "datePrecision": {"dueDate": "day"},
    }
    # the package validates against OCDS 1.1.5 and the UK profile, kept in the repository
    package = ocds.package(site, [release], "ocds/kirklees.json", view.commissioner)
    ours = ROOT / "publisher" / "templates" / "static" / "ocds-extension"
    own = [url for url in package["extensions"] if url.startswith(site.link(""))]
    ours_schema = json.loads((ours / "release-schema.json").read_text(encoding="utf-8"))
    assert ocds_errors(package, own, [ours_schema]) == []


def test_the_pipeline_notes_a_uk2_that_needs_its_closing_date(site: SiteData) -> None:
    listed = pipeline.listing(site, "west-yorkshire-icb", 2027)
    notes = {e.view.item.id: e.notes for e in (*listed.entries, *listed.undated)}
    said = "must say when the engagement closes, and the plan does not (dates.engagement_closes)"
    assert any(said in note for note in notes["wy-mens-suicide-prevention"])
    # one that gives it is not told
    kirklees = pipeline.listing(site, "kirklees-council", 2027)
    assert not any(said in n for e in kirklees.entries for n in e.notes)

"""The Procurement Act pipeline notice (UK1) from the plans: the example ICB's listing names
each contract of £2 million or more planned in the 18 months from 1 April (worked out here
from the plans themselves), says what the plan does not yet say, and its release package
validates offline against OCDS 1.1.5 with the UK profile's extensions."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from publisher.formats import ocds, ocds_releases, pipeline
from publisher.formats.ocds_uk import PSR_ROUTES
from publisher.model.views import SiteData
from publisher.plans.model import Funding, Money, Range
from tests.formats import ocds_schemas
from tests.formats.examples import ROOT
from tests.formats.examples import load_first_published as load

ICB = "west-yorkshire-icb"
OWN_EXTENSION = ROOT / "publisher" / "templates" / "static" / "ocds-extension"


@pytest.fixture(scope="module")
def site() -> SiteData:
    return load()


def expected(site: SiteData, year: int) -> list[str]:
    """The ICB's contracts of £2 million or more whose tender opens in the 18 months from
    1 April `year`, outside the Provider Selection Regime, straight from the plans."""
    start, end = dt.date(year, 4, 1), dt.date(year + 1, 9, 30)
    found = []
    for view in site.opportunities:
        item = view.item
        if view.commissioner.id != ICB or view.is_cancelled or item.funding != Funding.CONTRACT:
            continue
        if item.route in PSR_ROUTES or item.value is None or item.dates.tender_opens is None:
            continue
        total = item.value.total
        top = total.max if isinstance(total, Range) else total
        opens = item.dates.tender_opens
        in_window = opens.first_day <= end and opens.last_day >= start
        if top is not None and top >= 2_000_000 and in_window:
            found.append(item.id)
    return found


def test_the_icb_listing_names_each_contract_of_two_million_or_more(site: SiteData) -> None:
    year = pipeline.default_year(site.today)
    assert year == 2027  # the plans are read for 23 November 2026: next notice due May 2027
    want = expected(site, year)
    assert want  # the example ICB has at least one
    listed = pipeline.listing(site, ICB, year)
    assert [e.view.item.id for e in listed.entries] == want
    text = pipeline.text(listed)
    for entry in listed.entries:
        assert f"{entry.view.item.title} ({entry.view.item.id})" in text
    assert "Estimated value: £2.4 million" in text
    assert "1 April 2027 to 30 September 2028" in text
    assert "by 26 May 2027" in text
    assert "does not\nsend anything to Find a Tender" in text
    # Not the smaller contracts, the grants or the Provider Selection Regime's direct awards
    for view in site.opportunities:
        if view.commissioner.id == ICB and view.item.id not in want:
            assert f"({view.item.id})" not in text.split("No value in the plan")[0]


def test_what_the_plan_does_not_say_is_named_with_its_reason(site: SiteData) -> None:
    listed = pipeline.listing(site, ICB, 2027)
    [unvalued] = [e for e in listed.unvalued if e.view.item.id == "wy-getting-online-for-health"]
    assert unvalued.missing[0].startswith("its estimated value (value). The plan says why: ")
    assert any("dates.tender_opens" in gap for gap in unvalued.missing)
    [entry] = listed.entries
    assert entry.missing == ()
    assert any("does not say which rules apply" in note for note in entry.notes)


def test_the_provider_selection_regime_is_left_out_and_said_so() -> None:
    site = load()  # its own copy: one opportunity is made bigger
    index = next(
        i for i, v in enumerate(site.opportunities) if v.item.id == "wy-talking-therapies-choice"
    )
    view = site.opportunities[index]
    assert view.item.route in PSR_ROUTES
    bigger = view.item.model_copy(update={"value": Money(total=3_000_000)})
    site.opportunities[index] = dataclasses.replace(view, item=bigger)
    listed = pipeline.listing(site, ICB, 2027)
    assert "wy-talking-therapies-choice" not in [e.view.item.id for e in listed.entries]
    [(entry, why)] = listed.outside
    assert entry.view.item.id == "wy-talking-therapies-choice"
    assert "Provider Selection Regime" in why
    assert "Left out (not under the Procurement Act 2023):" in pipeline.text(listed)


def test_a_tender_already_open_is_listed_and_said_so(site: SiteData) -> None:
    listed = pipeline.listing(site, "kirklees-council", 2026)
    assert [e.view.item.id for e in listed.entries] == ["kirklees-young-people-supported-housing"]
    assert "Its tender has already opened." in listed.entries[0].notes


def test_a_yearly_amount_counts_over_the_whole_length_with_extensions() -> None:
    worked = pipeline.estimate(Money(per_year=Range(min=100000, max=500000)), 5)
    assert worked == pipeline.Estimate(2_500_000, "worked out from the yearly amount over 5 years")
    assert pipeline.estimate(Money(per_year=500000), None) is None
    assert pipeline.estimate(Money(min=1, max=3_000_000), None) == pipeline.Estimate(3_000_000, "")


def test_the_package_validates_against_ocds_and_the_uk_profile(site: SiteData) -> None:
    listed = pipeline.listing(site, ICB, 2027)
    package: dict[str, Any] = pipeline.package(site, listed)
    own = [url for url in package["extensions"] if ocds_schemas.kept(url) is None]
    assert own == [site.link(f"{ocds.EXTENSION}/extension.json")]
    patch = ocds_schemas.read(OWN_EXTENSION / "release-schema.json")
    assert ocds_schemas.errors(package, own, [patch]) == []
    [release] = package["releases"]
    [document] = release["planning"]["documents"]
    assert (document["noticeType"], document["documentType"]) == (
        "UK1",
        "plannedProcurementNotice",
    )
    assert release["tender"]["value"] == {"amount": 2400000, "currency": "GBP"}
    assert package["publisher"]["name"] == "NHS West Yorkshire Integrated Care Board"
    # The same ocid as the site's own releases of it
    assert release["ocid"] == f"{ocds.DEFAULT_PREFIX}-{ICB}-wy-mens-suicide-prevention"
    # A broken release is caught: the check is real
    release["planning"]["documents"][0]["noticeType"] = 1
    assert ocds_schemas.errors(package, own, [patch])


def test_site_releases_stand_for_uk2_or_uk3_only_under_the_act(site: SiteData) -> None:
    whole = ocds.package(
        site,
        [
            r
            for v in site.opportunities
            for r in ocds_releases.releases(site, ocds_releases.history(site, v), "ocds-test00")
        ],
        "ocds/test.json",
    )
    kinds = {}
    by_ocid = {r["ocid"].removeprefix("ocds-test00-"): r for r in whole["releases"]}
    grants = by_ocid["bradford-district-and-craven-partnership-bdc-small-health-grants"]
    assert grants["tender"]["suitability"] == {"sme": True, "vcse": True}  # CICs among them
    assert "suitability" not in by_ocid[f"{ICB}-wy-mens-suicide-prevention"]["tender"]
    assert by_ocid[f"{ICB}-wy-mens-suicide-prevention"]["parties"][0]["details"] == {"vcse": False}
    for release in whole["releases"]:
        docs = release.get("planning", {}).get("documents", [])
        kinds[release["ocid"].removeprefix("ocds-test00-")] = [d["noticeType"] for d in docs]
    assert kinds[f"{ICB}-wy-mens-suicide-prevention"] == ["UK2"]  # engagement events
    assert kinds["calderdale-council-calderdale-handyperson"] == ["UK3"]
    assert kinds[f"{ICB}-wy-talking-therapies-choice"] == []  # Provider Selection Regime
    assert kinds[f"{ICB}-wy-home-from-hospital-winter"] == []  # a grant


@pytest.mark.parametrize("year", [2024, 2040])
def test_a_year_out_of_range_is_refused_in_words(site: SiteData, year: int) -> None:
    with pytest.raises(pipeline.PipelineError, match=f"no pipeline notice for {year}: choose"):
        pipeline.listing(site, ICB, year)


def test_an_unknown_commissioner_gets_a_suggestion(site: SiteData) -> None:
    with pytest.raises(pipeline.PipelineError, match="did you mean 'west-yorkshire-icb'"):
        pipeline.listing(site, "west-yorkshire-ibc", 2027)
    with pytest.raises(pipeline.PipelineError, match="The plans are for: bradford"):
        pipeline.listing(site, "nowhere", 2027)

"""A district of a county split between ICBs reaches its own ICB and sub-ICB location, not
only its county (england-places.csv's also_within, Places.chain): Epping Forest is in
Essex, whose districts are in three ICBs, and in Hertfordshire and West Essex ICB."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from html import unescape
from pathlib import Path

from publisher.formats import list_pages
from publisher.model.read import load_site
from publisher.plans.england import england_also_within, england_places
from publisher.plans.errors import Severity
from publisher.plans.reference import Places

ROOT = Path(__file__).parents[2]
TODAY = dt.date(2026, 12, 7)
HWE = "hertfordshire-and-west-essex"  # NHS Hertfordshire and West Essex ICB

OPPORTUNITY = """\
  - id: {id}
    title: A day centre for older people in {id}
    summary: Older people need a place to meet.
    status: planning
    places: [{places}]
    themes: [carers]
    funding: contract
    route: open
    value: {{total: 400000}}
    duration: {{years: 2}}
    dates:
      tender_opens: 2027-06
      service_starts: 2027-10
"""


def _site(tmp_path: Path, **opportunities: str) -> Path:
    folder = tmp_path / "plans"
    folder.mkdir()
    shutil.copy(ROOT / "plans" / "themes.yaml", folder / "themes.yaml")
    plan = "schema: 1\ncommissioner:\n  id: essex-health\n  name: Essex Health\n  kind: other\n"
    plan += "opportunities:\n" + "".join(
        OPPORTUNITY.format(id=key, places=places) for key, places in opportunities.items()
    )
    (folder / "essex-health.yaml").write_text(plan)
    return folder


def test_districts_of_split_counties_are_also_within_their_sub_icb_locations() -> None:
    england = england_places()
    also = england_also_within()
    # Essex is in no one ICB; Epping Forest, Harlow and Uttlesford are its part of H&WE
    assert england["essex"].within is None
    for district in ("epping-forest", "harlow", "uttlesford"):
        assert england[district].within == "essex"
        assert also[district] == (f"{HWE}-07h",)
    assert england[f"{HWE}-07h"].within == HWE
    assert also["colchester"] == ("suffolk-and-north-east-essex-06t",)
    # Hart is split itself, between Frimley and Hampshire and Isle of Wight
    assert also["hart"] == ("frimley-d4u1y", "hampshire-and-isle-of-wight-d9y0v")
    # a district of a county within one ICB already reaches it: nothing more
    assert england["hertfordshire"].within == HWE and "dacorum" not in also
    # never a county: partly in an ICB does not pass to its districts
    assert not {"essex", "hampshire", "surrey", "suffolk"} & set(also)
    for slug, parents in also.items():
        assert all(england[p].code.startswith("E38") for p in parents), slug  # type: ignore[union-attr]


def test_a_district_is_part_of_its_county_its_sub_icb_location_and_its_icb() -> None:
    places = Places({}, england_places())
    assert places.chain("epping-forest") == ["epping-forest", "essex", f"{HWE}-07h", HWE]
    assert places.chain("E07000072") == places.chain("epping-forest")  # by ONS code
    assert "mid-and-south-essex" not in places.chain("epping-forest")
    assert places.chain("basildon") == [
        "basildon", "essex", "mid-and-south-essex-99e", "mid-and-south-essex",
    ]  # fmt: skip
    assert places.chain("dacorum") == ["dacorum", "hertfordshire", HWE]  # as before


def test_an_icbs_opportunity_reaches_the_district_and_the_districts_reaches_the_icb(
    tmp_path: Path,
) -> None:
    folder = _site(
        tmp_path,
        whole=HWE,  # the whole ICB
        district="E07000072",  # Epping Forest, by its ONS code
        other="mid-and-south-essex",
        county="essex",
    )
    site, problems = load_site(folder, TODAY)
    assert not [p for p in problems if p.severity is Severity.ERROR]
    reach = {view.item.id: view.reach for view in site.opportunities}
    assert "epping-forest" in reach["whole"]  # Epping Forest's subscribers hear of it
    assert {HWE, f"{HWE}-07h", "essex"} <= reach["district"]  # and the ICB's of this
    assert "epping-forest" not in reach["other"]  # another ICB of Essex's does not
    assert "epping-forest" in reach["county"]  # the county's reaches its district
    assert HWE not in reach["county"]  # but not every ICB that holds part of Essex

    # the place page says what Epping Forest is part of, and groups by it
    listed = site.places.by_slug
    assert {"epping-forest", "essex", f"{HWE}-07h", HWE} <= set(listed)
    collection = next(
        c
        for c in site.collections()
        if c.listing is not None and c.listing.kind == "place" and c.listing.slug == "epping-forest"
    )
    html = "".join(page for _, page in list_pages.listing(site, collection))
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())
    assert "Hertfordshire and West Essex" in text
    assert "A day centre for older people in whole" in text
    assert "A day centre for older people in other" not in text

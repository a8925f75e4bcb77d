"""Every place in England, ready to use: the shipped reference set (ICBs, sub-ICB locations,
council areas, ONS codes), named by slug or code in a plans folder with no places.yaml,
added to by a folder's own places, and suggested by name when misspelt."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from publisher.builder.site import build
from publisher.delivery.channels import with_place_slugs
from publisher.model.read import load_site
from publisher.plans.check import check
from publisher.plans.england import ENGLAND_FILE, england_places, named_in
from publisher.plans.errors import Severity
from publisher.plans.model import Place, WebhookChannel
from publisher.service.filtered import Choice, choose

ROOT = Path(__file__).parents[2]
TODAY = dt.date(2026, 12, 7)

PLAN = """\
schema: 1
commissioner:
  id: barnsley-council
  name: Barnsley Council
  kind: council
opportunities:
  - id: day-centre
    title: A day centre for older people
    summary: Older people need a place to meet.
    status: planning
    places: {places}
    themes: [carers]
    funding: contract
    route: open
    value: {{total: 400000}}
    duration: {{years: 2}}
    dates:
      tender_opens: 2027-06
      service_starts: 2027-10
"""


def _folder(tmp_path: Path, places: str, own: str | None = None) -> Path:
    """A plans folder with themes.yaml, one plan naming `places`, and places.yaml only
    when `own` is given."""
    folder = tmp_path / "plans"
    folder.mkdir()
    shutil.copy(ROOT / "plans" / "themes.yaml", folder / "themes.yaml")
    (folder / "barnsley-council.yaml").write_text(PLAN.format(places=places))
    if own is not None:
        (folder / "places.yaml").write_text(own)
    return folder


def _errors(folder: Path) -> list[tuple[str, str, str | None]]:
    report = check([folder], TODAY)
    return [(p.code, p.message, p.hint) for p in report.problems if p.severity is Severity.ERROR]


def test_every_row_is_a_place_in_the_format_nesting_in_england() -> None:
    places = england_places()
    for place in places.values():  # loaded without validation: every row checked here
        assert Place.model_validate(place.model_dump()) == place
    assert len({p.code for p in places.values()}) == len(places)
    kinds = Counter(p.code[:3] for p in places.values() if p.code)
    # 42 ICBs, 106 sub-ICB locations, 21 counties, 164 districts, 36 metropolitan
    # districts, 33 London boroughs (with the City), 63 unitary authorities (April 2024)
    assert kinds == {
        "E54": 42, "E38": 106, "E10": 21, "E07": 164, "E08": 36, "E09": 33, "E06": 63,
    }  # fmt: skip
    for place in places.values():
        assert place.within is None or place.within in places, place
        assert (place.kind == "system") == place.code.startswith("E54"), place  # type: ignore[union-attr]
    assert places["barnsley"].code == "E08000016"
    assert places["barnsley"].within == "south-yorkshire"
    assert places["west-yorkshire"].code == "E54000054"
    assert places["bassetlaw"].within == "nottinghamshire"
    assert places["devon"].code == "E10000008" and places["devon-icb"].kind == "system"


def test_the_file_says_where_it_came_from_its_licence_and_date() -> None:
    head = [line for line in ENGLAND_FILE.read_text().splitlines() if line.startswith("#")]
    said = " ".join(head)
    assert "Office for National Statistics" in said
    assert "Open Government Licence v3.0" in said
    assert "April 2024" in said and "2026-12-07" in said
    assert "bench/build_england_places.py" in said


def test_a_folder_without_places_yaml_names_england_by_code_or_slug(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "[E08000016, barnsley, south-yorkshire]")
    assert _errors(folder) == []


def test_a_misspelt_place_suggests_the_one_meant_and_how_to_add_one(tmp_path: Path) -> None:
    found = _errors(_folder(tmp_path, "[barnsly, E08000099]"))
    assert [(code, hint) for code, _, hint in found] == [
        (
            "unknown-place",
            "did you mean 'barnsley'? If it is a place of your own, add it to places.yaml. "
            "See 'Places' in docs/commissioners.md.",
        ),
        (
            "unknown-place",  # a code near another in digits is another place: no guess
            "Use the slug or ONS code of a place in England (barnsley or E08000016), or one "
            "from your places.yaml. If it is a place of your own, add it to places.yaml. "
            "See 'Places' in docs/commissioners.md.",
        ),
    ]
    assert found[0][1] == "'barnsly' is not a place in places.yaml or among England's places."


def test_a_place_written_as_its_name_suggests_its_slug(tmp_path: Path) -> None:
    [(code, _, hint)] = _errors(_folder(tmp_path, "[South Yorkshire]"))
    assert code == "bad-format"
    assert hint == (
        "Did you mean 'south-yorkshire'? If it is a place of your own, add it to "
        "places.yaml. See 'Places' in docs/commissioners.md."
    )


def test_far_off_words_get_no_guess(tmp_path: Path) -> None:
    [(code, _, hint)] = _errors(_folder(tmp_path, "[atlantis]"))
    assert code == "unknown-place" and hint is not None and not hint.startswith("did you")


def test_a_sub_icb_location_is_suggested_by_its_name(tmp_path: Path) -> None:
    [(_, _, hint)] = _errors(_folder(tmp_path, "[nhs-south-yorkshire-icb-02p]"))
    assert hint is not None
    assert hint.startswith(
        "did you mean 'south-yorkshire-02p' (NHS South Yorkshire ICB - 02P (Barnsley))?"
    )


OWN = """\
schema: 1
places:
  - {slug: hoyland, name: Hoyland, kind: neighbourhood, within: barnsley}
  - {slug: dearne, name: Dearne, kind: neighbourhood, within: E08000016}
"""


def test_own_places_nest_beneath_englands(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "[hoyland, dearne, E08000016]", OWN)
    assert _errors(folder) == []
    site, problems = load_site(folder, TODAY)
    assert not [p for p in problems if p.severity is Severity.ERROR]
    [view] = site.opportunities
    assert view.item.places == ["hoyland", "dearne", "barnsley"]  # the code read as its slug
    assert {"hoyland", "dearne", "barnsley", "south-yorkshire"} <= view.reach
    assert site.places.chain("dearne") == ["dearne", "barnsley", "south-yorkshire"]


def test_the_places_that_own_places_are_in_are_listed(tmp_path: Path) -> None:
    site, _ = load_site(_folder(tmp_path, "[hoyland]", OWN), TODAY)
    assert sorted(site.places.by_slug) == ["barnsley", "dearne", "hoyland", "south-yorkshire"]


@pytest.mark.parametrize(
    ("own", "words"),
    [
        (
            "  - {slug: leeds, name: Leeds, code: E08000016}\n",
            "'leeds' is Leeds among England's places, whose ONS code is E08000035, not E08000016.",
        ),
        (
            "  - {slug: my-barnsley, name: My Barnsley, code: E08000016}\n",
            "E08000016 is the ONS code of Barnsley ('barnsley') among England's places.",
        ),
    ],
)
def test_a_place_that_clashes_with_englands_is_an_error(
    tmp_path: Path, own: str, words: str
) -> None:
    folder = _folder(tmp_path, "[barnsley]", "schema: 1\nplaces:\n" + own)
    assert [(code, message) for code, message, _ in _errors(folder)] == [("place-clash", words)]


def test_the_example_restates_englands_places_and_lists_only_its_own() -> None:
    site, _ = load_site(ROOT / "plans", TODAY)
    own = [line.split(":")[1].strip() for line in (ROOT / "plans" / "places.yaml").open()
           if line.strip().startswith("- slug:")]  # fmt: skip
    assert sorted(site.places.by_slug) == sorted(own)  # no page for the rest of England
    assert site.places.by_slug["wakefield"].name == "Wakefield District"  # its own words
    assert site.places.resolve("E08000035") == "leeds"  # England's code for its own Leeds


def test_the_site_lists_the_england_places_its_plans_name(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "[E08000016]")
    site = tmp_path / "site"
    build(folder, site, today=TODAY)
    pages = sorted(p.name for p in (site / "place").glob("*.html"))
    assert pages == ["barnsley.html", "south-yorkshire.html"]
    data = json.loads((site / "all.json").read_text())
    [item] = data["opportunities"]
    assert item["places"] == [{"slug": "barnsley", "name": "Barnsley"}]


def test_places_lists_are_found_in_a_files_bytes() -> None:
    raw = b"""\
    places: [leeds, 'E08000016', "barnsley"]  # a comment
    lots:
      - {id: a, places: [south-yorkshire]}
    places:
      - harehills   # a comment
      - "armley"
    themes: [carers]
    filter: {places: [kirklees], themes: []}
"""
    assert named_in(raw) == {
        "leeds", "E08000016", "barnsley", "south-yorkshire", "harehills", "armley", "kirklees",
    }  # fmt: skip


def test_filters_take_a_places_code_as_its_slug() -> None:
    site, _ = load_site(ROOT / "plans", TODAY)
    assert choose(site, [("place", "E08000035")]) == Choice(place=("leeds",))
    channel = WebhookChannel.model_validate(
        {
            "id": "hook",
            "kind": "webhook",
            "url": "https://example.org/hook",
            "secret_env": "HOOK_SECRET",
            "filter": {"places": ["E08000035", "harehills"]},
        }
    )
    assert with_place_slugs(channel).filter.places == ["leeds", "harehills"]

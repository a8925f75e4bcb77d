"""The OCDS files: they validate against the official OCDS 1.1.5 schemas with the lots
extension, OCDS tools compile them into records, ids are stable, approximate dates keep
their precision, and every gap keeps its reason."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import ocdsmerge  # type: ignore[import-untyped]
import pytest
from jsonschema import Draft4Validator

from publisher.builder.site import BuildError, build
from publisher.formats import ocds, ocds_releases
from publisher.formats.ocds_uk import SUITABILITY_EXTENSION, UK_EXTENSION
from publisher.model.views import OpportunityView, SiteData
from publisher.plans.dates import PlanDate
from publisher.plans.model import Status
from tests.formats import ocds_schemas
from tests.formats.examples import ROOT, TODAY, first_published
from tests.formats.examples import load_first_published as load
from tests.formats.ocds_schemas import package_validator

# Our own extension; the official schemas and the UK profile's extensions are kept in the
# repository (tests/fixtures/ocds/README.md says where each came from).
EXTENSION = ROOT / "publisher" / "templates" / "static" / "ocds-extension"
DECLARED = [ocds.LOTS_EXTENSION, SUITABILITY_EXTENSION, UK_EXTENSION]

Json = dict[str, Any]


def read(path: Path) -> Json:
    value: Json = json.loads(path.read_text(encoding="utf-8"))
    return value


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site") / "feeds"
    build(first_published(), out, today=TODAY)
    return out


@pytest.fixture(scope="module")
def everything(built: Path) -> Json:
    return read(built / ocds.RELEASES)


def release_schema(with_ours: bool = True) -> Json:
    """The 1.1.5 release schema with the extensions every package declares (lots,
    suitability, the UK profile and what it depends on) merged in, and (unless asked not to)
    our own extension after them."""
    ours = [read(EXTENSION / "release-schema.json")] if with_ours else []
    return ocds_schemas.release_schema(DECLARED, ours)


def strict(node: Any) -> Any:
    """The schema with no room for fields it does not name: so a field we publish that is
    neither in OCDS nor declared in our extension fails here."""
    node = copy.deepcopy(node)
    if isinstance(node, dict):
        types = node.get("type")
        if "properties" in node and (types == "object" or "object" in (types or [])):
            node.setdefault("additionalProperties", False)
        return {key: strict(value) for key, value in node.items()}
    if isinstance(node, list):
        return [strict(value) for value in node]
    return node


def by_ocid(package: Json) -> dict[str, list[Json]]:
    out: dict[str, list[Json]] = {}
    for release in package["releases"]:
        out.setdefault(release["ocid"], []).append(release)
    return out


def release_of(package: Json, uid: str) -> Json:
    commissioner, item = uid.split("/")
    wanted = f"{ocds.DEFAULT_PREFIX}-{commissioner}-{item}"
    [found] = by_ocid(package)[wanted]
    return found


def view_of(site: SiteData, uid: str) -> OpportunityView:
    return next(view for view in site.opportunities if view.uid == uid)


def merger() -> Any:
    schema = release_schema()
    # The lots extension refers to SubmissionTerms from the submission terms extension, which
    # is not kept here; validate.py never needs it, but ocdsmerge resolves every reference.
    schema["definitions"].setdefault("SubmissionTerms", {"type": "object", "properties": {}})
    return ocdsmerge.Merger(schema=schema)


def test_every_release_package_validates_against_ocds_and_the_uk_profile(built: Path) -> None:
    site = load()
    names = sorted(p.name for p in (built / "ocds").glob("*.json"))
    expected = {
        c.id for c in site.commissioners if any(v.commissioner == c for v in site.opportunities)
    }
    assert names == sorted(
        ["release-package.json", "record-package.json", *(f"{c}.json" for c in expected)]
    )
    own = [f"http://localhost:8000/{ocds.EXTENSION}/extension.json"]
    for name in names:
        if name == "record-package.json":
            continue
        package = read(built / "ocds" / name)
        assert package["releases"], name
        problems = ocds_schemas.errors(package, own, [read(EXTENSION / "release-schema.json")])
        assert not problems, f"{name}: {problems[:3]}"


def test_every_field_is_ocds_or_declared_in_our_extension(built: Path) -> None:
    validator = package_validator(strict(release_schema()))
    for path in sorted((built / "ocds").glob("*.json")):
        if path.name == "record-package.json":
            continue
        errors = sorted(validator.iter_errors(read(path)), key=str)
        assert not errors, f"{path.name}: {errors[0].json_path}: {errors[0].message}"


def test_the_extension_is_served_and_declared(built: Path, everything: Json) -> None:
    assert everything["extensions"] == [
        *DECLARED,
        "http://localhost:8000/ocds/extension/extension.json",
    ]
    meta = read(built / "ocds" / "extension" / "extension.json")
    assert meta["documentationUrl"] == {"en": "http://localhost:8000/ocds/extension/README.md"}
    assert meta["compatibility"] == ["1.1"]
    for name in meta["schemas"]:
        assert (built / "ocds" / "extension" / name).read_bytes() == (EXTENSION / name).read_bytes()
    assert (built / "ocds" / "extension" / "README.md").is_file()
    Draft4Validator.check_schema(release_schema())


def test_the_record_package_links_every_release(built: Path, everything: Json) -> None:
    records = read(built / ocds.RECORDS)
    errors = list(
        package_validator(release_schema(), "record-package-schema.json").iter_errors(records)
    )
    assert not errors, errors[0].message
    assert records["packages"] == [everything["uri"]]
    linked = {r["url"] for record in records["records"] for r in record["releases"]}
    assert linked == {f"{everything['uri']}#{r['id']}" for r in everything["releases"]}
    assert [r["ocid"] for r in records["records"]] == sorted(by_ocid(everything))


def test_ocdsmerge_compiles_a_record_per_opportunity(everything: Json) -> None:
    site = load()
    compiled = {
        key: merger().create_compiled_release(releases)
        for key, releases in by_ocid(everything).items()
    }
    assert len(compiled) == len(site.opportunities)
    for view in site.opportunities:
        release = compiled[ocds_releases.ocid(ocds.DEFAULT_PREFIX, view)]
        assert release["tag"] == ["compiled"]
        assert release["tender"]["title"] == view.item.title
        assert release["tender"]["status"] == ocds_releases.stage(view)[1]


def test_the_same_plans_give_the_same_bytes_and_ids(built: Path) -> None:
    again = dict(ocds.outputs(load()))  # a second reading of the plans, rendered afresh
    for path in sorted((built / "ocds").rglob("*")):
        if path.is_file():
            name = path.relative_to(built).as_posix()
            assert again[name]() == path.read_bytes(), name


def test_a_changed_opportunity_is_a_new_release_and_an_update() -> None:
    site = load()
    view = view_of(site, "calderdale-council/calderdale-charity-support-alliance")
    moved = view.item.model_copy(
        update={
            "dates": view.item.dates.model_copy(update={"tender_opens": PlanDate.parse("2027-06")})
        }
    )
    later = dataclasses.replace(view, item=moved)
    history = [(dt.date(2026, 9, 1), view), (dt.date(2026, 11, 2), later)]
    first, second = ocds_releases.releases(site, history, ocds.DEFAULT_PREFIX)
    assert first["ocid"] == second["ocid"]
    assert first["id"] != second["id"]
    assert (first["tag"], second["tag"]) == (["planning"], ["planningUpdate"])
    assert ocds_releases.releases(site, history, ocds.DEFAULT_PREFIX) == [first, second]  # stable
    assert ocds_releases.releases(site, history[:1], ocds.DEFAULT_PREFIX) == [first]
    errors = list(
        package_validator(strict(release_schema())).iter_errors(
            ocds.package(site, [second, first], "ocds/test.json")
        )
    )
    assert not errors, errors[0].message
    compiled = merger().create_compiled_release([first, second])
    assert compiled["tender"]["tenderPeriod"]["startDate"] == "2027-06-01T00:00:00+01:00"
    assert compiled["tender"]["tenderPeriod"]["datePrecision"]["startDate"] == "month"


def periods(node: Any) -> list[tuple[str, Json]]:
    """Every object in a release holding one of OCDS's date fields, with its path."""
    found: list[tuple[str, Json]] = []
    if isinstance(node, dict):
        if {"startDate", "endDate", "maxExtentDate", "dueDate"} & set(node):
            found.append(("", node))
        for key, value in node.items():
            if key != "datePrecision":  # keyed by the same names, but not dates
                found += [(f"{key}/{path}", held) for path, held in periods(value)]
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += [(f"{index}/{path}", held) for path, held in periods(value)]
    return found


def test_every_plan_date_says_how_precise_it_is(everything: Json) -> None:
    for release in everything["releases"]:
        for path, held in periods(release):
            named = {k for k in held if k in ("startDate", "endDate", "maxExtentDate", "dueDate")}
            assert set(held["datePrecision"]) == named, (release["ocid"], path)
    grants = release_of(everything, "calderdale-council/calderdale-holiday-activities")
    assert grants["tender"]["tenderPeriod"] == {
        "startDate": "2027-04-01T00:00:00+01:00",  # 2027-Q2: the quarter's first moment
        "endDate": "2027-07-02T23:59:59+01:00",  # a known day: its end
        "datePrecision": {"startDate": "quarter", "endDate": "day"},
    }
    alliance = release_of(everything, "calderdale-council/calderdale-charity-support-alliance")
    assert alliance["tender"]["tenderPeriod"]["startDate"] == "2027-05-01T00:00:00+01:00"
    assert alliance["tender"]["tenderPeriod"]["datePrecision"]["startDate"] == "month"
    assert alliance["tender"]["contractPeriod"]["startDate"] == "2027-10-01T00:00:00+01:00"


def test_every_gap_appears_with_its_reason(everything: Json) -> None:
    site = load()
    without_reason = 0
    for view in site.opportunities:
        release = release_of(everything, view.uid)
        unknowns = release["tender"].get("unknowns", [])
        assert [(u["field"], u["reason"]) for u in unknowns] == [
            (gap.field, gap.reason or ocds_releases.NO_REASON) for gap in view.gaps
        ]
        assert [u["reasonGiven"] for u in unknowns] == [gap.reason is not None for gap in view.gaps]
        without_reason += sum(gap.reason is None for gap in view.gaps)
    assert sum(len(v.gaps) for v in site.opportunities) > without_reason > 0  # both kinds


def test_stages_statuses_and_routes_map_honestly(everything: Json) -> None:
    site = load()
    for view in site.opportunities:
        release = release_of(everything, view.uid)
        tag, status = release["tag"], release["tender"]["status"]
        expected = {
            Status.IDEA: (["planning"], "planning"),
            Status.PLANNING: (["planning"], "planned"),
            Status.ENGAGEMENT: (["planning"], "planned"),
            Status.OPEN: (["tender"], "active"),
            Status.EVALUATING: (["tender"], "active"),
            Status.AWARDED: (["tender"], "complete"),
            Status.CANCELLED: (["tenderCancellation"], "cancelled"),
        }[view.item.status]
        assert (tag, status) == expected, view.uid
        assert (
            release["date"]
            == f"{(view.last_changed or view.first_seen or TODAY).isoformat()}T00:00:00Z"
        )
    cancelled = release_of(everything, "calderdale-council/calderdale-todmorden-day-activities")
    assert cancelled["tender"]["status"] == "cancelled"
    undecided = release_of(
        everything, "bradford-district-and-craven-partnership/bdc-primary-school-wellbeing"
    )
    assert "procurementMethod" not in undecided["tender"]
    assert undecided["tender"]["procurementMethodDetails"] == "Route not yet decided"
    direct = release_of(
        everything,
        "bradford-district-and-craven-partnership/bdc-emergency-department-mental-health",
    )
    assert direct["tender"]["procurementMethod"] == "direct"
    assert "Provider Selection Regime" in direct["tender"]["procurementMethodDetails"]
    ranged = release_of(everything, "calderdale-council/calderdale-holiday-activities")["tender"]
    assert (ranged["minValue"]["amount"], ranged["value"]["amount"]) == (350000, 420000)
    anchors = release_of(everything, "calderdale-council/calderdale-community-anchors")["tender"]
    assert anchors["value"] == {"amount": 900000, "currency": "GBP"}
    assert anchors["lots"][0] == {
        "id": "halifax",
        "title": "Halifax",
        "annualValue": {"amount": 90000, "currency": "GBP"},
    }


def test_engagement_events_are_milestones(everything: Json) -> None:
    site = load()
    for view in site.opportunities:
        release = release_of(everything, view.uid)
        milestones = release.get("planning", {}).get("milestones", [])
        closes = ["Market engagement closes"] if view.item.dates.engagement_closes else []
        expected = [e.title for e in view.item.dates.engagement] + closes
        assert [m["title"] for m in milestones] == expected
        assert all(m["type"] == "engagement" for m in milestones)
    assert any(view.item.dates.engagement for view in site.opportunities)


def _hrefs(html: str) -> set[str]:
    return set(re.findall(r'href="([^"]+)"', html))


def test_the_lists_link_their_ocds_package(built: Path) -> None:
    assert "ocds/release-package.json" in _hrefs((built / "index.html").read_text())
    assert "../ocds/release-package.json" in _hrefs((built / "place" / "leeds.html").read_text())
    assert "../ocds/release-package.json" in _hrefs(
        (built / "theme" / "mental-health.html").read_text()
    )
    page = (built / "commissioner" / "leeds-city-council.html").read_text()
    assert "../ocds/leeds-city-council.json" in _hrefs(page)
    assert "../ocds/release-package.json" not in _hrefs(page)
    for page_path in [built / "index.html", *built.glob("*/*.html")]:
        for href in _hrefs(page_path.read_text()):
            if "ocds/" in href:
                assert (page_path.parent / href).resolve().is_file(), (page_path, href)


def test_the_ocid_prefix_comes_from_the_build(tmp_path: Path) -> None:
    site = load()
    assert ocds.site_prefix(site) == ocds.DEFAULT_PREFIX
    assert ocds.use_prefix(site, "ocds-abc123") is None
    package = json.loads(dict(ocds.outputs(site))[ocds.RELEASES]())
    assert all(r["ocid"].startswith("ocds-abc123-") for r in package["releases"])
    assert ocds.site_prefix(site) == "ocds-abc123"
    assert ocds.site_prefix(load()) == ocds.DEFAULT_PREFIX
    out = tmp_path / "feeds"
    with pytest.raises(BuildError, match="ocid prefix 'OCDS-1'"):
        build(ROOT / "plans", out, today=TODAY, ocid_prefix="OCDS-1")
    assert not out.exists()

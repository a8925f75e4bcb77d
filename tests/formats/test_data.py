"""The JSON files: they follow their published schema and its documentation, approximate
dates stay approximate, and the same plans give the same bytes. Version 1, which said the
day, is still published as v1/all.json, byte for byte as it was."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import jsonschema

from publisher.formats import data
from publisher.model.views import Collection, Listing, SiteData
from tests.formats.examples import ROOT, load

STATIC = ROOT / "publisher" / "templates" / "static"
DOCS = ROOT / "docs" / "json.md"


def schema(version: int = data.SCHEMA_VERSION) -> dict[str, Any]:
    path = STATIC / f"opportunities-v{version}.schema.json"
    value: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return value


def validators(version: int) -> list[jsonschema.Draft202012Validator]:
    """The published schema, and the same with no room for fields it does not name."""
    jsonschema.Draft202012Validator.check_schema(schema(version))
    return [
        jsonschema.Draft202012Validator(schema(version)),
        jsonschema.Draft202012Validator(strict(schema(version))),
    ]


def strict(node: Any) -> Any:
    """The schema with no room for fields it does not name: so a field we add without
    describing it fails here. (The published schema lets re-users ignore new fields.)"""
    node = copy.deepcopy(node)
    if isinstance(node, dict):
        if "properties" in node and node.get("type") == "object":
            node.setdefault("additionalProperties", False)
        return {key: strict(value) for key, value in node.items()}
    if isinstance(node, list):
        return [strict(value) for value in node]
    return node


def opportunity(site: SiteData, uid: str) -> dict[str, Any]:
    document = json.loads(data.as_json(site, site.everything))
    found: dict[str, Any] = next(o for o in document["opportunities"] if o["uid"] == uid)
    return found


def test_every_file_follows_the_published_schema(site: SiteData) -> None:
    collections = [*site.collections(), Collection(Listing("place", "nowhere", "Nowhere"), [])]
    for collection in collections:
        document = json.loads(data.as_json(site, collection))
        for validator in validators(2):
            errors = sorted(validator.iter_errors(document), key=str)
            assert not errors, f"{collection.path}: {errors[0]}"
        assert len(document["opportunities"]) == len(collection.members)
        assert document["schema_version"] == 2
        assert "generated_for" not in document
        assert not [o for o in document["opportunities"] if "days_left" in o]


def test_version_1_follows_its_schema_and_says_the_day_and_days_left(site: SiteData) -> None:
    for collection in (site.everything, Collection(None, [])):
        document = json.loads(data.as_json_v1(site, collection))
        for validator in validators(1):
            errors = sorted(validator.iter_errors(document), key=str)
            assert not errors, f"{collection.path}: {errors[0]}"
        assert document["schema_version"] == 1
        assert document["$schema"] == "http://localhost:8000/static/opportunities-v1.schema.json"
        assert document["generated_for"] == "2026-11-23"
        assert list(document)[:3] == ["schema_version", "$schema", "generated_for"]
        days = [o["days_left"] for o in document["opportunities"]]
        assert days == [v.days_left for v in collection.members]
        if collection is site.everything:  # some open with a closing day; some not
            assert None in days and [d for d in days if isinstance(d, int)]


def test_version_1_is_version_2_with_the_day_and_days_left_put_back(site: SiteData) -> None:
    """Byte for byte what version 1 always was: each line the compact JSON of the version 1
    fields, `days_left` right after `state`."""
    text = data.as_json_v1(site, site.everything).decode("utf-8")
    records = [line.rstrip(",") for line in text.splitlines() if line.startswith('    {"')]
    assert len(records) == len(site.everything.members)
    for line, view in zip(records, site.everything.members, strict=True):
        v1 = data.opportunity_v1(site, view)
        assert line == "    " + json.dumps(v1, ensure_ascii=False, separators=(",", ":"))
        v2 = list(data.opportunity(site, view))
        after = v2.index("state") + 1
        assert list(v1) == [*v2[:after], "days_left", *v2[after:]]
    # The document around them: version 2's, with version 1's own head.
    document = json.loads(text)
    document["opportunities"] = []
    v2_head = data.document(site, site.everything, with_opportunities=False)
    own = ("schema_version", "$schema", "generated_for")
    assert {k: v for k, v in document.items() if k not in own} == {
        k: v for k, v in v2_head.items() if k not in own
    }


def test_the_build_file_says_the_day(site: SiteData) -> None:
    assert json.loads(data.build_file(site)) == {"generated_for": "2026-11-23"}


def test_the_document_says_what_it_is_and_where_its_siblings_are(site: SiteData) -> None:
    leeds = next(c for c in site.collections() if c.path == "place/leeds")
    document = json.loads(data.as_json(site, leeds))
    assert list(document) == ["schema_version", "$schema", "collection", "opportunities"]
    assert document["$schema"] == "http://localhost:8000/static/opportunities-v2.schema.json"
    assert document["collection"] == {
        "kind": "place",
        "slug": "leeds",
        "title": "Leeds",
        "feed_title": "Opportunities in Leeds",
        "path": "place/leeds",
        "links": {
            kind: f"http://localhost:8000/place/leeds.{kind}"
            for kind in ("html", "rss", "atom", "ics", "json")
        },
    }
    assert [o["uid"] for o in document["opportunities"]] == [v.uid for v in leeds.members]


def test_same_plans_same_bytes(site: SiteData) -> None:
    first = data.as_json(site, site.everything)
    again = load()
    assert data.as_json(again, again.everything) == first
    assert first.endswith(b"}\n") and not first.endswith(b"\n\n")
    assert "£1.5 million".encode() in first  # UTF-8, not \u00a3 escapes
    for collection in [*site.collections(), Collection(None, [])]:
        text = data.as_json(site, collection).decode("utf-8")
        assert json.loads(text) == data.document(site, collection)
        # The head is indented; each opportunity is one line of compact JSON.
        lines = text.splitlines()
        records = [line for line in lines if line.startswith('    {"')]
        assert len(records) == len(collection.members)
        for line, view in zip(records, collection.members, strict=True):
            assert json.loads(line.rstrip(",")) == data.opportunity(site, view)


def test_approximate_dates_keep_their_precision(site: SiteData) -> None:
    dates = opportunity(site, "west-yorkshire-icb/wy-charity-support-bodies")["dates"]
    assert dates["tender_opens"] == {
        "label": "Applications open",
        "text": "2027-05",
        "precision": "month",
        "first_day": "2027-05-01",
        "last_day": "2027-05-31",
        "datetime": None,
        "words": "around May 2027",
    }
    assert dates["tender_closes"]["precision"] == "day"
    quarter = opportunity(site, "west-yorkshire-icb/wy-talking-therapies-choice")["dates"]
    assert quarter["tender_opens"]["text"] == "2027-Q2"
    assert (quarter["tender_opens"]["first_day"], quarter["tender_opens"]["last_day"]) == (
        "2027-04-01",
        "2027-06-30",
    )
    assert quarter["tender_closes"] is None
    event = opportunity(site, "west-yorkshire-icb/wy-mens-suicide-prevention")["engagement"][0]
    assert event["start"]["precision"] == "minute"
    assert event["start"]["datetime"] == "2027-01-20T14:00:00+00:00"
    assert event["host"] == {
        "id": "west-yorkshire-vcse",
        "name": "West Yorkshire Health and Care Partnership VCSE Alliance",
        "website": "https://example.org/west-yorkshire-vcse",
    }


def test_money_gaps_requirements_and_notice_as_the_plan_says(site: SiteData) -> None:
    therapies = opportunity(site, "west-yorkshire-icb/wy-talking-therapies-choice")
    assert therapies["value"] == {
        "currency": "GBP",
        "total": None,
        "per_year": {"min": 40000, "max": 600000},
        "per_award": None,
    }
    assert therapies["value_text"] == "about £40,000 to £600,000 a year"
    assert therapies["route"]["id"] == "direct-award-b"
    assert therapies["route"]["explanation"]
    toolkit = next(r for r in therapies["requirements"] if r["field"] == "data_security_toolkit")
    assert toolkit["required"] is True and toolkit["why"].startswith("Therapists keep")
    assert therapies["gaps"] == []
    online = opportunity(site, "west-yorkshire-icb/wy-getting-online-for-health")
    reasons = {gap["field"]: gap["reason"] for gap in online["gaps"]}
    assert set(reasons) == {"value", "route", "funding", "tender_opens", "service_starts",
                            "duration"}  # fmt: skip
    assert reasons["value"].startswith("Our board sets next year's budget")
    assert online["gaps"][0]["what"] == "how much money there is"
    assert online["value"] is None and online["value_text"] == "not known yet"
    winter = opportunity(site, "west-yorkshire-icb/wy-home-from-hospital-winter")
    assert winter["notice"]["published"] == "2026-11-02"
    assert winter["notice"]["short"] is True
    assert winter["notice"]["reason"].startswith("The government confirmed")
    assert winter["lots"][0]["value"] == {
        "currency": "GBP",
        "total": 140000,
        "per_year": None,
        "per_award": None,
    }


def test_the_documentation_names_every_field() -> None:
    text = DOCS.read_text(encoding="utf-8")
    documented = set(re.findall(r"`([$a-z_]+)`", text))
    named: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.get("properties", {}).items():
                named.add(key)
                walk(value)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema(1))
    walk(schema(2))
    assert named - documented == set()
    assert "schema_version" in documented and "Breaking changes raise the version" in text
    for address in ("v1/all.json", "build.json", "static/opportunities-v2.schema.json",
                    "static/opportunities-v1.schema.json"):  # fmt: skip
        assert f"`{address}`" in text, address

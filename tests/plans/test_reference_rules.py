"""Ids used twice in a list: one rule for places, themes, channels, lots and events."""

from __future__ import annotations

from publisher.plans.model import PlacesFile, ThemesFile
from publisher.plans.reference_rules import check_places, check_themes, repeated


def test_each_repeat_is_reported_at_its_later_use_naming_the_first() -> None:
    found = repeated(["a", "b", None, "a", None, "b", "a"], ("x",), "id", "lots")
    assert [(f.path, f.message) for f in found] == [
        (("x", 3, "id"), "Two lots have the id 'a' (the other is number 1)."),
        (("x", 5, "id"), "Two lots have the id 'b' (the other is number 2)."),
        (("x", 6, "id"), "Two lots have the id 'a' (the other is number 1)."),
    ]


def test_places_and_themes_named_twice() -> None:
    places = PlacesFile.model_validate(
        {
            "schema": 1,
            "places": [{"slug": "leeds", "name": "Leeds"}, {"slug": "leeds", "name": "Leeds"}],
        }
    )
    assert [f.path for f in check_places(places)] == [("places", 1, "slug")]
    themes = ThemesFile.model_validate(
        {
            "schema": 1,
            "themes": [{"slug": "carers", "name": "Carers"}, {"slug": "carers", "name": "Carers"}],
        }
    )
    [found] = check_themes(themes)
    assert found.message == "Two themes have the slug 'carers' (the other is number 1)."

"""Titles run on inside sentences: which first words keep their capitals."""

from __future__ import annotations

import pytest

from publisher.formats.page_context import proper_words
from publisher.text.words import lower_first
from tests.formats.examples import load

PROPER = frozenset({"Leeds", "NHS", "West", "Community Action Bradford and District"})


@pytest.mark.parametrize(
    ("title", "in_a_sentence"),
    [
        ("Grants for Leeds", "grants for Leeds"),
        ("Leeds help into work", "Leeds help into work"),
        ("NHS talking therapies", "NHS talking therapies"),
        ("West Yorkshire grants", "West Yorkshire grants"),
        ("Community health champions", "community health champions"),
        (
            "Community Action Bradford and District grants",
            "Community Action Bradford and District grants",
        ),
        ("Community Action Bradfordshire", "community Action Bradfordshire"),
        ("A fund", "A fund"),
    ],
)
def test_a_title_keeps_the_capitals_of_names_only(title: str, in_a_sentence: str) -> None:
    assert lower_first(title, PROPER) == in_a_sentence


def test_organisations_first_words_are_not_names_of_their_own() -> None:
    site = load()
    proper = proper_words(site)
    assert "Community" not in proper, "the first word of 'Community Action Bradford...'"
    assert any(name.startswith("Community Action") for name in proper)
    assert "Leeds" in proper and "NHS" in proper
    assert lower_first("Community health champions", proper) == "community health champions"

"""The one text rule (issue 14): which characters a value may hold, as a table; and what
`check` says, and prints, about a value that breaks it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from publisher.plans import characters, report
from publisher.plans.check import check, load_reference
from publisher.plans.reference import load_glossary

CORPUS = Path(__file__).parents[1] / "fixtures" / "broken"
TODAY = dt.date(2026, 11, 23)

REFUSED = [
    ("\x00", "NULL"),
    ("\x07", "a bell, written \\u0007 or \\a in double quotes (finding 3)"),
    ("\x1b", "ESCAPE: drives terminals"),
    ("\r", "a lone carriage return ends a calendar or header line"),
    ("\x0b", "vertical tab"),
    ("\x7f", "DELETE"),
    ("\x85", "NEXT LINE, a C1 control"),
    ("\x9f", "the last C1 control"),
    ("\u202a", "LEFT-TO-RIGHT EMBEDDING"),
    ("\u202b", "RIGHT-TO-LEFT EMBEDDING"),
    ("\u202c", "POP DIRECTIONAL FORMATTING"),
    ("\u202d", "LEFT-TO-RIGHT OVERRIDE"),
    ("\u202e", "RIGHT-TO-LEFT OVERRIDE (finding 13)"),
    ("\u2066", "LEFT-TO-RIGHT ISOLATE"),
    ("\u2067", "RIGHT-TO-LEFT ISOLATE"),
    ("\u2068", "FIRST STRONG ISOLATE"),
    ("\u2069", "POP DIRECTIONAL ISOLATE"),
    ("\u2028", "LINE SEPARATOR"),
    ("\u2029", "PARAGRAPH SEPARATOR"),
    ("\ud800", "half of a surrogate pair"),
    ("\udfff", "the other half"),
    ("\ufdd0", "a noncharacter"),
    ("\ufffe", "not a character; XML refuses it"),
    ("\uffff", "not a character; XML refuses it"),
    ("\U0001fffe", "a noncharacter of plane 1"),
    ("\U0010ffff", "the last code point, a noncharacter"),
]
ALLOWED = [
    ("\n", "new lines, in block values"),
    ("\t", "tabs"),
    ("'", "St John's Hospice"),
    ('"', "quotes: escaped by every writer"),
    ("<", "contracts under <£50k"),
    ("&", "Health & Care Partnership"),
    ("\u200e", "LEFT-TO-RIGHT MARK: needed in mixed-direction text"),
    ("\u200f", "RIGHT-TO-LEFT MARK"),
    ("\u061c", "ARABIC LETTER MARK"),
    ("\u200d", "ZERO WIDTH JOINER, inside emoji and Indic scripts"),
    ("\u00ad", "SOFT HYPHEN"),
    ("\ufeff", "ZERO WIDTH NO-BREAK SPACE"),
    ("\u00a0", "NO-BREAK SPACE"),
    ("\ufffd", "REPLACEMENT CHARACTER"),
    ("\U0001f469\u200d\U0001f467", "an emoji sequence"),
    ("مرحبا", "Arabic"),
    ("\U000e0001", "LANGUAGE TAG (a format character, not a control)"),
]


@pytest.mark.parametrize(("char", "why"), REFUSED, ids=repr)
def test_refused(char: str, why: str) -> None:
    text = f"Day centre{char}for older people"
    assert characters.UNSAFE.search(text) is not None, why
    assert characters.scrub(text) == "Day centrefor older people"
    [finding] = characters.check_text({"title": text})
    assert finding.code == "unsafe-character" and finding.path == ("title",)
    assert f"U+{ord(char):04X}" in finding.message and finding.hint


@pytest.mark.parametrize(("char", "why"), ALLOWED, ids=repr)
def test_allowed(char: str, why: str) -> None:
    text = f"Day centre{char}for older people"
    assert characters.check_text({"title": text}) == [], why
    assert characters.scrub(text) == text


def test_one_line_makes_any_line_break_a_space() -> None:
    assert characters.one_line("New:\r\nday\u2028centre\x85\u202e now") == "New: day centre now"


def test_every_value_and_field_name_is_looked_at() -> None:
    data = {"a": [{"b": "ok", "c\x07": "x"}, "bad\u202e"], "d": {"e": "\x00"}}
    found = {(f.path, f.at_key) for f in characters.check_text(data)}
    assert found == {(("a", 0, "c\x07"), True), (("a", 1), False), (("d", "e"), False)}


def test_the_printed_report_shows_codes_not_the_characters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A value quoted back in a message cannot drive the terminal (ESC) or reorder the
    line (RLO), in any of the three formats."""
    monkeypatch.chdir(CORPUS)
    result = check(
        [Path("direction-override.yaml"), Path("control-character-in-field-name.yaml")], TODAY
    )
    for output in (report.text(result), report.github(result), report.as_json(result)):
        assert characters.UNSAFE.search(output) is None
        assert "<U+0007>" in output


def test_a_places_file_that_breaks_the_rule_is_not_used(tmp_path: Path) -> None:
    """Place names reach every page and feed: a places file with a direction control is
    reported, and not used (the build then stops, saying the places file has errors)."""
    for name in ("places.yaml", "themes.yaml"):
        (tmp_path / name).write_text((CORPUS / name).read_text(encoding="utf-8"))
    places = tmp_path / "places.yaml"
    text = places.read_text(encoding="utf-8")
    places.write_text(text.replace("name: Leeds\n", 'name: "Leeds\\u202e"\n', 1))
    assert places.read_text() != text
    found = check([places], TODAY)
    assert [(Path(p.file).name, p.code) for p in found.problems] == [
        ("places.yaml", "unsafe-character")
    ]
    reference = load_reference(tmp_path, load_glossary())
    assert reference.places is None and reference.themes is not None

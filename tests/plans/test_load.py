"""The loader takes anything a person (or a disk) can produce and answers with clean errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from publisher.plans.check import read_plan
from publisher.plans.errors import Problem, Severity
from publisher.plans.language import JargonIndex
from publisher.plans.load import MAX_BYTES, parse, read_text
from publisher.plans.reference import Reference, load_glossary

TODAY = dt.date(2026, 11, 23)
GLOSSARY = load_glossary()
JARGON = JargonIndex.build(GLOSSARY)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(["2027-03", "2027-Q5", "2027-02-30", "yes", "~", "£400,000", "leeds"]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=30,
)


def _is_clean(problems: list[Problem]) -> bool:
    return all(
        isinstance(p, Problem) and p.message and p.line >= 0 and p.column >= 0 for p in problems
    )


@given(st.binary(max_size=400))
@settings(max_examples=300)
def test_random_bytes_give_clean_problems(tmp_path_factory: Any, raw: bytes) -> None:
    path = tmp_path_factory.mktemp("bytes") / "plan.yaml"
    path.write_bytes(raw)
    text, problems = read_text(path, "plan.yaml")
    assert _is_clean(problems)
    if text is not None:
        document, problems = parse(text, "plan.yaml")
        assert _is_clean(problems)
        assert (document is None) == bool(problems)


@given(values)
@settings(max_examples=300)
def test_random_yaml_gives_clean_problems(value: Any) -> None:
    text = yaml.safe_dump(value, allow_unicode=True)
    document, problems = parse(text, "plan.yaml")
    assert _is_clean(problems)
    assert (document is None) == bool(problems)


VALID_PLAN: dict[str, Any] = {
    "schema": 1,
    "commissioner": {"id": "plan", "name": "A council", "kind": "council"},
    "opportunities": [
        {
            "id": "one",
            "title": "Help for carers",
            "summary": "Carers get support.",
            "status": "planning",
            "places": ["leeds"],
            "funding": "grant",
            "route": "open-grant-round",
            "value": {"per_year": 1000},
            "duration": {"years": 1},
            "dates": {"tender_opens": "2027-06", "service_starts": "2027-10-01"},
        }
    ],
}


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            out += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            out += _paths(child, (*prefix, index))
    return out


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replace(value[path[0]], path[1:], new)
    return copy


@given(st.sampled_from(_paths(VALID_PLAN)), values)
@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_plan_with_any_part_replaced_gives_clean_problems(tmp_path: Path, where, new) -> None:
    plan = _replace(VALID_PLAN, where, new)
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, allow_unicode=True), encoding="utf-8")
    read = read_plan(path, "plan.yaml", Reference(glossary=GLOSSARY), JARGON, TODAY)
    assert _is_clean(read.problems)


def test_the_valid_plan_used_above_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(VALID_PLAN), encoding="utf-8")
    read = read_plan(path, "plan.yaml", Reference(glossary=GLOSSARY), JARGON, TODAY)
    assert [p for p in read.problems if p.severity is Severity.ERROR] == []
    assert len(read.opportunities) == 1


def test_a_huge_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as out:
        out.truncate(10 * 1024 * 1024)
    text, problems = read_text(path, "huge.yaml")
    assert text is None
    assert problems[0].code == "file-too-large"
    assert "10.0 MB" in problems[0].message
    assert MAX_BYTES < 10 * 1024 * 1024


def test_utf16_files_are_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text("schema: 1\n", encoding="utf-16")
    _, problems = read_text(path, "plan.yaml")
    assert problems[0].code == "not-utf8" and "UTF-16" in problems[0].message


def test_a_utf8_byte_order_mark_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_bytes(b"\xef\xbb\xbfschema: 1\n")
    text, problems = read_text(path, "plan.yaml")
    assert problems == [] and text == "schema: 1\n"


def test_an_unreadable_path_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    _, problems = read_text(tmp_path, "folder")
    assert problems[0].code == "unreadable"
    _, problems = read_text(tmp_path / "gone.yaml", "gone.yaml")
    assert problems[0].code == "unreadable"


@pytest.mark.parametrize("depth", [70, 999, 1001, 100_000])
@pytest.mark.parametrize(
    ("head", "opener", "closer"),
    [
        ("a: ", "[", "]"),
        ("a: ", "[{b: ", "}]"),
        ("- - &x !!seq ", "[", "]"),
        ("'a: b': ", "[", "]"),
        ("a:\n  b:\n    - ", "[", "]"),
    ],
)
def test_deep_nesting_is_refused(depth: int, head: str, opener: str, closer: str) -> None:
    # libyaml reads brackets far ahead and stops at a depth of its own (1,000 in PyYAML
    # 6.0.4, none before), with a message of its own: the limit and the message are ours.
    text = head + opener * depth + closer * depth + "\n"
    _, problems = parse(text, "deep.yaml")
    assert [p.code for p in problems] == ["too-deep"]
    assert problems[0].line == text.count("\n", 0, len(head)) + 1
    assert "nested more than 64 levels" in problems[0].message


@pytest.mark.parametrize(
    "text",
    [
        "title: Support " + "[" * 70 + " groups\n",  # brackets inside plain text
        "d: |\n  " + "[" * 70 + "\n  more\nb: [1]\n",  # a block scalar
        "d: >-\n  " + "{" * 70 + "\nb: {c: 1}\n",
        'a: ["' + "[" * 70 + '",\n  x]\nb: [c]\n',  # a quoted string inside brackets
        "a: [1, # " + "[" * 70 + "\n  2]\n",  # a comment inside brackets
        "a: [" * 30 + "]" * 30 + "\nb: " + "[" * 30 + "]" * 30 + "\n",  # deep, not too deep
    ],
)
def test_brackets_that_are_not_nesting_are_not_too_deep(text: str) -> None:
    _, problems = parse(text, "f.yaml")
    assert "too-deep" not in [p.code for p in problems]


def test_plain_scalars_follow_yaml_1_2() -> None:
    document, _ = parse("a: no\nb: 2027-03-14\nc: 2027\nd: 1.5\ne: ~\nf: True\ng: '7'\n", "f")
    assert document is not None
    assert document.data == {
        "a": "no",
        "b": "2027-03-14",
        "c": 2027,
        "d": 1.5,
        "e": None,
        "f": True,
        "g": "7",
    }


def test_positions_point_at_values_and_keys() -> None:
    document, _ = parse("top:\n  name: x\n  list:\n    - first\n    - second\n", "f")
    assert document is not None
    assert document.place(("top", "list", 1)) == (5, 7, ("top", "list", 1))
    assert document.place(("top", "name"), at_key=True) == (2, 3, ("top", "name"))
    # a missing field points at the key of the mapping that lacks it
    assert document.place(("top", "missing")) == (1, 1, ("top",))

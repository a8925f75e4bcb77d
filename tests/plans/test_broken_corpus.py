"""The broken-file corpus: each file under tests/fixtures/broken/ says what it must produce.

A broken file starts with comment lines of the form

    # expect: error 12:5 unknown-place did you mean 'leeds'

(severity, line:column, problem code, then words that must appear in the message or hint).
The test checks the whole folder once, as `publisher check` would, and requires every
expectation in all three output formats, and no error that a file did not expect.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from publisher.plans import report
from publisher.plans.check import CheckReport, check
from publisher.plans.errors import Problem, Severity

CORPUS = Path(__file__).parents[1] / "fixtures" / "broken"
TODAY = dt.date(2026, 11, 23)
EXPECT = re.compile(rb"^# expect: (error|warning) (\d+):(\d+) ([a-z0-9-]+) (.+)$")


@dataclass(frozen=True)
class Expected:
    file: str
    severity: str
    line: int
    column: int
    code: str
    words: str


def _expectations() -> list[Expected]:
    out = []
    for path in sorted(CORPUS.rglob("*.yaml")):
        for raw in path.read_bytes().splitlines():
            match = EXPECT.match(raw)
            if match:
                severity, line, column, code, words = (g.decode() for g in match.groups())
                out.append(
                    Expected(
                        path.relative_to(CORPUS).as_posix(),
                        severity,
                        int(line),
                        int(column),
                        code,
                        words.strip(),
                    )
                )
    return out


EXPECTATIONS = _expectations()


@pytest.fixture(scope="module")
def result(monkeypatch_module: pytest.MonkeyPatch) -> CheckReport:
    monkeypatch_module.chdir(CORPUS)
    return check([Path(".")], TODAY)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _matches(problem: Problem | dict[str, object], want: Expected) -> bool:
    get = problem.get if isinstance(problem, dict) else lambda key: getattr(problem, key)
    text = f"{get('message')} {get('hint') or ''}"
    severity = get("severity")
    severity = severity.value if isinstance(severity, Severity) else severity
    return (
        get("file") == want.file
        and get("line") == want.line
        and get("column") == want.column
        and get("code") == want.code
        and severity == want.severity
        and want.words in text
    )


def test_the_corpus_is_big_enough() -> None:
    files = {e.file for e in EXPECTATIONS}
    assert len(files) >= 30, f"only {len(files)} broken files carry expectations"


@pytest.mark.parametrize("want", EXPECTATIONS, ids=lambda e: f"{e.file}:{e.code}")
def test_text_format(result: CheckReport, want: Expected) -> None:
    assert any(_matches(p, want) for p in result.problems), f"expected {want}\ngot:\n" + "\n".join(
        f"  {p.line}:{p.column} {p.severity.value} {p.code} {p.message} | {p.hint}"
        for p in result.problems
        if p.file == want.file
    )
    output = report.text(result)
    assert f"{want.file}:{want.line}:{want.column}: {want.severity}: " in output


@pytest.mark.parametrize("want", EXPECTATIONS, ids=lambda e: f"{e.file}:{e.code}")
def test_json_format(result: CheckReport, want: Expected) -> None:
    body = json.loads(report.as_json(result))
    assert any(_matches(p, want) for p in body["problems"])


@pytest.mark.parametrize("want", EXPECTATIONS, ids=lambda e: f"{e.file}:{e.code}")
def test_github_format(result: CheckReport, want: Expected) -> None:
    lines = report.github(result).splitlines()
    prefix = (
        f"::{want.severity} file={want.file},line={want.line},col={want.column},title={want.code}::"
    )
    assert any(line.startswith(prefix) for line in lines), prefix


def test_no_error_that_a_file_did_not_expect(result: CheckReport) -> None:
    expected = {(e.file, e.line, e.column, e.code) for e in EXPECTATIONS if e.severity == "error"}
    unexpected = [
        p
        for p in result.problems
        if p.severity is Severity.ERROR and (p.file, p.line, p.column, p.code) not in expected
    ]
    assert not unexpected, "\n".join(
        f"{p.file}:{p.line}:{p.column} {p.code} {p.message}" for p in unexpected
    )


def test_good_files_in_the_corpus_are_clean(result: CheckReport) -> None:
    for name in ("places.yaml", "themes.yaml", "good-council.yaml", "channels/helpful-cvs.yaml"):
        assert [p for p in result.problems if p.file == name] == []

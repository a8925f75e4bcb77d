"""Write a check report for people (text), for pull requests (GitHub) or for tools (JSON)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

from publisher.plans.characters import visible
from publisher.plans.check import CheckReport
from publisher.plans.errors import Problem, Severity, count

__all__ = ["FORMATS", "Severity", "as_json", "github", "text"]

REPORT_VERSION = 1


def shown(problem: Problem) -> Problem:
    """The problem as it may be printed: a message quoting a value from a file shows a
    control or direction character as its code, so it cannot drive a terminal or reorder
    a pull request's text."""
    return replace(
        problem,
        file=visible(problem.file),
        message=visible(problem.message),
        hint=visible(problem.hint) if problem.hint is not None else None,
    )


def text(report: CheckReport, *, colour: bool = False) -> str:
    """One block per problem, then a one-line summary."""

    def paint(code: str, words: str) -> str:
        return f"\033[{code}m{words}\033[0m" if colour else words

    lines: list[str] = []
    for problem in map(shown, report.problems):
        where = (
            problem.file
            if problem.line == 0
            else (f"{problem.file}:{problem.line}:{problem.column}")
        )
        label = (
            paint("1;31", "error")
            if problem.severity is Severity.ERROR
            else paint("1;33", "warning")
        )
        lines.append(f"{paint('1', where)}: {label}: {problem.message}")
        if problem.path:
            lines.append(paint("2", f"    at {visible(problem.dotted_path)}  [{problem.code}]"))
        else:
            lines.append(paint("2", f"    [{problem.code}]"))
        if problem.hint:
            lines.append(f"    hint: {problem.hint}")
    lines.append(summary(report, colour=colour))
    return "\n".join(lines) + "\n"


def summary(report: CheckReport, *, colour: bool = False) -> str:
    errors, warnings = report.count(Severity.ERROR), report.count(Severity.WARNING)
    files = len(report.files)
    opportunities = sum(r.opportunities for r in report.files)
    checked = (
        f"{count(files, 'file')} checked ({count(opportunities, 'opportunity', 'opportunities')})"
    )
    if errors:
        bad = len({p.file for p in report.problems if p.severity is Severity.ERROR})
        words = (
            f"{count(errors, 'error')} and {count(warnings, 'warning')} in "
            f"{bad} of {count(files, 'file')}."
        )
        return f"\033[1;31m✗\033[0m {words}" if colour else f"✗ {words}"
    words = f"{checked}: no errors, {count(warnings, 'warning')}."
    return f"\033[1;32m✓\033[0m {words}" if colour else f"✓ {words}"


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github(report: CheckReport) -> str:
    """GitHub Actions workflow commands, so a pull request shows each problem on its line."""
    lines = []
    for problem in map(shown, report.problems):
        props = [f"file={_escape_property(problem.file)}"]
        if problem.line:
            props += [f"line={problem.line}", f"col={problem.column}"]
        props.append(f"title={_escape_property(problem.code)}")
        message = problem.message
        if problem.path:
            message += f" (at {visible(problem.dotted_path)})"
        if problem.hint:
            message += f" Hint: {problem.hint}"
        lines.append(f"::{problem.severity.value} {','.join(props)}::{_escape_data(message)}")
    lines.append(summary(report))
    return "\n".join(lines) + "\n"


def as_dict(problem: Problem) -> dict[str, object]:
    problem = shown(problem)
    return {
        "file": problem.file,
        "line": problem.line,
        "column": problem.column,
        "path": visible(problem.dotted_path),
        "severity": problem.severity.value,
        "code": problem.code,
        "message": problem.message,
        "hint": problem.hint,
    }


def as_json(report: CheckReport) -> str:
    body = {
        "version": REPORT_VERSION,
        "files": len(report.files),
        "opportunities": sum(r.opportunities for r in report.files),
        "errors": report.count(Severity.ERROR),
        "warnings": report.count(Severity.WARNING),
        "problems": [as_dict(p) for p in report.problems],
    }
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


FORMATS: dict[str, Callable[[CheckReport], str]] = {
    "text": text,
    "github": github,
    "json": as_json,
}

"""Problems found in plan files: values with a place, a plain-English message and a hint."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

PathPart = str | int
FieldPath = tuple[PathPart, ...]


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a file, where it is, and what to do about it.

    `line` and `column` count from 1; 0 means the problem belongs to the whole file.
    """

    file: str
    line: int
    column: int
    path: FieldPath
    severity: Severity
    code: str
    message: str
    hint: str | None = None

    @property
    def dotted_path(self) -> str:
        """The field's path as a person reads it: opportunities[3].dates.tender_opens."""
        return dotted(self.path)

    def promoted(self) -> Problem:
        """This problem as an error (for --strict)."""
        return replace(self, severity=Severity.ERROR)

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file, self.line, self.column, self.code)


def dotted(path: Sequence[PathPart]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A hint naming the closest known word, or None when nothing is close."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{matches[0]}'?" if matches else None


def count(n: int, noun: str, plural: str | None = None) -> str:
    """'1 error', '3 warnings', '2 opportunities'."""
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"

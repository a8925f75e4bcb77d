"""Problems found in plan files: values with a place, a plain-English message and a hint."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
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


def shown_as(problems: list[Problem], was: str, now: str) -> list[Problem]:
    """Problems kept from another pass, where their file was shown as `was`, as this pass
    shows it (`now`: a command run from another folder shows a path another way)."""
    if was == now:
        return problems
    return [replace(p, file=now) if p.file == was else p for p in problems]


def dotted(path: Sequence[PathPart]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _words(text: str) -> list[str]:
    return [word for word in re.split(r"[^a-z0-9]+", text.lower()) if word]


def did_you_mean(
    word: str, choices: Iterable[str], names: Mapping[str, str] | None = None
) -> str | None:
    """A hint naming the known word meant, or None when none is near enough to trust: the
    same words as a known one or its name (`names`: each known word's name, as
    'young people' for the theme 'children-and-young-people'), the only one holding all of
    them, or one close in letters whose words are each close to a word said ('mental-helth',
    not 'older-people' for 'young-people': one word alike is not the same meaning)."""
    known = list(choices)
    names = names or {}
    said = _words(word)
    if not said:
        return None

    def words_of(choice: str) -> set[str]:
        return {*_words(choice), *_words(names.get(choice, ""))}

    for choice in known:
        if said in (_words(choice), _words(names.get(choice, ""))):
            return f"did you mean '{choice}'?"
    holding = [choice for choice in known if set(said) <= words_of(choice)]
    if len(holding) == 1:
        return f"did you mean '{holding[0]}'?"
    for match in difflib.get_close_matches(word, known, n=3, cutoff=0.6):
        theirs = words_of(match)
        if all(difflib.get_close_matches(one, theirs, n=1, cutoff=0.6) for one in said):
            return f"did you mean '{match}'?"
    return None


def count(n: int, noun: str, plural: str | None = None) -> str:
    """'1 error', '3 warnings', '2 opportunities'."""
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"

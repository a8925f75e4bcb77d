"""Values that valid YAML reads differently from what the person typing them meant: a title
cut short at ' #' (YAML starts a comment there), and a value wrapped in curly quotes pasted
from a word processor (YAML keeps them as part of the text). Found by comparing each
value with the line it was written on; each is a warning that quotes what was read."""

from __future__ import annotations

import re
from typing import Any

from publisher.plans.load import Document
from publisher.plans.validate import Finding, warning

_COMMENT_AFTER = re.compile(r"[ \t]+#(.*)")
_TEXT_THEN_COMMENT = re.compile(r"\S[ \t]+#")
_CURLY_OPEN = "\u201c\u2018"  # “ ‘
_CURLY_CLOSE = "\u201d\u2019"  # ” ’
_SHOWN = 60


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        try:
            data = data[part] if isinstance(data, dict | list) else None
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _short(text: str) -> str:
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3].rstrip() + "..."


def _field(path: tuple[Any, ...]) -> str:
    named = next((part for part in reversed(path) if isinstance(part, str)), None)
    return f"'{named}'" if named else "This value"


def check_misread(document: Document) -> list[Finding]:
    """A warning for each text value cut at ' #' or wrapped in curly quotes."""
    text = document.text
    if " #" not in text and "\t#" not in text and not any(q in text for q in _CURLY_OPEN):
        return []  # most files: nothing to look at
    # only the lines where something follows a value, or a curly quote is
    suspect = {
        number
        for number, line in enumerate(text.split("\n"))
        if _TEXT_THEN_COMMENT.search(line) or any(q in line for q in _CURLY_OPEN)
    }
    out: list[Finding] = []
    for path, span in document.positions.items():
        if span.line not in suspect or span.end <= span.start:
            continue
        if text[span.start] in "\"'|>[{":
            continue  # quoted, a block of lines, or brackets: written as meant
        value = _at(document.data, path)
        if not isinstance(value, str):
            continue
        line_end = text.find("\n", span.end)
        rest = text[span.end : line_end if line_end >= 0 else len(text)]
        cut = _COMMENT_AFTER.match(rest)
        name = _field(path)
        if cut and " " in value.strip() and "\n" not in text[span.start : span.end]:
            whole = f"{value} #{cut.group(1)}".rstrip()
            out.append(
                warning(
                    path,
                    "comment-in-value",
                    f"{name} stops at ' #': YAML reads everything after ' #' as a comment, so "
                    f"it is only '{_short(value)}'.",
                    f'If the rest belongs to it, put the whole value in quotes: "{_short(whole)}".',
                )
            )
        if value[:1] in _CURLY_OPEN and value[-1:] in _CURLY_CLOSE:
            out.append(
                warning(
                    path,
                    "curly-quotes",
                    f"{name} is wrapped in curly quotes ({value[0]} {value[-1]}), which YAML "
                    "keeps as part of the text, so they will show on the site.",
                    "If they were meant to mark where the value starts and ends, use straight "
                    'quotes (") or none.',
                )
            )
    return out

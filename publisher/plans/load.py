"""Read a YAML file safely into plain values, remembering where every value was written.

Plan files come from people, so everything here expects the worst: files that are huge,
empty, not UTF-8, indented with tabs, full of duplicate keys or alias bombs. Each of
those becomes a Problem with a line and column, never an exception or a hang.

libyaml (through PyYAML's C parser) does the scanning; we build the values from its
events ourselves, which lets us keep positions, refuse duplicate keys, bound alias
expansion and resolve scalars by YAML 1.2 rules (so `no` stays a word and `2027-03-14`
stays the text the plan wrote).
"""

from __future__ import annotations

import bisect
import codecs
import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from publisher.plans.errors import FieldPath, Problem, Severity

MAX_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
ALIAS_BUDGET = 100_000  # values an alias may add by repetition, for the whole file
MAX_PROBLEMS_PER_KIND = 20

try:
    _Parser: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Parser = yaml.SafeLoader

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_TRUE = re.compile(r"^(?:true|True|TRUE)$")
_FALSE = re.compile(r"^(?:false|False|FALSE)$")
_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_STR_TAG = "tag:yaml.org,2002:str"


class Span(NamedTuple):
    """Where a value was written (0-based line and column, character offsets)."""

    line: int
    column: int
    start: int
    end: int
    key_line: int | None = None  # the key's position, for a value in a mapping
    key_column: int | None = None


@dataclass
class Document:
    """A YAML file read into plain Python values, with the position of each value."""

    file: str
    text: str
    data: Any
    positions: dict[FieldPath, Span] = field(default_factory=dict)

    def span(self, path: FieldPath) -> Span:
        """The position of `path`, or of its nearest parent that was written in the file."""
        path = tuple(path)
        while path not in self.positions and path:
            path = path[:-1]
        return self.positions.get(path, Span(0, 0, 0, 0))

    def place(self, path: FieldPath, *, at_key: bool = False) -> tuple[int, int, FieldPath]:
        """1-based line and column for a problem at `path`, and the path that was found.

        A value that is present is pointed at itself (or at its key with `at_key`); a
        field that is missing is pointed at the key of the mapping that lacks it.
        """
        found = tuple(path)
        while found not in self.positions and found:
            found = found[:-1]
        span = self.positions.get(found)
        if span is None:
            return 1, 1, found
        use_key = (at_key or found != tuple(path)) and span.key_line is not None
        if use_key:
            assert span.key_line is not None and span.key_column is not None
            return span.key_line + 1, span.key_column + 1, found
        return span.line + 1, span.column + 1, found

    @cached_property
    def _line_starts(self) -> list[int]:
        return [0, *(m.end() for m in re.finditer("\n", self.text))]

    def find_in(self, path: FieldPath, words: str) -> tuple[int, int] | None:
        """1-based line and column of `words` inside the value at `path`, if written there."""
        span = self.positions.get(tuple(path))
        if span is None:
            return None
        pattern = r"\s+".join(map(re.escape, words.split()))
        match = re.compile(pattern).search(self.text, span.start, max(span.end, span.start + 1))
        if match is None:
            return None
        line = bisect.bisect_right(self._line_starts, match.start()) - 1
        return line + 1, match.start() - self._line_starts[line] + 1


class _Collector:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self._per_code: dict[str, int] = {}

    def add(
        self,
        line: int,
        column: int,
        code: str,
        message: str,
        hint: str | None = None,
        path: FieldPath = (),
    ) -> None:
        seen = self._per_code.get(code, 0)
        self._per_code[code] = seen + 1
        if seen < MAX_PROBLEMS_PER_KIND:
            self.problems.append(
                Problem(self.file, line, column, path, Severity.ERROR, code, message, hint)
            )


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cycle collector while building many small objects (about 4x faster)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_text(path: Path, display: str) -> tuple[str | None, list[Problem]]:
    """The file's text, or the problems that stop it being read as UTF-8 YAML."""
    found = _Collector(display)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            found.add(
                0,
                0,
                "file-too-large",
                f"This file is {size / 1024 / 1024:.1f} MB; plan files can be at most "
                f"{MAX_BYTES // 1024 // 1024} MB.",
                "Split the plan into smaller files, or check that this is the right file.",
            )
            return None, found.problems
        raw = path.read_bytes()
    except IsADirectoryError:
        found.add(0, 0, "unreadable", "This is a folder, not a file.")
        return None, found.problems
    except OSError as err:
        found.add(0, 0, "unreadable", f"This file could not be read: {err.strerror or err}.")
        return None, found.problems
    return decode(raw, found)


def decode(raw: bytes, found: _Collector) -> tuple[str | None, list[Problem]]:
    for bom, name in (
        (codecs.BOM_UTF32_LE, "UTF-32"),
        (codecs.BOM_UTF32_BE, "UTF-32"),
        (codecs.BOM_UTF16_LE, "UTF-16"),
        (codecs.BOM_UTF16_BE, "UTF-16"),
    ):
        if raw.startswith(bom):
            found.add(
                1,
                1,
                "not-utf8",
                f"This file is saved as {name} text; save it as UTF-8.",
                "Most editors offer 'Save with encoding' or 'Encoding: UTF-8'.",
            )
            return None, found.problems
    raw = raw.removeprefix(codecs.BOM_UTF8)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        line_start = raw.rfind(b"\n", 0, err.start) + 1
        column = len(raw[line_start : err.start].decode("utf-8", "replace")) + 1
        byte = raw[err.start]
        guess = bytes([byte]).decode("cp1252", "replace")
        found.add(
            line,
            column,
            "not-utf8",
            f"This file is not UTF-8 text: byte 0x{byte:02X} on line {line} is not valid UTF-8.",
            f"It is probably '{guess}' saved in an older Windows encoding; save the file as UTF-8.",
        )
        return None, found.problems
    if "\x00" in text:
        index = text.index("\x00")
        line = text.count("\n", 0, index) + 1
        found.add(
            line,
            index - text.rfind("\n", 0, index),
            "not-text",
            "This file contains NUL characters, so it is not a text file.",
        )
        return None, found.problems
    return text, found.problems


def _tab_problems(text: str, found: _Collector) -> None:
    if "\t" not in text:
        return
    for number, line in enumerate(text.split("\n"), start=1):
        indent = len(line) - len(line.lstrip(" \t"))
        tab = line.find("\t", 0, indent)
        if tab >= 0 and line.strip():
            found.add(
                number,
                tab + 1,
                "tab-indent",
                "This line is indented with a tab; YAML needs spaces.",
                "Replace the tab with spaces (most editors can 'convert indentation to spaces').",
            )


def parse(text: str, file: str) -> tuple[Document | None, list[Problem]]:
    """Build plain values from YAML text, or report why they cannot be built."""
    found = _Collector(file)
    _tab_problems(text, found)
    if found.problems:
        return None, found.problems
    if not text.strip() or all(
        not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()
    ):
        found.add(
            1,
            1,
            "empty-file",
            "This file is empty.",
            "A plan file starts with 'schema: 1'; see plans/ for examples.",
        )
        return None, found.problems
    builder = _Builder(found)
    try:
        with paused_gc():
            builder.run(text)
    except yaml.MarkedYAMLError as err:
        found.add(*_plain_yaml_error(err, text))
        return None, found.problems
    except yaml.YAMLError as err:
        found.add(1, 1, "not-yaml", f"This is not valid YAML: {err}.")
        return None, found.problems
    except _StopError:
        return None, found.problems
    if found.problems:
        return None, found.problems
    return Document(file, text, builder.root, builder.positions), []


def _at(mark: Any) -> tuple[int, int]:
    """1-based line and column of a libyaml mark."""
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


class _StopError(Exception):
    """Building cannot go on; the reason is already collected."""


_NO_KEY = object()


class _Frame:
    __slots__ = ("anchor", "container", "first_line", "is_map", "key", "key_mark", "path", "size")

    def __init__(self, is_map: bool, path: FieldPath, anchor: str | None) -> None:
        self.is_map = is_map
        self.container: Any = {} if is_map else []
        self.path = path
        self.anchor = anchor
        self.key: Any = _NO_KEY
        self.key_mark: Any = None
        self.size = 1
        self.first_line: dict[str, int] = {}


class _Builder:
    """Plain values from libyaml's events. Hot code: it sees every value of every file."""

    def __init__(self, found: _Collector) -> None:
        self.found = found
        self.stack: list[_Frame] = []
        self.top: _Frame | None = None
        self.root: Any = None
        self.documents = 0
        self.positions: dict[FieldPath, Span] = {}
        self.anchors: dict[str, tuple[Any, int] | None] = {}  # None while still open
        self.alias_budget = ALIAS_BUDGET

    def run(self, text: str) -> None:
        loader = _Parser(text)
        try:
            get_event = loader.get_event
            while True:
                event = get_event()
                kind = type(event)
                if kind is yaml.ScalarEvent:
                    self._scalar(event)
                elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                    self._start(event, kind is yaml.MappingStartEvent)
                elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                    self._end()
                elif kind is yaml.AliasEvent:
                    self._alias(event)
                elif kind is yaml.DocumentStartEvent:
                    self._document(event)
                elif kind is yaml.StreamEndEvent or event is None:
                    return
        finally:
            loader.dispose()

    def _document(self, event: Any) -> None:
        self.documents += 1
        if self.documents > 1:
            self.found.add(
                *_at(event.start_mark),
                "several-documents",
                "This file holds more than one YAML document ('---').",
                "Keep one plan in each file.",
            )
            raise _StopError

    def _check_tag(self, event: Any) -> None:
        tag = event.tag
        if tag in (_STR_TAG, "!") or (not isinstance(event, yaml.ScalarEvent) and event.implicit):
            return
        self.found.add(
            *_at(event.start_mark),
            "yaml-tag",
            f"YAML tags like '{str(tag).replace('tag:yaml.org,2002:', '!!')}' are not used in "
            "plan files.",
            "Remove the tag and write the value plainly.",
        )

    def _scalar(self, event: Any) -> None:
        if event.tag is not None:
            self._check_tag(event)
        top = self.top
        if top is not None and top.is_map and top.key is _NO_KEY:
            self._key(top, event)
            return
        if event.style or event.tag == _STR_TAG or not event.implicit[0]:
            value: Any = event.value
        else:
            value = resolve_plain(event.value)
        if event.anchor is not None:
            self.anchors[event.anchor] = (value, 1)
        self._add(value, 1, event)

    def _key(self, top: _Frame, event: Any) -> None:
        key = event.value
        mark = event.start_mark
        if key == "<<":
            self.found.add(
                *_at(mark),
                "merge-key",
                "Merge keys ('<<') are not used in plan files.",
                "Write the fields out in full.",
            )
        elif key in top.first_line:
            self.found.add(
                *_at(mark),
                "duplicate-key",
                f"'{key}' is written twice here; the first is on line {top.first_line[key]}.",
                "Keep one of them.",
            )
        else:
            top.first_line[key] = mark.line + 1
        top.key = key
        top.key_mark = mark

    def _add(self, value: Any, size: int, event: Any) -> None:
        """Put a finished value (a scalar or an alias) into its list or mapping."""
        top = self.top
        mark = event.start_mark
        if top is None:
            self.root = value
            self.positions[()] = Span(mark.line, mark.column, mark.index, event.end_mark.index)
            return
        top.size += size
        if top.is_map:
            key, key_mark = top.key, top.key_mark
            self.positions[(*top.path, key)] = Span(
                mark.line,
                mark.column,
                mark.index,
                event.end_mark.index,
                key_mark.line,
                key_mark.column,
            )
            if key not in top.container:
                top.container[key] = value
            top.key = _NO_KEY
        else:
            container = top.container
            self.positions[(*top.path, len(container))] = Span(
                mark.line, mark.column, mark.index, event.end_mark.index
            )
            container.append(value)

    def _start(self, event: Any, is_map: bool) -> None:
        if event.tag is not None:
            self._check_tag(event)
        mark = event.start_mark
        parent = self.top
        if parent is not None and parent.is_map and parent.key is _NO_KEY:
            self.found.add(
                *_at(mark),
                "complex-key",
                "A list or mapping is used as a field name here.",
                "Field names are plain words followed by a colon.",
            )
            raise _StopError
        if len(self.stack) >= MAX_DEPTH:
            self.found.add(
                *_at(mark), "too-deep", f"Values are nested more than {MAX_DEPTH} levels deep here."
            )
            raise _StopError
        if event.anchor is not None:
            self.anchors[event.anchor] = None
        if parent is None:
            frame = _Frame(is_map, (), event.anchor)
            self.root = frame.container
            self.positions[()] = Span(mark.line, mark.column, mark.index, mark.index)
        elif parent.is_map:
            key, key_mark = parent.key, parent.key_mark
            frame = _Frame(is_map, (*parent.path, key), event.anchor)
            self.positions[frame.path] = Span(
                mark.line, mark.column, mark.index, mark.index, key_mark.line, key_mark.column
            )
            if key not in parent.container:
                parent.container[key] = frame.container
            parent.key = _NO_KEY
        else:
            frame = _Frame(is_map, (*parent.path, len(parent.container)), event.anchor)
            self.positions[frame.path] = Span(mark.line, mark.column, mark.index, mark.index)
            parent.container.append(frame.container)
        self.stack.append(frame)
        self.top = frame

    def _end(self) -> None:
        frame = self.stack.pop()
        self.top = self.stack[-1] if self.stack else None
        if self.top is not None:
            self.top.size += frame.size
        if frame.anchor is not None:
            self.anchors[frame.anchor] = (frame.container, frame.size)

    def _alias(self, event: Any) -> None:
        mark = event.start_mark
        anchor = event.anchor
        if anchor not in self.anchors:
            self.found.add(
                *_at(mark),
                "unknown-alias",
                f"'*{anchor}' refers to an anchor '&{anchor}' that is not defined above it.",
            )
            raise _StopError
        entry = self.anchors[anchor]
        if entry is None:
            self.found.add(
                *_at(mark), "recursive-alias", f"'*{anchor}' is used inside the value it refers to."
            )
            raise _StopError
        value, size = entry
        self.alias_budget -= size
        if self.alias_budget < 0:
            self.found.add(
                *_at(mark),
                "alias-bomb",
                "Aliases ('*name') in this file repeat values too many times "
                "(a 'billion laughs' file).",
                "Write the values out instead of using anchors and aliases.",
            )
            raise _StopError
        top = self.top
        if top is not None and top.is_map and top.key is _NO_KEY:
            self.found.add(*_at(mark), "complex-key", "An alias is used as a field name here.")
            raise _StopError
        self._add(value, size, event)


_MAYBE_NOT_TEXT = frozenset("0123456789+-.~nNtTfF")


def resolve_plain(text: str) -> Any:
    """A plain (unquoted) scalar's value under YAML 1.2's core schema, dates left as text."""
    if text and text[0] not in _MAYBE_NOT_TEXT:
        return text
    if _NULL.match(text):
        return None
    if _TRUE.match(text):
        return True
    if _FALSE.match(text):
        return False
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text) and any(ch.isdigit() for ch in text):
        return float(text)
    return text


_PLAIN_YAML_ERRORS: list[tuple[str, str, str]] = [
    (
        "mapping values are not allowed",
        "A colon followed by a space (': ') here makes YAML read a new field.",
        "If the value contains ': ', put the whole value in quotes; otherwise check the "
        "indentation of this line.",
    ),
    (
        "could not find expected ':'",
        "YAML expected a 'name: value' line here.",
        "Check the indentation of this line and the line before it.",
    ),
    (
        "did not find expected key",
        "This line is not lined up with the fields around it.",
        "Indent it by the same number of spaces as the other fields at its level.",
    ),
    (
        "did not find expected '-' indicator",
        "This line is not lined up with the list items around it.",
        "Start each list item with '- ' at the same indentation.",
    ),
    (
        "did not find expected node content",
        "A value is missing here.",
        "Give the field a value, or remove it.",
    ),
    (
        "found unexpected end of stream",
        "The file ends in the middle of a value.",
        "Look for a quote or bracket that was opened but never closed.",
    ),
    (
        "found unknown escape character",
        "A backslash in double quotes starts an escape YAML does not know.",
        "Use single quotes around this text, or write the backslash twice.",
    ),
    (
        "found character that cannot start any token",
        "This character cannot start a value.",
        "Put the value in quotes if it starts with @ or `.",
    ),
    (
        "control characters are not allowed",
        "This file contains control characters that are not allowed in YAML text.",
        "Remove them, or save the file again as plain UTF-8 text.",
    ),
    ("found undefined alias", "This alias refers to an anchor that is not defined.", ""),
    (
        "expected <block end>",
        "This line's indentation does not match the lines around it.",
        "Line it up with the fields at its level, using spaces.",
    ),
    (
        "found unexpected ':'",
        "There is a colon here that YAML cannot read.",
        "Put the value in quotes if it contains a colon.",
    ),
    (
        "expected ',' or ']'",
        "A list in square brackets is not closed properly.",
        "Check for a missing ',' or ']'.",
    ),
    (
        "expected ',' or '}'",
        "A mapping in curly brackets is not closed properly.",
        "Check for a missing ',' or '}'.",
    ),
]


def _indent(line: str) -> int:
    """Where a line's content starts, counting '- ' of a list item as indentation."""
    content = re.match(r"^[ ]*(?:-[ ]+)*", line)
    return content.end(0) if content else 0


def _plain_yaml_error(
    err: yaml.MarkedYAMLError, text: str
) -> tuple[int, int, str, str, str | None]:
    problem, context = err.problem or "", err.context or ""
    lines = text.split("\n")
    # An unclosed quote or bracket is noticed where the file or the block ends; the person
    # needs to see where it was opened.
    if err.context_mark is not None and context.startswith("while scanning a quoted scalar"):
        return (
            *_at(err.context_mark),
            "not-yaml",
            "This quote is never closed.",
            "Close the quote at the end of the text, or remove it.",
        )
    if err.context_mark is not None and context.startswith("while parsing a flow"):
        shape = "square bracket '['" if "sequence" in context else "curly bracket '{'"
        return (
            *_at(err.context_mark),
            "not-yaml",
            f"This {shape} is never closed.",
            "Check for a missing ',' or closing bracket.",
        )
    mark = err.problem_mark or err.context_mark
    line, column = _at(mark)
    here = lines[line - 1] if 0 < line <= len(lines) else ""
    key = re.match(r"^\s*[\w-]+:(\s|$)", here)
    if "mapping values are not allowed" in problem and key and key.end(0) >= column - 1 >= 0:
        above = next(
            (
                t
                for t in reversed(lines[: line - 1])
                if t.strip() and not t.lstrip().startswith("#")
            ),
            "",
        )
        if _indent(here) > _indent(above) and not above.rstrip().endswith(":"):
            return (
                line,
                _indent(here) + 1,
                "not-yaml",
                "This field is indented more than the line above it, so YAML reads it as "
                "part of the value above.",
                "Fix the indentation: line it up with the fields at its level.",
            )
    if "did not find expected '-' indicator" in problem and not here.lstrip().startswith("-"):
        return (
            line,
            column,
            "not-yaml",
            "This line is not lined up with the fields around it.",
            "Indent it by the same number of spaces as the other fields at its level.",
        )
    for needle, message, hint in _PLAIN_YAML_ERRORS:
        if needle in problem:
            return line, column, "not-yaml", message, hint or None
    return line, column, "not-yaml", f"This is not valid YAML here: {problem}.", None


def load(path: Path, display: str) -> tuple[Document | None, list[Problem]]:
    """Read and parse one file; any problem comes back as a Problem, never an exception."""
    text, problems = read_text(path, display)
    if text is None:
        return None, problems
    return parse(text, display)

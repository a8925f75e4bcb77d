"""Plain Python values from libyaml's events, with the position of each, duplicate keys
refused, alias expansion bounded and plain scalars read by YAML 1.2's rules."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import yaml

from publisher.plans.errors import FieldPath, Problem, Severity

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


class Collector:
    """Problems found while reading one file, at most MAX_PROBLEMS_PER_KIND of each kind."""

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


def at(mark: Any) -> tuple[int, int]:
    """1-based line and column of a libyaml mark."""
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


class StopReadingError(Exception):
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


class ValueBuilder:
    """Plain values from libyaml's events. Hot code: it sees every value of every file."""

    def __init__(self, found: Collector) -> None:
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
                *at(event.start_mark),
                "several-documents",
                "This file holds more than one YAML document ('---').",
                "Keep one plan in each file.",
            )
            raise StopReadingError

    def _check_tag(self, event: Any) -> None:
        tag = event.tag
        if tag in (_STR_TAG, "!") or (not isinstance(event, yaml.ScalarEvent) and event.implicit):
            return
        self.found.add(
            *at(event.start_mark),
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
                *at(mark),
                "merge-key",
                "Merge keys ('<<') are not used in plan files.",
                "Write the fields out in full.",
            )
        elif key in top.first_line:
            # The first field of a list item again: most likely a new item missing its '- '.
            new_item = bool(top.path) and isinstance(top.path[-1], int)
            new_item = new_item and next(iter(top.first_line)) == key
            self.found.add(
                *at(mark),
                "duplicate-key",
                f"'{key}' is written twice here; the first is on line {top.first_line[key]}.",
                "If this line starts a new item of the list, begin it with '- ', lined up "
                "with the '- ' of the item above."
                if new_item
                else "Keep one of them.",
            )
            if new_item:  # the fields below belong to that item: said once, not for each
                top.first_line = {key: mark.line + 1}
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
                *at(mark),
                "complex-key",
                "A list or mapping is used as a field name here.",
                "Field names are plain words followed by a colon.",
            )
            raise StopReadingError
        if len(self.stack) >= MAX_DEPTH:
            self.found.add(
                *at(mark), "too-deep", f"Values are nested more than {MAX_DEPTH} levels deep here."
            )
            raise StopReadingError
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
                *at(mark),
                "unknown-alias",
                f"'*{anchor}' refers to an anchor '&{anchor}' that is not defined above it.",
            )
            raise StopReadingError
        entry = self.anchors[anchor]
        if entry is None:
            self.found.add(
                *at(mark), "recursive-alias", f"'*{anchor}' is used inside the value it refers to."
            )
            raise StopReadingError
        value, size = entry
        self.alias_budget -= size
        if self.alias_budget < 0:
            self.found.add(
                *at(mark),
                "alias-bomb",
                "Aliases ('*name') in this file repeat values too many times "
                "(a 'billion laughs' file).",
                "Write the values out instead of using anchors and aliases.",
            )
            raise StopReadingError
        top = self.top
        if top is not None and top.is_map and top.key is _NO_KEY:
            self.found.add(*at(mark), "complex-key", "An alias is used as a field name here.")
            raise StopReadingError
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

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
import functools
import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from publisher.plans.errors import FieldPath, Problem
from publisher.plans.values import MAX_DEPTH, Collector, Span, StopReadingError, ValueBuilder
from publisher.plans.yaml_errors import plain_yaml_error

MAX_BYTES = 4 * 1024 * 1024


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
    found = Collector(display)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            return None, _too_large(size, found)
        raw = path.read_bytes()
    except IsADirectoryError:
        found.add(0, 0, "unreadable", "This is a folder, not a file.")
        return None, found.problems
    except OSError as err:
        found.add(0, 0, "unreadable", f"This file could not be read: {err.strerror or err}.")
        return None, found.problems
    return decode(raw, found)


def _too_large(size: int, found: Collector) -> list[Problem]:
    found.add(
        0,
        0,
        "file-too-large",
        f"This file is {size / 1024 / 1024:.1f} MB; plan files can be at most "
        f"{MAX_BYTES // 1024 // 1024} MB.",
        "Split the plan into smaller files, or check that this is the right file.",
    )
    return found.problems


def decode(raw: bytes, found: Collector) -> tuple[str | None, list[Problem]]:
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


def _tab_problems(text: str, found: Collector) -> None:
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


# A flow collection at the start of a value in block context: after the indentation, any
# "- " or "? ", an optional key and colon, and any anchor or tag.
_FLOW_START = re.compile(
    r"[ ]*(?:[-?][ ]+)*"
    r"""(?:(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\n]|'')*'|[^\s#'"\[\]{},&!*|>%@`-][^#\n]*?)[ ]*:[ ]+)?"""
    r"(?:[&!][^\s\[\]{},]*[ ]+)*"
    r"[\[{]"
)
_BLOCK_SCALAR = re.compile(r"[^#\n]*(?:^|[ ])[|>][-+0-9]*[ ]*(?:#[^\n]*)?$", re.M)
# The only lines that can open brackets or a block scalar; the others are skipped unread.
_WORTH_READING = re.compile(r"^[^\n\[{|>]*[\[{|>]", re.M)


@functools.cache
def _line_at_most(indent: int) -> re.Pattern[str]:
    """A line with text on it, indented `indent` spaces or fewer: it ends a block scalar."""
    return re.compile(rf"^[ ]{{0,{indent}}}[^ \n]", re.M)


def flow_depth_problem(text: str, found: Collector) -> bool:
    """Refuse lists and mappings in brackets nested more than MAX_DEPTH deep, ourselves and
    before libyaml reads them: in brackets it reads far ahead, and fails at a depth of its
    own (which differs between releases) with a message of its own. True when refused."""
    resume = 0
    block: tuple[int, int] | None = None  # in a block scalar: its key's indent, where it starts
    for worth in _WORTH_READING.finditer(text):
        start = worth.start()
        if start < resume:
            continue  # inside a flow collection read already
        end = text.find("\n", start)
        line = text[start : end if end >= 0 else len(text)]
        indent = len(line) - len(line.lstrip(" "))
        if block is not None:
            if indent > block[0] and not _line_at_most(block[0]).search(text, block[1], start):
                continue  # a line of the block scalar's text
            block = None
        opening = _FLOW_START.match(line)
        if opening is None:
            if _BLOCK_SCALAR.match(line):
                block = (indent, start + len(line))
            continue
        where = _scan_flow(text, start + opening.end() - 1)
        if where < 0:
            at = -where - 1
            line_start = text.rfind("\n", 0, at) + 1
            found.add(
                text.count("\n", 0, at) + 1,
                at - line_start + 1,
                "too-deep",
                f"Values are nested more than {MAX_DEPTH} levels deep here.",
            )
            return True
        resume = where
    return False


_IN_FLOW = re.compile(r"""[\[\]{}"'#]""")


def _scan_flow(text: str, at: int) -> int:
    """Read the flow collection opening at `at`: where it ends, or -1 - the offset where it
    goes deeper than MAX_DEPTH."""
    depth = 0
    while (found := _IN_FLOW.search(text, at)) is not None:
        char, at = found.group(), found.start()
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return -1 - at
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return at + 1
        elif char == "#":
            if at == 0 or text[at - 1] in " \t\n":  # a comment, to the end of its line
                at = text.find("\n", at)
                if at < 0:
                    break
        elif char == "'":
            close = text.find("'", at + 1)  # '' inside is two quotes in a row: the same
            at = close if close >= 0 else len(text)
        else:  # a double-quoted string, with backslash escapes
            match = _DOUBLE_QUOTED_END.search(text, at + 1)
            at = match.end() - 1 if match else len(text)
        at += 1
    return len(text)


_DOUBLE_QUOTED_END = re.compile(r'(?<!\\)(?:\\\\)*"')


def parse(text: str, file: str) -> tuple[Document | None, list[Problem]]:
    """Build plain values from YAML text, or report why they cannot be built."""
    found = Collector(file)
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
    if flow_depth_problem(text, found):
        return None, found.problems
    builder = ValueBuilder(found)
    try:
        with paused_gc():
            builder.run(text)
    except yaml.MarkedYAMLError as err:
        found.add(*plain_yaml_error(err, text))
        return None, found.problems
    except yaml.YAMLError as err:
        found.add(1, 1, "not-yaml", f"This is not valid YAML: {err}.")
        return None, found.problems
    except StopReadingError:
        return None, found.problems
    if found.problems:
        return None, found.problems
    return Document(file, text, builder.root, builder.positions), []


def load(
    path: Path, display: str, raw: bytes | None = None
) -> tuple[Document | None, list[Problem]]:
    """Read and parse one file (or `raw`, its bytes read already, so that what is parsed is
    what the caller looked at); any problem comes back as a Problem, never an exception."""
    if raw is None:
        text, problems = read_text(path, display)
    elif len(raw) > MAX_BYTES:
        text, problems = None, _too_large(len(raw), Collector(display))
    else:
        text, problems = decode(raw, Collector(display))
    if text is None:
        return None, problems
    return parse(text, display)


def commissioner_of(raw: bytes) -> tuple[str, str] | None:
    """A plan's commissioner id and name, read from the start of the file without building
    the rest (the header comes before the opportunities in a plan); None when the file
    does not say them plainly. For what a build needs to know of every plan up front."""
    found: dict[str, str] = {}
    # each open mapping or sequence: [is a mapping, its key awaiting a value, its own key]
    stack: list[list[Any]] = []
    try:
        for event in yaml.parse(raw, Loader=yaml.CSafeLoader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                own = _take_key(stack)
                stack.append([isinstance(event, yaml.MappingStartEvent), None, own])
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                closed = stack.pop()
                if len(stack) == 1 and closed[2] == "commissioner":
                    break
            elif isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent)):
                top = stack[-1] if stack else None
                if top is not None and top[0] and top[1] is None:
                    top[1] = event.value if isinstance(event, yaml.ScalarEvent) else ""
                    continue
                key = _take_key(stack)
                here = len(stack) == 2 and stack[1][2] == "commissioner"
                if here and key in ("id", "name") and isinstance(event, yaml.ScalarEvent):
                    found[key] = event.value
    except (yaml.YAMLError, ValueError, TypeError):
        return None
    if "id" in found and "name" in found:
        return found["id"], found["name"]
    return None


def _take_key(stack: list[list[Any]]) -> str | None:
    """The key a value now read belongs to (None in a sequence or at the top)."""
    if not stack or not stack[-1][0]:
        return None
    key: str | None = stack[-1][1]
    stack[-1][1] = None
    return key

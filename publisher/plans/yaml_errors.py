"""libyaml's syntax errors, said in words a commissioner can act on."""

from __future__ import annotations

import re

import yaml

from publisher.plans.values import at

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
        "found invalid Unicode character escape code",
        "A \\u escape in double quotes here is not a character: a code from U+D800 to "
        "U+DFFF is half of a pair, which text cannot hold on its own.",
        "Write the character itself, or its whole code: \\U0001F600, not \\uD83D\\uDE00.",
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


def _last_open_bracket(text: str, mark: yaml.Mark) -> yaml.Mark | None:
    """Where the last bracket still open before `mark` was opened (quotes and comments
    skipped): libyaml points at where it gave up, often the end of the file."""
    opened: list[int] = []
    quote = ""
    comment = False
    for index, char in enumerate(text[: mark.index]):
        if comment:
            comment = char != "\n"
        elif quote:
            quote = "" if char == quote else quote
        elif char in "'\"" and (index == 0 or text[index - 1] in " [{,:"):
            quote = char
        elif char == "#" and (index == 0 or text[index - 1] in " \t\n"):
            comment = True
        elif char in "[{":
            opened.append(index)
        elif char in "]}" and opened:
            opened.pop()
    if not opened:
        return None
    index = opened[-1]
    line = text.count("\n", 0, index)
    column = index - (text.rfind("\n", 0, index) + 1)
    return yaml.Mark("", index, line, column, None, None)


def plain_yaml_error(err: yaml.MarkedYAMLError, text: str) -> tuple[int, int, str, str, str | None]:
    problem, context = err.problem or "", err.context or ""
    lines = text.split("\n")
    # An unclosed quote or bracket is noticed where the file or the block ends; the person
    # needs to see where it was opened.
    if err.context_mark is not None and context.startswith("while scanning a quoted scalar"):
        return (
            *at(err.context_mark),
            "not-yaml",
            "This quote is never closed.",
            "Close the quote at the end of the text, or remove it.",
        )
    if err.context_mark is not None and context.startswith("while parsing a flow"):
        mark = err.context_mark
        if "sequence" not in context and "mapping" not in context:  # "a flow node"
            mark = _last_open_bracket(text, err.problem_mark or mark) or mark
        opened = text[mark.index] if mark.index < len(text) else ""
        shape = (
            "square bracket '['"
            if "sequence" in context or (opened == "[" and "mapping" not in context)
            else "curly bracket '{'"
        )
        return (
            *at(mark),
            "not-yaml",
            f"This {shape} is never closed.",
            "Check for a missing ',' or closing bracket.",
        )
    mark = err.problem_mark or err.context_mark
    line, column = at(mark)
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

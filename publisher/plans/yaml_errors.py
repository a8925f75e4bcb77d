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
    return yaml.Mark("", index, line, column, "", 0)


# Spaces that look like spaces but are not to YAML: no-break (pasted from Word or a web
# page), figure, narrow no-break, the typographic ones and the ideographic space.
_ODD_SPACE = re.compile("[\u00a0\u2000-\u200a\u202f\u3000]")
_CURLY = "\u201c\u201d\u2018\u2019"  # “ ” ‘ ’
_KEY_VALUE = re.compile(r"^(\s*(?:-\s+)?([\w-]+):\s+)(.*)$")


def _cause(err: yaml.MarkedYAMLError, lines: list[str]) -> tuple[int, int, str, str] | None:
    """The mistake a person most likely made, where libyaml's words would mislead: a
    non-breaking space, curly quotes used as quotes, a quote opening a plain value, a list
    item without '- '. Returns a 1-based line and column, the message and the hint."""
    problem, context = err.problem or "", err.context or ""
    marks = [mark for mark in (err.problem_mark, err.context_mark) if mark is not None]
    rows = sorted({row for mark in marks for row in (mark.line - 1, mark.line) if row >= 0})
    for row in rows:
        odd = _ODD_SPACE.search(lines[row]) if row < len(lines) else None
        if odd:
            return (
                row + 1,
                odd.start() + 1,
                "This line has a non-breaking space (often pasted from Word or a web page), "
                "which looks like a space but is not one to YAML.",
                "Delete the spaces at the start of the line and around the ':', and type "
                "them again with the space bar.",
            )
    if err.problem_mark is None:
        return None
    row = err.problem_mark.line
    here = lines[row] if row < len(lines) else ""
    field = _KEY_VALUE.match(here)
    if field and field.group(3)[:1] in _CURLY:
        return (
            row + 1,
            len(field.group(1)) + 1,
            f"This value starts with a curly quote ({field.group(3)[0]}), which YAML does not "
            "read as a quote, so it cannot tell where the value ends.",
            f'Use straight quotes instead: {field.group(2)}: "..." (or no quotes at all).',
        )
    quoted = re.match(r"([\"'])(.*?)\1[ \t]*([^\s#].*)$", field.group(3)) if field else None
    whole = field.group(3).split(" #")[0].rstrip() if field else ""
    if field and quoted and len(whole) > 1 and whole[-1] == whole[0]:
        # 'Carer's breaks': the quote inside ends the value early
        mark = whole[0]
        inside = whole[1:-1]
        other = '"' if mark == "'" else "'"
        fix = f"Put the value in the other kind of quotes: {field.group(2)}: {other}{inside}{other}"
        if other in inside:
            doubled = inside.replace(mark, mark * 2)
            fix = f"Write each {mark} inside it twice: {field.group(2)}: {mark}{doubled}{mark}"
        return (
            row + 1,
            len(field.group(1)) + len(quoted.group(2)) + 2,
            f"The {'apostrophe' if mark == chr(39) else 'quote mark'} after "
            f"'{quoted.group(2)}' ends the value early: inside {mark}...{mark} it closes the "
            "quotes.",
            fix,
        )
    if field and quoted:
        mark, other = quoted.group(1), "'" if quoted.group(1) == '"' else '"'
        whole = field.group(3).rstrip()
        return (
            row + 1,
            len(field.group(1)) + 1,
            f"This value starts with a quote ({mark}{quoted.group(2)}{mark}) and goes on after "
            "it. To YAML a quote at the start must hold the whole value, so it cannot read "
            "the rest.",
            f"Put the whole value in {'single' if other == chr(39) else 'double'} quotes: "
            f"{field.group(2)}: {other}{whole}{other} (or leave the quotes out).",
        )
    if err.context_mark is not None and "could not find expected ':'" in problem:
        # A bare word under list items: the item is missing its '- '.
        row = err.context_mark.line
        bare = lines[row] if row < len(lines) else ""
        above = next((t for t in reversed(lines[:row]) if t.strip()), "")
        if (
            ":" not in bare
            and above.lstrip().startswith("- ")
            and _indent(bare) == len(above) - len(above.lstrip())
        ):
            return (
                row + 1,
                _indent(bare) + 1,
                "This line is in a list, but it does not start with '- ' like the items above.",
                f"Start it with '- ', lined up with the others: - {bare.strip()}",
            )
    if "did not find expected '-' indicator" in problem and not here.lstrip().startswith("-"):
        start = err.context_mark
        if start is not None and start.column == _indent(here) and "block collection" in context:
            return (
                row + 1,
                _indent(here) + 1,
                "This line is lined up with the '- ' of the list item above it, so YAML "
                "expects a new item here.",
                "If it starts a new item, begin it with '- '. If it belongs to the item "
                "above, indent it 2 more spaces, in line with that item's first field.",
            )
    return None


def plain_yaml_error(err: yaml.MarkedYAMLError, text: str) -> tuple[int, int, str, str, str | None]:
    problem, context = err.problem or "", err.context or ""
    lines = text.split("\n")
    cause = _cause(err, lines)
    if cause is not None:
        return cause[0], cause[1], "not-yaml", cause[2], cause[3]
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
        opening: yaml.Mark = err.context_mark
        if "sequence" not in context and "mapping" not in context:  # "a flow node"
            opening = _last_open_bracket(text, err.problem_mark or opening) or opening
        opened = text[opening.index] if opening.index < len(text) else ""
        shape = (
            "square bracket '['"
            if "sequence" in context or (opened == "[" and "mapping" not in context)
            else "curly bracket '{'"
        )
        return (
            *at(opening),
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

"""A plan file written again after an import, as a person would keep it: the top of the file
(comments and all) and every opportunity the import did not change are copied as they
were written; changed and new opportunities are written in the style of the examples
(short lists and amounts on one line, long text folded); what the import could not place
goes in a marked block of comments at the end, which the publisher does not read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import yaml

from publisher.plans.load import Document, parse
from publisher.plans.values import resolve_plain

NOTES_START = "# ---- Not placed by publisher import"
NOTES_END = "# ---- End of what publisher import did not place ----"
LONG_TEXT = 72
FLOW_WIDTH = 72
NEW_PLAN = """\
# yaml-language-server: $schema=schema/plan.schema.json
schema: 1
commissioner:
  id: {id}
  name: {name}
  kind: other
"""


class PlanTextError(RuntimeError):
    """The plan could not be written so that it reads back the same (a bug: say so)."""


class _Dumper(yaml.SafeDumper):
    """Quotes a string exactly when the publisher's reader (YAML 1.2 rules, load.py) would
    otherwise read it as something else, so 2027-03 and no stay plain text."""

    def choose_scalar_style(self) -> str:
        event = self.event
        if (
            isinstance(event, yaml.ScalarEvent)
            and event.tag == "tag:yaml.org,2002:str"
            and event.implicit[0]
            and not event.style
            and not isinstance(resolve_plain(event.value), str)
        ):
            return "'"
        return str(super().choose_scalar_style())


_Dumper.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeDumper.yaml_implicit_resolvers.items()
}


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = ">" if len(value) > LONG_TEXT and "\n" not in value.strip() else None
    if "\n" in value.strip():
        style = "|"
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _number(dumper: yaml.SafeDumper, value: float) -> yaml.ScalarNode:
    if value.is_integer():
        return dumper.represent_int(int(value))
    return dumper.represent_float(value)


def _short(value: Any) -> bool:
    """Whether a mapping or list is small enough for one line, as the examples write it."""
    items = value.values() if isinstance(value, dict) else value
    if not all(isinstance(v, str | int | float | bool) or v is None for v in items):
        return False
    return len(str(value)) <= FLOW_WIDTH and all(len(str(v)) <= LONG_TEXT for v in items)


def _mapping(dumper: yaml.SafeDumper, value: dict[str, Any]) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", value, flow_style=_short(value))


def _list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.SequenceNode:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=_short(value))


_Dumper.add_representer(dict, _mapping)
_Dumper.add_representer(list, _list)
_Dumper.add_representer(str, _text)
_Dumper.add_representer(float, _number)


def opportunity_yaml(opportunity: dict[str, Any], indent: int = 2) -> str:
    """One opportunity as a list item, indented as the plan's others are (the examples:
    two spaces, then '- ')."""
    text = yaml.dump(
        [opportunity],
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=90,
        indent=2,
    )
    margin = " " * indent
    return "".join(margin + line if line.strip() else line for line in text.splitlines(True))


def without_notes(text: str) -> str:
    """The plan's text without the notes block an earlier import left."""
    start = text.find(NOTES_START)
    if start < 0:
        return text
    end = text.find(NOTES_END, start)
    end = len(text) if end < 0 else text.find("\n", end) + 1 or len(text)
    return (text[:start].rstrip("\n") + "\n" + text[end:]).rstrip("\n") + "\n"


def notes_block(lines: Sequence[str], source: str) -> str:
    if not lines:
        return ""
    head = [
        f"{NOTES_START} (from {source}) ----",
        "# The publisher does not read these lines, and they are not published. Move what",
        "# you need into the plan above, then delete them. The next import replaces them.",
    ]
    body = ["# " + re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", " ", line) for line in lines]
    return "\n" + "\n".join([*head, *body, NOTES_END]) + "\n"


def _line_start(text: str, line: int) -> int:
    """The offset where 0-based `line` starts."""
    at = 0
    for _ in range(line):
        at = text.index("\n", at) + 1
    return at


def _blocks(document: Document, count: int) -> tuple[str, list[str], str] | None:
    """The text before the first opportunity, each opportunity's text (with the comments
    and blank lines after it), and the text after the list; None when the list is not
    written one item a line-start (`- `) apart, as every plan in block style is."""
    text = document.text
    key_span = document.positions.get(("opportunities",))
    if key_span is None or count == 0 or key_span.key_line is None:
        return None
    starts = []
    for index in range(count):
        span = document.positions.get(("opportunities", index))
        if span is None or span.line <= key_span.key_line:
            return None
        start = _line_start(text, span.line)
        if not re.match(r"[ ]*- ", text[start:]):
            return None
        starts.append(start)
    after = len(text)
    for path, span in document.positions.items():
        if len(path) == 1 and span.key_line is not None and span.key_line > key_span.key_line:
            after = min(after, _line_start(text, span.key_line))
    ends = [*starts[1:], after]
    return text[: starts[0]], [text[s:e] for s, e in zip(starts, ends, strict=True)], text[after:]


def write_plan(
    document: Document | None,
    header: dict[str, Any],
    opportunities: list[dict[str, Any]],
    changed: set[int],
    notes: str,
) -> str:
    """The plan's new text. `document` is the plan as it was (None for a new plan), read
    from its text without the old notes block; `header` the plan's other fields."""
    kept = _blocks(document, len(document.data.get("opportunities") or [])) if document else None
    indent = 2
    if kept is not None:
        indent = len(kept[1][0]) - len(kept[1][0].lstrip(" "))
    old: list[str] = []
    tail = ""
    if document is None:
        commissioner = header["commissioner"]
        head = NEW_PLAN.format(id=commissioner["id"], name=commissioner["name"])
        head += "\nopportunities:\n"
    elif kept is None:  # no opportunities yet, or written on one line: the list afresh
        before = document.positions.get(("opportunities",))
        cut = len(document.text)
        if before is not None and before.key_line is not None:
            cut = _line_start(document.text, before.key_line)
        head = document.text[:cut].rstrip("\n") + "\n\nopportunities:\n"
        changed = set(range(len(opportunities)))
    else:
        head, old, tail = kept
    parts = [head]
    for index, opportunity in enumerate(opportunities):
        if index < len(old) and index not in changed:
            block = old[index]
        else:
            block = opportunity_yaml(opportunity, indent)
            if index > 0 and not parts[-1].endswith("\n\n"):
                block = "\n" + block
            if index < len(opportunities) - 1:
                block += "\n"
        parts.append(block)
    text = "".join(parts).rstrip("\n") + "\n"
    if tail:
        text += "\n" + tail.lstrip("\n")
    text += notes
    _check_reads_back(text, header, opportunities)
    return text


def _check_reads_back(text: str, header: dict[str, Any], opportunities: list[Any]) -> None:
    document, problems = parse(text, "the new plan")
    if document is None or problems:
        raise PlanTextError(f"the new plan does not read as YAML: {problems[:1]}")
    data = document.data
    wanted = {**header, "opportunities": opportunities}
    if data != wanted:
        raise PlanTextError("the new plan does not read back as the opportunities imported")

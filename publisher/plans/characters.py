"""The one text rule of the file formats: which characters a value may hold.

Every value in a plan, channel, places or themes file reaches web pages, feeds, calendars,
emails and pull-request comments. A value may hold any character except:

- control characters other than new line and tab (U+0000-U+001F, U+007F-U+009F): XML
  cannot carry most of them, and they break calendar lines and email headers;
- bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): they
  make text show in a different order from how it is stored, which can disguise what a
  notice or an email subject says ("Trojan Source"). The left-to-right and right-to-left
  marks (U+200E, U+200F, U+061C) stay allowed: mixed Arabic, Hebrew or Urdu and English
  text needs them to show punctuation on the right side, and they cannot reorder letters;
- the line and paragraph separators U+2028 and U+2029: invisible line breaks that email
  headers and older JavaScript treat as the end of a line;
- what is not a character at all: halves of surrogate pairs (U+D800-U+DFFF) and the
  noncharacters (U+FDD0-U+FDEF, and the last two code points of every plane, U+FFFE,
  U+FFFF, U+1FFFE...).

Quotes, apostrophes, ampersands and angle brackets are allowed: names like "St John's" and
"Health & Care", and summaries like "contracts under <£50k", are real. Every writer escapes
them for its format, which is what makes them harmless.

`check` refuses a file with such a character (so the build leaves it out); writers call
`scrub`, so that text that reached them unchecked (from git history, a places file) still
cannot break them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any

from publisher.plans.errors import FieldPath, Severity, count
from publisher.plans.validate import Finding

_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}" for plane in range(17)
)
_CLASS = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f"  # control characters except tab and new line
    "\u202a-\u202e\u2066-\u2069"  # bidirectional embeddings, overrides and isolates
    "\u2028\u2029"  # line and paragraph separators
    "\ud800-\udfff" + _NONCHARACTERS
)
UNSAFE = re.compile(f"[{_CLASS}]")


def is_clean(text: str) -> bool:
    """Whether `text` certainly holds no refused character, cheaply: every refused
    character is one that str.isprintable() rejects, which runs at memory speed, where the
    UNSAFE expression costs about 50 ns a character. False may still be clean (a no-break
    space or a soft hyphen is not "printable"): then ask UNSAFE."""
    if text.isprintable():
        return True
    return ("\n" in text or "\t" in text) and (
        text.replace("\n", " ").replace("\t", " ").isprintable()
    )


# Names for the control characters, which Unicode's name table leaves out.
_CONTROL_NAMES = {
    0x00: "NULL",
    0x07: "BELL",
    0x08: "BACKSPACE",
    0x0B: "VERTICAL TAB",
    0x0C: "FORM FEED",
    0x0D: "CARRIAGE RETURN",
    0x1B: "ESCAPE",
    0x7F: "DELETE",
    0x85: "NEXT LINE",
}


def scrub(text: str) -> str:
    """`text` without the characters the rule refuses: for writers, as a last defence."""
    return text if is_clean(text) else UNSAFE.sub("", text)


def one_line(text: str) -> str:
    """`text` scrubbed, on one line: every run of white space (including line breaks of any
    kind) one space. For email subjects, headers and other one-line places."""
    return " ".join(UNSAFE.sub(" ", text).split())


def describe(char: str) -> str:
    """'U+0007 BELL', 'U+202E RIGHT-TO-LEFT OVERRIDE'."""
    code = ord(char)
    name = _CONTROL_NAMES.get(code) or unicodedata.name(char, "")
    return f"U+{code:04X} {name}" if name else f"U+{code:04X}"


def visible(text: str) -> str:
    """`text` with each refused character written as its code (<U+0007>), for messages
    that quote a value back to a terminal or a pull request."""
    return UNSAFE.sub(lambda m: f"<U+{ord(m.group(0)):04X}>", text)


def _kind(char: str) -> tuple[str, str]:
    """What is wrong with a refused character, and what to do, in plain words."""
    code = ord(char)
    if code <= 0x9F:
        return (
            "a hidden control character",
            "Delete it. In a value in double quotes, look for an escape such as \\u0007, "
            "\\a or \\e and remove it; elsewhere, type the text again: text copied from "
            "other documents can bring hidden characters with it. New lines and tabs are "
            "fine.",
        )
    if 0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069:
        return (
            "an invisible direction control, which makes text show in a different order "
            "from how it is written and so can disguise what it says",
            "Delete it. Right-to-left text (Arabic, Hebrew, Urdu) shows correctly without "
            "it; if punctuation lands on the wrong side, a right-to-left mark (\\u200F) or "
            "left-to-right mark (\\u200E) is allowed.",
        )
    if code in (0x2028, 0x2029):
        return (
            "an invisible line break that emails and some web pages treat as the end of a line",
            "Use an ordinary new line instead: start the value with | or > and write it "
            "on several lines.",
        )
    return (
        "a code that is not a character (it has no meaning in text)",
        "Delete it; in a value in double quotes, look for an escape such as \\uFFFE.",
    )


def _strings(value: Any, path: FieldPath) -> Iterator[tuple[FieldPath, str, bool]]:
    """Every text in a file's values: its path, the text, and whether it is a key."""
    if isinstance(value, str):
        yield path, value, False
    elif isinstance(value, dict):
        for key, child in value.items():
            if isinstance(key, str):
                yield (*path, key), key, True
            yield from _strings(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _strings(child, (*path, index))


def check_text(data: Any, source: str | None = None) -> list[Finding]:
    """An error for every value (or field name) that holds a character the rule refuses.

    `source` is the file's text: when it holds neither such a character nor a backslash
    (an escape in a double-quoted value, like \\u0007, is the only way to write a value
    with a character the file does not hold), no value can hold one, and the values are
    not walked (plan files are large).
    """
    if source is not None and "\\" not in source and is_clean(source):
        return []
    out: list[Finding] = []
    for path, text, is_key in _strings(data, ()):
        found = None if is_clean(text) else UNSAFE.search(text)
        if found is None:
            continue
        char = found.group(0)
        what, hint = _kind(char)
        others = len(UNSAFE.findall(text)) - 1
        name = f"The field name '{visible(text)}'" if is_key else _name(path)
        before = _shortened(visible(text[: found.start()]).split("\n")[-1])
        where = f"after '{before}'" if before else "at the start"
        more = f" (and {count(others, 'more character')} that cannot be published)"
        message = (
            f"{name} has {what}: {describe(char)}, {where}{more if others else ''}. "
            "It cannot be published as it is."
        )
        # The needle points at the character itself when it was written as it is (not as
        # an escape); otherwise the problem points at the value.
        out.append(
            Finding(
                path,
                Severity.ERROR,
                "unsafe-character",
                message,
                hint,
                at_key=is_key,
                needle=None if is_key else char,
            )
        )
    return out


def _name(path: FieldPath) -> str:
    named = next((part for part in reversed(path) if isinstance(part, str)), None)
    if named is None:
        return "This value"
    return f"'{named}'" if isinstance(path[-1], str) else f"An item of '{named}'"


def _shortened(text: str, most: int = 40) -> str:
    """The end of `text`, at most about `most` characters, starting at a whole word."""
    text = text.strip()
    if len(text) <= most:
        return text
    tail = text[-most:]
    return "..." + tail[tail.find(" ") + 1 :] if " " in tail else "..." + tail

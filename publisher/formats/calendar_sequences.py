"""Calendar programs show an event as changed only when its SEQUENCE rises (RFC 5546
2.1.4). A build compares each event with the calendar it replaces: the same SEQUENCE when
its times, status, place and summary are the same, one more when one changed, 0 when it is
new. The summary counts because it is what a calendar shows of an event: a new title, or
"Example only" put in front of it, is a change a calendar program should pick up.

What the last build made is read from its kept parts (`Sequences`, a build with a cache),
or from the published all.ics (`read_sequences`: the first build over a site, the web app).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from publisher.formats.base import Member, Shelf
from publisher.model.views import SiteData

WATCHED = ("DTSTART", "DTEND", "STATUS", "LOCATION", "SUMMARY")
_NAME = re.compile(r"[A-Za-z0-9-]+")


def fingerprint(lines: Mapping[str, str]) -> str:
    """What makes calendar programs show an event as changed (RFC 5546 2.1.4): its times,
    status, place and summary, as the content lines icalendar writes for them."""
    return "\n".join(lines.get(name, name) for name in WATCHED)


_UNFOLD = re.compile(r"\r?\n[ \t]")
_VEVENT = re.compile(r"^BEGIN:VEVENT\r?\n(.*?)^END:VEVENT\r?$", re.MULTILINE | re.DOTALL)


def read_sequences(path: Path) -> dict[str, tuple[str, int]]:
    """Each event's UID -> (fingerprint, SEQUENCE) in a calendar built before; {} when the
    file is missing or cannot be read, so a first or broken build starts afresh.

    Only the lines needed are looked at, after unfolding the whole file in one step: the
    all.ics of 20,000 opportunities takes about a second this way, and half a minute as a
    whole icalendar Calendar."""
    try:
        text = _UNFOLD.sub("", path.read_bytes().decode("utf-8"))
    except (OSError, ValueError):
        return {}
    if not text.startswith("BEGIN:VCALENDAR"):
        return {}
    out: dict[str, tuple[str, int]] = {}
    for block in _VEVENT.finditer(text):
        event: dict[str, str] = {}
        for line in block.group(1).splitlines():
            name = _NAME.match(line)
            if name is None:
                continue
            if name[0] in WATCHED:
                event[name[0]] = line
            elif name[0] in ("UID", "SEQUENCE"):
                event[name[0]] = _value(line, name[0])
        sequence_text = event.get("SEQUENCE", "0")
        if "UID" in event and sequence_text.isdigit():
            out[event["UID"]] = (fingerprint(event), int(sequence_text))
    return out


def _value(line: str, name: str) -> str:
    """A property's value; icalendar's parser is used only where there is something to
    parse (parameters or escapes), as it is slow for the many plain UIDs of a big file."""
    plain = line[len(name) + 1 :]
    if line[len(name)] == ":" and "\\" not in plain:
        return plain
    from icalendar.parser import Contentline  # noqa: PLC0415  # only here, and seldom

    parsed = Contentline(line).parts()  # type: ignore[no-untyped-call]
    return str(parsed[2])


def sequence(site: SiteData, uid: str, print_: str) -> int:
    """The same SEQUENCE as last time if nothing changed, one more if it did, 0 if new."""
    before = site.sequences.get(uid)
    if before is None:
        return 0
    return before[1] if before[0] == print_ else before[1] + 1


class Sequences(Mapping[str, tuple[str, int]]):
    """Each calendar event's fingerprint and SEQUENCE in the last site, by event UID, read
    from the kept parts of its opportunity only when asked for: a build that renders one
    plan file again asks for that file's events alone."""

    def __init__(self, kept: Iterable[Member], shelf: Shelf) -> None:
        self.kept = {one.uid: one for one in kept}
        self.shelf = shelf
        self.read: dict[str, dict[str, tuple[str, int]]] = {}

    def _of(self, uid: str) -> dict[str, tuple[str, int]]:
        # An event's UID starts with its opportunity's: 'commissioner/id/field@host'.
        owner = "/".join(uid.split("/", 2)[:2])
        found = self.read.get(owner)
        if found is None:
            one = self.kept.get(owner)
            memo = self.shelf.memo(one) if one is not None else "[]"
            found = self.read[owner] = {u: (p, n) for u, p, n in json.loads(memo)}
        return found

    def __getitem__(self, uid: str) -> tuple[str, int]:
        return self._of(uid)[uid]

    def __iter__(self) -> Iterator[str]:
        for owner in self.kept:
            yield from self._of(owner + "/")

    def __len__(self) -> int:
        return sum(1 for _ in self)

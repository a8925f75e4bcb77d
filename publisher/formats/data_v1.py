"""Version 1 of the JSON files, still published as v1/all.json (docs/json.md, "Versions").

Version 1 said the day the site was built for (`generated_for`) and each opportunity's
`days_left`, so every file changed every day. Version 2 leaves both out; this module puts
them back into version 2's bytes when v1/all.json is written, so that only this one file
reads the day. Each opportunity's version 2 line is kept with the place where `days_left`
goes and, while it is open, its closing day: the days left are counted when the file is
made, never when the opportunity's plan file is rendered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from publisher.formats.base import Lazily

VERSION = 1
SCHEMA_FILE = "static/opportunities-v1.schema.json"
PATH = "v1/all.json"  # where version 1 lives on now that all.json is version 2
AFTER = "state"  # version 1 has `days_left` right after this field

Json = dict[str, Any]


@dataclass(frozen=True)
class Counting:
    """What version 1 needs of one opportunity beyond its version 2 line: where in the line
    `days_left` goes (a byte offset), and the day it closes on while it is open and its
    plan names the day (else None: `days_left` is null)."""

    at: int
    closes: dt.date | None


def days_left(closes: dt.date | None, today: dt.date) -> int | None:
    """Whole days from `today` to the closing day (0: it closes today); reads the day."""
    return None if closes is None else (closes - today).days


def entry(days: int | None) -> bytes:
    """The bytes version 1 has and version 2 does not, in one opportunity's line."""
    return b'"days_left":' + (b"null" if days is None else str(days).encode()) + b","


def line(v2: bytes | memoryview, counting: Counting, today: dt.date) -> bytes:
    """One opportunity's version 1 line, from its version 2 line."""
    days = entry(days_left(counting.closes, today))
    return b"".join((v2[: counting.at], days, v2[counting.at :]))


def record(v2: Json, days: int | None) -> Json:
    """One opportunity as version 1 gives it, from its version 2 fields."""
    out: Json = {}
    for key, value in v2.items():
        out[key] = value
        if key == AFTER:
            out["days_left"] = days
    return out


def document(v2: Json, schema: str, today: dt.date) -> Json:
    """A version 2 document's head as version 1 says it: its version, its schema's
    address and the day (`generated_for`, after `$schema`)."""
    out: Json = {}
    for key, value in v2.items():
        out[key] = value
        if key == "$schema":
            out["$schema"] = schema
            out["generated_for"] = today.isoformat()
    out["schema_version"] = VERSION
    return out


def lines(
    v2: Sequence[bytes | memoryview], counting: Sequence[Counting], today: dt.date
) -> Sequence[bytes]:
    """Version 1 lines of opportunities whose version 2 lines are `v2`, made only when
    asked for (a file spliced from the last one asks only for the ones that changed)."""
    return Lazily(range(len(v2)), lambda at: line(v2[at], counting[at], today))

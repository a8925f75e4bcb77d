"""One row of a pipeline spreadsheet read into the changes it makes to an opportunity: each
placed cell through its reader (sheet_cells.py, sheet_words.py), and each cell that
cannot be read noted with its heading and the reason (publisher import)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from publisher.plans.reference import Reference
from publisher.plans.sheet_cells import (
    CellError,
    duration_between,
    read_date,
    read_duration,
    read_money,
)
from publisher.plans.sheet_columns import IGNORE, Placed
from publisher.plans.sheet_read import Table
from publisher.plans.sheet_words import (
    key,
    read_contact,
    read_funding,
    read_route,
    read_status,
    read_text,
)

Path_ = tuple[str, ...]
DATE_KEYS = ("tender_opens", "tender_closes", "decision", "service_starts")


def cell_line(value: object) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return " / ".join(str(value).splitlines())


class Row:
    """One row's cells by field, and the updates they make."""

    def __init__(self, number: int, cells: list[object], table: Table) -> None:
        self.number = number
        self.by_key: dict[str, tuple[object, Placed]] = {}
        self.unplaced: list[tuple[str, object]] = []
        for column in table.columns:
            value = cells[column.index] if column.index < len(cells) else None
            if column.key == IGNORE:
                continue
            if column.key is None:
                if value is not None:
                    self.unplaced.append((column.heading, value))
                continue
            self.by_key[column.key] = (value, column)
        self.updates: dict[Path_, Any] = {}
        self.bad: list[tuple[str, object, str]] = []  # (heading, cell, reason)

    def has(self, name: str) -> bool:
        return name in self.by_key

    def cell(self, name: str) -> object:
        return self.by_key[name][0] if name in self.by_key else None

    def read(self, name: str, reader: Callable[[object, Placed], Any]) -> Any:
        value, column = self.by_key[name]
        try:
            return reader(value, column)
        except CellError as err:
            self.bad.append((column.heading, value, str(err)))
            raise

    def put(self, name: str, path: Path_, reader: Callable[[object, Placed], Any]) -> None:
        if name in self.by_key:
            with suppress(CellError):
                self.updates[path] = self.read(name, reader)

    def raw(self) -> str:
        cells = [(c.heading, v) for v, c in self.by_key.values() if v is not None]
        cells += self.unplaced
        return " | ".join(f"{h}: {cell_line(v)}" for h, v in cells)


def _names(kind: str, known: dict[str, str]) -> Callable[[object, Placed], list[str] | None]:
    """A reader for places or themes: names or slugs, split by ; or , or new lines."""

    def read(value: object, _: Placed) -> list[str] | None:
        text = read_text(value)
        if text is None:
            return None
        out: list[str] = []
        for part in re.split(r"[;,\n|]", text):
            if not part.strip():
                continue
            slug = known.get(key(part))
            if slug is None:
                raise CellError(f"'{part.strip()}' is not one of the {kind} in {kind}.yaml")
            if slug not in out:
                out.append(slug)
        return out

    return read


def _money_pair(row: Row, low: str, high: str, single: str) -> tuple[Any, bool] | None:
    """The amount from a "from" and "up to" pair of columns, or from one column."""
    if row.has(low) or row.has(high):
        try:
            first = row.read(low, lambda v, c: read_money(v, c.scale)) if row.has(low) else None
            last = row.read(high, lambda v, c: read_money(v, c.scale)) if row.has(high) else None
        except CellError:
            return None
        if first is None and last is None:
            return None, False
        start = first.low if first is not None else None
        end = last.high if last is not None else (first.high if first is not None else None)
        return ("up-to", end) if start is None else (start, end), False
    if row.has(single):
        try:
            money = row.read(single, lambda v, c: read_money(v, c.scale))
        except CellError:
            return None
        if money is None:
            return None, False
        return ("up-to", money.high) if money.low is None else (money.low, money.high), (
            money.per_year
        )
    return None


def _read_money(row: Row) -> None:
    total = _money_pair(row, "value_from", "value_to", "value")
    per_year = _money_pair(row, "per_year_from", "per_year_to", "per_year")
    per_award = _money_pair(row, "per_award_from", "per_award_to", "per_award")
    if total is not None and total[1] and per_year is None:
        per_year, total = total, (None, False)  # "£30k pa" in the Value column
    if total is not None:
        amount = total[0]
        if amount is not None and amount[0] == "up-to":
            column = row.by_key.get("value_to") or row.by_key["value"]
            row.bad.append((column[1].heading, column[0], "give the whole value, or a range"))
        else:
            row.updates[("value", "total")] = amount
    for found, name in ((per_year, "per_year"), (per_award, "per_award")):
        if found is None:
            continue
        amount = found[0]
        if amount is None:
            row.updates[("value", name)] = None
        elif amount[0] == "up-to":
            if name == "per_year":
                row.bad.append(("Value a year", amount[1], "give the yearly value, or a range"))
            else:
                row.updates[("value", name)] = {"max": amount[1]}
        elif amount[0] == amount[1]:
            row.updates[("value", name)] = amount[0]
        else:
            row.updates[("value", name)] = {"min": amount[0], "max": amount[1]}


def read_row(row: Row, reference: Reference, base: dict[str, Any]) -> None:
    # Every place a plan may name (England's, then the folder's own), by slug, name or code.
    known = reference.places.everything() if reference.places is not None else {}
    places = {key(s): s for s in known}
    places |= {key(p.name): s for s, p in known.items()}
    places |= {key(p.code): s for s, p in known.items() if p.code is not None}
    themes = {key(s): s for s in (reference.themes or {})}
    themes |= {key(t.name): s for s, t in (reference.themes or {}).items()}
    row.put("title", ("title",), lambda v, _: read_text(v))
    row.put("summary", ("summary",), lambda v, _: read_text(v))
    row.put("status", ("status",), lambda v, _: read_status(v))
    row.put("places", ("places",), _names("places", places))
    row.put("themes", ("themes",), _names("themes", themes))
    row.put("funding", ("funding",), lambda v, _: read_funding(v))
    row.put("route", ("route",), lambda v, _: read_route(v))
    _read_money(row)
    row.put("duration", ("duration",), lambda v, c: read_duration(v, c.unit))
    for name in DATE_KEYS:
        row.put(name, ("dates", name), lambda v, _: read_date(v))
    if row.has("end_date") and row.cell("end_date") is not None:
        starts = row.updates.get(("dates", "service_starts")) or base.get("dates", {}).get(
            "service_starts"
        )
        try:
            end = row.read("end_date", lambda v, _: read_date(v))
            length = duration_between(str(starts), str(end)) if starts and end else None
            if length is None:
                raise CellError("the length cannot be worked out from the start and end dates")
            if row.updates.get(("duration",)) is None:
                row.updates[("duration",)] = length
        except CellError:
            if not row.bad or row.bad[-1][0] != row.by_key["end_date"][1].heading:
                row.bad.append((row.by_key["end_date"][1].heading, row.cell("end_date"),
                                "give the start date too, or the duration"))  # fmt: skip
    row.put("current_provider", ("current_provider", "name"), lambda v, _: read_text(v))
    row.put("current_ends", ("current_provider", "contract_ends"), lambda v, _: read_date(v))
    if row.has("contact"):
        try:
            contact = row.read("contact", lambda v, _: read_contact(v)) or {}
            row.updates[("contact", "name")] = contact.get("name")
            if "email" in contact and not row.has("contact_email"):
                row.updates[("contact", "email")] = contact["email"]
            if "phone" in contact and not row.has("contact_phone"):
                row.updates[("contact", "phone")] = contact["phone"]
        except CellError:
            pass
    row.put("contact_email", ("contact", "email"), lambda v, _: read_text(v))
    row.put("contact_phone", ("contact", "phone"), lambda v, _: read_text(v))
    row.put("more_information", ("more_information",), lambda v, _: _link(v))


def _link(value: object) -> str | None:
    text = read_text(value)
    if text is not None and not re.match(r"^https?://\S+$", text):
        raise CellError(f"'{text}' is not a web address (it should start https://)")
    return text

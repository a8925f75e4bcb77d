"""A pipeline spreadsheet's rows made into a plan's opportunities (publisher import).

Each row becomes an opportunity, or updates the one it matches: by the Id column when the
spreadsheet has one and the plan has that id, otherwise by title (case, spacing and
punctuation aside). A matched opportunity keeps its id; a new one takes its id from the
Id column (as a slug: "LCC-2027-001" -> lcc-2027-001), or else from its title. Only the
fields the spreadsheet has columns for change; everything else in the plan (events, lots,
requirements, reasons under `unknown:`) stays as it was. An opportunity in the plan that
is not in the spreadsheet stays too: taking it out would withdraw it from the site.

Nothing is lost: a cell that cannot be read, a column with no place in a plan, and a row
that cannot become an opportunity are each noted with the row number and the reason, and
kept in the plan's notes block (plan_text.py) for a person to move in by hand.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from publisher.plans.dates import PlanDate
from publisher.plans.errors import Severity
from publisher.plans.model import SLUG_PATTERN, Opportunity
from publisher.plans.reference import Reference
from publisher.plans.rules import check_opportunity
from publisher.plans.sheet_cells import (
    CellError,
    duration_between,
    key,
    name_from_email,
    read_contact,
    read_date,
    read_duration,
    read_funding,
    read_money,
    read_route,
    read_status,
    read_text,
)
from publisher.plans.sheet_columns import IGNORE, Placed
from publisher.plans.sheet_read import Table
from publisher.plans.validate import validate

Path_ = tuple[str, ...]
DATE_KEYS = ("tender_opens", "tender_closes", "decision", "service_starts")
# The order fields are written in, as docs/commissioners.md shows them.
ORDER = [*Opportunity.model_fields]
DEFAULT_STATUS = "planning"


@dataclass
class Outcome:
    """The plan's opportunities after the import, and what the import has to say."""

    opportunities: list[dict[str, Any]]
    changed: set[int] = field(default_factory=set)  # indexes written afresh
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    not_in_sheet: list[str] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)  # (row, reason)
    kept: list[str] = field(default_factory=list)  # lines for the notes block
    other_commissioners: int = 0


def _slug(text: str) -> str:
    """An id from a title or reference: 'Carers' cafés' -> 'carers-cafes'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", key(ascii_text.replace("'", ""))).strip("-")
    return words[:60].rsplit("-", 1)[0] if len(words) > 60 else words


def _cell_line(value: object) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return " / ".join(str(value).splitlines())


class _Row:
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
        return " | ".join(f"{h}: {_cell_line(v)}" for h, v in cells)


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


def _money_pair(row: _Row, low: str, high: str, single: str) -> tuple[Any, bool] | None:
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


def _read_money(row: _Row) -> None:
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


def _read_row(row: _Row, reference: Reference, base: dict[str, Any]) -> None:
    places = {key(s): s for s in (reference.places or {})}
    if reference.places is not None:
        places |= {key(p.name): s for s, p in reference.places.by_slug.items()}
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


def _same(old: Any, new: Any, path: Path_) -> bool:
    if old is None or new is None:
        return old is new
    if path[0] == "dates" or path[-1] == "contract_ends":
        try:
            return PlanDate.parse(old).text == PlanDate.parse(new).text
        except ValueError:  # an unreadable old date is simply not the same
            return False
    if isinstance(old, int | float) and isinstance(new, int | float):
        return not isinstance(old, bool) and float(old) == float(new)
    if isinstance(old, dict) and isinstance(new, dict):
        return old.keys() == new.keys() and all(_same(old[k], new[k], path) for k in old)
    return bool(old == new)


def apply(base: dict[str, Any], updates: dict[Path_, Any]) -> dict[str, Any]:
    """`base` with the row's updates (None clears a field); a value that means the same as
    the plan's is left as the plan writes it."""
    out: dict[str, Any] = _copy(base)
    for path, new in updates.items():
        if path == ("value", "total"):
            money = out.setdefault("value", {})
            old = money.get("total")
            if old is None and "min" in money:
                old = {"min": money.get("min"), "max": money.get("max")}
            wanted = None if new is None else new[0] if new[0] == new[1] else {
                "min": new[0], "max": new[1]}  # fmt: skip
            if not _same(old, wanted, path):
                for name in ("total", "min", "max"):
                    money.pop(name, None)
                if isinstance(wanted, dict) and not isinstance(old, dict):
                    money.update(wanted)  # {min, max} shorthand, as the docs show a range
                elif wanted is not None:
                    money["total"] = wanted
            continue
        parent = out
        for part in path[:-1]:
            parent = parent.setdefault(part, {})
        if not _same(parent.get(path[-1]), new, path):
            if new is None:
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = new
    for name in ("value", "dates", "contact", "current_provider", "duration"):
        if out.get(name) == {}:
            del out[name]
    contact = out.get("contact")
    if isinstance(contact, dict) and "name" not in contact and contact.get("email"):
        contact["name"] = name_from_email(str(contact["email"]))
    return {k: out[k] for k in sorted(out, key=lambda k: ORDER.index(k) if k in ORDER else 99)}


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def import_rows(
    table: Table,
    existing: list[dict[str, Any]],
    reference: Reference,
    commissioner: str,
    others: set[str],
    today: dt.date,
    weeks: int,
) -> Outcome:
    """The plan's opportunities (`existing`, as the plan file has them) updated from `table`."""
    out = Outcome([_copy(o) for o in existing])
    by_id = {o.get("id"): i for i, o in enumerate(existing)}
    by_title = {key(str(o.get("title", ""))): i for i, o in enumerate(existing)}
    seen: dict[int, int] = {}  # index -> the row that gave it
    for number, cells in table.rows:
        row = _Row(number, cells, table)
        owner = read_text(row.cell("commissioner"))
        if owner and _slug(owner) in others and _slug(owner) != commissioner:
            out.other_commissioners += 1
            continue
        title = read_text(row.cell("title"))
        ref = read_text(row.cell("id"))
        if title is None and ref is None:
            if any(v is not None for v, _ in row.by_key.values()) or row.unplaced:
                column = next((c.heading for c in table.columns if c.key == "title"), None)
                _refuse(out, row, f"it has no title (the '{column}' cell is empty)")
            continue
        index = by_id.get(_slug(ref)) if ref else None
        if index is None:  # a plan written before the spreadsheet had ids keeps its own
            index = by_title.get(key(title or ""))
        if index is not None and index in seen:
            _refuse(out, row, f"it is the same opportunity as row {seen[index]}")
            continue
        base = out.opportunities[index] if index is not None else {}
        _read_row(row, reference, base)
        merged = apply(base, row.updates)
        if index is None:
            merged.setdefault("status", DEFAULT_STATUS)
            wanted = _slug(ref) if ref and re.match(SLUG_PATTERN, _slug(ref)) else _slug(
                title or "")  # fmt: skip
            merged = {"id": _unique(wanted or "opportunity", by_id), **merged}
        reasons = _errors(merged, reference, today, weeks, table)
        if reasons:
            _refuse(out, row, "; ".join(reasons))
            continue
        for heading, value, reason in row.bad:
            out.problems.append((number, f"{heading}: {reason}"))
            out.kept.append(f"row {number} ({merged['id']}), {heading}: {_cell_line(value)}")
        for heading, value in row.unplaced:
            out.kept.append(f"row {number} ({merged['id']}), {heading}: {_cell_line(value)}")
        if index is None:
            out.opportunities.append(merged)
            index = len(out.opportunities) - 1
            by_id[merged["id"]] = index
            out.changed.add(index)
            out.added.append(merged["id"])
        elif merged != existing[index]:
            out.opportunities[index] = merged
            out.changed.add(index)
            out.updated.append(merged["id"])
        else:
            out.unchanged.append(merged["id"])
        seen[index] = number
    out.not_in_sheet = [str(o.get("id")) for i, o in enumerate(existing) if i not in seen]
    return out


def _unique(wanted: str, taken: dict[Any, int]) -> str:
    candidate, n = wanted, 2
    while candidate in taken:
        candidate, n = f"{wanted}-{n}", n + 1
    return candidate


def _refuse(out: Outcome, row: _Row, reason: str) -> None:
    out.problems.append((row.number, f"not imported: {reason}"))
    out.kept.append(f"row {row.number} (not imported): {row.raw()}")


def _errors(
    data: dict[str, Any], reference: Reference, today: dt.date, weeks: int, table: Table
) -> list[str]:
    """What `publisher check` would call an error in this opportunity, in its words."""
    opportunity, findings = validate(Opportunity, data)
    if opportunity is not None:
        findings = check_opportunity(opportunity, (), weeks, reference, today)
    headings = {c.key: c.heading for c in table.columns if c.key}
    out = []
    for finding in findings:
        if finding.severity is not Severity.ERROR:
            continue
        field = str(finding.path[-1]) if finding.path else ""
        if finding.code == "missing-field" and field in ("summary", "title"):
            column = headings.get(field)
            where = f"the '{column}' cell is empty" if column else "the spreadsheet has none"
            out.append(f"it has no {field} ({where}), and every opportunity needs one")
        else:
            dotted = ".".join(str(p) for p in finding.path) or "it"
            out.append(f"{dotted}: {finding.message.rstrip('.')}")
    return out

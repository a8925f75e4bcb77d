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
from dataclasses import dataclass, field
from typing import Any

from publisher.plans.dates import PlanDate
from publisher.plans.errors import Severity
from publisher.plans.model import SLUG_PATTERN, Opportunity
from publisher.plans.reference import Reference
from publisher.plans.rules import check_opportunity
from publisher.plans.sheet_read import Table
from publisher.plans.sheet_rows import Path_, Row, cell_line, read_row
from publisher.plans.sheet_words import key, name_from_email, read_text
from publisher.plans.validate import validate

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
    return in_order(out)


def in_order(opportunity: dict[str, Any]) -> dict[str, Any]:
    """The fields in the order docs/commissioners.md writes them; unknown ones last."""
    rank = {name: i for i, name in enumerate(ORDER)}
    return {k: opportunity[k] for k in sorted(opportunity, key=lambda k: rank.get(k, len(rank)))}


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
        row = Row(number, cells, table)
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
        read_row(row, reference, base)
        merged = apply(base, row.updates)
        if index is None:
            merged = in_order({"status": DEFAULT_STATUS, **merged})
            wanted = _slug(ref) if ref and re.match(SLUG_PATTERN, _slug(ref)) else _slug(
                title or "")  # fmt: skip
            merged = {"id": _unique(wanted or "opportunity", by_id), **merged}
        reasons = _errors(merged, reference, today, weeks, table)
        if reasons:
            _refuse(out, row, "; ".join(reasons))
            continue
        for heading, value, reason in row.bad:
            out.problems.append((number, f"{heading}: {reason}"))
            out.kept.append(f"row {number} ({merged['id']}), {heading}: {cell_line(value)}")
        for heading, value in row.unplaced:
            out.kept.append(f"row {number} ({merged['id']}), {heading}: {cell_line(value)}")
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


def _refuse(out: Outcome, row: Row, reason: str) -> None:
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

"""Plans written back as a spreadsheet (publisher export): one row per opportunity, with the
headings `publisher import` recognises (plans/sheet_columns.py), so a spreadsheet exported,
edited and imported again comes back as the same plan. Not one of the site's formats: the
site's own spreadsheets (csv.py) say what the public sees; this says what the plan says.

Money is a plain number of pounds; a day is a real date (an Excel date, or YYYY-MM-DD in
CSV); a month, quarter or year is written in words the importer reads back ("March 2027",
"April to June 2027", "2027"). CSV cells that a spreadsheet would run as a formula get a '
in front (csv.cell); in a workbook they are stored as text.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from publisher.formats.csv import BOM, FORMULA_STARTS, csv_row
from publisher.plans.check import load_reference
from publisher.plans.dates import MONTHS, PlanDate, Precision
from publisher.plans.folder import plan_files
from publisher.plans.load import load
from publisher.plans.model import Amount, GrantSize, Opportunity, PerAward, PlanFile, Range
from publisher.plans.reference import Reference, load_glossary
from publisher.plans.sheet_cells import duration_text
from publisher.plans.sheet_columns import BY_KEY
from publisher.plans.validate import validate

KEYS = (
    "title", "summary", "status", "places", "themes", "funding", "route",
    "value_from", "value_to", "per_year_from", "per_year_to", "per_award_from",
    "per_award_to", "duration", "tender_opens", "tender_closes", "decision",
    "service_starts", "current_provider", "current_ends", "contact", "contact_email",
    "contact_phone", "more_information", "commissioner", "id",
)  # fmt: skip
HEADINGS = [BY_KEY[k].heading for k in KEYS]
MONEY = frozenset(k for k in KEYS if k.endswith(("_from", "_to")))
DATES = frozenset({"tender_opens", "tender_closes", "decision", "service_starts", "current_ends"})
Cell = str | int | float | dt.date | dt.datetime | None


@dataclass
class Export:
    rows: list[list[Cell]] = field(default_factory=list)
    plans: int = 0
    skipped: list[str] = field(default_factory=list)  # plan files with errors, left out


def _date(date: PlanDate | None) -> Cell:
    if date is None:
        return None
    if date.precision is Precision.MINUTE:
        return date.start
    if date.precision is Precision.DAY:
        return date.first_day
    if date.precision is Precision.MONTH:
        assert date.month is not None
        return f"{MONTHS[date.month - 1]} {date.year}"
    if date.precision is Precision.QUARTER:
        assert date.quarter is not None
        first = MONTHS[3 * date.quarter - 3]
        return f"{first} to {MONTHS[3 * date.quarter - 1]} {date.year}"
    return str(date.year)


def _pair(amount: Amount | PerAward | None) -> tuple[Cell, Cell]:
    if amount is None:
        return None, None
    if isinstance(amount, Range):
        return amount.min, amount.max
    if isinstance(amount, GrantSize):
        return amount.min, amount.max
    return amount, amount


def _names(slugs: list[str], known: dict[str, str]) -> str:
    """Names where each is one a reader can match back (unique, no separator in it)."""
    count: dict[str, int] = {}
    for name in known.values():
        count[name.lower()] = count.get(name.lower(), 0) + 1
    out = []
    for slug in slugs:
        name = known.get(slug, slug)
        plain = count.get(name.lower()) == 1 and not any(c in name for c in ";,|\n")
        out.append(name if plain else slug)
    return "; ".join(out)


def row(commissioner: str, item: Opportunity, reference: Reference) -> list[Cell]:
    """One opportunity's cells, in the order of HEADINGS."""
    money = item.value
    total: Amount | None = None
    if money is not None:
        total = money.total
        if total is None and money.min is not None and money.max is not None:
            total = Range(min=money.min, max=money.max)
    places = reference.places.everything() if reference.places is not None else {}
    themes = reference.themes or {}
    duration = item.duration
    length = None
    if duration is not None:
        length = duration_text(duration.years, duration.months)
        extension = duration_text(duration.extension_years, duration.extension_months)
        if extension:
            length += f" + {extension}"
    provider = item.current_provider
    contact = item.contact
    cells: dict[str, Cell] = {
        "title": item.title,
        "summary": item.summary,
        "status": item.status.value,
        "places": _names(item.places, {s: p.name for s, p in places.items()}),
        "themes": _names(item.themes, {s: t.name for s, t in themes.items()}),
        "funding": item.funding.value if item.funding else None,
        "route": item.route.value if item.route else None,
        "duration": length,
        "current_provider": provider.name if provider else None,
        "current_ends": _date(provider.contract_ends) if provider else None,
        "contact": contact.name if contact else None,
        "contact_email": contact.email if contact else None,
        "contact_phone": contact.phone if contact else None,
        "more_information": item.more_information,
        "commissioner": commissioner,
        "id": item.id,
    }
    for name, amount in (
        ("value", total),
        ("per_year", money.per_year if money else None),
        ("per_award", money.per_award if money else None),
    ):
        cells[f"{name}_from"], cells[f"{name}_to"] = _pair(amount)
    for name in DATES - {"current_ends"}:
        cells[name] = _date(getattr(item.dates, name))
    return [cells[k] for k in KEYS]


def collect(plans: Path, commissioner: str | None = None) -> Export:
    """Every opportunity of every plan in `plans` (or of one commissioner's plan)."""
    out = Export()
    reference = load_reference(plans, load_glossary())
    for path in plan_files(plans):
        if commissioner is not None and path.stem != commissioner:
            continue
        document, problems = load(path, str(path))
        plan, _ = validate(PlanFile, document.data) if document else (None, [])
        if plan is None or any(p.severity == "error" for p in problems):
            out.skipped.append(path.name)
            continue
        out.plans += 1
        out.rows += [row(plan.commissioner.id, item, reference) for item in plan.opportunities]
    return out


def as_csv(rows: Iterable[list[Cell]]) -> bytes:
    def text(value: Cell) -> Cell:
        if isinstance(value, dt.datetime):
            return value.strftime("%Y-%m-%d %H:%M")
        if isinstance(value, dt.date):
            return value.isoformat()
        return value

    lines = [csv_row(HEADINGS), *(csv_row(map(text, r)) for r in rows)]
    return BOM + "".join(lines).encode("utf-8")


def as_xlsx(rows: Iterable[list[Cell]]) -> bytes:
    from openpyxl import Workbook  # noqa: PLC0415 (only export needs it)
    from openpyxl.styles import Font  # noqa: PLC0415

    book = Workbook()
    sheet = book.active
    sheet.title = "Forward plan"
    sheet.append(HEADINGS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for values in rows:
        sheet.append(values)
        for key, cell in zip(KEYS, sheet[sheet.max_row], strict=True):
            if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
                cell.data_type = "s"  # text, never a formula
            if key in MONEY and cell.value is not None:
                cell.number_format = "#,##0"
            elif isinstance(cell.value, dt.datetime):
                cell.number_format = "dd/mm/yyyy hh:mm"
            elif isinstance(cell.value, dt.date):
                cell.number_format = "dd/mm/yyyy"
    sheet.freeze_panes = "B2"
    for letter, width in zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", _widths(), strict=False):
        sheet.column_dimensions[letter].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _widths() -> list[int]:
    wide = {"title": 40, "summary": 60, "places": 24, "themes": 24, "route": 22}
    return [wide.get(k, 16) for k in KEYS]


FORMATS = {"csv": as_csv, "xlsx": as_xlsx}

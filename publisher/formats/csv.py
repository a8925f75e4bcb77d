"""Spreadsheets: everything and each list as CSV (`all.csv`, `place/leeds.csv`), one row
per current or settled opportunity in list order, for a bulletin editor or anyone who works
in Excel, LibreOffice or Google Sheets (docs/csv.md).

The columns are in one template, templates/csv/opportunities.csv, headings and values side
by side. Files follow RFC 4180 (commas, double quotes, CRLF line ends) in UTF-8 with a byte
order mark, which Excel needs to read anything but ASCII. A cell that a spreadsheet would
take for a formula (it starts with =, +, -, @, a tab or a carriage return) is written with
a ' in front, as OWASP advises: plan text is written by many hands, and a cell must never
run as a formula on a reader's machine.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from csv import QUOTE_MINIMAL, writer
from functools import cache, partial
from typing import Any

from publisher.formats.base import Bundle, Format, Layout, Output, Part, Shelf, Whole
from publisher.formats.memo import per_view
from publisher.model.views import OpportunityView, SiteData
from publisher.plans.dates import PlanDate, Precision
from publisher.plans.model import Amount, Money, Range
from publisher.text import templates

TEMPLATE = "csv/opportunities.csv"
BOM = "\ufeff".encode()  # so that Excel reads the file as UTF-8
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """A value as one cell's text: numbers as plain numbers (no £, no commas; whole pounds
    without '.0'), None as empty, text made safe from being run as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_row(values: Iterable[object]) -> str:
    """One row, as RFC 4180 writes it: quoted where needed, ended by CRLF."""
    out = io.StringIO()
    writer(out, quoting=QUOTE_MINIMAL, lineterminator="\r\n").writerow(map(cell, values))
    return out.getvalue()


def csv_line(text: str) -> str:
    """Text on one line: a spreadsheet cell is easier to read without the plan's breaks."""
    return " ".join(text.split())


def csv_day(date: PlanDate | None) -> str:
    """A date a spreadsheet can sort and filter on: YYYY-MM-DD, only when the plan names a
    day (an approximate date is in words in the column beside it)."""
    if date is None or date.precision not in (Precision.DAY, Precision.MINUTE):
        return ""
    return date.first_day.isoformat()


def csv_total(money: Money | None) -> Amount | None:
    """The total, however the plan gives it: `total`, or `min` and `max`."""
    if money is None:
        return None
    if money.total is not None:
        return money.total
    if money.min is not None and money.max is not None:
        return Range(min=money.min, max=money.max)
    return None


def csv_from(amount: Amount | None) -> float | None:
    return amount.min if isinstance(amount, Range) else amount


def csv_to(amount: Amount | None) -> float | None:
    return amount.max if isinstance(amount, Range) else amount


templates.share(
    filters={
        "csv_row": csv_row,
        "csv_line": csv_line,
        "csv_day": csv_day,
        "csv_total": csv_total,
        "csv_from": csv_from,
        "csv_to": csv_to,
    }
)


def _columns() -> Any:
    """The template's macros (once per process and search path)."""
    return _module(templates.search_path())


@cache
def _module(path: tuple[object, ...]) -> Any:
    return templates.environment().get_template(TEMPLATE).module


def headings() -> bytes:
    return BOM + str(_columns().headings()).encode("utf-8")


def row(site: SiteData, view: OpportunityView) -> bytes:
    """One opportunity's row, as it sits in every spreadsheet that carries it."""
    return str(_columns().opportunity(view, site)).encode("utf-8")


def spreadsheet(site: SiteData, views: Iterable[OpportunityView]) -> bytes:
    """A spreadsheet of `views`, in the order given (the web app's filtered lists)."""
    rows = [per_view(site, view, "csv", partial(row, site, view)) for view in views]
    return b"".join([headings(), *rows])


class Spreadsheets(Format):
    """CSV for everything and for each list."""

    name = "csv"

    def part(self, site: SiteData, view: OpportunityView) -> Part:
        return Part(None, (per_view(site, view, "csv", partial(row, site, view)),))

    def outputs(self, whole: Whole, shelf: Shelf) -> Iterator[Output]:
        for bundle in whole.bundles:
            make = partial(_sheet, bundle, shelf)
            yield Output(f"{bundle.path}.csv", bundle.key, make, len(bundle.members))


def _sheet(bundle: Bundle, shelf: Shelf) -> Layout:
    members = bundle.members
    digests = b"".join(m.digest for m in members)
    return Layout(headings(), digests, shelf.fragments(members), b"", b"")


CSV = Spreadsheets()

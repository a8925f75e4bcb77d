"""A spreadsheet file (Excel .xlsx or .csv) read into rows of cells, with their row numbers
as the spreadsheet shows them: merged cells filled in, blank rows skipped, and the heading
row found wherever it is (a title or a note above it is common)."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from publisher.plans.sheet_columns import Placed, place

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 20_000
HEADER_SEARCH = 30  # rows looked at for the headings
# A cell a spreadsheet would take for a formula is written with a ' in front
# (formats/csv.py); reading it back, the ' goes.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Cell = object


class SheetError(ValueError):
    """A file that cannot be read as a spreadsheet; the message says why, plainly."""


@dataclass(frozen=True)
class Sheet:
    """The rows of one sheet: (row number, cells), blank rows left out."""

    name: str
    rows: list[tuple[int, list[Cell]]]


@dataclass(frozen=True)
class Table:
    """A sheet with its heading row found and its columns placed."""

    sheet: Sheet
    header_row: int
    columns: list[Placed]
    rows: list[tuple[int, list[Cell]]]  # the rows below the headings

    @property
    def unplaced(self) -> list[str]:
        return [c.heading for c in self.columns if c.key is None]


def read_sheet(path: Path, sheet: str | None = None) -> Sheet:
    """The rows of `path` (the first sheet of a workbook, or the one named `sheet`)."""
    if not path.exists():
        raise SheetError(f"There is no file called '{path}'.")
    if path.is_dir():
        raise SheetError(f"'{path}' is a folder, not a spreadsheet.")
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise SheetError(
            f"'{path}' is an old-style Excel file (.xls). Open it in Excel or LibreOffice "
            "and save it as an Excel workbook (.xlsx) or as CSV, then import that."
        )
    if suffix not in (".xlsx", ".xlsm", ".csv", ".txt"):
        raise SheetError(
            f"'{path}' is not a spreadsheet we can read: import reads Excel workbooks "
            "(.xlsx) and CSV files (.csv)."
        )
    if path.stat().st_size > MAX_BYTES:
        raise SheetError(f"'{path}' is larger than {MAX_BYTES // 1024 // 1024} MB.")
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise SheetError(f"'{path}' could not be read: {err.strerror or err}.") from None
    if suffix in (".xlsx", ".xlsm"):
        return _workbook(path, raw, sheet)
    return _csv(path, raw)


def _workbook(path: Path, raw: bytes, wanted: str | None) -> Sheet:
    import openpyxl  # noqa: PLC0415 (only import needs it; check and build start faster)
    from openpyxl.utils.exceptions import InvalidFileException  # noqa: PLC0415

    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError):
        raise SheetError(
            f"'{path}' is not an Excel workbook we can read. If it opens in Excel, save it "
            "again as an Excel workbook (.xlsx) or as CSV."
        ) from None
    if wanted is not None:
        if wanted not in book.sheetnames:
            raise SheetError(
                f"'{path}' has no sheet called '{wanted}'; its sheets are "
                + ", ".join(f"'{n}'" for n in book.sheetnames)
                + "."
            )
        sheet = book[wanted]
    else:
        visible = [s for s in book.worksheets if s.sheet_state == "visible"]
        sheet = visible[0] if visible else book.worksheets[0]
    merged = list(sheet.merged_cells.ranges)
    for area in merged:
        top_left = sheet.cell(area.min_row, area.min_col).value
        sheet.unmerge_cells(str(area))
        for row in range(area.min_row, area.max_row + 1):
            for column in range(area.min_col, area.max_col + 1):
                sheet.cell(row, column).value = top_left
    rows: list[tuple[int, list[Cell]]] = []
    for number, values in enumerate(sheet.iter_rows(values_only=True), 1):
        cells = [_tidy(v) for v in values]
        if any(c is not None for c in cells):
            rows.append((number, cells))
        if len(rows) > MAX_ROWS:
            raise SheetError(f"'{path}' has more than {MAX_ROWS:,} rows.")
    return Sheet(sheet.title, rows)


def _csv(path: Path, raw: bytes) -> Sheet:
    if b"\0" in raw[:65536]:
        raise SheetError(
            f"'{path}' is not a CSV file (it holds binary data). Save the spreadsheet as "
            "CSV, or import the Excel workbook (.xlsx) itself."
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")  # Excel's "CSV" on Windows in the UK
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:8192], delimiters=",;\t"
        )
    except csv.Error:
        dialect = csv.excel
    rows: list[tuple[int, list[Cell]]] = []
    try:
        for number, values in enumerate(csv.reader(io.StringIO(text), dialect), 1):
            cells = [_tidy(_unescaped(v)) for v in values]
            if any(c is not None for c in cells):
                rows.append((number, cells))
            if len(rows) > MAX_ROWS:
                raise SheetError(f"'{path}' has more than {MAX_ROWS:,} rows.")
    except csv.Error as err:
        raise SheetError(f"'{path}' is not a CSV file we can read: {err}.") from None
    return Sheet(path.stem, rows)


def _unescaped(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text


def _tidy(value: object) -> Cell:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _heading_text(cell: Cell) -> str:
    return " ".join(str(cell).split()) if cell is not None else ""


def find_table(sheet: Sheet, mapping: dict[str, str] | None, header_row: int | None) -> Table:
    """The heading row (the given one, or the row among the first few that names the most
    known fields), and the columns under it. A table without a title column is still
    returned: the caller asks for a mapping file."""
    candidates = sheet.rows[:HEADER_SEARCH]
    if header_row is not None:
        candidates = [r for r in sheet.rows if r[0] == header_row]
        if not candidates:
            raise SheetError(f"Row {header_row} of the spreadsheet is empty.")
    best: tuple[int, int, list[Placed]] | None = None
    for position, (_, cells) in enumerate(candidates):
        columns = place([_heading_text(c) for c in cells], mapping)
        score = sum(1 for c in columns if c.key is not None)
        score += 5 if any(c.key == "title" for c in columns) else 0
        if best is None or score > best[1]:
            best = (position, score, columns)
    if best is None:
        raise SheetError("The spreadsheet is empty.")
    position, _, columns = best
    number = candidates[position][0]
    below = [r for r in sheet.rows if r[0] > number]
    return Table(sheet, number, columns, below)

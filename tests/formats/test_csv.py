"""The spreadsheets: every list as CSV that Python's csv reader (and so Excel, LibreOffice
and Google Sheets) reads back to the same opportunities as the list's JSON, in the same
order, with money as numbers, days as dates, and no cell a spreadsheet would run."""

from __future__ import annotations

import csv as stdlib_csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest

from publisher.builder.site import build
from publisher.formats import csv
from publisher.model.views import SiteData
from tests.formats.examples import ROOT, TODAY

HEADINGS = [
    "Title",
    "Commissioner",
    "Status",
    "Funding type",
    "Places",
    "Themes",
    "Summary",
    "Value",
    "Value a year from (£)",
    "Value a year up to (£)",
    "Total value from (£)",
    "Total value up to (£)",
    "Opens",
    "Opens on",
    "Closes",
    "Closes on",
    "Decision",
    "Service starts",
    "Notice",
    "Contact email",
    "Last changed",
    "Grant from (£)",
    "Grant up to (£)",
    "Id",
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site") / "feeds"
    build(ROOT / "plans", out, today=TODAY)
    return out


def rows(raw: bytes) -> list[dict[str, str]]:
    assert raw.startswith(csv.BOM), "Excel reads UTF-8 only after a byte order mark"
    reader = stdlib_csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline=""))
    assert reader.fieldnames == HEADINGS
    return list(reader)


def test_every_list_has_a_spreadsheet_of_its_json_opportunities_in_order(built: Path) -> None:
    sheets = sorted(built.rglob("*.csv"))
    assert sorted(p.with_suffix("") for p in sheets) == sorted(
        p.with_suffix("") for p in built.rglob("*.rss")
    )
    for sheet in sheets:
        document = json.loads(sheet.with_suffix(".json").read_bytes())
        found = rows(sheet.read_bytes())
        assert [r["Id"] for r in found] == [o["uid"] for o in document["opportunities"]], sheet
        for row, record in zip(found, document["opportunities"], strict=True):
            assert row["Title"] == record["title"]
            assert row["Notice"] == record["url"]
            assert (built / row["Notice"].removeprefix("http://localhost:8000/")).is_file()


def test_money_is_numbers_and_days_are_dates(built: Path) -> None:
    document = json.loads((built / "all.json").read_bytes())
    by_id = {o["uid"]: o for o in document["opportunities"]}
    checked = 0
    for row in rows((built / "all.csv").read_bytes()):
        record = by_id[row["Id"]]
        assert row["Value"] == (record["value_text"] if record["value"] else "")
        per_year = (record["value"] or {}).get("per_year")
        if isinstance(per_year, int | float):
            assert float(row["Value a year from (£)"]) == float(row["Value a year up to (£)"])
            assert float(row["Value a year from (£)"]) == per_year
            checked += 1
        for words, day, field in (
            ("Opens", "Opens on", "tender_opens"),
            ("Closes", "Closes on", "tender_closes"),
        ):
            date = record["dates"][field]
            assert row[words] == (date["words"] if date else "")
            if date and date["precision"] in ("day", "minute"):
                assert dt.date.fromisoformat(row[day]).isoformat() == date["first_day"]
            else:
                assert row[day] == "", "an approximate date is said in words only"
    assert checked > 5


def test_the_file_is_rfc_4180(built: Path) -> None:
    raw = (built / "all.csv").read_bytes()
    lines = raw.split(b"\r\n")
    assert lines[-1] == b"", "every row, the last too, ends with CRLF"
    assert b"\n" not in raw.replace(b"\r\n", b""), "no bare line feeds: summaries are one line"
    assert b'"' in raw  # summaries with commas are quoted


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x","click")', '\'=HYPERLINK("http://x","click")'),
        ("+44 113 000 0000", "'+44 113 000 0000"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tindented", "'\tindented"),
        ("Plain words, with a comma", "Plain words, with a comma"),
        (None, ""),
        (450000.0, "450000"),
        (99.5, "99.5"),
        (3, "3"),
        (True, "yes"),
    ],
)
def test_cells(value: object, cell: str) -> None:
    assert csv.cell(value) == cell


def test_a_title_that_looks_like_a_formula_never_runs(site: SiteData) -> None:
    view = site.opportunities[0]
    item = view.item.model_copy(update={"title": '=HYPERLINK("http://evil.example","Apply")'})
    shown = type(view)(**{**view.__dict__, "item": item})
    row = next(stdlib_csv.reader(io.StringIO(csv.row(site, shown).decode("utf-8"))))
    assert row[0] == "'" + item.title


def test_a_list_with_no_opportunities_is_its_headings(site: SiteData) -> None:
    expected = csv.BOM + (",".join(HEADINGS) + "\r\n").encode()
    assert csv.spreadsheet(site, []) == expected
    assert rows(expected) == []

"""Spreadsheet cells as councils write them, read as plan values (publisher import)."""

from __future__ import annotations

import datetime as dt

import pytest

from publisher.plans.sheet_cells import (
    CellError,
    Money,
    duration_between,
    read_date,
    read_duration,
    read_money,
)
from publisher.plans.sheet_columns import place, recognise
from publisher.plans.sheet_words import read_contact, read_route, read_status


@pytest.mark.parametrize(
    ("cell", "money"),
    [
        ("£50k", Money(50000, 50000)),
        ("£1.2m", Money(1200000, 1200000)),
        ("50,000", Money(50000, 50000)),
        (50000, Money(50000, 50000)),
        ("£1,200,000.00", Money(1200000, 1200000)),
        ("£50k - £100k", Money(50000, 100000)),
        ("50-100k", Money(50000, 100000)),
        ("£250,000 to £300,000", Money(250000, 300000)),
        ("up to £4,000", Money(None, 4000)),
        ("£30k pa", Money(30000, 30000, per_year=True)),
        ("£1.5 million", Money(1500000, 1500000)),
    ],
)
def test_money(cell: object, money: Money) -> None:
    assert read_money(cell) == money


def test_money_in_thousands_when_the_heading_says_so() -> None:
    assert read_money(50, scale=1000) == Money(50000, 50000)
    assert place(["Value (£k)"])[0].scale == 1000


@pytest.mark.parametrize("cell", ["TBC", "tbc", "n/a", "-", "", None, "To be confirmed"])
def test_not_known_yet_is_a_gap_not_a_mistake(cell: object) -> None:
    assert read_money(cell) is None
    assert read_date(cell) is None


@pytest.mark.parametrize("cell", ["lots", "about fifty thousand", "£100k - £50k"])
def test_money_that_cannot_be_read_says_so(cell: str) -> None:
    with pytest.raises(CellError, match=r"\S"):
        read_money(cell)


@pytest.mark.parametrize(
    ("cell", "date"),
    [
        (dt.datetime(2027, 3, 31), "2027-03-31"),
        (dt.datetime(2027, 1, 8, 17, 0), "2027-01-08T17:00"),
        (dt.date(2027, 3, 31), "2027-03-31"),
        (46477, "2027-03-31"),  # an Excel day number without its date format
        ("31/03/2027", "2027-03-31"),
        ("31/03/27", "2027-03-31"),
        ("31.03.2027", "2027-03-31"),
        ("14th March 2027", "2027-03-14"),
        ("2027-03-14", "2027-03-14"),
        ("March 2027", "2027-03"),
        ("Sept 2027", "2027-09"),
        ("Mar-27", "2027-03"),
        ("March 2027 (TBC)", "2027-03"),
        ("Q1 2027/28", "2027-Q2"),  # April to June 2027: the financial year starts in April
        ("Q4 2027/28", "2028-Q1"),
        ("2027/28 Q3", "2027-Q4"),
        ("Q2 2027", "2027-Q2"),
        ("2027-Q2", "2027-Q2"),
        ("April to June 2027", "2027-Q2"),
        ("2027", "2027"),
        (2027, "2027"),
    ],
)
def test_dates(cell: object, date: str) -> None:
    assert read_date(cell) == date


@pytest.mark.parametrize(
    ("cell", "words"),
    [
        ("03/31/2027", "read day first, as in the UK, and 31 is not a month"),
        ("31/02/2027", "'31/02/2027' is not a real day: February 2027 has 28 days"),
        ("2027/28", "a whole financial year (April 2027 to March 2028)"),
        ("Spring 2027", "'Spring 2027' is not a date we can read"),
    ],
)
def test_dates_that_cannot_be_read_say_why(cell: str, words: str) -> None:
    with pytest.raises(CellError) as raised:
        read_date(cell)
    assert words in str(raised.value)


@pytest.mark.parametrize(
    ("cell", "unit", "length"),
    [
        ("3 years", None, {"years": 3}),
        ("18 months", None, {"months": 18}),
        ("3 + 2 years", None, {"years": 3, "extension_years": 2}),
        ("3 years plus 2 years extension", None, {"years": 3, "extension_years": 2}),
        ("3+1+1 years", None, {"years": 3, "extension_years": 2}),
        ("1 year 6 months", None, {"years": 1, "months": 6}),
        (36, "months", {"months": 36}),
    ],
)
def test_durations(cell: object, unit: str | None, length: dict[str, int]) -> None:
    assert read_duration(cell, unit) == length


def test_a_bare_number_of_years_or_months_is_asked_about() -> None:
    with pytest.raises(CellError, match="years or months"):
        read_duration(3)


def test_duration_from_a_start_and_an_end_date() -> None:
    assert duration_between("2027-10-01", "2030-09-30") == {"years": 3}
    assert duration_between("2027-10-01", "2029-03-31") == {"months": 18}
    assert duration_between("2027-10-01", "2027-10-15") is None


def test_words_councils_use() -> None:
    assert read_route("Open Procedure") == "open"
    assert read_route("PSR competitive process") == "competitive"
    assert read_route("most-suitable-provider") == "most-suitable-provider"
    assert read_status("Pipeline") == "planning"
    assert read_status("Live") == "open"
    with pytest.raises(CellError, match="'Framework call-off' is not a procurement route"):
        read_route("Framework call-off")
    assert read_contact("Jo Bloggs <jo@example.org>") == {
        "name": "Jo Bloggs",
        "email": "jo@example.org",
    }


@pytest.mark.parametrize(
    ("heading", "field"),
    [
        ("Contract Title", "title"),
        ("Brief description", "summary"),
        ("Est. value", "value"),
        ("Estimated Total Value (£)", "value"),
        ("Anticipated tender date", "tender_opens"),
        ("Estimated Contract Start Date", "service_starts"),
        ("Route to market", "route"),
        ("PROCUREMENT  ROUTE", "route"),
        ("Lead officer", "contact"),
        ("Incumbent", "current_provider"),
        ("Contract end date", "end_date"),
        ("Budget code", None),
    ],
)
def test_headings(heading: str, field: str | None) -> None:
    assert recognise(heading) == field

"""Plan dates: exact or approximate, never turned into a made-up day."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic_core import PydanticCustomError

from publisher.plans.dates import PlanDate, Precision


@pytest.mark.parametrize(
    ("text", "precision", "first", "last"),
    [
        ("2027", Precision.YEAR, dt.date(2027, 1, 1), dt.date(2027, 12, 31)),
        ("2027-Q2", Precision.QUARTER, dt.date(2027, 4, 1), dt.date(2027, 6, 30)),
        ("2027-q4", Precision.QUARTER, dt.date(2027, 10, 1), dt.date(2027, 12, 31)),
        ("2027-02", Precision.MONTH, dt.date(2027, 2, 1), dt.date(2027, 2, 28)),
        ("2028-02", Precision.MONTH, dt.date(2028, 2, 1), dt.date(2028, 2, 29)),
        ("2027-03-14", Precision.DAY, dt.date(2027, 3, 14), dt.date(2027, 3, 14)),
        ("2027-03-14T10:00", Precision.MINUTE, dt.date(2027, 3, 14), dt.date(2027, 3, 14)),
        ("2027-3-4", Precision.DAY, dt.date(2027, 3, 4), dt.date(2027, 3, 4)),
    ],
)
def test_dates_keep_their_precision(text, precision, first, last) -> None:
    date = PlanDate.parse(text)
    assert date.precision is precision
    assert (date.first_day, date.last_day) == (first, last)
    assert date.is_approximate == (
        precision in (Precision.YEAR, Precision.QUARTER, Precision.MONTH)
    )


def test_a_year_written_as_a_number_is_a_year() -> None:
    assert PlanDate.parse(2027).text == "2027"


def test_canonical_text() -> None:
    assert PlanDate.parse("2027-3-4").text == "2027-03-04"
    assert PlanDate.parse("2027-03-14 10:00:00").text == "2027-03-14T10:00"
    assert PlanDate.parse(dt.date(2027, 1, 5)).text == "2027-01-05"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("2027-02-30", "February 2027 has 28 days"),
        ("2027-Q5", "quarters are Q1 to Q4"),
        ("2027-13", "months are 01 to 12"),
        ("14/03/2027", "write it year first, as 2027-03-14"),
        ("soon", "is not a date we can read"),
        ("1999", "between 2000 and 2100"),
        ("2027-03-14T25:00", "time that does not exist"),
        (True, "is not a date"),
        (["2027"], "this should be a date"),
    ],
)
def test_impossible_dates_are_explained(text, words) -> None:
    with pytest.raises(PydanticCustomError) as caught:
        PlanDate.parse(text)
    assert words in str(caught.value)


def test_order_is_only_wrong_when_it_is_surely_wrong() -> None:
    march, march_14, q1 = (PlanDate.parse(t) for t in ("2027-03", "2027-03-14", "2027-Q1"))
    assert not march.surely_before(march_14) and not march_14.surely_before(march)
    assert not q1.surely_before(march)
    assert PlanDate.parse("2027-02").surely_before(march_14)
    assert PlanDate.parse("2027-03-14T10:00").surely_before(PlanDate.parse("2027-03-14T12:00"))


dates = st.one_of(
    st.integers(2000, 2100).map(str),
    st.tuples(st.integers(2000, 2100), st.integers(1, 4)).map(lambda t: f"{t[0]}-Q{t[1]}"),
    st.tuples(st.integers(2000, 2100), st.integers(1, 12)).map(lambda t: f"{t[0]}-{t[1]:02d}"),
    st.dates(dt.date(2000, 1, 1), dt.date(2100, 12, 31)).map(dt.date.isoformat),
    st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2100, 12, 31)).map(
        lambda d: d.strftime("%Y-%m-%dT%H:%M")
    ),
)


@given(dates)
def test_every_valid_date_reads_back_as_written(text: str) -> None:
    date = PlanDate.parse(text)
    assert date.text == text
    assert PlanDate.parse(date.text) == date
    assert date.first_day <= date.last_day
    assert date.start < date.end


@given(st.text(max_size=30))
def test_any_text_is_a_date_or_a_clear_error(text: str) -> None:
    try:
        PlanDate.parse(text)
    except PydanticCustomError as err:
        assert err.type == "plan_date"

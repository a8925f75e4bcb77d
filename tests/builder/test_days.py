"""What a build reads of the day (builder/days.py): counts worked out by comparing days
make a plan file's rendering change only on the days the count changes, not every day."""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Callable
from typing import Any

import pytest

from publisher.builder import days
from publisher.model.psr_summary import FinancialYear
from publisher.plans.rules import whole_weeks

TODAY = dt.date(2026, 12, 8)


@pytest.mark.parametrize("gap", [-400, -8, -7, -6, -1, 0, 1, 6, 7, 8, 13, 14, 700, 3000])
def test_whole_weeks_are_the_plain_count(gap: int) -> None:
    start = dt.date(2026, 3, 1)
    assert whole_weeks(start, start + dt.timedelta(days=gap)) == gap // 7
    assert (
        whole_weeks(dt.date(2026, 1, 1), dt.date.max)
        == (dt.date.max - dt.date(2026, 1, 1)).days // 7
    )
    assert whole_weeks(dt.date.max, dt.date.min) == (dt.date.min - dt.date.max).days // 7


def test_weeks_from_today_change_once_a_week() -> None:
    opens = dt.date(2027, 2, 1)
    with days.watching() as rule:
        weeks = whole_weeks(days.Day(TODAY), opens)
    found = rule()
    assert weeks == (opens - TODAY).days // 7
    assert not found.daily
    signs = [found.sign(TODAY + dt.timedelta(days=n)) for n in range(10)]
    # 8 December is 7 weeks and 6 days before 1 February: the count drops on the 15th
    assert [whole_weeks(TODAY + dt.timedelta(days=n), opens) for n in (6, 7)] == [7, 6]
    assert len(set(signs[:7])) == 1
    assert signs[7] != signs[6]
    assert len(set(signs[7:])) == 1


@pytest.mark.parametrize("compare", ["<", "<=", ">", ">=", "==", "!="])
@pytest.mark.parametrize("offset", [-2, 0, 3])
def test_a_comparison_reads_the_same_until_its_answer_changes(compare: str, offset: int) -> None:
    closes = dt.date(2026, 12, 12)
    answer: Callable[[Any], bool] = {
        "<": lambda day: day < closes,
        "<=": lambda day: day <= closes,
        ">": lambda day: day > closes,
        ">=": lambda day: day >= closes,
        "==": lambda day: day == closes,
        "!=": lambda day: day != closes,
    }[compare]
    with days.watching() as rule:
        answer(days.Day(TODAY, offset))
    found = rule()
    assert not found.daily
    for before in range(-10, 12):
        one = TODAY + dt.timedelta(days=before)
        for after in range(before + 1, 12):
            other = TODAY + dt.timedelta(days=after)
            same = answer(one + dt.timedelta(days=offset)) == answer(
                other + dt.timedelta(days=offset)
            )
            # the same sign only when the answer is the same; a new sign only where it
            # changes (at most twice, for an equality)
            if found.sign(one) == found.sign(other):
                assert same, (one, other)
    signs = {found.sign(TODAY + dt.timedelta(days=n)) for n in range(-10, 12)}
    assert len(signs) == (3 if compare in ("==", "!=") else 2)


def test_the_financial_year_changes_on_the_first_of_april() -> None:
    for day in (dt.date(2026, 3, 31), dt.date(2026, 4, 1), dt.date(2027, 1, 1), dt.date.max):
        assert FinancialYear.of(day).start == (day.year if day.month >= 4 else day.year - 1)
    with days.watching() as rule:
        year = FinancialYear.of(days.Day(TODAY))
    found = rule()
    assert year == FinancialYear(2026)
    assert not found.daily
    march = found.sign(dt.date(2027, 3, 31))
    assert found.sign(TODAY) == march
    assert found.sign(dt.date(2027, 4, 1)) != march


def test_equal_rules_are_shared_and_forgotten_when_no_longer_used() -> None:
    rule = days.shared(days.Rule((dt.date(2031, 1, 1),)))
    assert days.shared(days.Rule((dt.date(2031, 1, 1),))) is rule  # one, kept once
    assert days.shared(days.DAILY) is days.DAILY
    del rule
    gc.collect()
    assert ((dt.date(2031, 1, 1),), False) not in days._SHARED  # a long-running service

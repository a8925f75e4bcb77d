"""Hints that name a fix must name a right one (issue 18): a did-you-mean only when the
word is close in letters and in meaning, a date only when it is a real date."""

from __future__ import annotations

import pytest
from pydantic_core import PydanticCustomError

from publisher.plans.dates import PlanDate
from publisher.plans.errors import did_you_mean

THEMES = ["mental-health", "carers", "older-people"]


def test_one_word_alike_is_not_the_same_meaning() -> None:
    assert did_you_mean("young-people", THEMES) is None  # was: did you mean 'older-people'?


def test_typos_still_find_their_word() -> None:
    assert did_you_mean("mental-helth", THEMES) == "did you mean 'mental-health'?"
    assert did_you_mean("carer", THEMES) == "did you mean 'carers'?"
    assert did_you_mean("planned", ["idea", "planning", "open"]) == "did you mean 'planning'?"


def test_names_and_words_find_the_slug() -> None:
    names = {"children-and-young-people": "Children and young people", "carers": "Carers"}
    assert did_you_mean("young people", names, names) == "did you mean 'children-and-young-people'?"
    assert did_you_mean("Children and Young People", names, names) == (
        "did you mean 'children-and-young-people'?"
    )
    assert did_you_mean("most suitable provider", ["most-suitable-provider", "open"]) == (
        "did you mean 'most-suitable-provider'?"
    )


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("14/03/2027", "written day first; write it year first, as 2027-03-14"),
        ("03/31/2027", "written month first; write it year first, as 2027-03-31"),
        ("03/04/2027", "written day first; write it year first, as 2027-04-03"),
        ("31/31/2027", "is not a real date; write 2027-03-14 for a day"),
        ("29/02/2027", "is not a real date; write 2027-03-14 for a day"),
    ],
)
def test_a_date_hint_is_a_real_date(written: str, said: str) -> None:
    with pytest.raises(PydanticCustomError) as caught:
        PlanDate.parse(written)
    assert said in str(caught.value)

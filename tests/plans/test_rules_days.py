"""The rules that read the day give warnings, never errors: a build reads plan files as of
the plain day and keeps the reading for other days (builder/tasks.py), which is right only
while whether a plan has errors does not depend on the day."""

from __future__ import annotations

import datetime as dt

from publisher.plans.check import check
from publisher.plans.errors import Severity
from tests.formats.examples import ROOT


def test_the_example_plans_have_the_same_errors_on_every_day_of_a_year() -> None:
    start = dt.date(2026, 6, 1)
    seen = set()
    for days in range(0, 400, 3):
        day = start + dt.timedelta(days=days)
        errors = frozenset(
            (p.file, p.code)
            for p in check([ROOT / "plans"], day).problems
            if p.severity is Severity.ERROR
        )
        seen.add(errors)
    assert len(seen) == 1

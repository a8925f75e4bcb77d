"""An example plan read as if written for today (plans/examples.py moves its dates) moves
what git tells of it by the same weeks: when it was first published, its changes and its
earlier versions. Otherwise a demo built years on would say "first published 23 November
2026" beside dates a year ahead, and every example would read as a plan left unchanged for
years, which is what the one example left unmoved is there to show."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from publisher.model.views import ChangeLine, OpportunityHistory
from publisher.plans.examples import Shift, shift_words, shifted


def shifted_history(
    history: OpportunityHistory, shift: Shift, today: dt.date
) -> OpportunityHistory:
    """`history` moved by `shift`. A commit made after the day the example was written for
    would land after today: it is put at today, as history is never in the future."""

    def day(when: dt.date | None) -> dt.date | None:
        return None if when is None else min(shift.day(when), today)

    return OpportunityHistory(
        published=day(history.published),
        last_changed=day(history.last_changed),
        changes=tuple(_line(line, shift, today) for line in history.changes),
        withdrawn=day(history.withdrawn),
        earlier=tuple(
            (min(shift.day(when), today), shifted(item, shift)) for when, item in history.earlier
        ),
    )


def _line(line: ChangeLine, shift: Shift, today: dt.date) -> ChangeLine:
    # The sentence names the dates that changed ("The closing date moved to 8 January 2027")
    return replace(line, day=min(shift.day(line.day), today), text=shift_words(line.text, shift))

"""What another day may change of an opportunity's view (`views.day_facts`): a build takes a
plan file's transparency page and OCDS package when every view reads the same as when they
were made, and keeps what each view read as a digest of these facts, so they must be the
same text in every process, and differ when the view does."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from publisher.model.read import load_site
from publisher.model.views import SAME_ANY_DAY, OpportunityView, day_facts

ROOT = Path(__file__).parents[2]
TODAY = dt.date(2026, 11, 23)
PRINT = f"""
import datetime as dt, hashlib
from pathlib import Path
from typing import Any
from publisher.model.read import load_site
from publisher.model.views import day_facts
site, _ = load_site(Path({str(ROOT / "plans")!r}), dt.date(2026, 11, 23))
for view in site.opportunities:
    print(view.uid, hashlib.sha256(day_facts(view).encode()).hexdigest())
"""


def test_the_facts_are_the_same_text_in_every_process() -> None:
    # str hashes, and so a set's order, differ between processes unless the seed is set
    runs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", PRINT],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        runs.append(done.stdout)
    assert runs[0] == runs[1] and runs[0].count("\n") > 20


def test_every_field_not_read_from_the_file_alone_is_a_fact() -> None:
    site, _ = load_site(ROOT / "plans", TODAY)
    view = next(v for v in site.opportunities if v.stale is None and v.key_dates)
    names = {one.name for one in dataclasses.fields(OpportunityView)}
    assert names > SAME_ANY_DAY
    for name in sorted(names - SAME_ANY_DAY):
        other = dataclasses.replace(view, **{name: _different(getattr(view, name))})
        assert day_facts(other) != day_facts(view), name
    # the day it was worked out for is not a fact: counts of days are filled in as written
    assert day_facts(dataclasses.replace(view, as_of=TODAY + dt.timedelta(days=3))) == (
        day_facts(view)
    )


def _different(value: Any) -> Any:
    if isinstance(value, tuple):
        return (*value, value[0]) if value else ("something",)
    if isinstance(value, dt.date):
        return value + dt.timedelta(days=1)
    if value is None:
        return TODAY
    return None

"""`publisher build` starts without the libraries that write calendars and feeds: they are
imported where a calendar or a feed is written (formats/calendar.py, formats/feeds.py), so
a build with nothing to write (nothing changed) spends no time importing them. And it ends
without starting the cycle collector again, only for it to walk what is about to go."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

WRITERS = ("icalendar", "feedgen", "lxml")


def test_the_build_command_imports_no_calendar_or_feed_library_until_it_writes_one() -> None:
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, publisher.cli, publisher.cli.site, publisher.builder.site; "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({WRITERS})))",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    assert loaded.stdout.strip() == "[]"


def test_the_build_command_ends_with_the_cycle_collector_still_paused(tmp_path: Path) -> None:
    plans = tmp_path / "plans"
    shutil.copytree(Path(__file__).parents[1] / "plans", plans)
    # `publisher build` ends with os._exit: it is wrapped to say whether the collector runs.
    script = (
        "import gc, os, sys; from publisher.cli import entry; end = os._exit; "
        "os._exit = lambda code: (print('collector on:', gc.isenabled()), sys.stdout.flush(), "
        "end(code)); "
        f"sys.argv = ['publisher', 'build', '--plans', {str(plans)!r}, '--out', "
        f"{str(tmp_path / 'feeds')!r}, '--today', '2026-03-01']; entry()"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Built " in done.stdout
    assert done.stdout.strip().endswith("collector on: False")

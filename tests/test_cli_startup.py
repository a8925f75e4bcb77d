"""`publisher build` starts without the libraries that write calendars and feeds: they are
imported where a calendar or a feed is written (formats/calendar.py, formats/feeds.py), so
a build with nothing to write (nothing changed) spends no time importing them."""

from __future__ import annotations

import subprocess
import sys

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

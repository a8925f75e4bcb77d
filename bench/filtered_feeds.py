"""Benchmark: how long a filtered feed (`/feeds?place=...&format=...`) takes to make, in the
web app's own process, on 4,000 opportunities.

The app makes each filtered feed once per build and keeps it (publisher/service/live.py),
so what costs is the first request for each choice. This times, for each format, the first
rendering of choices never asked for before: the very first (no opportunity's items made
yet, as after a new build) and later ones (items made once per build are shared). The time
is CPU in this process, without HTTP, compression or ETags (bench/serve_feeds.py measures
those for the site's files).

Run by hand: `.venv/bin/python -m bench.filtered_feeds`; record the result in
docs/performance.md.
"""

from __future__ import annotations

import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from bench.generate import generate
from publisher.model.read import load_site
from publisher.service import filtered

TODAY = dt.date(2026, 11, 23)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-filtered-") as folder:
        plans = generate(Path(folder) / "plans", files=80, per_file=50)
        for fmt in filtered.FORMATS:
            site, _ = load_site(plans, TODAY)  # afresh: nothing made yet, as after a build
            choices = [
                filtered.Choice(place=(slug,))
                for slug in sorted(site.places.by_slug)
                if filtered.members(site, filtered.Choice(place=(slug,)))
            ]
            times = []
            sizes = []
            for choice in choices:
                started = time.process_time()
                body = filtered.render(site, choice, fmt)
                times.append(time.process_time() - started)
                sizes.append(len(body))
            later = times[1:]
            print(
                f"{fmt:4}  {len(site.opportunities)} opportunities, {len(choices)} choices "
                f"(one place each): first {times[0] * 1000:.0f} ms; later median "
                f"{statistics.median(later) * 1000:.1f} ms, max {max(later) * 1000:.1f} ms; "
                f"median {statistics.median(sizes) / 1024:.0f} KB"
            )


if __name__ == "__main__":
    main()

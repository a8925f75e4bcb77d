"""Experiment: what `publisher build` would cost if it did not start cold: a parent process
imports the publisher and, while idle between builds, reads what a build reads first (the
manifest, every plan file's entry, the history cache); each build is a forked child that
takes those from memory (the manifest only while it describes the site there) and exits
at once, as `publisher build` does. Nothing in the publisher works this way: the figures
say whether a build process kept between builds would bring one change to 1 s.

    python -m bench.england --commits 60 --out DIR     # first: the repository and its site
    python -m bench.warm_build --out DIR 0 1 2         # then: for each ICB plan file given
                                                       # by its place in name order, a build
                                                       # with nothing changed and one after
                                                       # a commit rewording one title

Each figure is the wall time from the fork to the child's exit. Run by hand; record the
results in docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import sys
import time
from pathlib import Path

from bench import england
from bench.history import _commit
from publisher.builder import cache
from publisher.builder.cache import Entry, Manifest
from publisher.changes import history
from publisher.changes.history import History
from publisher.cli import main as command
from publisher.cli import options


def preload(plans: Path, out: Path) -> tuple[Manifest, dict[str, Entry], History | None]:
    """What a build reads first, read while the parent is idle."""
    started = time.perf_counter()
    folder = cache.folder_for(out)
    manifest = cache.load_manifest(folder, out)
    if manifest is None:
        sys.exit(f"no manifest of {out}: build it first (python -m bench.england)")
    entries = {}
    for name in manifest.entries.values():
        entry = cache.load_entry(folder, name)
        if entry is not None:
            entries[name] = entry
    kept = history._load_cache(history._cache_path(plans.parent / ".git", plans.name))
    print(f"  read ahead in {time.perf_counter() - started:.2f} s, between builds")
    return manifest, entries, kept


def build(plans: Path, out: Path, today: dt.date, what: str) -> None:
    """One build in a forked child that takes what was read ahead from memory."""
    manifest, entries, kept = preload(plans, out)
    started = time.perf_counter()
    child = os.fork()
    if child == 0:
        load_entry = cache.load_entry
        cache.load_manifest = lambda _folder, site: (  # type: ignore[assignment]
            manifest if cache.identity(site) == manifest.site else None
        )
        cache.load_entry = lambda folder, name: entries.get(name) or load_entry(folder, name)
        history._load_cache = lambda _path: kept  # type: ignore[assignment]
        arguments = ["build", "--plans", str(plans), "--out", str(out), "--today", str(today)]
        code = command(arguments)
        sys.stdout.flush()
        os._exit(code)
    _, status = os.waitpid(child, 0)
    code = os.waitstatus_to_exitcode(status)
    print(f"{what}: {time.perf_counter() - started:.2f} s (exit status {code})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=england.WORK.parent)
    parser.add_argument("files", type=int, nargs="+", help="ICB plan files, by place")
    args = parser.parse_args()
    england._use(args.out)
    plans, out = england.WORK / "plans", england.SITE.resolve()
    if options.load_settings("build") is None:
        sys.exit(1)
    import publisher.builder.site  # noqa: PLC0415 - all a build imports, ahead
    import publisher.formats.calendar  # noqa: PLC0415
    import publisher.formats.feeds  # noqa: F401, PLC0415

    gc.disable()  # as `publisher build` runs
    today = england.TODAY
    for place in args.files:
        build(plans, out, today, "nothing changed")
        plan = sorted(plans.glob("nhs-*-icb.yaml"))[place]
        plan.write_text(plan.read_text().replace("title: ", "title: Revised ", 1))
        morning = dt.datetime.combine(today, dt.time(8), tzinfo=dt.UTC)
        _commit(england.WORK, f"{plan.name}: a title reworded", morning)
        build(plans, out, today, f"one change ({plan.name})")


if __name__ == "__main__":
    main()

"""Benchmark: `publisher build` of 20,000 opportunities (target: under 30 s, peak memory
under 1 GB), and a rebuild after one opportunity changes (target: under 2 s).

Run by hand with `make bench`; record the results in docs/performance.md.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.generate import generate
from publisher.builder import cache

PLANS = Path("bench/out/plans")
OPPORTUNITIES = 20_000  # 400 files of 50: every build must publish them all
SITE = Path("bench/out/feeds")


def _settle() -> None:
    """Let the last build finish its own work before the next is timed: its replaced site
    removed in the background, and its written data flushed to disk (the kernel writes
    gigabytes back for a while after a full build, which slows whatever runs then)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and [
        *SITE.parent.glob(f".{SITE.name}.building-*"),
        *SITE.parent.glob(f".{SITE.name}.old-*"),
    ]:
        time.sleep(0.1)
    os.sync()


def _build() -> tuple[float, float, str]:
    """Wall seconds, peak resident memory of the command in MB, and its output."""
    _settle()
    command = [
        sys.executable,
        "-m",
        "publisher",
        "build",
        "--plans",
        str(PLANS),
        "--out",
        str(SITE),
        "--today",
        "2026-11-23",
    ]
    started = time.perf_counter()
    # A fresh interpreter per build, so ru_maxrss of children is this build's peak alone.
    wrapper = (
        "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
        "print('MAXRSS', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
        "file=sys.stderr); sys.exit(r.returncode)"
    )
    # As installed (pip compiles modules to bytecode): not every run compiling them again.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    run = subprocess.run(
        [sys.executable, "-c", wrapper, *command],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    seconds = time.perf_counter() - started
    if run.returncode != 0 or f"for {OPPORTUNITIES} opportunities" not in run.stdout:
        sys.exit(
            f"publisher build did not publish all {OPPORTUNITIES} opportunities:\n"
            f"{run.stdout}{run.stderr}"
        )
    peak = re.search(r"MAXRSS (\d+)", run.stderr)
    return seconds, int(peak.group(1)) / 1024 if peak else float("nan"), run.stdout.strip()


def main() -> None:
    generate(PLANS, files=400, per_file=50)
    # From scratch: no site and no cache of parts from an earlier run.
    for folder in (SITE, cache.folder_for(SITE.resolve())):
        shutil.rmtree(folder, ignore_errors=True)
    first, memory, output = _build()
    print(output)
    print(f"full build: {first:.1f} s, peak memory {memory:.0f} MB")
    again, memory, _ = _build()
    print(f"again, nothing changed: {again:.1f} s, peak memory {memory:.0f} MB")
    plan = PLANS / "bench-commissioner-0007.yaml"
    text = plan.read_text()
    # A plain YAML scalar cannot hold ': ', so the new words must not add one.
    plan.write_text(text.replace("title: ", "title: Revised ", 1))
    changed, memory, _ = _build()
    print(f"rebuild after changing one opportunity: {changed:.1f} s, peak memory {memory:.0f} MB")


if __name__ == "__main__":
    main()

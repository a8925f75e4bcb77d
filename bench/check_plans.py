"""Benchmark: `publisher check` on 20,000 opportunities in 400 plan files (target: under 5 s).

Run by hand with `make bench`; record the result in docs/performance.md.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.generate import generate

OUT = Path("bench/out/plans")


def main() -> None:
    generate(OUT, files=400, per_file=50)
    size = sum(p.stat().st_size for p in OUT.rglob("*.yaml"))
    print(
        f"20,000 opportunities in 400 files, {size / 1024 / 1024:.1f} MB of YAML; "
        f"{os.cpu_count()} CPU cores"
    )
    times = []
    for _ in range(3):
        started = time.perf_counter()
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "publisher",
                "check",
                str(OUT),
                "--today",
                "2026-11-23",
                "--format",
                "json",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        times.append(time.perf_counter() - started)
        if run.returncode not in (0, 1):
            sys.exit(f"publisher check failed:\n{run.stderr}")
    summary = run.stdout[run.stdout.index('"files"') :].split("\n")[:5]
    print("  ".join(line.strip() for line in summary))
    print(
        f"publisher check: best {min(times):.2f} s, median {statistics.median(times):.2f} s "
        f"over {len(times)} runs (wall clock, whole command)"
    )


if __name__ == "__main__":
    main()

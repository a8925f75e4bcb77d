"""Benchmark: `publisher build` of plans shaped like England (bench/generate_england.py),
with a year of git history, beside Hugo building the same notice pages, taxonomies and
RSS per term (bench/hugo_site.py) in the same run.

Times four builds of the publisher, each in a fresh interpreter: from scratch (no site, no
cache of parts, no cached history), again with nothing changed, after one opportunity
changed (committed), and each day of the week after with nothing changed (a build a day:
days differ in how many dates pass); then Hugo's builds of the same
opportunities from scratch (Hugo has no incremental build): the anchor the issue set (the
pages and an RSS feed per list), and the same files as ours (each list also as Atom,
iCalendar, JSON and CSV: the same work, file for file). Wall clock, CPU time (user +
system, every process of the build) and memory: the largest process's peak (ru_maxrss) and
the peak of the whole process tree's proportional set size (sampled every 50 ms).
Run by hand; record the results in docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import generate_england
from bench.history import Editor, _commit, _edit_commit, _git, reused
from bench.hugo_site import write_site
from publisher.builder import cache

WORK = Path("bench/out/england")  # the plans repository; its plans/ is what is built
SITE = Path("bench/out/england-feeds")
HUGO = Path("bench/out/england-hugo")  # and beside it, Hugo's site of the same files as ours
TODAY = generate_england.TODAY
BENCH_VERSION = 1  # change when the repository's recipe changes, so it is built again
MARKER = "bench-england.json"
HUGO_MISSING = (
    "Hugo is not installed. On Debian or Ubuntu: apt-get install -y hugo "
    "(the figures in docs/performance.md are Debian bookworm's Hugo 0.111). "
    "Or run with --no-hugo to time the publisher alone."
)


# ---------------------------------------------------------------- the repository


def repository(work: Path, opportunities: int, commits: int) -> dict[str, Any]:
    """The plans repository: the generated plans a year ago, then `commits` commits of
    commissioners' edits over the year; reused when it is already there with the same
    sizes (reset to its last built commit)."""
    wanted = {"version": BENCH_VERSION, "opportunities": opportunities, "commits": commits}
    facts = reused(work, MARKER, wanted)
    if facts is not None:
        return facts
    if work.exists():
        shutil.rmtree(work)
    started = time.perf_counter()
    land = generate_england.generate(work / "plans", opportunities)
    _git(work, "init", "-q", "-b", "main")
    for key, value in (
        ("user.name", "Bench Commissioner"),
        ("user.email", "bench@example.org"),
        ("commit.gpgsign", "false"),
        ("core.autocrlf", "false"),
    ):
        _git(work, "config", key, value)
    (work / ".gitignore").write_text(f"/{MARKER}\n")
    _git(work, "add", ".gitignore")
    start = dt.datetime.combine(TODAY - dt.timedelta(days=365), dt.time(9), tzinfo=dt.UTC)
    sha = _commit(work, f"Plans: {opportunities} opportunities", start)
    editor = Editor(work / "plans", random.Random(2026), prefix="added")
    editor.places = [s for s, p in land.places.items() if p[1] in ("place", "neighbourhood")]
    when = start
    for number in range(1, commits):
        when = start + dt.timedelta(days=number * 364 / commits, minutes=editor.rng.randint(0, 480))
        sha, _ = _edit_commit(work, editor, when)
        if number % 50 == 0:
            print(f"  {number} commits", flush=True)
    facts = {**wanted, "base": sha, "added": editor.added, "withdrawn": editor.withdrawn}
    (work / MARKER).write_text(json.dumps(facts, indent=1))
    print(f"Built {work}: {commits} commits in {time.perf_counter() - started:.0f} s")
    return facts


# ---------------------------------------------------------------- measuring

# A fresh interpreter per timed command, so the rusage of its children is that command's
# alone (a process execs with the peak memory of the one that started it).
WRAPPER = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
    "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "print('RUSAGE', u.ru_utime + u.ru_stime, u.ru_maxrss, file=sys.stderr); "
    "sys.exit(r.returncode)"
)


@dataclass(frozen=True)
class Run:
    wall: float  # seconds
    cpu: float  # seconds, user + system, every process of the command
    largest_mb: float  # the largest process's peak resident memory
    tree_mb: float  # the peak of the process tree's proportional set size (sampled)
    output: str


def _tree_pss(root: int) -> float:
    """The proportional set size of `root` and every process below it, in MB."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                parent = int(stat.read().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            with open(f"/proc/{pid}/smaps_rollup") as rollup:
                found = re.search(r"^Pss:\s+(\d+) kB", rollup.read(), re.M)
        except OSError:
            continue
        total += int(found.group(1)) if found else 0
    return total / 1024


def _settle(site: Path) -> None:
    """Let the last build finish its own work (its old site removed in the background,
    what it wrote flushed to disk) before the next is timed."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and [
        *site.parent.glob(f".{site.name}.building-*"),
        *site.parent.glob(f".{site.name}.old-*"),
    ]:
        time.sleep(0.1)
    os.sync()


def measure(command: list[str], cwd: Path | None = None) -> Run:
    # As installed (pip compiles modules to bytecode): not every run compiling them again.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", WRAPPER, *command],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = [0.0]

    def sample() -> None:
        while child.poll() is None:
            peak[0] = max(peak[0], _tree_pss(child.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = child.communicate()
    wall = time.perf_counter() - started
    sampler.join()
    usage = re.search(r"RUSAGE ([\d.]+) (\d+)", err)
    if child.returncode != 0 or usage is None:
        sys.exit(f"{' '.join(command)} failed:\n{out[-3000:]}{err[-3000:]}")
    cpu, largest = float(usage.group(1)), int(usage.group(2)) / 1024
    return Run(wall, cpu, largest, peak[0], out.strip())


def build(plans: Path, today: dt.date) -> Run:
    _settle(SITE)
    command = [sys.executable, "-m", "publisher", "build", "--plans", str(plans)]
    return measure([*command, "--out", str(SITE), "--today", today.isoformat()])


def _use(out: Path) -> None:
    """Keep the repository, the site and Hugo's site under `out` (runs side by side each
    use their own)."""
    global WORK, SITE, HUGO
    WORK, SITE, HUGO = out / "england", out / "england-feeds", out / "england-hugo"


def files(site: Path) -> tuple[dict[str, int], int]:
    """How many files of each kind a built site holds, and their bytes."""
    counts: dict[str, int] = {}
    size = 0
    for folder, _, names in os.walk(site):
        for name in names:
            kind = name.rpartition(".")[2] if "." in name else "(none)"
            counts[kind] = counts.get(kind, 0) + 1
            size += os.stat(os.path.join(folder, name)).st_size
    return dict(sorted(counts.items(), key=lambda kv: -kv[1])), size


def hugo_build(hugo: str, plans: Path, site: Path, every_format: bool) -> tuple[Run, int]:
    """Hugo's build of a site written from the plans; its run and its opportunity pages."""
    pages = write_site(plans, site, TODAY.isoformat(), every_format)
    _settle(SITE)
    return measure([hugo, "--quiet", "--destination", "public"], cwd=site), pages


def _row(what: str, run: Run) -> str:
    return (
        f"| {what} | {run.wall:.1f} s | {run.cpu:.1f} s | {run.largest_mb:,.0f} MB "
        f"| {run.tree_mb:,.0f} MB |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--opportunities", type=int, default=20_000)
    parser.add_argument("--commits", type=int, default=250)
    parser.add_argument("--no-hugo", action="store_true", help="time the publisher alone")
    parser.add_argument(
        "--out", type=Path, default=WORK.parent, help="folder for the plans and sites"
    )
    args = parser.parse_args()
    _use(args.out)
    hugo = shutil.which("hugo")
    if hugo is None and not args.no_hugo:
        sys.exit(HUGO_MISSING)
    facts = repository(WORK, args.opportunities, args.commits)
    plans = WORK / "plans"
    load = os.getloadavg()[0]
    print(f"load average before measuring: {load:.2f}; {os.cpu_count()} CPU cores")

    code = cache.code_digest()  # in every key: an edit during the run makes all again
    runs: list[tuple[str, Run]] = []
    for folder in (SITE, cache.folder_for(SITE.resolve()), WORK / ".git" / "publisher"):
        shutil.rmtree(folder, ignore_errors=True)
    runs.append(("full build (no site, no cache, no cached history)", build(plans, TODAY)))
    print(runs[-1][1].output)
    runs.append(("again, nothing changed", build(plans, TODAY)))
    plan = sorted(plans.glob("nhs-*-icb.yaml"))[0]
    # A plain YAML scalar cannot hold ': ', so the new words must not add one.
    plan.write_text(plan.read_text().replace("title: ", "title: Revised ", 1))
    morning = dt.datetime.combine(TODAY, dt.time(8), tzinfo=dt.UTC)
    _commit(WORK, f"{plan.name}: a title reworded", morning)
    runs.append(("one opportunity changed (a commit)", build(plans, TODAY)))
    runs.append(("the next day, nothing changed", build(plans, TODAY + dt.timedelta(days=1))))
    # Days differ in how many dates pass: no closing date falls on the first (the plans'
    # open opportunities close from two days on), so each day of the week is built, a day
    # after the last, as the service does when nothing else changes.
    for days in range(2, 8):
        day = TODAY + dt.timedelta(days)
        runs.append((f"day {days} ({day:%a %d %b}), nothing changed", build(plans, day)))
    for what, run in runs:
        print(f"{what}: {run.wall:.1f} s wall, {run.cpu:.1f} s CPU, {run.tree_mb:,.0f} MB")
    week = sorted(run.wall for what, run in runs[3:])
    print(
        f"the week's daily builds: median {statistics.median(week):.1f} s, "
        f"{week[0]:.1f} to {week[-1]:.1f} s (target: the next day at most 3 s)"
    )
    if cache.code_digest() != code:
        print(
            "WARNING: the publisher's code or templates changed during the run, so the builds "
            "after the first made everything again: run it from a copy nobody edits."
        )
    ours, our_bytes = files(SITE)

    anchors: list[tuple[str, Run, tuple[dict[str, int], int]]] = []
    if hugo is not None and not args.no_hugo:
        version = subprocess.run([hugo, "version"], check=False, capture_output=True, text=True)
        print(version.stdout.strip())
        for what, folder, every in (
            ("Hugo, pages and RSS (the issue's anchor)", HUGO, False),
            (
                "Hugo, the same files as ours (+ Atom, iCalendar, JSON, CSV)",
                HUGO.with_name(f"{HUGO.name}-every-format"),
                True,
            ),
        ):
            run, pages = hugo_build(hugo, plans, folder, every)
            anchors.append((what, run, files(folder / "public")))
            print(f"{what}: {pages} opportunity pages; {run.wall:.1f} s wall, {run.cpu:.1f} s CPU")

    command = f"python -m bench.england --opportunities {args.opportunities}"
    command += f" --commits {args.commits}"
    print(
        f"\n`{command}` on {platform.platform()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPU cores (load average {load:.1f} before), "
        f"{dt.date.today().isoformat()}; {facts['added']} opportunities added and "
        f"{facts['withdrawn']} withdrawn over the year's commits\n"
    )
    print("| build | wall | CPU | largest process | whole build (PSS) |")
    print("|---|---|---|---|---|")
    for what, run in runs:
        print(_row(what, run))
    full = runs[0][1]
    for what, run, _ in anchors:
        print(_row(f"{what}, from scratch (every build)", run))
    for what, run, _ in anchors:
        print(
            f"\nratio publisher/{what}, full build: wall {full.wall / run.wall:.2f}, "
            f"CPU {full.cpu / run.cpu:.2f}, memory (PSS) {full.tree_mb / run.tree_mb:.2f}"
        )
    print(f"\nfiles: publisher {sum(ours.values()):,} ({our_bytes / 1e9:.1f} GB) {ours}")
    for what, _, (theirs, their_bytes) in anchors:
        print(f"files: {what} {sum(theirs.values()):,} ({their_bytes / 1e9:.1f} GB) {theirs}")


if __name__ == "__main__":
    main()

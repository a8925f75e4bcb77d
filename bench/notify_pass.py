"""Benchmark: one `publisher notify` pass over plans shaped like England
(bench/generate_england.py, with a year of git history, as bench/england.py makes them),
on SQLite, with the plans' channel files (the example channels).

Runs passes one after another, each in a fresh interpreter, against the same database:
the first pass (it records what there is), a pass five minutes later with nothing
changed, a pass after one opportunity's title changed in its plan file, and a pass the
next day with nothing else changed. For each it reports the CPU time of the pass itself
(user + system of `notify.run_pass`, the publisher imported already, as in the
long-running scheduler) and of the whole command (interpreter start and imports too).
Nothing leaves the machine: email goes to a maildir, and the example channels' webhooks
are pointed at a closed port on loopback (they fail, and are retried by later passes).
Run by hand; record the results in docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench import england

CLOSED = "http://127.0.0.1:9/"  # the discard port, closed: a webhook post is refused at once

# The pass, in a fresh interpreter: its own CPU time, and what it did.
PASS = """
import datetime as dt, json, resource, sys
from pathlib import Path
from publisher.delivery import notify
from publisher.settings import Settings

plans, database, mail, when = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), sys.argv[4]
moment = dt.datetime.fromisoformat(when)
settings = Settings(database_url=database, base_url="https://plans.example.org/", maildir=mail,
                    smtp_url=None, allow_private_webhooks=True)
before = resource.getrusage(resource.RUSAGE_SELF)
report = notify.run_pass(plans, settings, lambda: moment)
after = resource.getrusage(resource.RUSAGE_SELF)
cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
print(json.dumps({"cpu": cpu, "unchanged": report.unchanged, "first_run": report.first_run,
                  "announcements": len(report.announcements), "queued": len(report.queued),
                  "problems": len(report.problems)}))
"""


def one_pass(plans: Path, database: str, mail: Path, when: dt.datetime) -> dict[str, Any]:
    """One pass in a fresh interpreter: what it reports, and its whole CPU time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [sys.executable, "-c", PASS, str(plans), database, str(mail), when.isoformat()],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"The notify pass failed:\n{done.stderr}")
    found: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    found["command_cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return found


def _change_one(plans: Path) -> str:
    """Change one opportunity's value in the first plan file that has one (news that
    matters; not committed: the pass reads the working tree)."""
    for path in sorted(plans.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        found = re.search(r"\n    total: (\d+)\n", text)
        if found is not None:
            more = f"\n    total: {int(found[1]) + 5000}\n"
            path.write_text(text[: found.start()] + more + text[found.end() :], "utf-8")
            return path.name
    sys.exit("No plan file with an opportunity's value to change.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--opportunities", type=int, default=20_000)
    parser.add_argument("--commits", type=int, default=250)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("bench/out/notify"),
        help="where the plans repository, database and maildir go (default: bench/out/notify)",
    )
    args = parser.parse_args()
    work = args.out / "england"
    england.repository(work, args.opportunities, args.commits)
    plans = work / "plans"
    state = args.out / "state"
    if state.exists():
        shutil.rmtree(state)
    state.mkdir(parents=True)
    for path in sorted((plans / "channels").glob("*.yaml")):  # not committed
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("https://example.org/", CLOSED), encoding="utf-8")
    kept = work / ".git" / "publisher" / "model"
    if kept.exists():
        shutil.rmtree(kept)  # the first pass reads every plan
    database = f"sqlite:///{(state / 'publisher.db').resolve()}"
    mail = state / "mail"
    start = dt.datetime.combine(england.TODAY, dt.time(10), tzinfo=dt.UTC)
    steps: list[tuple[str, dt.datetime]] = [
        ("first pass (records what there is; every plan read)", start),
        ("nothing changed, 5 minutes later", start + dt.timedelta(minutes=5)),
        ("nothing changed, 10 minutes later", start + dt.timedelta(minutes=10)),
        ("one plan file changed", start + dt.timedelta(minutes=15)),
        ("nothing changed after it", start + dt.timedelta(minutes=20)),
        ("the next day, nothing changed", start + dt.timedelta(days=1)),
        ("the next day, 5 minutes later", start + dt.timedelta(days=1, minutes=5)),
    ]
    print(f"{args.opportunities} opportunities, {len(list(plans.glob('*.yaml'))) - 2} plan files")
    print(f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("| pass | pass CPU | command CPU | read the plans | announced | queued |")
    print("|---|---|---|---|---|---|")
    for what, when in steps:
        if what == "one plan file changed":
            _change_one(plans)
        found = one_pass(plans, database, mail, when)
        print(
            f"| {what} | {found['cpu']:.2f} s | {found['command_cpu']:.2f} s | "
            f"{'no' if found['unchanged'] else 'yes'} | {found['announcements']} | "
            f"{found['queued']} |",
            flush=True,
        )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    subprocess.run(["git", "-C", str(work), "checkout", "-q", "--", "plans"], check=True)


if __name__ == "__main__":
    main()

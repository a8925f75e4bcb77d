"""Benchmark: each opportunity's history from git (`read_history`) over 20,000 opportunities
and 500 commits: from scratch (target: under 30 s), with nothing new (the cache), and after
one new commit (target: under 3 s).

The repository is built once under bench/out/history-repo and reused: the first commit adds
the generated plans, each later one makes the edits commissioners make (a date fixed or
moved, a value changed, a route decided, a gap filled, an opportunity added, withdrawn or
cancelled, a summary reworded), and every 50th renames a plan file (.yaml to .yml and
back, every other time with an edit). The history must hold exactly the changes made.
Each measurement is a fresh Python process. Run by hand; record the results in
docs/performance.md.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import hashlib
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.generate import EXAMPLES, _examples, generate
from publisher.changes.diff import Kind
from publisher.changes.history import History

WORK = Path("bench/out/history-repo")
FILES = 400
TODAY = "2026-11-23"  # the day `publisher check` checks as, as in the other benchmarks
START = dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC)  # the first commit
DAYS = 730  # the commits are spread over about two years
RENAME_EVERY = 50
EXTRA_COMMITS = 3  # single new commits measured one by one
BENCH_VERSION = 2  # change when the repository's recipe changes, so it is built again
MARKER = "bench-history.json"

# A process execs with the peak memory of the process that started it (Linux keeps the
# larger), so the child is started from this small launcher, not from the benchmark itself.
LAUNCHER = """
import subprocess, sys, time
started = time.perf_counter()
run = subprocess.run(sys.argv[1:])
print("WALL", time.perf_counter() - started, file=sys.stderr)
sys.exit(run.returncode)
"""
# The child: one whole `read_history` call in a fresh interpreter.
CHILD = """
import json, resource, sys, time
started = time.perf_counter()
from pathlib import Path
from publisher.changes.history import read_history
imported = time.perf_counter()
history = read_history(Path(sys.argv[1]))
done = time.perf_counter()
out = {
    "seconds": done - imported,
    "import_seconds": imported - started,
    "self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "children_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    "head": history.head,
    "note": history.note,
}
if "--summary" in sys.argv:
    from bench.history import summary
    out["summary"] = summary(history)
print(json.dumps(out))
"""


# ---------------------------------------------------------------- realistic edits


def _month(value: Any) -> tuple[int, int] | None:
    """The year and month of a plan date written as a month or a day; None otherwise."""
    if isinstance(value, dt.date):
        return value.year, value.month
    if isinstance(value, str) and len(value) in (7, 10) and value[4] == "-":
        try:
            return int(value[:4]), int(value[5:7])
        except ValueError:
            return None
    return None


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def _scale(value: Any, factor: float) -> Any:
    if isinstance(value, dict):
        return {k: _scale(v, factor) for k, v in value.items()}
    if isinstance(value, int | float) and not isinstance(value, bool):
        return max(1000, round(value * factor / 1000) * 1000)
    return value


def _dump(data: dict[str, Any]) -> str:
    return yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True, width=90)


def _key(item: dict[str, Any]) -> str:
    """The opportunity's values, in the order written: a date and the text of a date differ."""
    return json.dumps(item, default=lambda o: f"{type(o).__name__}:{o}")


NOT_YET_OPEN = ("idea", "planning", "engagement")
EXTRA_SENTENCE = " Small local groups are welcome to apply together."


@dataclass
class Editor:
    """Makes commissioners' edits to the plan files of one folder, and says which changes
    (by kind) each edit should produce in the history."""

    plans: Path
    rng: random.Random
    prefix: str = "added"  # new opportunities' ids: "<prefix>-<number>"
    templates: list[dict[str, Any]] = field(default_factory=_examples)
    places: list[str] = field(default_factory=list)
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)  # file name -> YAML data
    texts: dict[str, str] = field(default_factory=dict)  # an opportunity's YAML, by _key
    added: int = 0
    withdrawn: int = 0
    renames: int = 0

    def __post_init__(self) -> None:
        places = yaml.safe_load((EXAMPLES / "places.yaml").read_text())["places"]
        self.places = [p["slug"] for p in places]

    def files(self) -> list[str]:
        return sorted(
            p.name
            for p in self.plans.iterdir()
            if p.suffix in (".yaml", ".yml") and p.stem not in ("places", "themes")
        )

    def _load(self, name: str) -> dict[str, Any]:
        if name not in self.docs:
            text = (self.plans / name).read_text(encoding="utf-8")
            data = yaml.load(text, Loader=yaml.CSafeLoader)
            self.docs[name] = data
            # Each opportunity's own text, so saving the file dumps only the edited ones.
            items = re.split(r"^(?=- )", text.partition("\nopportunities:\n")[2], flags=re.M)
            if len(items) == len(data["opportunities"]) + 1 and not items[0]:
                for item, written in zip(data["opportunities"], items[1:], strict=True):
                    self.texts[_key(item)] = written
        return self.docs[name]

    def _save(self, name: str) -> None:
        """The file as the generator's yaml.safe_dump would write it (the C dumper writes
        the same), dumping only the opportunities not seen before."""
        data = self.docs[name]
        assert list(data)[-1] == "opportunities" and data["opportunities"]
        parts = [_dump({k: v for k, v in data.items() if k != "opportunities"})]
        parts.append("opportunities:\n")
        for item in data["opportunities"]:
            key = _key(item)
            if key not in self.texts:
                self.texts[key] = _dump({"opportunities": [item]}).partition("\n")[2]
            parts.append(self.texts[key])
        (self.plans / name).write_text("".join(parts), encoding="utf-8")

    def rename(self, name: str) -> str:
        """x.yaml to x.yml, or back: the commissioner id stays the same."""
        new = name.removesuffix(".yaml") + ".yml" if name.endswith(".yaml") else name[:-4] + ".yaml"
        (self.plans / name).rename(self.plans / new)
        if name in self.docs:
            self.docs[new] = self.docs.pop(name)
        return new

    def edit(self, name: str) -> tuple[str, list[Kind]]:
        """One realistic edit to one opportunity in the file: what it was, and the kinds of
        change the history should record for it."""
        opportunities: list[dict[str, Any]] = self._load(name)["opportunities"]
        edits = [
            (self._date, 3),
            (self._value, 2),
            (self._summary, 2),
            (self._route, 1),
            (self._gap, 1),
            (self._add, 1),
            (self._withdraw, 1),
            (self._cancel, 1),
        ]
        while edits:
            chosen = self.rng.choices(edits, weights=[w for _, w in edits])[0]
            edits.remove(chosen)
            done = chosen[0](opportunities)
            if done is not None:
                self._save(name)
                return done
        raise RuntimeError(f"no edit applies to {name}")

    def _pick(self, candidates: list[dict[str, Any]]) -> dict[str, Any] | None:
        return self.rng.choice(candidates) if candidates else None

    def _date(self, opportunities: list[dict[str, Any]]) -> tuple[str, list[Kind]] | None:
        candidates = [
            o
            for o in opportunities
            if _month(o.get("dates", {}).get("tender_opens")) and o["status"] in NOT_YET_OPEN
        ]
        item = self._pick(candidates)
        if item is None:
            return None
        dates = item["dates"]
        opens = dates["tender_opens"]
        year, month = _month(opens) or (0, 0)
        closes = _month(dates.get("tender_closes")) or (9999, 12)
        later = _next_month(year, month)
        if (
            isinstance(opens, str)
            and len(opens) == 7
            and (self.rng.random() < 0.5 or later > closes)
        ):
            dates["tender_opens"] = dt.date(year, month, self.rng.randint(1, 28))
            return f"{item['id']}: tender opens on a day in {opens}", [Kind.DATE_FIXED]
        if later > closes:
            return None
        if isinstance(opens, dt.date):
            dates["tender_opens"] = dt.date(*later, opens.day)
        else:
            dates["tender_opens"] = f"{later[0]}-{later[1]:02d}"
        return f"{item['id']}: tender opens a month later", [Kind.DATE_MOVED]

    def _value(self, opportunities: list[dict[str, Any]]) -> tuple[str, list[Kind]] | None:
        item = self._pick([o for o in opportunities if isinstance(o.get("value"), dict)])
        if item is None:
            return None
        before = item["value"]
        item["value"] = _scale(before, self.rng.choice([0.8, 0.9, 1.1, 1.25]))
        if item["value"] == before:
            return None
        return f"{item['id']}: value changed", [Kind.VALUE_CHANGED]

    def _summary(self, opportunities: list[dict[str, Any]]) -> tuple[str, list[Kind]] | None:
        item = self._pick(opportunities)
        if item is None:
            return None
        summary = item["summary"]
        if summary.endswith(EXTRA_SENTENCE):
            item["summary"] = summary.removesuffix(EXTRA_SENTENCE)
        else:
            item["summary"] = summary.rstrip() + EXTRA_SENTENCE
        return f"{item['id']}: summary reworded", [Kind.DETAILS]

    def _route(self, opportunities: list[dict[str, Any]]) -> tuple[str, list[Kind]] | None:
        item = self._pick(
            [
                o
                for o in opportunities
                if o.get("route") in (None, "undecided") and o["status"] != "cancelled"
            ]
        )
        if item is None:
            return None
        kinds = [Kind.ROUTE_DECIDED]
        funding = item.get("funding")
        if funding in (None, "undecided"):
            item["funding"] = funding = "contract"
            kinds.insert(0, Kind.FUNDING_DECIDED)
        grant = funding in ("grant", "grant-programme")
        item["route"] = "open-grant-round" if grant else "competitive-flexible"
        self._known(item, "route", "funding")
        return f"{item['id']}: route decided", kinds

    def _gap(self, opportunities: list[dict[str, Any]]) -> tuple[str, list[Kind]] | None:
        item = self._pick(
            [o for o in opportunities if "value" not in o and "value" in o.get("unknown", {})]
        )
        if item is None:
            return None
        item["value"] = {"total": self.rng.randrange(20, 400) * 5000}
        self._known(item, "value")
        return f"{item['id']}: value now known", [Kind.VALUE_KNOWN]

    @staticmethod
    def _known(item: dict[str, Any], *names: str) -> None:
        unknown = item.get("unknown", {})
        for name in names:
            unknown.pop(name, None)
        if "unknown" in item and not unknown:
            del item["unknown"]

    def _add(self, opportunities: list[dict[str, Any]]) -> tuple[str, list[Kind]] | None:
        item = copy.deepcopy(self.rng.choice(self.templates))
        self.added += 1
        item["id"] = f"opportunity-{self.prefix}-{self.added:04d}"
        item["places"] = self.rng.sample(self.places, self.rng.randint(1, 3))
        item.pop("first_published", None)
        for lot in item.get("lots", []):
            lot.pop("places", None)
        dates = item.setdefault("dates", {})
        if "tender_opens" in dates:
            dates["tender_opens"] = f"2028-{self.rng.randint(4, 9):02d}"
            dates["tender_closes"] = f"2028-{self.rng.randint(10, 12):02d}"
            dates["decision"] = "2029-Q1"
            dates["service_starts"] = f"2029-{self.rng.randint(4, 12):02d}-01"
        opportunities.append(item)
        return f"{item['id']}: new", [Kind.NEW]

    def _withdraw(self, opportunities: list[dict[str, Any]]) -> tuple[str, list[Kind]] | None:
        if len(opportunities) < 2:
            return None
        item = opportunities.pop(self.rng.randrange(len(opportunities)))
        self.withdrawn += 1
        return f"{item['id']}: withdrawn", [Kind.WITHDRAWN]

    def _cancel(self, opportunities: list[dict[str, Any]]) -> tuple[str, list[Kind]] | None:
        item = self._pick([o for o in opportunities if o["status"] not in ("cancelled", "awarded")])
        if item is None:
            return None
        item["status"] = "cancelled"
        return f"{item['id']}: cancelled", [Kind.CANCELLED]


# ---------------------------------------------------------------- the repository


def _git(repo: Path, *args: str, when: dt.datetime | None = None) -> str:
    env = dict(os.environ)
    if when is not None:
        stamp = f"@{int(when.timestamp())} +0000"
        env.update(GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)
    run = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, env=env, check=True
    )
    return run.stdout.strip()


def _commit(repo: Path, message: str, when: dt.datetime) -> str:
    _git(repo, "add", "-A", "plans")
    _git(repo, "commit", "-q", "--no-verify", "-m", message, when=when)
    return _git(repo, "rev-parse", "HEAD")


def _edit_commit(
    repo: Path, editor: Editor, when: dt.datetime, rename: bool = False
) -> tuple[str, Counter[str]]:
    """One commit: edits to 1–3 plan files, or a rename (every other one with an edit)."""
    expected: Counter[str] = Counter()
    files = editor.files()
    if rename:
        # In turn: .yaml to .yml, the same with an edit, back to .yaml, the same with an edit.
        editor.renames += 1
        back = [f for f in files if f.endswith(".yml")] if editor.renames % 4 in (3, 0) else []
        old = editor.rng.choice(back or [f for f in files if f.endswith(".yaml")])
        new = editor.rename(old)
        lines = [f"Rename {old} to {new}"]
        if editor.renames % 2 == 0:
            what, kinds = editor.edit(new)
            lines.append(f"{new}: {what}")
            expected.update(kinds)
    else:
        lines = []
        for name in editor.rng.sample(files, editor.rng.randint(1, 3)):
            what, kinds = editor.edit(name)
            lines.append(f"{name}: {what}")
            expected.update(kinds)
    sha = _commit(repo, "\n\n".join([lines[0], "\n".join(lines[1:])]).strip(), when)
    return sha, expected


def _check(plans: Path) -> None:
    """`publisher check` must find no errors (warnings are fine)."""
    run = subprocess.run(
        [sys.executable, "-m", "publisher", "check", str(plans), "--today", TODAY],
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        sys.exit(f"publisher check found errors in {plans}:\n{run.stdout[-3000:]}{run.stderr}")
    print(f"  publisher check {plans}: no errors ({run.stdout.strip().splitlines()[-1]})")


def reused(work: Path, marker: str, wanted: dict[str, Any]) -> dict[str, Any] | None:
    """The facts of a benchmark repository already built at `work` with the same recipe
    and sizes (`wanted`, kept in its `marker` file), put back to its built state (the last
    run added its measured commits); None when it must be built again."""
    kept = work / marker
    if not kept.exists():
        return None
    facts: dict[str, Any] = json.loads(kept.read_text())
    if not all(facts.get(k) == v for k, v in wanted.items()):
        return None
    _git(work, "reset", "-q", "--hard", facts["base"])
    _git(work, "clean", "-q", "-fdx", "plans")
    print(f"Reusing {work} ({wanted['commits']} commits, at {facts['base'][:12]})")
    return facts


def build(work: Path, opportunities: int, commits: int) -> dict[str, Any]:
    """The repository of `commits` commits over `opportunities` opportunities, and what its
    history should hold; reused when it is already there with the same sizes."""
    wanted = {"version": BENCH_VERSION, "opportunities": opportunities, "commits": commits}
    facts = reused(work, MARKER, wanted)
    if facts is not None:
        return facts
    if work.exists():
        shutil.rmtree(work)
    started = time.perf_counter()
    per_file = max(1, opportunities // FILES)
    generate(work / "plans", files=FILES, per_file=per_file)
    print(f"  generated the plans in {time.perf_counter() - started:.0f} s")
    _check(work / "plans")
    committing = time.perf_counter()
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
    expected: dict[str, dict[str, int]] = {}
    renames: list[str] = []
    sha = _commit(work, f"Plans: {FILES * per_file} opportunities in {FILES} files", START)
    expected[sha] = {Kind.NEW: FILES * per_file}
    editor = Editor(work / "plans", random.Random(2027))
    for number in range(1, commits):
        when = START + dt.timedelta(
            days=number * DAYS / commits, minutes=editor.rng.randint(0, 480)
        )
        rename = number % RENAME_EVERY == RENAME_EVERY // 2
        sha, kinds = _edit_commit(work, editor, when, rename=rename)
        expected[sha] = dict(kinds)
        if rename:
            renames.append(sha)
        if number % 100 == 0:
            print(f"  {number} commits", flush=True)
    print(f"  {commits} commits in {time.perf_counter() - committing:.0f} s")
    _check(work / "plans")
    facts = {
        **wanted,
        "files": FILES,
        "base": sha,
        "last_commit": when.isoformat(),
        "expected": expected,
        "renames": renames,
        "added": editor.added,
        "withdrawn": editor.withdrawn,
        "seconds": time.perf_counter() - started,
    }
    (work / MARKER).write_text(json.dumps(facts, indent=1))
    print(f"Built {work}: {commits} commits in {facts['seconds']:.0f} s")
    return facts


# ---------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Run:
    wall: float  # seconds, the whole process, timed by the launcher
    seconds: float  # the `read_history` call alone, measured in the child
    self_mb: float  # the child's peak resident memory
    # the largest peak among its own children (workers, git); a forked child counts the
    # pages it shares with its parent at the fork, so this is an upper bound
    children_mb: float
    summary: dict[str, Any] | None


def measure(plans: Path, with_summary: bool = False) -> Run:
    """One `read_history` call in a fresh interpreter."""
    child = [sys.executable, "-c", CHILD, str(plans), *(["--summary"] if with_summary else [])]
    command = [sys.executable, "-c", LAUNCHER, *child]
    run = subprocess.run(command, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        sys.exit(f"read_history failed:\n{run.stderr}")
    wall = float(run.stderr.rsplit("WALL ", 1)[1].split()[0])
    out = json.loads(run.stdout.strip().splitlines()[-1])
    if out["note"]:
        print(f"  note from read_history: {out['note']}")
    return Run(wall, out["seconds"], out["self_mb"], out["children_mb"], out.get("summary"))


def summary(history: History) -> dict[str, Any]:
    """What the history holds, in numbers, with a digest to compare two histories by."""
    kinds: Counter[str] = Counter()
    by_commit: dict[str, Counter[str]] = {}
    digest = hashlib.sha256()
    for key in sorted(history.records):
        record = history.records[key]
        digest.update(repr((key, record.first_published, record.withdrawn, record.last)).encode())
        for event in record.events:
            kinds[event.change.kind] += 1
            by_commit.setdefault(event.commit, Counter())[event.change.kind] += 1
            digest.update(repr((event.when, event.commit, event.number, event.change)).encode())
    return {
        "records": len(history.records),
        "with_events": sum(1 for r in history.records.values() if r.events),
        "first_published": sum(1 for r in history.records.values() if r.first_published),
        "withdrawn_now": len(history.withdrawn()),
        "current": len(history.current),
        "kinds": dict(kinds),
        "by_commit": {sha: dict(c) for sha, c in by_commit.items()},
        "digest": digest.hexdigest(),
    }


def _sanity(facts: dict[str, Any], extra: dict[str, dict[str, int]], found: dict[str, Any]) -> bool:
    """Compare the history with the edits the generator made; print the summary."""
    expected_by_commit: dict[str, dict[str, int]] = {**facts["expected"], **extra}
    expected: Counter[str] = Counter()
    for made in expected_by_commit.values():
        expected.update(made)
    kinds: dict[str, int] = found["kinds"]
    print(
        f"\nHistory: {found['records']} opportunities with records "
        f"({found['with_events']} with events, {found['current']} in the plans now, "
        f"{found['withdrawn_now']} withdrawn)"
    )
    print(f"  {'change kind':<18} {'events':>7} {'expected':>9}")
    for kind in sorted(kinds.keys() | expected.keys(), key=lambda k: -kinds.get(k, 0)):
        flag = "" if kinds.get(kind, 0) == expected.get(kind, 0) else "  <-- differs"
        print(f"  {kind:<18} {kinds.get(kind, 0):>7} {expected.get(kind, 0):>9}{flag}")
    ok = dict(kinds) == dict(expected)
    wrong = [
        sha
        for sha in expected_by_commit.keys() | found["by_commit"].keys()
        if expected_by_commit.get(sha, {}) != found["by_commit"].get(sha, {})
    ]
    for sha in sorted(wrong)[:10]:
        print(
            f"  commit {sha[:12]}: expected {expected_by_commit.get(sha, {})}, "
            f"found {found['by_commit'].get(sha, {})}"
        )
    renamed = {sha: found["by_commit"].get(sha, {}) for sha in facts["renames"]}
    false = [s for s, k in renamed.items() if k != expected_by_commit[s]]
    print(
        f"  {len(renamed)} renaming commits: "
        + ("each recorded only its edits" if not false else f"{len(false)} recorded more")
    )
    withdrawals = facts["withdrawn"] + sum(k.get(Kind.WITHDRAWN, 0) for k in extra.values())
    print(
        f"  withdrawn events {kinds.get(Kind.WITHDRAWN, 0)}, withdrawals made {withdrawals}; "
        f"new events {kinds.get(Kind.NEW, 0)} = {facts['opportunities']} at first + "
        f"{expected.get(Kind.NEW, 0) - facts['opportunities']} added"
    )
    return ok and not wrong and not false


def _row(what: str, run: Run, target: str) -> str:
    return (
        f"| {what} | {run.wall:.2f} s | {run.seconds:.2f} s | {run.self_mb:.0f} MB "
        f"| {run.children_mb:.0f} MB | {target} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--opportunities", type=int, default=20_000)
    parser.add_argument("--commits", type=int, default=500)
    parser.add_argument("--work", type=Path, default=WORK)
    args = parser.parse_args()
    work: Path = args.work
    facts = build(work, args.opportunities, args.commits)
    plans = work / "plans"
    size = sum(p.stat().st_size for p in plans.glob("*.y*ml"))
    print(
        f"{args.opportunities:,} opportunities in {FILES} files ({size / 1024 / 1024:.1f} MB "
        f"of YAML), {args.commits} commits; {os.cpu_count()} CPU cores"
    )
    # The machine may be shared: a busy one makes every figure slower.
    load = os.getloadavg()[0]
    print(f"load average before measuring: {load:.2f}")
    shutil.rmtree(work / ".git" / "publisher", ignore_errors=True)
    scratch = measure(plans)
    print(f"from scratch: {scratch.wall:.2f} s wall, {scratch.seconds:.2f} s in read_history")
    cached = measure(plans)
    print(f"nothing new: {cached.wall:.2f} s wall, {cached.seconds:.2f} s in read_history")
    editor = Editor(plans, random.Random(args.commits), prefix="late")
    when = dt.datetime.fromisoformat(facts["last_commit"])
    extra: dict[str, dict[str, int]] = {}
    after: list[Run] = []
    for _ in range(EXTRA_COMMITS):
        when += dt.timedelta(days=1)
        sha, kinds = _edit_commit(work, editor, when)
        extra[sha] = dict(kinds)
        after.append(measure(plans))
        made = ", ".join(f"{kind} x{n}" for kind, n in kinds.items())
        print(
            f"after one new commit ({made}): {after[-1].wall:.2f} s wall, "
            f"{after[-1].seconds:.2f} s in read_history"
        )
    incremental = measure(plans, with_summary=True).summary
    shutil.rmtree(work / ".git" / "publisher", ignore_errors=True)
    whole = measure(plans, with_summary=True).summary
    assert incremental is not None and whole is not None
    ok = _sanity(facts, extra, incremental)
    same = incremental["digest"] == whole["digest"]
    print(
        "  the cached, step-by-step history "
        + ("equals" if same else "DIFFERS FROM")
        + " the one read from scratch at the same commit"
    )

    command = "python -m bench.history" + "".join(
        f" --{k} {v}" for k, v in (("opportunities", args.opportunities), ("commits", args.commits))
    )
    print(
        f"\n`{command}` on {platform.platform()}, {platform.python_version()}, "
        f"{os.cpu_count()} CPU cores (load average {load:.1f} before), "
        f"{dt.date.today().isoformat()}:\n"
    )
    print("| read_history | wall | in the call | peak memory | largest child* | target |")
    print("|---|---|---|---|---|---|")
    print(_row(f"from scratch, {args.commits} commits", scratch, "under 30 s"))
    print(_row("again, nothing new", cached, ""))
    for number, run in enumerate(after, 1):
        print(_row(f"after one new commit ({number})", run, "under 3 s"))
    print(
        "\n\\* peak resident memory of the largest child process (parse workers, git); "
        "a forked worker counts pages it shares with the parent."
    )
    if not (ok and same):
        sys.exit("\nThe history does not match the edits made: see above.")


if __name__ == "__main__":
    main()

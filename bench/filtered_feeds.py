"""Benchmark: filtered feeds (`/feeds?place=...&format=...`), first how long one takes to
make in the web app's own process, then their latency over HTTP under load.

The app makes each filtered feed once per build and keeps it (publisher/service/live.py);
the opportunities a choice picks come from an index made once per loaded site
(publisher/service/filtered.py).

1. Making (`--render`, on by default): for each format, the first rendering of choices
   never asked for before: the very first (no opportunity's items made yet, as after a new
   build) and later ones (items made once per build are shared). CPU time in this process,
   without HTTP, compression or ETags.
2. Served (`--serve`, on by default): `publisher serve` (one process, uvicorn) over the
   plans on loopback, and wrk with 100 keep-alive connections asking for a mix of
   choices (one to three places, themes, commissioners and funding types; RSS, Atom,
   iCal and JSON; gzip taken, as feed readers do): right after start, when every choice
   is made for the first time ("cold"), then again once made ("warm"), and warm again
   while other choices are being made for the first time ("warm beside cold": a new
   feed is made in a worker thread, and must not stall the replies already made), and
   at once when a new build has landed and a request has told the app (its plans are
   loaded in the background: are readers answered meanwhile?), and once more
   `--after-build` seconds after (readers poll minutes apart: are their feeds made again
   by then?). wrk
   reports the latency percentiles; p99 is the target (under 50 ms at 100 connections).

    .venv/bin/python -m bench.filtered_feeds                      # 20,000, England's shape
    .venv/bin/python -m bench.filtered_feeds --shape west-yorkshire --opportunities 4000

Needs wrk for the second part (`apt-get install -y wrk`). Record the figures in
docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import parse_qsl

import httpx

from bench.generate import generate
from bench.serve_feeds import cpu_seconds, free_port, running
from publisher.formats import data
from publisher.model.read import load_site
from publisher.model.views import SiteData
from publisher.service import filtered

TODAY = dt.date(2026, 11, 23)
CONNECTIONS = 100
TARGET_P99_MS = 50.0
APP = (
    "import sys; from pathlib import Path; from publisher.service.web import serve; "
    "from publisher.service.limits import Limits; "
    "serve(Path(sys.argv[1]), Path(sys.argv[2]), '127.0.0.1', int(sys.argv[3]), "
    "Limits.default())"
)
# wrk asks for each address in turn; with an ETag for it, as a feed reader polling does.
ROTATE = """\
local paths = {%s}
local etags = {%s}
local at = 0
request = function()
  at = at %% #paths + 1
  if etags[at] ~= "" then
    return wrk.format("GET", paths[at], {["If-None-Match"] = etags[at]})
  end
  return wrk.format("GET", paths[at])
end
"""


def make_plans(folder: Path, shape: str, opportunities: int) -> Path:
    plans = folder / "plans"
    if shape == "england":
        try:  # looked for only when asked for: another benchmark's module
            generate_england = importlib.import_module("bench.generate_england")
        except ImportError:
            sys.exit("bench/generate_england.py is missing: use --shape west-yorkshire")
        generate_england.generate(plans, opportunities)
        return plans
    return generate(plans, files=max(1, opportunities // 50), per_file=50)


def picking(plans: Path) -> None:
    """How long picking a choice's opportunities takes: the index against the scan of every
    opportunity it replaced (filtered.Choice.matches), over the served mix of choices."""
    site, _ = load_site(plans, TODAY)
    started = time.process_time()
    filtered.index_of(site)
    made = time.process_time() - started
    choices = []
    for path in mix(site, 200):
        choice = filtered.choose(site, parse_qsl(path.partition("?")[2]))
        assert isinstance(choice, filtered.Choice)
        choices.append(choice)
    times: dict[str, list[float]] = {"index": [], "scan": []}
    for choice in choices:
        started = time.process_time()
        picked = filtered.members(site, choice)
        times["index"].append(time.process_time() - started)
        started = time.process_time()
        scanned = [view for view in site.opportunities if choice.matches(view)]
        times["scan"].append(time.process_time() - started)
        assert picked == scanned
    shown = ", ".join(
        f"{name} median {statistics.median(t) * 1000:.2f} ms, max {max(t) * 1000:.2f} ms"
        for name, t in times.items()
    )
    print(
        f"picking, {len(site.opportunities)} opportunities, {len(choices)} choices: {shown}; "
        f"the index made in {made * 1000:.0f} ms",
        flush=True,
    )


def render_times(plans: Path) -> None:
    picking(plans)
    for fmt in filtered.FORMATS:
        site, _ = load_site(plans, TODAY)  # afresh: nothing made yet, as after a build
        choices = [
            filtered.Choice(place=(slug,))
            for slug in sorted(site.places.by_slug)
            if filtered.members(site, filtered.Choice(place=(slug,)))
        ][:40]
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
            f"median {statistics.median(sizes) / 1024:.0f} KB",
            flush=True,
        )


def mix(site: SiteData, count: int, seed: int = 2027) -> list[str]:
    """Addresses of `count` filtered feeds that pick something: what subscribers ask for."""
    rng = random.Random(seed)
    known = {kind: filtered.known_values(site, kind) for kind in filtered.KINDS}
    formats = ["rss"] * 4 + ["atom", "ics", "json"]
    out: list[str] = []
    while len(out) < count:
        kinds = rng.sample(filtered.KINDS, rng.choice([1, 1, 2, 2, 3]))
        params = [(k, v) for k in kinds for v in rng.sample(known[k], rng.choice([1, 1, 2, 3]))]
        choice = filtered.choose(site, params)
        assert isinstance(choice, filtered.Choice)
        if filtered.members(site, choice) and choice.single() is None:
            out.append(f"/feeds?{choice.query()}&format={rng.choice(formats)}")
    return out


def wrk(
    url: str, paths: list[str], etags: list[str], seconds: int, script: Path, pid: int
) -> dict[str, str]:
    """wrk's figures, and the server's own CPU time (user + system) per reply in the run."""
    quoted = [", ".join(json.dumps(value) for value in values) for values in (paths, etags)]
    script.write_text(ROTATE % tuple(quoted))
    before = cpu_seconds(pid)
    run = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "--timeout", "30s",
         "-H", "Accept-Encoding: gzip", "-s", str(script), url],
        capture_output=True, text=True, check=True, timeout=seconds + 120,
    )  # fmt: skip
    cpu = cpu_seconds(pid) - before
    out = {"requests/s": _find(r"Requests/sec:\s+([\d.]+)", run.stdout)}
    count = int(_find(r"(\d+) requests in", run.stdout, "0"))
    out["CPU/reply"] = f"{cpu / count * 1e6:.0f}µs" if count else "?"
    for percent in ("50", "90", "99"):
        out[f"p{percent}"] = _find(rf"^\s+{percent}(?:\.000)?%\s+(\S+)", run.stdout)
    out["errors"] = _find(r"Non-2xx or 3xx responses: (\d+)", run.stdout, "0")
    out["socket errors"] = _find(r"Socket errors: (.*)", run.stdout, "none")
    return out


def _find(pattern: str, text: str, default: str = "?") -> str:
    found = re.search(pattern, text, re.MULTILINE)
    return found.group(1) if found else default


def served(plans: Path, folder: Path, choices: int, seconds: int, after_build: int) -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install -y wrk")
    # No built site: filtered feeds need only the plans, and the day it was built for.
    site_dir = folder / "site"
    site_dir.mkdir()
    (site_dir / data.BUILD_FILE).write_bytes(data.dumps({"generated_for": TODAY.isoformat()}))
    site, _ = load_site(plans, TODAY)
    paths = mix(site, choices)
    others = [path for path in mix(site, choices, seed=2028) if path not in paths]
    count = len(site.opportunities)
    del site
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-c", APP, str(site_dir), str(plans), str(port)]
    print(
        f"\nServed: {len(paths)} filtered feeds of {count} opportunities, "
        f"wrk with {CONNECTIONS} connections, one thread, loopback",
        flush=True,
    )
    started = time.monotonic()
    with running(command, url + "/healthz", seconds=900) as process:
        httpx.get(url + "/subscribe", timeout=600).raise_for_status()  # the plans are loaded
        print(f"app up, plans loaded, in {time.monotonic() - started:.1f} s", flush=True)
        none = [""] * len(paths)
        result = wrk(url + "/", paths, none, seconds, folder / "rotate.lua", process.pid)
        print(f"{'cold 200':<9} {', '.join(f'{k} {v}' for k, v in result.items())}", flush=True)
        started = time.monotonic()
        with httpx.Client(base_url=url, headers={"accept-encoding": "gzip"}, timeout=900) as http:
            etags = [http.get(path).headers["etag"] for path in paths]  # every feed made
        print(f"the feeds not made yet made in {time.monotonic() - started:.1f} s", flush=True)
        for phase, sent in (("warm 200", none), ("warm 304", etags)):
            result = wrk(url + "/", paths, sent, seconds, folder / "rotate.lua", process.pid)
            print(f"{phase:<9} {', '.join(f'{k} {v}' for k, v in result.items())}", flush=True)
        made = making(url, others, seconds)
        result = wrk(url + "/", paths, etags, seconds, folder / "rotate.lua", process.pid)
        made.set()
        print(
            f"warm 304 beside cold ({made.count} other feeds made meanwhile, one at a time) "
            f"{', '.join(f'{k} {v}' for k, v in result.items())}",
            flush=True,
        )
        # A new build lands (the same plans: build.json replaced, as a build swaps it in);
        # readers poll, with their ETags, at once and again a while later.
        stamp = site_dir / data.BUILD_FILE
        fresh = stamp.with_name(f"{stamp.name}.new")
        fresh.write_bytes(stamp.read_bytes())
        fresh.replace(stamp)
        # Readers poll at once (their first request tells the app): it loads the new
        # build's plans in the background, answering from the last build's meanwhile, then
        # makes their feeds again.
        started = time.monotonic()
        loaded: list[float] = []
        watch = threading.Thread(target=lambda: loaded.append(loaded_after(url, started)))
        watch.start()
        result = wrk(url + "/", paths, etags, seconds, folder / "rotate.lua", process.pid)
        watch.join()
        figures = ", ".join(f"{k} {v}" for k, v in result.items())
        print(f"304 while a new build loads {figures}", flush=True)
        print(f"the new build loaded {loaded[0]:.1f} s after it landed", flush=True)
        time.sleep(after_build)
        result = wrk(url + "/", paths, etags, seconds, folder / "rotate.lua", process.pid)
        figures = ", ".join(f"{k} {v}" for k, v in result.items())
        print(f"304 {after_build} s after a new build {figures}", flush=True)
    print(
        f"Target: p99 under {TARGET_P99_MS:.0f} ms at {CONNECTIONS} connections. cold: every "
        "feed made for the first time; warm: made; 200: no ETag sent; 304: the reader's ETag"
    )


def loaded_after(url: str, started: float) -> float:
    """Seconds from `started` to when /healthz says no new build is loading (asked from
    this machine, it gives its details), to the tenth of a second."""
    time.sleep(1)  # the readers' first requests have told the app
    while True:
        said = httpx.get(url + "/healthz", timeout=900).json()
        if not said.get("plans_loaded", {}).get("loading_new_build"):
            return time.monotonic() - started
        time.sleep(0.1)


class Making(threading.Event):
    """Set to stop; `count`: the feeds made so far."""

    count = 0


def making(url: str, paths: list[str], seconds: int) -> Making:
    """Ask for feeds not made yet, one after another, in a thread, until told to stop."""
    stop = Making()

    def run() -> None:
        with httpx.Client(base_url=url, headers={"accept-encoding": "gzip"}, timeout=900) as http:
            for path in paths:
                if stop.is_set():
                    return
                http.get(path).raise_for_status()
                stop.count += 1

    threading.Thread(target=run, daemon=True).start()
    time.sleep(min(1.0, seconds / 10))  # the first is under way
    return stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", choices=("england", "west-yorkshire"), default="england")
    parser.add_argument("--opportunities", type=int, default=20_000)
    parser.add_argument("--choices", type=int, default=200, help="feeds in the mix")
    parser.add_argument("--seconds", type=int, default=15, help="per wrk run")
    parser.add_argument("--no-render", action="store_true", help="skip part 1")
    parser.add_argument("--no-serve", action="store_true", help="skip part 2")
    parser.add_argument("--plans", type=Path, help="a plans folder made before (not --shape)")
    parser.add_argument(
        "--after-build", type=int, default=30, help="seconds from a new build to the readers' polls"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-filtered-") as name:
        folder = Path(name)
        if args.plans is not None:
            plans = args.plans.resolve()
            print(f"Plans: {plans}", flush=True)
        else:
            plans = make_plans(folder, args.shape, args.opportunities)
            print(f"Plans: {args.shape} shape, {args.opportunities} opportunities", flush=True)
        if not args.no_render:
            render_times(plans)
        if not args.no_serve:
            served(plans, folder, args.choices, args.seconds, args.after_build)


if __name__ == "__main__":
    main()

"""Benchmark: requests per second for a feed (all.rss) served by the web app (uvicorn, one
worker process) side by side with nginx (one worker process) serving the same file, in the
same run on loopback: full 200 replies, and 304 replies to If-None-Match. Target: the app
reaches at least a fifth of nginx.

    python -m bench.serve_feeds                      # the example site, built into a temp folder
    python -m bench.serve_feeds --site bench/out/feeds   # a site built already (e.g. 20,000)

Needs nginx (`apt-get install -y nginx`) and a load generator: wrk (`apt-get install -y
wrk`) or ab (`apt-get install -y apache2-utils`). Record the figures in docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from publisher.builder.site import build

PLANS = Path("plans")
TODAY = dt.date(2026, 11, 23)
STARTUP_SECONDS = 20

NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    etag on;
    keepalive_requests 1000000;
    types {{ application/rss+xml rss; }}
    default_type application/octet-stream;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""

APP = (
    "import sys; from pathlib import Path; from publisher.service.web import serve; "
    "from publisher.service.limits import Limits; "
    "serve(Path(sys.argv[1]), None, '127.0.0.1', int(sys.argv[2]), Limits.default())"
)


@dataclass(frozen=True)
class Result:
    rps: float
    statuses: str  # what the load generator says about the replies
    requests: int = 0  # replies in the run (wrk only)
    cpu: float = 0.0  # the server's own CPU seconds in the run, user + system


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its worker processes (nginx's
    workers are children of its master), from /proc: steadier than requests per second
    on a shared machine."""
    total = 0.0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(child) for child in children]
        for each in pids:
            fields = Path(f"/proc/{each}/stat").read_text().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    except (OSError, ValueError):
        return float("nan")
    return total / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(
    url: str, process: subprocess.Popen[bytes], seconds: float = STARTUP_SECONDS
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the server at {url} stopped at start; exit code {process.returncode}")
        try:
            httpx.head(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    process.terminate()
    sys.exit(f"the server at {url} did not start within {seconds:.0f} s")


@contextmanager
def running(
    command: list[str], url: str, seconds: float = STARTUP_SECONDS
) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until_up(url, process, seconds)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def load(
    url: str, etag: str | None, seconds: int, connections: int, pid: int | None = None
) -> Result:
    """Requests per second from wrk (or ab), keep-alive, for a fixed time (or count); with
    `pid`, the server's CPU time in the run too."""
    header = ["-H", f"If-None-Match: {etag}"] if etag else []
    if shutil.which("wrk"):
        before = cpu_seconds(pid) if pid else float("nan")
        run = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", *header, url],
            capture_output=True, text=True, check=True, timeout=seconds + 60,
        )  # fmt: skip
        cpu = cpu_seconds(pid) - before if pid else float("nan")
        rps = re.search(r"Requests/sec:\s+([\d.]+)", run.stdout)
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", run.stdout)
        count = re.search(r"(\d+) requests in", run.stdout)
        return Result(
            float(rps.group(1)) if rps else 0.0,
            f"non-2xx/3xx: {errors.group(1) if errors else 0}",
            int(count.group(1)) if count else 0,
            cpu,
        )
    requests = connections * 200
    run = subprocess.run(
        ["ab", "-q", "-k", "-n", str(requests), "-c", str(connections), *header, url],
        capture_output=True, text=True, check=True, timeout=seconds * 10 + 60,
    )  # fmt: skip
    rps = re.search(r"Requests per second:\s+([\d.]+)", run.stdout)
    failed = re.search(r"Non-2xx responses:\s+(\d+)", run.stdout)
    return Result(
        float(rps.group(1)) if rps else 0.0, f"non-2xx: {failed.group(1) if failed else 0}"
    )


def check(url: str) -> tuple[str, int]:
    """The ETag and size of the file, and that a 304 comes back for it."""
    first = httpx.get(url, headers={"accept-encoding": "identity"}, timeout=60)
    first.raise_for_status()
    etag = first.headers["etag"]
    again = httpx.get(url, headers={"if-none-match": etag, "accept-encoding": "identity"})
    if again.status_code != 304:
        sys.exit(f"{url} gave {again.status_code}, not 304, for its own ETag")
    return etag, len(first.content)


def http_stack() -> str:
    """Which HTTP parser and event loop uvicorn will use for the app ('auto' picks these)."""
    probe = (
        "import importlib.util as u; "
        "print(bool(u.find_spec('httptools')), bool(u.find_spec('uvloop')))"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    parser = "httptools" if found[0] == "True" else "h11 (pure Python)"
    loop = "uvloop" if found[1] == "True" else "asyncio"
    return f"{parser} and {loop}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, help="a built site (default: build the examples)")
    parser.add_argument("--path", default="all.rss")
    parser.add_argument("--seconds", type=int, default=10, help="per run (wrk)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--only", choices=("200", "304"), help="one kind of reply only")
    args = parser.parse_args()
    missing = [name for name in ("nginx",) if shutil.which(name) is None]
    if shutil.which("wrk") is None and shutil.which("ab") is None:
        missing.append("wrk or ab")
    if missing:
        sys.exit(
            f"missing: {', '.join(missing)}. Install with "
            "'apt-get install -y nginx wrk' (or 'apache2-utils' for ab)."
        )
    with tempfile.TemporaryDirectory(prefix="serve-bench-") as tmp_name:
        tmp = Path(tmp_name)
        tmp.chmod(0o755)  # nginx's worker runs as another user, and must reach the site
        site = args.site
        if site is None:
            site = tmp / "feeds"
            build(PLANS, site, today=TODAY)
            print("Site: the example plans, built into a temporary folder")
        else:
            print(f"Site: {site}")
        site = site.resolve()
        app_port, nginx_port = free_port(), free_port()
        conf = tmp / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=tmp, port=nginx_port, root=site))
        servers = {
            "app": ([sys.executable, "-c", APP, str(site), str(app_port)], app_port),
            "nginx": (["nginx", "-c", str(conf), "-p", str(tmp)], nginx_port),
        }
        tool = "wrk" if shutil.which("wrk") else "ab"
        print(f"App: uvicorn, one worker process, {http_stack()}")
        print(f"Load: {tool}, {args.connections} keep-alive connections, one thread, loopback")
        print(f"Load average before: {os.getloadavg()[0]:.1f}")
        results: dict[tuple[str, str], Result] = {}
        for name, (command, port) in servers.items():
            url = f"http://127.0.0.1:{port}/{args.path}"
            with running(command, url) as process:
                etag, size = check(url)
                print(f"{name}: {url} ({size / 1e6:.1f} MB)")
                load(url, etag, 2, args.connections)  # warm up: caches, page cache
                for kind, sent in (("200", None), ("304", etag)):
                    if args.only in (None, kind):
                        results[name, kind] = load(
                            url, sent, args.seconds, args.connections, process.pid
                        )
    print(f"Load average after: {os.getloadavg()[0]:.1f}")
    print()
    print(
        f"{'reply':<8}{'app req/s':>12}{'nginx req/s':>14}{'app/nginx':>12}"
        f"{'app CPU/reply':>16}{'nginx CPU/reply':>17}"
    )
    for kind in ("200", "304"):
        if ("app", kind) not in results:
            continue
        app, nginx = results["app", kind], results["nginx", kind]
        ratio = app.rps / nginx.rps if nginx.rps else float("nan")
        per = [f"{r.cpu / r.requests * 1e6:.0f} µs" if r.requests else "?" for r in (app, nginx)]
        print(f"{kind:<8}{app.rps:>12.1f}{nginx.rps:>14.1f}{ratio:>12.2f}{per[0]:>16}{per[1]:>17}")
        print(f"        app {app.statuses}; nginx {nginx.statuses}")
    print(
        "CPU/reply: the server process's own user + system time over the replies it sent "
        "(/proc/PID/stat); the ratio of these is steadier than of requests per second."
    )
    print("Target: app/nginx at least 0.20 for both (issue 6); 304s at least 0.25 (issue 21).")


if __name__ == "__main__":
    main()

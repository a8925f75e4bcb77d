"""Benchmark: the peak memory of `publisher run` before and after one 400 MB POST to
/hooks/plans with a wrong signature (finding 7 of issue 14: the body used to be read whole
before the 403), and after five connections each sending 100 MB of one header, never
finished. Loopback only; SQLite and the example plans in a temporary folder.

    python -m bench.hook_memory              # 400 MB, then 5 x 100 MB of header
    python -m bench.hook_memory --mb 100
    python -m bench.hook_memory --headers-only   # the headers alone, from a fresh start
    python -m bench.hook_memory --bodies 400     # 400 POSTs at once, each 1 byte short of 1 MiB

Peak memory is the server process's VmHWM in /proc/<pid>/status (Linux). Record the
figures in docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

PLANS = Path("plans")
STARTUP_SECONDS = 120
CHUNK = b"x" * (1 << 20)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc: this benchmark needs Linux")


def wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"publisher run stopped at start; exit code {process.returncode}")
        try:
            if httpx.get(url + "all.rss", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    sys.exit(f"publisher run did not serve the site within {STARTUP_SECONDS} s")


def post_unsigned(port: int, megabytes: int) -> str:
    """POST `megabytes` MB to /hooks/plans with a wrong signature; the reply's status line
    (the server may answer and close before the body is all sent)."""
    head = (
        "POST /hooks/plans HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "X-Hub-Signature-256: sha256=" + "0" * 64 + "\r\n"
        f"Content-Length: {megabytes << 20}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=60) as conn:
        conn.sendall(head)
        try:
            for _ in range(megabytes):
                conn.sendall(CHUNK)
        except OSError:
            pass  # answered and closed early: what we hope for
        reply = b""
        try:
            while b"\r\n" not in reply and (chunk := conn.recv(4096)):
                reply += chunk
        except OSError as error:
            return f"no reply ({error})"
    return reply.split(b"\r\n", 1)[0].decode("latin-1") or "no reply"


def send_endless_headers(port: int, connections: int, megabytes: int) -> str:
    """Each of `connections` sends `megabytes` MB of one header, never finished, in turn;
    what the server answered each."""
    answers = []
    for _ in range(connections):
        with socket.create_connection(("127.0.0.1", port), timeout=60) as conn:
            conn.sendall(b"GET /all.rss HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
            try:
                for _ in range(megabytes):
                    conn.sendall(CHUNK)
                conn.settimeout(2)  # no answer yet: the server is still waiting for more
            except OSError:
                pass
            try:
                answer = conn.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
            except OSError as error:
                answer = f"no reply ({type(error).__name__})"
            answers.append(answer or "closed")
    return ", ".join(sorted(set(answers)))


@contextmanager
def running_service(open_files: int | None = None) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """`publisher run` on the example plans in a temporary folder, with its settings'
    defaults, serving on a free loopback port: the port and the process. `open_files`: its
    open-file limit (ulimit -n), when given."""
    with tempfile.TemporaryDirectory(prefix="publisher-bench-") as tmp:
        root = Path(tmp)
        shutil.copytree(PLANS, root / "plans")
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{root / 'publisher.db'}",
            "PUBLISHER_MAILDIR": str(root / "mail"),
            "PUBLISHER_HOOK_SECRET": "bench-secret",
            "PUBLISHER_BASE_URL": f"http://127.0.0.1:{port}/",
            "PUBLISHER_CONFIG": "",
        }
        command = [
            sys.executable, "-m", "publisher", "run", "--host", "127.0.0.1", "--port", str(port),
            "--plans", str(root / "plans"), "--site", str(root / "feeds"),
        ]  # fmt: skip

        def limit() -> None:
            if open_files is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))

        process = subprocess.Popen(
            command,
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=limit,  # noqa: PLW1509 (no threads here yet)
        )
        try:
            wait_until_up(f"http://127.0.0.1:{port}/", process)
            time.sleep(2)  # the first pass settles
            yield port, process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def hold_bodies(port: int, clients: int) -> list[socket.socket]:
    """`clients` POSTs to /hooks/plans with a wrong signature, each sending all but the last
    byte of a body at the default limit (1 MiB), and held open."""
    size = 1 << 20
    head = (
        "POST /hooks/plans HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "X-Hub-Signature-256: sha256=" + "0" * 64 + "\r\n"
        f"Content-Length: {size}\r\n\r\n"
    ).encode()
    held = []
    for _ in range(clients):
        conn = socket.create_connection(("127.0.0.1", port), timeout=60)
        conn.sendall(head + b"x" * (size - 1))
        held.append(conn)
    return held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=400, help="size of the POST body in MB")
    parser.add_argument("--headers-only", action="store_true", help="skip the POST")
    parser.add_argument("--bodies", type=int, help="only: this many POSTs held at once")
    args = parser.parse_args()
    if args.bodies:
        with running_service(open_files=args.bodies + 200) as (port, process):
            before = peak_kib(process.pid)
            held = hold_bodies(port, args.bodies)
            time.sleep(5)  # the server reads what has come
            after = peak_kib(process.pid)
            for conn in held:
                conn.close()
        print(f"{args.bodies} POSTs of 1 MiB less a byte, held open at once:")
        print(f"server peak memory (VmHWM): {before / 1024:.0f} MB before, {after / 1024:.0f} MB")
        return
    with running_service() as (port, process):
        before = peak_kib(process.pid)
        status = "not sent" if args.headers_only else post_unsigned(port, args.mb)
        after = peak_kib(process.pid)
        headers = send_endless_headers(port, 5, 100)
        last = peak_kib(process.pid)
    print(f"POST of {args.mb} MB with a wrong signature: {status}")
    print(f"server peak memory (VmHWM): {before / 1024:.0f} MB before, {after / 1024:.0f} MB after")
    print(f"5 connections sending 100 MB of one header each: {headers}")
    print(f"server peak memory (VmHWM) after those: {last / 1024:.0f} MB")


if __name__ == "__main__":
    main()

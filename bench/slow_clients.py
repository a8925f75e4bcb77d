"""Benchmark: does `publisher run` still serve while 1,100 clients hold half-sent requests
(finding 7 of issue 14: about 1,100 of them blocked every new connection)? Loopback only;
the service's default limits.

    python -m bench.slow_clients              # 1,100 half-sent requests
    python -m bench.slow_clients --clients 3000 --server-open-files 4096

Opens the connections, each sending the first line of a request and nothing more, then
times a whole GET of all.rss from a new connection, and counts how many of the held
connections the server has closed by then. The server runs with an open-file limit of
1,024 (a common default of `ulimit -n`); this process needs a hard limit above the number
of clients. Record the figures in docs/performance.md.
"""

from __future__ import annotations

import argparse
import resource
import socket
import time

from bench.hook_memory import running_service

REQUEST_SECONDS = 30.0  # the most the timed GET may take before it counts as blocked


def hold(port: int, clients: int) -> list[socket.socket]:
    held = []
    for _ in range(clients):
        conn = socket.create_connection(("127.0.0.1", port), timeout=10)
        conn.sendall(b"GET /all.rss HTTP/1.1\r\n")  # and never the rest
        held.append(conn)
    return held


def timed_get(port: int) -> tuple[str, float]:
    """The status line of a GET from a new connection, and how long it took."""
    started = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=REQUEST_SECONDS) as conn:
            conn.sendall(b"GET /all.rss HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            answer = conn.recv(4096).split(b"\r\n", 1)[0].decode("latin-1") or "closed"
    except OSError as error:
        answer = f"no reply ({type(error).__name__})"
    return answer, time.monotonic() - started


def closed_by_server(held: list[socket.socket]) -> int:
    count = 0
    for conn in held:
        conn.setblocking(False)
        try:
            if conn.recv(4096) == b"":
                count += 1
        except BlockingIOError:
            pass  # still open, waiting
        except OSError:
            count += 1  # reset
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1100)
    parser.add_argument("--server-open-files", type=int, default=1024)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < args.clients + 100:
        raise SystemExit(f"the open-file limit ({hard}) is too low for {args.clients} clients")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with running_service(args.server_open_files) as (port, _):
        held = hold(port, args.clients)
        try:
            answer, seconds = timed_get(port)
            closed = closed_by_server(held)
        finally:
            for conn in held:
                conn.close()
    print(
        f"{args.clients} half-sent requests held (server open-file limit "
        f"{args.server_open_files}); then a GET from a new connection:"
    )
    print(f"  {answer} in {seconds:.2f} s; the server had closed {closed} of the held ones")


if __name__ == "__main__":
    main()

"""The web app, really served: uvicorn on a free loopback port, in a thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette

STARTUP_SECONDS = 10


@dataclass(frozen=True)
class Served:
    url: str  # 'http://127.0.0.1:<port>/'
    port: int
    app: Starlette


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serving(sock: socket.socket, make_app: Callable[[str], Starlette]) -> Iterator[Served]:
    """Serve the app `make_app(base_url)` on `sock` until the block ends."""
    port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    app = make_app(url)
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the web app did not start")
        time.sleep(0.01)
    try:
        yield Served(url, port, app)
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_SECONDS)
        sock.close()


def raw_status(port: int, target: str) -> int:
    """The status of a GET for `target` sent exactly as written: HTTP clients tidy '..'
    and '%2e' away before sending, and attackers do not."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(
            f"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
        )
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    return int(reply.split(b" ", 2)[1])

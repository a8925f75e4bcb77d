"""Replies made in the HTTP protocol, before the app (service/quick.py): the same replies
the app gives, in order on a connection that sends several requests at once, and never a
304 for a file that a new build has changed."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from publisher.service.limits import Limits, server_config
from publisher.service.web import create_app
from tests.service.conftest import PLANS, Site
from tests.service.server import free_socket

WAIT = 10.0
# What the client has, and how it asks: each is sent with the file's ETags filled in.
ASKS = [
    {"if-none-match": "{etag}"},
    {"if-none-match": "{etag}", "accept-encoding": "gzip"},
    {"if-none-match": "{gzip_etag}", "accept-encoding": "gzip, br"},
    {"if-none-match": 'W/{etag}, "other"'},
    {"if-none-match": "*"},
    {"if-none-match": '"not-this-one"'},
    {"if-modified-since": "{last_modified}"},
    {"if-modified-since": "Mon, 01 Jan 2001 00:00:00 GMT"},
    {"if-modified-since": "not a date"},
    {"if-none-match": '"not-this-one"', "if-modified-since": "{last_modified}"},
]
PATHS = ["/all.rss", "/all.ics", "/", "/static/site.css", "/place/leeds.json"]


class Counting:
    """Counts the requests that reach the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.calls += 1
        await self.app(scope, receive, send)


@dataclass(frozen=True)
class Server:
    port: int
    counting: Counting

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def server(folder: Path, quick: bool, plans: Path | None = None) -> Iterator[Server]:
    """`publisher serve`'s app and server settings on a free loopback port; with or
    without the quick 304s."""
    sock = free_socket()
    app = create_app(folder, plans, f"http://127.0.0.1:{sock.getsockname()[1]}/")
    counting = Counting(app)
    config = server_config(
        counting,
        Limits.default(),
        app.state.web.quick if quick else None,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT
    while not running.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield Server(int(sock.getsockname()[1]), counting)
    finally:
        running.should_exit = True
        thread.join(timeout=WAIT)
        sock.close()


@pytest.fixture(scope="module")
def folder(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("quick") / "site"
    shutil.copytree(site.folder, copy)
    return copy


def filled(asks: dict[str, str], first: httpx.Response, gzipped: httpx.Response) -> dict[str, str]:
    values = {
        "etag": first.headers["etag"],
        "gzip_etag": gzipped.headers["etag"],
        "last_modified": first.headers.get("last-modified", ""),
    }
    return {name: value.format(**values) for name, value in asks.items()}


def replies(base: str, path: str, method: str) -> list[tuple[int, list[tuple[str, str]], bytes]]:
    """Status, headers (not the date) and body of every kind of conditional request for
    path, and of plain ones."""
    with httpx.Client(base_url=base, timeout=WAIT) as http:
        first = http.get(path, headers={"accept-encoding": "identity"})
        gzipped = http.get(path, headers={"accept-encoding": "gzip"})
        assert first.status_code == 200
        out = []
        for asks in [*ASKS, {"accept-encoding": "identity"}, {"accept-encoding": "gzip"}]:
            reply = http.request(method, path, headers=filled(asks, first, gzipped))
            headers = sorted((k, v) for k, v in reply.headers.items() if k != "date")
            out.append((reply.status_code, headers, reply.content))
        return out


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_the_quick_replies_are_the_apps_replies(folder: Path, method: str) -> None:
    not_modified = 0
    with server(folder, quick=False) as slow, server(folder, quick=True) as quick:
        for path in PATHS:
            expected = replies(slow.url, path, method)
            assert replies(quick.url, path, method) == expected, path
            not_modified += sum(status == 304 for status, _, _ in expected)
        assert slow.counting.calls == len(PATHS) * (4 + len(ASKS))
    assert not_modified >= len(PATHS) * 4
    # Only the first requests reached the app: the file was not read yet, then not gzipped
    assert quick.counting.calls == len(PATHS) * 2


def exchange(port: int, requests: list[bytes]) -> list[tuple[int, bytes]]:
    """Send the requests at once on one connection (the last one closing it); the status
    and body of each reply, in the order they came."""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as conn:
        conn.sendall(b"".join(requests))
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    out = []
    while data:
        head, _, data = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ")[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length" and status != 304:
                length = int(value)
        out.append((status, data[:length]))
        data = data[length:]
    return out


def request(path: str, etag: str | None = None, close: bool = False) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: localhost", "Accept-Encoding: identity"]
    if etag:
        lines.append(f"If-None-Match: {etag}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_requests_sent_together_are_answered_in_order(folder: Path) -> None:
    with server(folder, quick=True) as quick:
        rss = httpx.get(quick.url + "/all.rss", headers={"accept-encoding": "identity"})
        ics = httpx.get(quick.url + "/all.ics", headers={"accept-encoding": "identity"})
        etag = rss.headers["etag"]
        got = exchange(
            quick.port,
            [
                request("/all.rss", etag),  # answered at once
                request("/all.ics"),  # by the app
                request("/all.rss", etag),  # must wait for the app's reply before it
                request("/all.ics"),
                request("/all.rss", etag, close=True),
            ],
        )
    assert got == [
        (304, b""),
        (200, ics.content),
        (304, b""),
        (200, ics.content),
        (304, b""),
    ]


def test_a_file_changed_by_a_build_is_sent_again(folder: Path) -> None:
    with server(folder, quick=True) as quick, httpx.Client(base_url=quick.url) as http:
        first = http.get("/all.atom", headers={"accept-encoding": "identity"})
        asks = {"if-none-match": first.headers["etag"], "accept-encoding": "identity"}
        assert http.get("/all.atom", headers=asks).status_code == 304
        changed = first.content.replace(b"</feed>", b"<!-- rebuilt --></feed>")
        new = folder / "all.atom.new"
        new.write_bytes(changed)
        new.replace(folder / "all.atom")  # as a build swaps files in
        again = http.get("/all.atom", headers=asks)
        assert again.status_code == 200
        assert again.content == changed


def test_old_clients_and_closing_connections_are_answered_by_the_app(folder: Path) -> None:
    with server(folder, quick=True) as quick:
        etag = httpx.get(quick.url + "/all.rss").headers["etag"]
        before = quick.counting.calls
        old = (f"GET /all.rss HTTP/1.0\r\nIf-None-Match: {etag}\r\n\r\n").encode()
        assert exchange(quick.port, [old]) == [(304, b"")]
        assert exchange(quick.port, [request("/all.rss", etag, close=True)]) == [(304, b"")]
        assert quick.counting.calls == before + 2


def test_filtered_feeds_are_answered_quickly_until_a_new_build(folder: Path) -> None:
    address = "/feeds?place=leeds&theme=mental-health&format=rss"
    with server(folder, quick=True, plans=PLANS) as quick, httpx.Client(base_url=quick.url) as http:
        first = http.get(address, headers={"accept-encoding": "gzip"})
        assert first.status_code == 200
        calls = quick.counting.calls
        asks = {"if-none-match": first.headers["etag"], "accept-encoding": "gzip"}
        again = http.get(address, headers=asks)
        assert again.status_code == 304
        assert again.headers["etag"] == first.headers["etag"]
        assert again.headers["access-control-allow-origin"] == "*"
        assert quick.counting.calls == calls  # not asked of the app
        other = http.get(address.replace("rss", "atom"), headers=asks)
        assert other.status_code == 200  # another address, another feed
        # A new build: the app loads the plans again before anything is answered.
        data = folder / "all.json"
        new = folder / "all.json.new"
        new.write_bytes(data.read_bytes())
        new.replace(data)
        calls = quick.counting.calls
        assert http.get(address, headers=asks).status_code == 304
        assert quick.counting.calls == calls + 1
        assert http.get(address, headers=asks).status_code == 304
        assert quick.counting.calls == calls + 1

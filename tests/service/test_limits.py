"""The web server's limits against slow and oversized clients: raw sockets on loopback
against the real app (the push hook included) under uvicorn as `publisher run` starts it,
with small limits so that each test is quick. Every wait is bounded by WAIT."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from publisher.delivery.database import connect, create_or_upgrade
from publisher.service.limits import Limits, Refusals, server_config
from publisher.service.run import application
from publisher.service.scheduler import Service
from publisher.settings import Settings
from tests.service.conftest import PLANS, Site
from tests.service.server import free_socket

WAIT = 10.0  # seconds: the most any step waits for the server; the limits are far below
SECRET = "limits-secret"
WRONG = "sha256=" + "0" * 64  # the shape of a signature, not the right one
SMALL = {
    "max_body_bytes": 1024,
    "max_header_bytes": 2048,
    "header_timeout": 1.0,
    "body_timeout": 1.0,
    "max_connections": 4,
}


@contextmanager
def limited_server(
    folder: Path, tmp: Path, keep_alive: float | None = None, **limits: Any
) -> Iterator[int]:
    """`publisher run`'s app and server settings over the built site, on a free loopback
    port (its number is yielded); the scheduler is not started. `keep_alive`: seconds an
    idle connection is kept, instead of uvicorn's setting (with the replies made before
    the app, quick.py, as `publisher run` has them)."""
    settings = Settings(
        database_url=f"sqlite:///{tmp / 'publisher.db'}",
        hook_secret=SECRET,
        maildir=tmp / "mail",
        **{**SMALL, **limits},
    )
    engine = connect(settings.database_url)
    create_or_upgrade(engine)
    app = application(Service(PLANS, folder, settings, engine), PLANS, folder, settings)
    quick = app.state.web.quick if keep_alive is not None else None
    config = server_config(
        app, Limits.of(settings), quick, log_level="warning", access_log=False, lifespan="off"
    )
    if keep_alive is not None:
        config.timeout_keep_alive = keep_alive  # type: ignore[assignment]
    server = uvicorn.Server(config)
    sock = free_socket()
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield int(sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=WAIT)
        sock.close()
        engine.dispose()


@pytest.fixture
def port(site: Site, tmp_path: Path) -> Iterator[int]:
    with limited_server(site.folder, tmp_path) as number:
        yield number


def opened(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=WAIT)


def send_what_it_takes(conn: socket.socket, data: bytes) -> bool:
    """Send `data`; False when the server stopped taking it (it answered and closed)."""
    try:
        conn.sendall(data)
    except OSError:
        return False
    return True


def reply(conn: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a socket timeout, WAIT
    seconds without a byte, fails the test)."""
    received = b""
    try:
        while chunk := conn.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass  # closed with our bytes unread; what it sent before is in `received`
    return received


def status(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), f"no HTTP reply: {answer[:80]!r}"
    return int(answer.split(b" ", 2)[1])


def post_head(length: int | None, signature: str = WRONG) -> bytes:
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (
        f"POST /hooks/plans HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Hub-Signature-256: {signature}\r\n"
        f"{framing}\r\nConnection: close\r\n\r\n"
    ).encode()


# --- bodies -------------------------------------------------------------------------------


def test_a_body_declared_too_large_is_refused_before_it_is_read(port: int) -> None:
    with opened(port) as conn:
        conn.sendall(post_head(400 * 1024 * 1024))  # 400 MB said, not one byte sent
        answer = reply(conn)
    assert status(answer) == 413
    assert b"the most accepted is 1,024 bytes" in answer


def test_a_chunked_body_is_refused_once_it_passes_the_limit(port: int) -> None:
    chunk = b"200\r\n" + b"x" * 0x200 + b"\r\n"
    with opened(port) as conn:
        conn.sendall(post_head(None))
        sent = 0
        while sent < 10 * 1024 * 1024 and send_what_it_takes(conn, chunk):
            sent += 0x200
            if sent == 64 * 1024:
                break  # no end chunk: without a limit the server waits for the rest
        answer = reply(conn)
    assert status(answer) == 413


def test_a_body_within_the_limit_is_read_and_judged(port: int) -> None:
    body = b"{}" * 500
    with opened(port) as conn:
        conn.sendall(post_head(len(body)) + body)
        answer = reply(conn)
    assert status(answer) == 403, "read whole, and the signature is wrong"


def test_a_signed_body_sent_in_pieces_is_accepted(port: int) -> None:
    """The hook hashes the body as it comes (never holding it whole): a right signature
    over a body sent as several chunks, with pauses, is still right."""
    pieces = [b'{"ref": "refs/heads/main", ', b'"pad": "' + b"p" * 300, b'"}']
    body = b"".join(pieces)
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    with opened(port) as conn:
        conn.sendall(post_head(None, signature))
        for piece in pieces:
            conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            time.sleep(0.05)
        conn.sendall(b"0\r\n\r\n")
        answer = reply(conn)
    assert status(answer) == 202


def test_a_body_that_stalls_is_timed_out(port: int) -> None:
    with opened(port) as conn:
        conn.sendall(post_head(100) + b"x" * 10)
        answer = reply(conn)
    assert status(answer) == 408


# --- headers ------------------------------------------------------------------------------


def test_headers_past_the_limit_are_refused_and_not_kept(port: int) -> None:
    with opened(port) as conn:
        conn.sendall(b"GET /all.rss HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
        for _ in range(256):  # 1 MB of one header, never finished
            if not send_what_it_takes(conn, b"a" * 4096):
                break
        answer = reply(conn)
    assert status(answer) == 431


def test_headers_within_the_limit_and_pipelined_requests_are_served(port: int) -> None:
    request = b"GET /all.rss HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"p" * 1500 + b"\r\n\r\n"
    last = b"GET /all.json HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    with opened(port) as conn:
        conn.sendall(request * 8 + last)
        answer = reply(conn)
    assert answer.count(b"HTTP/1.1 200 OK") == 9


def test_a_request_line_that_stalls_is_timed_out(port: int) -> None:
    with opened(port) as conn:
        conn.sendall(b"GET /all.rss HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        answer = reply(conn)
    assert status(answer) == 408


def test_a_trickle_of_header_bytes_does_not_keep_the_connection(port: int) -> None:
    """One byte at a time, each well inside the deadline: the deadline is for the whole
    of the headers, so the server still ends it."""
    with opened(port) as conn:
        trickle = b"GET /all.rss HTTP/1.1\r\n" + b"X-Slow: " + b"s" * 1000
        started = time.monotonic()
        for byte in trickle:
            if not send_what_it_takes(conn, bytes([byte])) or time.monotonic() - started > WAIT:
                break
            time.sleep(0.05)
        answer = reply(conn)
    assert status(answer) == 408


def test_a_connection_that_sends_nothing_is_closed(port: int) -> None:
    with opened(port) as conn:
        assert reply(conn) == b""


def head_reply(conn: socket.socket) -> bytes:
    """One reply's status line and headers (a HEAD's reply is nothing more)."""
    received = b""
    while not received.endswith(b"\r\n\r\n"):
        chunk = conn.recv(1)
        assert chunk, f"closed mid-reply: {received!r}"
        received += chunk
    return received


def test_a_connection_in_use_is_kept_and_an_idle_one_closed(site: Site, tmp_path: Path) -> None:
    """Requests a little apart, answered by the app and before it (quick.py), keep the
    connection; once none comes for the keep-alive time, the server closes it."""
    with limited_server(site.folder, tmp_path, keep_alive=0.5) as port, opened(port) as conn:
        request = b"HEAD /all.rss HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        for _ in range(5):  # 1 s in all, twice the keep-alive time
            conn.sendall(request)
            assert status(head_reply(conn)) == 200
            time.sleep(0.2)
        assert reply(conn) == b"", "closed (within WAIT), with nothing more sent"


# --- connections --------------------------------------------------------------------------


def test_at_the_cap_the_connection_waiting_longest_makes_room(site: Site, tmp_path: Path) -> None:
    """Half-sent requests cannot keep real ones out: the oldest is closed for a new one."""
    with limited_server(site.folder, tmp_path, header_timeout=60.0) as port:
        held = [opened(port) for _ in range(4)]
        try:
            for conn in held:
                conn.sendall(b"GET /all.rss HTTP/1.1\r\n")  # and then nothing more
            with opened(port) as new:
                new.sendall(b"HEAD /all.rss HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                assert status(reply(new)) == 200
            assert reply(held[0]) == b"", "the one that waited longest was closed"
            held[1].sendall(b"Host: x\r\nConnection: close\r\n\r\n")
            assert status(reply(held[1])) == 200, "the others were left alone"
        finally:
            for conn in held:
                conn.close()


def test_at_the_cap_with_every_connection_busy_a_new_one_is_refused(
    site: Site, tmp_path: Path
) -> None:
    with limited_server(site.folder, tmp_path, body_timeout=60.0) as port:
        busy = [opened(port) for _ in range(4)]
        try:
            for conn in busy:  # each a request being handled: the hook is reading its body
                conn.sendall(
                    post_head(100).replace(b"\r\n\r\n", b"\r\nExpect: 100-continue\r\n\r\n")
                )
                assert conn.recv(65536).startswith(b"HTTP/1.1 100 Continue")
            with opened(port) as extra:
                answer = reply(extra)
            assert status(answer) == 503
            busy.pop().close()
            deadline = time.monotonic() + WAIT
            while True:  # once the server has seen that one go, there is room again
                with opened(port) as again:
                    again.sendall(b"HEAD /all.rss HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    if status(reply(again)) == 200:
                        break
                assert time.monotonic() < deadline, "no room after a connection closed"
                time.sleep(0.05)
        finally:
            for conn in busy:
                conn.close()


def test_what_the_cap_did_is_logged_at_most_once_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    refusals = Refusals()
    with caplog.at_level(logging.WARNING, logger="publisher"):
        refusals.count(1000.0, 500, closed=True)
        for second in range(1, 60):
            refusals.count(1000.0 + second, 500, closed=second % 2 == 0)
        refusals.count(1060.0, 500, closed=False)
    said = [record.getMessage() for record in caplog.records]
    assert len(said) == 2
    assert "closed 1 waiting" in said[0] and "refused 0 new" in said[0]
    assert "closed 29 waiting" in said[1] and "refused 31 new" in said[1]


def test_publisher_serve_takes_its_limits_from_the_settings(site: Site, tmp_path: Path) -> None:
    env = {**os.environ, "PUBLISHER_MAX_HEADER_BYTES": "1024", "PUBLISHER_CONFIG": ""}
    command = [sys.executable, "-m", "publisher", "serve", "--port", "0",
               "--site", str(site.folder)]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", process.stdout.readline())
        assert found, "no line saying where it listens"
        port = int(found.group(1))
        deadline = time.monotonic() + WAIT
        while True:  # it says where it listens just before it does
            try:
                conn = opened(port)
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline, "publisher serve did not start"
                time.sleep(0.05)
        with conn:
            conn.sendall(b"GET /all.rss HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 16384)
            assert status(reply(conn)) == 431, "1 KiB of headers at most, as set"
    finally:
        process.terminate()
        process.wait(timeout=WAIT)

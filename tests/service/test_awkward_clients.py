"""Clients that do odd but harmless things get plain answers, not tracebacks: a signature
that is not ASCII, a POST abandoned halfway, a CORS preflight for the filtered feeds."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.service.conftest import Site
from tests.service.test_limits import WAIT, limited_server, opened, reply, status


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def watching_logs() -> Iterator[Kept]:
    """What the publisher and uvicorn log meanwhile (uvicorn's loggers do not reach the
    root logger, so pytest's caplog does not see them). Start it once the server has
    started: uvicorn's logging set-up drops the handlers its loggers had."""
    kept = Kept()
    loggers = [logging.getLogger(name) for name in ("publisher", "uvicorn.error")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(kept)
        logger.setLevel(logging.INFO)
    try:
        yield kept
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(kept)
            logger.setLevel(level)


def test_a_signature_that_is_not_ascii_is_refused_plainly(site: Site, tmp_path: Path) -> None:
    body = b'{"ref": "refs/heads/main"}'
    with limited_server(site.folder, tmp_path) as port, opened(port) as conn:
        conn.sendall(
            b"POST /hooks/plans HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"X-Hub-Signature-256: sha256=\xc3\xa9t\xc3\xa9\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        answer = reply(conn)
    assert status(answer) == 403
    assert answer.endswith(b"\r\n\r\nThe signature does not match the shared secret.\n")


def test_a_post_abandoned_halfway_is_one_quiet_line(site: Site, tmp_path: Path) -> None:
    with (
        limited_server(site.folder, tmp_path, body_timeout=60.0) as port,
        watching_logs() as logged,
    ):
        with opened(port) as conn:
            conn.sendall(
                b"POST /hooks/plans HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"X-Hub-Signature-256: sha256=" + b"0" * 64 + b"\r\n"
                b"Content-Length: 1000\r\n\r\n" + b"x" * 100
            )
        deadline = time.monotonic() + WAIT
        while not logged.records:  # the server says something when it notices
            assert time.monotonic() < deadline, "the abandoned POST was never noticed"
            time.sleep(0.02)
    assert [record.getMessage() for record in logged.records] == [
        "127.0.0.1 went away before sending all of POST /hooks/plans"
    ]
    assert all(record.exc_info is None for record in logged.records), "no traceback"


def test_a_websocket_upgrade_is_answered_as_plain_http_without_a_word(
    site: Site, tmp_path: Path
) -> None:
    with limited_server(site.folder, tmp_path) as port, watching_logs() as logged:
        conn = opened(port)
        conn.sendall(
            b"GET /all.rss HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, close\r\n"
            b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        )
        answer = reply(conn)
        conn.close()
    assert status(answer) == 200
    assert logged.records == [], "nothing for the log to say"


def test_filtered_feeds_answer_a_cors_preflight(client: httpx.Client) -> None:
    response = client.options(
        "/feeds?place=leeds&format=ics",
        headers={"origin": "https://cvs.example.org", "access-control-request-method": "GET"},
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "GET" in response.headers["access-control-allow-methods"]
    assert "If-None-Match" in response.headers["access-control-allow-headers"]
    # The same answer as a feed file of the site gives.
    own = client.options("/all.ics", headers={"origin": "https://cvs.example.org"})
    for name in ("access-control-allow-methods", "access-control-allow-headers", "allow"):
        assert response.headers[name] == own.headers[name]

"""Webhook delivery against a real HTTP server on loopback."""

from __future__ import annotations

import json
import math
import re
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest

from publisher.delivery.outcome import Outcome, Result
from publisher.delivery.webhook import WebhookSender, refusal, retry_after, verify
from tests.delivery.receivers import (  # noqa: F401 (fixtures, found by pytest by name)
    HOST,
    HttpReceiver,
    Reply,
    TlsFiles,
    TricklingPeer,
    free_port,
    http_receiver_fixture,
    https_receiver_fixture,
    start_trickling_peer_fixture,
    tls_files_fixture,
    trickling_http,
)

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
SECRET = "a long random secret"
ENVIRON = {"VAL_WEBHOOK_SECRET": SECRET}
BODY = {"version": 1, "title": "Home care in Leeds – £2m", "url": "https://example.org/n/1"}


def payload(url: str, **changes: Any) -> dict[str, Any]:
    return {"url": url, "secret_env": "VAL_WEBHOOK_SECRET", "body": BODY, **changes}


@pytest.fixture
def webhooks() -> Iterator[Callable[..., WebhookSender]]:
    """WebhookSenders with a fixed clock and the test secret, closed after the test."""
    senders: list[WebhookSender] = []

    def make(**options: Any) -> WebhookSender:
        options = {"allow_private": True, "environ": ENVIRON, "clock": lambda: NOW,
                   "send_to_examples": True, **options}  # fmt: skip
        sender = WebhookSender(**options)
        senders.append(sender)
        return sender

    yield make
    for sender in senders:
        sender.close()


def pinned(name: str, address: str) -> Callable[..., Any]:
    """A resolver that answers `address` for `name`: stands in for DNS, which tests never
    touch, so that a name can point at a loopback receiver (or change its answer)."""

    def resolve(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        assert host == name
        return socket.getaddrinfo(address, port, *args, **kwargs)

    return resolve


def test_a_signed_post_that_verifies(http_receiver: HttpReceiver, webhooks) -> None:
    outcome = webhooks().send("channel/opp-1/new/3", payload(http_receiver.url()))

    assert outcome.result is Result.SENT
    [request] = http_receiver.requests
    assert request.method == "POST"
    assert request.path == "/hook"
    headers = request.headers
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "forward-plan-publisher"
    assert headers["idempotency-key"] == "channel/opp-1/new/3"
    assert headers["x-publisher-timestamp"] == str(int(NOW.timestamp()))
    assert request.body == json.dumps(
        BODY, separators=(",", ":"), sort_keys=True, ensure_ascii=False
    ).encode("utf-8")
    signature = headers["x-publisher-signature"]
    assert signature.startswith("sha256=")
    timestamp = headers["x-publisher-timestamp"]
    assert verify(SECRET, timestamp, request.body, signature, now=NOW + timedelta(seconds=3))
    assert not verify("another secret", timestamp, request.body, signature, now=NOW)
    assert not verify(SECRET, timestamp, request.body + b" ", signature, now=NOW)
    assert not verify(SECRET, timestamp, request.body, signature, now=NOW + timedelta(minutes=6))
    assert not verify(SECRET, "soon", request.body, signature, now=NOW)


def test_a_server_error_means_retry_then_sent(http_receiver: HttpReceiver, webhooks) -> None:
    http_receiver.script(Reply(500, body=b"database is down"), Reply(200))
    sender = webhooks()

    first = sender.send("key-1", payload(http_receiver.url()))
    assert first.result is Result.RETRY
    assert first.reason == (
        f"the receiver at {HOST} answered 500 Internal Server Error: database is down"
    )
    assert first.retry_after is None
    assert sender.send("key-1", payload(http_receiver.url())).result is Result.SENT
    assert [r.headers["idempotency-key"] for r in http_receiver.requests] == ["key-1", "key-1"]


def test_too_many_requests_honours_retry_after_seconds(
    http_receiver: HttpReceiver, webhooks
) -> None:
    http_receiver.script(Reply(429, {"Retry-After": "7"}))
    outcome = webhooks().send("key-1", payload(http_receiver.url()))

    assert outcome.result is Result.RETRY
    assert outcome.retry_after == 7


def test_retry_after_as_a_date(http_receiver: HttpReceiver, webhooks) -> None:
    later = format_datetime(NOW + timedelta(minutes=2), usegmt=True)
    http_receiver.script(Reply(503, {"Retry-After": later}))
    outcome = webhooks().send("key-1", payload(http_receiver.url()))

    assert outcome.result is Result.RETRY
    assert outcome.retry_after == 120


LAST_DAY = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),
        (" 120 ", 120.0),
        ("0", 0.0),
        ("99999999999999", 99999999999999.0),  # asked for; the outbox caps what it honours
        ("9" * 400, math.inf),  # too big for a float, and no crash
        (format_datetime(NOW + timedelta(minutes=2), usegmt=True), 120.0),
        (format_datetime(NOW - timedelta(days=1), usegmt=True), 0.0),  # a date gone by
        ("Fri, 31 Dec 9999 23:59:59 GMT", (LAST_DAY - NOW).total_seconds()),
        ("Thu, 01 Jan 1970 00:00:00 +99999999999", None),  # a zone no clock has
        ("Mon, 01 Jan 0001 00:00:00 +2359", 0.0),  # the first day a datetime holds, gone by
        ("-5", None),
        ("1.5", None),
        ("\u0663", None),  # an Arabic-Indic 3: a digit to str.isdigit, not to HTTP
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_seconds_or_a_date(header: str | None, seconds: float | None) -> None:
    assert retry_after(header, NOW) == seconds


def test_not_found_fails_with_the_status_and_the_start_of_the_page(
    http_receiver: HttpReceiver, webhooks
) -> None:
    http_receiver.script(Reply(404, body=b"No hook here.\n" + b"x" * 5000))
    outcome = webhooks().send("key-1", payload(http_receiver.url()))

    assert outcome.result is Result.FAILED
    assert outcome.reason.startswith(
        f"the receiver at {HOST} answered 404 Not Found: No hook here."
    )
    assert len(outcome.reason) < 300


def test_a_receiver_that_hangs_means_retry_after_the_timeout(
    http_receiver: HttpReceiver, webhooks
) -> None:
    http_receiver.script(Reply(200, hang=10))
    outcome = webhooks(timeout=0.5).send("key-1", payload(http_receiver.url()))

    assert outcome.result is Result.RETRY
    assert outcome.reason == f"the receiver at {HOST} did not answer within 0.5 seconds"


def test_a_receiver_that_trickles_its_answer_is_cut_off_at_the_timeout(
    start_trickling_peer: Callable[..., TricklingPeer], webhooks
) -> None:
    # A byte every 0.2 seconds: no read waits anywhere near the timeout, so a timeout per
    # read would wait for ever; the whole exchange must end once 1 second has passed.
    peer = start_trickling_peer(trickling_http, gap=0.2)
    sender = webhooks(timeout=1)
    outcomes: list[Outcome] = []
    sending = threading.Thread(
        target=lambda: outcomes.append(sender.send("key-1", payload(f"http://{HOST}:{peer.port}/")))
    )
    sending.start()
    sending.join(10)  # ten times the timeout: only a sender that never gives up takes this long

    assert not sending.is_alive(), "the sender was still reading the trickle after 10 seconds"
    assert outcomes == [Outcome.retry(f"the receiver at {HOST} did not answer within 1 seconds")]
    assert peer.closed.wait(10)  # and it hung up


def test_a_name_lookup_that_hangs_means_retry_after_the_timeout(webhooks) -> None:
    # A resolver stands in for a DNS server that never answers: a fault no test may
    # produce with a real one, since tests never ask DNS.
    answered = threading.Event()

    def hangs(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        answered.wait(10)
        return socket.getaddrinfo(HOST, port, *args, **kwargs)

    outcome = webhooks(timeout=0.5, resolve=hangs).send("key-1", payload("http://hooks.test/in"))
    answered.set()

    assert outcome == Outcome.retry("the name hooks.test was not looked up within 0.5 seconds")


def test_nobody_listening_means_retry(webhooks) -> None:
    outcome = webhooks().send("key-1", payload(f"http://{HOST}:{free_port()}/hook"))

    assert outcome.result is Result.RETRY
    assert outcome.reason.startswith(f"could not connect to the receiver at {HOST}")


def test_a_redirect_is_not_followed(http_receiver: HttpReceiver, webhooks) -> None:
    http_receiver.script(Reply(301, {"Location": "https://example.org/new-hook"}))
    outcome = webhooks().send("key-1", payload(http_receiver.url()))

    assert outcome.result is Result.FAILED
    assert "answered 301 Moved Permanently, pointing to https://example.org/new-hook" in (
        outcome.reason
    )
    assert len(http_receiver.requests) == 1


def test_a_missing_secret_fails_without_sending(http_receiver: HttpReceiver, webhooks) -> None:
    outcome = webhooks(environ={}).send("key-1", payload(http_receiver.url()))

    assert outcome.result is Result.FAILED
    assert outcome.reason == (
        "the environment variable VAL_WEBHOOK_SECRET that this channel names is not set"
    )
    assert http_receiver.requests == []


@pytest.mark.parametrize("url", ["ftp://example.org/hook", "file:///etc/passwd", "not a url"])
def test_only_http_and_https(webhooks, url: str) -> None:
    outcome = webhooks().send("key-1", payload(url))

    assert outcome.result is Result.FAILED
    assert "is not an http or https URL" in outcome.reason


@pytest.mark.parametrize(
    ("host", "address", "what"),
    [
        ("127.0.0.1", "127.0.0.1", "a loopback address"),
        ("localhost", "127.0.0.1", "a loopback address"),
        ("[::1]", "::1", "a loopback address"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1", "a loopback address (127.0.0.1 wrapped in IPv6)"),
    ],
)
def test_private_addresses_are_refused_before_connecting(
    http_receiver: HttpReceiver, webhooks, host: str, address: str, what: str
) -> None:
    # Only loopback here: were the filter broken, this test would connect, and tests connect
    # nowhere else. The other addresses are checked by `refusal`, below, without a socket.
    sender = webhooks(allow_private=False)
    outcome = sender.send("key-1", payload(f"http://{host}:{http_receiver.port}/hook"))

    assert outcome.result is Result.FAILED
    assert f"resolves to {address}, {what}, which is not on the public internet" in (outcome.reason)
    assert "PUBLISHER_ALLOW_PRIVATE_WEBHOOKS=1" in outcome.reason
    assert http_receiver.requests == []


def addresses(*written: str) -> list[Any]:
    return [ip_address(text) for text in written]


@pytest.mark.parametrize(
    ("answers", "refused"),
    [
        (("93.184.216.34",), None),
        (("2606:2800:220:1:248:1893:25c8:1946",), None),
        (("93.184.216.34", "10.0.0.1"), "10.0.0.1, a private network address"),
        (("10.0.0.1", "93.184.216.34"), "10.0.0.1, a private network address"),
        (("93.184.216.34", "192.0.0.8"), "192.0.0.8, a special-purpose address"),
        (("2002:7f00:1::",), "2002:7f00:1::, a loopback address (127.0.0.1 wrapped in IPv6)"),
        (("169.254.169.254",), "169.254.169.254, a link-local address"),
        (("224.0.0.251",), "224.0.0.251, a multicast address"),
    ],
)
def test_a_name_is_refused_when_any_of_its_addresses_is_not_public(
    answers: tuple[str, ...], refused: str | None
) -> None:
    reason = refusal("hooks.example.org", addresses(*answers))
    if refused is None:
        assert reason is None
    else:
        assert reason is not None
        assert reason.startswith(f"the webhook address hooks.example.org resolves to {refused}")


def test_example_names_are_never_called(http_receiver) -> None:
    sender = WebhookSender(allow_private=True, environ=ENVIRON, clock=lambda: NOW)
    for url in ("https://example.org/hook", "https://hooks.example.com/x", "http://a.test/"):
        outcome = sender.send("key-1", payload(url))
        assert outcome.result is Result.FAILED and "reserved example name" in outcome.reason
    assert http_receiver.requests == []
    sender.close()


def test_the_checked_address_is_the_one_connected_to(http_receiver: HttpReceiver, webhooks) -> None:
    # The name is looked up once; no second lookup could send the request elsewhere.
    sender = webhooks(resolve=pinned("webhooks.example.test", HOST))
    url = f"http://webhooks.example.test:{http_receiver.port}/hook"

    assert sender.send("key-1", payload(url)).result is Result.SENT
    [request] = http_receiver.requests
    assert request.headers["host"] == f"webhooks.example.test:{http_receiver.port}"


def test_https_checks_the_certificate_against_the_name(
    https_receiver: HttpReceiver, tls_files: TlsFiles, webhooks
) -> None:
    context = tls_files.client_context()
    good = webhooks(ssl_context=context, resolve=pinned("webhooks.example.test", HOST))
    wrong = webhooks(ssl_context=context, resolve=pinned("other.example.test", HOST))

    ok = good.send("key-1", payload(https_receiver.url(host="webhooks.example.test")))
    refused = wrong.send("key-1", payload(https_receiver.url(host="other.example.test")))

    assert ok.result is Result.SENT
    assert refused.result is Result.RETRY
    assert "CERTIFICATE_VERIFY_FAILED" in refused.reason
    assert len(https_receiver.requests) == 1


def test_the_example_in_the_docs_agrees_with_verify(http_receiver: HttpReceiver, webhooks) -> None:
    text = (Path(__file__).parents[2] / "docs" / "webhooks.md").read_text(encoding="utf-8")
    [example] = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    namespace: dict[str, Any] = {}
    exec(example, namespace)  # the docs' own code, as a receiver would paste it
    check = namespace["is_from_the_publisher"]
    webhooks().send("key-1", payload(http_receiver.url()))
    [request] = http_receiver.requests
    timestamp, signature = (request.headers[f"x-publisher-{h}"] for h in ("timestamp", "signature"))
    now = NOW.timestamp()

    assert check(SECRET, timestamp, signature, request.body, now=now)
    assert verify(SECRET, timestamp, request.body, signature, now=NOW)
    assert not check("another secret", timestamp, signature, request.body, now=now)
    assert not check(SECRET, timestamp, signature, request.body, now=now + 301)

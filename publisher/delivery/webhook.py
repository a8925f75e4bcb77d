"""Webhook delivery: a signed JSON POST to a channel's URL, refusing private addresses."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import socket
import ssl
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpcore
import httpx

from publisher.delivery import chat_kinds, signing
from publisher.delivery.deadline import Answers, DeadlineBackend, Resolver, look_up
from publisher.delivery.outcome import Outcome, Result
from publisher.plans.addresses import Address, not_public

__all__ = ["USER_AGENT", "WebhookSender", "refusal", "retry_after", "sign", "verify"]

USER_AGENT = "forward-plan-publisher"
_BODY_SHOWN = 200  # characters of a receiver's error page worth showing in `publisher outbox`
_RETRY_STATUSES = {408, 429}
_DELAY_SECONDS = re.compile(r"[0-9]+")  # Retry-After's delay-seconds (RFC 9110): ASCII digits


def _utc_now() -> datetime:
    return datetime.now(UTC)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Publisher-Signature value: sha256= and the hex HMAC of "timestamp.body"."""
    return "sha256=" + signing.sign(secret, _signed(timestamp, body))


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    now: datetime,
    tolerance: timedelta = timedelta(minutes=5),
) -> bool:
    """True when `signature` is this body's, signed with `secret` within `tolerance` of `now`."""
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    if abs(now.timestamp() - sent_at) > tolerance.total_seconds():
        return False  # an old request replayed, or a clock far off
    scheme, _, digest = signature.partition("=")
    return scheme == "sha256" and signing.verify(secret, _signed(str(sent_at), body), digest)


def _signed(timestamp: str, body: bytes) -> bytes:
    """What the signature covers: the timestamp too, so a captured request cannot be
    replayed later under a new timestamp."""
    return timestamp.encode("ascii") + b"." + body


def _short(text: str) -> str:
    flat = " ".join("".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text).split())
    return flat if len(flat) <= _BODY_SHOWN else flat[: _BODY_SHOWN - 1] + "…"


_STEPS = ("connect", "read", "write", "pool")


class RefusedError(Exception):
    """A webhook that must not be sent; carries the Outcome to return."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.reason)
        self.outcome = outcome


RESERVED_TLDS = frozenset({"example", "invalid", "test"})
RESERVED_DOMAINS = ("example.org", "example.com", "example.net")


def not_an_example(value: object) -> None:
    """RFC 2606 names stand in for real ones in example channels: nothing there is ours to
    call, so nothing is sent, and the reason says what to do."""
    try:
        url = httpx.URL(value) if isinstance(value, str) else None
    except httpx.InvalidURL:
        return  # _target explains a bad address
    if url is None or url.scheme not in ("http", "https"):
        return
    host = url.host.lower().rstrip(".")
    if host.split(".")[-1] in RESERVED_TLDS or any(
        host == d or host.endswith("." + d) for d in RESERVED_DOMAINS
    ):
        reason = (
            f"the webhook address {host} is a reserved example name, so nothing is sent; "
            "put the receiver's real address in the channel file"
        )
        raise RefusedError(Outcome.failed(reason))


class WebhookSender:
    """POSTs each item's body to its URL, signed with the secret its channel names.

    The connection goes to the address that was checked, not to a second lookup of the
    name, so a name that changes its answer between check and connect (DNS rebinding)
    cannot steer a webhook to a private address. `timeout` bounds the whole exchange
    (connecting, TLS, sending, and reading the whole answer), not each step.
    """

    def __init__(
        self,
        *,
        timeout: float = 10,
        allow_private: bool = False,
        environ: Mapping[str, str] = os.environ,
        clock: Callable[[], datetime] = _utc_now,
        resolve: Resolver = socket.getaddrinfo,
        send_to_examples: bool = False,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        # httpcore rather than httpx: httpx cannot be given the network backend that keeps
        # to the deadline. No proxy from HTTP_PROXY either: it would look the name up again.
        # No kept-alive connections: a connection to a shared address could carry the next
        # request for another name, under the first name's certificate; and one connection
        # per webhook makes the connection's deadline the webhook's.
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_keepalive_connections=0,
            network_backend=DeadlineBackend(timeout),
        )
        self.timeout = timeout
        self.allow_private = allow_private
        self.environ = environ
        self.clock = clock
        self.resolve = resolve
        self.send_to_examples = send_to_examples  # tests resolve example names themselves

    def send(self, key: str, payload: dict[str, Any]) -> Outcome:
        deadline = time.monotonic() + self.timeout  # the lookup and the whole exchange
        try:
            body = self._body(payload.get("body"))
            if not self.send_to_examples:
                not_an_example(payload.get("url"))
            secret = self._secret(payload.get("secret_env"))
            url, address = self._target(payload.get("url"))  # last: it may ask DNS
        except RefusedError as refused:
            return refused.outcome
        timestamp = str(int(self.clock().timestamp()))
        signed = {
            "Idempotency-Key": key,
            "X-Publisher-Timestamp": timestamp,
            "X-Publisher-Signature": sign(secret, timestamp, body),
        }
        return self._post(url, address, body, signed, deadline)

    def _post(
        self, url: httpx.URL, address: str, body: bytes, extra: dict[str, str], deadline: float
    ) -> Outcome:
        """POST `body` to the checked `address` of `url`, by `deadline` (monotonic)."""
        where = f"the receiver at {url.host}"
        left = deadline - time.monotonic()
        if left <= 0:
            return Outcome.retry(f"{where} did not answer within {self.timeout:g} seconds")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            **extra,
            "Host": url.netloc.decode("ascii"),
            "Content-Length": str(len(body)),
            "Connection": "close",
        }
        extensions: dict[str, Any] = {"timeout": dict.fromkeys(_STEPS, left)}
        if url.scheme == "https":
            extensions["sni_hostname"] = url.raw_host.decode("ascii")
        target = httpcore.URL(
            scheme=url.raw_scheme,
            host=address.encode("ascii"),
            port=url.port or (443 if url.scheme == "https" else 80),
            target=url.raw_path,
        )
        try:
            with self._pool.stream(
                "POST", target, headers=list(headers.items()), content=body, extensions=extensions
            ) as response:
                return self._outcome(response, where, url)
        except httpcore.TimeoutException:
            return Outcome.retry(f"{where} did not answer within {self.timeout:g} seconds")
        except httpcore.ConnectError as error:
            return Outcome.retry(f"could not connect to {where}: {error or 'connection refused'}")
        except (httpcore.NetworkError, httpcore.ProtocolError) as error:
            return Outcome.retry(f"the connection to {where} failed: {error or 'it was cut'}")

    def _target(self, value: object) -> tuple[httpx.URL, str]:
        """The URL, and the checked address to connect to."""
        try:
            url = httpx.URL(value) if isinstance(value, str) else None
        except httpx.InvalidURL:
            url = None
        if url is None or url.scheme not in ("http", "https") or not url.host:
            reason = f"the webhook address {value!r} is not an http or https URL"
            raise RefusedError(Outcome.failed(reason))
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            found = self._lookup(url.raw_host.decode("ascii"), port)
        except (socket.gaierror, UnicodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise RefusedError(
                Outcome.retry(f"the name {url.host} could not be looked up: {reason}")
            ) from None
        # The scope of a link-local IPv6 address ("%eth0") is not part of the address.
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
        if not addresses:
            raise RefusedError(Outcome.retry(f"the name {url.host} has no address"))
        if not self.allow_private:
            refused = refusal(url.host, addresses)
            if refused is not None:
                raise RefusedError(Outcome.failed(refused))
        return url, str(addresses[0])

    def _lookup(self, host: str, port: int) -> Answers:
        try:
            return look_up(self.resolve, host, port, self.timeout)
        except TimeoutError as error:
            raise RefusedError(Outcome.retry(str(error))) from None

    @staticmethod
    def _body(value: object) -> bytes:
        if not isinstance(value, dict):
            raise RefusedError(Outcome.failed("the webhook body is not a JSON object"))
        try:
            text = json.dumps(
                value, separators=(",", ":"), sort_keys=True, ensure_ascii=False, allow_nan=False
            )
        except (TypeError, ValueError) as error:
            reason = f"the webhook body cannot be written as JSON: {error}"
            raise RefusedError(Outcome.failed(reason)) from None
        return text.encode("utf-8")

    def _secret(self, name: object) -> str:
        if not isinstance(name, str) or not name:
            raise RefusedError(Outcome.failed("the channel does not name a secret_env variable"))
        secret = self.environ.get(name)
        if not secret:
            raise RefusedError(
                Outcome.failed(
                    f"the environment variable {name} that this channel names is not set"
                )
            )
        return secret

    def _outcome(self, response: httpcore.Response, where: str, url: httpx.URL) -> Outcome:
        status = response.status
        if 200 <= status < 300:
            return Outcome.sent()
        headers = httpx.Headers(response.headers)
        answer = f"{where} answered {status} {httpx.codes.get_reason_phrase(status)}".rstrip()
        if 300 <= status < 400:
            location = headers.get("Location", "nowhere")
            return Outcome.failed(
                f"{answer}, pointing to {_short(location)}; webhooks do not follow redirects,"
                " so put the new address in the channel"
            )
        start = self._start_of_body(response)
        shown = _short(start)
        detail = f"{answer}: {shown}" if shown else answer
        if status in _RETRY_STATUSES or status >= 500:
            outcome = Outcome.retry(detail, retry_after(headers.get("Retry-After"), self.clock()))
        else:
            outcome = Outcome.failed(detail)
        return self._judge(url, status, start, outcome)

    def _judge(self, url: httpx.URL, status: int, answer: str, outcome: Outcome) -> Outcome:
        """The outcome, with plain words when a refusal says more: a chat tool given the
        publisher's own format says which channel kind it needs."""
        if outcome.result is Result.FAILED and 400 <= status < 500:
            said = chat_kinds.misfit(url.host, url.path, status, answer)
            if said:
                return Outcome.failed(f"{said} ({outcome.reason})")
        return outcome

    @staticmethod
    def _start_of_body(response: httpcore.Response) -> str:
        # Read only the start: an error page can be large, and we show a line of it.
        data = b""
        try:
            for chunk in response.iter_stream():
                data += chunk
                if len(data) >= 4 * _BODY_SHOWN:
                    break
        except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError):
            pass  # the status already says what happened
        return data.decode("utf-8", "replace")

    def close(self) -> None:
        self._pool.close()


def refusal(host: str, addresses: Sequence[Address]) -> str | None:
    """Why a webhook to `host`, which resolves to `addresses`, must not be sent (without
    PUBLISHER_ALLOW_PRIVATE_WEBHOOKS), or None. Every answer is checked: a name with one
    public and one private address is refused, since either may be the one connected to."""
    for address in addresses:
        what = not_public(address)
        if what is not None:
            return (
                f"the webhook address {host} resolves to {address}, {what}, which is not on"
                " the public internet, so nothing is sent; if the receiver really is on a"
                " private network, the operator can allow it with"
                " PUBLISHER_ALLOW_PRIVATE_WEBHOOKS=1"
            )
    return None


def retry_after(value: str | None, now: datetime) -> float | None:
    """How many seconds a Retry-After header asks for, from a number of seconds or an HTTP
    date; None when it is missing or makes no sense. The outbox caps what it honours."""
    if value is None:
        return None
    value = value.strip()
    if _DELAY_SECONDS.fullmatch(value):
        # float() of a string never overflows: a number too big for a float is inf.
        return float(value)
    try:
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - now).total_seconds())
    except (TypeError, ValueError, OverflowError, IndexError):
        return None  # not a date, or one no calendar holds

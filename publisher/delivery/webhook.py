"""Webhook delivery: a signed JSON POST to a channel's URL, refusing private addresses."""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import socket
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from publisher.delivery.outcome import Outcome

__all__ = ["USER_AGENT", "WebhookSender", "sign", "verify"]

USER_AGENT = "forward-plan-publisher"
_BODY_SHOWN = 200  # characters of a receiver's error page worth showing in `publisher outbox`
_RETRY_STATUSES = {408, 429}

# What socket.getaddrinfo returns; tests may pass their own resolver with the same shape.
Resolver = Callable[..., Sequence[tuple[Any, Any, Any, Any, tuple[Any, ...]]]]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Publisher-Signature value: sha256= and the hex HMAC of "timestamp.body"."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, "sha256")
    return "sha256=" + digest.hexdigest()


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
    expected = sign(secret, str(sent_at), body)
    return hmac.compare_digest(expected.encode("utf-8"), signature.encode("utf-8"))


def _blocked(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Not a public unicast address: nothing a publisher should post to unasked."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _blocked(address.ipv4_mapped)
    return (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _short(text: str) -> str:
    flat = " ".join("".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text).split())
    return flat if len(flat) <= _BODY_SHOWN else flat[: _BODY_SHOWN - 1] + "…"


class _RefusedError(Exception):
    """A webhook that must not be sent; carries the Outcome to return."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.reason)
        self.outcome = outcome


RESERVED_TLDS = frozenset({"example", "invalid", "test"})
RESERVED_DOMAINS = ("example.org", "example.com", "example.net")


def _not_an_example(value: object) -> None:
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
        raise _RefusedError(Outcome.failed(reason))


class WebhookSender:
    """POSTs each item's body to its URL, signed with the secret its channel names.

    The connection goes to the address that was checked, not to a second lookup of the
    name, so a name that changes its answer between check and connect (DNS rebinding)
    cannot steer a webhook to a private address.
    """

    def __init__(
        self,
        client: httpx.Client | None = None,
        *,
        timeout: float = 10,
        allow_private: bool = False,
        environ: Mapping[str, str] = os.environ,
        clock: Callable[[], datetime] = _utc_now,
        resolve: Resolver = socket.getaddrinfo,
        send_to_examples: bool = False,
    ) -> None:
        # trust_env=False: a proxy from HTTP_PROXY would look the name up again itself.
        self._own_client = client is None
        self.client = client or httpx.Client(trust_env=False)
        self.timeout = timeout
        self.allow_private = allow_private
        self.environ = environ
        self.clock = clock
        self.resolve = resolve
        self.send_to_examples = send_to_examples  # tests resolve example names themselves

    def send(self, key: str, payload: dict[str, Any]) -> Outcome:
        try:
            body = self._body(payload.get("body"))
            if not self.send_to_examples:
                _not_an_example(payload.get("url"))
            secret = self._secret(payload.get("secret_env"))
            url, address = self._target(payload.get("url"))  # last: it may ask DNS
        except _RefusedError as refused:
            return refused.outcome
        timestamp = str(int(self.clock().timestamp()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Idempotency-Key": key,
            "X-Publisher-Timestamp": timestamp,
            "X-Publisher-Signature": sign(secret, timestamp, body),
            "Host": url.netloc.decode("ascii"),
            # One connection per webhook: a kept-alive connection to a shared address could
            # carry the next request for another name, under the first name's certificate.
            "Connection": "close",
        }
        extensions = {"sni_hostname": url.raw_host.decode("ascii")} if url.scheme == "https" else {}
        where = f"the receiver at {url.host}"
        try:
            with self.client.stream(
                "POST",
                url.copy_with(host=address),
                content=body,
                headers=headers,
                timeout=self.timeout,
                follow_redirects=False,
                extensions=extensions,
            ) as response:
                return self._outcome(response, where)
        except httpx.TimeoutException:
            return Outcome.retry(f"{where} did not answer within {self.timeout:g} seconds")
        except httpx.ConnectError as error:
            return Outcome.retry(f"could not connect to {where}: {error or 'connection refused'}")
        except httpx.TransportError as error:
            return Outcome.retry(f"the connection to {where} failed: {error}")

    def _target(self, value: object) -> tuple[httpx.URL, str]:
        """The URL, and the checked address to connect to."""
        try:
            url = httpx.URL(value) if isinstance(value, str) else None
        except httpx.InvalidURL:
            url = None
        if url is None or url.scheme not in ("http", "https") or not url.host:
            reason = f"the webhook address {value!r} is not an http or https URL"
            raise _RefusedError(Outcome.failed(reason))
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            found = self.resolve(url.raw_host.decode("ascii"), port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise _RefusedError(
                Outcome.retry(f"the name {url.host} could not be looked up: {reason}")
            ) from None
        # The scope of a link-local IPv6 address ("%eth0") is not part of the address.
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
        if not addresses:
            raise _RefusedError(Outcome.retry(f"the name {url.host} has no address"))
        if not self.allow_private:
            # Every answer is checked: a name with one public and one private address is refused.
            for address in addresses:
                if _blocked(address):
                    shown = getattr(address, "ipv4_mapped", None) or address
                    reason = (
                        f"the webhook address {url.host} resolves to {shown}, a private or"
                        " loopback address; set PUBLISHER_ALLOW_PRIVATE_WEBHOOKS=1 to allow it"
                    )
                    raise _RefusedError(Outcome.failed(reason))
        return url, str(addresses[0])

    @staticmethod
    def _body(value: object) -> bytes:
        if not isinstance(value, dict):
            raise _RefusedError(Outcome.failed("the webhook body is not a JSON object"))
        try:
            text = json.dumps(
                value, separators=(",", ":"), sort_keys=True, ensure_ascii=False, allow_nan=False
            )
        except (TypeError, ValueError) as error:
            reason = f"the webhook body cannot be written as JSON: {error}"
            raise _RefusedError(Outcome.failed(reason)) from None
        return text.encode("utf-8")

    def _secret(self, name: object) -> str:
        if not isinstance(name, str) or not name:
            raise _RefusedError(Outcome.failed("the channel does not name a secret_env variable"))
        secret = self.environ.get(name)
        if not secret:
            raise _RefusedError(
                Outcome.failed(
                    f"the environment variable {name} that this channel names is not set"
                )
            )
        return secret

    def _outcome(self, response: httpx.Response, where: str) -> Outcome:
        status = response.status_code
        if 200 <= status < 300:
            return Outcome.sent()
        answer = f"{where} answered {status} {response.reason_phrase}".rstrip()
        if 300 <= status < 400:
            location = response.headers.get("Location", "nowhere")
            return Outcome.failed(
                f"{answer}, pointing to {_short(location)}; webhooks do not follow redirects,"
                " so put the new address in the channel"
            )
        shown = _short(self._start_of_body(response))
        detail = f"{answer}: {shown}" if shown else answer
        if status in _RETRY_STATUSES or status >= 500:
            return Outcome.retry(detail, self._retry_after(response.headers.get("Retry-After")))
        return Outcome.failed(detail)

    @staticmethod
    def _start_of_body(response: httpx.Response) -> str:
        # Read only the start: an error page can be large, and we show a line of it.
        data = b""
        try:
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) >= 4 * _BODY_SHOWN:
                    break
        except httpx.HTTPError:
            pass  # the status already says what happened
        return data.decode(response.encoding or "utf-8", "replace")

    def _retry_after(self, value: str | None) -> float | None:
        """Retry-After in seconds, from a number of seconds or an HTTP date."""
        if value is None:
            return None
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - self.clock()).total_seconds())

    def close(self) -> None:
        if self._own_client:
            self.client.close()

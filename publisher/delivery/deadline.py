"""Network exchanges that keep to one deadline, whatever the other side does: a timeout per
read alone lets a peer that answers a byte at a time hold an exchange for ever. One piece for
webhooks (an httpcore network backend) and one for SMTP (smtplib's client, reading replies
against the deadline)."""

from __future__ import annotations

import math
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import httpcore

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

__all__ = [
    "Answers",
    "BoundedSMTP",
    "BoundedSMTPS",
    "Deadline",
    "DeadlineBackend",
    "Resolver",
    "look_up",
]

# What socket.getaddrinfo returns; tests may pass their own resolver with the same shape.
Answers = Sequence[tuple[Any, Any, Any, Any, tuple[Any, ...]]]
Resolver = Callable[..., Answers]


def look_up(resolve: Resolver, host: str, port: int, seconds: float) -> Answers:
    """`resolve(host, port)`'s answers, or TimeoutError after `seconds`. A lookup cannot be
    cut short, so it runs in a thread of its own, left to end by itself (the system
    resolver's own time limits end it) when it takes longer than the caller may wait."""
    found: list[Answers] = []
    failed: list[Exception] = []
    done = threading.Event()

    def run() -> None:
        try:
            found.append(resolve(host, port, type=socket.SOCK_STREAM))
        except Exception as error:
            failed.append(error)
        finally:
            done.set()

    threading.Thread(target=run, name="look-up", daemon=True).start()
    if not done.wait(seconds):
        raise TimeoutError(f"the name {host} was not looked up within {seconds:g} seconds")
    if failed:
        raise failed[0]
    return found[0]


# --- webhooks ---------------------------------------------------------------------------


class _DeadlineStream(httpcore.NetworkStream):
    """A connection on which every step (TLS, each write, each read) gets only the time left
    before one deadline: a receiver sending its answer a byte at a time cannot stretch an
    exchange past it, as it can a timeout that starts again at each read."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self._stream = stream
        self._deadline = deadline

    def _left(self, timeout: float | None, expired: type[Exception]) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise expired("the time for the whole exchange ran out")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        # httpcore's own write gives every partial send the whole timeout again; a receiver
        # taking the body slowly would stretch it, so each send here gets what is left.
        sock: socket.socket = self._stream.get_extra_info("socket")
        while buffer:
            left = self._left(timeout, httpcore.WriteTimeout)
            try:
                sock.settimeout(left)
                buffer = buffer[sock.send(buffer) :]
            except TimeoutError as error:
                raise httpcore.WriteTimeout(str(error)) from error
            except OSError as error:
                raise httpcore.WriteError(str(error)) from error

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        left = self._left(timeout, httpcore.ConnectTimeout)  # the handshake as a whole
        return _DeadlineStream(
            self._stream.start_tls(ssl_context, server_hostname, left), self._deadline
        )

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """Opens connections whose whole life is the connect timeout it is given (WebhookSender
    gives every step the time left for the webhook). Each webhook has its own connection,
    so that is the bound on the whole exchange."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds  # when no timeout is given
        self._plain = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        seconds = self._seconds if timeout is None else timeout
        deadline = time.monotonic() + seconds
        stream = self._plain.connect_tcp(host, port, seconds, local_address, socket_options)
        return _DeadlineStream(stream, deadline)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.UnsupportedProtocol("webhooks go over TCP only")

    def sleep(self, seconds: float) -> None:
        self._plain.sleep(seconds)


# --- SMTP -------------------------------------------------------------------------------


class Deadline:
    """The moment by which the exchange in progress (one message, or saying goodbye) must be
    over, whatever the server does: a timeout per read alone lets a server that answers a
    byte at a time hold a pass for ever."""

    def __init__(self) -> None:
        self.at = math.inf

    def start(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def left(self) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise TimeoutError("the time for this message ran out")
        return left


class _DeadlineReader:
    """What smtplib reads replies through (it calls readline and close): each read from the
    socket waits only for the time left before the deadline."""

    def __init__(self, sock: socket.socket, deadline: Deadline) -> None:
        self.sock = sock
        self.deadline = deadline
        self.buffer = b""

    def readline(self, limit: int = -1) -> bytes:
        while b"\n" not in self.buffer and not 0 <= limit <= len(self.buffer):
            self.sock.settimeout(self.deadline.left())
            chunk = self.sock.recv(4096)
            if not chunk:
                break  # the server hung up: what is left is the last line
            self.buffer += chunk
        end = self.buffer.find(b"\n") + 1 or len(self.buffer)
        if 0 <= limit < end:
            end = limit
        line, self.buffer = self.buffer[:end], self.buffer[end:]
        return line

    def close(self) -> None:
        self.buffer = b""  # anything a server sent ahead (say, before STARTTLS) is dropped


class BoundedSMTP(smtplib.SMTP):
    """smtplib's client, but looking up the name, connecting, sending and reading each
    reply keep to one deadline, set before each message. (The TLS handshake of smtps gets
    the time left when it starts, so it can overrun by at most that.)"""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        deadline: Deadline,
        resolve: Resolver = socket.getaddrinfo,
        **options: Any,
    ) -> None:
        self.deadline = deadline  # first: the constructor connects and reads the greeting
        self.resolve = resolve
        super().__init__(host, port, **options)

    def connect(
        self, host: str = "localhost", port: int = 0, source_address: Any = None
    ) -> tuple[int, bytes]:
        # The name is looked up here, within the deadline, and smtplib connects to the
        # address; TLS still checks the certificate against the name (smtplib keeps it).
        answers = look_up(self.resolve, host, port, self.deadline.left())
        if not answers:
            raise OSError(f"the name {host} has no address")
        address = str(answers[0][4][0])
        # smtplib connects (and, for smtps, shakes hands) within self.timeout: only the
        # time left, for this connection only.
        timeout, self.timeout = self.timeout, min(self.timeout, self.deadline.left())
        try:
            return super().connect(address, port, source_address)
        finally:
            self.timeout = timeout

    def send(self, s: ReadableBuffer | str) -> None:
        if self.sock is not None:
            self.sock.settimeout(self.deadline.left())  # sendall keeps to it as a whole
        super().send(s)

    def getreply(self) -> tuple[int, bytes]:
        if self.file is None and self.sock is not None:
            self.file = _DeadlineReader(self.sock, self.deadline)
        return super().getreply()


class BoundedSMTPS(BoundedSMTP, smtplib.SMTP_SSL):
    """The same over TLS from the start (smtps://)."""

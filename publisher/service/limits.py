"""Limits on what one client can make the web server hold: the size of a request's headers
and body, how long its headers and body may take to arrive, and how many connections are
open at once.

uvicorn has no header size limit or header timeout with httptools (only its h11 parser has
a size limit), and nothing for bodies, so the connection limits live in `LimitedHttpTools`,
our subclass of uvicorn's httptools protocol, and the body limits in `BodyLimits`, an ASGI
middleware. `server_config` puts the two together with uvicorn's own options.
`LimitedHttpTools` relies on the internals of uvicorn's protocol (its parser callbacks,
`cycle`, `connections`, `flow`); tests/service/test_limits.py fails if an upgrade of uvicorn
changes them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import anyio
import uvicorn
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from publisher.service.quick import QuickFiles
from publisher.settings import Settings

log = logging.getLogger("publisher")

# How many bytes are handed to the HTTP parser at once while a request's headers are read,
# so that the header size is counted to within this much (see LimitedHttpTools).
STEP = 4096
# An idle keep-alive connection is closed after this many seconds (uvicorn's default).
KEEP_ALIVE_SECONDS = 5
# After a refusal the client is given this long to read it before the connection closes.
LINGER_SECONDS = 2.0

Phase = Literal["idle", "headers", "body"]


@dataclass(frozen=True)
class Limits:
    """The web server's limits; see the settings of the same names."""

    max_body_bytes: int
    max_header_bytes: int
    header_timeout: float
    body_timeout: float
    max_connections: int

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            max_body_bytes=settings.max_body_bytes,
            max_header_bytes=settings.max_header_bytes,
            header_timeout=settings.header_timeout,
            body_timeout=settings.body_timeout,
            max_connections=settings.max_connections,
        )

    @classmethod
    def default(cls) -> Limits:
        return cls.of(Settings())


def plain_reply(status: int, message: str) -> bytes:
    """A whole HTTP/1.1 reply with a plain-text message, closing the connection."""
    body = (message + "\n").encode()
    head = (
        b"content-type: text/plain; charset=utf-8\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n"
        b"connection: close\r\n\r\n"
    )
    return STATUS_LINE[status] + head + body


class Refusals:
    """What the connection cap did, logged at most once a minute: a flood of connections
    must not flood the log too."""

    EVERY = 60.0  # seconds

    def __init__(self) -> None:
        self.closed = 0  # waiting connections closed to make room
        self.refused = 0  # new connections refused, every other one being busy
        self.said_at: float | None = None

    def count(self, now: float, most: int, *, closed: bool) -> None:
        if closed:
            self.closed += 1
        else:
            self.refused += 1
        if self.said_at is None or now - self.said_at >= self.EVERY:
            log.warning(
                "%d connections were open, the most allowed (PUBLISHER_MAX_CONNECTIONS): "
                "closed %d waiting ones (idle, or with a request half-sent) to make room, "
                "refused %d new ones as all were busy; not said again for a minute",
                most,
                self.closed,
                self.refused,
            )
            self.closed = self.refused = 0
            self.said_at = now


class LimitedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol, with a cap on open connections, a limit on the size of
    a request's line and headers (431), and a deadline for them to arrive (408), counted from
    the connection's start or the request's first byte: a client that trickles a byte at a
    time gains nothing. Made for given limits by `limited_protocol`.

    At the cap, a new connection takes the place of the one that has waited longest without
    a request being handled (idle, or still sending its headers), so that half-sent
    requests cannot crowd out real ones; only when every connection is busy with a request
    is the new one answered 503.

    Each connection has one timer, not two a request as uvicorn has (its keep-alive timer
    and our header deadline, each armed and cancelled per request): what is due is kept as
    times (`headers_since`, `idle_since`), and the timer, when it fires, acts on what is
    past due and is armed again for what is next. A request's scope is made only when it
    goes to the app, not for one answered at once (quick.py)."""

    limits: ClassVar[Limits]
    refusals: ClassVar[Refusals]
    quick: ClassVar[QuickFiles | None] = None  # answers before the app (quick.py)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.phase: Phase = "idle"
        self.header_bytes = 0  # of the request being read, counted as described in STEP
        # loop.time() of the connection's start or of the first byte of the request whose
        # headers are being read (None: not reading headers); of the last reply sent while
        # no data has come since (None: not idle)
        self.headers_since: float | None = None
        self.idle_since: float | None = None
        self.timer: asyncio.TimerHandle | None = None  # the one timer, see the class
        self.timer_at = 0.0  # loop.time() it fires at
        self.refused = False
        self.begun = False  # a request began in the piece of data being parsed
        self.waiting_since = 0.0  # time.monotonic() of connecting or of the last reply sent
        self.answered = False  # the request being read was answered by `quick`

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.waiting_since = time.monotonic()  # uvloop's clock moves in whole ms
        # The count includes this connection. Dealt with at once, so that a crowd of idle or
        # half-sent connections can neither use up the process's file descriptors nor keep
        # others out.
        if len(self.connections) > self.limits.max_connections:
            longest = self._longest_waiting()
            self.refusals.count(
                self.loop.time(), self.limits.max_connections, closed=longest is not None
            )
            if longest is not None:
                longest.connections.discard(longest)
                longest.transport.close()
            else:
                self.connections.discard(self)  # so that it does not count against the others
                transport.write(plain_reply(503, "The server is busy. Please try again shortly."))
                transport.close()
                return
        self.headers_since = self.loop.time()
        self._due(self.headers_since + self.limits.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return  # what a refused client still sends is read and dropped until we close
        self.idle_since = None
        # While headers are being read, feed the parser a little at a time and count: it
        # keeps a header it has not finished in memory, however long.
        while data and self.phase != "body" and not self.transport.is_closing():
            piece, data = data[:STEP], data[STEP:]
            before, self.begun = self.phase, False
            super().data_received(piece)
            # Only pieces wholly inside one request's headers are counted, so the count is
            # never more than the headers' real size (and at most STEP less).
            if before == "headers" and self.phase == "headers" and not self.begun:
                self.header_bytes += len(piece)
                if self.header_bytes > self.limits.max_header_bytes:
                    self._refuse(431, "The request's headers are too large.")
                    return
        if data and not self.transport.is_closing():
            super().data_received(data)

    def _unsupported_upgrade_warning(self) -> None:
        """Quiet: there are no WebSockets here, and the request is answered as plain HTTP.
        uvicorn would log two warnings for each such request (one advising to install a
        WebSocket library), so any client could fill the log."""

    # --- parser callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        # uvicorn's, but for the scope, made in on_headers_complete if the app answers
        self.url = b""
        self.expect_100_continue = False
        self.headers = []
        self.phase = "headers"
        self.header_bytes = 0
        self.begun = True
        if self.headers_since is None:
            self.headers_since = self.loop.time()
            self._due(self.headers_since + self.limits.header_timeout)

    def on_headers_complete(self) -> None:
        self.headers_since = None
        # A request has come, so the connection is not idle, even when an earlier one in
        # the same data was answered at once.
        self.idle_since = None
        self.phase = "body"
        if self.quick is not None and self.quick.answer_at_once(self):
            self.answered = True
            self.on_response_complete()
        else:
            # uvicorn's scope for the request, made as its on_message_begin makes it
            url, headers, expect = self.url, self.headers, self.expect_100_continue
            super().on_message_begin()
            self.url, self.headers, self.expect_100_continue = url, headers, expect
            self.scope["headers"] = headers
            super().on_headers_complete()

    def on_message_complete(self) -> None:
        if self.answered:
            self.answered = False  # uvicorn has no cycle for this request
        else:
            super().on_message_complete()
        self.phase = "idle"

    def on_response_complete(self) -> None:
        # uvicorn's, but for its keep-alive timer: the connection's own timer closes it
        self.server_state.total_requests += 1
        self.waiting_since = time.monotonic()  # uvloop's clock moves in whole ms
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        else:
            self.idle_since = self.loop.time()
            self._due(self.idle_since + self.timeout_keep_alive)

    # --- helpers ------------------------------------------------------------------------

    def _waiting(self) -> bool:
        """Whether no request of this connection is being handled: it is idle between
        requests, or its client has not finished sending a request's headers."""
        handled = self.cycle is not None and not self.cycle.response_complete
        return self.phase != "body" and not handled and not self.transport.is_closing()

    def _longest_waiting(self) -> LimitedHttpTools | None:
        waiting = [
            other
            for other in self.connections
            if other is not self and isinstance(other, LimitedHttpTools) and other._waiting()
        ]
        return min(waiting, key=lambda other: other.waiting_since, default=None)

    def _due(self, when: float) -> None:
        """Have the timer fire by `when` (loop.time()); it fires later, if it is armed for
        later, only then: a deadline moved on waits for the timer already armed."""
        if self.timer is not None:
            if self.timer_at <= when:
                return
            self.timer.cancel()
        self.timer_at = when
        self.timer = self.loop.call_at(when, self._on_timer)

    def _stop_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _on_timer(self) -> None:
        """Act on what is past due, and arm the timer again for what is next."""
        self.timer = None
        if self.transport.is_closing():
            return
        now = self.loop.time()
        if self.headers_since is not None:
            late = self.headers_since + self.limits.header_timeout
            if late <= now:
                self.headers_since = None
                if self.phase == "headers":
                    self._refuse(408, "The request took too long to arrive.")
                    return
                if self.cycle is None:
                    self.transport.close()  # connected and sent nothing
                    return
            else:
                self._due(late)
        if self.idle_since is not None:
            idle = self.idle_since + self.timeout_keep_alive
            if idle <= now:
                self.transport.close()  # no request since the last reply
                return
            self._due(idle)

    def _refuse(self, status: int, message: str) -> None:
        """Answer `status` and close, letting the client read the answer first: closing a
        socket with unread data in it resets the connection, and the answer can be lost."""
        self.refused = True
        self.headers_since = self.idle_since = None
        if self.cycle is not None and not self.cycle.response_complete:
            # A reply is on its way (this is a pipelined request): ours cannot go in its
            # middle, so the connection closes once that reply is sent.
            self.cycle.keep_alive = False
            self.flow.pause_reading()
            return
        self.transport.write(plain_reply(status, message))
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()


def limited_protocol(limits: Limits, quick: QuickFiles | None = None) -> type[LimitedHttpTools]:
    """`LimitedHttpTools` for these limits (and `quick`, to answer what it can before the app):
    uvicorn makes one per connection by itself."""

    class Limited(LimitedHttpTools):
        pass

    Limited.limits = limits
    Limited.refusals = Refusals()
    Limited.quick = quick
    return Limited


class _BodyTooLargeError(Exception):
    pass


class _BodyLateError(Exception):
    pass


class BodyLimits:
    """Refuses a request body over the limit (413: at once when its Content-Length says so,
    else as soon as the bytes read pass it) or that takes too long after the headers (408);
    a client that goes away mid-request is one line in the log, not a traceback."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, chunked = framing(scope)
        if declared is not None and declared > self.limits.max_body_bytes:
            await refuse(send, 413, self._too_large())
            return
        if not declared and not chunked:  # no body (most requests): nothing to watch
            try:
                await self.app(scope, receive, send)
            except ClientDisconnect:
                self._went_away(scope)
            return
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, self._limited(receive), watched_send)
        except _BodyTooLargeError:
            if not started:
                await refuse(send, 413, self._too_large())
        except _BodyLateError:
            if not started:
                await refuse(send, 408, "The request took too long to arrive.")
        except ClientDisconnect:
            self._went_away(scope)

    def _went_away(self, scope: Scope) -> None:
        client = scope.get("client")
        who = client[0] if client else "a client"
        log.info("%s went away before sending all of %s %s", who, scope["method"], scope["path"])

    def _too_large(self) -> str:
        most = self.limits.max_body_bytes
        return f"The request's body is too large: the most accepted is {most:,} bytes."

    def _limited(self, receive: Receive) -> Callable[[], Awaitable[Message]]:
        """`receive`, raising once the body passes the size limit or its time is up. The
        time counts from the end of the headers; once the body is all in, it stops."""
        deadline = anyio.current_time() + self.limits.body_timeout
        read = 0
        done = False

        async def limited() -> Message:
            nonlocal read, done
            if done:
                return await receive()
            with anyio.move_on_after(deadline - anyio.current_time()) as timer:
                message = await receive()
            if timer.cancelled_caught:
                raise _BodyLateError
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > self.limits.max_body_bytes:
                    raise _BodyTooLargeError
                done = not message.get("more_body", False)
            return message

        return limited


def framing(scope: Scope) -> tuple[int | None, bool]:
    """The request's declared Content-Length, and whether its body is chunked."""
    length, chunked = None, False
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit():  # httptools refuses other values
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = True
    return length, chunked


async def refuse(send: Send, status: int, message: str) -> None:
    body = (message + "\n").encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),  # the rest of the body is not read
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def server_config(
    app: ASGIApp, limits: Limits, quick: QuickFiles | None = None, **options: Any
) -> uvicorn.Config:
    """uvicorn's settings for the app under these limits; `quick` answers what it can
    before the app (web.create_app's app.state.web.quick); `options` are passed on."""
    return uvicorn.Config(
        app,
        http=limited_protocol(limits, quick),
        ws="none",  # no WebSockets here: nothing to upgrade to
        # uvicorn answers 503 to requests past this many connections or running requests;
        # our protocol refuses connections past max_connections before that, so this bounds
        # the requests still running for clients that have gone.
        limit_concurrency=limits.max_connections + 1,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        h11_max_incomplete_event_size=limits.max_header_bytes,  # should h11 ever be used
        **options,
    )

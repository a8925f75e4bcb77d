"""Real receivers on loopback for delivery tests: an aiosmtpd SMTP server and an HTTP server.

Test modules import the fixtures they use by their `*_fixture` names (pytest registers them
under the short name given to `pytest.fixture`), so a module says where its fixtures live.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"
# Names the test certificate is good for; tests point them at 127.0.0.1 themselves.
CERT_NAMES = ("localhost", "webhooks.example.test")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """Trusts this certificate only, checking names as a real client does."""
        return ssl.create_default_context(cafile=str(self.cert))


@pytest.fixture(name="tls_files", scope="session")
def tls_files_fixture(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A self-signed certificate for localhost, 127.0.0.1 and webhooks.example.test."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not installed, so no test certificate can be made")
    folder = tmp_path_factory.mktemp("tls")
    files = TlsFiles(folder / "cert.pem", folder / "key.pem")
    names = ",".join([*(f"DNS:{name}" for name in CERT_NAMES), f"IP:{HOST}"])
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-nodes", "-days", "2", "-subj", "/CN=localhost"),
            *("-addext", f"subjectAltName={names}"),
            *("-keyout", str(files.key), "-out", str(files.cert)),
        ],
        check=True,
        capture_output=True,
    )
    return files


# --- SMTP -------------------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes


class RecordingHandler:
    """Keeps every message it accepts, parsed as a mail program would; can refuse on cue."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.peers: set[object] = set()  # client address and port: one per connection
        self.refuse_recipients: dict[str, str] = {}  # address -> reply, e.g. "550 no such user"
        self.data_reply: str | None = None  # a reply to DATA instead of accepting

    # aiosmtpd calls its hooks by these names.
    async def handle_EHLO(  # noqa: N802
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        self.peers.add(session.peer)  # a second EHLO after STARTTLS comes from the same peer
        session.host_name = hostname
        return responses

    async def handle_RCPT(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse_recipients:
            return self.refuse_recipients[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.data_reply is not None:
            return self.data_reply
        raw = envelope.original_content or b""
        parsed = message_from_bytes(raw, policy=default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(
            Received(str(envelope.mail_from), list(envelope.rcpt_tos), parsed, raw)
        )
        return "250 Message accepted for delivery"


class SmtpServer:
    """An aiosmtpd server on 127.0.0.1 in its own thread; `stop` and `start` again on the
    same port to play a mail server going down and coming back."""

    def __init__(
        self,
        port: int | None = None,
        *,
        login: tuple[str, str] | None = None,
        tls: TlsFiles | None = None,
        implicit_tls: bool = False,
    ) -> None:
        self.port = port or free_port()
        self.handler = RecordingHandler()
        self.tls = tls
        options: dict[str, Any] = {}
        if login is not None:
            options.update(auth_required=True, authenticator=_authenticator(*login))
            # Plain-text AUTH is allowed only when the test did not ask for TLS.
            options["auth_require_tls"] = tls is not None
        if tls is not None and implicit_tls:
            options["ssl_context"] = tls.server_context()
        elif tls is not None:
            options.update(tls_context=tls.server_context(), require_starttls=True)
        self.scheme = "smtps" if implicit_tls else "smtp+starttls" if tls else "smtp"
        self.options = options
        self.controller: Controller | None = None

    def url(self, user: str = "", password: str = "") -> str:
        login = f"{user}:{password}@" if user else ""
        return f"{self.scheme}://{login}{HOST}:{self.port}"

    @property
    def messages(self) -> list[EmailMessage]:
        return [received.message for received in self.handler.received]

    @property
    def connections(self) -> int:
        return len(self.handler.peers)

    def start(self) -> None:
        # A Controller cannot start twice (its event loop closes on stop): one per start.
        self.controller = Controller(self.handler, hostname=HOST, port=self.port, **self.options)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def _authenticator(user: str, password: str) -> Callable[..., AuthResult]:
    def check(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        good = isinstance(data, LoginPassword) and data == (user.encode(), password.encode())
        return AuthResult(success=good, handled=False)

    return check


@pytest.fixture(name="start_smtp_server")
def start_smtp_server_fixture() -> Iterator[Callable[..., SmtpServer]]:
    """Starts SMTP servers with SmtpServer's options; stops every one after the test."""
    started: list[SmtpServer] = []

    def start(*args: Any, **options: Any) -> SmtpServer:
        server = SmtpServer(*args, **options)
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(name="smtp_server")
def smtp_server_fixture(start_smtp_server: Callable[..., SmtpServer]) -> SmtpServer:
    """A plain SMTP server on loopback that accepts everything unless told otherwise."""
    return start_smtp_server()


# --- HTTP -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    hang: float = 0.0  # seconds to wait before answering, to make a client time out


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes


class HttpReceiver:
    """Records every request and answers with the scripted replies in turn, then 200s."""

    def __init__(self, tls: TlsFiles | None = None) -> None:
        self.requests: list[Request] = []
        self.replies: deque[Reply] = deque()
        self.released = threading.Event()  # ends any hang at once when the test is over
        self.server = _QuietServer((HOST, 0), _handler_class(self))
        if tls is not None:
            self.server.socket = tls.server_context().wrap_socket(
                self.server.socket, server_side=True
            )
        self.port: int = self.server.server_address[1]
        self.scheme = "https" if tls else "http"
        # A short poll interval: `shutdown` waits for the loop to look, and tests wait on it.
        serve = partial(self.server.serve_forever, poll_interval=0.01)
        self.thread = threading.Thread(target=serve, daemon=True)

    def url(self, path: str = "/hook", host: str = HOST) -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def next_reply(self) -> Reply:
        return self.replies.popleft() if self.replies else Reply()

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (the timeout tests) makes the reply fail; that is expected


def _handler_class(receiver: HttpReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            receiver.requests.append(Request(self.command, self.path, headers, body))
            reply = receiver.next_reply()
            if reply.hang:
                receiver.released.wait(reply.hang)
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

    return Handler


@pytest.fixture(name="http_receiver")
def http_receiver_fixture() -> Iterator[HttpReceiver]:
    """An HTTP server on 127.0.0.1 and a free port, in a thread, for this test only."""
    receiver = HttpReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture(name="https_receiver")
def https_receiver_fixture(tls_files: TlsFiles) -> Iterator[HttpReceiver]:
    """The same receiver behind TLS, with the test certificate."""
    receiver = HttpReceiver(tls_files)
    receiver.start()
    yield receiver
    receiver.stop()


# --- Peers that answer a byte at a time -------------------------------------------------


class TricklingPeer:
    """A TCP server on 127.0.0.1 whose `serve(connection, peer)` talks to each client in its
    own thread. `trickle` sends bytes one at a time, `gap` seconds apart, then goes on sending
    `filler` until the test is over: an answer that never ends, though no single read waits
    long. `connections` counts clients; `closed` is set when one hangs up on a trickle."""

    def __init__(self, serve: Callable[[socket.socket, TricklingPeer], None], gap: float) -> None:
        self.serve = serve
        self.gap = gap
        self.released = threading.Event()
        self.closed = threading.Event()
        self.connections = 0
        self.listener = socket.create_server((HOST, 0))
        self.port: int = self.listener.getsockname()[1]
        self.threads: list[threading.Thread] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.released.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return  # the listener was closed: the test is over
            self.connections += 1
            thread = threading.Thread(target=self._talk, args=(connection,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _talk(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(10)  # a client that goes quiet cannot keep this thread
            with contextlib.suppress(OSError):
                self.serve(connection, self)

    def trickle(self, connection: socket.socket, data: bytes, filler: bytes = b"a") -> None:
        """Send `data`, then `filler` for ever, a byte every `gap` seconds, until released
        or the client hangs up."""
        position = 0
        while not self.released.wait(self.gap):
            byte = data[position : position + 1] or filler
            position += 1
            try:
                connection.sendall(byte)
            except OSError:
                self.closed.set()
                return

    def stop(self) -> None:
        self.released.set()
        # Closing a socket does not wake a thread blocked in accept(); a connection does.
        with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), 1):
            pass
        self.thread.join(10)
        self.listener.close()
        for thread in self.threads:
            thread.join(10)


def read_until(connection: socket.socket, end: bytes) -> bytes:
    data = b""
    while not data.endswith(end):
        chunk = connection.recv(1)
        if not chunk:
            break
        data += chunk
    return data


def trickling_http(connection: socket.socket, peer: TricklingPeer) -> None:
    """Reads the request's headers, then answers a status line and a header that never end."""
    read_until(connection, b"\r\n\r\n")
    peer.trickle(connection, b"HTTP/1.1 200 OK\r\nX-Slowly: ")


@pytest.fixture(name="start_trickling_peer")
def start_trickling_peer_fixture() -> Iterator[Callable[..., TricklingPeer]]:
    """Starts TricklingPeers; stops every one after the test."""
    started: list[TricklingPeer] = []

    def start(serve: Callable[[socket.socket, TricklingPeer], None], gap: float) -> TricklingPeer:
        peer = TricklingPeer(serve, gap)
        started.append(peer)
        return peer

    yield start
    for peer in started:
        peer.stop()


def trickling_smtp(at: str) -> Callable[[socket.socket, TricklingPeer], None]:
    """A mail server that answers at once until the command starting with `at` (or, for
    "greeting", from the start), then trickles that answer for ever."""

    def serve(connection: socket.socket, peer: TricklingPeer) -> None:
        if at == "greeting":
            peer.trickle(connection, b"220 ")
            return
        connection.sendall(b"220 127.0.0.1 ESMTP\r\n")
        while line := read_until(connection, b"\r\n").upper():
            if line.startswith(at.encode("ascii")):
                peer.trickle(connection, b"250 ")
                return
            if line.startswith(b"DATA"):
                connection.sendall(b"354 go ahead\r\n")
                read_until(connection, b"\r\n.\r\n")
                if at == ".":  # the answer to the message itself
                    peer.trickle(connection, b"250 ")
                    return
                connection.sendall(b"250 queued\r\n")
            elif line.startswith(b"QUIT"):
                connection.sendall(b"221 bye\r\n")
                return
            else:
                connection.sendall(b"250 ok\r\n")

    return serve

"""GETs of the site's files and of filtered feeds answered as soon as the request's headers
are read, without the ASGI app: most requests are feed readers polling something they
already have (a 304 of a few headers), or asking again for a feed already made.

`QuickFiles` is asked by the HTTP protocol (limits.LimitedHttpTools) for every GET or HEAD
it could answer at once; it answers only when the file's representation is already kept
and current (or the filtered feed at that very address was made from the served build's
plans, and is kept), and, for a compressed reply, its gzipped body is made already.
Anything else (a file not read yet, a changed file, a new build, an escaped path, a body)
goes on to the app, which gives the same reply the slower way (web.FastFiles,
web.Web.feeds); `page_headers` are what the app adds to every reply but a 304.
`answer_at_once` relies on the internals of uvicorn's httptools protocol, as limits.py
does; tests/service/test_quick.py fails if an upgrade of uvicorn changes them.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

from starlette.types import Scope
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from publisher.service.conditional import Asked, Headers, Representation, answer
from publisher.service.files import Files, Found, Locator, cache_headers
from publisher.service.live import Live

Reply = tuple[int, Headers, bytes]  # status, headers, body

MOST_FEEDS = 100_000  # filtered feed addresses remembered; past this, start again


class QuickFiles:
    """The replies made before the app, for the site's files and filtered feeds; see the
    module."""

    def __init__(
        self,
        locator: Locator,
        files: Files,
        own_paths: frozenset[str],
        live: Live | None,
        page_headers: Headers,
    ) -> None:
        self.locator = locator
        self.files = files
        self.own_paths = own_paths  # the app's own pages, never a file
        self.live = live
        self.page_headers = page_headers
        # a filtered feed's address as sent -> its key in `live` and its cache headers
        self.feeds: dict[bytes, tuple[Hashable, Headers]] = {}

    def answer_at_once(self, protocol: HttpToolsProtocol) -> bool:
        """Send the reply to the request whose headers `protocol` (uvicorn's, as
        limits.LimitedHttpTools has it) has just read, if this can; whether it did."""
        if protocol.pipeline or protocol.root_path or protocol.flow.write_paused:
            return False  # (a client not reading its replies waits for them in the app)
        if protocol.cycle is not None and not protocol.cycle.response_complete:
            return False  # a reply is on its way: this one waits its turn, in the app
        parser = protocol.parser
        method = parser.get_method()
        if method not in (b"GET", b"HEAD") or parser.get_http_version() != "1.1":
            return False
        if not parser.should_keep_alive() or parser.should_upgrade():
            return False
        reply = self(method == b"HEAD", protocol.url, protocol.headers)
        if reply is None:
            return False
        status, headers, body = reply
        lines = [STATUS_LINE[status]]
        for name, value in (*protocol.server_state.default_headers, *headers):
            lines += [name, b": ", value, b"\r\n"]
        lines.append(b"\r\n")
        protocol.transport.write(b"".join(lines))
        if body:
            protocol.transport.write(body)
        return True

    def remember(self, scope: Scope, key: Hashable, extra: Mapping[str, str]) -> None:
        """The address of a request the app answered with what `live` made for `key`."""
        target: bytes = scope["raw_path"]
        if scope["query_string"]:
            target += b"?" + scope["query_string"]
        if target not in self.feeds:
            if len(self.feeds) >= MOST_FEEDS:
                self.feeds.clear()
            raw = [(name.encode(), value.encode()) for name, value in extra.items()]
            self.feeds[target] = (key, raw)

    def __call__(
        self, head: bool, target: bytes, headers: Sequence[tuple[bytes, bytes]]
    ) -> Reply | None:
        """The reply to a request (`head`: a HEAD; `target` as sent; `headers` with names
        in lower case), or None when the app must answer."""
        if not target.startswith(b"/"):
            return None
        asked = Asked.of_headers(head, headers)
        if any(name in (b"content-length", b"transfer-encoding") for name, _ in headers):
            return None  # a body: the app reads (and limits) it
        if b"?" in target:
            return self._feed(asked, target)
        if b"%" in target:
            return None  # the app decodes the path its own way
        try:
            path = target.decode("ascii")
        except UnicodeDecodeError:
            return None
        if path in self.own_paths:
            return None
        found = self.locator.find(path)
        if not isinstance(found, Found):
            return None
        rep = self.files.current(found)
        return None if rep is None else self._answer(asked, rep, cache_headers(path, found.suffix))

    def _feed(self, asked: Asked, target: bytes) -> Reply | None:
        known = self.feeds.get(target)
        if known is None or self.live is None:
            return None
        key, extra = known
        rep = self.live.current(key)
        return None if rep is None else self._answer(asked, rep, extra)

    def _answer(self, asked: Asked, rep: Representation, extra: Headers) -> Reply | None:
        if asked.wants_gzip(rep) and rep.gzip_body is None:
            return None  # the app compresses it, in a worker thread
        status, headers, body = answer(asked, rep, extra)
        if status != 304:
            headers += self.page_headers
        return status, headers, body

"""GETs of the site's files and of filtered feeds answered as soon as the request's headers
are read, without the ASGI app: most requests are feed readers polling something they
already have (a 304 of a few headers), or asking again for a feed already made.

`QuickFiles` is asked by the HTTP protocol (limits.LimitedHttpTools) for every GET or HEAD
it could answer at once; it answers only when the file's representation is already kept
and current (or the filtered feed at that very address was made from the served build's
plans, and is kept), and, for a compressed reply, its gzipped body is made already.
Anything else (a file not read yet, a changed file, a new build, an escaped path, a body)
goes on to the app, which gives the same reply the slower way (web.FastFiles,
web.Web.feeds); `page_headers` are what the app adds to every reply but a 304. A reply,
once made, is kept as bytes for what the request asked (`Ready`), and sent again while the
file or feed is the same version: a reader polling asks the same each time.
`answer_at_once` relies on the internals of uvicorn's httptools protocol, as limits.py
does; tests/service/test_quick.py fails if an upgrade of uvicorn changes them.
"""

from __future__ import annotations

import weakref
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Literal

from starlette.types import Scope
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from publisher.service.conditional import Asked, Headers, Representation, answer
from publisher.service.files import Files, Found, Locator, cache_headers
from publisher.service.live import Live

# What a reply depends on in a request: HEAD or not, the target as sent, If-None-Match,
# If-Modified-Since and Accept-Encoding.
Ask = tuple[bool, bytes, bytes | None, bytes | None, bytes]
Body = Literal["none", "plain", "gzip"]

MOST_FEEDS = 100_000  # filtered feed addresses remembered; past this, start again
MOST_READY = 10_000  # replies kept ready to send again; past this, start again


@dataclass(frozen=True)
class Ready:
    """A reply made once and sent again, as bytes, while what it was made from is current:
    the same representation of the same file (or filtered feed). The representation is
    not kept alive by this: once `files` or `live` drop it, the reply is made again."""

    file: str | None  # the URL path of a site file, or None for a filtered feed
    feed: Hashable  # a filtered feed's key in `live`
    rep: weakref.ref[Representation]
    status: bytes  # the status line
    head: bytes  # the headers after uvicorn's own (date), and the blank line
    body: Body  # which of the representation's bodies follows, if any


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
        # Replies as bytes for what requests asked: a reader polling asks the same each time
        self.ready: dict[Ask, Ready] = {}
        # uvicorn's own headers (the date, changed once a second) as bytes, and the list
        # they were made from
        self._default: object = None
        self._default_bytes = b""

    def answer_at_once(self, protocol: HttpToolsProtocol) -> bool:
        """Send the reply to the request whose headers `protocol` (uvicorn's, as
        limits.LimitedHttpTools has it) has just read, if this can; whether it did."""
        if protocol.pipeline or protocol.root_path or protocol.flow.write_paused:
            return False  # (a client not reading its replies waits for them in the app)
        if protocol.cycle is not None and not protocol.cycle.response_complete:
            return False  # a reply is on its way: this one waits its turn, in the app
        parser = protocol.parser
        method = parser.get_method()
        if method not in {b"GET", b"HEAD"}:
            return False
        if parser.get_http_version() != "1.1":
            return False
        if not parser.should_keep_alive() or parser.should_upgrade():
            return False
        match = since = None
        encodings = b""
        for name, value in protocol.headers:  # (names in lower case)
            if name == b"if-none-match":
                match = value
            elif name == b"if-modified-since":
                since = value
            elif name == b"accept-encoding":
                encodings = value
            elif name in {b"content-length", b"transfer-encoding"}:
                return False  # a body: the app reads (and limits) it
        ask = (method == b"HEAD", protocol.url, match, since, encodings)
        ready = self.ready.get(ask)
        rep = None if ready is None else self._current(ready)
        if ready is None or rep is None or rep is not ready.rep():
            made = self._make_ready(ask)
            if made is None:
                return False
            ready, rep = made
        default = protocol.server_state.default_headers
        if default is not self._default:
            self._default = default
            self._default_bytes = b"".join(b"%s: %s\r\n" % (name, value) for name, value in default)
        protocol.transport.write(ready.status + self._default_bytes + ready.head)
        if ready.body == "plain":
            protocol.transport.write(rep.body())  # held plain (see _make_ready)
        elif ready.body == "gzip":
            protocol.transport.write(rep.gzipped())  # made already (see _make_ready)
        return True

    def _current(self, ready: Ready) -> Representation | None:
        """What the reply would be made from now (None: nothing is kept)."""
        if ready.file is None:
            return None if self.live is None else self.live.current(ready.feed)
        found = self.locator.find(ready.file)
        return self.files.current(found) if isinstance(found, Found) else None

    def _make_ready(self, ask: Ask) -> tuple[Ready, Representation] | None:
        head, target, match, since, encodings = ask
        asked = Asked(head, match, since, encodings)
        found = self._find(target)
        if found is None:
            return None
        file, feed, rep, extra = found
        if asked.wants_gzip(rep) and rep.gzip_body is None:
            return None  # the app compresses it, in a worker thread
        if asked.wants_unpacked(rep):
            return None  # the app makes its plain body again, in a worker thread
        status, headers, body = answer(asked, rep, extra)
        if status != 304:
            headers += self.page_headers
        lines = [b"%s: %s\r\n" % (name, value) for name, value in headers]
        lines.append(b"\r\n")
        sent: Body = "none"
        if body:
            sent = "gzip" if body is rep.gzip_body else "plain"
        ready = Ready(file, feed, weakref.ref(rep), STATUS_LINE[status], b"".join(lines), sent)
        if len(self.ready) >= MOST_READY:
            self.ready.clear()
        self.ready[ask] = ready
        return ready, rep

    def _find(self, target: bytes) -> tuple[str | None, Hashable, Representation, Headers] | None:
        """The URL path (or filtered feed's key), representation and cache headers of what
        `target` asks for, if its representation is kept and current."""
        if not target.startswith(b"/"):
            return None
        if b"?" in target:
            known = self.feeds.get(target)
            if known is None or self.live is None:
                return None
            key, extra = known
            rep = self.live.current(key)
            return None if rep is None else (None, key, rep, extra)
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
        return None if rep is None else (path, None, rep, cache_headers(path, found.suffix))

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

"""Conditional GETs of the site's files answered as soon as the request's headers are read,
without the ASGI app: most requests are feed readers polling a file they already have, and
the reply is a 304 of a few headers.

`QuickFiles` is asked by the HTTP protocol (limits.LimitedHttpTools) for every GET or HEAD
it could answer at once; it answers only when the file's representation is already kept
and current and the client's copy matches it. Anything else (no validator, a file not read
yet, a changed file, a query string, an escaped path, a body) goes on to the app, which
gives the same reply the slower way (web.FastFiles).
"""

from __future__ import annotations

from collections.abc import Sequence

from publisher.service.conditional import Asked, Headers, answer
from publisher.service.files import Files, Found, Locator, cache_headers


class QuickFiles:
    """The 304s the site's files can be answered with before routing; see the module."""

    def __init__(self, locator: Locator, files: Files, own_paths: frozenset[str]) -> None:
        self.locator = locator
        self.files = files
        self.own_paths = own_paths  # the app's own pages, never a file

    def __call__(
        self, head: bool, target: bytes, headers: Sequence[tuple[bytes, bytes]]
    ) -> Headers | None:
        """The headers of the 304 reply for a request (`head`: a HEAD; `target` as sent;
        `headers` with names in lower case), or None when the app must answer."""
        # A query or an escape: the app decodes the path and ignores the query its own way.
        if not target.startswith(b"/") or b"?" in target or b"%" in target:
            return None
        asked = Asked.of_headers(head, headers)
        if asked.if_none_match is None and asked.if_modified_since is None:
            return None  # no copy to compare with: a 200, made by the app
        if any(name in (b"content-length", b"transfer-encoding") for name, _ in headers):
            return None  # a body: the app reads (and limits) it
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
        if rep is None or not asked.has_current(rep):
            return None
        status, reply_headers, _ = answer(asked, rep, cache_headers(path, found.suffix))
        return reply_headers if status == 304 else None

"""Replies that carry validators: ETag and Last-Modified, 304 Not Modified, gzip and HEAD.

Feed readers and calendar programs poll, so most requests end in a 304: the header bytes of
each representation are made once, and a 304 carries only what RFC 9110 (15.4.5) asks for.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from functools import cached_property

import anyio
import anyio.to_thread
from starlette.responses import Response
from starlette.types import Scope

MIN_GZIP = 512  # bytes; smaller bodies gain nothing from compression
GZIP_LEVEL = 6  # zlib's default: most of level 9's saving at a fraction of the time
Headers = list[tuple[bytes, bytes]]


def etag_of(content: bytes) -> str:
    """A strong ETag from the content itself, so an identical file from a new build (builds
    are deterministic) keeps its ETag and feed readers keep getting 304s."""
    return '"' + hashlib.blake2b(content, digest_size=12).hexdigest() + '"'


@dataclass
class Representation:
    """A body with what conditional requests and compression need. One kept for many
    requests may hold its body gzipped only (`pack`)."""

    plain: bytes | None  # the body; None once packed (made again from `gzip_body`)
    content_type: str
    etag: str
    last_modified: float | None = None  # seconds since the epoch
    compressible: bool = True
    gzip_body: bytes | None = field(default=None, repr=False)  # made when first asked for
    # set while the gzipped body is being made, for other requests to wait on
    gzipping: anyio.Event | None = field(default=None, repr=False, compare=False)
    length: int = field(default=0, init=False)  # of the body

    def __post_init__(self) -> None:
        self.length = len(self.plain or b"")

    @classmethod
    def of(
        cls,
        body: bytes,
        content_type: str,
        last_modified: float | None = None,
        compressible: bool = True,
    ) -> Representation:
        return cls(body, content_type, etag_of(body), last_modified, compressible)

    def body(self) -> bytes:
        """The body: as held, or made again from the gzipped one when packed (a large one
        takes a while: off the event loop, see `plain_body`)."""
        if self.plain is not None:
            return self.plain
        assert self.gzip_body is not None
        return gzip.decompress(self.gzip_body)

    def pack(self) -> Representation:
        """Hold the body gzipped only, when it is worth gzip; return the representation.
        Feed readers take gzip, so most replies are the gzipped body anyway; a client that
        does not gets the body made again. Filtered feeds kept this way take a tenth to a
        twentieth of the memory: 200 of them shaped like England, 428 MB plain, are 27 MB
        gzipped, where the plain bodies outgrew the app's budget and every request for
        one made its feed again."""
        if self.worth_gzip():
            self.gzipped()
            self.plain = None
        return self

    @property
    def gzip_etag(self) -> str:
        """The compressed body is another representation, so it has its own strong ETag."""
        return self.etag[:-1] + '-gz"'

    def worth_gzip(self) -> bool:
        return self.compressible and self.length >= MIN_GZIP

    def gzipped(self) -> bytes:
        """The body gzipped, made once (mtime 0, so the same body gives the same bytes)."""
        if self.gzip_body is None:
            assert self.plain is not None  # packed only once gzipped
            self.gzip_body = gzip.compress(self.plain, GZIP_LEVEL, mtime=0)
        return self.gzip_body

    @property
    def size(self) -> int:
        return len(self.plain or b"") + len(self.gzip_body or b"")

    @cached_property
    def _tags(self) -> frozenset[bytes]:
        return frozenset({self.etag.encode(), self.gzip_etag.encode(), b"*"})

    @cached_property
    def dated(self) -> Headers:
        """Last-Modified, formatted once."""
        if self.last_modified is None:
            return []
        return [(b"last-modified", formatdate(self.last_modified, usegmt=True).encode())]

    def matches(self, if_none_match: bytes) -> bool:
        """Whether any tag listed matches, weakly (RFC 9110, 13.1.2): either encoding's."""
        return any(
            tag.strip().removeprefix(b"W/") in self._tags for tag in if_none_match.split(b",")
        )


@dataclass(frozen=True)
class Asked:
    """What a request says about the copy the client has and what it can take."""

    head: bool
    if_none_match: bytes | None = None
    if_modified_since: bytes | None = None
    accept_encoding: bytes = b""

    @classmethod
    def of(cls, scope: Scope) -> Asked:
        return cls.of_headers(scope["method"] == "HEAD", scope["headers"])

    @classmethod
    def of_headers(cls, head: bool, headers: Iterable[tuple[bytes, bytes]]) -> Asked:
        """From the request's headers, their names in lower case (as ASGI servers give them)."""
        match = since = None
        encodings = b""
        for name, value in headers:
            if name == b"if-none-match":
                match = value
            elif name == b"if-modified-since":
                since = value
            elif name == b"accept-encoding":
                encodings = value
        return cls(head, match, since, encodings)

    def has_current(self, rep: Representation) -> bool:
        """Whether the client's copy is current. If-None-Match wins over If-Modified-Since
        (RFC 9110, 13.2.2)."""
        if self.if_none_match is not None:
            return rep.matches(self.if_none_match)
        if self.if_modified_since is None or rep.last_modified is None:
            return False
        try:
            when = parsedate_to_datetime(self.if_modified_since.decode("latin-1")).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return False  # a date we cannot read: send the whole thing
        return int(rep.last_modified) <= when

    def takes_gzip(self) -> bool:
        """Whether the client takes gzip (and has not refused it with q=0)."""
        for part in self.accept_encoding.lower().split(b","):
            name, _, params = part.partition(b";")
            if name.strip() in (b"gzip", b"*"):
                q = params.strip().removeprefix(b"q=").strip()
                return not q or q.strip(b"0.") != b""
        return False

    def wants_gzip(self, rep: Representation) -> bool:
        """Whether the reply will be the gzipped body (made beforehand, off the event loop)."""
        return rep.worth_gzip() and self.takes_gzip() and not self.has_current(rep)

    def wants_unpacked(self, rep: Representation) -> bool:
        """Whether the reply will be the plain body of one held gzipped only (made again
        beforehand, off the event loop: `plain_body`)."""
        return (
            rep.plain is None
            and not self.head
            and not self.has_current(rep)
            and not (rep.worth_gzip() and self.takes_gzip())
        )


async def gzipped(rep: Representation) -> bytes:
    """The compressed body, made in a worker thread the first time (a large feed takes a
    while) and kept with the representation; requests meanwhile wait for it, rather than
    each compressing it again."""
    while rep.gzip_body is None and rep.gzipping is not None:
        await rep.gzipping.wait()
    if rep.gzip_body is not None:
        return rep.gzip_body
    rep.gzipping = made = anyio.Event()
    try:
        return await anyio.to_thread.run_sync(rep.gzipped)
    finally:
        rep.gzipping = None
        made.set()


async def plain_body(rep: Representation) -> bytes:
    """The body of a representation held gzipped only, made again in a worker thread."""
    return await anyio.to_thread.run_sync(rep.body)


def answer(
    asked: Asked, rep: Representation, extra: Headers, plain: bytes | None = None
) -> tuple[int, Headers, bytes]:
    """Status, headers and body of the reply to a GET or HEAD: 304 when the client's copy
    is current, else the body, gzipped when the client takes it. `extra`: cache and CORS
    headers. Call `gzipped` first when `asked.wants_gzip(rep)`, and give the body as
    `plain` (from `plain_body`) when `asked.wants_unpacked(rep)`."""
    use_gzip = rep.worth_gzip() and asked.takes_gzip()
    headers: Headers = [(b"etag", (rep.gzip_etag if use_gzip else rep.etag).encode())]
    if rep.compressible:
        headers.append((b"vary", b"Accept-Encoding"))
    headers += extra
    if asked.has_current(rep):
        return 304, headers, b""
    if use_gzip:
        body = rep.gzipped()
        length = len(body)
        headers.append((b"content-encoding", b"gzip"))
    else:
        body = b"" if asked.head else plain if plain is not None else rep.body()
        length = rep.length
    headers += rep.dated
    headers.append((b"content-type", rep.content_type.encode()))
    headers.append((b"content-length", str(length).encode()))
    return 200, headers, b"" if asked.head else body


class Reply(Response):
    """A Starlette response made by `answer`."""

    def __init__(self, status: int, headers: Headers, body: bytes) -> None:
        self.status_code = status
        self.raw_headers = headers
        self.body = body
        self.background = None


async def reply(scope: Scope, rep: Representation, extra: dict[str, str]) -> Reply:
    """`answer` as a Starlette response, for the app's own routes."""
    asked = Asked.of(scope)
    if asked.wants_gzip(rep):
        await gzipped(rep)
    plain = await plain_body(rep) if asked.wants_unpacked(rep) else None
    raw = [(name.encode(), value.encode()) for name, value in extra.items()]
    return Reply(*answer(asked, rep, raw, plain))

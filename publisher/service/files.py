"""The built site's files over HTTP: safe paths, content types, caching headers, and each
file's validators and bodies kept in memory while the file is unchanged.

The build swaps in a whole new site folder, so every request looks the file up again (one
open and fstat); what is kept is keyed by the file's device, inode, size and mtime, and is
dropped as soon as a new build replaces the file.
"""

from __future__ import annotations

import os
import stat
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import anyio.to_thread

from publisher.service.conditional import Headers, Representation

CONTENT_TYPES = {
    ".rss": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".ics": "text/calendar; charset=utf-8",
    ".json": "application/json",
    ".csv": "text/csv; charset=utf-8; header=present",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".xml": "application/xml",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
OTHER_TYPE = "application/octet-stream"
# Feeds, calendars and data are for other websites to re-use too (CORS); pages are not.
SHARED = frozenset({".rss", ".atom", ".ics", ".json"})
COMPRESSIBLE = frozenset({".rss", ".atom", ".ics", ".json", ".html", ".css", ".md", ".txt", ".xml"})
PAGE_MAX_AGE = 300  # feed readers poll; five minutes keeps news fresh and caches useful
STATIC_MAX_AGE = 86400  # static/ changes only with a new release of the publisher
MB = 1024 * 1024


@dataclass(frozen=True)
class Found:
    path: str  # the real path of a regular file inside the site
    suffix: str


@dataclass(frozen=True)
class Slash:
    """A folder named without its trailing slash: redirect, so relative links work."""

    location: str


def locate(root: Path, url_path: str) -> Found | Slash | None:
    """The file a URL path names inside `root`; None when it names none, or would leave the
    site (`..`, hidden names, NUL bytes, backslashes, symlinks pointing outside)."""
    if "\x00" in url_path or "\\" in url_path or not url_path.startswith("/"):
        return None
    parts = url_path[1:].split("/")
    folder_url = parts[-1] == ""
    if folder_url:
        parts = parts[:-1]
    if any(not part or part.startswith(".") for part in parts):
        return None  # '..', '.', hidden files, empty segments ('//')
    top = os.path.realpath(root)
    wanted = os.path.join(top, *parts, "index.html") if folder_url else os.path.join(top, *parts)
    real = os.path.realpath(wanted)
    if not real.startswith(top + os.sep):
        return None
    try:
        mode = os.stat(real).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISDIR(mode):
        index = os.path.join(real, "index.html")
        return Slash(url_path + "/") if os.path.isfile(index) else None
    if not stat.S_ISREG(mode):
        return None
    return Found(real, os.path.splitext(real)[1].lower())


CORS = {
    "access-control-allow-origin": "*",
    # ETag is not one of the response headers a browser lets scripts read by default.
    "access-control-expose-headers": "ETag",
}


@lru_cache(maxsize=4)
def _cache_headers(static: bool, shared: bool) -> Headers:
    age = STATIC_MAX_AGE if static else PAGE_MAX_AGE
    headers = {"cache-control": f"public, max-age={age}", **(CORS if shared else {})}
    return [(name.encode(), value.encode()) for name, value in headers.items()]


def cache_headers(url_path: str, suffix: str) -> Headers:
    """Cache-Control, and CORS for what other websites may re-use."""
    return _cache_headers(url_path.startswith("/static/"), suffix in SHARED)


class Locator:
    """`locate`, remembered for each URL path until a new build replaces the site folder
    (the build swaps in a new folder, so the folder's inode changes)."""

    MOST = 100_000  # paths remembered; past this, start again

    def __init__(self, root: Path) -> None:
        self.root = root
        self._folder: tuple[int, int] | None = None
        self._found: dict[str, Found] = {}

    def find(self, url_path: str) -> Found | Slash | None:
        try:
            info = os.stat(self.root)
        except OSError:
            return None
        folder = (info.st_dev, info.st_ino)
        if folder != self._folder or len(self._found) > self.MOST:
            self._found.clear()
            self._folder = folder
        known = self._found.get(url_path)
        if known is not None:
            return known
        found = locate(self.root, url_path)
        if isinstance(found, Found):
            self._found[url_path] = found
        return found


class Files:
    """The site's files as representations, read once per version of each file and kept
    (about `budget` bytes of bodies in all, least recently used dropped first; gzipped
    bodies, made when first asked for, come on top)."""

    def __init__(self, budget: int = 512 * MB) -> None:
        self.budget = budget
        self._kept: OrderedDict[str, tuple[tuple[int, ...], Representation]] = OrderedDict()
        self._held = 0
        # the ETag and Last-Modified each path had last, so that an identical file from a
        # new build keeps its Last-Modified too
        self._last: dict[str, tuple[str, float]] = {}

    async def get(self, found: Found) -> Representation:
        """The file as a representation; read from disk only when new or changed.
        Raises FileNotFoundError when it is gone, or has become a symlink."""
        kept = self.current(found)
        if kept is not None:
            return kept
        try:
            # no following a symlink put where a file was since it was located
            fd = os.open(found.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        except OSError as error:
            raise FileNotFoundError(found.path) from error
        try:
            info = os.fstat(fd)
            key = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
            body = await anyio.to_thread.run_sync(_read_all, fd, info.st_size)
        finally:
            os.close(fd)
        rep = Representation.of(
            body,
            CONTENT_TYPES.get(found.suffix, OTHER_TYPE),
            info.st_mtime,
            found.suffix in COMPRESSIBLE,
        )
        last = self._last.get(found.path)
        if last is not None and last[0] == rep.etag:
            rep.last_modified = last[1]
        self._last[found.path] = (rep.etag, rep.last_modified or info.st_mtime)
        self.keep(found.path, key, rep)
        return rep

    def current(self, found: Found) -> Representation | None:
        """The file's representation if one is kept and the file has not changed since;
        None otherwise (nothing is read)."""
        kept = self._kept.get(found.path)
        if kept is None:
            return None
        try:
            info = os.stat(found.path)
        except OSError:
            return None
        if kept[0] != (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns):
            return None
        self._kept.move_to_end(found.path)
        return kept[1]

    def keep(self, path: str, key: tuple[int, ...], rep: Representation) -> None:
        old = self._kept.pop(path, None)
        if old is not None:
            self._held -= old[1].size
        if rep.size > self.budget // 4:
            return  # too big to keep: read again next time
        self._kept[path] = (key, rep)
        self._held += rep.size
        self._trim()

    def _trim(self) -> None:
        while self._held > self.budget and self._kept:
            _, (_, rep) = self._kept.popitem(last=False)
            self._held -= rep.size


def _read_all(fd: int, size: int) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = os.read(fd, max(size, 65536))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)

"""What a build keeps for the next one, beside the site (`.feeds.cache/` for `feeds/`):
each plan file's rendered parts, and a manifest of the site they made.

A later build takes a plan file's parts from here, and its notices from the site by hard
link, when nothing they were made from has changed: the file's bytes, its commissioner's
history in git, and the site-wide inputs (the publisher's code and templates, places,
themes, channels, the site's address and OCDS prefix), all named by one key, and the day
as far as they read it (days.py: a plan file rendered again on a new day only when its
content differs that day). Files made from the whole set (lists, feeds, calendars,
packages) are linked when their own key, made from their members' digests and the day as
far as they read it, is the same as last time, and made again otherwise.

The cache only saves time: anything missing, unreadable or written by another version is
ignored, and the build makes what it needs.
"""

from __future__ import annotations

import datetime as dt
import os
import pickle
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from jinja2 import FileSystemBytecodeCache

from publisher.builder.days import DAILY, Rule
from publisher.builder.paged import Kept as Paged
from publisher.builder.paged import Key
from publisher.builder.parts import Kept
from publisher.builder.splice import Spans
from publisher.formats.base import digest
from publisher.model.views import CommissionerView
from publisher.plans.errors import Problem
from publisher.text import templates
from publisher.text.brand import DEFAULT, Brand

# Raised when what is kept changes shape. What is pickled is also tagged with the code's
# digest (`version`), so another version of the publisher never reads this one's cache.
FORMAT = 7
MANIFEST = "manifest.pickle"
CODE = Path(__file__).resolve().parents[1]  # the publisher package: code and templates


@dataclass(frozen=True)
class Unit:
    """What one opportunity of a plan file gave a build (its view, notice and parts), or
    the file as a whole (its transparency page and OCDS package, from every view): the
    days on which it reads the same (`rule`, and its sign on the day it was made), its
    files, how far an example plan's dates had moved (`shift`), and what its views said
    that another day may change (`basis`)."""

    rule: Rule
    sign: str
    files: tuple[str, ...]
    shift: str
    # what its views said that another day may change (tasks.day_facts): the file as a
    # whole is taken only when each of its views says the same as when it was made
    basis: bytes = b""


@dataclass
class Entry:
    """What one plan file gave a build."""

    source: str  # the plan file, as shown to the person building (site._as_shown)
    problems: list[Problem]
    commissioner: CommissionerView | None  # None: the file has errors and is left out
    parts: list[Kept] = field(default_factory=list)  # fragments in its store: <name>.data
    files: list[str] = field(default_factory=list)  # site paths it wrote: notices...
    bounds: bytes = b"\0" * 8  # of the fragments in its store (array('Q'))
    days: Rule = DAILY  # the days on which it reads the same as on the day it was made
    linked: list[str] = field(default_factory=list)  # its files linked from the last site
    # its files that count days, as rendered: filled in for each day (text/slots.py)
    slotted: dict[str, bytes] = field(default_factory=dict)
    # each opportunity's own part of it, by uid (not those taken out of the plan): another
    # day's build of the same file takes those that read the same that day from here
    units: dict[str, Unit] = field(default_factory=dict)
    whole: Unit | None = None  # the files made from all its opportunities


@dataclass(frozen=True)
class Dated:
    """A plan file's entries by the day: each is the file as read on the days that give its
    `rule` the same sign. `stem`: the digest of everything else it is made from."""

    stem: str
    rule: Rule
    names: dict[str, str]  # rule.sign(day) -> entry name


@dataclass
class Manifest:
    """The site a build made: which entries made it, and each assembled file's key."""

    site: tuple[int, int]  # the site folder's (device, inode), to know it is that site
    entries: dict[str, str]  # plan file's name in the plans folder -> entry name
    outputs: dict[str, bytes]  # site path -> key of what it was made from
    # the big files whose members' places are kept (`load_spans`: read only when the file
    # is made again, not with the manifest; at 20,000 opportunities they are 43 MB)
    spanned: frozenset[str] = frozenset()
    dated: dict[str, Dated] = field(default_factory=dict)  # plan file's name -> its entries
    days: dict[str, Rule] = field(default_factory=dict)  # site path -> what it read of the day
    paged: dict[str, Paged] = field(default_factory=dict)  # list path -> its pages (paged.py)
    keys: dict[str, Key] = field(default_factory=dict)  # lists' other keys (paged.Keys)
    day: dt.date | None = None  # the day its counts of days were filled in for
    # Its files (spare.py): all, those the build wrote (not linked from the site before),
    # and those it added to and removed from the site before; and that site, now the spare
    paths: frozenset[str] = frozenset()
    written: frozenset[str] = frozenset()
    added: frozenset[str] = frozenset()
    removed: frozenset[str] = frozenset()
    spare: tuple[int, int, int] | None = None  # its stamp (spare.stamp)


def version() -> bytes:
    return _version(templates.search_path(), templates.brand())


@cache
def _version(search_path: tuple[Path, ...], brand: Brand = DEFAULT) -> bytes:
    return code_digest(search_path, brand)


def code_digest(
    search_path: tuple[Path, ...] = (templates.PACKAGE,), brand: Brand = DEFAULT
) -> bytes:
    """The publisher's own code and templates, the deployment's templates in front of
    them (`search_path`, first first, with their static/ files) and its name, colours and
    links (`brand`, from its settings): a new version of any makes everything again."""
    files = [
        (str(p.relative_to(CODE)), p)
        for p in sorted(CODE.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    ]
    for place, folder in enumerate(search_path):
        if not folder.is_relative_to(CODE):  # the package's own are counted above
            mine = sorted(p for p in folder.rglob("*") if p.is_file())
            files += [(f"search path {place}/{p.relative_to(folder)}", p) for p in mine]
    # The publisher's own look adds nothing, so a cache from before brands is still used.
    look = [] if brand == DEFAULT else [repr(brand).encode()]
    return digest(str(FORMAT), *(f"{name}\0".encode() + p.read_bytes() for name, p in files), *look)


def folder_for(out: Path) -> Path:
    return out.with_name(f".{out.name}.cache")


def identity(folder: Path) -> tuple[int, int] | None:
    try:
        stat = folder.stat()
    except OSError:
        return None
    return (stat.st_dev, stat.st_ino)


def _read(path: Path) -> object:
    try:
        with path.open("rb") as file:
            kept_by, value = pickle.load(file)
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError):
        return None
    except (ImportError, IndexError, KeyError):
        return None  # pickled by a different version of the code
    return value if kept_by == version() else None


def _put(path: Path, blob: bytes) -> None:
    """Write `blob` to `path` in one step (through a file beside it), or raise."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(blob)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def _keep(path: Path, blob: bytes) -> None:
    """`_put`, where a cache we cannot write is only a slower next build."""
    try:
        _put(path, blob)
    except OSError:
        return


def load_manifest(folder: Path, site: Path) -> Manifest | None:
    """The manifest of the site at `site`, if the cache describes that very folder."""
    manifest = _read(folder / MANIFEST)
    if not isinstance(manifest, Manifest) or manifest.site != identity(site):
        return None
    return manifest


def save_manifest(folder: Path, manifest: Manifest) -> None:
    _keep(folder / MANIFEST, pickle.dumps((version(), manifest), pickle.HIGHEST_PROTOCOL))


def load_entry(folder: Path, name: str) -> Entry | None:
    entry = _read(folder / f"{name}.entry")
    return entry if isinstance(entry, Entry) else None


def pack(entry: Entry) -> bytes:
    """The entry as it is kept, and sent from a worker process."""
    return pickle.dumps((version(), entry), protocol=pickle.HIGHEST_PROTOCOL)


def unpack(blob: bytes) -> Entry:
    kept_by, entry = pickle.loads(blob)
    assert kept_by == version() and isinstance(entry, Entry)
    return entry


def load_read(folder: Path, name: str) -> object:
    """A plan file as its entry `name` read it (tasks.Earlier), or None."""
    return _read(folder / f"{name}.read")


def save_read(folder: Path, name: str, read: object) -> None:
    """Keep a plan file as read, for another day's build of the same bytes."""
    _keep(folder / f"{name}.read", pickle.dumps((version(), read), pickle.HIGHEST_PROTOCOL))


def share_read(folder: Path, kept: str, name: str) -> None:
    """Keep the plan file as entry `kept` read it for entry `name` too."""
    try:
        os.link(folder / f"{kept}.read", folder / f"{name}.read")
    except OSError:
        return  # the next day reads the file again


def _spans_path(folder: Path, path: str, key: bytes) -> Path:
    # In 256 folders by the name's first two letters: a build after a day's changes writes
    # and removes thousands of these, and one folder that held them all (ext4 never shrinks
    # a folder) made each new file take 0.3 ms to create, against 0.04 ms in a small one.
    name = digest(path, key).hex()
    return folder / "spans" / name[:2] / f"{name}.spans"


def load_spans(folder: Path, path: str, key: bytes) -> Spans | None:
    """Where the members of the big file at site path `path`, made with `key`, are."""
    found = _read(_spans_path(folder, path, key))
    return found if isinstance(found, Spans) else None


def save_spans(folder: Path, path: str, key: bytes, spans: Spans) -> None:
    blob = pickle.dumps((version(), spans), pickle.HIGHEST_PROTOCOL)
    _keep(_spans_path(folder, path, key), blob)


def drop_spans(folder: Path, path: str, key: bytes) -> None:
    """Forget the spans of the big file at `path` made with `key` (made again)."""
    try:
        _spans_path(folder, path, key).unlink(missing_ok=True)
    except OSError:
        return


def prune_spans(folder: Path, before: Manifest | None, now: Manifest) -> None:
    """Remove the spans no manifest names any more: those of big files the site no longer
    has (a build drops those of the files it makes again, tasks.Making), or, after a build
    with no manifest, all but `now`'s."""
    if before is not None:
        for path in before.spanned - now.spanned:
            drop_spans(folder, path, before.outputs[path])
        return
    wanted = {_spans_path(folder, path, now.outputs[path]).name for path in now.spanned}
    try:  # and any kept before they went in folders of their own
        found = [*(folder / "spans").glob("*/*.spans"), *(folder / "spans").glob("*.spans")]
    except OSError:
        return
    for one in found:
        if one.name not in wanted:
            one.unlink(missing_ok=True)


def store_path(folder: Path, name: str) -> Path:
    return folder / f"{name}.data"


def save_entry(folder: Path, name: str, blob: bytes) -> None:
    """Keep a packed entry; a cache we cannot write is only a slower next build."""
    _keep(folder / f"{name}.entry", blob)


def save_store(folder: Path, name: str, blob: bytes) -> None:
    """Keep a plan file's fragments. Unlike the rest of the cache, the build reads them
    back, so a store that cannot be written (a full disk) fails the build."""
    _put(store_path(folder, name), blob)


def prune(folder: Path, keep: Iterable[str]) -> None:
    """Remove entries no manifest names any more."""
    suffixes = ("entry", "data", "read")
    wanted = {f"{name}.{suffix}" for name in keep for suffix in suffixes}
    try:
        found = [path for suffix in suffixes for path in folder.glob(f"*.{suffix}")]
    except OSError:
        return
    for path in found:
        if path.name not in wanted:
            path.unlink(missing_ok=True)


def keep_templates(folder: Path) -> None:
    """Keep compiled templates in `folder`: compiling them is most of what a build that
    renders one plan file spends on templates. Jinja knows a template's text changed, not
    that the environment's options did, so each version of the publisher keeps its own
    and removes the others'."""
    mine = f"{version().hex()}.cache"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("__jinja2_*.cache"):
            if not old.name.endswith(f"_{mine}"):
                old.unlink(missing_ok=True)
    except OSError:
        return
    kept = FileSystemBytecodeCache(str(folder), f"__jinja2_%s_{mine}")
    templates.environment().bytecode_cache = kept

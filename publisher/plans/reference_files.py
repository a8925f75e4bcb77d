"""The files every plan in a folder may draw on (places, themes and the channel files),
read and parsed once per pass and handed to whoever needs them: the reference data plans
are checked against, the organisations the site names, the channels `notify` tells, and
the digest a build keys its cache on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from publisher.plans.errors import Problem
from publisher.plans.load import Document, load
from publisher.plans.reference import PLACES_FILE, THEMES_FILE, channel_files


def display_path(path: Path) -> str:
    """A path as the person typed it would expect: relative to here when it is below here."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class FileRead:
    """One file as read: its bytes (None when it could not be read) and what they parse to
    (None, with the problems, when they do not)."""

    path: Path
    raw: bytes | None
    document: Document | None
    problems: list[Problem] = field(default_factory=list)


def read_file(path: Path, display: str, raw: bytes | None = None) -> FileRead:
    """Read a file's bytes once and parse those same bytes; problems name it `display`.
    `raw`: its bytes, when read already this pass."""
    try:
        raw = path.read_bytes() if raw is None else raw
    except OSError:
        # Not read: load says why, in the words every other read of a file uses.
        document, problems = load(path, display)
        return FileRead(path, None, document, problems)
    document, problems = load(path, display, raw)
    return FileRead(path, raw, document, problems)


@dataclass(frozen=True)
class ReferenceFiles:
    """A plans folder's places, themes and channel files, read once."""

    places: FileRead
    themes: FileRead
    channels: list[FileRead]  # in the order of channel_files

    def all(self) -> list[FileRead]:
        return [self.places, self.themes, *self.channels]


def read_channel_files(root: Path, raws: Mapping[Path, bytes | None] = {}) -> list[FileRead]:
    # Shown as the person would type them: `notify` reports their problems.
    return [read_file(path, display_path(path), raws.get(path)) for path in channel_files(root)]


def read_reference_files(root: Path, raws: Mapping[Path, bytes | None] = {}) -> ReferenceFiles:
    """`raws`: files' bytes read already this pass (`notify` has, for model/kept.inputs)."""
    # The problems of places and themes are never reported from this read (`check` reports
    # them), so their plain names will do.
    places, themes = root / PLACES_FILE, root / THEMES_FILE
    return ReferenceFiles(
        read_file(places, PLACES_FILE, raws.get(places)),
        read_file(themes, THEMES_FILE, raws.get(themes)),
        read_channel_files(root, raws),
    )

"""The site before last, kept beside the site (`.feeds.spare` for `feeds/`), to be the next
build's staging folder: a build then writes and links only the files that changed since
that site, not every file of the site (at 20,000 opportunities, linking some 86,000 files
was most of a build with one change).

After a build swaps its new site in, the site it replaced is the spare. It shares every
file that build linked (one inode, so never written into: a build replaces a file, never
writes through it), and holds its own version of every file that build wrote. The next
build takes it when its manifest describes it (`Spare.take`): a file the last build linked
is in place already; one it wrote is linked again from the last site, or made; and what the
spare holds that the new site does not is removed at the end (`Spare.finish`). Anything
unexpected (no manifest, a spare that is not the one it names) and the build starts from an
empty folder, as it always could; a build that fails takes its staging folder with it.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from publisher.builder import swap, tasks
from publisher.builder.cache import Manifest


def folder_for(out: Path) -> Path:
    return out.with_name(f".{out.name}.spare")


def stamp(folder: Path) -> tuple[int, int, int] | None:
    """What tells this very folder from another made in its place: its device, inode (which
    a new folder may be given again at once) and the time it last changed (ns)."""
    try:
        found = folder.stat()
    except OSError:
        return None
    return (found.st_dev, found.st_ino, found.st_ctime_ns)


@dataclass(frozen=True)
class Spare:
    """A spare taken as a staging folder."""

    same: frozenset[str]  # its files that are the last site's own (linked by the last build)
    paths: frozenset[str]  # every file it holds

    @classmethod
    def take(cls, out: Path, staging: Path, manifest: Manifest | None) -> Spare | None:
        """Make the spare `staging` when the last site's manifest describes it; otherwise
        remove any spare and make `staging` an empty folder (None)."""
        folder = folder_for(out)
        described = manifest is not None and manifest.spare is not None and manifest.paths
        if manifest is not None and described and stamp(folder) == manifest.spare:
            try:
                folder.rename(staging)
            except OSError:
                pass
            else:
                held = (manifest.paths - manifest.added) | manifest.removed
                return cls(manifest.paths - manifest.written, held)
        if folder.exists():  # not the one the manifest names: removed, as a replaced site is
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            try:
                folder.rename(old)
                swap.remove(old, swap.BACKGROUND_FROM)
            except OSError:
                shutil.rmtree(folder, ignore_errors=True)
        staging.mkdir()
        return None

    def finish(self, staging: Path, paths: frozenset[str]) -> None:
        """Remove what the spare held that the new site does not, and folders left empty."""
        emptied = set()
        for path in self.paths - paths:
            try:
                tasks.discard(f"{staging}/{path}")
            except FileNotFoundError:
                continue
            emptied.add(os.path.dirname(path))
        for each in sorted(emptied, key=len, reverse=True):
            folder = each
            while folder:
                try:
                    os.rmdir(f"{staging}/{folder}")
                except OSError:
                    break  # not empty: nor are the folders it is in
                folder = os.path.dirname(folder)

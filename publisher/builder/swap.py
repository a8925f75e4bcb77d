"""Putting a newly built site in place of the old one in one step, and removing the old
one (and what killed builds left behind)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import subprocess
from pathlib import Path

_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories in one step (Linux renameat2); False where that is unsupported."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd = -100
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    return bool(result == 0)


def swap_in(staging: Path, out: Path, files: int = 0, keep: Path | None = None) -> bool:
    """Make `staging` (of `files` files) the site at `out` in one step; the old site is
    then moved to `keep` (True), or removed."""
    if not out.exists():
        staging.rename(out)
        return False
    if _exchange(staging, out):
        old = staging
    else:
        # Two renames: a reader may, for a moment, find no site, but never half of one.
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
        staging.rename(out)
    if keep is not None and not keep.exists():
        try:
            old.rename(keep)
            return True
        except OSError:
            pass
    remove(old, files)
    return False


BACKGROUND_FROM = 5_000  # files: a replaced site this big is removed in the background
_AWAY = 'mv -- "$1" "$2-$$" && exec nice -n 19 rm -rf -- "$2-$$"'


def remove(folder: Path, files: int) -> None:
    """Remove a replaced site. A big one (20,000 files take a third of a second) is left to
    a process of its own, so the build ends once the new site is in place; if that process
    is stopped, the next build removes what is left."""
    if files >= BACKGROUND_FROM and os.name == "posix":
        try:
            # sh puts rm in the background and ends at once: nothing is left to wait for.
            # At the lowest priority, it does not slow a build that follows at once.
            # The folder is first renamed after rm's own process id (the inner sh's, which
            # rm takes over by exec), so the next build sees a removal still under way and
            # leaves it alone, instead of removing the same folder again on its own time.
            stem = str(folder).rsplit("-", 1)[0]
            subprocess.run(
                ["sh", "-c", 'sh -c "$3" sh "$1" "$2" &', "sh", str(folder), stem, _AWAY],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                check=True,
                timeout=30,
            )
            return
        except (OSError, subprocess.SubprocessError):
            pass
    shutil.rmtree(folder)


def remove_abandoned(out: Path) -> None:
    """Remove half-built sites left beside `out` by builds that were killed (their process
    is gone); a build still running keeps its own, and a removal still under way (named
    after its rm's process id by `remove`) is left to finish."""
    leftovers = [
        *out.parent.glob(f".{out.name}.building-*"),
        *out.parent.glob(f".{out.name}.old-*"),
    ]
    for folder in leftovers:
        pid = folder.name.rsplit("-", 1)[-1]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            continue  # another user's running process

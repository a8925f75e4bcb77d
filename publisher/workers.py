"""When work may go to forked worker processes: the check, the history read and the build
share one rule."""

from __future__ import annotations

import os
import threading


def may_fork(workers: int, items: int, parallel_from: int) -> bool:
    """True when `items` pieces of work are worth `workers` forked processes. Never in a
    process that runs threads (the web app, the scheduler): a child could inherit a lock
    another thread held mid-way, and hang."""
    return (
        workers > 1
        and items >= parallel_from
        and os.name == "posix"
        and threading.active_count() == 1
    )

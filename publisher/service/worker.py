"""One kind of scheduled work (the sync and build, the notify pass) on a thread of its own.
Asked while it runs, it runs once more when done: requests queue, several of them as one,
and are never dropped. Kinds of work have a worker each, so a slow notify pass never holds
up the sync and the build.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("publisher")


class Worker:
    def __init__(self, name: str, what: str, work: Callable[[], object]) -> None:
        self.name = name
        self.what = what  # in words, for the log: "the notify pass"
        self.work = work
        self.runs = 0  # finished runs, for /healthz and tests
        self._changed = threading.Condition()
        self._wanted: str | None = None  # why the next run was asked for
        self._running_since: float | None = None  # time.monotonic() of the run in progress
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def running_since(self) -> float | None:
        return self._running_since

    def request(self, why: str) -> None:
        """Run as soon as the run in progress (if any) is done."""
        with self._changed:
            if self._stopping:
                return
            if self._running_since is not None and self._wanted is None:
                log.info(
                    "%s is due (%s) while one is still running: it runs again as soon as "
                    "that one ends.",
                    _capital(self.what),
                    why,
                )
            if self._wanted is None:
                self._wanted = why
            self._changed.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing runs or is asked for; False if `timeout` seconds passed."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._wanted is not None or self._running_since is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return False
                self._changed.wait(left)
        return True

    def stop(self, timeout: float) -> bool:
        """Run nothing more; wait up to `timeout` seconds for the run in progress. Returns
        whether it has ended."""
        with self._changed:
            self._stopping = True
            self._wanted = None
            self._changed.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _loop(self) -> None:
        while True:
            with self._changed:
                while self._wanted is None and not self._stopping:
                    self._changed.wait()
                if self._stopping:
                    return
                self._wanted = None
                self._running_since = time.monotonic()
            try:
                self.work()
            except Exception as error:  # the work logs its own failures; this is a bug
                log.error("%s broke: %s: %s", _capital(self.what), type(error).__name__, error)
            finally:
                with self._changed:
                    self._running_since = None
                    self.runs += 1
                    self._changed.notify_all()


def _capital(words: str) -> str:
    return words[:1].upper() + words[1:]

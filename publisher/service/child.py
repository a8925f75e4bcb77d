"""The programs the service runs (git, the build): each bounded in time, stopped when the
service stops, and never outliving it, even when the service is killed with SIGKILL.

On Linux the kernel sends a child a signal when the thread that started it ends
(PR_SET_PDEATHSIG). git gets SIGKILL. The build gets SIGTERM, which it turns into SIGKILL
for its whole process group, so the worker processes it forks end with it.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


def _load_prctl() -> Callable[..., int] | None:
    # Looked up once here: the function that runs in the child between fork and exec
    # must not import or load anything.
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    prctl: Callable[..., int] = libc.prctl
    return prctl


_PRCTL = _load_prctl()

# Run in the build process before the publisher's own code: SIGTERM (the parent died, or
# the service is stopping) ends the build's whole process group at once.
_BUILD_PRELUDE = (
    "import os, signal\n"
    "def _end(*_):\n"
    "    os.killpg(os.getpgrp(), signal.SIGKILL) if os.getpgrp() == os.getpid() else os._exit(1)\n"
    "signal.signal(signal.SIGTERM, _end)\n"
    "from publisher.cli import entry\n"
    "entry()\n"
)


def publisher_command(*args: str) -> list[str]:
    """`publisher ARGS...` as a child of this process: this Python, this publisher."""
    return [sys.executable, "-c", _BUILD_PRELUDE, *args]


def _die_with_parent(parent: int, signum: int) -> Callable[[], None] | None:
    prctl = _PRCTL
    if prctl is None:
        return None

    def in_child() -> None:
        prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the line above took effect
            os.kill(os.getpid(), signum)

    return in_child


@dataclass(frozen=True)
class Finished:
    """How a child ended. `returncode` is negative when a signal ended it."""

    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False
    stopped: bool = False  # ended because the service is stopping

    @property
    def said(self) -> str:
        return (self.stdout + self.stderr).strip()

    def signal_name(self) -> str:
        try:
            return signal.Signals(-self.returncode).name
        except ValueError:
            return f"signal {-self.returncode}"


class Children:
    """The programs running now, so that stopping the service stops them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[str]] = set()
        self._ended: set[int] = set()  # pids ended on purpose (a stop, a lost lock)
        self._stopping = False

    def run(self, command: Sequence[str], timeout: float, death: int = signal.SIGKILL) -> Finished:
        """Run `command` to its end, at most `timeout` seconds; raises OSError when it
        cannot be started. `death` is what it gets if this process dies first."""
        with self._lock:
            if self._stopping:
                return Finished(-signal.SIGKILL, "", "", stopped=True)
            # Its own process group: a stop or a timeout ends it with everything it started.
            process = subprocess.Popen(
                list(command), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True, start_new_session=True,
                preexec_fn=_die_with_parent(os.getpid(), death),  # noqa: PLW1509 - prctl only
            )  # fmt: skip
            self._running.add(process)
        try:
            try:
                out, err = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill_group(process)
                out, err = process.communicate()
                return Finished(process.returncode, out, err, timed_out=True)
            with self._lock:
                stopped = self._stopping or process.pid in self._ended
            return Finished(process.returncode, out, err, stopped=stopped)
        finally:
            with self._lock:
                self._running.discard(process)
                self._ended.discard(process.pid)

    def stop_all(self) -> None:
        """End every child now, and start no more."""
        with self._lock:
            self._stopping = True
        self.end_running()

    def end_running(self) -> None:
        """End the children running now (the service stops, or lost the lock)."""
        with self._lock:
            running = list(self._running)
            self._ended.update(process.pid for process in running)
        for process in running:
            _kill_group(process)


def _kill_group(process: subprocess.Popen[str]) -> None:
    if process.returncode is not None:
        return  # reaped: its number may belong to another process now
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
        os.killpg(process.pid, signal.SIGKILL)

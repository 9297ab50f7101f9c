"""Clones made ahead of the tests, and dropped after them, off the tests' critical path.

One background thread per process, with its own connection, keeps up to ``size`` clones ready and
drops the ones tests gave back. Making comes first (a test may be waiting), dropping fills the
gaps, except when more than ``size`` clones wait to be dropped: clones slower than the tests
would otherwise pile up undropped (a 1 M-row golden's clone holds ~150 MB of tmpfs). A failure
in the background is handed, with its cause, to the test that would have used that clone.
``close()`` drops every clone it still holds and joins the thread.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Optional, Union

from .client import Client
from .errors import MocloneError

Made = Union[tuple[str, float], BaseException]  # (name, seconds the clone took)


class ClonePool:
    def __init__(
        self,
        *,
        size: int,
        connect: Callable[[], Client],
        new_name: Callable[[], str],
        make: Callable[[Client, str], float],
        drop: Callable[[Client, str], None],
    ) -> None:
        self.size = size
        self._connect = connect
        self._new_name = new_name
        self._make = make
        self._drop = drop
        self._ready: deque[Made] = deque()
        self._to_drop: deque[str] = deque()
        self._wanted = 0  # tests waiting right now
        self._cond = threading.Condition()
        self._closing = False
        self._thread: Optional[threading.Thread] = None
        self._client: Optional[Client] = None
        self._fatal: Optional[BaseException] = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name="moclone-pool", daemon=True)
        self._thread.start()

    # -- what tests call --------------------------------------------------------------------
    def take(self, timeout: float = 600.0) -> tuple[str, float]:
        """The next ready clone and how long making it took; waits only if none is ready."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._wanted += 1
            self._cond.notify_all()
            try:
                while not self._ready:
                    if self._fatal is not None:
                        raise self._fatal
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise MocloneError(f"no clone was ready after {timeout:.0f} s")
                    self._cond.wait(min(left, 1.0))
                made = self._ready.popleft()
            finally:
                self._wanted -= 1
            self._cond.notify_all()
        if isinstance(made, BaseException):
            raise made
        return made

    def give_back(self, name: str) -> None:
        """Drop ``name`` in the background."""
        with self._cond:
            self._to_drop.append(name)
            self._cond.notify_all()

    def close(self) -> None:
        """Stop making; drop what is ready or given back; join the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    # -- the background thread --------------------------------------------------------------
    def _work(self) -> None:
        try:
            self._client = self._connect()
        except BaseException as exc:  # handed to the tests, which report it
            with self._cond:
                self._fatal = exc
                self._cond.notify_all()
            return
        try:
            while True:
                job = self._next_job()
                if job is None:
                    break
                job()
        finally:
            self._drain()
            self._client.close()

    def _next_job(self) -> Optional[Callable[[], None]]:
        with self._cond:
            while True:
                if self._closing:
                    return None
                backlog = len(self._to_drop) > self.size
                if not backlog and len(self._ready) < max(self.size, self._wanted):
                    return self._make_one
                if self._to_drop:
                    name = self._to_drop.popleft()
                    return lambda: self._drop_quietly(name)
                self._cond.wait()

    def _make_one(self) -> None:
        assert self._client is not None
        name = self._new_name()
        made: Made
        try:
            made = (name, self._make(self._client, name))
        except BaseException as exc:  # the test that takes it raises it, with its cause
            made = exc
        with self._cond:
            self._ready.append(made)
            self._cond.notify_all()

    def _drop_quietly(self, name: str) -> None:
        assert self._client is not None
        with contextlib.suppress(MocloneError):  # the run's end sweeps what records still list
            self._drop(self._client, name)

    def _drain(self) -> None:
        with self._cond:
            leftovers = [m[0] for m in self._ready if isinstance(m, tuple)] + list(self._to_drop)
            self._ready.clear()
            self._to_drop.clear()
        for name in leftovers:
            self._drop_quietly(name)

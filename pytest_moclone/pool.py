"""Databases made ready ahead of the tests, and made ready again after them, off their path.

Background workers, each with its own connection, keep up to ``size`` databases ready. A database
a test gives back is *recycled* first (recycle.py: kept as it is, some tables reset, or None when
it must be made afresh), since that is usually far cheaper than a new clone; new clones are made
only to fill the pool, and dropping fills the gaps, except when more than ``size`` wait to be
dropped (clones slower than the tests would otherwise pile up). Everything stays bounded: at most
``size`` ready, what the tests hold, and what the workers are busy with. A failure in the
background is handed, with its cause, to the test that would have used that database.
``close()`` drops every database it still holds and joins the workers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Optional, Union

from .client import Client
from .errors import MocloneError
from .recycle import Ready

Made = Union[Ready, BaseException]


class ClonePool:
    def __init__(
        self,
        *,
        size: int,
        connect: Callable[[], Client],
        make: Callable[[Client], Ready],
        drop: Callable[[Client, str], None],
        recycle: Optional[Callable[[Client, Ready], Optional[Ready]]] = None,
        workers: int = 1,
        open_for_test: Optional[Callable[[str], Client]] = None,
    ) -> None:
        self.size = max(1, size)
        self.workers = max(1, workers)
        self._connect = connect
        self._make = make
        self._drop = drop
        self._recycle = recycle
        self._open_for_test = open_for_test  # a test's own connection (its own timeouts)
        self._ready: deque[Made] = deque()
        self._returned: deque[Ready] = deque()
        self._to_drop: deque[str] = deque()
        self._wanted = 0  # tests waiting right now
        self._busy = 0  # databases a worker is making or recycling
        self._in_use = 0  # databases tests hold: with recycling, they come back as supply
        self._cond = threading.Condition()
        self._closing = False
        self._threads: list[threading.Thread] = []
        self._fatal: Optional[BaseException] = None
        self._calm = False  # between tests: work only for a test that waits or finds none ready

    def start(self) -> None:
        for number in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"moclone-pool-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    # -- what tests call --------------------------------------------------------------------
    def take(self, timeout: float = 600.0) -> Ready:
        """The next ready database; waits only if none is ready."""
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
                        raise MocloneError(f"no database was ready after {timeout:.0f} s")
                    self._cond.wait(min(left, 1.0))
                made = self._ready.popleft()
                self._in_use += isinstance(made, Ready)
            finally:
                self._wanted -= 1
            self._cond.notify_all()
        if isinstance(made, BaseException):
            raise made
        return made

    def between_tests(self, calm: bool) -> None:
        """While one test's teardown and the next one's set-up run (``calm``), the workers start
        nothing unless a test waits or nothing is ready: their Python work would hold the GIL
        on the test's path (a signal check of 300 tables parses ~1000 rows)."""
        with self._cond:
            self._calm = calm
            if not calm:
                self._cond.notify_all()

    def give_back(self, ready: Ready) -> None:
        """Make ``ready`` ready again (or drop it) in the background (its test has closed the
        client it was handed)."""
        ready = dataclasses.replace(ready, client=None)
        with self._cond:
            self._in_use -= 1
            if self._recycle is None:
                self._to_drop.append(ready.name)
            else:
                self._returned.append(ready)
            self._cond.notify_all()

    def close(self, *, server_gone: bool = False) -> None:
        """Stop making; drop what is ready or given back; join the workers. With the server
        gone (or frozen), a worker may wait on it as long as its read timeout: it is left to
        die with the process, and what it held is the registry's to reap."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=1.0 if server_gone else None)
        self._threads = []
        if server_gone:
            return
        for made in self._ready:
            if isinstance(made, Ready) and made.client is not None:
                made.client.close()
        leftovers = [m.name for m in self._ready if isinstance(m, Ready)]
        leftovers += [r.name for r in self._returned] + list(self._to_drop)
        self._ready.clear()
        self._returned.clear()
        self._to_drop.clear()
        if leftovers:
            try:
                client = self._connect()
            except MocloneError:
                return  # the run's end sweeps what the records still list
            try:
                for name in leftovers:
                    self._drop_quietly(client, name)
            finally:
                client.close()

    # -- the workers --------------------------------------------------------------------------
    def _work(self) -> None:
        try:
            client = self._connect()
        except BaseException as exc:  # handed to the tests, which report it
            with self._cond:
                self._fatal = exc
                self._cond.notify_all()
            return
        try:
            while True:
                job = self._next_job(client)
                if job is None:
                    return
                job()
        except BaseException as exc:  # a worker that died must not leave the tests waiting
            with self._cond:
                self._fatal = exc
                self._cond.notify_all()
            raise
        finally:
            client.close()

    def _next_job(self, client: Client) -> Optional[Callable[[], None]]:
        with self._cond:
            while True:
                if self._closing:
                    return None
                if self._calm and not self._wanted and self._ready:
                    self._cond.wait()
                    continue
                if self._returned:
                    ready = self._returned.popleft()
                    self._busy += 1
                    return lambda: self._recycle_one(client, ready)
                backlog = len(self._to_drop) > self.size
                supply = len(self._ready) + self._busy + len(self._returned)
                if self._recycle is not None:
                    supply += self._in_use  # each comes back, usually ready at once
                if not backlog and supply < max(self.size, self._wanted):
                    self._busy += 1
                    return lambda: self._make_one(client)
                if self._to_drop:
                    name = self._to_drop.popleft()
                    return lambda: self._drop_quietly(client, name)
                self._cond.wait()

    def _make_one(self, client: Client) -> None:
        made: Made
        try:
            made = self._make(client)
        except BaseException as exc:  # the test that takes it raises it, with its cause
            made = exc
        self._deliver(made)

    def _recycle_one(self, client: Client, ready: Ready) -> None:
        assert self._recycle is not None
        again: Optional[Ready]
        try:
            again = self._recycle(client, ready)
        except MocloneError:
            again = None
        if again is None:
            with self._cond:
                self._to_drop.append(ready.name)
                self._busy -= 1
                self._cond.notify_all()
            return
        self._deliver(again)

    def _deliver(self, made: Made) -> None:
        if isinstance(made, Ready) and self._open_for_test is not None:
            made = self._connected(self._open_for_test, made)
        with self._cond:
            self._busy -= 1
            if isinstance(made, Ready) and len(self._ready) >= max(self.size, self._wanted):
                self._to_drop.append(made.name)  # more than the tests need: it goes
                if made.client is not None:
                    made.client.close()
            else:
                self._ready.append(made)
            self._cond.notify_all()

    @staticmethod
    def _connected(open_for_test: Callable[[str], Client], ready: Ready) -> Ready:
        """``ready`` with its test's connection opened now, so the test does not wait for it (a
        connect is 0.5 ms on a quiet machine, several on a busy one); without, if that fails."""
        try:
            return dataclasses.replace(ready, client=open_for_test(ready.name))
        except Exception:  # the test connects itself, and meets the cause if it persists
            return ready

    def _drop_quietly(self, client: Client, name: str) -> None:
        with contextlib.suppress(MocloneError):  # the run's end sweeps what records still list
            self._drop(client, name)

"""Making a test's database ready again: keep it, reset only the tables the test changed, or not.

After a test, the connections it left on its database are ended, the change signals are read and
compared with the baseline taken when the database was made ready (detect.py). Unchanged: it is
handed out again as it is. Some tables changed and the dialect can reset them: only those are
copied again from the golden's snapshot. Anything else (DDL, changed views or routines, a signal
that cannot be read, an error on the way): None, and the caller drops it and makes a fresh clone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Optional

from .client import Client
from .detect import Signals, compare
from .errors import MocloneError
from .janitor import CloneJanitor

log = logging.getLogger("pytest_moclone")

FRESH = "fresh clone"
KEPT = "kept"


@dataclass(frozen=True)
class Ready:
    """A database ready for a test, how it got there and at what cost."""

    name: str
    how: str  # FRESH, KEPT, or "reset N tables"
    seconds: float
    baseline: Optional[Signals] = None  # None: nothing can vouch for it after a test
    ended: int = 0  # connections a previous test left open on it, ended before the check
    #: A connection to it opened ahead (by the pool, off the test's path), for its next test.
    client: Optional[Client] = field(default=None, compare=False, repr=False)


class Recycler:
    """Fresh databases and recycled ones, for one golden (``source`` at ``snapshot``)."""

    def __init__(
        self,
        source: str,
        snapshot: str,
        janitor: Callable[[Client, str], CloneJanitor],
        *,
        detect: bool = True,
    ) -> None:
        self.source = source
        self.snapshot = snapshot
        self._janitor = janitor
        self.detect = detect

    def fresh(self, client: Client, name: str) -> Ready:
        """A new clone, with its baseline when the server has exact signals."""
        started = time.perf_counter()
        self._janitor(client, name).create()
        return Ready(name, FRESH, time.perf_counter() - started, self._baseline(client, name))

    def _baseline(self, client: Client, name: str) -> Optional[Signals]:
        if not self.detect:
            return None
        try:
            return client.dialect.read_signals(
                client.connection, name, self.source, self.snapshot, after=False
            )
        except MocloneError as exc:
            log.debug("no baseline for %s: %s", name, exc)
            return None

    def recycle(self, client: Client, ready: Ready) -> Optional[Ready]:
        """``ready`` after its test, made ready again; None when it must be made afresh."""
        started = time.perf_counter()
        ex, dialect = client.connection, client.dialect
        ended = dialect.end_connections(ex, ready.name)
        if ready.baseline is None:
            return None
        now = dialect.read_signals(ex, ready.name, self.source, self.snapshot, after=True)
        if now is None:
            return None
        verdict = compare(ready.baseline, now)
        if verdict.unchanged:
            return Ready(ready.name, KEPT, time.perf_counter() - started, ready.baseline, ended)
        if verdict.whole is not None:
            log.debug("%s is made afresh: %s", ready.name, verdict.whole)
            return None
        tables = sorted(verdict.tables)
        if not dialect.reset_tables(ex, ready.name, tables, self.source, self.snapshot):
            return None
        baseline = self._baseline(client, ready.name)
        how = f"reset {len(tables)} table{'' if len(tables) == 1 else 's'}"
        return Ready(ready.name, how, time.perf_counter() - started, baseline, ended)

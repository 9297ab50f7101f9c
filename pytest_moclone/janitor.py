"""One owner of a clone's life: made, handed out, dropped (pytest-postgresql's janitor, for clones).

Everything that makes a database for a while (the plugin's fixtures and pool, the benchmarks, a
user's script) goes through :class:`CloneJanitor`, so that making and dropping, and the claim that
proves a database is ours before it exists, happen in one place::

    with client.clone.temporary("shop_t1", "shop", snapshot_name="shop_s") as name:
        ...  # the clone exists here, and is dropped after the block, even if it raises
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import Optional, Protocol

from .errors import ServerConnectionError


class Cloner(Protocol):
    """What a janitor needs of ``client.clone`` (clone.py's CloneManager)."""

    def clone_database(
        self, target_db: str, source_db: str, snapshot_name: Optional[str] = None
    ) -> bool: ...

    def branch_database(
        self, target_db: str, source_db: str, snapshot_name: Optional[str] = None
    ) -> bool: ...

    def drop(self, database: str) -> None: ...


#: Called with a database's name before it is created (an ownership claim, written first so a
#: kill cannot lose it), after it was made, and after it is dropped or its creation was refused.
Claim = Callable[[str], None]


def _nothing(name: str) -> None:
    """No records to keep: a janitor used outside the plugin."""


class CloneJanitor:
    """Makes ``name`` as a clone of ``source`` (at ``snapshot``) and drops it again."""

    def __init__(
        self,
        manager: Cloner,
        name: str,
        source: str,
        snapshot: Optional[str] = None,
        *,
        branch: bool = False,
        claim: Claim = _nothing,
        release: Claim = _nothing,
        made: Claim = _nothing,
    ) -> None:
        self.manager = manager
        self.name = name
        self.source = source
        self.snapshot = snapshot
        self.branch = branch
        self._claim = claim
        self._release = release
        self._made = made
        self.seconds: Optional[float] = None  # how long making it took

    def create(self) -> float:
        """Make the clone; return the seconds it took.

        A clone the server refused leaves no claim (its name may be someone else's database);
        one cut off by a lost connection keeps it, since it may exist: the reaper decides later.
        """
        self._claim(self.name)
        started = time.perf_counter()
        try:
            if self.branch:
                self.manager.branch_database(self.name, self.source, snapshot_name=self.snapshot)
            else:
                self.manager.clone_database(self.name, self.source, snapshot_name=self.snapshot)
        except ServerConnectionError:
            raise
        except BaseException:
            self._release(self.name)
            raise
        self.seconds = time.perf_counter() - started
        self._made(self.name)
        return self.seconds

    def drop(self) -> None:
        self.manager.drop(self.name)
        self._release(self.name)

    def __enter__(self) -> str:
        self.create()
        return self.name

    def __exit__(
        self,
        kind: Optional[type[BaseException]],
        value: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.drop()

"""One database whose tests each run inside a transaction that is rolled back after them.

The floor of any reset (pytest-django's ``db`` fixture works this way): a test that only writes
through its own connection costs a ROLLBACK, nothing is copied. A rollback undoes only what that
one transaction did, so afterwards the same exact change signals as for recycled databases
(detect.py, recycle.py) vouch for the rest: writes through other connections, AUTO_INCREMENT
values that no rollback gives back, DDL. Whether the test ended the transaction itself (COMMIT, or
a statement that commits implicitly) is told by a savepoint, or on MatrixOne, which has no
``ROLLBACK TO SAVEPOINT``, by the transaction id in its process list (on 3.0.18, whose process list
is empty, by the server's in-transaction status flag). Then the database is reset, and the caller
says so. The rollback decides only what the message says on MatrixOne: its change signals compare
contents, so they see every write that outlived the rollback however it was made.

On MariaDB the test's session is left out of performance_schema's counters, so that its own
rolled-back writes leave no trace there; a test that committed has then written unseen, and its
database is made afresh.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Optional

from .client import Client
from .errors import MocloneError, QueryError
from .recycle import KEPT, Ready, Recycler

ROLLED_BACK = "rolled back"
#: ``SAVEPOINT x does not exist``: the transaction it belonged to has ended.
_NO_SAVEPOINT = 1305
ENDED = "the test ended its transaction (COMMIT, ROLLBACK or a statement that commits)"


@dataclass(frozen=True)
class Outcome:
    """How the database was made ready again after a test, and whether the test had ended the
    transaction it was given (``reason`` says how, for the message that names the test)."""

    ready: Ready
    reason: Optional[str] = None


@dataclass
class _Mark:
    """What proves, after a test, that its transaction is still the one it was given."""

    savepoint: Optional[str]
    transaction: Optional[str]
    hidden: bool  # the session's writes are left out of the change signals


class RollbackDatabase:
    """A database exactly like the golden, handed to one test at a time inside a transaction."""

    def __init__(
        self,
        admin: Client,
        recycler: Recycler,
        new_name: Callable[[], str],
        drop: Callable[[Client, str], None],
    ) -> None:
        self._admin = admin
        self._recycler = recycler
        self._new_name = new_name
        self._drop = drop
        self._ready: Optional[Ready] = None
        self._marks: dict[int, _Mark] = {}

    @property
    def name(self) -> Optional[str]:
        return self._ready.name if self._ready is not None else None

    def begin(self) -> tuple[Client, Ready]:
        """A client on the database, inside a fresh transaction; and how the database was made
        ready (a fresh clone the first time, then what the last test's end left)."""
        if self._ready is None:
            self._ready = self._recycler.fresh(self._admin, self._new_name())
        ready = self._ready
        client = self._admin.connect_to(ready.name)
        try:
            ex, dialect = client.connection, client.dialect
            hidden = dialect.hide_from_signals(ex, ready.name)
            ex.execute("BEGIN")
            savepoint = transaction = None
            if dialect.savepoints:
                savepoint = f"moclone_{secrets.token_hex(6)}"
                ex.execute(f"SAVEPOINT {savepoint}")
            else:  # None: the server's in-transaction flag must do (it misses COMMIT + BEGIN)
                transaction = dialect.transaction_id(ex)
        except BaseException:
            client.close()
            raise
        self._marks[id(client)] = _Mark(savepoint, transaction, hidden)
        return client, ready

    def end(self, client: Client) -> Outcome:
        """Roll back the test's transaction and make the database ready for the next test."""
        assert self._ready is not None
        mark = self._marks.pop(id(client))
        reason = self._roll_back(client, mark)
        client.close()
        ready = None
        if reason is None or not mark.hidden:  # the signals saw every write: they vouch
            ready = self._recycler.recycle(self._admin, self._ready)
        if ready is None:
            # connections the test left would hold its locks and keep the drop waiting
            self._admin.dialect.end_connections(self._admin.connection, self._ready.name)
            self._drop(self._admin, self._ready.name)
            self._ready = None
            self._ready = self._recycler.fresh(self._admin, self._new_name())
            ready = self._ready
        elif ready.how == KEPT:
            ready = Ready(ready.name, ROLLED_BACK, ready.seconds, ready.baseline, ready.ended)
        self._ready = ready
        return Outcome(ready, reason)

    def close(self) -> None:
        """Drop the database (the run's end sweeps it if this fails)."""
        if self._ready is not None:
            name, self._ready = self._ready.name, None
            self._drop(self._admin, name)

    @staticmethod
    def _roll_back(client: Client, mark: _Mark) -> Optional[str]:
        """None when the marked transaction was still open and is now rolled back; else how the
        test had ended it."""
        ex, dialect = client.connection, client.dialect
        try:
            if mark.savepoint is not None:
                try:
                    ex.execute(f"ROLLBACK TO SAVEPOINT {mark.savepoint}")
                except QueryError as exc:
                    if exc.server_code != _NO_SAVEPOINT:
                        raise
                    ex.execute("ROLLBACK")
                    return ENDED
                ex.execute("ROLLBACK")
                return None
            if mark.transaction is not None:
                same = dialect.transaction_id(ex) == mark.transaction
            else:
                same = ex.server_in_transaction()
            ex.execute("ROLLBACK")
            return None if same else ENDED
        except MocloneError as exc:
            return f"its connection could not be rolled back ({exc})"

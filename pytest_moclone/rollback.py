"""A test inside one transaction that is rolled back after it, and how to tell it ended it itself.

The floor of any reset (pytest-django's ``db`` fixture works this way): a test that only writes
through its own connection costs a ROLLBACK, nothing is copied. A rollback undoes only what that
one transaction did, so afterwards the database goes back to the pool like any test's, and the
same exact change signals (detect.py, recycle.py) vouch for the rest in the background: writes
through other connections, AUTO_INCREMENT values no rollback gives back, DDL.

Whether the test ended the transaction itself (COMMIT, or a statement that commits implicitly) is
told by a savepoint on MySQL/MariaDB; MatrixOne has no ``ROLLBACK TO SAVEPOINT``, so there by the
transaction id in its process list (on 3.0.18, whose process list is empty, by the server's
in-transaction status flag). On MatrixOne that decides only what the message says: its signals
compare contents, so they see every write that outlived the rollback however it was made.

On MariaDB the test's session is left out of performance_schema's counters, so that its own
rolled-back writes leave no trace there; a test that committed has then written unseen, and its
database must be made afresh (``unseen``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Optional

from .client import Client
from .errors import MocloneError, QueryError

#: ``SAVEPOINT x does not exist``: the transaction it belonged to has ended.
_NO_SAVEPOINT = 1305
ENDED = "the test ended its transaction (COMMIT, ROLLBACK or a statement that commits)"


@dataclass(frozen=True)
class TxnMark:
    """What proves, after a test, that its transaction is still the one it was given."""

    savepoint: Optional[str]
    transaction: Optional[str]
    hidden: bool  # the session's writes are left out of the change signals


@dataclass(frozen=True)
class Ending:
    """How a test's transaction ended: ``reason`` is None when it was rolled back as given."""

    reason: Optional[str]
    unseen: bool  # writes may have outlived the rollback where no signal saw them

    @property
    def rolled_back(self) -> bool:
        return self.reason is None


def begin(client: Client, *, hide: bool) -> TxnMark:
    """Open the transaction a test runs in, on ``client`` (connected to the test's database);
    ``hide``: leave the session out of the change signals (only where every write of the
    database's tables is rolled back, which the caller knows once for the golden)."""
    ex, dialect = client.connection, client.dialect
    hidden = hide and dialect.hide_from_signals(ex)
    ex.execute("BEGIN")
    if dialect.savepoints:
        savepoint = f"moclone_{secrets.token_hex(6)}"
        ex.execute(f"SAVEPOINT {savepoint}")
        return TxnMark(savepoint, None, hidden)
    # None: the server's in-transaction flag must do (it cannot tell COMMIT + BEGIN)
    return TxnMark(None, dialect.transaction_id(ex), hidden)


def end(client: Client, mark: TxnMark) -> Ending:
    """Roll back the test's transaction, and say whether it was still the one it was given."""
    ex, dialect = client.connection, client.dialect
    try:
        if mark.savepoint is not None:
            try:
                ex.execute(f"ROLLBACK TO SAVEPOINT {mark.savepoint}")
                same = True
            except QueryError as exc:
                if exc.server_code != _NO_SAVEPOINT:
                    raise
                same = False
        elif mark.transaction is not None:
            same = dialect.transaction_id(ex) == mark.transaction
        else:
            same = ex.server_in_transaction()
        ex.execute("ROLLBACK")
    except MocloneError as exc:
        return Ending(f"its connection could not be rolled back ({exc})", mark.hidden)
    return Ending(None, False) if same else Ending(ENDED, mark.hidden)

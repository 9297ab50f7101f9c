"""The small interface every server family implements, and what each one can do.

The managers validate names, check what exists and word the errors; a dialect only knows how its
server does each step. Every name a dialect receives has already been checked. What differs
between servers is said by a capability (an attribute or a method here), never by comparing the
dialect's name elsewhere.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from ..errors import QueryError
from ..names import TableName, quote

if TYPE_CHECKING:
    from ..connection import Executor
    from ..detect import Signals
    from ..diff import DatabaseDiff


@dataclass(frozen=True)
class SnapshotInfo:
    """One snapshot as the server (or the emulation's registry) knows it."""

    name: str
    level: str  # "database", "table", "account" or "cluster"
    database: Optional[str] = None
    table: Optional[str] = None
    created_at: Optional[dt.datetime] = None


#: Seconds :meth:`Dialect.end_connections` waits for a process list that lists its own session.
PROCESSLIST_WAIT = 20.0


class Dialect(ABC):
    name: str
    #: True when clones and snapshots are the server's own (MatrixOne >= 3.0), False when emulated.
    native: bool
    #: True where a database made by ``clone_database(..., branch=True)`` diffs row by row natively.
    lineage_diff: bool = False
    #: True where databases made with ``branch=True`` can be made and dropped from several
    #: connections at once without the server's catalog locks deadlocking (the plugin branches
    #: test databases only there).
    concurrent_branches: bool = False
    #: ``CHECKSUM TABLE`` exists: a diff skips tables whose checksums match.
    checksum_table: bool = False
    #: String comparisons follow collations ('b' = 'B'): an exact comparison needs ``BINARY``.
    binary_compare: bool = False
    #: A diff cuts large changed tables into buckets and joins only the ones that differ.
    narrow_large_tables: bool = False
    #: Names of databases and tables compare case-insensitively (the server folds them).
    folds_names: bool = False

    def __str__(self) -> str:
        return self.name

    def _name_match(self, column: str) -> str:
        """A WHERE term matching ``column`` to a parameter the way the server compares names."""
        return f"LOWER({column}) = LOWER(%s)" if self.folds_names else f"{column} = %s"

    def database_exists(self, ex: Executor, database: str) -> bool:
        where = self._name_match("schema_name")
        rows = ex.execute(f"SELECT 1 FROM information_schema.schemata WHERE {where}", (database,))
        return bool(rows)

    def table_type(self, ex: Executor, table: TableName) -> Optional[str]:
        """``BASE TABLE``, ``VIEW``, ``SEQUENCE``, ... or None when there is no such table."""
        where = f"{self._name_match('table_schema')} AND {self._name_match('table_name')}"
        rows = ex.execute(
            f"SELECT table_type FROM information_schema.tables WHERE {where}",
            (table.database or "", table.table),
        )
        return str(rows[0][0]).upper() if rows else None

    def read_side(self, base: str, snapshot: Optional[SnapshotInfo]) -> tuple[str, str]:
        """Where ``base`` as of ``snapshot`` is read: a database, and what follows a table
        name (MatrixOne: ``{SNAPSHOT = 's'}``; the emulation: its frozen copy)."""
        return base, ""

    def source_table_type(
        self, ex: Executor, table: TableName, snapshot: Optional[SnapshotInfo]
    ) -> Optional[str]:
        """The kind of a table about to be cloned, as of ``snapshot`` where the dialect can tell;
        None when it cannot be found (then the clone itself says what is wrong)."""
        return self.table_type(ex, table)

    def table_exists(self, ex: Executor, table: TableName) -> bool:
        return self.table_type(ex, table) is not None

    def primary_keys(self, ex: Executor, database: str) -> dict[str, tuple[str, ...]]:
        """Every table's primary key columns, in key order (tables without one are absent)."""
        rows = ex.execute(
            "SELECT table_name, column_name FROM information_schema.statistics "
            "WHERE table_schema = %s AND index_name = 'PRIMARY' ORDER BY table_name, seq_in_index",
            (database,),
        )
        keys: dict[str, list[str]] = {}
        for table, column in rows:
            keys.setdefault(str(table), []).append(str(column))
        return {t: tuple(c) for t, c in keys.items()}

    def drop_database(
        self, ex: Executor, database: str, lock_wait_timeout: Optional[int] = None
    ) -> None:
        """Drop ``database``; with ``lock_wait_timeout`` (seconds) a lock another connection
        holds on it makes the drop fail after that long (1205, or 20400 on MatrixOne 3.0),
        where the server's default would wait a day (MariaDB) or a year (MatrixOne 3.0)."""
        drop = f"DROP DATABASE IF EXISTS {quote(database)}"
        if lock_wait_timeout is None:
            ex.execute_ddl(drop)
            return
        ex.execute_script(
            [
                "SET @moclone_lwt = @@session.lock_wait_timeout",
                f"SET SESSION lock_wait_timeout = {max(1, int(lock_wait_timeout))}",
            ]
        )
        try:
            ex.execute_ddl(drop)
        finally:
            with contextlib.suppress(QueryError):
                ex.execute("SET SESSION lock_wait_timeout = @moclone_lwt")

    #: What the server answers when a statement waited ``lock_wait_timeout`` for a lock.
    lock_wait_codes: frozenset[int] = frozenset({1205})

    #: The process list's columns: a connection's id, and its current database.
    process_columns = ("id", "db")

    def end_connections(self, ex: Executor, database: str, keep: tuple[int, ...] = ()) -> int:
        """End every other connection whose current database is ``database`` (a test left it
        open: it would hold locks, or write after the check), except the ids in ``keep`` (a
        connection just closed, which the server may list a moment longer); how many.

        The listing is trusted only once it shows this connection itself: a MatrixOne 3.0.18
        that has just started lists none of the users' sessions for a few seconds (seen live),
        so it is read again, for at most :data:`PROCESSLIST_WAIT` seconds."""
        conn_id, db = self.process_columns
        deadline = time.monotonic() + PROCESSLIST_WAIT
        while True:
            rows = ex.execute(
                f"SELECT {conn_id}, {conn_id} = CONNECTION_ID() "
                "FROM information_schema.processlist WHERE"
                f" {db} = %s OR {conn_id} = CONNECTION_ID()",
                (database,),
            )
            if any(int(me or 0) for _, me in rows) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        others = [int(n) for n, me in rows if not int(me or 0) and int(n) not in keep]
        for number in others:
            with contextlib.suppress(QueryError):  # it ended by itself in between
                ex.execute(f"KILL CONNECTION {number}")
        return len(others)

    #: ``ROLLBACK TO SAVEPOINT`` works (it tells whether a test ended its transaction).
    savepoints: bool = True

    def transaction_id(self, ex: Executor) -> Optional[str]:
        """The id of the session's current transaction, where the server tells it."""
        return None

    def rolls_back_every_write(self, ex: Executor, database: str) -> bool:
        """Every write to ``database``'s tables is undone by a rollback (no table of an engine
        without transactions, no sequence)."""
        return True

    def hide_from_signals(self, ex: Executor) -> bool:
        """Leave this session's own writes out of the change signals where they are counted per
        session (its rolled-back writes then leave no trace); False where nothing was hidden."""
        return False

    def read_signals(
        self, ex: Executor, database: str, base: str, snapshot: str, *, after: bool
    ) -> Optional[Signals]:
        """The exact change signals of ``database`` (detect.py), or None where the server has
        none: then every test's database is made afresh."""
        return None

    def reset_tables(
        self, ex: Executor, database: str, tables: list[str], base: str, snapshot: str
    ) -> bool:
        """Copy ``tables`` of ``database`` again from ``base`` at ``snapshot``; False where this
        dialect cannot (the caller then makes the database afresh)."""
        return False

    @abstractmethod
    def clone_database(
        self,
        ex: Executor,
        target: str,
        source: str,
        snapshot: Optional[SnapshotInfo],
        branch: bool = False,
    ) -> None:
        """Create ``target`` as a copy of ``source`` (as of ``snapshot`` when given).

        ``branch`` asks for a copy that remembers its lineage (for an exact diff) where the
        server can; elsewhere it is an ordinary clone.
        """

    @abstractmethod
    def diff_database(
        self,
        ex: Executor,
        target: str,
        base: str,
        snapshot: Optional[SnapshotInfo],
        diff: DatabaseDiff,
        limit: int,
    ) -> DatabaseDiff:
        """Fill ``diff`` with what ``target`` changed against ``base`` (at ``snapshot``)."""

    @abstractmethod
    def clone_table(
        self, ex: Executor, target: TableName, source: TableName, snapshot: Optional[SnapshotInfo]
    ) -> None:
        """Create table ``target`` as a copy of ``source`` (both fully qualified)."""

    @abstractmethod
    def create_snapshot(
        self, ex: Executor, name: str, database: str, table: Optional[str]
    ) -> None: ...

    @abstractmethod
    def drop_snapshot(self, ex: Executor, snapshot: SnapshotInfo) -> None: ...

    @abstractmethod
    def list_snapshots(self, ex: Executor, name: Optional[str] = None) -> list[SnapshotInfo]:
        """All snapshots (or the one called ``name``), newest first."""

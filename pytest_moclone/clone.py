"""CloneManager: the MatrixOne SDK's clone calls, validated, checked and dispatched to a dialect.

Existence is checked here, before the clone, on every server: released MatrixOne versions ignore
``IF NOT EXISTS`` with ``CLONE`` (or corrupt the table), and v4.2.0 clones a missing source into
an empty database without complaint.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Optional

from .diff import DatabaseDiff
from .errors import CloneError, QueryError, raises, server_refused
from .janitor import CloneJanitor
from .names import TableName, check_identifier, check_not_system, check_snapshot_name
from .verify import Difference, verify

if TYPE_CHECKING:
    from .connection import Executor
    from .dialects.base import Dialect, SnapshotInfo

log = logging.getLogger("pytest_moclone")

#: ``information_schema.tables.table_type`` of a table that holds rows of its own: MariaDB names
#: a system-versioned table ``SYSTEM VERSIONED``; views, sequences (MatrixOne: ``INTERNAL
#: TABLE``) and external tables are refused by :meth:`CloneManager.clone_table`.
BASE_TABLE_TYPES = frozenset({"BASE TABLE", "SYSTEM VERSIONED"})

#: Seconds a drop waits for a lock another connection holds before it says the database is busy.
DROP_LOCK_WAIT = 30


def article(noun: str) -> str:
    return ("an " if noun[:1] in "aeiou" else "a ") + noun


class CloneManager:
    """``client.clone`` (runs on the client) or ``session.clone`` (runs in the session)."""

    def __init__(self, executor: Executor, dialect: Dialect) -> None:
        self.executor = executor
        self.dialect = dialect

    @property
    def native(self) -> bool:
        """True when the server clones natively; False when the clone is emulated in SQL."""
        return self.dialect.native

    # -- databases ------------------------------------------------------------------------
    @property
    def lineage_diff(self) -> bool:
        """True where :meth:`branch_database` copies diff natively row by row (MatrixOne 3.0.5+)."""
        return self.dialect.lineage_diff

    @property
    def concurrent_branches(self) -> bool:
        """True where branches can be made and dropped from several connections at once
        (MatrixOne 4.x). MatrixOne 3.0.x deadlocks on its lineage catalog when two do."""
        return self.lineage_diff and self.dialect.concurrent_branches

    @raises(CloneError)
    def branch_database(
        self,
        target_db: str,
        source_db: str,
        snapshot_name: Optional[str] = None,
        if_not_exists: bool = False,
    ) -> bool:
        """Like :meth:`clone_database`, but the copy remembers where it came from, so that
        :meth:`diff` can name each row inserted, updated or deleted (``DATA BRANCH CREATE`` on
        MatrixOne >= 3.0.5). Elsewhere it is exactly :meth:`clone_database`."""
        return self.clone_database(target_db, source_db, snapshot_name, if_not_exists, _branch=True)

    @raises(CloneError)
    def diff(
        self,
        target_db: str,
        base_db: str,
        snapshot_name: Optional[str] = None,
        max_rows: int = 5,
    ) -> DatabaseDiff:
        """What ``target_db`` changed against ``base_db`` (as of ``snapshot_name`` if given).

        Counts are exact; at most ``max_rows`` rows of each kind are returned per table.
        """
        target = check_identifier(target_db, "target database name")
        base = check_identifier(base_db, "base database name")
        what = f"cannot diff database {target!r} against {base!r}"
        snapshot = self._both_exist(what, target, base, snapshot_name)
        result = DatabaseDiff(target, base, snapshot.name if snapshot else None)
        try:
            return self.dialect.diff_database(
                self.executor, target, base, snapshot, result, max_rows
            )
        except QueryError as exc:
            raise server_refused(CloneError, what, exc) from exc

    @raises(CloneError)
    def clone_database(
        self,
        target_db: str,
        source_db: str,
        snapshot_name: Optional[str] = None,
        if_not_exists: bool = False,
        *,
        _branch: bool = False,
    ) -> bool:
        """Create ``target_db`` as a copy of ``source_db`` (as of ``snapshot_name`` if given).

        Returns True if it was created, False if it existed and ``if_not_exists`` was set.
        """
        target = check_identifier(target_db, "target database name")
        source = check_identifier(source_db, "source database name")
        check_not_system(source, "source")
        check_not_system(target, "target")
        what = f"cannot clone database {source!r} into {target!r}"
        ex, dialect = self.executor, self.dialect
        snapshot = None
        if snapshot_name is not None:
            snapshot = self._snapshot_for(what, snapshot_name, database=source, table=None)
        elif not dialect.database_exists(ex, source):
            raise CloneError(f"{what}: source database {source!r} does not exist")
        if dialect.database_exists(ex, target):
            if if_not_exists:
                return False
            raise CloneError(f"{what}: database {target!r} already exists (use if_not_exists=True)")
        self._run(what, lambda: dialect.clone_database(ex, target, source, snapshot, _branch))
        return True

    @raises(CloneError)
    def clone_database_with_snapshot(
        self, target_db: str, source_db: str, snapshot_name: str, if_not_exists: bool = False
    ) -> bool:
        """Like :meth:`clone_database`, but the snapshot is required (and checked first)."""
        if snapshot_name is None:
            raise CloneError(
                f"cannot clone database {source_db!r} into {target_db!r}: "
                "clone_database_with_snapshot needs a snapshot_name"
            )
        return self.clone_database(target_db, source_db, snapshot_name, if_not_exists)

    @raises(CloneError)
    def verify(
        self, clone_db: str, source_db: str, snapshot_name: Optional[str] = None
    ) -> list[Difference]:
        """How ``clone_db`` differs from ``source_db`` (as of ``snapshot_name``): objects missing
        or extra by kind, and tables whose row count or checksum differ, each with the server's
        limit and the fix where known. Empty when the clone is faithful."""
        clone = check_identifier(clone_db, "clone database name")
        source = check_identifier(source_db, "source database name")
        what = f"cannot compare database {clone!r} with {source!r}"
        snapshot = self._both_exist(what, clone, source, snapshot_name)
        try:
            return verify(self.executor, self.dialect, clone, source, snapshot)
        except QueryError as exc:
            raise server_refused(CloneError, what, exc) from exc

    # -- tables ---------------------------------------------------------------------------
    @raises(CloneError)
    def clone_table(
        self,
        target_table: str,
        source_table: str,
        snapshot_name: Optional[str] = None,
        if_not_exists: bool = False,
    ) -> bool:
        """Create table ``target_table`` as a copy of ``source_table``; ``db.table`` on either side.

        Unqualified names mean the client's current database.
        """
        default = self.executor.database
        target = TableName.parse(target_table, "target table name").resolve(default)
        source = TableName.parse(source_table, "source table name").resolve(default)
        assert target.database is not None and source.database is not None
        check_not_system(source.database, "source")
        check_not_system(target.database, "target")
        what = f"cannot clone table {source} into {target}"
        ex, dialect = self.executor, self.dialect
        snapshot = None
        if snapshot_name is not None:
            snapshot = self._snapshot_for(
                what, snapshot_name, database=source.database, table=source.table
            )
        kind = dialect.source_table_type(ex, source, snapshot)
        if kind is None and snapshot is None:
            raise CloneError(f"{what}: source table {source} does not exist")
        if kind is not None and kind not in BASE_TABLE_TYPES:
            raise CloneError(
                f"{what}: {source} is {article(kind.lower())}, not a base table; only base tables "
                "can be cloned one by one (clone its database to copy it with the rest)"
            )
        if not dialect.database_exists(ex, target.database):
            raise CloneError(
                f"{what}: target database {target.database!r} does not exist (create it first)"
            )
        if dialect.table_exists(ex, target):
            if if_not_exists:
                return False
            raise CloneError(f"{what}: table {target} already exists (use if_not_exists=True)")
        self._run(what, lambda: dialect.clone_table(ex, target, source, snapshot))
        return True

    @raises(CloneError)
    def clone_table_with_snapshot(
        self, target_table: str, source_table: str, snapshot_name: str, if_not_exists: bool = False
    ) -> bool:
        """Like :meth:`clone_table`, but the snapshot is required (and checked first)."""
        if snapshot_name is None:
            raise CloneError(
                f"cannot clone table {source_table!r} into {target_table!r}: "
                "clone_table_with_snapshot needs a snapshot_name"
            )
        return self.clone_table(target_table, source_table, snapshot_name, if_not_exists)

    # -- a clone's life ---------------------------------------------------------------------
    @raises(CloneError)
    def drop(self, database: str, *, lock_wait_timeout: Optional[int] = DROP_LOCK_WAIT) -> None:
        """Drop a clone (``DROP DATABASE IF EXISTS``, retried when it loses a deadlock).

        A lock another connection holds on it (an open transaction that wrote to it; on MariaDB
        any open transaction that read it) makes the drop wait at most ``lock_wait_timeout``
        seconds (None: the server's default, a day on MariaDB), then raise CloneError saying it
        is busy; :meth:`end_connections` first ends the connections using it. The library drops
        what it is told to: the plugin calls this only for databases its registry proves it
        created.
        """
        name = check_identifier(database, "database name")
        check_not_system(name, "dropped")
        what = f"cannot drop database {name!r}"
        try:
            self.dialect.drop_database(self.executor, name, lock_wait_timeout)
        except QueryError as exc:
            if exc.server_code in self.dialect.lock_wait_codes:
                raise CloneError(
                    f"{what}: it is busy: another connection holds a lock on it (an open "
                    f"transaction), and the drop waited {lock_wait_timeout} s for it; commit or "
                    "close that connection, or end the connections using the database with "
                    "client.clone.end_connections() first",
                    server_code=exc.server_code,
                    server_message=exc.server_message,
                ) from exc
            raise server_refused(CloneError, what, exc) from exc

    @raises(CloneError)
    def end_connections(self, database: str, *, keep: tuple[int, ...] = ()) -> int:
        """End every other connection whose current database is ``database`` (their open
        transactions roll back, their locks go), except the connection ids in ``keep``; how
        many there were."""
        name = check_identifier(database, "database name")
        check_not_system(name, "target")
        return self.dialect.end_connections(self.executor, name, keep)

    def temporary(
        self,
        target_db: str,
        source_db: str,
        snapshot_name: Optional[str] = None,
        *,
        branch: bool = False,
    ) -> CloneJanitor:
        """A clone that lives for a ``with`` block: made on entry, dropped on exit."""
        return CloneJanitor(self, target_db, source_db, snapshot_name, branch=branch)

    # -- shared -----------------------------------------------------------------------------
    def _both_exist(
        self, what: str, ours: str, base: str, snapshot_name: Optional[str]
    ) -> Optional[SnapshotInfo]:
        """``base``'s snapshot ``snapshot_name`` (if given), once both databases exist."""
        snapshot = None
        if snapshot_name is not None:
            snapshot = self._snapshot_for(what, snapshot_name, database=base, table=None)
        for name in (ours, base):
            if not self.dialect.database_exists(self.executor, name):
                raise CloneError(f"{what}: database {name!r} does not exist")
        return snapshot

    def _snapshot_for(
        self, what: str, snapshot_name: str, *, database: str, table: Optional[str]
    ) -> SnapshotInfo:
        """The snapshot, checked to exist and to cover what is being cloned."""
        name = check_snapshot_name(snapshot_name)
        found = self.dialect.list_snapshots(self.executor, name)
        if not found:
            raise CloneError(f"{what}: snapshot {name!r} does not exist")
        snapshot = found[0]
        if snapshot.level == "table":
            if table is None:
                raise CloneError(
                    f"{what}: snapshot {name!r} is of table {snapshot.database}.{snapshot.table}; "
                    "a database clone needs a snapshot of the database"
                )
            covered = self._same(snapshot.database, database) and self._same(snapshot.table, table)
        elif snapshot.level == "database":
            covered = self._same(snapshot.database, database)
        else:  # account or cluster snapshots cover every database
            covered = True
        if not covered:
            scope = (
                snapshot.database
                if snapshot.level == "database"
                else (f"{snapshot.database}.{snapshot.table}")
            )
            raise CloneError(f"{what}: snapshot {name!r} is of {snapshot.level} {scope!r}")
        return snapshot

    def _same(self, a: Optional[str], b: Optional[str]) -> bool:
        """Two names equal the way the server compares them (MatrixOne folds case)."""
        if a is None or b is None:
            return a == b
        return a.lower() == b.lower() if self.dialect.folds_names else a == b

    def _run(self, what: str, clone: object) -> None:
        started = time.perf_counter()
        try:
            clone()  # type: ignore[operator]
        except QueryError as exc:
            raise server_refused(CloneError, what, exc) from exc
        log.debug(
            "%s took %.1f ms",
            what.replace("cannot clone", "clone"),
            (time.perf_counter() - started) * 1000,
        )

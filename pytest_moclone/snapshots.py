"""SnapshotManager: create, drop, find and list snapshots, on MatrixOne or emulated."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from .errors import QueryError, SnapshotError, raises, server_refused
from .names import TableName, check_identifier, check_not_system, check_snapshot_name

if TYPE_CHECKING:
    from .connection import Executor
    from .dialects.base import Dialect, SnapshotInfo

_NOT_IN_SESSION = (
    "snapshots cannot be {verb} inside a session: MatrixOne refuses snapshot statements in a "
    "transaction (and on MySQL/MariaDB the DDL would commit the session); do it before or "
    "after the session"
)


class SnapshotManager:
    """``client.snapshots`` (runs on the client) or ``session.snapshots`` (reads only)."""

    def __init__(self, executor: Executor, dialect: Dialect) -> None:
        self.executor = executor
        self.dialect = dialect

    @raises(SnapshotError)
    def create(
        self, name: str, database: Optional[str] = None, table: Optional[str] = None
    ) -> SnapshotInfo:
        """Snapshot ``database`` (or one ``table`` of it): FOR DATABASE / FOR TABLE."""
        name = check_snapshot_name(name)
        database = database if database is not None else self.executor.database
        if database is None:
            raise SnapshotError(
                f"cannot create snapshot {name!r}: no database given and the client has none "
                "selected (pass database=...)"
            )
        check_identifier(database, "database name")
        check_not_system(database, "snapshot")
        if table is not None:
            check_identifier(table, "table name")
        what = f"cannot create snapshot {name!r}"
        if self.executor.in_transaction:
            raise SnapshotError(f"{what}: " + _NOT_IN_SESSION.format(verb="created"))
        ex, dialect = self.executor, self.dialect
        if not dialect.database_exists(ex, database):
            raise SnapshotError(f"{what}: database {database!r} does not exist")
        if table is not None and not dialect.table_exists(ex, TableName(table, database)):
            raise SnapshotError(f"{what}: table {database}.{table} does not exist")
        if dialect.list_snapshots(ex, name):
            raise SnapshotError(f"{what}: snapshot {name!r} already exists")
        try:
            dialect.create_snapshot(ex, name, database, table)
        except QueryError as exc:
            raise server_refused(SnapshotError, what, exc) from exc
        created = dialect.list_snapshots(ex, name)
        if not created:
            raise SnapshotError(f"{what}: the server accepted it but does not list it")
        return created[0]

    @raises(SnapshotError)
    def drop(self, name: str, if_exists: bool = False) -> bool:
        """Drop a snapshot. Returns False if it did not exist and ``if_exists`` was set."""
        name = check_snapshot_name(name)
        what = f"cannot drop snapshot {name!r}"
        if self.executor.in_transaction:
            raise SnapshotError(f"{what}: " + _NOT_IN_SESSION.format(verb="dropped"))
        found = self.dialect.list_snapshots(self.executor, name)
        if not found:
            if if_exists:
                return False
            raise SnapshotError(f"{what}: it does not exist (use if_exists=True)")
        try:
            self.dialect.drop_snapshot(self.executor, found[0])
        except QueryError as exc:
            raise server_refused(SnapshotError, what, exc) from exc
        return True

    @raises(SnapshotError)
    def get(self, name: str) -> SnapshotInfo:
        """The snapshot called ``name``; SnapshotError when there is none (as the SDK does)."""
        found = self.dialect.list_snapshots(self.executor, check_snapshot_name(name))
        if not found:
            raise SnapshotError(f"snapshot {name!r} does not exist")
        return found[0]

    @raises(SnapshotError)
    def exists(self, name: str) -> bool:
        return bool(self.dialect.list_snapshots(self.executor, check_snapshot_name(name)))

    @raises(SnapshotError)
    def list(self) -> list[SnapshotInfo]:
        """Every snapshot, newest first."""
        return self.dialect.list_snapshots(self.executor)

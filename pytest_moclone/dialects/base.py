"""The small interface every server family implements.

The managers validate names, check what exists and word the errors; a dialect only knows how its
server does each step. Every name a dialect receives has already been checked.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from ..names import TableName, literal

if TYPE_CHECKING:
    from ..client import Client, Executor
    from ..diff import DatabaseDiff


@dataclass(frozen=True)
class SnapshotInfo:
    """One snapshot as the server (or the emulation's registry) knows it."""

    name: str
    level: str  # "database", "table", "account" or "cluster"
    database: Optional[str] = None
    table: Optional[str] = None
    created_at: Optional[dt.datetime] = None


class Dialect(ABC):
    name: str
    #: True when clones and snapshots are the server's own (MatrixOne >= 3.0), False when emulated.
    native: bool

    def database_exists(self, ex: Executor, database: str) -> bool:
        rows = ex.execute(
            "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (database,)
        )
        return bool(rows)

    def table_exists(self, ex: Executor, table: TableName) -> bool:
        rows = ex.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
            (table.database, table.table),
        )
        return bool(rows)

    def list_tables(self, ex: Executor, database: str) -> list[str]:
        rows = ex.execute(
            "SELECT table_name FROM information_schema.tables "
            f"WHERE table_schema = {literal(database)} AND table_type = 'BASE TABLE' "
            "ORDER BY table_name"
        )
        return [str(r[0]) for r in rows]

    #: True where a database made by ``clone_database(..., branch=True)`` diffs row by row natively.
    lineage_diff: bool = False

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
        client: Client,
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

    def drop_database(self, ex: Executor, database: str) -> None:
        ex.client.drop_database(database)

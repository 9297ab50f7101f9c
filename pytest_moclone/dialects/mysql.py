"""MySQL and MariaDB: clone and snapshot emulated in plain SQL.

A *clone* runs a database's plan (mysql_plan.py) into a new database in one multi-statement round
trip, with foreign key and unique checks off during it; large tables of a frozen snapshot may be
copied as tablespace files instead (tablespaces.py).

A *snapshot* is such a copy, frozen in a hidden database derived from the snapshot's name, and
listed in a registry table; only what the registry lists is ever treated (or dropped) as a
snapshot. The plan of a frozen copy cannot change, so it is read once and cached.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Optional

from ..errors import CloneWarning, MocloneError, QueryError, SnapshotError
from ..names import TableName, literal, quote
from . import tablespaces
from .base import Dialect, SnapshotInfo
from .mysql_objects import subject_of
from .mysql_plan import (
    NAMED_FOREIGN_KEY,
    UNQUALIFIED_REFERENCE,
    DatabasePlan,
    TablePlan,
    copy_rows,
    create_table_as,
    read_plan,
)
from .signals import (
    mariadb_can_detect,
    mariadb_hide_session,
    mariadb_only_transactional,
    mariadb_signals,
)
from .sql_diff import diff_databases

if TYPE_CHECKING:
    from ..connection import Executor, Row
    from ..detect import Signals
    from ..diff import DatabaseDiff

log = logging.getLogger("pytest_moclone")

REGISTRY_DATABASE = "__moclone"
REGISTRY_TABLE = f"{quote(REGISTRY_DATABASE)}.`snapshots`"
FROZEN_PREFIX = "__mosnap_"


def frozen_database_name(snapshot_name: str) -> str:
    """The hidden database that holds a snapshot's frozen copy (always within 64 characters)."""
    name = FROZEN_PREFIX + snapshot_name
    if len(name) <= 64:
        return name
    digest = hashlib.sha1(snapshot_name.encode()).hexdigest()[:8]
    return f"{FROZEN_PREFIX}{snapshot_name[: 64 - len(FROZEN_PREFIX) - 9]}_{digest}"


def read_checked_plan(ex: Executor, database: str) -> DatabasePlan:
    """The plan of ``database``, with a warning for each object a copy cannot reproduce."""
    plan = read_plan(ex, database)
    for line in plan.warnings:
        warnings.warn(CloneWarning(f"copying database {database!r}: {line}"), stacklevel=3)
    return plan


class MySQLDialect(Dialect):
    """The emulation; also used for MatrixOne servers older than 3.0 (no native CLONE)."""

    native = False

    def __init__(self, name: str = "mysql") -> None:
        self.name = name
        mysql_family = name in ("mysql", "mariadb")  # else an old MatrixOne, emulated too
        self.checksum_table = self.binary_compare = self.narrow_large_tables = mysql_family
        self.folds_names = not mysql_family
        #: Large frozen tables may be copied as InnoDB tablespace files (measured on MariaDB).
        self.tablespace_files = name == "mariadb"
        self._frozen_plans: dict[tuple[str, object], DatabasePlan] = {}
        self._frozen_checksums: dict[tuple[str, object], dict[str, object]] = {}
        self._registry_ready = False
        #: Frozen tables at least this large are cloned as tablespace files when the client
        #: owns the server's data folder (:mod:`.tablespaces`); tests lower it to 0.
        self.file_copy_min_bytes = tablespaces.MIN_BYTES
        self._files_refused = False
        self._can_detect: Optional[bool] = None  # performance_schema instruments what we need

    # -- clones ---------------------------------------------------------------------------
    def clone_database(
        self,
        ex: Executor,
        target: str,
        source: str,
        snapshot: Optional[SnapshotInfo],
        branch: bool = False,
    ) -> None:
        if snapshot is None:
            plan = read_checked_plan(ex, source)
            self._run_copy(ex, plan.statements(target), created_database=target)
            return
        plan = self._frozen_plan(ex, snapshot)
        as_files = self._tables_as_files(ex, plan, target)
        if not as_files:
            self._run_copy(ex, plan.statements(target, frozen=True), created_database=target)
            return
        datadir = ex.datadir
        assert datadir is not None

        def fill_tables() -> list[str]:
            tablespaces.check_data_folder(datadir, target, as_files)
            tablespaces.copy_tablespaces(ex, datadir, plan.database, target, as_files)
            return [
                *(f"ALTER TABLE {quote(target)}.{quote(t)} IMPORT TABLESPACE" for t in as_files),
                *plan.foreign_key_statements(target),
                *plan.object_statements(target),
            ]

        try:
            self._run_copy(
                ex,
                plan.table_statements(target, frozen=True, as_files=as_files),
                created_database=target,
                then=fill_tables,
            )
        except tablespaces.ForeignDataFolder as exc:
            log.warning("copying rows instead of tablespace files: %s", exc)
            self._files_refused = True
            self._run_copy(ex, plan.statements(target, frozen=True), created_database=target)
        else:
            log.debug("cloned %d tables of %s as tablespace files", len(as_files), target)

    def _tables_as_files(
        self, ex: Executor, plan: DatabasePlan, target: str, only: Optional[list[str]] = None
    ) -> list[str]:
        if ex.datadir is None or not self.tablespace_files or self._files_refused:
            return []
        found = tablespaces.tables_to_copy(plan, ex.datadir, target, self.file_copy_min_bytes)
        return found if only is None else [t for t in found if t in only]

    def diff_database(
        self,
        ex: Executor,
        target: str,
        base: str,
        snapshot: Optional[SnapshotInfo],
        diff: DatabaseDiff,
        limit: int,
    ) -> DatabaseDiff:
        """Compare with the frozen copy of the snapshot (or with ``base`` as it is now)."""
        side = base if snapshot is None else frozen_database_name(snapshot.name)
        sums = None  # a frozen copy's checksums cannot change: keep them
        if snapshot is not None:
            sums = self._frozen_checksums.setdefault((snapshot.name, snapshot.created_at), {})
        return diff_databases(
            ex, self, target, side, lambda table: f"{quote(side)}.{quote(table)}", diff, limit, sums
        )

    def clone_table(
        self, ex: Executor, target: TableName, source: TableName, snapshot: Optional[SnapshotInfo]
    ) -> None:
        assert target.database is not None and source.database is not None
        read_from = source
        if snapshot is not None:
            read_from = TableName(source.table, frozen_database_name(snapshot.name))
        create = ex.query_many([f"SHOW CREATE TABLE {read_from.sql}"])[0][0][1]
        create = create_table_as(str(create), target)
        if target.database == source.database:
            # Foreign key names are unique per database: let the server name the copy's own.
            create = NAMED_FOREIGN_KEY.sub("FOREIGN KEY", create)
        else:
            # As on MatrixOne, a table cloned into another database keeps pointing at the source's.
            create = UNQUALIFIED_REFERENCE.sub(
                lambda m: f"REFERENCES {quote(source.database or '')}.{m.group(1)} (", create
            )
        columns = tuple(
            str(c)
            for c, extra in ex.execute(
                "SELECT column_name, extra FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
                (read_from.database, read_from.table),
            )
            if not any(w in str(extra or "").upper() for w in ("VIRTUAL", "STORED", "PERSISTENT"))
        )
        copy = copy_rows(TablePlan(target.table, create, columns), read_from, target)
        self._run_copy(ex, [create, copy], created_table=target)

    def read_side(self, base: str, snapshot: Optional[SnapshotInfo]) -> tuple[str, str]:
        return (base if snapshot is None else frozen_database_name(snapshot.name)), ""

    def source_table_type(
        self, ex: Executor, table: TableName, snapshot: Optional[SnapshotInfo]
    ) -> Optional[str]:
        if snapshot is None:
            return self.table_type(ex, table)
        return self.table_type(ex, TableName(table.table, frozen_database_name(snapshot.name)))

    def _run_copy(
        self,
        ex: Executor,
        statements: list[str],
        *,
        created_database: Optional[str] = None,
        created_table: Optional[TableName] = None,
        then: Optional[Callable[[], list[str]]] = None,
    ) -> None:
        """Run a copy with foreign key and unique checks off, in one round trip (two when
        ``then`` must do its work between them and returns the rest); undo it if it fails."""
        script = [
            "SET @moclone_fk = @@session.foreign_key_checks, @moclone_uc = @@session.unique_checks",
            "SET SESSION foreign_key_checks = 0, unique_checks = 0",
            *statements,
        ]
        restore = "SET SESSION foreign_key_checks = @moclone_fk, unique_checks = @moclone_uc"
        sent: list[str] = []
        try:
            if then is None:
                sent = [*script, restore]
                ex.execute_script(sent)
            else:
                sent = script
                ex.execute_script(sent)
                sent = [*then(), restore]
                ex.execute_script(sent)
        except QueryError as exc:
            self._after_failed_copy(ex, created_database, created_table)
            index = exc.statement_index
            if exc.subject is None and index is not None and index < len(sent):
                exc.subject = subject_of(sent[index])
            raise
        except BaseException:
            self._after_failed_copy(ex, created_database, created_table)
            raise
        if created_database is not None:
            ex.on_rollback(lambda: self.drop_database(ex, created_database))
        if created_table is not None:
            drop_table = f"DROP TABLE IF EXISTS {created_table.sql}"
            ex.on_rollback(lambda: ex.execute_script([drop_table]))

    def _after_failed_copy(
        self, ex: Executor, database: Optional[str], table: Optional[TableName]
    ) -> None:
        """Undo a half-done copy. The managers checked that the target did not exist."""
        try:
            ex.execute("ROLLBACK")
            # Before the checks come back on: a table whose tablespace was discarded cannot be
            # dropped with foreign key checks on (MariaDB answers 1205, a lock wait timeout).
            if database is not None:
                ex.execute(f"DROP DATABASE IF EXISTS {quote(database)}")
            if table is not None:
                ex.execute(f"DROP TABLE IF EXISTS {table.sql}")
            ex.execute(
                "SET SESSION foreign_key_checks = COALESCE(@moclone_fk, 1), "
                "unique_checks = COALESCE(@moclone_uc, 1)"
            )
        except MocloneError:  # the connection is gone: the original error says why
            pass

    def _frozen_plan(self, ex: Executor, snapshot: SnapshotInfo) -> DatabasePlan:
        key = (snapshot.name, snapshot.created_at)
        plan = self._frozen_plans.get(key)
        if plan is None:
            plan = read_plan(ex, frozen_database_name(snapshot.name))
            self._frozen_plans[key] = plan
        return plan

    # -- resetting what a test changed -------------------------------------------------------
    def read_signals(
        self, ex: Executor, database: str, base: str, snapshot: str, *, after: bool
    ) -> Optional[Signals]:
        """Exact only on a server whose data folder is ours, with performance_schema on."""
        if ex.datadir is None or self._files_refused or not self.tablespace_files:
            return None
        if self._can_detect is None:
            self._can_detect = mariadb_can_detect(ex)
        return mariadb_signals(ex, database, ex.datadir) if self._can_detect else None

    def rolls_back_every_write(self, ex: Executor, database: str) -> bool:
        return mariadb_only_transactional(ex, database)

    def hide_from_signals(self, ex: Executor) -> bool:
        if ex.datadir is None or not self._can_detect:
            return False
        return mariadb_hide_session(ex)

    def reset_tables(
        self, ex: Executor, database: str, tables: list[str], base: str, snapshot: str
    ) -> bool:
        found = self.list_snapshots(ex, snapshot)
        if not found:
            return False
        plan = self._frozen_plan(ex, found[0])
        if self._tables_as_files(ex, plan, database, only=tables):
            return False  # large tables: a fresh clone copies them as files, faster than rows
        self._run_copy(ex, plan.reset_statements(database, tables))
        return True

    # -- snapshots ------------------------------------------------------------------------
    def _ensure_registry(self, ex: Executor) -> None:
        if self._registry_ready:
            return
        ex.execute_script(
            [
                f"CREATE DATABASE IF NOT EXISTS {quote(REGISTRY_DATABASE)}",
                f"CREATE TABLE IF NOT EXISTS {REGISTRY_TABLE} ("
                "name VARCHAR(64) PRIMARY KEY, level VARCHAR(16) NOT NULL, "
                "database_name VARCHAR(64) NOT NULL, table_name VARCHAR(64) NULL, "
                "frozen_database VARCHAR(64) NOT NULL, state VARCHAR(16) NOT NULL, "
                "created_at DATETIME(6) NOT NULL) "
                "COMMENT 'snapshots emulated by pytest-moclone; each frozen copy is a database'",
            ]
        )
        self._registry_ready = True

    def _registry_exists(self, ex: Executor) -> bool:
        if self._registry_ready:
            return True
        return bool(
            ex.execute(
                "SELECT 1 FROM information_schema.tables "
                "WHERE table_schema = %s AND table_name = 'snapshots'",
                (REGISTRY_DATABASE,),
            )
        )

    def create_snapshot(self, ex: Executor, name: str, database: str, table: Optional[str]) -> None:
        self._ensure_registry(ex)
        frozen = frozen_database_name(name)
        stale = ex.execute(f"SELECT state FROM {REGISTRY_TABLE} WHERE name = %s", (name,))
        if stale:
            raise SnapshotError(
                f"cannot create snapshot {name!r}: a snapshot of that name is registered "
                f"(state {stale[0][0]!r}); drop it first with client.snapshots.drop({name!r})"
            )
        if self.database_exists(ex, frozen):
            raise SnapshotError(
                f"cannot create snapshot {name!r}: database {frozen!r} exists but is not a "
                "snapshot made by pytest-moclone; rename or drop it, or choose another name"
            )
        ex.execute(
            f"INSERT INTO {REGISTRY_TABLE} VALUES (%s, %s, %s, %s, %s, 'building', NOW(6))",
            (name, "database" if table is None else "table", database, table, frozen),
        )
        try:
            if table is None:
                self._run_copy(ex, read_checked_plan(ex, database).statements(frozen))
            else:
                ex.execute(f"CREATE DATABASE {quote(frozen)} CHARACTER SET utf8mb4")
                self.clone_table(ex, TableName(table, frozen), TableName(table, database), None)
        except BaseException:
            self._forget(ex, name, frozen)
            raise
        ex.execute(f"UPDATE {REGISTRY_TABLE} SET state = 'ready' WHERE name = %s", (name,))

    def drop_snapshot(self, ex: Executor, snapshot: SnapshotInfo) -> None:
        self._forget(ex, snapshot.name, frozen_database_name(snapshot.name))

    def _forget(self, ex: Executor, name: str, frozen: str) -> None:
        ex.execute(f"DROP DATABASE IF EXISTS {quote(frozen)}")
        ex.execute(f"DELETE FROM {REGISTRY_TABLE} WHERE name = %s", (name,))
        for cache in (self._frozen_plans, self._frozen_checksums):
            for key in [k for k in cache if k[0] == name]:
                del cache[key]

    def list_snapshots(self, ex: Executor, name: Optional[str] = None) -> list[SnapshotInfo]:
        if not self._registry_exists(ex):
            return []
        where = "state = 'ready'" + ("" if name is None else f" AND name = {literal(name)}")
        rows: list[Row] = ex.execute(
            f"SELECT name, level, database_name, table_name, created_at FROM {REGISTRY_TABLE} "
            f"WHERE {where} ORDER BY created_at DESC, name"
        )
        return [
            SnapshotInfo(str(n), str(lv), str(db), None if t is None else str(t), at)
            for n, lv, db, t, at in rows
        ]

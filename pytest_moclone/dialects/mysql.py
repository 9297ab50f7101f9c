"""MySQL and MariaDB: clone and snapshot emulated in plain SQL.

A *clone* re-creates every table from ``SHOW CREATE TABLE`` (so foreign keys, generated columns,
AUTO_INCREMENT, charsets and comments survive; ``CREATE TABLE ... LIKE`` would drop the foreign
keys on MySQL), copies the rows in one transaction (one consistent read of all tables), then
re-creates views (re-pointed at the clone), triggers and stored routines. The whole copy is one
multi-statement round trip, with foreign key and unique checks off during it.

A *snapshot* is such a copy, frozen in a hidden database derived from the snapshot's name, and
listed in a registry table; only what the registry lists is ever treated (or dropped) as a
snapshot. The plan of a frozen copy cannot change, so it is read once and cached.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

from ..errors import SnapshotError
from ..names import TableName, literal, quote
from . import tablespaces
from .base import Dialect, SnapshotInfo

if TYPE_CHECKING:
    from ..client import Client, Executor, Row
    from ..diff import DatabaseDiff

log = logging.getLogger("pytest_moclone")

REGISTRY_DATABASE = "__moclone"
REGISTRY_TABLE = f"{quote(REGISTRY_DATABASE)}.`snapshots`"
FROZEN_PREFIX = "__mosnap_"

_CREATE_TABLE_HEAD = re.compile(r"^CREATE TABLE `(?:[^`]|``)+`", re.IGNORECASE)
_UNQUALIFIED_REFERENCE = re.compile(r"REFERENCES (`(?:[^`]|``)+`) \(")
_FOREIGN_KEY_ITEM = re.compile(r"^\s*CONSTRAINT `(?:[^`]|``)+` FOREIGN KEY ")
_NAMED_FOREIGN_KEY = re.compile(r"CONSTRAINT `(?:[^`]|``)+` FOREIGN KEY")
_DEFINER = re.compile(r"\s+DEFINER=(`(?:[^`]|``)*`|'[^']*'|\S+?)@(`(?:[^`]|``)*`|'[^']*'|\S+)")
_ROUTINE_HEAD = re.compile(
    r"^CREATE\s+(?P<kind>PROCEDURE|FUNCTION)\s+(?P<name>`(?:[^`]|``)+`|[\w$]+)\s*\(",
    re.IGNORECASE,
)


def frozen_database_name(snapshot_name: str) -> str:
    """The hidden database that holds a snapshot's frozen copy (always within 64 characters)."""
    name = FROZEN_PREFIX + snapshot_name
    if len(name) <= 64:
        return name
    digest = hashlib.sha1(snapshot_name.encode()).hexdigest()[:8]
    return f"{FROZEN_PREFIX}{snapshot_name[: 64 - len(FROZEN_PREFIX) - 9]}_{digest}"


@dataclass(frozen=True)
class TablePlan:
    name: str
    create_sql: str  # SHOW CREATE TABLE, with the table name unqualified
    columns: tuple[str, ...]  # the columns to copy (generated ones are computed, not copied)
    engine: str = ""
    partitioned: bool = False


@dataclass
class DatabasePlan:
    """Everything needed to re-create one database elsewhere, read from the server once."""

    database: str
    charset: str
    collation: str
    tables: list[TablePlan] = field(default_factory=list)
    views: list[tuple[str, str]] = field(default_factory=list)  # (name, definition) in order
    triggers: list[str] = field(default_factory=list)  # CREATE TRIGGER, source-qualified
    routines: list[str] = field(default_factory=list)  # SHOW CREATE PROCEDURE/FUNCTION

    def statements(self, target: str, *, frozen: bool = False) -> list[str]:
        """The statements that re-create this database as ``target`` (a new database)."""
        return self.table_statements(target, frozen=frozen) + self.object_statements(target)

    def table_statements(
        self, target: str, *, frozen: bool = False, as_files: Sequence[str] = ()
    ) -> list[str]:
        """Create ``target`` and its tables with their rows; the tables ``as_files`` are left
        empty with their tablespaces discarded, for :mod:`.tablespaces` to fill. Then no table
        gets its foreign keys yet (:meth:`foreign_key_statements` adds them): MariaDB cannot drop
        a discarded table that a foreign key links, so a copy that fails half-way could not be
        undone."""
        out = [
            f"CREATE DATABASE {quote(target)} "
            f"CHARACTER SET {self.charset} COLLATE {self.collation}",
        ]
        for t in self.tables:
            create = split_foreign_keys(t.create_sql)[0] if as_files else t.create_sql
            out.append(_create_table_as(create, TableName(t.name, target)))
        out += tablespaces.discard(target, as_files)
        # One transaction: every table is read at one point in time (InnoDB locks what
        # INSERT ... SELECT reads, so a writer beside us cannot show us half of its change).
        # A snapshot's frozen copy has no writers: plain reads, without those locks, are
        # consistent there and 13-18% faster (docs/performance.md).
        if frozen:
            out.append("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        out.append("START TRANSACTION")
        out += [
            _copy_rows(t, TableName(t.name, self.database), TableName(t.name, target))
            for t in self.tables
            if t.columns and t.name not in as_files
        ]
        out.append("COMMIT")
        return out

    def foreign_key_statements(self, target: str) -> list[str]:
        """Add the foreign keys that ``table_statements(..., as_files=...)`` left out (with
        foreign key checks off this is a change of metadata, not a rebuild)."""
        out = []
        for t in self.tables:
            keys = split_foreign_keys(t.create_sql)[1]
            if keys:
                added = ", ".join(f"ADD {key}" for key in keys)
                out.append(f"ALTER TABLE {TableName(t.name, target).sql} {added}")
        return out

    def object_statements(self, target: str) -> list[str]:
        """Views (re-pointed at ``target``), triggers and routines, once the tables are there."""
        dst = quote(target)
        repoint = _repointer(self.database, target)
        out = []
        for name, definition in self.views:
            out.append(f"CREATE VIEW {dst}.{quote(name)} AS {repoint(definition)}")
        out += [repoint(t) for t in self.triggers]
        out += [_qualify_routine(r, target) for r in self.routines]
        return out


def split_foreign_keys(create_sql: str) -> tuple[str, list[str]]:
    """``SHOW CREATE TABLE`` without its foreign keys, and those keys' clauses."""
    lines = create_sql.split("\n")
    close = next((i for i, line in enumerate(lines) if line.startswith(")")), len(lines))
    items = [line.rstrip(",") for line in lines[1:close]]
    keys = [item.strip() for item in items if _FOREIGN_KEY_ITEM.match(item)]
    if not keys:
        return create_sql, []
    kept = [item for item in items if not _FOREIGN_KEY_ITEM.match(item)]
    return "\n".join([lines[0], ",\n".join(kept), *lines[close:]]), keys


def _repointer(source: str, target: str) -> Callable[[str], str]:
    """Re-point ``source``-qualified names (views, trigger bodies) at ``target``."""
    old, new = quote(source) + ".", quote(target) + "."

    def repoint(sql: str) -> str:
        return sql.replace(old, new)

    return repoint


def _create_table_as(create_sql: str, target: TableName) -> str:
    return _CREATE_TABLE_HEAD.sub(lambda _m: f"CREATE TABLE {target.sql}", create_sql, count=1)


def _copy_rows(plan: TablePlan, source: TableName, target: TableName) -> str:
    cols = ", ".join(quote(c) for c in plan.columns)
    return f"INSERT INTO {target.sql} ({cols}) SELECT {cols} FROM {source.sql}"


def _qualify_routine(create_sql: str, target: str) -> str:
    """Put a routine into ``target``; its DEFINER goes (the copy belongs to whoever makes it)."""
    body = _DEFINER.sub("", create_sql, count=1)
    match = _ROUTINE_HEAD.match(body)
    if match is None:
        raise ValueError(f"unexpected routine definition: {create_sql[:80]!r}")
    name = match.group("name")
    if name.startswith("`"):
        name = name[1:-1].replace("``", "`")
    head = f"CREATE {match.group('kind').upper()} {quote(target)}.{quote(name)}("
    return head + body[match.end() :]


def read_plan(ex: Executor, database: str) -> DatabasePlan:
    """Read what :meth:`DatabasePlan.statements` needs, in a few round trips."""
    client = ex.client
    charset, collation = ex.execute(
        "SELECT default_character_set_name, default_collation_name "
        "FROM information_schema.schemata WHERE schema_name = %s",
        (database,),
    )[0]
    plan = DatabasePlan(database, str(charset), str(collation))
    kinds = ex.execute(
        "SELECT table_name, table_type, engine, create_options "
        "FROM information_schema.tables WHERE table_schema = %s "
        "ORDER BY table_name",
        (database,),
    )
    tables = [str(row[0]) for row in kinds if row[1] == "BASE TABLE"]
    view_names = [str(row[0]) for row in kinds if row[1] == "VIEW"]
    storage = {
        str(name): (str(engine or ""), "partitioned" in str(options or ""))
        for name, _, engine, options in kinds
    }
    copied: dict[str, list[str]] = {t: [] for t in tables}
    for table, column, extra in ex.execute(
        "SELECT table_name, column_name, extra FROM information_schema.columns "
        "WHERE table_schema = %s ORDER BY table_name, ordinal_position",
        (database,),
    ):
        generated = any(w in str(extra or "").upper() for w in ("VIRTUAL", "STORED", "PERSISTENT"))
        if str(table) in copied and not generated:
            copied[str(table)].append(str(column))
    shows = client.query_many([f"SHOW CREATE TABLE {quote(database)}.{quote(t)}" for t in tables])
    for name, rows in zip(tables, shows, strict=False):
        engine, partitioned = storage[name]
        create = str(rows[0][1])
        plan.tables.append(TablePlan(name, create, tuple(copied[name]), engine, partitioned))
    plan.views = _views_in_order(ex, database, view_names)
    plan.triggers = _triggers(ex, database)
    routines = ex.execute(
        "SELECT routine_type, routine_name FROM information_schema.routines "
        "WHERE routine_schema = %s ORDER BY routine_name",
        (database,),
    )
    shows = client.query_many(
        [f"SHOW CREATE {kind} {quote(database)}.{quote(str(name))}" for kind, name in routines]
    )
    for (_kind, name), rows in zip(routines, shows, strict=False):
        definition = rows[0][2]
        if definition is None:
            raise SnapshotError(
                f"cannot read the definition of routine {database}.{name}: "
                "the user needs the privilege to see it (SHOW CREATE needs SELECT on mysql.proc)"
            )
        plan.routines.append(str(definition))
    return plan


def _views_in_order(ex: Executor, database: str, names: Sequence[str]) -> list[tuple[str, str]]:
    """Views with their definitions, each after the views it reads."""
    if not names:
        return []
    rows = ex.execute(
        "SELECT table_name, view_definition FROM information_schema.views WHERE table_schema = %s",
        (database,),
    )
    pending = {str(n): str(d) for n, d in rows}
    ordered: list[tuple[str, str]] = []
    while pending:
        ready = [
            n
            for n, d in pending.items()
            if not any(f"{quote(database)}.{quote(o)}" in d for o in pending if o != n)
        ]
        if not ready:  # a cycle cannot exist in valid views; keep the rest in name order
            ready = sorted(pending)
        for n in sorted(ready):
            ordered.append((n, pending.pop(n)))
    return ordered


def _triggers(ex: Executor, database: str) -> list[str]:
    rows = ex.execute(
        "SELECT trigger_name, action_timing, event_manipulation, event_object_table, "
        "action_statement FROM information_schema.triggers WHERE trigger_schema = %s "
        "ORDER BY event_object_table, event_manipulation, action_timing, action_order",
        (database,),
    )
    db = quote(database)
    return [
        f"CREATE TRIGGER {db}.{quote(str(name))} {timing} {event} ON {db}.{quote(str(table))} "
        f"FOR EACH ROW {body}"
        for name, timing, event, table, body in rows
    ]


class MySQLDialect(Dialect):
    """The emulation; also used for MatrixOne servers older than 3.0 (no native CLONE)."""

    native = False

    def __init__(self, name: str = "mysql") -> None:
        self.name = name
        self._frozen_plans: dict[tuple[str, object], DatabasePlan] = {}
        self._frozen_checksums: dict[tuple[str, object], dict[str, object]] = {}
        self._registry_ready = False
        #: Frozen tables at least this large are cloned as tablespace files when the client
        #: owns the server's data folder (:mod:`.tablespaces`); tests lower it to 0.
        self.file_copy_min_bytes = tablespaces.MIN_BYTES
        self._files_refused = False

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
            self._run_copy(ex, read_plan(ex, source).statements(target), created_database=target)
            return
        plan = self._frozen_plan(ex, snapshot)
        as_files = self._tables_as_files(ex.client, plan, target)
        if not as_files:
            self._run_copy(ex, plan.statements(target, frozen=True), created_database=target)
            return
        datadir = ex.client.datadir
        assert datadir is not None

        def fill_tables() -> list[str]:
            tablespaces.check_data_folder(datadir, target, as_files)
            tablespaces.copy_tablespaces(ex.client, datadir, plan.database, target, as_files)
            return [
                *tablespaces.adopt(target, as_files),
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

    def _tables_as_files(self, client: Client, plan: DatabasePlan, target: str) -> list[str]:
        if client.datadir is None or self.name != "mariadb" or self._files_refused:
            return []
        return tablespaces.tables_to_copy(plan, client.datadir, target, self.file_copy_min_bytes)

    def diff_database(
        self,
        client: Client,
        target: str,
        base: str,
        snapshot: Optional[SnapshotInfo],
        diff: DatabaseDiff,
        limit: int,
    ) -> DatabaseDiff:
        """Compare with the frozen copy of the snapshot (or with ``base`` as it is now)."""
        from .sql_diff import diff_databases

        side = base if snapshot is None else frozen_database_name(snapshot.name)
        sums = None  # a frozen copy's checksums cannot change: keep them
        if snapshot is not None:
            sums = self._frozen_checksums.setdefault((snapshot.name, snapshot.created_at), {})
        return diff_databases(
            client, target, side, lambda table: f"{quote(side)}.{quote(table)}", diff, limit, sums
        )

    def clone_table(
        self, ex: Executor, target: TableName, source: TableName, snapshot: Optional[SnapshotInfo]
    ) -> None:
        assert target.database is not None and source.database is not None
        read_from = source
        if snapshot is not None:
            read_from = TableName(source.table, frozen_database_name(snapshot.name))
        create = ex.client.query_many([f"SHOW CREATE TABLE {read_from.sql}"])[0][0][1]
        create = _create_table_as(str(create), target)
        if target.database == source.database:
            # Foreign key names are unique per database: let the server name the copy's own.
            create = _NAMED_FOREIGN_KEY.sub("FOREIGN KEY", create)
        else:
            # As on MatrixOne, a table cloned into another database keeps pointing at the source's.
            create = _UNQUALIFIED_REFERENCE.sub(
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
        copy = _copy_rows(TablePlan(target.table, create, columns), read_from, target)
        self._run_copy(ex, [create, copy], created_table=target)

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
        try:
            if then is None:
                ex.execute_script([*script, restore])
            else:
                ex.execute_script(script)
                ex.execute_script([*then(), restore])
        except BaseException:
            self._after_failed_copy(ex, created_database, created_table)
            raise
        if created_database is not None:
            ex.on_rollback(lambda: self.drop_database(ex.client, created_database))
        if created_table is not None:
            drop_table = f"DROP TABLE IF EXISTS {created_table.sql}"
            ex.on_rollback(lambda: ex.client.execute_script([drop_table]))

    def _after_failed_copy(
        self, ex: Executor, database: Optional[str], table: Optional[TableName]
    ) -> None:
        """Undo a half-done copy. The managers checked that the target did not exist."""
        from ..errors import MocloneError

        client = ex.client
        try:
            client.execute("ROLLBACK")
            # Before the checks come back on: a table whose tablespace was discarded cannot be
            # dropped with foreign key checks on (MariaDB answers 1205, a lock wait timeout).
            if database is not None:
                client.execute(f"DROP DATABASE IF EXISTS {quote(database)}")
            if table is not None:
                client.execute(f"DROP TABLE IF EXISTS {table.sql}")
            client.execute(
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

    # -- snapshots ------------------------------------------------------------------------
    def _ensure_registry(self, ex: Executor) -> None:
        if self._registry_ready:
            return
        ex.client.execute_script(
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
        client = ex.client
        frozen = frozen_database_name(name)
        stale = client.execute(f"SELECT state FROM {REGISTRY_TABLE} WHERE name = %s", (name,))
        if stale:
            raise SnapshotError(
                f"cannot create snapshot {name!r}: a snapshot of that name is registered "
                f"(state {stale[0][0]!r}); drop it first with client.snapshots.drop({name!r})"
            )
        if self.database_exists(client, frozen):
            raise SnapshotError(
                f"cannot create snapshot {name!r}: database {frozen!r} exists but is not a "
                "snapshot made by pytest-moclone; rename or drop it, or choose another name"
            )
        client.execute(
            f"INSERT INTO {REGISTRY_TABLE} VALUES (%s, %s, %s, %s, %s, 'building', NOW(6))",
            (name, "database" if table is None else "table", database, table, frozen),
        )
        try:
            if table is None:
                self._run_copy(client, read_plan(client, database).statements(frozen))
            else:
                client.execute(f"CREATE DATABASE {quote(frozen)} CHARACTER SET utf8mb4")
                self.clone_table(client, TableName(table, frozen), TableName(table, database), None)
        except BaseException:
            self._forget(client, name, frozen)
            raise
        client.execute(f"UPDATE {REGISTRY_TABLE} SET state = 'ready' WHERE name = %s", (name,))

    def drop_snapshot(self, ex: Executor, snapshot: SnapshotInfo) -> None:
        self._forget(ex.client, snapshot.name, frozen_database_name(snapshot.name))

    def _forget(self, client: Client, name: str, frozen: str) -> None:
        client.execute(f"DROP DATABASE IF EXISTS {quote(frozen)}")
        client.execute(f"DELETE FROM {REGISTRY_TABLE} WHERE name = %s", (name,))
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

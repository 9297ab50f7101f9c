"""How to re-create a MySQL/MariaDB database elsewhere: read once from the server, as statements.

A table is re-created from ``SHOW CREATE TABLE`` (so foreign keys, generated columns,
AUTO_INCREMENT, charsets and comments survive; ``CREATE TABLE ... LIKE`` would drop the foreign
keys on MySQL), its rows copied in one transaction (one consistent read of all tables), with a
system-versioned table's history where the server can insert it; sequences, routines, views,
triggers and events follow (mysql_objects.py), every name of the source re-pointed at the copy.
Pure planning: reading the plan takes an executor, the statements are plain strings for the
dialect to run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

from ..errors import QueryError
from ..names import TableName, quote
from .mysql_objects import (
    RESTORE_SETTINGS,
    SAVE_SETTINGS,
    ObjectPlan,
    names_in_strings,
    object_statements,
    read_events,
    read_routines,
    read_sequences,
    read_triggers,
    read_views,
    repointer,
)

if TYPE_CHECKING:
    from ..connection import Executor

CREATE_TABLE_HEAD = re.compile(r"^CREATE TABLE `(?:[^`]|``)+`", re.IGNORECASE)
UNQUALIFIED_REFERENCE = re.compile(r"REFERENCES (`(?:[^`]|``)+`) \(")
_FOREIGN_KEY_ITEM = re.compile(r"^\s*CONSTRAINT `(?:[^`]|``)+` FOREIGN KEY ")
NAMED_FOREIGN_KEY = re.compile(r"CONSTRAINT `(?:[^`]|``)+` FOREIGN KEY")


@dataclass(frozen=True)
class TablePlan:
    name: str
    create_sql: str  # SHOW CREATE TABLE, with the table name unqualified
    columns: tuple[str, ...]  # the columns to copy (generated ones are computed, not copied)
    engine: str = ""
    partitioned: bool = False
    #: A system-versioned table's period columns, when its history is copied with its rows.
    history: Optional[tuple[str, str]] = None


@dataclass
class DatabasePlan:
    """Everything needed to re-create one database elsewhere, read from the server once."""

    database: str
    charset: str
    collation: str
    tables: list[TablePlan] = field(default_factory=list)
    sequences: list[ObjectPlan] = field(default_factory=list)
    #: Routines, views (each after those it reads), triggers and events, in that order.
    objects: list[ObjectPlan] = field(default_factory=list)
    #: What a copy of this database cannot reproduce exactly, one line per object.
    warnings: list[str] = field(default_factory=list)

    def statements(self, target: str, *, frozen: bool = False) -> list[str]:
        """The statements that re-create this database as ``target`` (a new database)."""
        return self.table_statements(target, frozen=frozen) + self.object_statements(target)

    def table_statements(
        self, target: str, *, frozen: bool = False, as_files: Sequence[str] = ()
    ) -> list[str]:
        """Create ``target``, its sequences and its tables with their rows; the tables
        ``as_files`` are left empty with their tablespaces discarded, for tablespaces.py to
        fill. Then no table gets its foreign keys yet (:meth:`foreign_key_statements` adds
        them): MariaDB cannot drop a discarded table that a foreign key links, so a copy that
        fails half-way could not be undone."""
        repoint = repointer(self.database, target)
        out = [
            f"CREATE DATABASE {quote(target)} "
            f"CHARACTER SET {self.charset} COLLATE {self.collation}",
        ]
        for sequence in self.sequences:
            out += object_statements(sequence, repoint)
        for t in self.tables:
            create = split_foreign_keys(t.create_sql)[0] if as_files else t.create_sql
            out.append(create_table_as(repoint(create), TableName(t.name, target)))
        out += [f"ALTER TABLE {quote(target)}.{quote(t)} DISCARD TABLESPACE" for t in as_files]
        # One transaction: every table is read at one point in time (InnoDB locks what
        # INSERT ... SELECT reads, so a writer beside us cannot show us half of its change).
        # A snapshot's frozen copy has no writers: plain reads, without those locks, are
        # consistent there and 13-18% faster (docs/performance.md).
        copied = [t for t in self.tables if t.columns and t.name not in as_files]
        out += self._copy_statements(copied, target, frozen=frozen)
        return out

    def _copy_statements(
        self, tables: Sequence[TablePlan], target: str, *, frozen: bool
    ) -> list[str]:
        history = any(t.history for t in tables)
        out = [HISTORY_ON] if history else []
        if frozen:
            out.append("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        out.append("START TRANSACTION")
        out += [
            copy_rows(t, TableName(t.name, self.database), TableName(t.name, target))
            for t in tables
        ]
        out.append("COMMIT")
        return out + ([HISTORY_OFF] if history else [])

    def foreign_key_statements(self, target: str) -> list[str]:
        """Add the foreign keys that ``table_statements(..., as_files=...)`` left out (with
        foreign key checks off this is a change of metadata, not a rebuild)."""
        repoint = repointer(self.database, target)
        out = []
        for t in self.tables:
            keys = split_foreign_keys(t.create_sql)[1]
            if keys:
                added = ", ".join(f"ADD {repoint(key)}" for key in keys)
                out.append(f"ALTER TABLE {TableName(t.name, target).sql} {added}")
        return out

    def object_statements(self, target: str) -> list[str]:
        """Routines, views, triggers and events, each under its own settings, re-pointed at
        ``target``, once the tables are there."""
        if not self.objects:
            return []
        repoint = repointer(self.database, target)
        out = [SAVE_SETTINGS]
        for obj in self.objects:
            out += object_statements(obj, repoint)
        return [*out, RESTORE_SETTINGS]

    def reset_statements(self, target: str, tables: Sequence[str]) -> list[str]:
        """Re-create ``tables`` of ``target`` (a copy of this plan) as they are here, with their
        rows and triggers; run with foreign key checks off, so that a parent can be dropped and
        made again under its children's keys."""
        chosen = [t for t in self.tables if t.name in set(tables)]
        repoint = repointer(self.database, target)
        out = []
        for t in chosen:
            table = TableName(t.name, target)
            out += [
                f"DROP TABLE IF EXISTS {table.sql}",
                create_table_as(repoint(t.create_sql), table),
            ]
        out += self._copy_statements([t for t in chosen if t.columns], target, frozen=True)
        names = {t.name for t in chosen}
        triggers = [o for o in self.objects if o.kind == "trigger" and o.table in names]
        if triggers:
            out.append(SAVE_SETTINGS)
            for trigger in triggers:
                out += object_statements(trigger, repoint)
            out.append(RESTORE_SETTINGS)
        return out


HISTORY_ON = (
    "SET @moclone_vih = @@session.system_versioning_insert_history, "
    "@@session.system_versioning_insert_history = 1"
)
HISTORY_OFF = "SET @@session.system_versioning_insert_history = @moclone_vih"


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


def create_table_as(create_sql: str, target: TableName) -> str:
    return CREATE_TABLE_HEAD.sub(lambda _m: f"CREATE TABLE {target.sql}", create_sql, count=1)


def copy_rows(plan: TablePlan, source: TableName, target: TableName) -> str:
    """Copy the rows; a versioned table's history too (with :data:`HISTORY_ON` in effect)."""
    if plan.history is None:
        cols = ", ".join(quote(c) for c in plan.columns)
        return f"INSERT INTO {target.sql} ({cols}) SELECT {cols} FROM {source.sql}"
    cols = ", ".join(quote(c) for c in (*plan.columns, *plan.history))
    return f"INSERT INTO {target.sql} ({cols}) SELECT {cols} FROM {source.sql} FOR SYSTEM_TIME ALL"


def read_plan(ex: Executor, database: str) -> DatabasePlan:
    """Read what :meth:`DatabasePlan.statements` needs, in a few round trips."""
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
    tables = [str(row[0]) for row in kinds if row[1] in ("BASE TABLE", "SYSTEM VERSIONED")]
    versioned = {str(row[0]) for row in kinds if row[1] == "SYSTEM VERSIONED"}
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
    shows = ex.query_many([f"SHOW CREATE TABLE {quote(database)}.{quote(t)}" for t in tables])
    history = bool(versioned) and _can_insert_history(ex)
    for name, rows in zip(tables, shows, strict=False):
        engine, partitioned = storage[name]
        create = str(rows[0][1])
        period = None
        if name in versioned:
            period = _period_columns(create)
            if not history:
                period = None
                plan.warnings.append(
                    f"table {name} is system-versioned, and this server cannot insert history "
                    "rows (system_versioning_insert_history needs MariaDB 10.11): its copies "
                    "have the current rows only, no history"
                )
        columns = tuple(c for c in copied[name] if period is None or c not in period)
        plan.tables.append(TablePlan(name, create, columns, engine, partitioned, period))
    plan.sequences = read_sequences(
        ex, database, [str(row[0]) for row in kinds if row[1] == "SEQUENCE"]
    )
    views = read_views(ex, database, [str(row[0]) for row in kinds if row[1] == "VIEW"])
    plan.objects = [*read_routines(ex, database), *views, *read_triggers(ex, database)]
    plan.objects += read_events(ex, database)
    for obj in plan.objects:
        if names_in_strings(obj.create_sql, database):
            plan.warnings.append(
                f"{obj.label} names database {database} inside a string (dynamic SQL such as "
                "PREPARE ... FROM '...'), which cannot be re-pointed safely: in a copy it "
                f"still reaches {database}"
            )
    return plan


_PERIOD = re.compile(r"PERIOD FOR SYSTEM_TIME \(`((?:[^`]|``)+)`, `((?:[^`]|``)+)`\)")


def _period_columns(create_sql: str) -> tuple[str, str]:
    """A versioned table's row start/end columns: declared ones, else MariaDB's hidden ones."""
    found = _PERIOD.search(create_sql)
    if found is None:
        return ("row_start", "row_end")
    return (found.group(1).replace("``", "`"), found.group(2).replace("``", "`"))


def _can_insert_history(ex: Executor) -> bool:
    try:
        ex.execute("SELECT @@session.system_versioning_insert_history")
    except QueryError:
        return False
    return True

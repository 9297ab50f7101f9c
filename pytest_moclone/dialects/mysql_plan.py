"""How to re-create a MySQL/MariaDB database elsewhere: read once from the server, as statements.

A table is re-created from ``SHOW CREATE TABLE`` (so foreign keys, generated columns,
AUTO_INCREMENT, charsets and comments survive; ``CREATE TABLE ... LIKE`` would drop the foreign
keys on MySQL), its rows copied in one transaction (one consistent read of all tables); views
(re-pointed at the copy), triggers and stored routines follow. Pure planning: reading the plan
takes an executor, the statements are plain strings for the dialect to run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import SnapshotError
from ..names import TableName, quote

if TYPE_CHECKING:
    from ..connection import Executor

CREATE_TABLE_HEAD = re.compile(r"^CREATE TABLE `(?:[^`]|``)+`", re.IGNORECASE)
UNQUALIFIED_REFERENCE = re.compile(r"REFERENCES (`(?:[^`]|``)+`) \(")
_FOREIGN_KEY_ITEM = re.compile(r"^\s*CONSTRAINT `(?:[^`]|``)+` FOREIGN KEY ")
NAMED_FOREIGN_KEY = re.compile(r"CONSTRAINT `(?:[^`]|``)+` FOREIGN KEY")
_DEFINER = re.compile(r"\s+DEFINER=(`(?:[^`]|``)*`|'[^']*'|\S+?)@(`(?:[^`]|``)*`|'[^']*'|\S+)")
_ROUTINE_HEAD = re.compile(
    r"^CREATE\s+(?P<kind>PROCEDURE|FUNCTION)\s+(?P<name>`(?:[^`]|``)+`|[\w$]+)\s*\(",
    re.IGNORECASE,
)


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
        empty with their tablespaces discarded, for tablespaces.py to fill. Then no table
        gets its foreign keys yet (:meth:`foreign_key_statements` adds them): MariaDB cannot drop
        a discarded table that a foreign key links, so a copy that fails half-way could not be
        undone."""
        out = [
            f"CREATE DATABASE {quote(target)} "
            f"CHARACTER SET {self.charset} COLLATE {self.collation}",
        ]
        for t in self.tables:
            create = split_foreign_keys(t.create_sql)[0] if as_files else t.create_sql
            out.append(create_table_as(create, TableName(t.name, target)))
        out += [f"ALTER TABLE {quote(target)}.{quote(t)} DISCARD TABLESPACE" for t in as_files]
        # One transaction: every table is read at one point in time (InnoDB locks what
        # INSERT ... SELECT reads, so a writer beside us cannot show us half of its change).
        # A snapshot's frozen copy has no writers: plain reads, without those locks, are
        # consistent there and 13-18% faster (docs/performance.md).
        if frozen:
            out.append("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        out.append("START TRANSACTION")
        out += [
            copy_rows(t, TableName(t.name, self.database), TableName(t.name, target))
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
        repoint = repointer(self.database, target)
        out = []
        for name, definition in self.views:
            out.append(f"CREATE VIEW {dst}.{quote(name)} AS {repoint(definition)}")
        out += [repoint(t) for t in self.triggers]
        out += [qualify_routine(r, target) for r in self.routines]
        return out

    def reset_statements(self, target: str, tables: Sequence[str]) -> list[str]:
        """Re-create ``tables`` of ``target`` (a copy of this plan) as they are here, with their
        rows and triggers; run with foreign key checks off, so that a parent can be dropped and
        made again under its children's keys."""
        chosen = [t for t in self.tables if t.name in set(tables)]
        out = []
        for t in chosen:
            table = TableName(t.name, target)
            out += [f"DROP TABLE IF EXISTS {table.sql}", create_table_as(t.create_sql, table)]
        out += ["SET TRANSACTION ISOLATION LEVEL READ COMMITTED", "START TRANSACTION"]
        out += [
            copy_rows(t, TableName(t.name, self.database), TableName(t.name, target))
            for t in chosen
            if t.columns
        ]
        out.append("COMMIT")
        repoint = repointer(self.database, target)
        db = quote(self.database)
        on = tuple(f" ON {db}.{quote(t.name)} FOR EACH ROW " for t in chosen)
        out += [repoint(trigger) for trigger in self.triggers if any(o in trigger for o in on)]
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


def repointer(source: str, target: str) -> Callable[[str], str]:
    """Re-point ``source``-qualified names (views, trigger bodies) at ``target``."""
    old, new = quote(source) + ".", quote(target) + "."

    def repoint(sql: str) -> str:
        return sql.replace(old, new)

    return repoint


def create_table_as(create_sql: str, target: TableName) -> str:
    return CREATE_TABLE_HEAD.sub(lambda _m: f"CREATE TABLE {target.sql}", create_sql, count=1)


def copy_rows(plan: TablePlan, source: TableName, target: TableName) -> str:
    cols = ", ".join(quote(c) for c in plan.columns)
    return f"INSERT INTO {target.sql} ({cols}) SELECT {cols} FROM {source.sql}"


def qualify_routine(create_sql: str, target: str) -> str:
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
    shows = ex.query_many([f"SHOW CREATE TABLE {quote(database)}.{quote(t)}" for t in tables])
    for name, rows in zip(tables, shows, strict=False):
        engine, partitioned = storage[name]
        create = str(rows[0][1])
        plan.tables.append(TablePlan(name, create, tuple(copied[name]), engine, partitioned))
    plan.views = views_in_order(ex, database, view_names)
    plan.triggers = triggers(ex, database)
    routines = ex.execute(
        "SELECT routine_type, routine_name FROM information_schema.routines "
        "WHERE routine_schema = %s ORDER BY routine_name",
        (database,),
    )
    shows = ex.query_many(
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


def views_in_order(ex: Executor, database: str, names: Sequence[str]) -> list[tuple[str, str]]:
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


def triggers(ex: Executor, database: str) -> list[str]:
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

"""The exact change signals of each server, as seen on the live servers (docs/how-it-works.md).

MariaDB, on a server whose data folder is ours (the plugin's private one, performance_schema on):
per base table its performance_schema write counters from the table I/O summary (DML, triggers,
routines, other connections, rolled-back and failed inserts) *and* from the table lock summary
(foreign key cascades and TRUNCATE, which the I/O summary misses), its InnoDB table id (TRUNCATE,
DROP + CREATE), its AUTO_INCREMENT, and the stat of its definition files (every ALTER rewrites the
``.frm``; a rename changes its ctime); for the database the view, trigger, routine and event
definitions. Anything else (a server a URL names, performance_schema off) has no exact signal.

MatrixOne: per base table its catalog id (TRUNCATE, ALTER, DROP + CREATE give a new one), its
AUTO_INCREMENT (a rolled-back or failed insert moves it) and, after the test, ``DATA BRANCH DIFF
... OUTPUT COUNT`` against the golden's snapshot (every content change, from any connection,
cascades included); for the database the view definitions and the routines.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from ..detect import Signals, TableSignals
from ..errors import QueryError
from ..names import literal, quote

if TYPE_CHECKING:
    from ..connection import Executor

_PLAIN = re.compile(r"^[A-Za-z0-9_]+$")  # names that are their own file names
#: performance_schema counters that, when they grow, mean table statistics were not kept.
_LOST = (
    "SELECT variable_name, variable_value FROM information_schema.global_status "
    "WHERE variable_name IN ('PERFORMANCE_SCHEMA_TABLE_INSTANCES_LOST', "
    "'PERFORMANCE_SCHEMA_TABLE_HANDLES_LOST', 'PERFORMANCE_SCHEMA_TABLE_LOCK_STAT_LOST')"
)


def mariadb_can_detect(ex: Executor) -> bool:
    """performance_schema is on and instruments table I/O and table locks."""
    rows = (
        ex.execute(
            "SELECT name, enabled FROM performance_schema.setup_instruments "
            "WHERE name IN ('wait/io/table/sql/handler', 'wait/lock/table/sql/handler')"
        )
        if _performance_schema_on(ex)
        else []
    )
    return len(rows) == 2 and all(str(enabled).upper() == "YES" for _, enabled in rows)


def _performance_schema_on(ex: Executor) -> bool:
    return str(ex.execute("SELECT @@performance_schema")[0][0]) in ("1", "ON")


def _file_stats(folder: Path) -> dict[str, tuple[int, int, int, int]]:
    stats = {}
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return {}
    for entry in entries:
        if entry.name.endswith(".ibd"):  # its pages change behind our back: only its identity
            st = entry.stat()
            stats[entry.name] = (st.st_ino, 0, 0, 0)
        else:
            st = entry.stat()
            stats[entry.name] = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    return stats


def mariadb_signals(ex: Executor, database: str, datadir: Path) -> Optional[Signals]:
    """One reading (one round trip and one folder listing); None where it cannot be exact."""
    db = literal(database)
    like = literal(database.replace("_", "\\_") + "/%")
    io, lock, ids, tables, routines, events, lost = ex.query_many(
        [
            "SELECT object_name, count_write FROM performance_schema."
            f"table_io_waits_summary_by_table WHERE object_type = 'TABLE' AND object_schema = {db}",
            "SELECT object_name, count_write FROM performance_schema."
            "table_lock_waits_summary_by_table "
            f"WHERE object_type = 'TABLE' AND object_schema = {db}",
            "SELECT name, table_id FROM information_schema.innodb_sys_tables "
            f"WHERE name LIKE {like}",
            "SELECT table_name, table_type, auto_increment FROM information_schema.tables "
            f"WHERE table_schema = {db}",
            "SELECT routine_type, routine_name, MD5(CONCAT_WS('|', routine_definition, sql_mode, "
            "created, last_altered, security_type)) FROM information_schema.routines "
            f"WHERE routine_schema = {db} ORDER BY 1, 2",
            "SELECT event_name, MD5(CONCAT_WS('|', event_definition, status, last_altered, "
            f"sql_mode)) FROM information_schema.events WHERE event_schema = {db} ORDER BY 1",
            _LOST,
        ]
    )
    files = _file_stats(datadir / database)
    writes = {str(n): int(c) for n, c in io}
    locks = {str(n): int(c) for n, c in lock}
    table_ids = {str(n).split("/", 1)[1]: int(i) for n, i in ids}
    per_table: TableSignals = {}
    views = []
    for name, kind, auto_increment in tables:
        name = str(name)
        if not _PLAIN.match(name):
            return None  # its files are encoded: their stats cannot be matched to it
        if str(kind) == "VIEW":
            views.append((name, str(kind), files.get(f"{name}.frm")))
            continue
        if str(kind) != "BASE TABLE":
            return None  # a sequence or a versioned table: no signal seen exact for them
        per_table[name] = (
            writes.get(name),
            locks.get(name),
            table_ids.get(name),
            auto_increment,
            files.get(f"{name}.frm"),
            files.get(f"{name}.ibd"),
        )
    triggers = sorted((n, s) for n, s in files.items() if n.endswith((".TRG", ".TRN")))
    objects = (
        tuple(views),
        tuple(triggers),
        tuple(map(tuple, routines)),
        tuple(map(tuple, events)),
    )
    return Signals(per_table, objects, tuple(sorted((str(n), str(v)) for n, v in lost)))


def mariadb_only_transactional(ex: Executor, database: str) -> bool:
    """Every table of ``database`` is InnoDB: a write to any other engine, or a sequence's next
    value, is not rolled back."""
    others = ex.execute(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_type <> "
        "'VIEW' AND (table_type <> 'BASE TABLE' OR engine IS NULL OR engine <> 'InnoDB') LIMIT 1",
        (database,),
    )
    return not others


def mariadb_hide_session(ex: Executor) -> bool:
    """Stop performance_schema counting this session's table I/O and locks, so that its writes
    rolled back later leave no trace; True when it took effect."""
    try:
        ex.execute(
            "UPDATE performance_schema.threads SET instrumented = 'NO' "
            "WHERE processlist_id = CONNECTION_ID()"
        )
    except QueryError:  # not ours to change (no UPDATE right on performance_schema)
        return False
    rows = ex.execute(
        "SELECT instrumented FROM performance_schema.threads WHERE processlist_id = CONNECTION_ID()"
    )
    return bool(rows) and str(rows[0][0]).upper() == "NO"


def matrixone_signals(
    ex: Executor, database: str, base: str, snapshot: str, *, after: bool
) -> Optional[Signals]:
    """One reading; ``after`` adds each table's DIFF count against the golden's snapshot (right
    after a clone or reset it is 0 by construction, so the baseline does not pay for it)."""
    risky = "set(%%" if ex.info.at_least(4, 0, 0) else "enum(%%"
    ids, tables, views, routines, refused = ex.query_many(
        [
            "SELECT relname, rel_id FROM mo_catalog.mo_tables WHERE reldatabase = "
            f"{literal(database)} AND account_id = current_account_id()",
            "SELECT table_name, table_type, auto_increment FROM information_schema.tables "
            f"WHERE table_schema = {literal(database)}",
            "SELECT table_name, MD5(view_definition) FROM information_schema.views "
            f"WHERE table_schema = {literal(database)} ORDER BY 1",
            "SELECT name, MD5(body) FROM mo_catalog.mo_user_defined_function "
            f"WHERE db = {literal(database)} ORDER BY 1",
            "SELECT 1 FROM information_schema.columns WHERE table_schema = "
            f"{literal(database)} AND LOWER(column_type) LIKE '{risky}' LIMIT 1",
        ]
    )
    if refused:  # DATA BRANCH DIFF fails (4.x, SET) or never returns (3.0, ENUM): see
        return None  # matrixone_diff.branch_diff_works; such databases are made afresh
    rel_ids = {str(n): int(i) for n, i in ids}
    per_table: TableSignals = {}
    others = []
    for name, kind, auto_increment in tables:
        if str(kind) == "BASE TABLE":
            per_table[str(name)] = (rel_ids.get(str(name)), auto_increment, 0)
        else:
            others.append((str(name), str(kind)))
    if after and per_table:
        at = f"{{SNAPSHOT = {literal(snapshot)}}}"
        counts = ex.query_many(
            [
                f"DATA BRANCH DIFF {quote(database)}.{quote(t)} AGAINST "
                f"{quote(base)}.{quote(t)}{at} OUTPUT COUNT"
                for t in sorted(per_table)
            ]
        )
        for t, rows in zip(sorted(per_table), counts, strict=True):
            rel_id, auto_increment, _ = per_table[t]
            per_table[t] = (rel_id, auto_increment, int(rows[0][0]) if rows else None)
    objects = (tuple(others), tuple(map(tuple, views)), tuple(map(tuple, routines)))
    return Signals(per_table, objects)

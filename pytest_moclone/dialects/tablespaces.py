"""Clone large InnoDB tables by copying their tablespace files, on a server this process owns.

Any SQL copy pays per row: a 1 M-row golden of 20 tables takes ~1.6 s to clone on MariaDB however
the statements are sent. When the server's data folder is ours (``Client(datadir=...)``: the
plugin's private MariaDB), a table of a snapshot's frozen copy is copied as a file instead: the
clone's table is created empty and its tablespace discarded, the frozen table is exported with
``FLUSH TABLES ... FOR EXPORT``, its ``.ibd`` and ``.cfg`` are copied in, and ``ALTER TABLE ...
IMPORT TABLESPACE`` adopts them: ~0.16 s for the same golden (docs/performance.md). Small tables
stay on the SQL copy: below ~200 KB the file route's fixed cost per table does not pay.

Only a frozen copy qualifies (nobody writes it, so exporting it stops no one), only plain InnoDB
tables (no partitions, FULLTEXT index or system versioning; names that are their own file names),
and only MariaDB, the server this was measured on. The data folder is checked before it is
trusted: the clone's own files must be where ``datadir`` says, or the clone is made again by the
SQL copy.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import CloneError
from ..names import quote

if TYPE_CHECKING:
    from ..connection import Executor
    from .mysql_plan import DatabasePlan, TablePlan

#: Tables whose tablespace file is at least this large are copied as files. Measured on the
#: benchmark golden (docs/performance.md): at 144 KiB a table's rows copy faster (24 vs 29 ms for
#: 20 tables), at 256 KiB its file does (36 vs 45 ms), at 512 KiB by 2.8x (48 vs 137 ms).
MIN_BYTES = 256 << 10
#: Seconds to wait for another connection's export of the same frozen copy.
EXPORT_LOCK_WAIT = 120
_FILE_NAME_SAFE = re.compile(r"^[A-Za-z0-9_]+$")  # encoded in file names as they are
# FULLTEXT indexes keep auxiliary tablespaces; system-versioned tables were not tried: rows for both
_NOT_AS_FILES = re.compile(r"\bFULLTEXT\b|\bWITH SYSTEM VERSIONING\b", re.IGNORECASE)


class ForeignDataFolder(Exception):
    """``datadir`` is not this server's data folder: the clone is made by the SQL copy instead."""


def _copyable(table: TablePlan) -> bool:
    return (
        table.engine.lower() == "innodb"
        and not table.partitioned
        and _FILE_NAME_SAFE.match(table.name) is not None
        and _NOT_AS_FILES.search(table.create_sql) is None
    )


def tables_to_copy(plan: DatabasePlan, datadir: Path, target: str, min_bytes: int) -> list[str]:
    """The tables of ``plan`` worth copying as files into ``target``: sized by their files, since
    the server's own estimate lags behind a copy that was just made."""
    if not (_FILE_NAME_SAFE.match(plan.database) and _FILE_NAME_SAFE.match(target)):
        return []
    folder = datadir / plan.database
    return [
        t.name
        for t in plan.tables
        if t.columns and _copyable(t) and _size(folder / f"{t.name}.ibd") >= min_bytes
    ]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # not there: not a file-per-table tablespace, or not this server's folder
        return -1


def check_data_folder(datadir: Path, database: str, tables: Sequence[str]) -> None:
    """Prove ``datadir`` is the server's: the tables just created and discarded in ``database``
    have their definitions there and no tablespace left."""
    folder = datadir / database
    for table in tables:
        if not (folder / f"{table}.frm").is_file() or (folder / f"{table}.ibd").exists():
            raise ForeignDataFolder(
                f"{folder} does not hold the table {table} just created there, so {datadir} is "
                "not this server's data folder"
            )


def export_lock(database: str) -> str:
    """A server-wide lock name for exporting ``database`` (GET_LOCK names: 64 characters)."""
    return "moclone_export_" + hashlib.sha1(database.encode()).hexdigest()[:32]


def copy_tablespaces(
    ex: Executor, datadir: Path, source: str, target: str, tables: Sequence[str]
) -> None:
    """Copy the frozen tables' files into ``target`` (their tablespaces discarded there).

    ``FLUSH TABLES ... FOR EXPORT`` writes the ``.cfg`` files that ``UNLOCK TABLES`` removes, so
    two connections exporting one database at once would pull files from under each other: a
    server-wide named lock makes them take turns (other xdist workers, the pool's thread).
    """
    lock = export_lock(source)
    got = ex.execute("SELECT GET_LOCK(%s, %s)", (lock, EXPORT_LOCK_WAIT))[0][0]
    if got != 1:
        raise CloneError(
            f"cannot clone {source!r} into {target!r}: another connection has been exporting "
            f"{source!r} for {EXPORT_LOCK_WAIT} s"
        )
    try:
        listed = ", ".join(f"{quote(source)}.{quote(t)}" for t in tables)
        ex.execute(f"FLUSH TABLES {listed} FOR EXPORT")
        try:
            for table in tables:
                for suffix in (".ibd", ".cfg"):
                    shutil.copyfile(
                        datadir / source / (table + suffix), datadir / target / (table + suffix)
                    )
        except OSError as exc:
            raise CloneError(
                f"cannot clone {source!r} into {target!r}: copying a tablespace file failed: {exc}"
            ) from exc
        finally:
            ex.execute("UNLOCK TABLES")
    finally:
        ex.execute("SELECT RELEASE_LOCK(%s)", (lock,))


def adopt(target: str, tables: Sequence[str]) -> list[str]:
    return [f"ALTER TABLE {quote(target)}.{quote(t)} IMPORT TABLESPACE" for t in tables]

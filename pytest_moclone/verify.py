"""Is a clone its source? Objects by kind, and every table's rows (count and checksum).

``client.clone.verify(clone, source, snapshot_name)`` answers with a list of
:class:`Difference` (empty: the clone is faithful). The plugin runs it once on the first clone of
the golden, before any test (decisions.md: on by default, it costs one clone), so that a server
limit shows as one message naming each object instead of as failing tests. Each difference says
what the server's limit is and the fix, where that is known.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from .names import quote
from .version import MATRIXONE

if TYPE_CHECKING:
    from .connection import Executor
    from .dialects.base import Dialect, SnapshotInfo

_GEOMETRY = {
    "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
    "multipolygon", "geometrycollection",
}  # fmt: skip
_BASE = ("BASE TABLE", "SYSTEM VERSIONED")


@dataclass(frozen=True)
class Difference:
    kind: str  # "table", "view", "sequence", "procedure", ...
    name: str
    problem: str
    fix: str = ""

    def __str__(self) -> str:
        return f"{self.kind} {self.name}: {self.problem}" + (f"; {self.fix}" if self.fix else "")


Objects = dict[tuple[str, str], str]  # (kind, folded name) -> name as the server shows it


def _objects(ex: Executor, dialect: Dialect, database: str) -> Objects:
    if dialect.name == MATRIXONE:
        queries = [
            "SELECT table_type, table_name FROM information_schema.tables WHERE table_schema = %s",
            "SELECT 'FUNCTION', name FROM mo_catalog.mo_user_defined_function WHERE db = %s",
            "SELECT 'PROCEDURE', name FROM mo_catalog.mo_stored_procedure WHERE db = %s",
        ]
    else:
        queries = [
            "SELECT table_type, table_name FROM information_schema.tables WHERE table_schema = %s",
            "SELECT routine_type, routine_name FROM information_schema.routines "
            "WHERE routine_schema = %s",
            "SELECT 'TRIGGER', trigger_name FROM information_schema.triggers "
            "WHERE trigger_schema = %s",
            "SELECT 'EVENT', event_name FROM information_schema.events WHERE event_schema = %s",
        ]
    found: Objects = {}
    for sql in queries:
        for kind, name in ex.execute(sql, (database,)):
            kind = {"INTERNAL TABLE": "SEQUENCE"}.get(str(kind).upper(), str(kind).upper())
            shown = str(name)
            if shown.startswith("__mo_"):  # MatrixOne's hidden index tables
                continue
            found[(kind, shown.lower() if dialect.folds_names else shown)] = shown
    return found


def _table_sums(
    ex: Executor, dialect: Dialect, database: str, tables: Sequence[str], at: str
) -> dict[str, tuple[int, str]]:
    """Each table's (row count, checksum): ``CHECKSUM TABLE`` where the server has it, else a
    CRC32 sum over every column (geometry as WKT; 3.0.18 can only say whether it is NULL)."""
    if not tables:
        return {}
    db = quote(database)
    if dialect.checksum_table:
        counts = ex.query_many([f"SELECT COUNT(*) FROM {db}.{quote(t)}" for t in tables])
        sums = ex.query_many([f"CHECKSUM TABLE {db}.{quote(t)}" for t in tables])
        return {
            t: (int(c[0][0]), str(s[0][1])) for t, c, s in zip(tables, counts, sums, strict=True)
        }
    columns: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in ex.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = %s ORDER BY table_name, ordinal_position",
        (database,),
    ):
        columns.setdefault(str(table).lower(), []).append((str(column), str(data_type).lower()))
    queries = []
    for table in tables:
        parts = []
        for column, data_type in columns.get(table.lower(), []):
            if column.startswith("__mo_"):
                continue
            expr = quote(column)
            if data_type in _GEOMETRY:
                wkt = ex.info.at_least(4, 0, 0)
                expr = f"st_astext({expr})" if wkt else f"({expr} IS NULL)"
            parts.append(f"COALESCE({expr}, '<null>')")
        crc = f"SUM(CRC32(CONCAT_WS('|', {', '.join(parts)})))" if parts else "0"
        queries.append(f"SELECT COUNT(*), {crc} FROM {db}.{quote(table)}{at}")
    rows = ex.query_many(queries)
    return {t: (int(r[0][0]), str(r[0][1])) for t, r in zip(tables, rows, strict=True)}


def verify(
    ex: Executor, dialect: Dialect, clone: str, source: str, snapshot: Optional[SnapshotInfo]
) -> list[Difference]:
    """The differences between ``clone`` and ``source`` (as of ``snapshot`` where given)."""
    side, at = dialect.read_side(source, snapshot)
    want, have = _objects(ex, dialect, side), _objects(ex, dialect, clone)
    out: list[Difference] = []
    for key, name in sorted(want.items()):
        if key not in have:
            kind = key[0].lower().replace("base table", "table")
            out.append(Difference(kind, f"{source}.{name}", "missing in the clone"))
    for key, name in sorted(have.items()):
        if key not in want:
            kind = key[0].lower().replace("base table", "table")
            out.append(Difference(kind, f"{clone}.{name}", "in the clone but not in the source"))
    tables = sorted(
        name
        for (kind, key), name in want.items()
        if kind in _BASE and any((k, key) in have for k in _BASE)
    )
    source_sums = _table_sums(ex, dialect, side, tables, at)
    clone_sums = _table_sums(ex, dialect, clone, tables, "")
    for table in tables:
        (n_src, sum_src), (n_clone, sum_clone) = source_sums[table], clone_sums[table]
        if (n_src, sum_src) != (n_clone, sum_clone):
            problem = (
                f"rows differ: the source has {n_src} (checksum {sum_src}), "
                f"the clone {n_clone} (checksum {sum_clone})"
            )
            out.append(Difference("table", f"{source}.{table}", problem))
    return [_explained(d, dialect, ex, side) for d in out]


def _explained(diff: Difference, dialect: Dialect, ex: Executor, side: str) -> Difference:
    """The server's limit and the fix, for the differences whose cause is known."""
    if (
        diff.kind == "table"
        and diff.problem.startswith("rows differ")
        and dialect.name == MATRIXONE
    ):
        table = diff.name.rpartition(".")[2]
        sets = ex.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
            "AND table_name = %s AND column_type LIKE 'SET(%%'",
            (side, table),
        )
        if sets:
            columns = ", ".join(str(r[0]) for r in sets)
            return Difference(
                diff.kind,
                diff.name,
                diff.problem,
                f"{ex.info.describe()} lower-cases SET labels in a clone (column "
                f"{columns}: 'Deleted Scenes' becomes 'deleted scenes'); write the labels in "
                "lower case in the golden, or use VARCHAR",
            )
    if dialect.native:
        fix = f"{ex.info.describe()}'s CLONE did not copy it faithfully"
    else:
        fix = "the emulated copy did not reproduce it (a pytest-moclone bug: please report it)"
    return Difference(diff.kind, diff.name, diff.problem, fix)

"""The diff in plain SQL, run on the server: MySQL/MariaDB, and MatrixOne tables without lineage.

Rows are compared by primary key (only in the target = inserted, only in the base = deleted, same
key with other values = updated, compared NULL-safely with ``<=>``; geometry as WKT); a table
without a key is compared as a multiset of whole rows. Counts come from ``COUNT(*)``, rows from
``LIMIT``: no table is ever pulled into Python. Where the dialect has ``CHECKSUM TABLE`` (MySQL,
MariaDB), tables whose checksums match are skipped first, so an untouched table costs one pass of
reading, not a join; where it can narrow large tables (narrowing.py), only their changed buckets
are joined.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Optional

from ..diff import DatabaseDiff, Row, TableDiff
from ..names import quote
from .narrowing import narrow
from .schema_diff import Shape, record_alterations, schema_changes, shapes, shared_shape

if TYPE_CHECKING:
    from ..connection import Executor
    from .base import Dialect

BaseRef = Callable[[str], str]  # table name -> SQL for the base side (a frozen copy, a snapshot)
SIDE = "__moclone_side"


def checksums(ex: Executor, refs: Sequence[str]) -> list[object]:
    """CHECKSUM TABLE of each table (MySQL/MariaDB), in one statement."""
    rows = ex.execute("CHECKSUM TABLE " + ", ".join(refs))
    return [row[1] for row in rows]


def unchanged_by_checksum(
    ex: Executor,
    dialect: Dialect,
    target: str,
    tables: Sequence[str],
    base_ref: BaseRef,
    base_sums: Optional[dict[str, object]] = None,
) -> set[str]:
    """Tables whose CHECKSUM TABLE is the same on both sides (MySQL/MariaDB only).

    ``base_sums`` caches the base side's: a snapshot's frozen copy never changes.
    """
    if not tables or not dialect.checksum_table:
        return set()
    ours = checksums(ex, [f"{quote(target)}.{quote(t)}" for t in tables])
    if base_sums is None:
        base_sums = {}
    missing = [t for t in tables if t not in base_sums]
    if missing:
        base_sums.update(zip(missing, checksums(ex, [base_ref(t) for t in missing]), strict=True))
    return {
        t for t, mine in zip(tables, ours, strict=True) if mine is not None and mine == base_sums[t]
    }


def _exact(dialect: Dialect) -> str:
    """MySQL/MariaDB compare strings by collation ('b' = 'B' by default): a diff needs bytes."""
    return "BINARY " if dialect.binary_compare else ""


GEOMETRY_TYPES = (
    "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
    "multipolygon", "geometrycollection",
)  # fmt: skip


def is_geometry(kind: str) -> bool:
    return kind.lower().split("(")[0].strip() in GEOMETRY_TYPES


def value_of(ex: Executor, alias: str, column: str, kind: str) -> str:
    """How a column is read for a diff: geometry as WKT (``<=>`` and ``hex`` fail on it on
    MatrixOne, and raw WKB tells a reader nothing); MatrixOne 3.0 can only say NULL or not."""
    ref = f"{alias}.{quote(column)}" if alias else quote(column)
    if not is_geometry(kind):
        return ref
    if ex.info.dialect == "matrixone" and not ex.info.at_least(4, 0, 0):
        return f"CASE WHEN {ref} IS NULL THEN NULL ELSE '<geometry>' END"
    return f"ST_AsText({ref})"


def same_value(ex: Executor, dialect: Dialect, column: str, kind: str) -> str:
    """``n.column`` and ``o.column`` hold the same value, NULL-safely, exactly where the server
    can tell; SET labels compare case-insensitively on MatrixOne 4.x, whose clones lower-case
    them (docs/matrixone.md)."""
    exact = _exact(dialect)
    new, old = value_of(ex, "n", column, kind), value_of(ex, "o", column, kind)
    if ex.info.dialect == "matrixone" and kind.lower().startswith("set("):
        return f"LOWER({new}) <=> LOWER({old})"
    return f"{exact}{new} <=> {exact}{old}"


Pair = tuple[Optional[Row], Row]


def settle_set_case(ex: Executor, shape: Shape, pairs: list[Pair]) -> list[Pair]:
    """On MatrixOne, a SET value that differs from the golden's only in case (its clones
    lower-case SET labels), or a BLOB that DIFF returns as text and SELECT as bytes, is shown as
    unchanged: the old row takes the new value."""
    if ex.info.dialect != "matrixone":
        return pairs
    sets = [c for c, kind in shape.columns if kind.lower().startswith("set(")]
    for old, new in pairs:
        if old is None:
            continue
        for column in sets:
            if str(old.get(column)).lower() == str(new.get(column)).lower():
                old[column] = new.get(column)
        for column, value in old.items():  # DIFF gives text where SELECT gives bytes (3.0.18)
            other = new.get(column)
            as_text = isinstance(value, (bytes, bytearray)) and isinstance(other, str)
            if as_text and bytes(value).decode("utf-8", "replace") == other:
                old[column] = other
    return pairs


def decode_geometry(shape: Shape, row: Row) -> Row:
    """MatrixOne's DATA BRANCH DIFF returns geometry as WKT bytes: as text."""
    for column, kind in shape.columns:
        value = row.get(column)
        if is_geometry(kind) and isinstance(value, (bytes, bytearray)):
            row[column] = bytes(value).decode("ascii", "replace")
    return row


def diff_table(
    ex: Executor, dialect: Dialect, new: str, old: str, table: str, shape: Shape, limit: int
) -> TableDiff:
    """Compare ``new`` (the target table) with ``old`` (the base side) on the server."""
    if shape.key:
        return _by_key(ex, dialect, new, old, table, shape, limit)
    return _by_multiset(ex, dialect, new, old, table, shape, limit)


#: Up to this many changed rows per side, one pass returns them and Python counts them;
#: beyond it, COUNT(*) queries count on the server and only ``limit`` rows are read.
ROWS_AT_ONCE = 1000


def _by_key(
    ex: Executor, dialect: Dialect, new: str, old: str, table: str, shape: Shape, limit: int
) -> TableDiff:
    names = shape.names
    width = len(names)
    on = " AND ".join(f"n.{quote(k)} = o.{quote(k)}" for k in shape.key)
    same = " AND ".join(
        same_value(ex, dialect, c, kind) for c, kind in shape.columns if c not in shape.key
    )
    ncols = ", ".join(value_of(ex, "n", c, kind) for c, kind in shape.columns)
    ocols = ", ".join(value_of(ex, "o", c, kind) for c, kind in shape.columns)
    first = quote(shape.key[0])
    missing = f"o.{first} IS NULL"  # a key column is never NULL: no match in the base
    changed = f"{missing} OR NOT ({same})" if same else missing
    # One pass over each side finds inserted + updated rows, then deleted ones.
    ours = ex.execute(
        f"SELECT {ncols}, {ocols} FROM {new} n LEFT JOIN {old} o ON {on} WHERE {changed} "
        f"LIMIT {ROWS_AT_ONCE + 1}"
    )
    gone = ex.execute(
        f"SELECT {ocols} FROM {old} o LEFT JOIN {new} n ON {on} WHERE n.{first} IS NULL "
        f"LIMIT {ROWS_AT_ONCE + 1}"
    )
    key_at = width + names.index(shape.key[0])
    added = [r for r in ours if r[key_at] is None]
    modified = [r for r in ours if r[key_at] is not None]
    result = TableDiff(table, shape.key, len(added), len(modified), len(gone))
    if len(ours) > ROWS_AT_ONCE:  # many: count on the server
        result.inserted_count, result.updated_count = (
            int(n or 0)
            for n in ex.execute(
                f"SELECT SUM(CASE WHEN {missing} THEN 1 ELSE 0 END), COUNT(*) - "
                f"SUM(CASE WHEN {missing} THEN 1 ELSE 0 END) "
                f"FROM {new} n LEFT JOIN {old} o ON {on} WHERE {changed}"
            )[0]
        )
    if len(gone) > ROWS_AT_ONCE:
        result.deleted_count = int(
            ex.execute(
                f"SELECT COUNT(*) FROM {old} o LEFT JOIN {new} n ON {on} WHERE n.{first} IS NULL"
            )[0][0]
        )
    result.inserted = [dict(zip(names, r[:width], strict=True)) for r in added[:limit]]
    result.updated = settle_set_case(
        ex,
        shape,
        [
            (dict(zip(names, r[width:], strict=True)), dict(zip(names, r[:width], strict=True)))
            for r in modified[:limit]
        ],
    )
    result.deleted = [dict(zip(names, r, strict=True)) for r in gone[:limit]]
    return result


def _by_multiset(
    ex: Executor, dialect: Dialect, new: str, old: str, table: str, shape: Shape, limit: int
) -> TableDiff:
    """No key: whole rows, counted with multiplicity (an update shows as delete + insert)."""
    cols = ", ".join(f"{value_of(ex, '', c, kind)} AS {quote(c)}" for c, kind in shape.columns)
    exact = _exact(dialect)
    picked = ", ".join(f"MIN({quote(c)})" for c in shape.names)  # one value per exact group
    groups = ", ".join(f"{exact}{quote(c)}" for c in shape.names)
    grouped = (
        f"SELECT {picked}, SUM({SIDE}) AS {SIDE} FROM ("
        f"SELECT {cols}, 1 AS {SIDE} FROM {new} n UNION ALL SELECT {cols}, -1 FROM {old} o"
        f") x GROUP BY {groups} HAVING SUM({SIDE}) <> 0"
    )
    plus, minus = ex.execute(
        f"SELECT COALESCE(SUM(CASE WHEN {SIDE} > 0 THEN {SIDE} ELSE 0 END), 0), "
        f"COALESCE(SUM(CASE WHEN {SIDE} < 0 THEN -{SIDE} ELSE 0 END), 0) FROM ({grouped}) g"
    )[0]
    result = TableDiff(table, (), int(plus), 0, int(minus))
    if plus or minus:
        for row in ex.execute(f"{grouped} LIMIT {2 * limit}"):
            values, times = dict(zip(shape.names, row[:-1], strict=True)), int(row[-1])
            bucket = result.inserted if times > 0 else result.deleted
            bucket.extend([values] * min(abs(times), limit - len(bucket)))
        result.note = "no primary key: rows are compared whole, so an update shows as - and +"
    return result


def diff_databases(
    ex: Executor,
    dialect: Dialect,
    target: str,
    base: str,
    base_ref: BaseRef,
    diff: DatabaseDiff,
    limit: int,
    base_sums: Optional[dict[str, object]] = None,
) -> DatabaseDiff:
    """The whole plain-SQL diff of ``target`` against the tables ``base_ref`` names."""
    ours, theirs = shapes(ex, dialect, target), shapes(ex, dialect, base)
    comparable = schema_changes(ours, theirs, diff)
    record_alterations(ex, target, base, diff)
    skip = unchanged_by_checksum(ex, dialect, target, comparable, base_ref, base_sums)
    for table in comparable:
        if table in skip:
            continue
        new, old = f"{quote(target)}.{quote(table)}", base_ref(table)
        if dialect.narrow_large_tables:  # a large changed table: only its changed buckets
            part = narrow(ex, new, old, base, table, ours[table], base_sums)
            new, old = part.target, part.base
        found = diff_table(ex, dialect, new, old, table, ours[table], limit)
        if found.changed:
            diff.tables.append(found)
    for table in diff.altered:
        shape = shared_shape(ours[table], theirs[table]) if table not in comparable else None
        if shape is None:  # only an index or a default changed (compared above), or nothing shared
            continue
        new, old = f"{quote(target)}.{quote(table)}", base_ref(table)
        if dialect.narrow_large_tables:
            part = narrow(ex, new, old, base, table, shape, base_sums)
            new, old = part.target, part.base
        found = diff_table(ex, dialect, new, old, table, shape, limit)
        if found.changed:
            how = "by key" if shape.key else "as whole rows"
            note = f"definition changed: rows compared {how} on the columns both sides have"
            found.note = note + (f"; {found.note}" if found.note else "")
            diff.tables.append(found)
    diff.tables.sort(key=lambda t: t.table)
    return diff

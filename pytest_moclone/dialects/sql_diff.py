"""The diff in plain SQL, run on the server: MySQL/MariaDB, and MatrixOne tables without lineage.

Rows are compared by primary key (only in the target = inserted, only in the base = deleted, same
key with other values = updated, compared NULL-safely with ``<=>``); a table without a key is
compared as a multiset of whole rows. Counts come from ``COUNT(*)``, rows from ``LIMIT``: no table
is ever pulled into Python. Where the server has ``CHECKSUM TABLE`` (MySQL, MariaDB), tables whose
checksums match are skipped first, so an untouched table costs one pass of reading, not a join.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from ..diff import DatabaseDiff, Row, TableDiff
from ..names import quote
from .mysql_diff import narrow

if TYPE_CHECKING:
    from ..client import Client

BaseRef = Callable[[str], str]  # table name -> SQL for the base side (a frozen copy, a snapshot)
SIDE = "__moclone_side"


@dataclass(frozen=True)
class Shape:
    """What a table looks like: its columns (name and type, in order) and its primary key."""

    columns: tuple[tuple[str, str], ...]
    key: tuple[str, ...]

    @property
    def names(self) -> list[str]:
        return [c for c, _ in self.columns]


def shapes(client: Client, database: str) -> dict[str, Shape]:
    """Every base table of ``database`` with its shape."""
    rows = client.execute(
        "SELECT c.table_name, c.column_name, c.column_type FROM information_schema.columns c "
        "JOIN information_schema.tables t ON t.table_schema = c.table_schema "
        "AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE' "
        "WHERE c.table_schema = %s ORDER BY c.table_name, c.ordinal_position",
        (database,),
    )
    columns: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in rows:
        if str(column).startswith("__mo_"):  # MatrixOne's hidden columns (composite keys)
            continue
        columns.setdefault(str(table), []).append((str(column), str(kind).lower()))
    keys = primary_keys(client, database, list(columns))
    return {t: Shape(tuple(cols), keys.get(t, ())) for t, cols in columns.items()}


def primary_keys(
    client: Client, database: str, tables: Sequence[str]
) -> dict[str, tuple[str, ...]]:
    if client.dialect == "matrixone":
        return _matrixone_primary_keys(client, database)
    rows = client.execute(
        "SELECT table_name, column_name FROM information_schema.statistics "
        "WHERE table_schema = %s AND index_name = 'PRIMARY' ORDER BY table_name, seq_in_index",
        (database,),
    )
    keys: dict[str, list[str]] = {}
    for table, column in rows:
        keys.setdefault(str(table), []).append(str(column))
    return {t: tuple(c) for t, c in keys.items()}


def _matrixone_primary_keys(client: Client, database: str) -> dict[str, tuple[str, ...]]:
    """MatrixOne's information_schema has no key columns; its catalog marks them, in one query.

    A composite key shows only as the hidden ``__mo_cpkey_col`` (then SHOW KEYS names its parts);
    a table without a key has a hidden ``__mo_fake_pk_col``.
    """
    found: dict[str, tuple[str, ...]] = {}
    composite = []
    for table, column in client.execute(
        "SELECT att_relname, attname FROM mo_catalog.mo_columns "
        "WHERE att_database = %s AND att_constraint_type = 'p' "
        "AND account_id = current_account_id() ORDER BY att_relname, attnum",
        (database,),
    ):
        if column == "__mo_cpkey_col":
            composite.append(str(table))
        elif column != "__mo_fake_pk_col":
            found[str(table)] = (*found.get(str(table), ()), str(column))
    for table in composite:
        names, rows = client.query(f"SHOW KEYS FROM {quote(database)}.{quote(table)}")
        index = {n.lower(): i for i, n in enumerate(names)}
        parts = sorted(
            (int(r[index["seq_in_index"]]), str(r[index["column_name"]]))
            for r in rows
            if str(r[index["key_name"]]).upper() == "PRIMARY"
        )
        found[table] = tuple(c for _, c in parts if not c.startswith("__mo_"))
    return found


def schema_changes(
    target: dict[str, Shape], base: dict[str, Shape], diff: DatabaseDiff
) -> list[str]:
    """Fill created/dropped/altered; return the tables whose rows can be compared."""
    diff.created = sorted(set(target) - set(base))
    diff.dropped = sorted(set(base) - set(target))
    common = sorted(set(target) & set(base))
    diff.altered = [t for t in common if target[t] != base[t]]
    return [t for t in common if t not in diff.altered]


ColumnDefinition = tuple[str, str, str, object, str]  # name, type, nullable, default, extra
IndexDefinition = tuple[str, bool, tuple[str, ...]]  # name, unique, columns (with prefix lengths)


@dataclass(frozen=True)
class Definition:
    """A table's columns with every attribute, and its indexes: what "altered" compares."""

    columns: tuple[ColumnDefinition, ...]
    indexes: frozenset[IndexDefinition]


def definitions(client: Client, database: str) -> dict[str, Definition]:
    """Every base table's definition, from information_schema (two queries; MatrixOne too)."""
    rows = client.execute(
        "SELECT c.table_name, c.column_name, c.column_type, c.is_nullable, c.column_default, "
        "c.extra FROM information_schema.columns c JOIN information_schema.tables t "
        "ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
        "AND t.table_type = 'BASE TABLE' WHERE c.table_schema = %s "
        "ORDER BY c.table_name, c.ordinal_position",
        (database,),
    )
    columns: dict[str, list[ColumnDefinition]] = {}
    for table, column, kind, nullable, default, extra in rows:
        if isinstance(default, str) and default.lower() == "null":
            # MariaDB writes "no default" as NULL; MatrixOne as None in a table and as "null"
            # in its clone or branch (live, v3.0.18 and v4.2.0)
            default = None
        if not str(column).startswith("__mo_"):
            columns.setdefault(str(table), []).append(
                (str(column), str(kind).lower(), str(nullable).upper(), default, str(extra or ""))
            )
    parts: dict[tuple[str, str], list[tuple[int, str]]] = {}
    unique: dict[tuple[str, str], bool] = {}
    for table, index, non_unique, seq, column, sub_part in client.execute(
        "SELECT table_name, index_name, non_unique, seq_in_index, column_name, sub_part "
        "FROM information_schema.statistics WHERE table_schema = %s",
        (database,),
    ):
        name = str(column) + (f"({sub_part})" if sub_part else "")
        parts.setdefault((str(table), str(index)), []).append((int(seq), name))
        unique[(str(table), str(index))] = not int(non_unique)
    indexes: dict[str, set[IndexDefinition]] = {}
    for (table, index), cols in parts.items():
        names = tuple(c for _, c in sorted(cols) if not c.startswith("__mo_"))
        indexes.setdefault(table, set()).add((index, unique[(table, index)], names))
    return {
        t: Definition(tuple(cols), frozenset(indexes.get(t, ()))) for t, cols in columns.items()
    }


def _column_words(column: ColumnDefinition) -> str:
    _name, kind, nullable, default, extra = column
    words = kind + (" NOT NULL" if nullable == "NO" else " NULL")
    if default is not None:
        words += f" DEFAULT {default}"
    return words + (f" {extra}" if extra else "")


def _index_words(index: IndexDefinition) -> str:
    name, unique, columns = index
    kind = "primary key" if name == "PRIMARY" else ("unique index" if unique else "index")
    named = "" if name == "PRIMARY" else f" `{name}`"
    return f"{kind}{named} ({', '.join(columns)})"


def describe_alteration(new: Definition, old: Definition) -> list[str]:
    """What changed from ``old`` to ``new``, one short line per column or index."""
    lines = []
    before = {c[0]: c for c in old.columns}
    after = {c[0]: c for c in new.columns}
    for name, column in after.items():
        if name not in before:
            lines.append(f"column `{name}` added: {_column_words(column)}")
        elif column != before[name]:
            was, now = _column_words(before[name]), _column_words(column)
            lines.append(f"column `{name}` changed: {was} -> {now}")
    lines += [f"column `{name}` dropped" for name in before if name not in after]
    old_indexes = {i[0]: i for i in old.indexes}
    new_indexes = {i[0]: i for i in new.indexes}
    for name, index in sorted(new_indexes.items()):
        if name not in old_indexes:
            lines.append(f"{_index_words(index)} added")
        elif index != old_indexes[name]:
            lines.append(f"{_index_words(old_indexes[name])} -> ({', '.join(index[2])})")
    lines += [
        f"{_index_words(index)} dropped"
        for name, index in sorted(old_indexes.items())
        if name not in new_indexes
    ]
    return lines


def record_alterations(client: Client, target: str, base: str, diff: DatabaseDiff) -> None:
    """Add the tables whose definitions differ (an index, a default, ...) to ``diff.altered``,
    with what changed in each (``diff.altered_details``)."""
    ours, theirs = definitions(client, target), definitions(client, base)
    for table in sorted(set(ours) & set(theirs)):
        if ours[table] != theirs[table]:
            diff.altered_details[table] = describe_alteration(ours[table], theirs[table])
    diff.altered = sorted(set(diff.altered) | set(diff.altered_details))


def checksums(client: Client, refs: Sequence[str]) -> list[object]:
    """CHECKSUM TABLE of each table (MySQL/MariaDB), in one statement."""
    rows = client.execute("CHECKSUM TABLE " + ", ".join(refs))
    return [row[1] for row in rows]


def unchanged_by_checksum(
    client: Client,
    target: str,
    tables: Sequence[str],
    base_ref: BaseRef,
    base_sums: Optional[dict[str, object]] = None,
) -> set[str]:
    """Tables whose CHECKSUM TABLE is the same on both sides (MySQL/MariaDB only).

    ``base_sums`` caches the base side's: a snapshot's frozen copy never changes.
    """
    if not tables or client.dialect == "matrixone":
        return set()
    ours = checksums(client, [f"{quote(target)}.{quote(t)}" for t in tables])
    if base_sums is None:
        base_sums = {}
    missing = [t for t in tables if t not in base_sums]
    if missing:
        base_sums.update(
            zip(missing, checksums(client, [base_ref(t) for t in missing]), strict=True)
        )
    return {
        t for t, mine in zip(tables, ours, strict=True) if mine is not None and mine == base_sums[t]
    }


def _exact(client: Client) -> str:
    """MySQL/MariaDB compare strings by collation ('b' = 'B' by default): a diff needs bytes."""
    return "" if client.dialect == "matrixone" else "BINARY "


def diff_table(
    client: Client, new: str, old: str, table: str, shape: Shape, limit: int
) -> TableDiff:
    """Compare ``new`` (the target table) with ``old`` (the base side) on the server."""
    if shape.key:
        return _by_key(client, new, old, table, shape, limit)
    return _by_multiset(client, new, old, table, shape, limit)


#: Up to this many changed rows per side, one pass returns them and Python counts them;
#: beyond it, COUNT(*) queries count on the server and only ``limit`` rows are read.
ROWS_AT_ONCE = 1000


def _by_key(client: Client, new: str, old: str, table: str, shape: Shape, limit: int) -> TableDiff:
    names = shape.names
    width = len(names)
    exact = _exact(client)
    on = " AND ".join(f"n.{quote(k)} = o.{quote(k)}" for k in shape.key)
    same = " AND ".join(
        f"{exact}n.{quote(c)} <=> {exact}o.{quote(c)}" for c in names if c not in shape.key
    )
    ncols = ", ".join(f"n.{quote(c)}" for c in names)
    ocols = ", ".join(f"o.{quote(c)}" for c in names)
    first = quote(shape.key[0])
    missing = f"o.{first} IS NULL"  # a key column is never NULL: no match in the base
    changed = f"{missing} OR NOT ({same})" if same else missing
    # One pass over each side finds inserted + updated rows, then deleted ones.
    ours = client.execute(
        f"SELECT {ncols}, {ocols} FROM {new} n LEFT JOIN {old} o ON {on} WHERE {changed} "
        f"LIMIT {ROWS_AT_ONCE + 1}"
    )
    gone = client.execute(
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
            for n in client.execute(
                f"SELECT SUM(CASE WHEN {missing} THEN 1 ELSE 0 END), COUNT(*) - "
                f"SUM(CASE WHEN {missing} THEN 1 ELSE 0 END) "
                f"FROM {new} n LEFT JOIN {old} o ON {on} WHERE {changed}"
            )[0]
        )
    if len(gone) > ROWS_AT_ONCE:
        result.deleted_count = int(
            client.execute(
                f"SELECT COUNT(*) FROM {old} o LEFT JOIN {new} n ON {on} WHERE n.{first} IS NULL"
            )[0][0]
        )
    result.inserted = [dict(zip(names, r[:width], strict=True)) for r in added[:limit]]
    result.updated = [
        (dict(zip(names, r[width:], strict=True)), dict(zip(names, r[:width], strict=True)))
        for r in modified[:limit]
    ]
    result.deleted = [dict(zip(names, r, strict=True)) for r in gone[:limit]]
    return result


def _by_multiset(
    client: Client, new: str, old: str, table: str, shape: Shape, limit: int
) -> TableDiff:
    """No key: whole rows, counted with multiplicity (an update shows as delete + insert)."""
    cols = ", ".join(quote(c) for c in shape.names)
    exact = _exact(client)
    picked = ", ".join(f"MIN({quote(c)})" for c in shape.names)  # one value per exact group
    groups = ", ".join(f"{exact}{quote(c)}" for c in shape.names)
    grouped = (
        f"SELECT {picked}, SUM({SIDE}) AS {SIDE} FROM ("
        f"SELECT {cols}, 1 AS {SIDE} FROM {new} n UNION ALL SELECT {cols}, -1 FROM {old} o"
        f") x GROUP BY {groups} HAVING SUM({SIDE}) <> 0"
    )
    plus, minus = client.execute(
        f"SELECT COALESCE(SUM(CASE WHEN {SIDE} > 0 THEN {SIDE} ELSE 0 END), 0), "
        f"COALESCE(SUM(CASE WHEN {SIDE} < 0 THEN -{SIDE} ELSE 0 END), 0) FROM ({grouped}) g"
    )[0]
    result = TableDiff(table, (), int(plus), 0, int(minus))
    if plus or minus:
        for row in client.execute(f"{grouped} LIMIT {2 * limit}"):
            values, times = dict(zip(shape.names, row[:-1], strict=True)), int(row[-1])
            bucket = result.inserted if times > 0 else result.deleted
            bucket.extend([values] * min(abs(times), limit - len(bucket)))
        result.note = "no primary key: rows are compared whole, so an update shows as - and +"
    return result


def _rows(client: Client, sql: str, names: list[str]) -> list[Row]:
    return [dict(zip(names, r, strict=True)) for r in client.execute(sql)]


def diff_databases(
    client: Client,
    target: str,
    base: str,
    base_ref: BaseRef,
    diff: DatabaseDiff,
    limit: int,
    base_sums: Optional[dict[str, object]] = None,
) -> DatabaseDiff:
    """The whole plain-SQL diff of ``target`` against the tables ``base_ref`` names."""
    ours, theirs = shapes(client, target), shapes(client, base)
    comparable = schema_changes(ours, theirs, diff)
    record_alterations(client, target, base, diff)
    skip = unchanged_by_checksum(client, target, comparable, base_ref, base_sums)
    for table in comparable:
        if table in skip:
            continue
        new, old = f"{quote(target)}.{quote(table)}", base_ref(table)
        if client.dialect != "matrixone":  # a large changed table: only its changed buckets
            part = narrow(client, new, old, base, table, ours[table], base_sums)
            new, old = part.target, part.base
        found = diff_table(client, new, old, table, ours[table], limit)
        if found.changed:
            diff.tables.append(found)
    for table in diff.altered:
        shape = shared_shape(ours[table], theirs[table]) if table not in comparable else None
        if shape is None:  # only an index or a default changed (compared above), or nothing shared
            continue
        new, old = f"{quote(target)}.{quote(table)}", base_ref(table)
        if client.dialect != "matrixone":
            part = narrow(client, new, old, base, table, shape, base_sums)
            new, old = part.target, part.base
        found = diff_table(client, new, old, table, shape, limit)
        if found.changed:
            how = "by key" if shape.key else "as whole rows"
            note = f"definition changed: rows compared {how} on the columns both sides have"
            found.note = note + (f"; {found.note}" if found.note else "")
            diff.tables.append(found)
    diff.tables.sort(key=lambda t: t.table)
    return diff


def shared_shape(new: Shape, old: Shape) -> Optional[Shape]:
    """The columns both versions of an altered table have (in the new order), keyed as before if
    the key survived; None when no column is shared."""
    kept = {c for c, _ in old.columns}
    columns = tuple((c, kind) for c, kind in new.columns if c in kept)
    if not columns:
        return None
    names = {c for c, _ in columns}
    key = new.key if new.key == old.key and set(new.key) <= names else ()
    return Shape(columns, key)

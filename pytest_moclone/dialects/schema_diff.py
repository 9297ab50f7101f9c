"""What a table looks like, on both sides of a diff: columns, keys, indexes, and what changed.

Read from ``information_schema`` (MatrixOne too, where its primary keys come from the dialect);
"altered" compares every attribute of every column and index, so a table whose definition is the
same is never reported as altered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from ..diff import DatabaseDiff

if TYPE_CHECKING:
    from ..connection import Executor
    from .base import Dialect


@dataclass(frozen=True)
class Shape:
    """What a table looks like: its columns (name and type, in order) and its primary key."""

    columns: tuple[tuple[str, str], ...]
    key: tuple[str, ...]

    @property
    def names(self) -> list[str]:
        return [c for c, _ in self.columns]


def shapes(ex: Executor, dialect: Dialect, database: str) -> dict[str, Shape]:
    """Every base table of ``database`` with its shape."""
    rows = ex.execute(
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
    keys = dialect.primary_keys(ex, database)
    return {t: Shape(tuple(cols), keys.get(t, ())) for t, cols in columns.items()}


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


def definitions(ex: Executor, database: str) -> dict[str, Definition]:
    """Every base table's definition, from information_schema (two queries; MatrixOne too)."""
    rows = ex.execute(
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
    for table, index, non_unique, seq, column, sub_part in ex.execute(
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


def record_alterations(ex: Executor, target: str, base: str, diff: DatabaseDiff) -> None:
    """Add the tables whose definitions differ (an index, a default, ...) to ``diff.altered``,
    with what changed in each (``diff.altered_details``)."""
    ours, theirs = definitions(ex, target), definitions(ex, base)
    for table in sorted(set(ours) & set(theirs)):
        if ours[table] != theirs[table]:
            diff.altered_details[table] = describe_alteration(ours[table], theirs[table])
    diff.altered = sorted(set(diff.altered) | set(diff.altered_details))


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

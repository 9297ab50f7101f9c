"""What a database changed against its golden: typed data, and the text a failed test shows.

``client.clone.diff(target, base, snapshot_name)`` returns a :class:`DatabaseDiff`; the plugin
prints :func:`format_diff` of it under a failed test. Rows are dicts of column -> value; an update
is its (old, new) pair (old is None where the server cannot tell it: a table without a key on
MatrixOne).
"""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass, field
from typing import Any, Optional

Row = dict[str, Any]


@dataclass
class TableDiff:
    table: str
    key: tuple[str, ...]  # the primary key's columns; empty when the table has none
    inserted_count: int = 0
    updated_count: int = 0
    deleted_count: int = 0
    inserted: list[Row] = field(default_factory=list)  # at most max_rows of each kind
    updated: list[tuple[Optional[Row], Row]] = field(default_factory=list)
    deleted: list[Row] = field(default_factory=list)
    note: Optional[str] = None  # e.g. why rows were not listed

    @property
    def changed(self) -> bool:
        return bool(self.inserted_count or self.updated_count or self.deleted_count)

    @property
    def truncated(self) -> bool:
        return (
            len(self.inserted) < self.inserted_count
            or len(self.updated) < self.updated_count
            or len(self.deleted) < self.deleted_count
        )


@dataclass
class DatabaseDiff:
    target: str
    base: str
    snapshot: Optional[str]
    tables: list[TableDiff] = field(default_factory=list)  # only tables whose rows changed
    created: list[str] = field(default_factory=list)  # tables only in the target
    dropped: list[str] = field(default_factory=list)  # tables only in the base
    altered: list[str] = field(default_factory=list)  # tables whose definition differs
    #: what changed in each altered table, in words ("column `x` added: int NULL", ...)
    altered_details: dict[str, list[str]] = field(default_factory=dict)
    cumulative: bool = False  # a worker database: several tests' changes together

    @property
    def is_empty(self) -> bool:
        return not (self.tables or self.created or self.dropped or self.altered)

    def table(self, name: str) -> Optional[TableDiff]:
        return next((t for t in self.tables if t.table == name), None)


def sql_literal(value: Any, width: int = 40) -> str:
    """A value as it would be written in SQL, shortened to ``width`` characters."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float, decimal.Decimal)):
        text = str(value)
    elif isinstance(value, (bytes, bytearray)):
        text = "0x" + bytes(value).hex()
        if len(text) > width:  # a BLOB: its first bytes, and how many there are
            size = f"... ({len(value)} bytes)"
            return text[: max(4, width - len(size))] + size
    elif isinstance(value, (dt.date, dt.datetime, dt.time, dt.timedelta)):
        text = f"'{value}'"
    else:
        text = "'" + str(value).replace("'", "''") + "'"
    if len(text) > width:
        text = text[: width - 3] + "..."
    return text


def _row(row: Row) -> str:
    return "(" + ", ".join(f"{k}={sql_literal(v)}" for k, v in row.items()) + ")"


def _update(key: tuple[str, ...], old: Optional[Row], new: Row) -> str:
    if old is None:
        return f"{_row(new)}  (old values unknown: the table has no key)"
    shown_key = ", ".join(f"{k}={sql_literal(new.get(k))}" for k in key)
    changes = [
        f"{c}: {sql_literal(old.get(c))} -> {sql_literal(v)}"
        for c, v in new.items()
        if c not in key and old.get(c) != v
    ]
    return f"({shown_key})  " + ", ".join(changes)


def format_diff(diff: DatabaseDiff, max_rows: int = 5) -> str:
    """The "database changes" section of a failed test's report."""
    if diff.is_empty:
        return f"no changes in {diff.target} against {diff.base}"
    against = diff.base + (f" at snapshot {diff.snapshot}" if diff.snapshot else "")
    lines = [f"{diff.target} against {against}:"]
    if diff.cumulative:
        lines.append("(a worker database: the changes of every test that used it so far)")
    width = max((len(t.table) for t in diff.tables), default=0)
    for t in diff.tables:
        counts = (
            f"+{t.inserted_count} inserted  ~{t.updated_count} updated  -{t.deleted_count} deleted"
        )
        lines.append(f"  {t.table.ljust(width)}  {counts}")
        for row in t.inserted[:max_rows]:
            lines.append(f"      + {_row(row)}")
        for old, new in t.updated[:max_rows]:
            lines.append(f"      ~ {_update(t.key, old, new)}")
        for row in t.deleted[:max_rows]:
            lines.append(f"      - {_row(row)}")
        shown = min(len(t.inserted), max_rows) + min(len(t.updated), max_rows)
        shown += min(len(t.deleted), max_rows)
        hidden = t.inserted_count + t.updated_count + t.deleted_count - shown
        if hidden > 0:
            lines.append(f"      ... and {hidden} more (--mo-diff-rows N shows more)")
        if t.note:
            lines.append(f"      ({t.note})")
    for label, names in (
        ("created", diff.created),
        ("dropped", diff.dropped),
        ("altered", diff.altered),
    ):
        if names:
            lines.append(f"  tables {label}: {', '.join(names)}")
    for table in diff.altered:
        lines += [f"      {table}: {change}" for change in diff.altered_details.get(table, [])]
    return "\n".join(lines)

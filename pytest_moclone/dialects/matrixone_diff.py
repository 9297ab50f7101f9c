"""The diff on MatrixOne: native ``DATA BRANCH DIFF`` where a table has lineage.

A table has lineage when its database was made with ``DATA BRANCH CREATE DATABASE ... FROM base``
(``mo_catalog.mo_branch_metadata`` lists it). Then ``DATA BRANCH DIFF t AGAINST base.t{SNAPSHOT}``
names each changed row ``INSERT``, ``UPDATE`` (new values) or ``DELETE`` (old values). Its cost
follows the number of changed rows, not the table's size (6 ms for a 1 M-row table with three
changes, ~2 s for 300 k changes). ``OUTPUT SUMMARY`` comes first; rows are then read with
``OUTPUT LIMIT n`` (live on v3.0.18 and v4.2.0, though the docs omit it), which bounds the rows
sent but not the work, so they are read only when the changes are not too many. A table made by
a plain ``CLONE`` has no lineage: its DIFF cannot tell the sides apart and reads both tables
whole (2-6 s for 1 M rows, even as ``OUTPUT COUNT``), so it is compared in plain SQL instead
(sql_diff.py: ~0.4 s for 1 M rows).

Lineage is read from ``mo_catalog.mo_branch_metadata``: a table descends from the base's table of
the same name through ``DATA BRANCH CREATE`` and, on v4.x, through the ``alter:`` rows an ALTER
adds. v3.0.x gives an altered table a new id without such a row (its DIFF fails 20101 "the target
table schema is not equivalent to the base table."): it is listed as altered, its rows not compared.
Inside a transaction (a session) tables are compared in plain SQL: v3.0.18 refuses DIFF there
(20101 "unclassified statement appears in uncommitted transaction") and v4.2.0 runs it without
seeing the transaction's own uncommitted rows (live: a row inserted in the transaction is counted
by SELECT, not by DIFF).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from ..diff import DatabaseDiff, Row, TableDiff
from ..errors import QueryError
from ..names import literal, quote
from . import sql_diff
from .base import SnapshotInfo
from .schema_diff import Shape, record_alterations, schema_changes, shapes, shared_shape

if TYPE_CHECKING:
    from ..connection import Executor
    from .base import Dialect

#: Rows are read from the first this many differences DIFF returns (``OUTPUT LIMIT``).
ROWS_READ_AT_MOST = 1000
#: Above this many changed rows in a table, only the counts are shown: reading rows would cost
#: as much as the summary again (DIFF does all its work even under OUTPUT LIMIT).
ROWS_SCANNED_AT_MOST = 100_000
_LINEAGE_DEPTH = 16  # DATA BRANCH CREATE, then one step per ALTER on v4.x


def _table_ids(ex: Executor, database: str, at: str = "") -> dict[str, set[int]]:
    rows = ex.execute(
        f"SELECT relname, rel_id FROM mo_catalog.mo_tables {at} "
        "WHERE reldatabase = %s AND account_id = current_account_id()",
        (database,),
    )
    ids: dict[str, set[int]] = {}
    for name, rel_id in rows:
        ids.setdefault(str(name), set()).add(int(rel_id))
    return ids


def lineage_tables(ex: Executor, database: str, base: str = "", at: str = "") -> set[str]:
    """Tables of ``database`` that descend from the table of the same name in ``base``.

    Without ``base``: every table that has lineage at all. Where the catalog cannot be read (an
    account without the privilege), no table has lineage: all are compared in plain SQL.
    """
    try:
        ours = _table_ids(ex, database)
        ancestors: dict[str, set[int]] = {}
        if base:
            ancestors = _table_ids(ex, base)
            if at:  # the base's tables as the snapshot saw them (one may have been re-created)
                for name, ids in _table_ids(ex, base, at).items():
                    ancestors.setdefault(name, set()).update(ids)
        parents: dict[int, int] = {}
        frontier = {i for ids in ours.values() for i in ids}
        for _ in range(_LINEAGE_DEPTH):
            if not frontier:
                break
            marks = ", ".join(["%s"] * len(frontier))
            rows = ex.execute(
                "SELECT table_id, p_table_id FROM mo_catalog.mo_branch_metadata "
                f"WHERE table_id IN ({marks})",
                sorted(frontier),
            )
            found = {int(t): int(p) for t, p in rows}
            parents.update(found)
            frontier = set(found.values()) - set(parents)
    except QueryError:
        return set()
    with_lineage = set()
    for name, ids in ours.items():
        for table_id in ids:
            chain: list[int] = []
            step = parents.get(table_id)
            while step is not None and len(chain) < _LINEAGE_DEPTH:
                chain.append(step)
                step = parents.get(step)
            if chain and (not base or ancestors.get(name, set()) & set(chain)):
                with_lineage.add(name)
    return with_lineage


def diff_database(
    ex: Executor,
    dialect: Dialect,
    target: str,
    base: str,
    snapshot: Optional[SnapshotInfo],
    diff: DatabaseDiff,
    limit: int,
) -> DatabaseDiff:
    at = "" if snapshot is None else f"{{SNAPSHOT = {literal(snapshot.name)}}}"

    def base_ref(table: str) -> str:
        return f"{quote(base)}.{quote(table)}{' ' + at if at else ''}"

    ours, theirs = shapes(ex, dialect, target), shapes(ex, dialect, base)
    schema_changes(ours, theirs, diff)
    record_alterations(ex, target, base, diff)
    # In a transaction DIFF fails (v3.0.18) or misses the transaction's own rows (v4.2.0).
    with_lineage = set() if ex.in_transaction else lineage_tables(ex, target, base, at)
    for table in sorted(set(ours) & set(theirs)):
        found: Optional[TableDiff] = None
        shape = ours[table] if ours[table] == theirs[table] else None
        if table in with_lineage and branch_diff_works(ex, ours[table]):
            try:
                found = _branch_diff(ex, target, base, at, table, ours[table], limit)
            except QueryError as exc:  # v4.2.0 DROP COLUMN; a TRUNCATEd branch table on v4.2.0
                why = f"the server said ({exc.server_code}) {exc.server_message}"
                if "different type attributes" in str(exc.server_message):
                    shape = shared_shape(ours[table], theirs[table])  # compared in SQL below
                elif table in diff.altered:
                    found = TableDiff(table, ours[table].key, note=f"rows not compared: {why}")
        elif table in with_lineage:
            shape = shared_shape(ours[table], theirs[table])
        if found is None and shape is None:  # other columns and no lineage: no rows to pair
            found = TableDiff(table, ours[table].key, note="definition changed: rows not compared")
        if found is None and shape is not None:  # no lineage, or DIFF refused: plain SQL
            found = sql_diff.diff_table(
                ex,
                dialect,
                f"{quote(target)}.{quote(table)}",
                base_ref(table),
                table,
                shape,
                limit,
            )
        if found is None:
            continue
        if found.changed or found.note:
            diff.tables.append(found)
    return diff


def branch_diff_works(ex: Executor, shape: Shape) -> bool:
    """Whether ``DATA BRANCH DIFF`` can be trusted with this table (seen live): v4.x fails on a
    SET column ("column ... has different type attributes": its clones lower-case the labels);
    v3.0.x never returns once an ENUM column changed (KILL does not stop it)."""
    kinds = [kind.lower() for _, kind in shape.columns]
    if ex.info.at_least(4, 0, 0):
        return not any(k.startswith("set(") for k in kinds)
    return not any(k.startswith("enum(") for k in kinds)


def _branch_diff(
    ex: Executor, target: str, base: str, at: str, table: str, shape: Shape, limit: int
) -> Optional[TableDiff]:
    """The native diff of one table with lineage; None when the base changed as well."""
    statement = (
        f"DATA BRANCH DIFF {quote(target)}.{quote(table)} AGAINST {quote(base)}.{quote(table)}{at}"
    )
    result = TableDiff(table, shape.key)
    summary = ex.execute(statement + " OUTPUT SUMMARY")
    counts = {str(metric).upper(): int(n or 0) for metric, n, *_ in summary}
    if any(int(row[2] or 0) for row in summary if len(row) > 2):
        # The base changed too since the branch was made (a diff without the snapshot): DIFF's
        # rows would come from both sides, unmarked. The caller compares the tables instead.
        return None
    result.inserted_count = counts.get("INSERTED", 0)
    result.updated_count = counts.get("UPDATED", 0)
    result.deleted_count = counts.get("DELETED", 0)
    total = result.inserted_count + result.updated_count + result.deleted_count
    if total == 0 or limit <= 0:
        return result
    if total > ROWS_SCANNED_AT_MOST:
        result.note = f"counts only: rows are read when at most {ROWS_SCANNED_AT_MOST} changed"
        return result
    names, rows = ex.query(f"{statement} OUTPUT LIMIT {min(total, ROWS_READ_AT_MOST)}")
    columns = names[2:]  # the first two are the table's name and the flag
    updated_new: list[Row] = []
    for row in rows:
        flag, values = str(row[1]).upper(), dict(zip(columns, row[2:], strict=True))
        if flag == "INSERT" and len(result.inserted) < limit:
            result.inserted.append(values)
        elif flag == "DELETE" and len(result.deleted) < limit:
            result.deleted.append(values)
        elif flag == "UPDATE" and len(updated_new) < limit:
            updated_new.append(values)
    old = _old_rows(ex, base, at, table, shape.key, updated_new)
    pairs = [
        (
            None
            if (o := old.get(_key_of(new, shape.key))) is None
            else sql_diff.decode_geometry(shape, o),
            sql_diff.decode_geometry(shape, new),
        )
        for new in updated_new
    ]
    result.updated = sql_diff.settle_set_case(ex, shape, pairs)
    result.inserted = [sql_diff.decode_geometry(shape, r) for r in result.inserted]
    result.deleted = [sql_diff.decode_geometry(shape, r) for r in result.deleted]
    if total > ROWS_READ_AT_MOST and result.truncated:
        result.note = f"rows shown are from the first {ROWS_READ_AT_MOST} changes the server listed"
    return result


def _key_of(row: Row, key: tuple[str, ...]) -> tuple[object, ...]:
    return tuple(row.get(k) for k in key)


def _old_rows(
    ex: Executor, base: str, at: str, table: str, key: tuple[str, ...], new_rows: list[Row]
) -> dict[tuple[object, ...], Row]:
    """The base's version of updated rows, read at the snapshot by key (none without a key)."""
    if not key or not new_rows:
        return {}
    match = " OR ".join("(" + " AND ".join(f"{quote(k)} = %s" for k in key) + ")" for _ in new_rows)
    params = [row.get(k) for row in new_rows for k in key]
    names, _ = ex.query(f"SELECT * FROM {quote(base)}.{quote(table)} {at} LIMIT 0")
    rows = ex.execute(f"SELECT * FROM {quote(base)}.{quote(table)} {at} WHERE {match}", params)
    found = {}
    for row in rows:
        values = {n: v for n, v in zip(names, row, strict=True) if not n.startswith("__mo_")}
        found[_key_of(values, key)] = values
    return found

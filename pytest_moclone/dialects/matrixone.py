"""MatrixOne: native, copy-on-write ``CLONE`` and ``CREATE SNAPSHOT`` (see docs/matrixone.md).

Never sends ``IF NOT EXISTS`` with ``CLONE``: released servers ignore it (database) or append the
source's rows into the existing table (table, v4.0.0-rc3 to v4.2.0). The managers check first.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Optional

from ..errors import CloneError, QueryError
from ..names import TableName, literal, quote
from .base import Dialect, SnapshotInfo
from .matrixone_diff import diff_database
from .matrixone_fidelity import SourceScan, refusals, scan, view_mode_error
from .signals import matrixone_signals

if TYPE_CHECKING:
    from ..connection import Executor
    from ..detect import Signals
    from ..diff import DatabaseDiff
    from ..version import ServerInfo

#: ``CREATE ... CLONE`` exists from this version.
CLONE_SINCE = (3, 0, 0)
#: Database and table snapshots protect their data from GC from here; before, FOR ACCOUNT.
SCOPED_SNAPSHOT_GC_SINCE = (3, 0, 4)
#: ``DATA BRANCH`` (and clones inside ``BEGIN``) exist from this version.
DATA_BRANCH_SINCE = (3, 0, 5)
#: Branches made and dropped from several connections at once: fine on 4.2.0 (eight connections,
#: no deadlock); on 3.0.18 every drop scans ``mo_branch_metadata`` FOR UPDATE and two connections
#: already deadlock (20701, found every 5 s), four bring the server to 0.2 statements a second.
CONCURRENT_BRANCHES_SINCE = (4, 0, 0)
#: Without lineage (a plain clone: tests' databases on 3.0.x) DIFF reads the whole table: 13 ms
#: at 500 rows, 20 ms at 10 k, 190 ms at 100 k on 3.0.18. Past this many rows in one of the
#: golden's tables, checking what a test changed costs more than a fresh clone: fresh clones.
PLAIN_DIFF_MAX_ROWS = 10_000

_REFERENCES = re.compile(r"REFERENCES `((?:[^`]|``)+)`(?:\.`((?:[^`]|``)+)`)? ?\(")
_SNAPSHOT_COLUMNS = ("snapshot_name", "timestamp", "snapshot_level", "database_name", "table_name")


def _base_tables(ex: Executor, database: str) -> list[str]:
    rows = ex.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = %s AND table_type = 'BASE TABLE'",
        (database,),
    )
    return [str(r[0]) for r in rows]


def snapshot_clause(snapshot: Optional[SnapshotInfo]) -> str:
    return "" if snapshot is None else f" {{SNAPSHOT = {literal(snapshot.name)}}}"


def clone_database_sql(target: str, source: str, snapshot: Optional[SnapshotInfo] = None) -> str:
    return f"CREATE DATABASE {quote(target)} CLONE {quote(source)}{snapshot_clause(snapshot)}"


def branch_database_sql(target: str, source: str, snapshot: Optional[SnapshotInfo] = None) -> str:
    """A clone with lineage: ``DATA BRANCH DIFF`` can then tell inserts, updates and deletes."""
    at = snapshot_clause(snapshot)
    return f"DATA BRANCH CREATE DATABASE {quote(target)} FROM {quote(source)}{at}"


def clone_table_sql(
    target: TableName, source: TableName, snapshot: Optional[SnapshotInfo] = None
) -> str:
    return f"CREATE TABLE {target.sql} CLONE {source.sql}{snapshot_clause(snapshot)}"


def create_snapshot_sql(
    name: str, database: str, table: Optional[str], *, account_level: bool = False
) -> str:
    if account_level:
        return f"CREATE SNAPSHOT {quote(name)} FOR ACCOUNT"
    if table is None:
        return f"CREATE SNAPSHOT {quote(name)} FOR DATABASE {quote(database)}"
    # FOR TABLE takes the database and the table separated by a space, not a dot.
    return f"CREATE SNAPSHOT {quote(name)} FOR TABLE {quote(database)} {quote(table)}"


def drop_snapshot_sql(name: str) -> str:
    return f"DROP SNAPSHOT {quote(name)}"


def parse_show_snapshots(
    columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[SnapshotInfo]:
    """Read ``SHOW SNAPSHOTS`` by column name, case-insensitively.

    v4.2.0 names the columns in upper case; v3.0.18 in lower case when there is a WHERE.
    """
    index = {c.lower(): i for i, c in enumerate(columns)}
    missing = [c for c in _SNAPSHOT_COLUMNS if c not in index]
    if missing:
        raise ValueError(f"SHOW SNAPSHOTS answered without the columns {missing}: {list(columns)}")
    found = []
    for row in rows:
        found.append(
            SnapshotInfo(
                name=str(row[index["snapshot_name"]]),
                level=str(row[index["snapshot_level"]]).lower(),
                database=str(row[index["database_name"]] or "") or None,
                table=str(row[index["table_name"]] or "") or None,
                created_at=_parse_timestamp(row[index["timestamp"]]),
            )
        )
    return found


def _parse_timestamp(value: Any) -> Optional[dt.datetime]:
    """``2026-11-25 03:35:45.236795545`` (nanoseconds) or epoch nanoseconds, as UTC."""
    if isinstance(value, int):
        return dt.datetime.fromtimestamp(value / 1e9, tz=dt.timezone.utc)
    text = str(value or "")
    if not text:
        return None
    head, _, frac = text.partition(".")
    try:
        stamp = dt.datetime.strptime(head, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return None
    micro = int((frac + "000000")[:6]) if frac.isdigit() else 0
    return stamp.replace(microsecond=micro)


class MatrixOneDialect(Dialect):
    name = "matrixone"
    native = True
    folds_names = True  # lower_case_table_names = 1: names are stored lower-cased
    process_columns = ("conn_id", "db")
    lock_wait_codes = frozenset({1205, 20400})  # 20400 "invalid state lock timeout" (3.0.18)

    def __init__(self, info: ServerInfo) -> None:
        self.info = info
        self._linked: dict[tuple[str, str], frozenset[str]] = {}
        self._scans: dict[tuple[str, str, object], SourceScan] = {}
        self._largest: dict[tuple[str, str], int] = {}

    def read_side(self, base: str, snapshot: Optional[SnapshotInfo]) -> tuple[str, str]:
        return base, snapshot_clause(snapshot)

    def table_type(self, ex: Executor, table: TableName) -> Optional[str]:
        kind = super().table_type(ex, table)
        return "SEQUENCE" if kind == "INTERNAL TABLE" else kind  # how MatrixOne lists one

    savepoints = False  # SAVEPOINT is accepted, ROLLBACK TO fails 20101 "not implemented yet"

    def transaction_id(self, ex: Executor) -> Optional[str]:
        rows = ex.execute(
            "SELECT txn_id FROM information_schema.processlist WHERE conn_id = CONNECTION_ID()"
        )
        return str(rows[0][0]) if rows and rows[0][0] else None

    def read_signals(
        self, ex: Executor, database: str, base: str, snapshot: str, *, after: bool
    ) -> Optional[Signals]:
        if not self.supports_data_branch:  # DATA BRANCH DIFF is the content signal
            return None
        if not self.concurrent_branches and self._largest_table(ex, base, snapshot) > (
            PLAIN_DIFF_MAX_ROWS
        ):
            return None
        return matrixone_signals(ex, database, base, snapshot, after=after)

    def _largest_table(self, ex: Executor, base: str, snapshot: str) -> int:
        """The most rows in one of the golden's tables at its snapshot (it never changes)."""
        key = (base, snapshot)
        if key not in self._largest:
            names = _base_tables(ex, base)
            at = snapshot_clause(SnapshotInfo(snapshot, "database"))
            counts = ex.query_many(
                [f"SELECT COUNT(*) FROM {TableName(t, base).sql}{at}" for t in names]
            )
            self._largest[key] = max((int(rows[0][0]) for rows in counts if rows), default=0)
        return self._largest[key]

    def _linked_tables(self, ex: Executor, base: str, snapshot: str) -> frozenset[str]:
        """Tables of the golden with a foreign key in or out: a table clone would point its
        keys at the golden, and a dropped parent would orphan its children's keys."""
        key = (base, snapshot)
        if key not in self._linked:
            names = _base_tables(ex, base)
            shows = ex.query_many([f"SHOW CREATE TABLE {quote(base)}.{quote(t)}" for t in names])
            linked: set[str] = set()
            for name, rows in zip(names, shows, strict=True):
                create = str(rows[0][1]) if rows else ""
                for first, second in _REFERENCES.findall(create):
                    parent = (second or first).replace("``", "`").lower()
                    linked.update({name.lower(), parent})
            self._linked[key] = frozenset(linked)
        return self._linked[key]

    def reset_tables(
        self, ex: Executor, database: str, tables: list[str], base: str, snapshot: str
    ) -> bool:
        if set(t.lower() for t in tables) & self._linked_tables(ex, base, snapshot):
            return False
        at = snapshot_clause(SnapshotInfo(snapshot, "database"))
        for table in tables:
            target, source = TableName(table, database), TableName(table, base)
            ex.execute_ddl(f"DROP TABLE IF EXISTS {target.sql}")
            ex.execute_ddl(f"CREATE TABLE {target.sql} CLONE {source.sql}{at}")
        return True

    @property
    def supports_data_branch(self) -> bool:
        return self.info.at_least(*DATA_BRANCH_SINCE)

    @property
    def lineage_diff(self) -> bool:  # type: ignore[override]
        return self.supports_data_branch

    @property
    def concurrent_branches(self) -> bool:  # type: ignore[override]
        return self.info.at_least(*CONCURRENT_BRANCHES_SINCE)

    def clone_database(
        self,
        ex: Executor,
        target: str,
        source: str,
        snapshot: Optional[SnapshotInfo],
        branch: bool = False,
    ) -> None:
        sql = (
            branch_database_sql(target, source, snapshot)
            if branch and self.supports_data_branch
            else clone_database_sql(target, source, snapshot)
        )
        what = f"cannot clone database {source!r} into {target!r}"
        found = self._scan(ex, source, snapshot)
        problems = refusals(found, self.info)
        if problems:
            raise CloneError(f"{what}: " + "; ".join(problems))
        mode = found.clone_sql_mode() if self.info.at_least(4, 0, 0) else None
        if mode is not None:
            ex.execute_script(
                ["SET @moclone_sm = @@session.sql_mode", f"SET SESSION sql_mode = {literal(mode)}"]
            )
        try:
            ex.execute_ddl(sql)
        except QueryError as exc:
            if exc.server_code == 1149:
                raise CloneError(
                    f"{what}: {view_mode_error(source, self.info)}",
                    server_code=exc.server_code,
                    server_message=exc.server_message,
                ) from exc
            raise
        finally:
            if mode is not None:
                ex.execute("SET SESSION sql_mode = @moclone_sm")
        after = found.after_clone(target)
        if after:
            try:
                for statement in after:  # one by one: see matrixone_fidelity.py
                    ex.execute(statement)
            except QueryError as exc:
                with contextlib.suppress(QueryError):
                    ex.execute(f"DROP DATABASE IF EXISTS {quote(target)}")
                exc.subject = exc.subject or "the sequences and the views reading them"
                raise

    def _scan(self, ex: Executor, source: str, snapshot: Optional[SnapshotInfo]) -> SourceScan:
        """What the CLONE would mishandle; read once per snapshot (it cannot change)."""
        if snapshot is None:
            return scan(ex, source, None)
        key = (source.lower(), snapshot.name, snapshot.created_at)
        if key not in self._scans:
            self._scans[key] = scan(ex, source, snapshot)
        return self._scans[key]

    def diff_database(
        self,
        ex: Executor,
        target: str,
        base: str,
        snapshot: Optional[SnapshotInfo],
        diff: DatabaseDiff,
        limit: int,
    ) -> DatabaseDiff:
        return diff_database(ex, self, target, base, snapshot, diff, limit)

    def clone_table(
        self, ex: Executor, target: TableName, source: TableName, snapshot: Optional[SnapshotInfo]
    ) -> None:
        try:
            ex.execute(clone_table_sql(target, source, snapshot))
        except QueryError as exc:
            if exc.server_code == 1690 and "AUTO_INCREMENT" in str(exc.server_message):
                raise CloneError(
                    f"cannot clone table {source} into {target}: {self.info.describe()} starts "
                    "a clone's AUTO_INCREMENT counter 10000 above the source's, which a TINYINT "
                    "column cannot hold (1690); make the column SMALLINT or wider (INT is safe)",
                    server_code=exc.server_code,
                    server_message=exc.server_message,
                ) from exc
            raise

    def create_snapshot(self, ex: Executor, name: str, database: str, table: Optional[str]) -> None:
        account_level = not self.info.at_least(*SCOPED_SNAPSHOT_GC_SINCE)
        ex.execute(create_snapshot_sql(name, database, table, account_level=account_level))

    def drop_snapshot(self, ex: Executor, snapshot: SnapshotInfo) -> None:
        ex.execute(drop_snapshot_sql(snapshot.name))

    def list_snapshots(self, ex: Executor, name: Optional[str] = None) -> list[SnapshotInfo]:
        if name is None and not ex.in_transaction:
            return parse_show_snapshots(*ex.query("SHOW SNAPSHOTS"))
        # SHOW SNAPSHOTS refuses to run inside a transaction; the catalog table works anywhere.
        where = "" if name is None else f" WHERE sname = {literal(name)}"
        rows = ex.execute(
            "SELECT sname, ts, level, database_name, table_name FROM mo_catalog.mo_snapshots"
            f"{where} ORDER BY ts DESC"
        )
        return [
            SnapshotInfo(
                name=str(r[0]),
                level=str(r[2]).lower(),
                database=str(r[3] or "") or None,
                table=str(r[4] or "") or None,
                created_at=_parse_timestamp(r[1]),
            )
            for r in rows
        ]

    def primary_keys(self, ex: Executor, database: str) -> dict[str, tuple[str, ...]]:
        """MatrixOne's information_schema has no key columns; its catalog marks them, in one
        query. A composite key shows only as the hidden ``__mo_cpkey_col`` (then SHOW KEYS names
        its parts); a table without a key has a hidden ``__mo_fake_pk_col``."""
        found: dict[str, tuple[str, ...]] = {}
        composite = []
        for table, column in ex.execute(
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
            names, rows = ex.query(f"SHOW KEYS FROM {quote(database)}.{quote(table)}")
            index = {n.lower(): i for i, n in enumerate(names)}
            parts = sorted(
                (int(r[index["seq_in_index"]]), str(r[index["column_name"]]))
                for r in rows
                if str(r[index["key_name"]]).upper() == "PRIMARY"
            )
            found[table] = tuple(c for _, c in parts if not c.startswith("__mo_"))
        return found

"""What MatrixOne's ``CLONE`` leaves out or gets wrong, found before it runs, and put right after.

Seen live on v4.2.0 and v3.0.18 (docs/research/matrixone-fidelity-and-liveness.md): a database
clone leaves out sequences (and views that read one), SQL functions and stored procedures; an
external table fails the whole clone (20101); a TINYINT AUTO_INCREMENT column fails it on 4.2.0
(1690: a clone's counter starts 10000 above the source's) and wraps on 3.0.18; a view made under
another sql_mode fails it (1149) unless the session has that mode (4.2.0); a table with two
foreign keys to one parent panics on its first insert in the clone (4.2.0) unless the parent was
locked once. Each statement after the CLONE goes in a round trip of its own: a CREATE VIEW sent
in a multi-statement round trip records the whole script as its text, and then fails with "can
not get view statement" (4.2.0 and 3.0.18). :func:`scan` reads the source once (cached per
snapshot by the dialect); :func:`refusals` says what cannot be cloned, and
:meth:`SourceScan.after_clone` what to run after.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

from ..names import literal, quote
from .mysql_objects import repointer

if TYPE_CHECKING:
    from ..connection import Executor
    from ..version import ServerInfo
    from .base import SnapshotInfo

_REFERENCES = re.compile(r"REFERENCES `((?:[^`]|``)+)`(?:\.`((?:[^`]|``)+)`)? ?\(")
_SAFE_TYPE = re.compile(r"[A-Za-z ]+")


@dataclass(frozen=True)
class SequenceState:
    name: str
    data_type: str
    next_value: int
    minimum: int
    maximum: int
    increment: int
    cycle: bool

    def create_sql(self, database: str) -> str:
        cycle = " CYCLE" if self.cycle else ""
        return (
            f"CREATE SEQUENCE {quote(database)}.{quote(self.name)} AS {self.data_type} "
            f"INCREMENT BY {self.increment} MINVALUE {self.minimum} MAXVALUE {self.maximum} "
            f"START WITH {self.next_value}{cycle}"
        )


@dataclass
class SourceScan:
    """What a database holds that its CLONE mishandles."""

    database: str
    external: list[str] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)
    procedures: list[str] = field(default_factory=list)
    tinyint_counters: list[tuple[str, str]] = field(default_factory=list)  # (table, column)
    sequences: list[SequenceState] = field(default_factory=list)
    #: Views that read a sequence (the CLONE drops them silently): (name, CREATE VIEW as typed)
    sequence_views: list[tuple[str, str]] = field(default_factory=list)
    #: The sql_mode the views were made under, when they agree (None: no views, or no record)
    view_modes: set[str] = field(default_factory=set)
    #: Parents two foreign keys of one child point at (warmed after the clone on 4.x)
    shared_parents: list[str] = field(default_factory=list)
    #: The cloning session's own sql_mode when the scan was made
    session_mode: str = ""
    #: Views made under another sql_mode (4.x records it): (name, CREATE VIEW, mode); the
    #: CLONE records none for them, so they are made again under their own
    mode_views: list[tuple[str, str, str]] = field(default_factory=list)

    def after_clone(self, target: str) -> list[str]:
        """Re-create the sequences at their next value and the views reading them, and the
        views made under another sql_mode under that mode; lock each shared parent once
        (``SELECT ... LIMIT 1 FOR UPDATE`` in autocommit), the warm-up that stops the first
        insert into its child from panicking on 4.2.0."""
        out = [s.create_sql(target) for s in self.sequences]
        repoint = repointer(self.database, target)
        out += [repoint(create) for _, create in self.sequence_views]
        if self.mode_views:
            out.append("SET @moclone_vsm = @@session.sql_mode")
            for name, create, mode in self.mode_views:
                out += [
                    f"DROP VIEW IF EXISTS {quote(target)}.{quote(name)}",
                    f"SET SESSION sql_mode = {literal(mode)}",
                    repoint(create),
                ]
            out.append("SET SESSION sql_mode = @moclone_vsm")
        out += [
            f"SELECT 1 FROM {quote(target)}.{quote(p)} LIMIT 1 FOR UPDATE"
            for p in self.shared_parents
        ]
        return out

    def clone_sql_mode(self) -> Optional[str]:
        """The sql_mode to run the CLONE under (4.2.0 re-checks each view under the session's
        mode): the views' own when they agree, else the most permissive, ``''``."""
        if not self.view_modes or self.view_modes == {self.session_mode}:
            return None
        return next(iter(self.view_modes)) if len(self.view_modes) == 1 else ""


def scan(ex: Executor, source: str, snapshot: Optional[SnapshotInfo]) -> SourceScan:
    """Read the source's catalog (a few round trips)."""
    found = SourceScan(source)
    db = literal(source)
    kinds, functions, procedures, counters = ex.query_many(
        [
            "SELECT relname, relkind, rel_createsql FROM mo_catalog.mo_tables WHERE "
            f"reldatabase = {db} AND account_id = current_account_id() ORDER BY relname",
            f"SELECT name FROM mo_catalog.mo_user_defined_function WHERE db = {db} ORDER BY name",
            f"SELECT name FROM mo_catalog.mo_stored_procedure WHERE db = {db} ORDER BY name",
            "SELECT table_name, column_name FROM information_schema.columns "
            f"WHERE table_schema = {db} AND data_type LIKE 'TINYINT%' "
            "AND extra LIKE '%auto_increment%' ORDER BY table_name",
        ]
    )
    found.functions = [str(r[0]) for r in functions]
    found.procedures = [str(r[0]) for r in procedures]
    found.tinyint_counters = [(str(t), str(c)) for t, c in counters]
    found.external = [str(n) for n, kind, _ in kinds if kind == "e"]
    sequences = [str(n) for n, kind, _ in kinds if kind == "S"]
    views = [(str(n), str(sql or "")) for n, kind, sql in kinds if kind == "v"]
    tables = [str(n) for n, kind, _ in kinds if kind == "r"]
    if sequences:
        found.sequences = _sequence_states(ex, source, sequences, snapshot)
        for name, create in views:
            if any(re.search(rf"\b{re.escape(s)}\b", create, re.IGNORECASE) for s in sequences):
                found.sequence_views.append((name, create))
    if views:
        found.session_mode = str(ex.execute("SELECT @@session.sql_mode")[0][0])
        for name, viewdef in ex.execute(
            "SELECT relname, cast(viewdef as varchar) FROM mo_catalog.mo_tables "
            "WHERE reldatabase = %s AND relkind = 'v' AND account_id = current_account_id() "
            "ORDER BY rel_id",
            (source,),
        ):
            definition = _json(str(viewdef or ""))
            mode, stmt = definition.get("sql_mode"), definition.get("Stmt")
            if isinstance(mode, str):
                found.view_modes.add(mode)
                if mode != found.session_mode and isinstance(stmt, str):
                    found.mode_views.append((str(name), stmt, mode))
    if tables:
        found.shared_parents = _shared_parents(ex, source, tables)
    return found


def _sequence_states(
    ex: Executor, source: str, names: Sequence[str], snapshot: Optional[SnapshotInfo]
) -> list[SequenceState]:
    at = "" if snapshot is None else f" {{SNAPSHOT = {literal(snapshot.name)}}}"
    db = quote(source)
    rows = ex.query_many(
        [
            "SELECT last_seq_num, min_value, max_value, increment_value, cycle, is_called "
            f"FROM {db}.{quote(n)}{at}"
            for n in names
        ]
    )
    types = {
        str(t).lower(): str(d).upper()
        for t, d in ex.execute(
            "SELECT table_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND column_name = 'last_seq_num'",
            (source,),
        )
    }
    out = []
    for name, state in zip(names, rows, strict=True):
        last, minimum, maximum, increment, cycle, called = (int(v) for v in state[0])
        following = last + increment if called else last
        if following > maximum:
            following = minimum if cycle else maximum
        data_type = types.get(name.lower(), "BIGINT")
        if not _SAFE_TYPE.fullmatch(data_type):
            data_type = "BIGINT"
        out.append(
            SequenceState(name, data_type, following, minimum, maximum, increment, bool(cycle))
        )
    return out


def _shared_parents(ex: Executor, source: str, tables: Sequence[str]) -> list[str]:
    shows = ex.query_many([f"SHOW CREATE TABLE {quote(source)}.{quote(t)}" for t in tables])
    parents: set[str] = set()
    for rows in shows:
        create = str(rows[0][1]) if rows else ""
        seen = [
            (second or first).replace("``", "`").lower()
            for first, second in _REFERENCES.findall(create)
        ]
        parents.update(p for p in seen if seen.count(p) > 1)
    return sorted(parents)


def _json(text: str) -> dict[str, object]:
    """``mo_tables.viewdef`` (JSON) as a dict; {} when it is not JSON."""
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def refusals(found: SourceScan, info: ServerInfo) -> list[str]:
    """One line per object the CLONE cannot copy faithfully, with the limit and the fix."""
    version = info.describe()
    lines = [
        f"external table {found.database}.{t}: {version} cannot clone a database holding an "
        "external table (its CLONE fails with 20101 'is not BASE TABLE'); keep external "
        "tables in another database, or create them in the test"
        for t in found.external
    ]
    lines += [
        f"SQL function {found.database}.{f}: {version}'s CLONE leaves functions out; create it "
        "in each test (or in a fixture), or keep the golden free of functions"
        for f in found.functions
    ]
    lines += [
        f"stored procedure {found.database}.{p}: {version}'s CLONE leaves procedures out; "
        "create it in each test (or in a fixture), or keep the golden free of procedures"
        for p in found.procedures
    ]
    fails = info.at_least(4, 0, 0)
    for table, column in found.tinyint_counters:
        effect = (
            "its CLONE fails with 1690 'data out of range ... AUTO_INCREMENT value 10000'"
            if fails
            else "a clone's counter wraps (its next id is 17) and later inserts collide"
        )
        lines.append(
            f"table {found.database}.{table}: column {column} is a TINYINT AUTO_INCREMENT; "
            f"{version} starts a clone's counter 10000 above the source's, so {effect}; "
            f"make {column} SMALLINT or wider (INT is safe)"
        )
    return lines


def view_mode_error(database: str, info: ServerInfo) -> str:
    """The message for a CLONE refused with 1149 (a view not valid under the session's mode)."""
    return (
        f"a view of {database} was made under a sql_mode its query needs (it is not valid "
        "under ONLY_FULL_GROUP_BY), and {0} re-checks every view under the cloning session's "
        "mode and does not record the view's own; make the view valid under any mode "
        "(aggregate or group by every column, e.g. any_value(v))"
    ).format(info.describe())

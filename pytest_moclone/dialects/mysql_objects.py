"""The objects of a MySQL/MariaDB database other than its tables, read so that a copy behaves
as the source does, and what a statement of a copy is about (so that a failure names it).

Sequences continue from the source's next value; views come from ``SHOW CREATE VIEW`` (SQL
SECURITY, DEFINER and charset introducers kept); triggers, routines and events are re-created
under the sql_mode, client charset and collation they were defined under (events DISABLED);
every ``source.`` qualifier is re-pointed at the copy (:func:`repointer`), and a name of the
source inside a string literal (dynamic SQL) is reported, since it cannot be re-pointed safely.

A copy is sent as one multi-statement round trip; when the server refuses statement *i*, the
error says only the server's text ("Table 'x.seq1' doesn't exist"). :func:`subject_of` reads the
head of that statement and says which object it was making ("view v_orders").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from ..errors import SnapshotError
from ..names import literal, quote

if TYPE_CHECKING:
    from ..connection import Executor

_NAME = r"(`(?:[^`]|``)+`|[\w$]+)"
_KINDS = ("TABLE", "VIEW", "TRIGGER", "PROCEDURE", "FUNCTION", "SEQUENCE", "EVENT")
_KIND = re.compile(
    r"^\s*(?:CREATE|ALTER)\b(?:\s+OR\s+REPLACE)?(?:\s+ALGORITHM\s*=\s*\w+)?"
    r"(?:\s+DEFINER\s*=\s*(?:`(?:[^`]|``)*`|'[^']*'|\S+?)@(?:`(?:[^`]|``)*`|'[^']*'|\S+))?"
    r"(?:\s+SQL\s+SECURITY\s+\w+)?\s+("
    + "|".join(_KINDS)
    + r")\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    + _NAME
    + r"(?:\."
    + _NAME
    + r")?",
    re.IGNORECASE | re.DOTALL,
)
_INSERT = re.compile(r"^\s*INSERT\s+INTO\s+" + _NAME + r"(?:\." + _NAME + r")?", re.IGNORECASE)


def _unquote(name: str) -> str:
    return name[1:-1].replace("``", "`") if name.startswith("`") else name


def subject_of(statement: str) -> Optional[str]:
    """``"view v1"``, ``"rows of table t"``, ... for a statement of a copy; None for the rest
    (``SET``, ``START TRANSACTION``, ``CREATE DATABASE``)."""
    found = _KIND.match(statement)
    if found:
        kind, first, second = found.group(1), found.group(2), found.group(3)
        return f"{kind.lower()} {_unquote(second or first)}"
    found = _INSERT.match(statement)
    if found:
        return f"rows of table {_unquote(found.group(2) or found.group(1))}"
    return None


# -- re-pointing names at the copy -------------------------------------------------------------
_STRING = re.compile(r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\"", re.DOTALL)


def repointer(source: str, target: str) -> Callable[[str], str]:
    """Re-point every ``source.`` / ```source`.`` qualifier at ``target``, outside string
    literals (views, trigger and routine bodies, ``DEFAULT nextval(src.seq)``, foreign keys)."""
    name = re.escape(source)
    qualifier = re.compile(r"(?<![\w$`.])(?:`" + name + r"`|" + name + r")(?=\s*\.)")
    new = quote(target)

    def repoint(sql: str) -> str:
        out, last = [], 0
        for string in _STRING.finditer(sql):
            out.append(qualifier.sub(lambda _m: new, sql[last : string.start()]))
            out.append(string.group(0))
            last = string.end()
        out.append(qualifier.sub(lambda _m: new, sql[last:]))
        return "".join(out)

    return repoint


def names_in_strings(sql: str, database: str) -> bool:
    """True when a string literal of ``sql`` names ``database`` (dynamic SQL, ``PREPARE``):
    such a reference cannot be re-pointed safely."""
    word = re.compile(r"(?<![\w$])" + re.escape(database) + r"(?![\w$])")
    return any(word.search(s.group(0)) for s in _STRING.finditer(sql))


# -- objects other than tables, each with the settings it was made under ----------------------
@dataclass(frozen=True)
class ObjectPlan:
    """A sequence, view, trigger, routine or event, as its ``CREATE`` (qualified with the
    source database) and the session settings it was defined under."""

    kind: str
    name: str
    create_sql: str
    sql_mode: Optional[str] = None
    charset: Optional[str] = None
    collation: Optional[str] = None
    time_zone: Optional[str] = None
    table: Optional[str] = None  # a trigger's table
    after: tuple[str, ...] = ()  # a sequence's SETVAL

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"


_SAFE_SETTING = re.compile(r"[A-Za-z0-9_]+")
SAVE_SETTINGS = (
    "SET @moclone_sm = @@session.sql_mode, @moclone_csc = @@session.character_set_client, "
    "@moclone_ccn = @@session.collation_connection, @moclone_tz = @@session.time_zone"
)
RESTORE_SETTINGS = (
    "SET SESSION sql_mode = @moclone_sm, character_set_client = @moclone_csc, "
    "collation_connection = @moclone_ccn, time_zone = @moclone_tz"
)


def object_statements(obj: ObjectPlan, repoint: Callable[[str], str]) -> list[str]:
    """``SET SESSION`` the object's own sql_mode, charset, collation (and an event's time zone),
    then its ``CREATE``, re-pointed; run between :data:`SAVE_SETTINGS` and
    :data:`RESTORE_SETTINGS`. The client charset is set only for UTF-8 ones: the statement's
    bytes are sent as utf8mb4, which another charset would read differently."""
    settings = []
    if obj.sql_mode is not None:
        settings.append(f"sql_mode = {literal(obj.sql_mode)}")
    if obj.charset and obj.charset.startswith("utf8") and _SAFE_SETTING.fullmatch(obj.charset):
        settings.append(f"character_set_client = {obj.charset}")
        if obj.collation and _SAFE_SETTING.fullmatch(obj.collation):
            settings.append(f"collation_connection = {obj.collation}")
    if obj.time_zone:
        settings.append(f"time_zone = {literal(obj.time_zone)}")
    out = [f"SET SESSION {', '.join(settings)}"] if settings else []
    return [*out, repoint(obj.create_sql), *(repoint(s) for s in obj.after)]


def _definer_sql(definer: str) -> str:
    """``root@127.0.0.1`` (information_schema) as ``DEFINER=`root`@`127.0.0.1```."""
    user, _, host = definer.rpartition("@")
    return f"DEFINER={quote(user)}@{quote(host)}"


def _qualify(create_sql: str, kind: str, database: str, name: str) -> str:
    """Put the object's own name in ``database`` (SHOW CREATE leaves it unqualified)."""
    head = re.compile(
        r"(\b" + kind + r"\s+)(?:`(?:[^`]|``)+`\.)?(`(?:[^`]|``)+`|[\w$]+)", re.IGNORECASE
    )
    return head.sub(lambda m: f"{m.group(1)}{quote(database)}.{quote(name)}", create_sql, count=1)


def read_sequences(ex: Executor, database: str, names: Sequence[str]) -> list[ObjectPlan]:
    """MariaDB sequences, to continue where the source's stand: ``SETVAL`` to the next value not
    yet handed out (as mariadb-dump does), so a clone never repeats one the source gave."""
    if not names:
        return []
    db = quote(database)
    shows = ex.query_many([f"SHOW CREATE SEQUENCE {db}.{quote(n)}" for n in names])
    states = ex.query_many(
        [f"SELECT next_not_cached_value, cycle_count FROM {db}.{quote(n)}" for n in names]
    )
    out = []
    for name, show, state in zip(names, shows, states, strict=True):
        create = _qualify(str(show[0][1]), "SEQUENCE", database, name)
        next_value, rounds = (int(v) for v in state[0])
        setval = f"SELECT SETVAL({db}.{quote(name)}, {next_value}, 0, {rounds})"
        out.append(ObjectPlan("sequence", name, create, after=(setval,)))
    return out


def read_views(ex: Executor, database: str, names: Sequence[str]) -> list[ObjectPlan]:
    """Views from ``SHOW CREATE VIEW`` (its SQL SECURITY, DEFINER, ALGORITHM and charset
    introducers kept), each after the views it reads."""
    if not names:
        return []
    shows = ex.query_many([f"SHOW CREATE VIEW {quote(database)}.{quote(n)}" for n in names])
    pending = {}
    for name, rows in zip(names, shows, strict=True):
        _, create, charset, collation = (str(v) for v in rows[0][:4])
        create = _qualify(create, "VIEW", database, name)
        pending[name] = ObjectPlan("view", name, create, None, charset, collation)
    ordered: list[ObjectPlan] = []
    while pending:
        ready = [
            n
            for n, v in pending.items()
            if not any(f"{quote(database)}.{quote(o)}" in v.create_sql for o in pending if o != n)
        ]
        for n in sorted(ready or pending):  # a cycle cannot exist in valid views
            ordered.append(pending.pop(n))
    return ordered


def read_triggers(ex: Executor, database: str) -> list[ObjectPlan]:
    rows = ex.execute(
        "SELECT trigger_name, action_timing, event_manipulation, event_object_table, "
        "action_statement, definer, sql_mode, character_set_client, collation_connection "
        "FROM information_schema.triggers WHERE trigger_schema = %s "
        "ORDER BY event_object_table, event_manipulation, action_timing, action_order",
        (database,),
    )
    db = quote(database)
    out = []
    for name, timing, event, table, body, definer, mode, charset, collation in rows:
        create = (
            f"CREATE {_definer_sql(str(definer))} TRIGGER {db}.{quote(str(name))} {timing} "
            f"{event} ON {db}.{quote(str(table))} FOR EACH ROW {body}"
        )
        out.append(
            ObjectPlan(
                "trigger",
                str(name),
                create,
                str(mode),
                str(charset),
                str(collation),
                table=str(table),
            )
        )
    return out


def read_routines(ex: Executor, database: str) -> list[ObjectPlan]:
    routines = ex.execute(
        "SELECT routine_type, routine_name FROM information_schema.routines "
        "WHERE routine_schema = %s ORDER BY routine_name",
        (database,),
    )
    shows = ex.query_many(
        [f"SHOW CREATE {kind} {quote(database)}.{quote(str(name))}" for kind, name in routines]
    )
    out = []
    for (kind, name), rows in zip(routines, shows, strict=True):
        _, mode, create, charset, collation = rows[0][:5]
        if create is None:
            raise SnapshotError(
                f"cannot read the definition of {str(kind).lower()} {database}.{name}: the user "
                "needs the privilege to see it (SHOW CREATE needs SELECT on mysql.proc)"
            )
        create = _qualify(str(create), str(kind), database, str(name))
        out.append(
            ObjectPlan(
                str(kind).lower(), str(name), create, str(mode), str(charset), str(collation)
            )
        )
    return out


_ENABLED = re.compile(
    r"\s(?:ENABLE|DISABLE ON SLAVE|DISABLE)\s+(?=(?:COMMENT\s+'(?:[^']|'')*'\s+)?DO\s)"
)


def read_events(ex: Executor, database: str) -> list[ObjectPlan]:
    """Events, copied DISABLED: a clone (or a snapshot's frozen copy) must not run the source's
    scheduled jobs by itself; a test that wants one enables it (``ALTER EVENT ... ENABLE``)."""
    names = [
        str(r[0])
        for r in ex.execute(
            "SELECT event_name FROM information_schema.events WHERE event_schema = %s "
            "ORDER BY event_name",
            (database,),
        )
    ]
    shows = ex.query_many([f"SHOW CREATE EVENT {quote(database)}.{quote(n)}" for n in names])
    out = []
    for name, rows in zip(names, shows, strict=True):
        _, mode, zone, create, charset, collation = (str(v) for v in rows[0][:6])
        create = _qualify(create, "EVENT", database, name)
        create = _ENABLED.sub(" DISABLE ", create, count=1)
        out.append(ObjectPlan("event", name, create, mode, charset, collation, zone))
    return out

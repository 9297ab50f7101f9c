"""Checks and quoting for every name that reaches SQL.

Names are refused before any SQL is sent unless they are plain identifiers: letters, digits, ``_``
and ``$``, not all digits, at most 64 characters. That is stricter than MySQL allows, on purpose:
a name that needs quoting tricks is a bug in a test suite, not something to support.
Snapshot names are stricter still (lower-case ``[a-z0-9_]``): MatrixOne stores them lower-cased,
and ``{SNAPSHOT='Name'}`` then silently finds nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from .errors import InvalidNameError

MAX_NAME_LENGTH = 64

_IDENTIFIER = re.compile(r"[A-Za-z0-9_$]+")
_SNAPSHOT = re.compile(r"[a-z0-9_]+")
_LOWER_SNAPSHOT_HINT = re.compile(r"[A-Za-z0-9_]+")

SYSTEM_DATABASES = frozenset(
    {
        "information_schema",
        "mysql",
        "performance_schema",
        "sys",
        "mo_catalog",
        "mo_debug",
        "mo_task",
        "system",
        "system_metrics",
    }
)


def check_identifier(name: object, what: str = "name") -> str:
    """Return ``name`` if it is a plain database/table identifier, else raise InvalidNameError."""
    if not isinstance(name, str):
        raise InvalidNameError(f"invalid {what} {name!r}: expected a string")
    if not name:
        raise InvalidNameError(f"invalid {what} '': a {what} cannot be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidNameError(
            f"invalid {what} {name!r}: {len(name)} characters, the limit is {MAX_NAME_LENGTH}"
        )
    if not _IDENTIFIER.fullmatch(name) or name.isdigit():
        raise InvalidNameError(
            f"invalid {what} {name!r}: use only letters, digits, '_' and '$' (and not digits alone)"
        )
    return name


def check_snapshot_name(name: object) -> str:
    """Return ``name`` if it is a safe snapshot name (lower-case ``[a-z0-9_]``, ≤ 64)."""
    if not isinstance(name, str):
        raise InvalidNameError(f"invalid snapshot name {name!r}: expected a string")
    if not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidNameError(
            f"invalid snapshot name {name!r}: it must have 1 to {MAX_NAME_LENGTH} characters"
        )
    if not _SNAPSHOT.fullmatch(name):
        if _LOWER_SNAPSHOT_HINT.fullmatch(name):
            raise InvalidNameError(
                f"invalid snapshot name {name!r}: snapshot names must be lower-case "
                f"(MatrixOne stores them lower-cased); use {name.lower()!r}"
            )
        raise InvalidNameError(
            f"invalid snapshot name {name!r}: use only lower-case letters, digits and '_'"
        )
    return name


def quote(name: str) -> str:
    """Backtick-quote an identifier that already passed :func:`check_identifier`."""
    return "`" + name.replace("`", "``") + "`"


def literal(value: str) -> str:
    """A single-quoted SQL string literal for an already checked name."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


@dataclass(frozen=True)
class TableName:
    """A table name, optionally qualified with its database (``db.table``)."""

    table: str
    database: Optional[str] = None

    @classmethod
    def parse(cls, text: object, what: str = "table name") -> TableName:
        if not isinstance(text, str):
            raise InvalidNameError(f"invalid {what} {text!r}: expected a string")
        parts = text.split(".")
        if len(parts) == 1:
            return cls(check_identifier(parts[0], what))
        if len(parts) == 2:
            return cls(
                check_identifier(parts[1], what), check_identifier(parts[0], "database name")
            )
        raise InvalidNameError(f"invalid {what} {text!r}: expected 'table' or 'database.table'")

    def resolve(self, default_database: Optional[str]) -> TableName:
        """Fill in the database from the connection's current one."""
        if self.database is not None:
            return self
        if default_database is None:
            raise InvalidNameError(
                f"table name {self.table!r} has no database and the connection has none "
                f"selected: write 'database.{self.table}'"
            )
        return TableName(self.table, default_database)

    @property
    def sql(self) -> str:
        if self.database is None:
            return quote(self.table)
        return f"{quote(self.database)}.{quote(self.table)}"

    def __str__(self) -> str:
        return self.table if self.database is None else f"{self.database}.{self.table}"


def check_not_system(database: str, role: str) -> None:
    """Refuse system databases as clone sources or targets (MatrixOne lets sys clone them)."""
    if database.lower() in SYSTEM_DATABASES:
        raise InvalidNameError(
            f"invalid {role} database {database!r}: it is a system database, "
            "which cannot be cloned or cloned into"
        )

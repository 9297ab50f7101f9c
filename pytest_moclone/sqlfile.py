"""Golden SQL files read the way the ``mysql`` client reads them, and kept inside the golden.

Pure functions, no server: :func:`split_statements` cuts a file into statements as the client
does (``DELIMITER`` commands, quotes, comments dropped, the line each statement starts on);
:func:`resolve_conditionals` turns mysqldump's conditional comments (``/*!40101 ... */``,
``/*M!100101 ... */``) into their content or nothing, by the rule each server applies (seen live:
MariaDB runs ``/*!NNNNN`` only below 50700, and ``/*!NNNNNN`` and ``/*M!...`` up to its own
version; MySQL runs 5-digit versions up to its own and never ``/*M!``; MatrixOne runs every
5-digit version, never ``/*M!``, and fails on a 6-digit one, which is left out for it);
:func:`one_database` keeps a file inside the golden, as ``mysql --one-database`` keeps a dump
inside one database (docs/configuration.md, ``mo_golden_sql``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .errors import MocloneError
from .version import MARIADB, MATRIXONE, ServerInfo

#: A MySQL-family version as conditional comments write it: 8.0.30 -> 80030, 10.11.19 -> 101119.
VersionNumber = int

_DELIMITER = re.compile(r"[ \t]*delimiter[ \t]+(\S+)[^\n]*(?:\n|$)", re.IGNORECASE)
_PLAIN_RUN = re.compile(r"[^'\"`\-#/\n]+")
_CONDITIONAL = re.compile(r"/\*(M?)!(\d{5,6})?")
_LEADING_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")


class SqlFileError(MocloneError):
    """A golden SQL file that cannot be run as it is (it reaches outside the golden)."""


@dataclass(frozen=True)
class Statement:
    text: str  # as the client would send it (comments dropped, conditional comments kept)
    line: int  # the line of the file it starts on, from 1


# -- splitting ------------------------------------------------------------------------------
def _end_of_quoted(text: str, start: int) -> int:
    """The index just past the quoted string, identifier or literal opening at ``start``."""
    quote_char = text[start]
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "\\" and quote_char != "`":
            i += 2
            continue
        if c == quote_char:
            if text.startswith(quote_char, i + 1):  # doubled: part of the string
                i += 2
                continue
            return i + 1
        i += 1
    return len(text)


def _end_of_conditional(text: str, start: int) -> int:
    """Past the ``*/`` closing the conditional comment at ``start`` (quotes inside skipped)."""
    i = text.index("!", start) + 1
    while i < len(text):
        if text[i] in "'\"`":
            i = _end_of_quoted(text, i)
        elif text.startswith("*/", i):
            return i + 2
        else:
            i += 1
    return len(text)


def split_statements(text: str) -> list[Statement]:
    """The statements of ``text``, cut on the current delimiter outside quotes and comments."""
    statements: list[Statement] = []
    buf: list[str] = []
    delimiter = ";"
    line = 1
    start_line: Optional[int] = None
    i, n = 0, len(text)

    def flush() -> None:
        nonlocal start_line
        stmt = "".join(buf).strip()
        if stmt:
            statements.append(Statement(stmt, start_line or line))
        buf.clear()
        start_line = None

    while i < n:
        at_line_start = i == 0 or text[i - 1] == "\n"
        if at_line_start and not "".join(buf).strip():
            command = _DELIMITER.match(text, i)
            if command:
                delimiter = command.group(1)
                line += command.group(0).count("\n")
                buf.clear()
                i = command.end()
                continue
        if text.startswith(delimiter, i):
            flush()
            i += len(delimiter)
            continue
        c = text[i]
        if c in "'\"`":
            j = _end_of_quoted(text, i)
            piece = text[i:j]
        elif c == "#" or (text.startswith("--", i) and (i + 2 >= n or text[i + 2] in " \t\r\n")):
            j = text.find("\n", i)
            j = n if j < 0 else j
            piece = " "
        elif text.startswith("/*", i):
            if _CONDITIONAL.match(text, i):
                j = _end_of_conditional(text, i)
                piece = text[i:j]
            else:
                end = text.find("*/", i + 2)
                j = n if end < 0 else end + 2
                piece = " " + "\n" * text.count("\n", i, j)
        else:
            plain = _PLAIN_RUN.match(text, i)
            j = plain.end() if plain else i + 1
            # never run past the start of the delimiter
            cut = text.find(delimiter, i, j) if delimiter else -1
            if cut > i:
                j = cut
            piece = text[i:j]
        if start_line is None and piece.strip():
            start_line = line
        line += text.count("\n", i, j)
        buf.append(piece)
        i = j
    flush()
    return statements


# -- conditional comments -------------------------------------------------------------------
def version_number(info: ServerInfo) -> VersionNumber:
    """The number a conditional comment is compared with: MatrixOne says it is MySQL 8.0.30."""
    found = _LEADING_VERSION.match(info.version_string)
    if found is None:
        return 80030 if info.dialect == MATRIXONE else 0
    major, minor, patch = (int(p) for p in found.groups())
    return major * 10000 + minor * 100 + patch


def conditional_applies(
    mariadb_only: bool, version: Optional[str], dialect: str, server: VersionNumber
) -> bool:
    """Whether ``/*[M]!<version> ... */`` runs its content on this server."""
    if dialect == MARIADB:
        if version is None:
            return True
        wanted = int(version)
        if len(version) == 5 and not mariadb_only:
            return wanted < 50700  # MySQL 5.7+ syntax: MariaDB leaves it out
        return wanted <= server
    if mariadb_only:
        return False
    if version is None:
        return True
    if dialect == MATRIXONE:  # runs every 5-digit version; a 6-digit one is a syntax error there
        return len(version) == 5
    return len(version) == 5 and int(version) <= server


def resolve_conditionals(statement: str, dialect: str, server: VersionNumber) -> str:
    """``statement`` with each conditional comment replaced by its content where it applies,
    else by nothing, so every server runs what its own client-and-server would."""
    out: list[str] = []
    i = 0
    while True:
        found = _next_conditional(statement, i)
        if found is None:
            out.append(statement[i:])
            return "".join(out).strip()
        start, match = found
        out.append(statement[i:start])
        end = _end_of_conditional(statement, start)
        body = statement[match.end() : end - 2]
        if conditional_applies(bool(match.group(1)), match.group(2), dialect, server):
            out.append(f" {body} ")
        else:
            out.append(" ")
        i = end


def _next_conditional(text: str, start: int) -> Optional[tuple[int, re.Match[str]]]:
    """The next conditional comment outside quotes, from ``start``."""
    i = start
    while i < len(text):
        c = text[i]
        if c in "'\"`":
            i = _end_of_quoted(text, i)
            continue
        if c == "/":
            match = _CONDITIONAL.match(text, i)
            if match:
                return i, match
        i += 1
    return None


# -- one database -----------------------------------------------------------------------------
_DATABASE_STATEMENT = re.compile(
    r"^(?:(?P<use>USE)|(?P<verb>CREATE|DROP)\s+(?:DATABASE|SCHEMA)(?:\s+IF\s+(?:NOT\s+)?EXISTS)?)"
    r"\s+(?P<name>`(?:[^`]|``)+`|[^\s;`]+)\s*(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_QUALIFIER = r"(?<![\w$`.])(?:`{name}`|{name})(?=\s*\.)"


def _unquote(name: str) -> str:
    return name[1:-1].replace("``", "`") if name.startswith("`") else name


def database_statement(statement: str) -> Optional[tuple[str, str, str]]:
    """``("USE" | "CREATE" | "DROP", database, the rest)`` for a statement about a database."""
    found = _DATABASE_STATEMENT.match(statement.strip())
    if found is None:
        return None
    verb = "USE" if found.group("use") else found.group("verb").upper()
    return verb, _unquote(found.group("name")), found.group("rest").strip()


def one_database(
    statements: Iterable[Statement],
    golden: str,
    path: Path,
    *,
    folds_names: bool = False,
) -> list[Statement]:
    """The statements to run so that the file touches the golden only.

    The first database a ``USE``, ``CREATE DATABASE|SCHEMA`` or ``DROP DATABASE|SCHEMA`` names
    is taken for the dump's own database and mapped onto the golden: those statements are left
    out (the golden exists, and is never dropped) and ``dump_db.`` qualifiers are re-pointed at
    the golden. A second database refuses the file with one message naming the file, line and
    statement: nothing of it has run by then.
    """

    def same(a: str, b: str) -> bool:
        return a.lower() == b.lower() if folds_names else a == b

    mapped: Optional[str] = None
    kept: list[Statement] = []
    for stmt in statements:
        found = database_statement(stmt.text)
        if found is None:
            kept.append(stmt)
            continue
        _verb, name, _rest = found
        if mapped is None and not same(name, golden):
            mapped = name
        if not (same(name, golden) or (mapped is not None and same(name, mapped))):
            shown = stmt.text if len(stmt.text) <= 120 else stmt.text[:120] + "..."
            raise SqlFileError(
                f"golden SQL file {path}, line {stmt.line}: {shown!r} reaches database "
                f"{name!r}, but the file already works in {mapped!r} (mapped onto the golden); "
                "a golden SQL file may use one database only: split the file or remove "
                "the statement"
            )
    if mapped is None or same(mapped, golden):
        return kept
    quoted = "`" + golden.replace("`", "``") + "`"
    pattern = re.compile(
        _QUALIFIER.format(name=re.escape(mapped)), re.IGNORECASE if folds_names else 0
    )
    return [Statement(_outside_quotes(s.text, pattern, quoted), s.line) for s in kept]


def _outside_quotes(text: str, pattern: re.Pattern[str], replacement: str) -> str:
    """``pattern`` replaced in ``text`` outside string literals (identifiers are matched with
    their backticks by the pattern itself)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c in "'\"":
            j = _end_of_quoted(text, i)
            out.append(text[i:j])
            i = j
            continue
        j = i
        while j < len(text) and text[j] not in "'\"":
            j += 1
        out.append(pattern.sub(lambda _m: replacement, text[i:j]))
        i = j
    return "".join(out)


def read_golden_file(
    path: Path, golden: str, info: ServerInfo, *, folds_names: bool = False
) -> Sequence[Statement]:
    """``path`` as the statements to run on ``golden`` of this server, in order."""
    statements = split_statements(path.read_text(encoding="utf-8"))
    number = version_number(info)
    resolved = [
        Statement(resolve_conditionals(s.text, info.dialect, number), s.line) for s in statements
    ]
    chosen = one_database([s for s in resolved if s.text], golden, path, folds_names=folds_names)
    return chosen

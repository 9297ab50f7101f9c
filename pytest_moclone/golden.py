"""The golden database: built, filled and snapshotted; every clone is made from that snapshot.

Clones are only ever made from the snapshot, which is taken after the build completes, so a
half-built golden (a run killed mid-build) is never handed out: it has no snapshot, and the
reaper drops it once its run is dead. Usable without pytest; the plugin decides when (golden.py
in plugin/run.py: once per run, once in total under pytest-xdist).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

from .client import Client
from .errors import MocloneError
from .names import check_identifier, quote


@dataclass(frozen=True)
class Golden:
    """Where clones come from."""

    database: str
    snapshot: str
    build_seconds: Optional[float]  # None when cloned from a user's --mo-snapshot
    fingerprint: Optional[str] = None  # set when reused across runs (--mo-reuse)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Golden:
        return cls(**json.loads(text))


class GoldenSetupError(MocloneError):
    """The user's golden SQL or setup hook failed."""


def split_sql(text: str) -> list[str]:
    """Split a SQL file into statements on ``;`` outside quotes and comments."""
    statements: list[str] = []
    current: list[str] = []
    for token in _TOKENS.finditer(text):
        piece = token.group(0)
        if piece == ";":
            stmt = "".join(current).strip()
            if stmt:
                statements.append(stmt)
            current = []
        elif piece.startswith(("--", "#", "/*")) and not piece.startswith("/*!"):
            current.append(" ")
        else:
            current.append(piece)
    tail = "".join(current).strip()
    if tail:
        statements.append(tail)
    return statements


_TOKENS = re.compile(
    r"""'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"|`(?:[^`]|``)*`"""
    r"""|--[^\n]*|\#[^\n]*|/\*.*?\*/|;|[^'"`;\-#/]+|.""",
    re.DOTALL,
)


def load_sql_files(client: Client, paths: Iterable[Path]) -> None:
    for path in paths:
        for number, statement in enumerate(split_sql(path.read_text(encoding="utf-8")), 1):
            try:
                client.execute(statement)
            except MocloneError as exc:
                if exc.server_code is None:
                    raise
                raise GoldenSetupError(
                    f"golden SQL file {path}, statement {number} failed: "
                    f"({exc.server_code}) {exc.server_message}\n  {statement[:200]}",
                    server_code=exc.server_code,
                    server_message=exc.server_message,
                ) from exc


def build_golden(
    admin: Client,
    database: str,
    snapshot: str,
    fill: Callable[[Client], None],
    record: Callable[[str, str], None],
) -> Golden:
    """Create ``database``, let ``fill`` build it, then snapshot it as ``snapshot``.

    ``record(kind, name)`` is called before each object is created (see records.py).
    """
    started = time.perf_counter()
    record("database", database)
    admin.execute(f"CREATE DATABASE {quote(check_identifier(database))}")
    with admin.connect_to(database) as client:
        fill(client)
    record("snapshot", snapshot)
    admin.snapshots.create(snapshot, database=database)
    return Golden(database, snapshot, time.perf_counter() - started)


def user_snapshot(admin: Client, name: str) -> Golden:
    """Clone from a snapshot the user already has (``--mo-snapshot``)."""
    if not admin.snapshots.exists(name):
        names = [s.name for s in admin.snapshots.list()]
        listing = ", ".join(names[:20]) + (" ..." if len(names) > 20 else "") if names else "none"
        raise MocloneError(
            f"--mo-snapshot {name!r}: no such snapshot on {admin.info.describe()} at "
            f"{admin.host}:{admin.port}; the snapshots there are: {listing}"
        )
    found = admin.snapshots.get(name)
    if found.level != "database" or not found.database:
        raise MocloneError(
            f"--mo-snapshot {name!r} is a {found.level} snapshot; the plugin clones databases, "
            "so it needs a snapshot FOR DATABASE"
        )
    return Golden(found.database, name, None)

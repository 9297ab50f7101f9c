"""The golden database: built, filled and snapshotted; every clone is made from that snapshot.

Clones are only ever made from the snapshot, which is taken after the build completes, so a
half-built golden (a run killed mid-build) is never handed out: it has no snapshot, and the
reaper drops it once its run is dead. Usable without pytest; the plugin decides when (golden.py
in plugin/run.py: once per run, once in total under pytest-xdist).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

from .client import Client
from .errors import MocloneError
from .sqlfile import SqlFileError, read_golden_file


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


def load_sql_files(client: Client, paths: Iterable[Path]) -> None:
    """Run each file on the golden (``client``'s database) as the ``mysql`` client would
    (sqlfile.py), then commit what it left open and turn autocommit back on."""
    golden = client.database
    assert golden is not None
    for path in paths:
        try:
            statements = read_golden_file(
                path, golden, client.info, folds_names=client.dialect.folds_names
            )
        except SqlFileError as exc:
            raise GoldenSetupError(exc.message) from exc
        for number, stmt in enumerate(statements, 1):
            try:
                client.execute(stmt.text)
            except MocloneError as exc:
                if exc.server_code is None:
                    raise
                raise GoldenSetupError(
                    f"golden SQL file {path}, statement {number} (line {stmt.line}) failed: "
                    f"({exc.server_code}) {exc.server_message}\n  {stmt.text[:200]}",
                    server_code=exc.server_code,
                    server_message=exc.server_message,
                ) from exc
        commit_and_autocommit(client)


def commit_and_autocommit(client: Client) -> None:
    """Commit whatever a hook or file left open, and turn autocommit back on: a dump's
    ``SET AUTOCOMMIT=0`` or a hook's open transaction must not leave the golden empty."""
    client.execute("COMMIT")
    client.execute("SET autocommit = 1")


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

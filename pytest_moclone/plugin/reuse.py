"""``--mo-reuse``: keep the golden for the next run that would build the same one.

The golden is keyed by a fingerprint of what built it: the SQL files' contents, the source of
every module that implements the setup hook, the plugin's version and the server's version. It is
built under a lock shared by all runs on the server, and only ever published by its snapshot (see
golden.py). Each run that uses a reused golden leaves a marker named for its run id; a golden
with another fingerprint is dropped only when none of its markers belongs to a live run.
"""

from __future__ import annotations

import hashlib
import inspect
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from filelock import FileLock

from .. import __version__
from ..client import Client
from ..golden import Golden, build_golden
from ..records import REUSE_RUN, Records, drop_recorded


def hook_sources(implementations: Iterable[Any]) -> list[str]:
    """The source of each module that implements the setup hook (its data lists included)."""
    sources = []
    for impl in implementations:
        function = impl.function
        module = inspect.getmodule(function)
        try:
            sources.append(inspect.getsource(module if module is not None else function))
        except (OSError, TypeError):
            sources.append(f"{getattr(function, '__module__', '')}.{function.__qualname__}")
    return sorted(sources)


def fingerprint(sql_files: Iterable[Path], sources: Iterable[str], server_version: str) -> str:
    digest = hashlib.sha256()
    for part in (f"pytest-moclone {__version__}", server_version, *sources):
        digest.update(part.encode() + b"\0")
    for path in sql_files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


class ReusedGoldens:
    """The reused goldens of one server, in the cache folder beside that server's records."""

    def __init__(self, cache: Path, records: Records, prefix: str) -> None:
        self.folder = cache / "reuse" / records.path.stem / prefix
        self.folder.mkdir(parents=True, exist_ok=True)
        self.records = records
        self.prefix = prefix

    def obtain(
        self,
        admin: Client,
        fp: str,
        run_id: str,
        fill: Callable[[Client], None],
        *,
        rebuild: bool,
        alive: Callable[[str], bool],
    ) -> Golden:
        database, snapshot = f"{self.prefix}_golden_{fp}", f"{self.prefix}_snap_{fp}"
        owner = REUSE_RUN + fp
        users = self.folder / fp
        users.mkdir(exist_ok=True)
        (users / run_id).touch()
        with FileLock(str(self.folder / f"{fp}.lock")):
            ours = [r for r in self.records.entries() if r.run == owner]
            complete = {r.name for r in ours} >= {database, snapshot}
            if complete and not rebuild and admin.snapshots.exists(snapshot):
                golden = Golden(database, snapshot, None, fingerprint=fp)
            else:
                drop_recorded(admin, ours)  # half-built, or --mo-rebuild: only what we recorded
                self.records.forget(ours)
                built = build_golden(
                    admin,
                    database,
                    snapshot,
                    fill,
                    lambda kind, name: self.records.add(owner, kind, name),
                )
                golden = Golden(database, snapshot, built.build_seconds, fingerprint=fp)
            self._drop_stale(admin, keep=fp, alive=alive)
        return golden

    def _drop_stale(self, admin: Client, keep: str, alive: Callable[[str], bool]) -> None:
        """Drop goldens of other fingerprints that no live run is using."""
        for users in self.folder.iterdir():
            if not users.is_dir() or users.name == keep:
                continue
            if any(alive(marker.name) for marker in users.iterdir()):
                continue
            owner = REUSE_RUN + users.name
            with FileLock(str(self.folder / f"{users.name}.lock")):
                stale = [r for r in self.records.entries() if r.run == owner]
                drop_recorded(admin, stale)
                self.records.forget(stale)
            shutil.rmtree(users, ignore_errors=True)

    def release(self, fp: str, run_id: str) -> None:
        (self.folder / fp / run_id).unlink(missing_ok=True)

"""``--mo-reuse``: keep the golden for the next run that would build the same one.

The golden is keyed by a fingerprint of what built it: the SQL files' contents, the source of
every module that implements the setup hook, the plugin's version and the server's version. It is
built under a lock shared by all runs on the server, and only ever published by its snapshot (see
golden.py). Each run that uses a reused golden leaves a marker named for its run id.

Several projects share the per-user cache (and a kept private server): a golden is dropped only
as stale *for its own projects*. Each fingerprint lists the projects (rootdirs) that used it; when
a project builds a new one, it takes itself off its older fingerprints' lists, and a golden is
dropped once its list is empty and no live run uses it. Another prefix's golden, or one another
project still uses, is never ours to drop.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import shutil
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from filelock import FileLock

from .. import __version__
from ..client import Client
from ..golden import Golden, build_golden
from ..records import REUSE_RUN, Record, Records, drop_recorded


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


def project_id(rootdir: Path) -> str:
    """A project, as the reused goldens' lists name it: its rootdir, hashed."""
    return hashlib.sha256(str(rootdir.resolve()).encode()).hexdigest()[:12]


class ReusedGoldens:
    """The reused goldens of one server and prefix, in the cache folder beside that server's
    records: ``<fp>/`` holds the markers of the runs using it, ``projects/<fp>/`` the projects
    that used it, ``<fp>.built`` when it was built."""

    def __init__(self, cache: Path, records: Records, prefix: str, rootdir: Path) -> None:
        self.folder = cache / "reuse" / records.path.stem / prefix
        self.folder.mkdir(parents=True, exist_ok=True)
        self.records = records
        self.prefix = prefix
        self.rootdir = rootdir
        self.project = project_id(rootdir)

    def names(self, fp: str) -> tuple[str, str]:
        """The golden database and snapshot of fingerprint ``fp`` (under this prefix)."""
        return f"{self.prefix}_golden_{fp}", f"{self.prefix}_snap_{fp}"

    def _records_of(self, fp: str) -> list[Record]:
        """What this prefix's golden of ``fp`` is made of: records of that owner *and* those
        names (two prefixes may build goldens of one fingerprint)."""
        owner, names = REUSE_RUN + fp, set(self.names(fp))
        return [r for r in self.records.entries() if r.run == owner and r.name in names]

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
        database, snapshot = self.names(fp)
        owner = REUSE_RUN + fp
        users = self.folder / fp
        users.mkdir(exist_ok=True)
        (users / run_id).touch()
        self._join(fp)
        with FileLock(str(self.folder / f"{fp}.lock")):
            ours = self._records_of(fp)
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
                self._built_file(fp).write_text(
                    json.dumps({"at": time.time(), "seconds": built.build_seconds}),
                    encoding="utf-8",
                )
            self._drop_stale(admin, keep=fp, alive=alive)
        return golden

    def _built_file(self, fp: str) -> Path:
        return self.folder / f"{fp}.built"

    def built(self, golden: Golden) -> str:
        """``p_golden_ab12, built 2026-12-01 12:03 UTC (4 min ago) in 0.05 s``, for the summary."""
        assert golden.fingerprint is not None
        try:
            info = json.loads(self._built_file(golden.fingerprint).read_text(encoding="utf-8"))
            at, seconds = float(info["at"]), float(info["seconds"])
        except (OSError, ValueError, KeyError, TypeError):
            return f"{golden.database}, built by an earlier run"
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))
        return f"{golden.database}, built {when} ({_ago(time.time() - at)}) in {seconds:.2f} s"

    def _projects(self, fp: str) -> Path:
        return self.folder / "projects" / fp

    def _join(self, fp: str) -> None:
        """This project uses the golden of ``fp`` (the file says which project, for people)."""
        folder = self._projects(fp)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / self.project).write_text(str(self.rootdir), encoding="utf-8")

    def _still_wanted(self, fp: str) -> bool:
        """Leave the golden of ``fp`` (this project moved on); whether another project still
        uses it. A golden with no list (made before lists were kept) is wanted by nobody."""
        folder = self._projects(fp)
        (folder / self.project).unlink(missing_ok=True)
        wanted = folder.is_dir() and any(folder.iterdir())
        if not wanted:
            shutil.rmtree(folder, ignore_errors=True)
        return wanted

    def _drop_stale(self, admin: Client, keep: str, alive: Callable[[str], bool]) -> None:
        """Drop goldens of other fingerprints that no live run and no other project uses."""
        for users in self.folder.iterdir():
            if not users.is_dir() or users.name in (keep, "projects"):
                continue
            if any(alive(marker.name) for marker in users.iterdir()):
                continue
            fp = users.name
            with FileLock(str(self.folder / f"{fp}.lock")):
                if self._still_wanted(fp):
                    continue
                stale = self._records_of(fp)
                drop_recorded(admin, stale)
                self.records.forget(stale)
            shutil.rmtree(users, ignore_errors=True)
            self._built_file(fp).unlink(missing_ok=True)

    def release(self, fp: str, run_id: str) -> None:
        (self.folder / fp / run_id).unlink(missing_ok=True)


def _ago(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return "just now"
    if minutes < 120:
        return f"{minutes} min ago"
    hours = minutes // 60
    return f"{hours} h ago" if hours < 48 else f"{hours // 24} days ago"

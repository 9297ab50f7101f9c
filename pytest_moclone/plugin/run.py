"""One pytest run's database resources, and who owns which.

The process that owns the run (the xdist controller, or the only process without xdist) holds the
run's lease and, at the end, stops the server and drops the golden. Any process (a worker) may be
the first to *need* the server or the golden: it makes it under a file lock in pytest's shared temp
root and describes it in a JSON file there, which the others (and the owner) read.
"""

from __future__ import annotations

import itertools
import logging
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from filelock import FileLock, Timeout

from ..client import Client, parse_url
from ..diff import DatabaseDiff
from ..errors import MocloneError, ServerConnectionError
from ..runs import RunLease, cache_root, run_is_alive
from ..servers import RunningServer, choose_server
from ..servers.process import reap_orphan_servers
from .golden import Golden, build_golden, load_sql_files, user_snapshot
from .options import Settings
from .pool import ClonePool
from .records import DATABASE, Records, drop_recorded, server_key
from .reuse import ReusedGoldens, fingerprint

log = logging.getLogger("pytest_moclone")

SERVER_FILE = "server.json"
GOLDEN_FILE = "golden.json"


def plural(count: int, noun: str) -> str:
    """``1 clone``, ``2 clones``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


@dataclass
class Stats:
    """What the summary reports; under xdist each worker sends its own to the controller."""

    clone_seconds: list[tuple[float, str]] = field(default_factory=list)  # (seconds, test id)
    wait_seconds: list[float] = field(default_factory=list)
    golden_seconds: Optional[float] = None
    server_seconds: Optional[float] = None
    server_description: Optional[str] = None
    reaped: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "clone_seconds": self.clone_seconds,
            "wait_seconds": self.wait_seconds,
            "golden_seconds": self.golden_seconds,
            "server_seconds": self.server_seconds,
            "server_description": self.server_description,
            "reaped": self.reaped,
            "kept": self.kept,
        }

    def merge(self, other: dict[str, Any]) -> None:
        self.clone_seconds += [(float(s), str(t)) for s, t in other.get("clone_seconds", [])]
        self.wait_seconds += [float(s) for s in other.get("wait_seconds", [])]
        for name in ("golden_seconds", "server_seconds", "server_description"):
            if getattr(self, name) is None and other.get(name) is not None:
                setattr(self, name, other[name])
        self.reaped += list(other.get("reaped", []))
        self.kept += list(other.get("kept", []))

    def summary_lines(self) -> list[str]:
        lines = []
        if self.server_description:
            started = (
                f", started in {self.server_seconds:.1f} s"
                if self.server_seconds is not None
                else ""
            )
            lines.append(f"server: {self.server_description}{started}")
        if self.golden_seconds is not None:
            lines.append(f"golden built in {self.golden_seconds:.2f} s")
        if self.clone_seconds:
            times = sorted(self.clone_seconds)
            median = statistics.median(s for s, _ in times) * 1000
            slowest, where = times[-1]
            lines.append(
                f"{plural(len(times), 'clone')} made: median {median:.1f} ms, "
                f"slowest {slowest * 1000:.1f} ms ({where})"
            )
        if self.wait_seconds:
            waits = sorted(self.wait_seconds)
            lines.append(
                f"tests waited for their database: median "
                f"{statistics.median(waits) * 1000:.2f} ms, slowest {waits[-1] * 1000:.1f} ms"
            )
        if self.reaped:
            lines.append(
                f"cleaned up {len(self.reaped)} things left by killed runs: "
                + ", ".join(self.reaped[:5])
                + (" ..." if len(self.reaped) > 5 else "")
            )
        return lines


class MocloneRun:
    """Per-process view of the run; see the module docstring for who owns what."""

    def __init__(
        self,
        settings: Settings,
        *,
        run_id: str,
        worker: str,
        shared_dir: Callable[[], Path],
        is_owner: bool,
        fill_golden: Callable[[Client], None],
        golden_sources: Callable[[], list[str]] = list,
    ) -> None:
        self.settings = settings
        self.run_id = run_id
        self.worker = worker
        self._shared_dir_of = shared_dir
        self._shared: Optional[Path] = None
        self.is_owner = is_owner
        self.fill_golden = fill_golden
        self.golden_sources = golden_sources
        self.stats = Stats()
        self.cache = cache_root()
        self._lease: Optional[RunLease] = None
        self._server: Optional[RunningServer] = None
        self._admin: Optional[Client] = None
        self._golden: Optional[Golden] = None
        self._records: Optional[Records] = None
        self._pool: Optional[ClonePool] = None
        self._data_lock: Optional[FileLock] = None
        self._counter = itertools.count(1)
        self.failure: Optional[str] = None  # set once the server is known to be gone
        self.worker_db: Optional[str] = None  # this process's mo_worker_db, while it exists
        if is_owner:
            self._lease = RunLease(self.cache, run_id)
            self._lease.acquire()

    @property
    def shared_dir(self) -> Path:
        """Where the processes of this run describe the server and golden to each other."""
        if self._shared is None:
            self._shared = self._shared_dir_of()
            self._shared.mkdir(parents=True, exist_ok=True)
        return self._shared

    # -- server -----------------------------------------------------------------------------
    @property
    def server(self) -> RunningServer:
        if self._server is None:
            self._server = self._obtain_server()
            self.stats.server_description = self._server.description
            self.stats.server_seconds = self._server.startup_seconds
        return self._server

    def _obtain_server(self) -> RunningServer:
        s = self.settings
        if s.url is not None and s.server in ("auto", "url"):
            return choose_server(
                "url", url=s.url, mo_binary=None, mo_image=s.image, owner_run_id=self.run_id
            )
        path = self.shared_dir / SERVER_FILE
        with FileLock(str(self.shared_dir / "server.lock")):
            if path.exists():
                return RunningServer.from_json(path.read_text(encoding="utf-8"))
            # Servers of killed runs (found by their pid files) go first: they hold memory,
            # and a kept data folder this run may want.
            self.stats.reaped += reap_orphan_servers(lambda run: run_is_alive(self.cache, run))
            server = choose_server(
                s.server,
                url=s.url,
                mo_binary=s.binary,
                mo_image=s.image,
                owner_run_id=self.run_id,
                timeout=float(s.start_timeout),
                data_dir_for=self._kept_data_dir if s.reuse else _fresh_data_dir,
            )
            path.write_text(server.to_json(), encoding="utf-8")
            return server

    def _kept_data_dir(self, kind: str, version: str) -> Optional[Path]:
        """--mo-reuse: a private server's data folder, kept in the cache for the next run.

        Held under a lock for this process's life; a concurrent run gets a fresh folder instead.
        """
        folder = self.cache / "data" / f"{kind}-{version}"
        lock = FileLock(str(folder) + ".lock", thread_local=False)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            return None
        self._data_lock = lock
        folder.parent.mkdir(parents=True, exist_ok=True)
        return folder

    @property
    def admin(self) -> Client:
        if self._admin is None:
            datadir = self.server.own_datadir if self.settings.file_copy else None
            self._admin = Client.from_url(self.server.url, read_timeout=600, datadir=datadir)
            if self.server.kind == "url":
                where = f"{self._admin.info.describe()} at {self._admin.host}:{self._admin.port}"
                self.stats.server_description = f"{where} (from the URL)"
        return self._admin

    @property
    def records(self) -> Records:
        if self._records is None:
            server = self.server
            if server.data_dir is not None:  # a kept server: its port changes from run to run
                key = f"private-{server.data_dir.name}"
            else:
                where = parse_url(server.url)
                key = server_key(where["host"], where["port"])
            self._records = Records(self.cache, key)
        return self._records

    # -- golden -----------------------------------------------------------------------------
    @property
    def golden(self) -> Golden:
        if self._golden is None:
            self._golden = self._obtain_golden()
            self.stats.golden_seconds = self._golden.build_seconds
        return self._golden

    def _obtain_golden(self) -> Golden:
        path = self.shared_dir / GOLDEN_FILE
        with FileLock(str(self.shared_dir / "golden.lock")):
            if path.exists():
                return Golden.from_json(path.read_text(encoding="utf-8"))
            admin = self.admin
            reaped = self.records.reap(
                admin, self.run_id, lambda run: run_is_alive(self.cache, run)
            )
            self.stats.reaped += [r.name for r in reaped]
            if self.settings.snapshot is not None:
                golden = user_snapshot(admin, self.settings.snapshot)
            elif self.settings.reuse:
                fp = fingerprint(
                    self.settings.golden_sql, self.golden_sources(), admin.info.version_string
                )
                golden = self._reused().obtain(
                    admin,
                    fp,
                    self.run_id,
                    self._fill,
                    rebuild=self.settings.rebuild,
                    alive=lambda run: run_is_alive(self.cache, run),
                )
            else:
                prefix = self.settings.prefix
                golden = build_golden(
                    admin,
                    f"{prefix}_golden_{self.run_id}",
                    f"{prefix}_snap_{self.run_id}",
                    self._fill,
                    lambda kind, name: self.records.add(self.run_id, kind, name),
                )
            path.write_text(golden.to_json(), encoding="utf-8")
            return golden

    def _reused(self) -> ReusedGoldens:
        return ReusedGoldens(self.cache, self.records, self.settings.prefix)

    def _fill(self, client: Client) -> None:
        load_sql_files(client, self.settings.golden_sql)
        self.fill_golden(client)

    def prepare(self) -> None:
        """Server and golden, now: so that a broken set-up fails once, before any test."""
        _ = self.golden

    # -- clones -----------------------------------------------------------------------------
    def new_clone_name(self, kind: str = "") -> str:
        return f"{self.settings.prefix}_{self.run_id}_{self.worker}_{kind}{next(self._counter)}"

    def make_clone(self, name: str, client: Optional[Client] = None) -> float:
        """Clone the golden into ``name`` (recorded first, so a kill cannot lose it); seconds."""
        golden = self.golden
        self.records.add(self.run_id, DATABASE, name)
        manager = (client or self.admin).clone
        started = time.perf_counter()
        if self.settings.diff_branches and manager.lineage_diff:  # a native diff on failure
            manager.branch_database(name, golden.database, snapshot_name=golden.snapshot)
        else:
            manager.clone_database(name, golden.database, snapshot_name=golden.snapshot)
        return time.perf_counter() - started

    def drop_clone(self, name: str, client: Optional[Client] = None) -> None:
        (client or self.admin).drop_database(name)

    def _clone_pool(self) -> Optional[ClonePool]:
        if self.settings.pool == 0:
            return None
        if self._pool is None:
            _ = self.golden  # built (or found) by the calling thread, never by the pool's
            self._pool = ClonePool(
                size=self.settings.pool,
                connect=lambda: self.admin.connect_to(None),
                new_name=self.new_clone_name,
                make=lambda client, name: self.make_clone(name, client),
                drop=lambda client, name: self.drop_clone(name, client),
            )
            self._pool.start()
        return self._pool

    def take_clone(self, test_id: str) -> str:
        """A fresh clone for one test: from the pool when there is one."""
        started = time.perf_counter()
        pool = self._clone_pool()
        if pool is not None:
            name, seconds = pool.take()
        else:
            name = self.new_clone_name()
            seconds = self.make_clone(name)
        self.stats.wait_seconds.append(time.perf_counter() - started)
        self.stats.clone_seconds.append((seconds, test_id))
        return name

    def release_clone(self, name: str) -> None:
        """Drop a test's clone: in the background when there is a pool."""
        if self._pool is not None:
            self._pool.give_back(name)
        else:
            self.drop_clone(name)

    def changes(self, database: str, *, cumulative: bool = False) -> DatabaseDiff:
        """What ``database`` changed against the golden (for a failed test's report)."""
        golden = self.golden
        diff = self.admin.clone.diff(
            database, golden.database, golden.snapshot, max_rows=self.settings.diff_rows
        )
        diff.cumulative = cumulative
        return diff

    def server_gone(self, exc: ServerConnectionError) -> str:
        """Remember that the server went away; every later request fails fast with this."""
        if self.failure is None:
            self.failure = f"the database server went away: {exc}"
        return self.failure

    # -- end of run -------------------------------------------------------------------------
    def finish(self) -> list[str]:
        """Close this process's connections; the owner also drops the golden and stops the server.

        Returns lines to print (what was kept, what could not be cleaned).
        """
        notes: list[str] = []
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        if not self.is_owner:
            return notes
        golden_file = self.shared_dir / GOLDEN_FILE
        if golden_file.exists():
            fp = Golden.from_json(golden_file.read_text(encoding="utf-8")).fingerprint
            if fp is not None:
                self._reused().release(fp, self.run_id)
        try:
            notes += self._drop_run_objects()
        finally:
            notes += self._stop_server()
            if self._lease is not None:
                self._lease.release()
            if self._data_lock is not None:
                self._data_lock.release()
        return notes

    def _drop_run_objects(self) -> list[str]:
        if self.settings.url is None and not (self.shared_dir / SERVER_FILE).exists():
            return []  # no server was ever needed in this run
        records = self.records
        kept = set(self.stats.kept)
        doomed = [r for r in records.of_run(self.run_id) if r.name not in kept]
        if not doomed:
            return []
        try:
            admin = self.admin
        except MocloneError as exc:
            return [
                f"could not clean up (the server is unreachable: {exc}); "
                "the next run drops what this one left"
            ]
        try:
            drop_recorded(admin, doomed)
        except MocloneError as exc:
            return [f"could not clean up: {exc}; the next run drops what this one left"]
        finally:
            admin.close()
            self._admin = None
        records.forget(doomed)
        return []

    def _stop_server(self) -> list[str]:
        path = self.shared_dir / SERVER_FILE
        if not path.exists():
            return []
        server = RunningServer.from_json(path.read_text(encoding="utf-8"))
        if self.stats.kept and server.kind != "url":
            return [
                f"the private server stays up for the kept databases: {server.url} "
                f"(pid {server.pid}); the next pytest run stops it, or: kill {server.pid}"
            ]
        server.stop()
        path.unlink()
        return []


def _fresh_data_dir(kind: str, version: str) -> Optional[Path]:
    return None

"""One pytest run's database resources, and who owns which.

The process that owns the run (the xdist controller, or the only process without xdist) holds the
run's lease and, at the end, drops what the run made and stops the server. Any process (a worker)
may be the first to *need* the server or the golden: it makes it for all (shared.py). The server
lives in server.py, the golden's build in the library (golden.py), the pool in pool.py; this
module puts them together for the fixtures.
"""

from __future__ import annotations

import itertools
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Optional

from ..client import Client
from ..connection import parse_url
from ..diff import DatabaseDiff
from ..errors import MocloneError, ServerConnectionError
from ..golden import Golden, GoldenSetupError, build_golden, load_sql_files, user_snapshot
from ..janitor import CloneJanitor
from ..leases import RunLease, cache_root, run_is_alive
from ..pool import ClonePool
from ..records import DATABASE, Records, drop_recorded, server_key
from ..recycle import FRESH, Ready, Recycler
from ..servers import RunningServer
from .options import Settings
from .reuse import ReusedGoldens, fingerprint
from .server import RunServer
from .shared import made_once, read_made
from .stats import Stats

log = logging.getLogger("pytest_moclone")

GOLDEN = "golden"


def shared_folder(run_id: str) -> Path:
    """The folder where the processes of run ``run_id`` describe the server and golden."""
    folder = cache_root() / "runs" / f"{run_id}.d"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class MocloneRun:
    """Per-process view of the run; see the module docstring for who owns what."""

    def __init__(
        self,
        settings: Settings,
        *,
        run_id: str,
        worker: str,
        is_owner: bool,
        fill_golden: Callable[[Client], None],
        golden_sources: Callable[[], list[str]] = list,
    ) -> None:
        self.settings = settings
        self.run_id = run_id
        self.worker = worker
        self.is_owner = is_owner
        self.fill_golden = fill_golden
        self.golden_sources = golden_sources
        self.stats = Stats()
        self.cache = cache_root()
        self.shared_dir = shared_folder(run_id)
        self._run_server = RunServer(
            settings, run_id=run_id, shared=self.shared_dir, cache=self.cache, alive=self.alive
        )
        self._lease: Optional[RunLease] = None
        self._server: Optional[RunningServer] = None
        self._admin: Optional[Client] = None
        self._golden: Optional[Golden] = None
        self._records: Optional[Records] = None
        self._pool: Optional[ClonePool] = None
        self._counter = itertools.count(1)
        self.failure: Optional[str] = None  # set once the server is known to be gone
        self.worker_db: Optional[str] = None  # this process's mo_worker_db, while it exists
        if is_owner:
            self._lease = RunLease(self.cache, run_id)
            self._lease.acquire()

    def alive(self, run_id: str) -> bool:
        return run_is_alive(self.cache, run_id)

    # -- server -----------------------------------------------------------------------------
    @property
    def server(self) -> RunningServer:
        if self._server is None:
            self._server = self._run_server.obtain()
            self.stats.reaped += self._run_server.reaped
            self.stats.server_description = self._server.description
            self.stats.server_seconds = self._server.startup_seconds
        return self._server

    @property
    def admin(self) -> Client:
        if self._admin is None:
            datadir = self.server.own_datadir if self.settings.file_copy else None
            self._admin = Client.from_url(self.server.url, datadir=datadir)
            if self.server.kind == "url":
                self.stats.server_description = (
                    f"{self._admin.connection.describe()} (from the URL)"
                )
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
            self._golden = made_once(
                self.shared_dir, GOLDEN, self._obtain_golden, Golden.to_json, Golden.from_json
            )
            self.stats.golden_seconds = self._golden.build_seconds
        return self._golden

    def _obtain_golden(self) -> Golden:
        golden = self._build_or_find_golden()
        if self.settings.verify:
            self._verify(golden)
        return golden

    def _verify(self, golden: Golden) -> None:
        """Clone the golden once and compare (objects, rows): a server limit stops the run
        here with one message, instead of showing as failing tests (--mo-no-verify: skip)."""
        admin, name = self.admin, self.new_clone_name("v")
        janitor = CloneJanitor(
            admin.clone,
            name,
            golden.database,
            golden.snapshot,
            claim=lambda n: self.records.add(self.run_id, DATABASE, n),
            release=lambda n: self.records.forget_name(self.run_id, DATABASE, n),
        )
        with janitor:
            differences = admin.clone.verify(name, golden.database, golden.snapshot)
        if differences:
            raise GoldenSetupError(
                f"the first clone of the golden is not the golden on {admin.info.describe()}: "
                + "; ".join(map(str, differences))
                + " (--mo-no-verify runs the tests anyway)"
            )

    def _build_or_find_golden(self) -> Golden:
        admin = self.admin
        reaped = self.records.reap(admin, self.run_id, self.alive)
        self.stats.reaped += [r.name for r in reaped]
        if self.settings.snapshot is not None:
            return user_snapshot(admin, self.settings.snapshot)
        if self.settings.reuse:
            fp = fingerprint(
                self.settings.golden_sql, self.golden_sources(), admin.info.version_string
            )
            return self._reused().obtain(
                admin, fp, self.run_id, self._fill, rebuild=self.settings.rebuild, alive=self.alive
            )
        prefix = self.settings.prefix
        return build_golden(
            admin,
            f"{prefix}_golden_{self.run_id}",
            f"{prefix}_snap_{self.run_id}",
            self._fill,
            lambda kind, name: self.records.add(self.run_id, kind, name),
        )

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

    def janitor(self, name: str, client: Optional[Client] = None) -> CloneJanitor:
        """The life of clone ``name`` of the golden, recorded before it is made."""
        golden = self.golden
        manager = (client or self.admin).clone
        records = self.records
        return CloneJanitor(
            manager,
            name,
            golden.database,
            golden.snapshot,
            # Lineage makes MatrixOne's DIFF (the diff of a failure, and the change signal of a
            # recycled database) cost what changed, not the table's size.
            branch=manager.lineage_diff and (self.settings.diff_branches or self.settings.reset),
            claim=lambda n: records.add(self.run_id, DATABASE, n),
            release=lambda n: records.forget_name(self.run_id, DATABASE, n),
        )

    def make_clone(self, name: str, client: Optional[Client] = None) -> float:
        """Clone the golden into ``name``; the seconds it took."""
        return self.janitor(name, client).create()

    def drop_clone(self, name: str, client: Optional[Client] = None) -> None:
        self.janitor(name, client).drop()

    def _recycler(self) -> Recycler:
        golden = self.golden
        return Recycler(
            golden.database,
            golden.snapshot,
            lambda client, name: self.janitor(name, client),
            detect=self.settings.reset,
        )

    def _clone_pool(self) -> Optional[ClonePool]:
        if self.settings.pool == 0:
            return None
        if self._pool is None:
            recycler = self._recycler()  # the golden is built by this thread, not the pool's
            workers = self.settings.pool_workers or (3 if self.admin.dialect.native else 1)
            self._pool = ClonePool(
                size=self.settings.pool,
                workers=workers,
                connect=lambda: self.admin.connect_to(None),
                make=lambda client: recycler.fresh(client, self.new_clone_name()),
                recycle=recycler.recycle if self.settings.reset else None,
                drop=lambda client, name: self.drop_clone(name, client),
            )
            self._pool.start()
        return self._pool

    def take_clone(self, test_id: str) -> Ready:
        """A database that is exactly the golden, for one test: from the pool when there is
        one (made afresh, kept from an earlier test, or with the tables it changed reset)."""
        started = time.perf_counter()
        pool = self._clone_pool()
        if pool is not None:
            ready = pool.take()
        else:
            name = self.new_clone_name()
            ready = Ready(name, FRESH, self.make_clone(name))
        self.stats.wait_seconds.append(time.perf_counter() - started)
        self.stats.record_ready(ready, test_id)
        return ready

    def end_left_connections(self, name: str, test_id: str, keep: tuple[int, ...] = ()) -> None:
        """End the connections a test left open on its database (an unclosed SQLAlchemy
        session would hold its locks and make the drop wait); the summary names the test.
        ``keep``: the fixture's own connection, just closed (MatrixOne may list it a moment)."""
        ended = self.admin.clone.end_connections(name, keep=keep)
        if ended:
            self.stats.left_open.append((test_id, ended))

    def release_clone(self, ready: Ready) -> None:
        """Give a test's database back: recycled or dropped in the background with a pool."""
        if self._pool is not None:
            self._pool.give_back(ready)
        else:
            self.drop_clone(ready.name)

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
        """Close this process's connections; the owner also drops what the run made and stops
        the server. Returns lines to print (what was kept, what could not be cleaned)."""
        notes: list[str] = []
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        if not self.is_owner:
            return notes
        golden = read_made(self.shared_dir, GOLDEN, Golden.from_json)
        if golden is not None and golden.fingerprint is not None:
            self._reused().release(golden.fingerprint, self.run_id)
        try:
            notes += self._drop_run_objects()
        finally:
            notes += self._run_server.stop(keep_running=bool(self.stats.kept))
            if self._lease is not None:
                self._lease.release()
            shutil.rmtree(self.shared_dir, ignore_errors=True)
        return notes

    def _drop_run_objects(self) -> list[str]:
        if not self._run_server.from_url and not self._run_server.started:
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

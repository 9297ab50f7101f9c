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
import threading
import time
from collections.abc import Callable
from typing import Optional

from ..client import Client
from ..connection import Connection, parse_url
from ..errors import MocloneError, QueryError
from ..golden import Golden, load_sql_files, user_snapshot
from ..janitor import CloneJanitor
from ..leases import RunLease, cache_root, run_is_alive
from ..pool import ClonePool
from ..records import drop_entries, reap
from ..recycle import FRESH, Ready, Recycler
from ..registry import DATABASE, REGISTRY_DB, SHARED, Registry
from ..servers import RunningServer
from .goldens import SharedGoldens, build_claimed, verify_first_clone
from .kept import forget_kept, kept_runs
from .options import Settings
from .reuse import fingerprint
from .server import RunServer
from .shared import made_once, read_made, shared_folder
from .stats import Stats

log = logging.getLogger("pytest_moclone")

GOLDEN = "golden"


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
        say: Callable[[str], None] = lambda line: None,
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
            settings,
            run_id=run_id,
            shared=self.shared_dir,
            cache=self.cache,
            alive=self.alive,
            say=say,
        )
        self._lease: Optional[RunLease] = None
        self._server: Optional[RunningServer] = None
        self._admin: Optional[Client] = None
        self._cloner: Optional[Client] = None
        self._golden: Optional[Golden] = None
        self._registry: Optional[Registry] = None
        self._registry_lock = threading.Lock()
        self._pool: Optional[ClonePool] = None
        self._rollback_hides: Optional[bool] = None
        self._shared: Optional[SharedGoldens] = None
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
            self.stats.stopped_kept += self._run_server.stopped_kept
            self.stats.server_description = self._server.description
            self.stats.server_seconds = self._server.startup_seconds
        return self._server

    @property
    def admin(self) -> Client:
        if self._admin is None:
            datadir = self.server.own_datadir if self.settings.file_copy else None
            self._admin = Client.from_url(
                self.server.url,
                datadir=datadir,
                connect_timeout=min(10.0, float(self.settings.timeout)),
                read_timeout=float(self.settings.timeout),
            )
            if self.server.kind == "url":
                self.stats.server_description = (
                    f"{self._admin.connection.describe()} (from the URL)"
                )
        return self._admin

    @property
    def cloner(self) -> Client:
        """The connection that clones and builds the golden: bounded by --mo-clone-timeout."""
        if self._cloner is None:
            self._cloner = self.admin.connect_to(
                None, read_timeout=float(self.settings.clone_timeout)
            )
        return self._cloner

    @property
    def registry(self) -> Registry:
        """This process's lease and claims in the server's registry (opened on first use, by
        whichever thread needs it first: the pool's threads claim too)."""
        with self._registry_lock:
            return self._open_registry()

    def _open_registry(self) -> Registry:
        if self._registry is None:
            where = parse_url(self.server.url)
            timeout = float(self.settings.timeout)

            def connect() -> Connection:
                return Connection(
                    where["host"],
                    where["port"],
                    where["user"],
                    where["password"],
                    connect_timeout=min(10.0, timeout),
                    read_timeout=timeout,
                )

            registry = Registry(connect, self.run_id, self.worker)
            try:
                registry.open()
            except QueryError as exc:
                registry.close()
                raise MocloneError(
                    f"cannot keep the plugin's registry (database {REGISTRY_DB}) on "
                    f"{self.server.masked_url}: ({exc.server_code}) {exc.server_message}; the "
                    "plugin records there what it creates, so its user needs the right to "
                    f"create {REGISTRY_DB} and write to it",
                    server_code=exc.server_code,
                    server_message=exc.server_message,
                ) from exc
            self._registry = registry
        return self._registry

    # -- golden -----------------------------------------------------------------------------
    @property
    def golden(self) -> Golden:
        if self._golden is None:
            self._golden = made_once(
                self.shared_dir,
                GOLDEN,
                self._obtain_golden,
                Golden.to_json,
                Golden.from_json,
                who=f"xdist worker {self.worker}" if self.worker != "main" else "main process",
            )
            self.stats.golden_seconds = self._golden.build_seconds
            if self._golden.build_seconds is None and self._golden.fingerprint is not None:
                self.stats.golden_reused = self._shared_goldens().built(self._golden)
        return self._golden

    def _obtain_golden(self) -> Golden:
        golden = self._build_or_find_golden()
        if self.settings.verify:  # one clone, compared with the golden before any test runs
            verify_first_clone(self.admin, self.janitor(self.new_clone_name("v"), golden), golden)
        return golden

    def _build_or_find_golden(self) -> Golden:
        admin = self.admin
        registry = self.registry
        reaped = reap(admin, registry, prefix=self.settings.prefix)
        kept = kept_runs(self.cache)  # runs that kept databases on purpose (--mo-keep-failed)
        self.stats.reaped += [e.name for e in reaped if e.run not in kept]
        self.stats.dropped_kept += [e.name for e in reaped if e.run in kept]
        forget_kept(self.cache, {e.run for e in reaped} & kept)
        if self.settings.snapshot is not None:
            return user_snapshot(admin, self.settings.snapshot)
        if self.settings.reuse:
            fp = fingerprint(
                self.settings.golden_sql, self.golden_sources(), admin.info.version_string
            )
            return self._shared_goldens().obtain(
                fp,
                self._fill,
                rebuild=self.settings.rebuild,
                waiting=lambda holder: log.warning(
                    "moclone: waiting for %s to finish building the golden", holder
                ),
            )
        prefix = self.settings.prefix
        return build_claimed(
            self.cloner,
            registry,
            f"{prefix}_golden_{self.run_id}",
            f"{prefix}_snap_{self.run_id}",
            self._fill,
        )

    def _shared_goldens(self) -> SharedGoldens:
        if self._shared is None:
            self._shared = SharedGoldens(self.cloner, self.registry, self.settings.prefix)
        return self._shared

    def _fill(self, client: Client) -> None:
        load_sql_files(client, self.settings.golden_sql)
        self.fill_golden(client)

    def prepare(self) -> None:
        """Server and golden, now: so that a broken set-up fails once, before any test."""
        _ = self.golden

    # -- clones -----------------------------------------------------------------------------
    def new_clone_name(self, kind: str = "") -> str:
        return f"{self.settings.prefix}_{self.run_id}_{self.worker}_{kind}{next(self._counter)}"

    def janitor(
        self, name: str, golden: Optional[Golden] = None, client: Optional[Client] = None
    ) -> CloneJanitor:
        """The life of clone ``name`` of the golden, recorded before it is made."""
        golden = golden or self.golden
        manager = (client or self.cloner).clone
        registry = self.registry
        return CloneJanitor(
            manager,
            name,
            golden.database,
            golden.snapshot,
            # Lineage makes MatrixOne's DIFF (the diff of a failure, and the change signal of a
            # recycled database) cost what changed, not the table's size; only where branches
            # do not deadlock when the pool's connections and other runs make them at once.
            branch=manager.concurrent_branches
            and (self.settings.diff_branches or self.settings.reset),
            claim=lambda n: registry.claim(DATABASE, n),
            made=lambda n: registry.mark(DATABASE, n),
            release=lambda n: registry.release(DATABASE, n),
        )

    def make_clone(self, name: str, client: Optional[Client] = None) -> float:
        """Clone the golden into ``name``; the seconds it took."""
        return self.janitor(name, client=client).create()

    def drop_clone(self, name: str, client: Optional[Client] = None) -> None:
        self.janitor(name, client=client).drop()

    def _recycler(self) -> Recycler:
        golden = self.golden
        return Recycler(
            golden.database,
            golden.snapshot,
            lambda client, name: self.janitor(name, client=client),
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
                connect=lambda: self.admin.connect_to(
                    None, read_timeout=float(self.settings.clone_timeout)
                ),
                make=lambda client: recycler.fresh(client, self.new_clone_name()),
                recycle=recycler.recycle if self.settings.reset else None,
                drop=lambda client, name: self.drop_clone(name, client),
                open_for_test=self.admin.connect_to,  # with the tests' timeouts
            )
            self._pool.start()
        return self._pool

    def between_tests(self, calm: bool) -> None:
        """A test's call ends (``calm``: background work waits for the next one's) or begins."""
        if self._pool is not None:
            self._pool.between_tests(calm)

    def take_clone(self, test_id: str) -> Ready:
        """A database that is exactly the golden, for one test: from the pool when there is
        one (made afresh, kept from an earlier test, or with the tables it changed reset)."""
        started = time.perf_counter()
        pool = self._clone_pool()
        if pool is not None:
            ready = pool.take(timeout=float(self.settings.clone_timeout) + 60)
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

    def rollback_hides_writes(self) -> bool:
        """mo_txn_db may leave a test's session out of the change signals: every write to the
        golden's tables is undone by a rollback (asked once: every clone has its tables)."""
        if self._rollback_hides is None:
            golden = self.golden
            self._rollback_hides = self.admin.dialect.rolls_back_every_write(
                self.admin.connection, golden.database
            )
        return self._rollback_hides

    # -- end of run -------------------------------------------------------------------------
    def finish(self) -> list[str]:
        """Close this process's connections; the owner also drops what the run made and stops
        the server. Returns lines to print (what was kept, what could not be cleaned)."""
        notes: list[str] = []
        if self._pool is not None:
            self._pool.close(server_gone=self.failure is not None)
            self._pool = None
        try:
            if self.is_owner:
                notes += self._drop_run_objects()
        finally:
            for client in (self._cloner, self._admin):
                if client is not None:
                    client.close()
            self._cloner = self._admin = None
            if self._registry is not None:
                self._registry.close()
                self._registry = None
            if self.is_owner:
                notes += self._run_server.stop(keep_running=bool(self.stats.kept))
                if self._lease is not None:
                    self._lease.release()
                shutil.rmtree(self.shared_dir, ignore_errors=True)
        return notes

    def _drop_run_objects(self) -> list[str]:
        """Drop what the registry lists for this run (every process of it), but kept
        databases, and end the run's use of a shared golden."""
        if not self._run_server.from_url and not self._run_server.started:
            return []  # no server was ever needed in this run
        if self._run_server.died():  # nothing to reach; said once, without a connect error
            return self._run_server.death_notes()
        if self.failure is not None and self._registry is None:
            return []  # the server went away before this process used it
        try:
            admin, registry = self.admin, self.registry
        except MocloneError as exc:
            return [
                f"could not clean up (the server is unreachable: {exc}); "
                "the next run drops what this one left"
            ]
        try:
            golden = read_made(self.shared_dir, GOLDEN, Golden.from_json)
            if golden is not None and golden.fingerprint is not None:
                self._shared_goldens().release(golden.fingerprint)
            kept = set(self.stats.kept)
            doomed = [
                e
                for e in registry.entries(run=self.run_id)
                if e.name not in kept and e.state != SHARED
            ]
            drop_entries(admin, registry, doomed)
        except MocloneError as exc:
            return [f"could not clean up: {exc}; the next run drops what this one left"]
        return []

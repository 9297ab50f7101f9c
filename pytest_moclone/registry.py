"""Who owns what on a server, kept on that server: the plugin's registry database.

Every database and snapshot the plugin makes is claimed here *before* it is created (a row keyed
by kind and name: two runs never claim one name), marked created after, forgotten once dropped;
a ``CREATE`` the server refuses removes its claim. Each process of a run holds a *lease*: its own
open registry connection (its id and address in the server's process list; the address tells a
reused id after a server restart) and a heartbeat renewed every few seconds.

A lease is dead when its heartbeat is older than :data:`GRACE_SECONDS` and its connection is gone
(a killed process: the server closes it at once), or older than :data:`EXPIRY_SECONDS` whatever
the process list says (a vanished machine). A paused process keeps its connection: alive until
the expiry. A run is alive while any of its leases is (docs/fleet.md has the why).

MatrixOne 3.0.18 has no ``GET_LOCK``: locks are rows with a primary key (a duplicate is 1062).
``runs`` is reserved there and ``utc_timestamp(6)`` fails: every identifier is quoted, times are
the server's ``now(6)`` (one clock for every machine).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Optional

from .connection import Connection, Row
from .errors import MocloneError, QueryError, ServerConnectionError
from .registry_schema import (
    CLAIMED,
    CREATED,
    DATABASE,
    DROPPING,
    DUPLICATE_KEY,
    EXPIRY_SECONDS,
    GRACE_SECONDS,
    HEARTBEAT_SECONDS,
    REGISTRY_DB,
    SHARED,
    SNAPSHOT,
    TABLES,
    ClaimTaken,
    Entry,
    Lease,
    LeaseLost,
    lease_alive,
)

__all__ = [
    "CLAIMED",
    "CREATED",
    "DATABASE",
    "DROPPING",
    "EXPIRY_SECONDS",
    "GRACE_SECONDS",
    "HEARTBEAT_SECONDS",
    "REGISTRY_DB",
    "SHARED",
    "SNAPSHOT",
    "ClaimTaken",
    "Entry",
    "Lease",
    "LeaseLost",
    "Registry",
    "lease_alive",
]


class Registry:
    """This process's lease and claims on one server, over its own connection.

    ``connect`` makes a new autocommit connection to the server; the registry keeps one open for
    the process's life (that open connection *is* the lease) and renews the heartbeat on it from
    a daemon thread. Every method is thread-safe (the clone pool claims from its threads).
    """

    def __init__(self, connect: Callable[[], Connection], run_id: str, process: str) -> None:
        self.run_id = run_id
        self.process = process
        self._connect = connect
        self._lock = threading.RLock()
        self._conn: Optional[Connection] = None
        self._stop = threading.Event()
        self._beater: Optional[threading.Thread] = None
        self.lost: Optional[str] = None
        self.conn_id: Optional[int] = None

    # -- the connection and the lease ------------------------------------------------------
    @property
    def matrixone(self) -> bool:
        return self._connection().info.dialect == "matrixone"

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    def _run(self, sql: str, params: Optional[Sequence[Any]] = None) -> list[Row]:
        with self._lock:
            return self._connection().execute(sql.format(db=REGISTRY_DB), params)

    def ensure_schema(self) -> None:
        with self._lock:
            conn = self._connection()
            for sql in (f"CREATE DATABASE IF NOT EXISTS `{REGISTRY_DB}`", *TABLES):
                for attempt in range(5):  # concurrent CREATE ... IF NOT EXISTS can conflict
                    try:
                        conn.execute_ddl(sql.format(db=REGISTRY_DB))
                        break
                    except QueryError:
                        if attempt == 4:
                            raise
                        time.sleep(0.1 * (attempt + 1))

    def open(self, *, heartbeat: bool = True) -> Registry:
        """Create the registry if needed, take this process's lease, start the heartbeat."""
        with self._lock:
            if self.conn_id is not None:
                return self
            self.ensure_schema()
            conn = self._connection()
            conn_id = int(conn.execute("SELECT connection_id()")[0][0])
            host = next((h for i, h in self._connections() if i == conn_id), "")
            self._run(
                "INSERT INTO `{db}`.`leases` (`run_id`, `process`, `machine`, `pid`, `conn_id`, "
                "`client_host`, `started`, `heartbeat`) VALUES (%s, %s, %s, %s, %s, %s, "
                "now(6), now(6))",
                (self.run_id, self.process, socket.gethostname()[:255], os.getpid(), conn_id, host),
            )
            self.conn_id = conn_id
        if heartbeat:
            self._beater = threading.Thread(target=self._beat, name="moclone-lease", daemon=True)
            self._beater.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                self.renew()
            except LeaseLost:
                return
            except MocloneError as exc:
                self.lost = f"lost the registry connection: {exc}"
                return

    def renew(self) -> None:
        """Move the heartbeat on; a lease that is gone (reaped) makes this process stop."""
        with self._lock:
            self.check()
            self._run(
                "UPDATE `{db}`.`leases` SET `heartbeat` = now(6) "
                "WHERE `run_id` = %s AND `process` = %s",
                (self.run_id, self.process),
            )
            found = self._run(
                "SELECT COUNT(*) FROM `{db}`.`leases` WHERE `run_id` = %s AND `process` = %s",
                (self.run_id, self.process),
            )
            if not int(found[0][0]):
                self.lost = "its lease was reaped by another run (it looked dead)"
                raise LeaseLost(self._lost_message())

    def check(self) -> None:
        """Raise :class:`LeaseLost` if this process's lease is known to be gone."""
        if self.lost is not None:
            raise LeaseLost(self._lost_message())

    def _lost_message(self) -> str:
        where = self._conn.describe() if self._conn is not None else "the server"
        return (
            f"run {self.run_id} ({self.process}) lost its lease on {where}: {self.lost}; "
            "its databases may have been dropped by another run, so it stops here"
        )

    def close(self) -> None:
        """End the lease (the run's objects are dropped first, by the caller)."""
        self._stop.set()
        if self._beater is not None:
            self._beater.join(timeout=HEARTBEAT_SECONDS + 5)
        with self._lock:
            if self._conn is None:
                return
            try:
                if self.conn_id is not None and self.lost is None:
                    self._run(
                        "DELETE FROM `{db}`.`leases` WHERE `run_id` = %s AND `process` = %s",
                        (self.run_id, self.process),
                    )
            except MocloneError:
                pass  # the server is gone: the lease dies with the connection
            finally:
                self._conn.close()
                self._conn = None
                self.conn_id = None

    # -- liveness ---------------------------------------------------------------------------
    def _connections(self) -> set[tuple[int, str]]:
        """(id, client address) of every connection the server lists."""
        columns = "`conn_id`, `client_host`" if self.matrixone else "`ID`, `HOST`"
        rows = self._run(f"SELECT {columns} FROM information_schema.processlist")
        return {(int(r[0]), str(r[1] or "")) for r in rows if r[0] is not None}

    def leases(self) -> list[Lease]:
        with self._lock:
            rows = self._run(
                "SELECT `run_id`, `process`, `machine`, `pid`, `conn_id`, `client_host`, "
                "`started`, `heartbeat`, now(6) FROM `{db}`.`leases`"
            )
            connected = self._connections()
        ids = {i for i, _ in connected}
        found = []
        for run, process, machine, pid, conn_id, host, started, beat, now in rows:
            age = (now - beat).total_seconds()
            on = (int(conn_id), str(host)) in connected if host else int(conn_id) in ids
            found.append(
                Lease(
                    str(run),
                    str(process),
                    str(machine),
                    int(pid),
                    int(conn_id),
                    started,
                    age,
                    on,
                    lease_alive(age, on),
                )
            )
        return found

    def alive_runs(self) -> set[str]:
        return {lease.run for lease in self.leases() if lease.alive}

    def forget_dead_leases(self, leases: Sequence[Lease]) -> None:
        for lease in leases:
            if not lease.alive and not (lease.run == self.run_id and lease.process == self.process):
                self._run(
                    "DELETE FROM `{db}`.`leases` WHERE `run_id` = %s AND `process` = %s",
                    (lease.run, lease.process),
                )

    # -- claims -----------------------------------------------------------------------------
    def claim(self, kind: str, name: str, *, tag: str = "") -> None:
        """Write that this run is about to create ``name``; a name already claimed (by any
        run) raises :class:`ClaimTaken` and nothing is created."""
        self.check()
        try:
            self._run(
                "INSERT INTO `{db}`.`objects` (`kind`, `name`, `run_id`, `process`, `state`, "
                "`created`, `tag`) VALUES (%s, %s, %s, %s, %s, now(6), %s)",
                (kind, name, self.run_id, self.process, CLAIMED, tag),
            )
        except QueryError as exc:
            if exc.server_code == DUPLICATE_KEY:
                raise ClaimTaken(f"{kind} {name!r} is already claimed in the registry") from exc
            raise

    def mark(self, kind: str, name: str, state: str = CREATED) -> None:
        """Set its state; for a shared golden, its time becomes the time it was last used."""
        self._run(
            "UPDATE `{db}`.`objects` SET `state` = %s, `created` = now(6) "
            "WHERE `kind` = %s AND `name` = %s",
            (state, kind, name),
        )

    def release(self, kind: str, name: str, *, run: Optional[str] = None) -> None:
        """Forget ``name`` (dropped, or its CREATE refused); only this run's row by default."""
        self._run(
            "DELETE FROM `{db}`.`objects` WHERE `kind` = %s AND `name` = %s AND `run_id` = %s",
            (kind, name, run if run is not None else self.run_id),
        )

    def take(self, entry: Entry) -> bool:
        """Make ``entry``'s row this run's, in state ``dropping``, if it is still as read: False
        when it changed since (another run took it, or dropped it and built the name again)."""
        self._run(
            "UPDATE `{db}`.`objects` SET `run_id` = %s, `process` = %s, `state` = %s "
            "WHERE `kind` = %s AND `name` = %s AND `run_id` = %s AND `state` = %s",
            (self.run_id, self.process, DROPPING, entry.kind, entry.name, entry.run, entry.state),
        )
        now = self._run(
            "SELECT `run_id`, `process`, `state` FROM `{db}`.`objects` "
            "WHERE `kind` = %s AND `name` = %s",
            (entry.kind, entry.name),
        )
        return [tuple(map(str, r)) for r in now] == [(self.run_id, self.process, DROPPING)]

    def give_back(self, entry: Entry) -> None:
        """Undo :meth:`take` (its object could not be dropped): as it was, for a later try."""
        self._run(
            "UPDATE `{db}`.`objects` SET `run_id` = %s, `state` = %s "
            "WHERE `kind` = %s AND `name` = %s AND `run_id` = %s AND `state` = %s",
            (entry.run, entry.state, entry.kind, entry.name, self.run_id, DROPPING),
        )

    def entries(self, *, run: Optional[str] = None) -> list[Entry]:
        sql = (
            "SELECT `kind`, `name`, `run_id`, `state`, "
            "now(6), `created`, `tag` FROM `{db}`.`objects`"
        )
        rows = self._run(sql + " WHERE `run_id` = %s", (run,)) if run else self._run(sql)
        return [
            Entry(str(k), str(n), str(r), str(s), (now - c).total_seconds(), str(t))
            for k, n, r, s, now, c, t in rows
        ]

    # -- locks (no GET_LOCK on MatrixOne 3.0.18) --------------------------------------------
    @contextmanager
    def locked(
        self, name: str, *, timeout: float, waiting: Callable[[str], None]
    ) -> Iterator[None]:
        """Hold lock ``name`` (a row keyed by it) for the block; a holder whose run is dead
        loses it. ``waiting(holder)`` is told, once, who holds it; waits at most ``timeout``."""
        deadline = time.monotonic() + timeout
        told = False
        while True:
            self.check()
            try:
                self._run(
                    "INSERT INTO `{db}`.`locks` (`name`, `run_id`, `process`, `taken`) "
                    "VALUES (%s, %s, %s, now(6))",
                    (name, self.run_id, self.process),
                )
                break
            except QueryError as exc:
                if exc.server_code != DUPLICATE_KEY:
                    raise
            holder = self._run(
                "SELECT `run_id`, `process` FROM `{db}`.`locks` WHERE `name` = %s", (name,)
            )
            if holder:
                run, process = str(holder[0][0]), str(holder[0][1])
                if run not in self.alive_runs():
                    self._run(
                        "DELETE FROM `{db}`.`locks` WHERE `name` = %s AND `run_id` = %s "
                        "AND `process` = %s",
                        (name, run, process),
                    )
                    continue
                if not told:
                    waiting(f"run {run} ({process})")
                    told = True
            if time.monotonic() > deadline:
                raise MocloneError(
                    f"gave up after {timeout:.0f} s waiting for the registry lock {name!r} "
                    f"(held by a live run)"
                )
            time.sleep(0.25)
        try:
            yield
        finally:
            with contextlib.suppress(ServerConnectionError):  # the lock dies with the lease
                self._run(
                    "DELETE FROM `{db}`.`locks` WHERE `name` = %s AND `run_id` = %s "
                    "AND `process` = %s",
                    (name, self.run_id, self.process),
                )

    # -- users of shared objects (reused goldens) -------------------------------------------
    def use(self, name: str) -> None:
        try:
            self._run(
                "INSERT INTO `{db}`.`uses` (`name`, `run_id`, `since`) VALUES (%s, %s, now(6))",
                (name, self.run_id),
            )
        except QueryError as exc:
            if exc.server_code != DUPLICATE_KEY:
                raise

    def unuse(self, name: str) -> None:
        self._run(
            "DELETE FROM `{db}`.`uses` WHERE `name` = %s AND `run_id` = %s", (name, self.run_id)
        )

    def users(self, name: str) -> set[str]:
        rows = self._run("SELECT `run_id` FROM `{db}`.`uses` WHERE `name` = %s", (name,))
        return {str(r[0]) for r in rows}

    def forget_uses_of(self, runs: set[str]) -> None:
        for run in runs:
            self._run("DELETE FROM `{db}`.`uses` WHERE `run_id` = %s", (run,))

    def all_users(self) -> set[str]:
        return {str(r[0]) for r in self._run("SELECT DISTINCT `run_id` FROM `{db}`.`uses`")}

"""The golden, built with every object claimed in the server's registry (registry.py).

A run's own golden is claimed by the run, so it is reaped with the run's other objects. With
``--mo-reuse`` the golden of a fingerprint is shared by every run on every machine that builds the
same one: it is built under a lock held on the server, marked ``shared`` only once its snapshot
exists, and a golden left half-built by a builder whose run died is dropped and built again.
A golden of another fingerprint under the same prefix goes once no live run uses it and none has
for a day (another project or branch with the same prefix may still want it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Optional

from ..client import Client
from ..errors import MocloneError, ServerConnectionError
from ..golden import Golden, GoldenSetupError, commit_and_autocommit
from ..janitor import CloneJanitor
from ..names import check_identifier, quote
from ..records import drop_entries
from ..registry import CREATED, DATABASE, DROPPING, SHARED, SNAPSHOT, Entry, Registry

#: How long a run waits for another machine's build of the same golden.
BUILD_WAIT_SECONDS = 1800.0
#: How long a builder waits for another run's drop of a dead builder's half-built golden.
DROPPING_WAIT_SECONDS = 120.0
#: A shared golden of another fingerprint is dropped once unused this long: two projects (or
#: branches) with one prefix that take turns keep both, an abandoned one goes within a day.
STALE_AFTER_SECONDS = 24 * 3600.0


def stale(unused_for: float, live_users: set[str]) -> bool:
    """Whether a shared golden of another fingerprint may be dropped."""
    return not live_users and unused_for >= STALE_AFTER_SECONDS


def _claimed(
    registry: Registry, kind: str, name: str, tag: str, create: Callable[[], object]
) -> None:
    """Claim, create, mark created; a refused CREATE (the name exists) leaves no claim."""
    registry.claim(kind, name, tag=tag)
    try:
        create()
    except ServerConnectionError:
        raise  # it may exist: the claim stays, the reaper decides once this run is dead
    except BaseException:
        registry.release(kind, name)
        raise
    registry.mark(kind, name, CREATED)


def verify_first_clone(admin: Client, janitor: CloneJanitor, golden: Golden) -> None:
    """Clone the golden once and compare it (objects, rows): a server's limit stops the run here
    with one message, instead of showing as failing tests (--mo-no-verify skips it)."""
    with janitor as name:
        differences = admin.clone.verify(name, golden.database, golden.snapshot)
    if differences:
        raise GoldenSetupError(
            f"the first clone of the golden is not the golden on {admin.info.describe()}: "
            + "; ".join(map(str, differences))
            + " (--mo-no-verify runs the tests anyway)"
        )


def build_claimed(
    admin: Client,
    registry: Registry,
    database: str,
    snapshot: str,
    fill: Callable[[Client], None],
    *,
    tag: str = "",
) -> Golden:
    """Create ``database``, let ``fill`` build it, snapshot it: each object claimed first."""
    started = time.perf_counter()
    _claimed(
        registry,
        DATABASE,
        database,
        tag,
        lambda: admin.execute(f"CREATE DATABASE {quote(check_identifier(database))}"),
    )
    with admin.connect_to(database) as client:
        fill(client)
        commit_and_autocommit(client)  # whatever the hook left open
    _claimed(
        registry,
        SNAPSHOT,
        snapshot,
        tag,
        lambda: admin.snapshots.create(snapshot, database=database),
    )
    return Golden(database, snapshot, time.perf_counter() - started)


class SharedGoldens:
    """``--mo-reuse`` goldens of one server, shared by fingerprint across runs and machines."""

    def __init__(self, admin: Client, registry: Registry, prefix: str) -> None:
        self.admin = admin
        self.registry = registry
        self.prefix = prefix
        self.last_used: Optional[float] = None  # seconds, of the golden this run reused

    def names(self, fp: str) -> tuple[str, str]:
        return f"{self.prefix}_golden_{fp}", f"{self.prefix}_snap_{fp}"

    def obtain(
        self,
        fp: str,
        fill: Callable[[Client], None],
        *,
        rebuild: bool,
        waiting: Callable[[str], None] = lambda holder: None,
    ) -> Golden:
        database, snapshot = self.names(fp)
        registry = self.registry
        registry.use(database)  # before the lock: a stale-golden sweep now sees this run
        with registry.locked(f"golden_{database}", timeout=BUILD_WAIT_SECONDS, waiting=waiting):
            mine = [e for e in registry.entries() if e.name in (database, snapshot) and e.tag == fp]
            complete = {(e.kind, e.name) for e in mine if e.state == SHARED} == {
                (DATABASE, database),
                (SNAPSHOT, snapshot),
            }
            if complete and not rebuild and self.admin.snapshots.exists(snapshot):
                golden = Golden(database, snapshot, None, fingerprint=fp)
                self.last_used = min(e.age for e in mine)
                registry.mark(DATABASE, database, SHARED)  # used now: not stale for a while
            else:
                # Half-built by a builder that died (it held this lock: it is dead, or the lock
                # would not be ours), or --mo-rebuild: drop only what the registry lists.
                self._drop_listed(mine)
                self._wait_dropped(database, snapshot)
                built = build_claimed(self.admin, registry, database, snapshot, fill, tag=fp)
                registry.mark(SNAPSHOT, snapshot, SHARED)
                registry.mark(DATABASE, database, SHARED)
                golden = Golden(database, snapshot, built.build_seconds, fingerprint=fp)
        self._drop_stale(keep=fp)
        return golden

    def _drop_listed(self, entries: list[Entry]) -> None:
        if entries:
            drop_entries(self.admin, self.registry, entries)

    def _wait_dropped(self, *names: str) -> None:
        """Until no other run is dropping these names (a reaper took the dead builder's rows
        first): building before its DROP would lose the new golden to it."""
        deadline = time.monotonic() + DROPPING_WAIT_SECONDS
        while True:
            rows = [e for e in self.registry.entries() if e.name in names]
            if not rows or any(e.state != DROPPING for e in rows):
                return  # free, or claimed for good: the claim then says by whom
            if time.monotonic() > deadline:
                raise MocloneError(
                    f"{', '.join(sorted(e.name for e in rows))}: another run has been dropping "
                    f"them for {DROPPING_WAIT_SECONDS:.0f} s; try again, or reap them with "
                    "`python -m pytest_moclone reap`"
                )
            time.sleep(0.25)

    def _drop_stale(self, keep: str) -> None:
        """Drop shared goldens of other fingerprints that no live run uses (under their lock,
        skipped if another run holds it)."""
        registry = self.registry
        ours = f"{self.prefix}_golden_", f"{self.prefix}_snap_"  # another prefix: not ours
        entries = [
            e
            for e in registry.entries()
            if e.state == SHARED and e.tag and e.tag != keep and e.name.startswith(ours)
        ]
        alive = registry.alive_runs()
        for fp in sorted({e.tag for e in entries}):
            database, _ = self.names(fp)
            if not stale(
                min(e.age for e in entries if e.tag == fp), registry.users(database) & alive
            ):
                continue
            try:
                with registry.locked(f"golden_{database}", timeout=0, waiting=lambda h: None):
                    if registry.users(database) & registry.alive_runs():
                        continue
                    self._drop_listed([e for e in entries if e.tag == fp])
            except MocloneError:
                continue  # another run holds its lock: it is in use

    def built(self, golden: Golden) -> str:
        """``p_golden_ab12, built by an earlier run, last used 4 min ago``, for the summary."""
        used = "" if self.last_used is None else f", last used {ago(self.last_used)}"
        return f"{golden.database}, built by an earlier run{used}"

    def release(self, fp: str) -> None:
        self.registry.unuse(self.names(fp)[0])


def ago(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return "just now"
    if minutes < 120:
        return f"{minutes} min ago"
    hours = minutes // 60
    return f"{hours} h ago" if hours < 48 else f"{hours // 24} days ago"

"""Dropping what the registry (registry.py) proves the plugin created, and only that.

The registry on the server lists every database and snapshot the plugin claimed, by run. The
reaper drops an object only if the registry lists it *and* no lease of its run is alive; a
database named like ours that the registry does not list is never touched, whatever its name.
Reused goldens (state ``shared``) belong to no run: reuse decides when they go.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Optional

from .client import Client
from .errors import MocloneError
from .registry import DATABASE, SHARED, SNAPSHOT, Entry, Registry

#: The state of a database kept for a failed test (--mo-keep-failed).
KEPT = "kept"


def drop_entries(admin: Client, registry: Registry, entries: Iterable[Entry]) -> list[Entry]:
    """Drop the listed snapshots, then databases (an emulated snapshot is a database of its
    own), forgetting each row once its object is gone; return what was dropped.

    Each row is first taken over (:meth:`Registry.take`): one read earlier may be stale, as when
    a golden's next builder dropped a dead builder's half-built golden and made it again."""
    rows = admin.execute("SELECT schema_name FROM information_schema.schemata")
    existing = {str(r[0]).lower() for r in rows}
    dropped = []
    for entry in sorted(entries, key=lambda e: e.kind != SNAPSHOT):
        if not registry.take(entry):
            continue  # no longer as read: not ours to drop
        try:
            if entry.kind == SNAPSHOT:
                if admin.snapshots.drop(entry.name, if_exists=True):
                    dropped.append(entry)
            elif entry.kind == DATABASE and entry.name.lower() in existing:
                admin.clone.drop(entry.name)
                dropped.append(entry)
        except MocloneError as exc:
            if exc.server_code is None and "does not exist" not in str(exc):
                raise  # the server is gone: the caller says so once
            registry.give_back(entry)  # busy or refused: as it was, a later reaper tries again
            continue
        registry.release(entry.kind, entry.name)
    return dropped


def dead_entries(registry: Registry, *, include_shared: bool = False) -> list[Entry]:
    """What the registry lists for runs none of whose leases is alive."""
    entries = registry.entries()  # before the leases: a claim's lease is older than it
    alive = registry.alive_runs()
    return [e for e in entries if e.run not in alive and (include_shared or e.state != SHARED)]


def reap(admin: Client, registry: Registry, *, prefix: Optional[str] = None) -> list[Entry]:
    """Drop what dead runs left on this server, then forget their leases and uses. A database
    kept for a failed test (state ``kept``) is dropped only by a run of its own prefix (the
    next run of that project, as its message promised), or by anyone when ``prefix`` is None
    (a person's ``pytest-moclone reap``)."""
    entries = registry.entries()  # before the leases: a claim's lease is older than it
    leases = registry.leases()
    alive = {lease.run for lease in leases if lease.alive}
    doomed = [
        e
        for e in entries
        if e.run not in alive
        and e.state != SHARED
        and (e.state != KEPT or prefix is None or e.name.startswith(f"{prefix}_"))
    ]
    dropped = drop_entries(admin, registry, doomed)
    forget_vanished(admin, registry, [e for e in entries if e.state == SHARED])
    registry.forget_dead_leases(leases)
    users = registry.all_users()  # before the leases again, for the same reason
    registry.forget_uses_of(users - registry.alive_runs())
    return dropped


def forget_vanished(admin: Client, registry: Registry, entries: Iterable[Entry]) -> None:
    """Forget listed objects that are no longer on the server (dropped by hand)."""
    entries = list(entries)
    if not entries:
        return
    rows = admin.execute("SELECT schema_name FROM information_schema.schemata")
    databases = {str(r[0]).lower() for r in rows}
    snapshots = {s.name for s in admin.snapshots.list()}
    for e in entries:
        gone = e.name.lower() not in databases if e.kind == DATABASE else e.name not in snapshots
        if gone:
            registry.release(e.kind, e.name, run=e.run)

"""What the registry (registry.py) keeps on the server: its tables, its rows as values, and the
rule that says whether a lease is alive."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .errors import MocloneError

REGISTRY_DB = "__moclone_registry"
HEARTBEAT_SECONDS = 5.0
#: A lease whose connection is gone is dead once its heartbeat is this old (SIGKILL: <= 15 s).
GRACE_SECONDS = 15.0
#: A lease is dead once its heartbeat is this old, even with its connection still listed.
EXPIRY_SECONDS = 600.0

DATABASE = "database"
SNAPSHOT = "snapshot"
CLAIMED, CREATED = "claimed", "created"
#: A reused golden (``--mo-reuse``) once complete: it belongs to no run; reuse decides its end.
SHARED = "shared"
#: A row a run took over to drop its object (records.drop_entries): nobody else touches it.
DROPPING = "dropping"
DUPLICATE_KEY = 1062

TABLES = (
    "CREATE TABLE IF NOT EXISTS `{db}`.`leases` ("
    "`run_id` VARCHAR(64) NOT NULL, `process` VARCHAR(64) NOT NULL, "
    "`machine` VARCHAR(255) NOT NULL, `pid` BIGINT NOT NULL, `conn_id` BIGINT NOT NULL, "
    "`client_host` VARCHAR(255) NOT NULL, "
    "`started` DATETIME(6) NOT NULL, "
    "`heartbeat` DATETIME(6) NOT NULL, PRIMARY KEY (`run_id`, `process`))",
    "CREATE TABLE IF NOT EXISTS `{db}`.`objects` ("
    "`kind` VARCHAR(16) NOT NULL, `name` VARCHAR(255) NOT NULL, `run_id` VARCHAR(64) NOT NULL, "
    "`process` VARCHAR(64) NOT NULL, `state` VARCHAR(16) NOT NULL, "
    "`created` DATETIME(6) NOT NULL, `tag` VARCHAR(64) NOT NULL, PRIMARY KEY (`kind`, `name`))",
    "CREATE TABLE IF NOT EXISTS `{db}`.`locks` ("
    "`name` VARCHAR(255) NOT NULL, `run_id` VARCHAR(64) NOT NULL, "
    "`process` VARCHAR(64) NOT NULL, `taken` DATETIME(6) NOT NULL, PRIMARY KEY (`name`))",
    "CREATE TABLE IF NOT EXISTS `{db}`.`uses` ("
    "`name` VARCHAR(255) NOT NULL, `run_id` VARCHAR(64) NOT NULL, "
    "`since` DATETIME(6) NOT NULL, PRIMARY KEY (`name`, `run_id`))",
)


class LeaseLost(MocloneError):
    """This process's lease on the server expired or was reaped: its objects may be gone."""


@dataclass(frozen=True)
class Lease:
    run: str
    process: str
    machine: str
    pid: int
    conn_id: int
    started: dt.datetime
    heartbeat_age: float  # seconds, by the server's clock
    connected: bool  # its connection is in the server's process list
    alive: bool


@dataclass(frozen=True)
class Entry:
    """One row of the registry's objects: a database or snapshot the plugin claimed."""

    kind: str
    name: str
    run: str
    state: str
    age: float  # seconds since it was claimed
    tag: str = ""  # what it is for (a reused golden's fingerprint)


def lease_alive(age: float, connected: bool) -> bool:
    """The rule of the module docstring, as a pure function (unit-tested)."""
    if age >= EXPIRY_SECONDS:
        return False
    return connected or age < GRACE_SECONDS


class ClaimTaken(MocloneError):
    """Another run (or this one) already claimed that name: it is not ours to create."""

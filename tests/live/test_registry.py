"""The registry on the server (registry.py): claims, leases and their liveness, locks, reaping.

Liveness is shown on real processes: a child holds a lease over its own connection, and is
then SIGKILLed (dead to every machine within 30 s) or SIGSTOPped (still alive while paused).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
from conftest import Inner, MakeName

from pytest_moclone import Client
from pytest_moclone.connection import Connection
from pytest_moclone.errors import MocloneError
from pytest_moclone.records import drop_entries, reap
from pytest_moclone.registry import (
    CLAIMED,
    CREATED,
    DATABASE,
    GRACE_SECONDS,
    ClaimTaken,
    LeaseLost,
    Registry,
)

HOLDER = """
import sys, time
from pytest_moclone.connection import Connection
from pytest_moclone.errors import MocloneError
from pytest_moclone.registry import Registry
host, port, user, password, run, name = sys.argv[1:7]
registry = Registry(lambda: Connection(host, int(port), user, password), run, "main").open()
if name != "-":
    registry.claim("database", name)
if len(sys.argv) > 7:
    with registry.locked(sys.argv[7], timeout=5, waiting=print):
        print("locked", flush=True)
        time.sleep(600)
print("ready", flush=True)
time.sleep(600)
"""


def _connect(admin: Client) -> Connection:
    c = admin.connection
    return Connection(c.host, c.port, c.user, c.password)


@pytest.fixture
def registry(admin: Client) -> Iterator[Registry]:
    reg = Registry(lambda: _connect(admin), "t" + uuid.uuid4().hex[:9], "main").open()
    yield reg
    for entry in reg.entries(run=reg.run_id):
        reg.release(entry.kind, entry.name)
    reg.close()


def _holder(admin: Client, run: str, name: str = "-", lock: str = "") -> subprocess.Popen[str]:
    c = admin.connection
    args = [sys.executable, "-c", HOLDER, c.host, str(c.port), c.user, c.password, run, name]
    proc = subprocess.Popen([*args, *([lock] if lock else [])], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    proc.stdout.close()
    assert line in ("ready", "locked"), line
    return proc


def _databases(admin: Client) -> set[str]:
    return {str(r[0]) for r in admin.execute("SELECT schema_name FROM information_schema.schemata")}


def _alive(registry: Registry, run: str) -> bool:
    return run in registry.alive_runs()


def test_a_name_is_claimed_once_and_released(registry: Registry, admin: Client) -> None:
    other = Registry(lambda: _connect(admin), registry.run_id + "x", "main").open(heartbeat=False)
    try:
        registry.claim(DATABASE, f"{registry.run_id}_db")
        with pytest.raises(ClaimTaken, match="already claimed"):
            other.claim(DATABASE, f"{registry.run_id}_db")
        registry.mark(DATABASE, f"{registry.run_id}_db", CREATED)
        [entry] = registry.entries(run=registry.run_id)
        assert (entry.name, entry.state) == (f"{registry.run_id}_db", CREATED)
        other.release(DATABASE, f"{registry.run_id}_db")  # not its claim: nothing happens
        assert registry.entries(run=registry.run_id)
        registry.release(DATABASE, f"{registry.run_id}_db")
        assert registry.entries(run=registry.run_id) == []
    finally:
        other.close()


def test_a_killed_run_is_dead_within_30_s_and_only_its_claims_are_reaped(
    registry: Registry, admin: Client, fresh_name: MakeName
) -> None:
    claimed, decoy, live = fresh_name("claimed"), fresh_name("decoy"), fresh_name("live")
    for name in (claimed, decoy, live):
        admin.execute(f"CREATE DATABASE {name}")
    registry.claim(DATABASE, live)  # a live run's: never reaped
    run, lock = "k" + uuid.uuid4().hex[:9], "lock_" + registry.run_id
    proc = _holder(admin, run, name=claimed, lock=lock)  # claims `claimed`, holds `lock`
    assert _alive(registry, run)
    with (
        pytest.raises(MocloneError, match="waiting for the registry lock"),
        registry.locked(lock, timeout=1, waiting=lambda holder: None),
    ):
        pass  # a live holder's lock: never reached
    started = time.monotonic()
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    while any(le.connected for le in registry.leases() if le.run == run):
        assert time.monotonic() - started < 10, "a killed process's connection still listed"
        time.sleep(0.2)  # the server closes it as soon as it reads the socket's end
    while _alive(registry, run):
        assert time.monotonic() - started < 30, "a killed run still alive after 30 s"
        time.sleep(0.5)
    assert time.monotonic() - started <= GRACE_SECONDS + 2
    with registry.locked(lock, timeout=5, waiting=lambda holder: None):
        pass  # a dead holder's lock is taken over at once
    reap(admin, registry)  # another run's reaper (the suite runs under -n 2) may take it first
    deadline = time.monotonic() + 30
    while claimed in _databases(admin) or any(e.name == claimed for e in registry.entries()):
        assert time.monotonic() < deadline, "a dead run's claimed database was not reaped"
        time.sleep(0.2)
    names = _databases(admin)
    assert decoy in names and live in names
    assert registry.entries(run=run) == []
    admin.execute(f"CREATE DATABASE {claimed}")  # for fresh_name's own clean-up


def test_a_reaper_whose_read_is_stale_never_drops_what_another_run_made_since(
    registry: Registry, admin: Client, fresh_name: MakeName
) -> None:
    """The fleet's race: a reaper reads a dead builder's half-built golden; the next builder
    takes it over, drops it and makes it again; the reaper's drop must then not happen."""
    name = fresh_name("golden")
    builder = Registry(lambda: _connect(admin), registry.run_id + "b", "main").open(heartbeat=False)
    try:
        dead = "d" + uuid.uuid4().hex[:9]  # a run that claimed the name and never came back
        builder._run(
            "INSERT INTO `{db}`.`objects` (`kind`, `name`, `run_id`, `process`, `state`, "
            "`created`, `tag`) VALUES (%s, %s, %s, 'main', %s, now(6), 'fp')",
            (DATABASE, name, dead, CREATED),
        )
        admin.execute(f"CREATE DATABASE {name}")
        [stale] = [e for e in registry.entries() if e.name == name]  # the reaper's read
        assert drop_entries(admin, builder, [stale]) == [stale]  # the builder drops it ...
        builder.claim(DATABASE, name, tag="fp")  # ... and makes it again
        admin.execute(f"CREATE DATABASE {name}")
        admin.execute(f"CREATE TABLE {name}.users (id INT PRIMARY KEY)")
        assert drop_entries(admin, registry, [stale]) == []  # the reaper's late drop: refused
        assert admin.execute(f"SELECT COUNT(*) FROM {name}.users") == [(0,)]
        [now] = [e for e in registry.entries() if e.name == name]
        assert (now.run, now.state) == (builder.run_id, CLAIMED)
    finally:
        builder.release(DATABASE, name)
        builder.close()


def test_a_paused_run_stays_alive(registry: Registry, admin: Client) -> None:
    run = "s" + uuid.uuid4().hex[:9]
    proc = _holder(admin, run)
    try:
        proc.send_signal(signal.SIGSTOP)
        time.sleep(GRACE_SECONDS + 5)  # its heartbeat is now older than the grace
        [lease] = [lease for lease in registry.leases() if lease.run == run]
        assert lease.heartbeat_age > GRACE_SECONDS and lease.connected
        assert _alive(registry, run)
        proc.send_signal(signal.SIGCONT)
        deadline = time.monotonic() + 15
        while next(le for le in registry.leases() if le.run == run).heartbeat_age > GRACE_SECONDS:
            assert time.monotonic() < deadline, "no heartbeat after SIGCONT"
            time.sleep(0.5)
        assert _alive(registry, run)
    finally:
        proc.kill()
        proc.wait(10)


def test_a_run_whose_lease_was_reaped_stops_with_a_clear_message(
    registry: Registry, admin: Client
) -> None:
    other = _connect(admin)
    other.execute(
        "DELETE FROM `__moclone_registry`.`leases` WHERE `run_id` = %s", (registry.run_id,)
    )
    other.close()
    with pytest.raises(LeaseLost, match=r"lost its lease .* so it stops here"):
        registry.renew()
    with pytest.raises(LeaseLost):
        registry.claim(DATABASE, registry.run_id + "_late")


@pytest.mark.mariadb_only(reason="creates a MySQL user without rights (MatrixOne's roles differ)")
def test_a_user_that_may_not_write_the_registry_gets_one_clear_line(
    inner: Inner, admin: Client
) -> None:
    user = "mcro" + uuid.uuid4().hex[:6]
    for host in ("%", "localhost"):
        admin.execute(f"CREATE USER '{user}'@'{host}' IDENTIFIED BY 'pw9secret'")
    try:
        inner.pytester.makepyfile(test_one="def test_a(mo_clone_db):\n    pass\n")
        url = f"mysql://{user}:pw9secret@{admin.host}:{admin.port}/"
        result = inner.run(f"--mo-url={url}")
        out = result.stdout.str() + result.stderr.str()
        assert result.ret == pytest.ExitCode.USAGE_ERROR, out
        result.stderr.fnmatch_lines(
            ["ERROR: moclone: cannot keep the plugin's registry (database __moclone_registry)*"]
        )
        assert "pw9secret" not in out and "Traceback" not in out
    finally:
        for host in ("%", "localhost"):
            admin.execute(f"DROP USER '{user}'@'{host}'")


REAPED_RUN = """
import time
import pymysql

def test_its_lease_is_reaped(mo_clone_db, mo_client):
    run = mo_clone_db.database.split("_")[1]
    mo_client.execute("DELETE FROM `__moclone_registry`.`leases` WHERE `run_id` = %s", (run,))
    time.sleep(7)  # the heartbeat (every 5 s) finds its lease gone

def test_needs_a_new_database(mo_clone_db):
    pass

def test_never_runs(mo_clone_db):
    pass
"""


def test_a_run_that_finds_its_lease_reaped_stops_with_one_line(inner: Inner) -> None:
    inner.pytester.makepyfile(test_reaped=REAPED_RUN)
    result = inner.run("--mo-pool=0", "-p", "no:randomly")
    out = result.stdout.str()
    result.assert_outcomes(passed=1, errors=1)
    assert "lost its lease" in out and "so it stops here" in out, out
    assert "test_never_runs" not in out.split("short test summary")[0].split("[100%]")[0]
    assert "INTERNALERROR" not in out


def test_a_reused_connection_id_does_not_keep_a_dead_lease_alive(
    registry: Registry, admin: Client
) -> None:
    """After a server restart (a kept private server) ids start again: the address tells."""
    run = "r" + uuid.uuid4().hex[:9]
    admin.execute(
        "INSERT INTO `__moclone_registry`.`leases` (`run_id`, `process`, `machine`, `pid`, "
        "`conn_id`, `client_host`, `started`, `heartbeat`) VALUES (%s, 'main', 'gone', 1, %s, "
        "'10.9.9.9:1', now(6), date_sub(now(6), interval 60 second))",
        (run, registry.conn_id),  # a live connection's id, another address
    )
    try:
        [lease] = [le for le in registry.leases() if le.run == run]
        assert not lease.connected and not lease.alive
        [mine] = [le for le in registry.leases() if le.run == registry.run_id]
        assert mine.connected and mine.alive
    finally:
        admin.execute("DELETE FROM `__moclone_registry`.`leases` WHERE `run_id` = %s", (run,))

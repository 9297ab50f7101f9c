"""One server, many machines: simulated on this one, against the suite's live server.

A "machine" is a pytest run in its own process group, with its own cache folder and run id,
some under ``-n 2``, all with ``--mo-reuse`` and one prefix (so they share one golden). Rounds of
four concurrent machines are cut short by SIGKILLs of whole machines at random points; then one
normal run from a fresh cache folder. The registry on the server is all they share.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import Inner, needs_mariadb_binaries

from pytest_moclone import Client
from pytest_moclone.connection import Connection
from pytest_moclone.registry import SHARED, Registry

BUILDER = """
import os, time

def pytest_configure(config):
    with open(os.path.join(os.path.dirname(__file__), "pids.txt"), "a") as out:
        out.write(f"{os.getpid()}\\n")

def pytest_moclone_setup_golden(client):
    log = os.path.join(os.path.dirname(__file__), "golden_builds.txt")
    with open(log, "a") as out:
        out.write(f"start {os.getpgid(0)}\\n")
    client.execute("CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(50))")
    time.sleep(1.0)  # a build long enough for a kill to land in it
    client.execute("INSERT INTO users VALUES (1, 'ada'), (2, 'grace')")
    with open(log, "a") as out:
        out.write(f"done {os.getpgid(0)}\\n")
"""

TESTS = """
import time, pytest

@pytest.mark.parametrize("n", range(6))
def test_sees_the_golden(mo_clone_db, n):
    assert mo_clone_db.execute("SELECT COUNT(*) FROM users") == [(2,)]
    mo_clone_db.execute("INSERT INTO users VALUES (%s, 'new')", (100 + n,))
    time.sleep(0.2)
"""

ROUNDS = 3
MACHINES = 4


def _machine(inner: Inner, number: int, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env["MOCLONE_CACHE_DIR"] = str(inner.pytester.path / f"cache-{number}")
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--mo-reuse"]
    return subprocess.Popen(
        [*command, *args],
        cwd=inner.pytester.path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # a machine is a process group: killed whole
    )


Machine = Callable[..., "subprocess.Popen[str]"]


@pytest.fixture
def machine(inner: Inner) -> Iterator[Machine]:
    """Starts machines; at the end, whatever still runs is killed whole (a failed test must not
    leave a fleet working on the server for the next tests)."""
    started: list[subprocess.Popen[str]] = []

    def start(number: int, *args: str) -> subprocess.Popen[str]:
        started.append(_machine(inner, number, *args))
        return started[-1]

    yield start
    for proc in started:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.communicate(timeout=30)


def _output(proc: subprocess.Popen[str], timeout: float, seed: object = None) -> str:
    """What a machine printed once it ended; one that runs past ``timeout`` fails the test with
    what it printed so far (it is killed by the fixture)."""
    try:
        return proc.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired as exc:
        so_far = exc.output.decode() if isinstance(exc.output, bytes) else str(exc.output or "")
        raise AssertionError(f"seed {seed}: a machine ran over {timeout} s:\n{so_far}") from None


def _registry(admin: Client) -> Registry:
    c = admin.connection
    return Registry(lambda: Connection(c.host, c.port, c.user, c.password), "fleet", "test")


def _wait_all_dead(inner: Inner, admin: Client, within: float = 40.0) -> None:
    """Until no lease of the fleet's processes is alive (killed ones die within the grace)."""
    pids = {int(p) for p in (inner.pytester.path / "pids.txt").read_text().split()}
    registry = _registry(admin)
    deadline = time.monotonic() + within
    try:
        while alive := [le for le in registry.leases() if le.alive and le.pid in pids]:
            assert time.monotonic() < deadline, f"leases still alive: {alive}"
            time.sleep(0.5)
    finally:
        registry.close()


def _kill_the_builder(
    inner: Inner, machines: list[subprocess.Popen[str]], killed: set[int]
) -> None:
    """SIGKILL the machine that began building the golden, while it builds."""
    log = inner.pytester.path / "golden_builds.txt"
    deadline = time.monotonic() + 60
    while not (log.exists() and "start" in log.read_text()):
        assert time.monotonic() < deadline, "no machine began building the golden"
        time.sleep(0.05)
    builder = int(log.read_text().split()[1])
    assert builder in {m.pid for m in machines}
    os.killpg(builder, signal.SIGKILL)
    killed.add(builder)


def _left(inner: Inner) -> list[str]:
    """The plugin's databases, then its snapshots (on MariaDB a snapshot is a frozen copy in a
    ``__mosnap_`` database of its own: counted as the snapshot)."""
    databases = [n for n in inner.leftover_databases() if not n.startswith("__mosnap_")]
    return databases + inner.leftover_snapshots()


def _decoys(admin: Client, prefix: str) -> list[str]:
    """Databases named like the plugin's that it never created: never to be dropped."""
    names = [f"{prefix}_golden_000000000000", f"{prefix}_snap_decoy", f"{prefix}_zz9decoy9z_main_1"]
    for name in names:
        admin.execute(f"CREATE DATABASE {name}")
        admin.execute(f"CREATE TABLE {name}.keep (id INT PRIMARY KEY)")
    return names


def test_a_fleet_with_killed_machines_shares_one_golden_and_leaves_only_it(
    inner: Inner, admin: Client, machine: Machine
) -> None:
    inner.pytester.makeconftest(BUILDER)
    inner.pytester.makepyfile(test_fleet=TESTS)
    decoys = _decoys(admin, inner.prefix)
    seed = int(os.environ.get("MOCLONE_FLEET_SEED", str(int(time.time()))))
    rng = random.Random(seed)
    killed: set[int] = set()
    number = 0
    for _ in range(ROUNDS):
        machines = []
        for slot in range(MACHINES):
            number += 1
            machines.append(machine(number, *(["-n", "2"] if slot % 2 else [])))
        if number == MACHINES:  # the first round: kill the golden's builder mid-build
            _kill_the_builder(inner, machines, killed)
        doomed = rng.sample(machines, rng.choice([1, 2]))
        time.sleep(rng.uniform(0.5, 5.0))
        for proc in doomed:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                killed.add(proc.pid)
        for proc in machines:
            out = _output(proc, 240, seed)
            if proc.pid in killed:
                continue
            # a live run never lost an object it needed: every test passed
            assert proc.returncode == 0, f"seed {seed}: a live machine failed:\n{out}"
            assert "6 passed" in out, out
    _wait_all_dead(inner, admin)
    final = machine(0)  # a fresh cache folder, a normal run
    out = _output(final, 240, seed)
    assert final.returncode == 0, out

    lines = (inner.pytester.path / "golden_builds.txt").read_text().split("\n")
    starts = [int(line.split()[1]) for line in lines if line.startswith("start")]
    done = [int(line.split()[1]) for line in lines if line.startswith("done")]
    # built once in total: every other build was begun by a machine killed before it finished
    unkilled = [pgid for pgid in starts if pgid not in killed]
    print(f"fleet seed {seed}: {number + 1} machines, {len(killed)} killed, builds begun {starts}")
    assert len(unkilled) == 1, (seed, starts, done, killed)
    assert len(starts) - 1 <= len(killed), (seed, starts, killed)
    assert len(starts) >= 2 and starts[0] in killed  # its half-built golden was replaced

    names = {
        str(r[0]) for r in admin.execute("SELECT schema_name FROM information_schema.schemata")
    }
    assert set(decoys) <= names, f"seed {seed}: a database the plugin did not create was dropped"
    for name in decoys:
        admin.execute(f"DROP DATABASE {name}")
    left = _left(inner)
    assert len(left) == 2 and "_golden_" in left[0] and "_snap_" in left[1], (seed, left)
    registry = _registry(admin)
    try:
        rows = [e for e in registry.entries() if e.name.startswith(inner.prefix)]
        assert sorted(e.name for e in rows) == sorted(left) and {e.state for e in rows} == {SHARED}
    finally:
        registry.close()


def test_two_cache_folders_share_one_golden_and_neither_drops_the_others(
    inner: Inner, machine: Machine
) -> None:
    """The case of the issue: two machines (or a wiped cache) reusing a golden on one server."""
    inner.pytester.makeconftest(BUILDER)
    inner.pytester.makepyfile(test_fleet=TESTS)
    first, second = machine(1), machine(2, "-n", "2")
    for proc in (first, second):
        out = _output(proc, 240)
        assert proc.returncode == 0, out
    again = machine(3)  # a wiped cache
    out = _output(again, 240)
    assert again.returncode == 0, out
    builds = (inner.pytester.path / "golden_builds.txt").read_text()
    assert builds.count("done") == 1, builds
    assert len(_left(inner)) == 2


def test_a_dead_golden_building_worker_is_said_in_one_message(inner: Inner) -> None:
    marker = Path(inner.pytester.path / "killed_once")
    inner.pytester.makeconftest(
        f"""
import os, signal

def pytest_moclone_setup_golden(client):
    client.execute("CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(50))")
    if not os.path.exists({str(marker)!r}):
        open({str(marker)!r}, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
"""
    )
    inner.pytester.makepyfile(
        test_few="import pytest\n@pytest.mark.parametrize('n', range(4))\n"
        "def test_a(mo_clone_db, n):\n    pass\n"
    )
    result = inner.run("-n", "2", "--mo-reuse")
    out = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in out and "1007" not in out, out
    causes = {line.strip() for line in out.splitlines() if "died before it finished" in line}
    assert len({c[c.index("the process") :] for c in causes}) == 1, out
    assert "(pid " in out and "xdist worker gw" in out
    assert inner.leftovers() == []  # its half-built golden went with the run


@needs_mariadb_binaries
def test_a_private_servers_runs_leave_no_records_in_the_cache(
    inner: Inner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The records live on the server: a private server's go with it, no file per port."""
    monkeypatch.delenv("MOCLONE_URL")
    inner.pytester.makepyfile(test_one="def test_a(mo_clone_db):\n    pass\n")
    for _ in range(3):
        inner.run("--mo-server=mariadb").assert_outcomes(passed=1)
    cache = inner.pytester.path / ".moclone-cache"
    files = [p for p in cache.rglob("*") if p.is_file()]
    assert files == [], files

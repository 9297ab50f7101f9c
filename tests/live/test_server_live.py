"""Private servers for real: start, answer DDL, stop, reap, and fail clearly."""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

from pytest_moclone import Client, ServerStartError
from pytest_moclone.leases import cache_root, run_is_alive
from pytest_moclone.servers.docker import start_docker
from pytest_moclone.servers.engine import docker_available
from pytest_moclone.servers.mariadb import find_server, start_mariadb
from pytest_moclone.servers.matrixone import start_matrixone
from pytest_moclone.servers.pids import is_ours, reap_orphan_servers

needs_mariadb = pytest.mark.skipif(
    find_server() is None, reason="needs MariaDB's binaries (apt-get install mariadb-server)"
)


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Pid files and leases of these tests stay apart from the suite's own server."""
    monkeypatch.setenv("MOCLONE_CACHE_DIR", str(tmp_path / "cache"))
    yield tmp_path / "cache"


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/status").read_text().find("zombie") >= 0


@needs_mariadb
def test_private_mariadb_starts_answers_ddl_and_is_removed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = start_mariadb(owner_run_id="t1", timeout=60)
    try:
        with Client.from_url(server.url) as client:
            assert client.dialect_name in ("mariadb", "mysql")
            client.execute("CREATE DATABASE live_probe")
            client.execute("DROP DATABASE live_probe")
        assert server.startup_seconds is not None and server.workdir is not None
        with capsys.disabled():
            print(f"\n  {server.description}: started in {server.startup_seconds:.2f} s")
    finally:
        server.stop()
    assert server.pid is not None and _gone(server.pid)
    assert not server.workdir.exists()
    assert not list((cache_root() / "servers").glob("*.json"))


def test_private_matrixone_starts_answers_ddl_and_stops(capsys: pytest.CaptureFixture[str]) -> None:
    binary = os.environ.get("MOCLONE_MO_BINARY")
    if not binary:
        pytest.skip("no mo-service: set MOCLONE_MO_BINARY (e.g. from ../shared/matrixone/)")
    server = start_matrixone(Path(binary), owner_run_id="t2", timeout=180)
    try:
        with Client.from_url(server.url) as client:
            assert client.dialect_name == "matrixone"
            client.execute("CREATE DATABASE live_probe")
            client.execute("DROP DATABASE live_probe")
        assert server.pid is not None
        listening = listening_addresses(server.pid)
        assert len(listening) >= 8  # log service 3, SQL, CN and TN services
        assert {host for host, _ in listening} == {"127.0.0.1"}, listening
        with capsys.disabled():
            print(f"\n  {server.description}: started in {server.startup_seconds:.2f} s")
    finally:
        server.stop()
    assert server.pid is not None and _gone(server.pid)


def listening_addresses(pid: int) -> list[tuple[str, int]]:
    """The (host, port) of every TCP socket ``pid`` listens on, read from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed since it was listed
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    found = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                host, port = fields[1].split(":")
                raw = bytes.fromhex(host)
                if table == "tcp":
                    shown = ".".join(str(b) for b in reversed(raw))
                else:  # four little-endian words
                    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                    shown = str(ipaddress.IPv6Address(words))
                found.append((shown, int(port, 16)))
    return found


def _hold_lease(run_id: str) -> subprocess.Popen[bytes]:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; from pytest_moclone.leases import RunLease, cache_root; "
            f"lease = RunLease(cache_root(), {run_id!r}); lease.acquire(); "
            "print('held', flush=True); time.sleep(300)",
        ],
        stdout=subprocess.PIPE,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
    return holder


@needs_mariadb
def test_a_server_of_a_killed_run_is_stopped_by_the_next_and_a_live_ones_is_not(
    own_cache: Path,
) -> None:
    dead_owner, live_owner = _hold_lease("deadrun1"), _hold_lease("liverun1")
    orphan = start_mariadb(owner_run_id="deadrun1")
    alive = start_mariadb(owner_run_id="liverun1")
    try:
        dead_owner.send_signal(signal.SIGKILL)
        dead_owner.wait()
        assert not run_is_alive(own_cache, "deadrun1") and run_is_alive(own_cache, "liverun1")
        stopped = reap_orphan_servers(lambda run: run_is_alive(own_cache, run))
        assert len(stopped) == 1 and str(orphan.pid) in stopped[0]
        assert orphan.pid is not None and _gone(orphan.pid)
        assert alive.pid is not None and is_ours(alive.pid, str(alive.marker))
        with pymysql.connect(
            host="127.0.0.1", port=int(alive.url.rsplit(":", 1)[1][:-1]), user="root"
        ) as conn:
            conn.ping()
    finally:
        alive.stop()
        orphan.stop()
        for holder in (dead_owner, live_owner):
            holder.kill()
            holder.wait()
            assert holder.stdout is not None
            holder.stdout.close()


def test_a_pid_that_is_no_longer_ours_is_never_signalled(own_cache: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        (own_cache / "servers").mkdir(parents=True)
        (own_cache / "servers" / "x.json").write_text(
            f'{{"pid": {sleeper.pid}, "kind": "mariadb", "marker": "/nowhere/moclone-x",'
            f' "owner_run_id": "deadrun2", "remove": []}}'
        )
        assert reap_orphan_servers(lambda run: False) == []
        assert sleeper.poll() is None  # same pid, but not the process that was started
    finally:
        sleeper.kill()
        sleeper.wait()


def _fake_mo_service(tmp_path: Path, body: str) -> Path:
    fake = tmp_path / "mo-service"
    version = 'if [ "$1" = -version ]; then echo "Version: v4.2.0"; exit 0; fi'
    fake.write_text(f"#!/bin/sh\n{version}\n{body}\n")
    fake.chmod(0o755)
    return fake


def test_a_server_that_dies_at_start_is_reported_with_its_log(tmp_path: Path) -> None:
    fake = _fake_mo_service(tmp_path, 'echo "panic: no DISK-V2 backend" >&2; exit 3')
    started = time.monotonic()
    with pytest.raises(ServerStartError) as info:
        start_matrixone(fake, owner_run_id="t3", timeout=30)
    assert time.monotonic() - started < 20
    assert "exited with code 3 before it was ready" in str(info.value)
    assert "panic: no DISK-V2 backend" in str(info.value)


def test_a_server_that_never_gets_ready_times_out_with_its_log(tmp_path: Path) -> None:
    fake = _fake_mo_service(tmp_path, 'echo "still starting"; exec sleep 60')
    started = time.monotonic()
    with pytest.raises(ServerStartError) as info:
        start_matrixone(fake, owner_run_id="t4", timeout=1.5)
    assert time.monotonic() - started < 25
    assert "did not accept DDL within 2 s" in str(info.value)
    assert "still starting" in str(info.value)
    assert not list((cache_root() / "servers").glob("*.json"))  # stopped and forgotten


def test_docker_matrixone_starts_when_an_engine_answers() -> None:
    if not docker_available():
        pytest.skip("no Docker engine answers here: the Docker path is covered by unit tests")
    server = start_docker("matrixorigin/matrixone:4.2.0")
    try:
        with Client.from_url(server.url) as client:
            assert client.dialect_name == "matrixone"
    finally:
        server.stop()

"""Server configuration, choice and bookkeeping: pure functions, no server."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, as a package
    tomllib = pytest.importorskip("tomli")

from pytest_moclone import ServerStartError
from pytest_moclone import servers as servers_module
from pytest_moclone.leases import RunLease, new_run_id, run_is_alive
from pytest_moclone.servers import RunningServer, choose_server, from_url
from pytest_moclone.servers.docker import container_settings
from pytest_moclone.servers.engine import docker_available
from pytest_moclone.servers.matrixone import parse_version_output, render_launch_files
from pytest_moclone.servers.process import free_port_block


@pytest.mark.parametrize(
    ("version", "backend", "local", "shared"),
    [
        ((4, 2, 0), "DISK-V2", "local2", "shared2"),
        ((3, 0, 18), "DISK", "local", "shared"),
        (None, "DISK-V2", "local2", "shared2"),
    ],
)
def test_matrixone_launch_files_follow_the_recipe(
    tmp_path: Path, version: tuple[int, int, int] | None, backend: str, local: str, shared: str
) -> None:
    files = render_launch_files(tmp_path, 30000, version)
    assert sorted(files) == ["cn.toml", "launch.toml", "log.toml", "tn.toml"]
    parsed = {name: tomllib.loads(text) for name, text in files.items()}
    assert parsed["launch.toml"]["cnservices"] == [f"{tmp_path}/cn.toml"]
    for name in ("log.toml", "tn.toml", "cn.toml"):
        conf = parsed[name]
        assert [fs["backend"] for fs in conf["fileservice"]] == [backend, backend]
        assert conf["fileservice"][0]["data-dir"] == f"{tmp_path}/mo-data/{local}"
        assert conf["fileservice"][1]["data-dir"] == f"{tmp_path}/mo-data/{shared}"
    assert parsed["cn.toml"]["cn"]["frontend"]["port"] == 30010
    assert parsed["cn.toml"]["cn"]["frontend"]["host"] == "127.0.0.1"


def test_every_matrixone_port_is_on_loopback_inside_the_block(tmp_path: Path) -> None:
    files = render_launch_files(tmp_path, 30000, (4, 2, 0))
    text = "\n".join(files.values())
    ports = [int(p) for p in re.findall(r"port = (\d+)", text)]
    ports += [int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", text)]
    assert ports and all(30000 <= p <= 30202 for p in ports), ports
    hosts = re.findall(r'host = "([^"]+)"', text)
    assert hosts and set(hosts) == {"127.0.0.1"}
    assert "0.0.0.0" not in text
    # *-port and port-base keys make MatrixOne listen on 0.0.0.0 whatever the host says
    assert not re.search(r"^(raft-port|logservice-port|gossip-port|port-base) =", text, re.M)
    listens = re.findall(r'^listen-address = "([^"]+)"', text, re.M)
    assert len(listens) == len(set(listens)) == 7  # CN 4, TN 3: no two services share a port
    log = tomllib.loads(files["log.toml"])["logservice"]
    assert (log["raft-address"], log["gossip-address"]) == ("127.0.0.1:30000", "127.0.0.1:30002")


def test_a_kept_data_folder_is_used_instead_of_the_work_folder(tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    files = render_launch_files(tmp_path / "work", 30000, (4, 2, 0), kept)
    assert f'data-dir = "{kept}"' in files["cn.toml"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("MatrixOne build info:\n  Version: v4.2.0\n", (4, 2, 0)),
        ("  Version: v3.0.18", (3, 0, 18)),
        ("  Version: \n", None),
        ("garbage", None),
    ],
)
def test_mo_service_version_output(text: str, expected: tuple[int, ...] | None) -> None:
    assert parse_version_output(text) == expected


def test_docker_settings_pin_a_tag() -> None:
    settings = container_settings("matrixorigin/matrixone:4.2.0")
    assert settings["exposed_port"] == 6001 and settings["user"] == "root"
    with pytest.raises(ValueError, match="has no tag: pin one"):
        container_settings("matrixorigin/matrixone")


def test_docker_probe_answers_quickly() -> None:
    started = time.monotonic()
    docker_available()
    assert time.monotonic() - started < 10


def test_url_server_is_never_started_or_stopped() -> None:
    server = from_url("mysql://root:111@127.0.0.1:6001/")
    assert server.kind == "url" and server.pid is None
    server.stop()  # a no-op: the user's server is theirs


def test_a_bad_url_names_itself() -> None:
    with pytest.raises(ValueError, match=r"invalid server URL 'postgres://x'.*mysql://"):
        from_url("postgres://x")


def test_server_description_survives_a_trip_between_processes(tmp_path: Path) -> None:
    server = RunningServer(
        "mariadb",
        "mysql://root@127.0.0.1:1/",
        "d",
        1.5,
        42,
        tmp_path,
        str(tmp_path),
        tmp_path / "p.json",
        None,
        tmp_path / "data",
    )
    assert RunningServer.from_json(server.to_json()) == server


def test_nothing_available_names_the_three_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(servers_module, "find_server", lambda: None)
    monkeypatch.setattr(servers_module, "docker_available", lambda: False)
    monkeypatch.setattr("pytest_moclone.servers.shutil.which", lambda name: None)
    with pytest.raises(ServerStartError) as info:
        choose_server("auto", url=None, mo_binary=None, mo_image="x:1", owner_run_id="r")
    message = str(info.value)
    for way in (
        "--mo-url mysql://",
        "pip install testcontainers",
        "apt-get install mariadb-server",
        "--mo-binary",
    ):
        assert way in message


def test_server_kind_url_needs_a_url() -> None:
    with pytest.raises(ServerStartError, match="needs a URL"):
        choose_server("url", url=None, mo_binary=None, mo_image="x:1", owner_run_id="r")


def test_a_port_block_is_free() -> None:
    import socket

    base = free_port_block(5)
    for port in range(base, base + 6):
        with socket.socket() as sock:  # as a server binds: TIME_WAIT leftovers do not count
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))


def test_run_ids_are_short_lower_case_and_unique() -> None:
    ids = {new_run_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"[a-z0-9]{10}", i) for i in ids)


def test_a_lease_is_alive_while_held_and_dead_after_a_kill(tmp_path: Path) -> None:
    assert not run_is_alive(tmp_path, "nobody")
    with RunLease(tmp_path, "mine"):
        assert run_is_alive(tmp_path, "mine")
    assert not run_is_alive(tmp_path, "mine")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pytest_moclone.leases import RunLease; "
            f"lease = RunLease(__import__('pathlib').Path({str(tmp_path)!r}), 'other'); "
            "lease.acquire(); "
            "print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
    assert run_is_alive(tmp_path, "other")
    holder.kill()
    holder.wait()
    holder.stdout.close()
    assert not run_is_alive(tmp_path, "other")


def test_mariadb_data_folders_are_made_by_mariadb_install_db(tmp_path: Path) -> None:
    from pytest_moclone.servers.mariadb import init_command

    argv = init_command(
        "/usr/sbin/mariadbd", "mariadb", tmp_path, "/usr/bin/mariadb-install-db", as_root=True
    )
    assert argv[0] == "/usr/bin/mariadb-install-db"
    assert "--auth-root-authentication-method=normal" in argv and "--user=root" in argv
    with pytest.raises(ServerStartError, match="no mariadb-install-db"):
        init_command("/usr/sbin/mariadbd", "mariadb", tmp_path, None, as_root=False)


def test_mysql_data_folders_are_made_by_the_server_itself(tmp_path: Path) -> None:
    """MySQL is not installable here: its start-up differences are pinned instead."""
    from pytest_moclone.servers.mariadb import init_command

    argv = init_command("/usr/sbin/mysqld", "mysql", tmp_path, None, as_root=False)
    assert argv == [
        "/usr/sbin/mysqld",
        "--no-defaults",
        "--initialize-insecure",
        f"--datadir={tmp_path}",
    ]


def test_the_dialect_of_a_mysql_server_is_the_emulation() -> None:
    from pytest_moclone import parse_server_version
    from pytest_moclone.dialects import MySQLDialect, dialect_for

    dialect = dialect_for(parse_server_version("8.0.36", "MySQL Community Server - GPL"))
    assert isinstance(dialect, MySQLDialect) and dialect.name == "mysql" and not dialect.native

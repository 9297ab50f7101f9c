"""A private, throwaway MariaDB (or MySQL) from the machine's binaries.

It runs on a free port of 127.0.0.1 with its own data folder, on tmpfs when there is room, and
without durability: a test server is thrown away, and turning off fsync and the doublewrite
buffer makes every clone and drop 3-8x cheaper (see docs/performance.md).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..errors import ServerStartError
from .base import RunningServer
from .process import free_port, kept_log, launch

_SEARCH = ("/usr/sbin", "/usr/libexec", "/usr/local/mysql/bin", "/usr/local/sbin")
INSTALL_HINT = "apt-get install mariadb-server (Debian/Ubuntu), or give a server with --mo-url"
_NAMES = {"mariadb": "MariaDB", "mysql": "MySQL"}
TMPFS = Path("/dev/shm")
TMPFS_NEEDED = 1 << 30  # 1 GiB free

FAST_FLAGS = (
    "--innodb-flush-log-at-trx-commit=0",
    "--innodb-doublewrite=0",
    "--sync-frm=0",
    "--skip-log-bin",
    "--innodb-buffer-pool-size=256M",
    "--innodb-stats-persistent=0",  # no statistics rows written per CREATE/DROP: clones 9% faster
    "--max-connections=500",
    # Exact change signals (detect.py): table I/O and lock counters, instrumented by default
    # once performance_schema is on; room for every table of every clone and its handles.
    "--performance-schema=ON",
    "--performance-schema-max-table-instances=-1",
    "--performance-schema-max-table-handles=-1",
    "--table-definition-cache=4000",
    "--table-open-cache=4000",
    "--skip-name-resolve",
)


def find_binary(*names: str) -> Optional[str]:
    for name in names:
        found = shutil.which(name) or shutil.which(name, path=os.pathsep.join(_SEARCH))
        if found:
            return found
    return None


@dataclass(frozen=True)
class ServerBinary:
    path: str
    flavour: str  # "mariadb" or "mysql"
    version: str  # e.g. "10.11.19"; "unknown" when --version does not say


def find_server() -> Optional[ServerBinary]:
    """The machine's MariaDB/MySQL server binary, or None."""
    binary = find_binary("mariadbd", "mysqld")
    return None if binary is None else describe_binary(binary)


@functools.lru_cache(maxsize=8)
def describe_binary(binary: str) -> ServerBinary:
    """What ``binary --version`` says, asked once per process."""
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30).stdout
    shown = next((w for w in out.split() if w[:1].isdigit()), "unknown")
    flavour = "mariadb" if "mariadb" in out.lower() else "mysql"
    return ServerBinary(binary, flavour, shown.split("-")[0])


def workdir_base() -> tuple[Path, str]:
    """tmpfs when it is there, writable and roomy; else the system temp folder on disk."""
    try:
        stat = os.statvfs(TMPFS)
        if os.access(TMPFS, os.W_OK) and stat.f_bavail * stat.f_frsize > TMPFS_NEEDED:
            return TMPFS, "on tmpfs"
    except OSError:
        pass
    return Path(tempfile.gettempdir()), "on disk (no room on tmpfs)"


def _as_root() -> list[str]:
    return ["--user=root"] if os.geteuid() == 0 else []


def init_command(
    binary: str, flavour: str, datadir: Path, installer: Optional[str], as_root: bool
) -> list[str]:
    """How a fresh data folder is made: mariadb-install-db for MariaDB, and
    ``mysqld --initialize-insecure`` (root without a password) for MySQL."""
    user = ["--user=root"] if as_root else []
    if flavour == "mariadb":
        if installer is None:
            raise ServerStartError(f"found {binary} but no mariadb-install-db; {INSTALL_HINT}")
        return [
            installer,
            "--no-defaults",
            f"--datadir={datadir}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            *user,
        ]
    return [binary, "--no-defaults", "--initialize-insecure", f"--datadir={datadir}", *user]


def initialise(binary: str, flavour: str, datadir: Path, log: Path, name: str) -> None:
    datadir.mkdir(parents=True, exist_ok=True)
    installer = find_binary("mariadb-install-db", "mysql_install_db")
    argv = init_command(binary, flavour, datadir, installer, os.geteuid() == 0)
    # Its bootstrap server's temporary tables go to $TMPDIR: keep them in our own folder (seen:
    # "Could not remove temporary table '/tmp/#sql-temptable-...'" and a failed install while
    # other processes shared /tmp).
    env = {**os.environ, "TMPDIR": str(datadir.parent)}
    with log.open("ab") as out:
        done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, timeout=300, env=env)
    if done.returncode != 0:
        raise ServerStartError(
            f"initialising a data folder with {argv[0]} failed (code {done.returncode}); "
            f"{kept_log(log, name)}"
        )


def start_mariadb(
    *,
    owner_run_id: str,
    data_dir: Optional[Path] = None,
    timeout: float = 60.0,
    tmpfs: bool = True,
    progress: Optional[Callable[[str], None]] = None,
) -> RunningServer:
    """Start a private server; ``data_dir`` (kept across runs) is reused when initialised."""
    found = find_server()
    if found is None:
        raise ServerStartError(
            f"no MariaDB or MySQL server binary (mariadbd/mysqld) found; {INSTALL_HINT}"
        )
    binary, flavour = found.path, found.flavour
    base, where = workdir_base() if tmpfs else (Path(tempfile.gettempdir()), "on disk")
    workdir = Path(tempfile.mkdtemp(prefix="moclone-mariadb-", dir=base))
    log = workdir / "server.log"
    started = time.monotonic()
    datadir = data_dir if data_dir is not None else workdir / "data"
    fresh = not (datadir / "mysql").is_dir()
    if progress is not None:
        data = f"data kept in {data_dir}" if data_dir is not None else "fresh data"
        progress(
            f"starting a private {_NAMES[flavour]} {found.version} ({binary}) {where} in "
            f"{workdir} ({data}{', initialising it' if fresh else ''})"
        )
    if fresh:
        try:
            initialise(binary, flavour, datadir, log, f"mariadb-init-{owner_run_id}")
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)  # its log is kept in the cache
            raise
    port = free_port()
    argv = [
        binary,
        "--no-defaults",
        f"--datadir={datadir}",
        f"--port={port}",
        "--bind-address=127.0.0.1",
        f"--socket={workdir}/server.sock",
        f"--pid-file={workdir}/server.pid",
        f"--tmpdir={workdir}",
        *FAST_FLAGS,
        *_as_root(),
    ]
    server = launch(
        argv,
        kind="mariadb",
        workdir=workdir,
        owner_run_id=owner_run_id,
        port=port,
        password="",
        what=f"the private {_NAMES[flavour]} server ({binary})",
        timeout=timeout,
        data_dir=data_dir,
    )
    server.startup_seconds = time.monotonic() - started  # initialising the data folder too
    server.own_datadir = datadir
    kept = f", data kept in {datadir}" if data_dir is not None else ""
    server.description = (
        f"private {_NAMES[flavour]} {found.version} ({Path(binary).name}) {where} "
        f"{workdir}, port {port}{kept}"
    )
    return server

"""Starting a private server: free ports, launch, readiness, and a failed start's log.

The process itself is tracked by pids.py (pid files, markers, stop, reap).
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Optional

import pymysql

from ..errors import ServerStartError
from ..leases import cache_root
from .base import RunningServer
from .pids import start_process


def port_free(port: int) -> bool:
    """Nothing listens on ``port`` (connections lingering in TIME_WAIT do not count: servers
    bind with SO_REUSEADDR, and so does this check)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port_block(size: int, *, tries: int = 200) -> int:
    """A base port B such that B .. B+size are all free on 127.0.0.1.

    Chosen below the kernel's ephemeral range: a port in it may be taken by any outgoing
    connection between this check and the server's bind (seen live: a MatrixOne panicked).
    """
    low, high = 10000, _ephemeral_range()[0] - 1
    for _ in range(tries):
        base = random.randrange(low, high - size)
        if all(port_free(base + i) for i in range(size + 1)):
            return base
    raise ServerStartError(f"found no block of {size + 1} free ports on 127.0.0.1")


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    tail = [_short(line) for line in text.strip().splitlines()[-lines:]]
    return "\n".join("    " + line for line in tail) or "    (the log is empty)"


def _short(line: str, width: int = 300) -> str:
    """A log line cut to ``width`` (MatrixOne logs multi-kilobyte JSON stack traces)."""
    return line if len(line) <= width else line[:width] + " ..."


def kept_log(log: Path, name: str) -> str:
    """Keep a failed server's log in the cache (its work folder is removed) and quote its end."""
    folder = cache_root() / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    kept = folder / f"{name}.log"
    try:
        shutil.copyfile(log, kept)
    except OSError:
        return f"its log ({log}) could not be read"
    return f"the last lines of its log (kept at {kept}):\n{log_tail(kept)}"


def wait_until_ready(
    host: str,
    port: int,
    user: str,
    password: str,
    *,
    what: str,
    timeout: float,
    log: Callable[[], str],
    proc: Optional[subprocess.Popen[bytes]] = None,
    ddl: bool = True,
) -> float:
    """Poll until a round trip (with ``ddl``, a CREATE + DROP DATABASE) works; return seconds.

    MatrixOne answers ``SELECT 1`` before it can run DDL, hence the DDL round trip. ``log()``
    says what the server logged, for the message when it never gets ready.
    """
    started = time.monotonic()
    last_error = "no answer yet"
    probe = f"moclone_ready_{uuid.uuid4().hex[:8]}"
    pause = 0.01  # MariaDB on a kept data folder answers in ~0.3 s, MatrixOne in 4-16 s
    while True:
        if proc is not None and proc.poll() is not None:
            raise ServerStartError(
                f"{what} exited with code {proc.returncode} before it was ready; {log()}"
            )
        try:
            conn = pymysql.connect(
                host=host,
                port=port,
                user=user,
                password=password,
                connect_timeout=2,
                read_timeout=10,
                autocommit=True,
            )
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT 1")
                    if ddl:
                        cur.execute(f"CREATE DATABASE IF NOT EXISTS `{probe}`")
                        cur.execute(f"DROP DATABASE IF EXISTS `{probe}`")
            finally:
                conn.close()
            return time.monotonic() - started
        except pymysql.err.MySQLError as exc:
            last_error = str(exc)
        waited = time.monotonic() - started
        if waited > timeout:
            raise ServerStartError(
                f"{what} did not accept {'DDL' if ddl else 'a query'} within {timeout:.0f} s "
                f"(last error: {last_error}); give it longer with --mo-start-timeout=SECONDS "
                f"(a fresh MatrixOne needs 12-16 s); {log()}"
            )
        time.sleep(pause)
        pause = min(pause * 1.5, 0.2)


def launch(
    argv: Sequence[str],
    *,
    kind: str,
    workdir: Path,
    owner_run_id: str,
    port: int,
    password: str,
    what: str,
    timeout: float,
    data_dir: Optional[Path],
) -> RunningServer:
    """Start a private server and wait until it runs DDL; stopped again if it never does."""
    started = time.monotonic()
    proc, pid_file = start_process(argv, kind=kind, workdir=workdir, owner_run_id=owner_run_id)
    auth = f"root:{password}" if password else "root"
    server = RunningServer(
        kind=kind,
        url=f"mysql://{auth}@127.0.0.1:{port}/",
        description="",
        pid=proc.pid,
        workdir=workdir,
        marker=str(workdir),
        pid_file=pid_file,
        data_dir=data_dir,
    )
    try:
        wait_until_ready(
            "127.0.0.1",
            port,
            "root",
            password,
            what=what,
            timeout=timeout,
            log=lambda: kept_log(workdir / "server.log", f"{kind}-{owner_run_id}"),
            proc=proc,
        )
    except BaseException:
        server.stop()
        raise
    server.startup_seconds = time.monotonic() - started
    return server

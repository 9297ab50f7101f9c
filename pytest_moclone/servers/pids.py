"""Private server processes we started: pid files, "is it still ours?", stop, reap.

Every process is started in its own process group with a pid file in the cache folder naming the
run that owns it and a *marker* (its work folder) that must appear in its command line. A pid is
only ever signalled while that marker is still in ``/proc/<pid>/cmdline``, so a reused pid is
never touched, and nothing is ever stopped by name.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..leases import cache_root

#: The servers this process started, kept so their Popen objects live as long as the servers.
_children: dict[int, subprocess.Popen[bytes]] = {}


def pid_folder() -> Path:
    folder = cache_root() / "servers"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def start_process(
    argv: Sequence[str],
    *,
    kind: str,
    workdir: Path,
    owner_run_id: str,
    cwd: Optional[Path] = None,
    remove_on_reap: Sequence[Path] = (),
) -> tuple[subprocess.Popen[bytes], Path]:
    """Start ``argv`` in its own process group, logging to ``workdir/server.log``."""
    log = workdir / "server.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            list(argv),
            cwd=str(cwd or workdir),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _children[proc.pid] = proc
    pid_file = pid_folder() / f"{kind}-{uuid.uuid4().hex[:10]}.json"
    pid_file.write_text(
        json.dumps(
            {
                "pid": proc.pid,
                "kind": kind,
                "marker": str(workdir),
                "owner_run_id": owner_run_id,
                "remove": [str(p) for p in (workdir, *remove_on_reap)],
                "started": time.time(),
            }
        ),
        encoding="utf-8",
    )
    return proc, pid_file


def _cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def _cwd(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return ""


def is_ours(pid: int, marker: str) -> bool:
    """The process is alive and is the one started with ``marker`` (its work folder)."""
    return marker in _cmdline(pid) or _cwd(pid) == marker


def stop_process(pid: int, marker: str, *, grace: float = 15.0) -> bool:
    """SIGTERM the process group, SIGKILL after ``grace`` s; only if the pid is still ours."""
    if not is_ours(pid, marker):
        return False
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return True
        except PermissionError:
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        child = _children.get(pid)
        while time.monotonic() < deadline:
            if child is not None and child.poll() is not None:  # our child: reaped
                del _children[pid]
                return True
            if child is None and not is_ours(pid, marker):
                return True
            time.sleep(0.05)
    return not is_ours(pid, marker)


@dataclass(frozen=True)
class Orphan:
    """A server stopped because its run had ended: what it was, and which run started it."""

    line: str  # "mariadb server pid 123 (/dev/shm/moclone-mariadb-x)"
    owner_run_id: str


def stop_orphan_servers(run_is_alive: Callable[[str], bool]) -> list[Orphan]:
    """Stop servers whose owning run is dead (killed, or ended keeping its server up)."""
    stopped = []
    for pid_file in sorted(pid_folder().glob("*.json")):
        try:
            info = json.loads(pid_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        owner = str(info.get("owner_run_id", ""))
        if run_is_alive(owner):
            continue
        pid, marker = int(info["pid"]), str(info["marker"])
        if is_ours(pid, marker):
            stop_process(pid, marker)
            stopped.append(Orphan(f"{info.get('kind')} server pid {pid} ({marker})", owner))
        for path in info.get("remove", []):
            shutil.rmtree(path, ignore_errors=True)
        pid_file.unlink(missing_ok=True)
    return stopped


def reap_orphan_servers(run_is_alive: Callable[[str], bool]) -> list[str]:
    """Stop servers whose owning run is dead; return a line for each."""
    return [orphan.line for orphan in stop_orphan_servers(run_is_alive)]

"""The per-user cache folder, and the lease each run holds for its whole life.

A lease is a file lock: the operating system frees it when its process dies (even on SIGKILL), so
"is that run still alive?" has an exact answer, with no pid guessing.
"""

from __future__ import annotations

import os
import secrets
import string
import time
from pathlib import Path
from types import TracebackType
from typing import Optional

import platformdirs
from filelock import FileLock, Timeout

_ALPHABET = string.digits + string.ascii_lowercase


def cache_root() -> Path:
    """``$MOCLONE_CACHE_DIR``, else the platform's user cache folder for pytest-moclone."""
    root = Path(
        os.environ.get("MOCLONE_CACHE_DIR") or platformdirs.user_cache_dir("pytest-moclone")
    )
    root.mkdir(parents=True, exist_ok=True)
    return root


def new_run_id() -> str:
    """10 lower-case characters: the time in base 36 (sortable), then 6 random ones (unique)."""
    now = int(time.time())
    stamp = ""
    while now:
        now, digit = divmod(now, 36)
        stamp = _ALPHABET[digit] + stamp
    return stamp[-4:] + "".join(secrets.choice(_ALPHABET) for _ in range(6))


def _lock_path(root: Path, run_id: str) -> Path:
    folder = root / "runs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{run_id}.lock"


class RunLease:
    def __init__(self, root: Path, run_id: str) -> None:
        self.run_id = run_id
        self.path = _lock_path(root, run_id)
        self._lock = FileLock(str(self.path), thread_local=False)

    def acquire(self) -> None:
        self._lock.acquire(timeout=10)

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release(force=True)
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> RunLease:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: Optional[type[BaseException]],
        value: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.release()


def run_is_alive(root: Path, run_id: str) -> bool:
    """True iff a live process holds ``run_id``'s lease."""
    path = _lock_path(root, run_id)
    if not path.exists():
        return False
    probe = FileLock(str(path), thread_local=False)
    try:
        probe.acquire(timeout=0)
    except Timeout:
        return True
    probe.release()
    return False

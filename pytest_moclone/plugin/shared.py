"""What the processes of one run (the xdist controller and its workers) hand each other.

The first process to need a thing (the server, the golden) makes it under a file lock in the run's
shared folder and describes it in a JSON file there; every other process waits on the lock and
reads the file. Coordination through ``filelock``, never through sleeps.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from filelock import FileLock

T = TypeVar("T")


def made_once(
    folder: Path,
    name: str,
    make: Callable[[], T],
    dump: Callable[[T], str],
    load: Callable[[str], T],
) -> T:
    """``folder/name.json`` read back, or made now by ``make`` (under ``folder/name.lock``)."""
    path = folder / f"{name}.json"
    with FileLock(str(folder / f"{name}.lock")):
        if path.exists():
            return load(path.read_text(encoding="utf-8"))
        made = make()
        path.write_text(dump(made), encoding="utf-8")
        return made


def read_made(folder: Path, name: str, load: Callable[[str], T]) -> T | None:
    """What :func:`made_once` made, or None if nothing was."""
    path = folder / f"{name}.json"
    return load(path.read_text(encoding="utf-8")) if path.exists() else None


def forget_made(folder: Path, name: str) -> None:
    (folder / f"{name}.json").unlink(missing_ok=True)

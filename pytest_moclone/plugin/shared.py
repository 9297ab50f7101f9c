"""What the processes of one run (the xdist controller and its workers) hand each other.

The first process to need a thing (the server, the golden) makes it under a file lock in the run's
shared folder and describes it in a JSON file there; every other process waits on the lock and
reads the file. Coordination through ``filelock``, never through sleeps. A maker marks that it
started (``name.making``, with its pid): a marker found with the lock free and nothing made means
the maker died mid-way (killed: the lock died with it), and every process says so in one message
instead of making the thing again over what it left.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from filelock import FileLock

from ..errors import MocloneError
from ..leases import cache_root

T = TypeVar("T")


class MakerDied(MocloneError):
    """The process that was making a shared thing died before it finished."""


def made_once(
    folder: Path,
    name: str,
    make: Callable[[], T],
    dump: Callable[[T], str],
    load: Callable[[str], T],
    *,
    who: str = "",
) -> T:
    """``folder/name.json`` read back, or made now by ``make`` (under ``folder/name.lock``)."""
    path = folder / f"{name}.json"
    marker = folder / f"{name}.making"
    with FileLock(str(folder / f"{name}.lock")):
        if path.exists():
            return load(path.read_text(encoding="utf-8"))
        if marker.exists():
            try:
                maker = json.loads(marker.read_text(encoding="utf-8"))
            except ValueError:
                maker = {}
            raise MakerDied(
                f"the process that was making the {name} (pid {maker.get('pid', '?')}, "
                f"{maker.get('who') or 'a worker'}) died before it finished; see that "
                "process's crash above (killed? out of memory?)"
            )
        marker.write_text(json.dumps({"pid": os.getpid(), "who": who}), encoding="utf-8")
        try:
            made = make()
        except BaseException:
            marker.unlink(missing_ok=True)  # it raised (it did not die): its error is reported
            raise
        path.write_text(dump(made), encoding="utf-8")
        marker.unlink(missing_ok=True)
        return made


def read_made(folder: Path, name: str, load: Callable[[str], T]) -> T | None:
    """What :func:`made_once` made, or None if nothing was."""
    path = folder / f"{name}.json"
    return load(path.read_text(encoding="utf-8")) if path.exists() else None


def forget_made(folder: Path, name: str) -> None:
    (folder / f"{name}.json").unlink(missing_ok=True)


def shared_folder(run_id: str) -> Path:
    """The folder where the processes of run ``run_id`` describe the server and golden."""
    folder = cache_root() / "runs" / f"{run_id}.d"
    folder.mkdir(parents=True, exist_ok=True)
    return folder

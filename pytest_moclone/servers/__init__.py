"""Where the database server comes from: a URL, Docker, or a private process from local binaries.

``choose_server`` decides, in the order of docs/configuration.md ("Which server").
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Optional

from ..errors import ServerStartError
from .base import RunningServer
from .docker import docker_available, start_docker
from .mariadb import find_server, start_mariadb
from .matrixone import matrixone_version, start_matrixone
from .url import from_url

__all__ = ["RunningServer", "choose_server", "from_url"]

DataDirFor = Callable[[str, str], Optional[Path]]
#: Told one line when a private server starts starting (what, which version, where).
Progress = Callable[[str], None]

NOTHING_FOUND = """no database server for the tests. Any one of these works:
  - a running server:   --mo-url mysql://root:111@127.0.0.1:6001/   (or MOCLONE_URL)
  - MatrixOne in Docker: pip install testcontainers, with a running Docker engine
  - a private server from local binaries: apt-get install mariadb-server
    (or --mo-binary=/path/to/mo-service for a private MatrixOne)"""


def choose_server(
    kind: str,
    *,
    url: Optional[str],
    mo_binary: Optional[str],
    mo_image: str,
    owner_run_id: str,
    data_dir_for: Optional[DataDirFor] = None,
    timeout: Optional[float] = None,
    progress: Optional[Progress] = None,
) -> RunningServer:
    """Find or start the server of ``kind`` (auto, url, docker, local, mariadb, matrixone).

    ``data_dir_for(kind, version)`` gives a private server a data folder kept across runs
    (``--mo-reuse``); without it every private server starts on a fresh one. ``progress`` is
    told what is starting before the wait (a fresh MatrixOne takes 12-16 s).
    """
    if data_dir_for is None:
        data_dir_for = _fresh
    say = progress or _silent
    if kind in ("auto", "url") and url:
        return from_url(url)
    if kind == "url":
        raise ServerStartError("--mo-server url needs a URL: --mo-url, MOCLONE_URL or mo_url")
    if kind in ("auto", "matrixone", "local") and mo_binary:
        return _matrixone(Path(mo_binary), owner_run_id, data_dir_for, timeout, say)
    if kind == "matrixone":
        found = shutil.which("mo-service")
        if found is None:
            raise ServerStartError(
                "--mo-server matrixone needs a mo-service: --mo-binary=PATH, MOCLONE_MO_BINARY, "
                "or mo-service on PATH"
            )
        return _matrixone(Path(found), owner_run_id, data_dir_for, timeout, say)
    if kind == "docker" or (kind == "auto" and docker_available()):
        return start_docker(mo_image, timeout=timeout or 180.0, progress=say)
    if kind in ("auto", "local", "mariadb"):
        found_server = find_server()
        if found_server is not None:
            return start_mariadb(
                owner_run_id=owner_run_id,
                data_dir=data_dir_for(found_server.flavour, found_server.version),
                timeout=timeout or 60.0,
                progress=say,
            )
        if kind == "local" and shutil.which("mo-service"):
            return _matrixone(
                Path(str(shutil.which("mo-service"))), owner_run_id, data_dir_for, timeout, say
            )
    raise ServerStartError(NOTHING_FOUND)


def _fresh(kind: str, version: str) -> Optional[Path]:
    return None


def _silent(line: str) -> None:
    pass


def _matrixone(
    binary: Path,
    owner_run_id: str,
    data_dir_for: DataDirFor,
    timeout: Optional[float],
    progress: Progress,
) -> RunningServer:
    version = matrixone_version(binary)
    shown = ".".join(map(str, version)) if version else "unknown"
    return start_matrixone(
        binary,
        owner_run_id=owner_run_id,
        data_dir=data_dir_for("matrixone", shown),
        timeout=timeout or 120.0,
        progress=progress,
    )

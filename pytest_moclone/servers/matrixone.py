"""A private single-node MatrixOne from a ``mo-service`` binary (``--mo-binary``).

Four small TOML files in a temporary folder and a base port B: every port the server opens is on
127.0.0.1 inside B .. B+202 (log service B..B+2, SQL B+10, CN from B+100, TN from B+200). Ready in
12-16 s on a fresh data folder, ~4 s on a kept one (``--mo-reuse``). Stopped by SIGTERM to its own
pid (it exits in ~2 s).
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Optional

from ..errors import ServerStartError
from .base import RunningServer
from .process import free_port_block, launch, port_free

PORT_SPAN = 202
SQL_OFFSET = 10
_TN_UUID = "dd4dccb4-4d3c-41f8-b482-5251dc7a41bf"
_CN_UUID = "dd1dccb4-4d3c-41f8-b482-5251dc7a41bf"
BINARY_HINT = "give a mo-service binary with --mo-binary=PATH or MOCLONE_MO_BINARY"


def matrixone_version(binary: Path) -> Optional[tuple[int, ...]]:
    """From ``mo-service -version`` ("Version: v4.2.0"); None when it does not say."""
    try:
        out = subprocess.run(
            [str(binary), "-version"], capture_output=True, text=True, timeout=60
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_version_output(out)


def parse_version_output(text: str) -> Optional[tuple[int, ...]]:
    match = re.search(r"^\s*Version:\s*v?(\d+(?:\.\d+)*)", text, re.MULTILINE)
    return tuple(int(p) for p in match.group(1).split(".")) if match else None


def render_launch_files(
    workdir: Path,
    base_port: int,
    version: Optional[tuple[int, ...]],
    data_dir: Optional[Path] = None,
) -> dict[str, str]:
    """The four launch files (name -> TOML text). v3.x has no DISK-V2 file service."""
    data = data_dir if data_dir is not None else workdir / "mo-data"
    legacy = version is not None and version < (4,)
    backend, local, shared = (
        ("DISK", "local", "shared") if legacy else ("DISK-V2", "local2", "shared2")
    )
    b = base_port

    def common(service: str) -> str:
        return (
            f'service-type = "{service}"\n'
            f'data-dir = "{data}"\n'
            "[log]\n"
            'level = "error"\n'
            "[[fileservice]]\n"
            'name = "LOCAL"\n'
            f'backend = "{backend}"\n'
            f'data-dir = "{data}/{local}"\n'
            "[[fileservice]]\n"
            'name = "SHARED"\n'
            f'backend = "{backend}"\n'
            f'data-dir = "{data}/{shared}"\n'
            "[hakeeper-client]\n"
            f'service-addresses = ["127.0.0.1:{b + 1}"]\n'
            "[observability]\n"
            "disableMetric = true\n"
            "disableTrace = true\n"
            f"status-port = {b + 11}\n"
        )

    def at(port: int) -> str:
        return f'listen-address = "127.0.0.1:{port}"\nservice-address = "127.0.0.1:{port}"\n'

    # Addresses, not ports: with ``*-port`` or ``port-base`` MatrixOne listens on 0.0.0.0 whatever
    # the host says (its address manager hard-codes it); explicit addresses keep every port on
    # 127.0.0.1 (checked live on v4.2.0 and v3.0.18).
    return {
        "launch.toml": (
            f'logservices = ["{workdir}/log.toml"]\n'
            f'tnservices = ["{workdir}/tn.toml"]\n'
            f'cnservices = ["{workdir}/cn.toml"]\n'
        ),
        "log.toml": common("LOG")
        + "[logservice]\n"
        + f'raft-address = "127.0.0.1:{b}"\n'
        + f'logservice-address = "127.0.0.1:{b + 1}"\n'
        + f'gossip-address = "127.0.0.1:{b + 2}"\n'
        + f'gossip-seed-addresses = ["127.0.0.1:{b + 2}"]\n',
        "tn.toml": common("TN")
        + "[tn]\n"
        + f'uuid = "{_TN_UUID}"\n'
        + at(b + 200)
        + "[tn.LogtailServer]\n"
        + at(b + 201)
        + "[tn.lockservice]\n"
        + at(b + 202),
        "cn.toml": common("CN")
        + "[cn]\n"
        + f'uuid = "{_CN_UUID}"\n'
        + at(b + 100)
        + "[cn.frontend]\n"
        + f"port = {b + SQL_OFFSET}\n"
        + 'host = "127.0.0.1"\n'
        + "[cn.lockservice]\n"
        + at(b + 101)
        + "[cn.query-service.address]\n"
        + at(b + 102)
        + "[cn.shardservice]\n"
        + at(b + 103),
    }


def kept_base_port(data_dir: Path) -> int:
    """The base port a kept data folder was made with: MatrixOne stores its services' addresses
    there, so a restart must listen where it did before (on a new port it never gets ready)."""
    record = data_dir / "moclone-base-port"
    if not record.exists():
        base = free_port_block(PORT_SPAN)
        record.write_text(str(base), encoding="utf-8")
        return base
    base = int(record.read_text(encoding="utf-8"))
    if not all(port_free(p) for p in range(base, base + PORT_SPAN + 1)):
        raise ServerStartError(
            f"the kept MatrixOne data folder {data_dir} listens on ports {base}-"
            f"{base + PORT_SPAN}, and some are in use now; stop what uses them, or remove the "
            "folder to start afresh (the golden is then rebuilt)"
        )
    return base


def start_matrixone(
    binary: Path,
    *,
    owner_run_id: str,
    data_dir: Optional[Path] = None,
    timeout: float = 120.0,
    progress: Optional[Callable[[str], None]] = None,
) -> RunningServer:
    binary = Path(binary).expanduser()
    if not binary.is_file():
        raise ServerStartError(f"no mo-service at {str(binary)!r}; {BINARY_HINT}")
    version = matrixone_version(binary)
    workdir = Path(tempfile.mkdtemp(prefix="moclone-matrixone-"))
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        base = kept_base_port(data_dir)
    else:
        base = free_port_block(PORT_SPAN)
    for name, text in render_launch_files(workdir, base, version, data_dir).items():
        (workdir / name).write_text(text, encoding="utf-8")
    shown = ".".join(map(str, version)) if version else "(unknown version)"
    if progress is not None:
        data = f"data kept in {data_dir}" if data_dir is not None else "fresh data: ~15 s"
        progress(f"starting a private MatrixOne {shown} ({binary}) in {workdir} ({data})")
    server = launch(
        [str(binary), "-launch", str(workdir / "launch.toml")],
        kind="matrixone",
        workdir=workdir,
        owner_run_id=owner_run_id,
        port=base + SQL_OFFSET,
        password="111",
        what=f"the private MatrixOne ({binary})",
        timeout=timeout,
        data_dir=data_dir,
    )
    port = base + SQL_OFFSET
    kept = f", data kept in {data_dir}" if data_dir is not None else ""
    server.description = f"private MatrixOne {shown} ({binary}), port {port}{kept}"
    return server

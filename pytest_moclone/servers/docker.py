"""MatrixOne in Docker through testcontainers (``pip install testcontainers``)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any, Optional

from ..errors import ServerStartError
from .base import RunningServer
from .engine import docker_available
from .process import wait_until_ready

DEFAULT_IMAGE = "matrixorigin/matrixone:4.2.0"
SQL_PORT = 6001


def container_settings(image: str = DEFAULT_IMAGE) -> dict[str, Any]:
    """What the container is started with (pure, so it can be checked without Docker)."""
    if ":" not in image.rsplit("/", 1)[-1]:
        raise ValueError(f"Docker image {image!r} has no tag: pin one, e.g. {DEFAULT_IMAGE!r}")
    return {
        "image": image,
        "exposed_port": SQL_PORT,
        "user": "root",
        "password": "111",
        "ready_when": "a CREATE DATABASE + DROP DATABASE round trip succeeds",
    }


def start_docker(
    image: str = DEFAULT_IMAGE,
    timeout: float = 180.0,
    progress: Optional[Callable[[str], None]] = None,
) -> RunningServer:
    settings = container_settings(image)
    try:
        from testcontainers.core.container import DockerContainer
    except ImportError as exc:
        raise ServerStartError(
            "the docker server needs testcontainers: pip install testcontainers (or the checkout's "
            "[docker] extra: pip install '/path/to/pytest-moclone[docker]')"
        ) from exc
    if not docker_available():
        where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        raise ServerStartError(
            f"no Docker engine answers at {where} (DOCKER_HOST): start one (and check that "
            "this user may use it), or choose another server: --mo-server auto picks a private "
            "MariaDB from local binaries when there is no Docker"
        )
    started = time.monotonic()
    if progress is not None:
        progress(f"starting MatrixOne in Docker ({settings['image']}; a first pull takes minutes)")
    container = DockerContainer(settings["image"]).with_exposed_ports(SQL_PORT)
    try:
        container.start()
    except Exception as exc:  # the engine's errors come with pages of traceback: one line
        text = " ".join(str(exc).split())
        raise ServerStartError(
            f"Docker could not start the MatrixOne container ({image}): {type(exc).__name__}: "
            f"{text[:300]}"
        ) from exc
    host = container.get_container_host_ip()
    port = int(container.get_exposed_port(SQL_PORT))
    server = RunningServer(
        kind="docker",
        url=f"mysql://root:111@{host}:{port}/",
        description=f"MatrixOne in Docker ({image}), port {port}",
        container_id=container.get_wrapped_container().id,
    )
    try:
        wait_until_ready(
            host,
            port,
            "root",
            "111",
            what=f"the MatrixOne container ({image})",
            timeout=timeout,
            log=lambda: container_log(container),
        )
    except BaseException:
        container.stop()
        raise
    server.startup_seconds = time.monotonic() - started
    return server


def container_log(container: Any, lines: int = 20) -> str:
    """The end of the container's log, read when a start has failed (not before)."""
    try:
        out, err = container.get_logs()
    except Exception as exc:  # the engine went away too: say so rather than hide the cause
        return f"its log could not be read ({exc})"
    tail = (out + err).decode(errors="replace").strip().splitlines()[-lines:]
    return "the last lines of its log:\n" + ("\n".join("    " + t for t in tail) or "    (empty)")


__all__ = ["container_settings", "docker_available", "start_docker"]

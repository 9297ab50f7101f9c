"""MatrixOne in Docker through testcontainers (``pip install 'pytest-moclone[docker]'``)."""

from __future__ import annotations

import os
import socket
import time
from typing import Any

from ..errors import ServerStartError
from .base import RunningServer
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


def docker_available() -> bool:
    """True when testcontainers is installed and a Docker engine answers (never hangs)."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if host.startswith("unix://"):  # the usual case: look before loading the docker client
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(2)
            try:
                probe.connect(host[len("unix://") :])
            except OSError:
                return False
    try:
        import docker  # testcontainers depends on it
    except ImportError:
        return False
    engine = None
    try:
        engine = docker.from_env(timeout=3)
        engine.ping()
        return True
    except Exception:  # no daemon, no permission, a bad DOCKER_HOST: all mean "no Docker"
        return False
    finally:
        if engine is not None:
            engine.close()


def start_docker(image: str = DEFAULT_IMAGE, timeout: float = 180.0) -> RunningServer:
    settings = container_settings(image)
    try:
        from testcontainers.core.container import DockerContainer
    except ImportError as exc:
        raise ServerStartError(
            "the docker server needs testcontainers: pip install 'pytest-moclone[docker]'"
        ) from exc
    started = time.monotonic()
    container = DockerContainer(settings["image"]).with_exposed_ports(SQL_PORT)
    container.start()
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


def stop_container(container_id: str) -> None:
    import docker

    engine = docker.from_env(timeout=10)
    try:
        engine.containers.get(container_id).remove(force=True)
    except docker.errors.NotFound:
        pass
    finally:
        engine.close()

"""Is there a Docker engine, and stopping a container: what needs no server description."""

from __future__ import annotations

import os
import socket


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


def stop_container(container_id: str) -> None:
    import docker

    engine = docker.from_env(timeout=10)
    try:
        engine.containers.get(container_id).remove(force=True)
    except docker.errors.NotFound:
        pass
    finally:
        engine.close()

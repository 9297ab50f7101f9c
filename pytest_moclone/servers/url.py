"""A server the user names by URL: used as it is, never started, stopped or reconfigured."""

from __future__ import annotations

from ..connection import parse_url
from .base import RunningServer


def from_url(url: str) -> RunningServer:
    where = parse_url(url)  # a clear ValueError for anything that is not a server URL
    return RunningServer(kind="url", url=url, description=f"{where['host']}:{where['port']} (URL)")

"""pytest-moclone: a throwaway database for every test, cloned from a golden snapshot.

The library (this package minus ``plugin``) works without pytest::

    from pytest_moclone import Client
    client = Client.from_url("mysql://root:111@127.0.0.1:6001/")
    client.snapshots.create("shop_snap", database="shop")
    client.clone.clone_database("shop_copy", "shop", snapshot_name="shop_snap")
"""

from __future__ import annotations

from .client import Client, Session
from .clone import CloneManager
from .connection import Connection, Executor, Transaction, mask_url, parse_url
from .dialects.base import SnapshotInfo
from .errors import (
    CloneError,
    CloneWarning,
    InvalidCloneNameError,
    InvalidNameError,
    InvalidSnapshotNameError,
    MocloneError,
    QueryError,
    ServerConnectionError,
    ServerStartError,
    SnapshotError,
)
from .janitor import CloneJanitor
from .snapshots import SnapshotManager
from .version import ServerInfo, parse_server_version

__version__ = "0.1.0"  # the one place it is written (pyproject reads it)

__all__ = [
    "Client",
    "CloneError",
    "CloneJanitor",
    "CloneManager",
    "CloneWarning",
    "Connection",
    "Executor",
    "InvalidCloneNameError",
    "InvalidNameError",
    "InvalidSnapshotNameError",
    "MocloneError",
    "QueryError",
    "ServerConnectionError",
    "ServerInfo",
    "ServerStartError",
    "Session",
    "SnapshotError",
    "SnapshotInfo",
    "SnapshotManager",
    "Transaction",
    "__version__",
    "mask_url",
    "parse_server_version",
    "parse_url",
]

"""One dialect per server family, behind :class:`~.base.Dialect`."""

from __future__ import annotations

import logging

from ..version import MATRIXONE, ServerInfo
from .base import Dialect, SnapshotInfo
from .matrixone import CLONE_SINCE, MatrixOneDialect
from .mysql import MySQLDialect

__all__ = ["Dialect", "MatrixOneDialect", "MySQLDialect", "SnapshotInfo", "dialect_for"]

log = logging.getLogger("pytest_moclone")


def dialect_for(info: ServerInfo) -> Dialect:
    """Native clones on MatrixOne >= 3.0; the plain-SQL emulation everywhere else."""
    if info.dialect != MATRIXONE:
        return MySQLDialect(info.dialect)
    if info.at_least(*CLONE_SINCE):
        return MatrixOneDialect(info)
    log.warning(
        "%s has no CREATE ... CLONE (it arrived in MatrixOne 3.0.0): clones and snapshots are "
        "emulated with plain SQL copies, which is slower and not verified on such old servers",
        info.describe(),
    )
    return MySQLDialect(MATRIXONE)

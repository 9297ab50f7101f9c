"""What server is on the other end, read from the server itself (never from the port)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

Version = tuple[int, ...]

MATRIXONE = "matrixone"
MARIADB = "mariadb"
MYSQL = "mysql"

_MATRIXONE = re.compile(r"MatrixOne-v(?P<rest>.*)$", re.IGNORECASE)
_NUMERIC = re.compile(r"(\d+(?:\.\d+)*)")


@dataclass(frozen=True)
class ServerInfo:
    dialect: str  # "matrixone", "mariadb" or "mysql"
    version: Optional[Version]  # None for a MatrixOne development build (treat as newest)
    version_string: str

    @property
    def is_development_build(self) -> bool:
        return self.dialect == MATRIXONE and self.version is None

    def at_least(self, *wanted: int) -> bool:
        """True if the server is at least ``wanted``; development builds count as newest."""
        if self.version is None:
            return True
        return self.version >= wanted

    def describe(self) -> str:
        names = {MATRIXONE: "MatrixOne", MARIADB: "MariaDB", MYSQL: "MySQL"}
        shown = ".".join(map(str, self.version)) if self.version else "development build"
        return f"{names[self.dialect]} {shown}"


def parse_server_version(version_string: str, version_comment: str = "") -> ServerInfo:
    """Parse ``SELECT version()`` (and ``@@version_comment``).

    ``8.0.30-MatrixOne-v3.0.18`` -> MatrixOne (3, 0, 18); ``8.0.30-MatrixOne-v`` and
    ``8.0.30-MatrixOne-vmain`` are development builds (version None); ``10.11.19-MariaDB-...``
    -> MariaDB (10, 11, 19); anything else is MySQL.
    """
    text = version_string.strip()
    match = _MATRIXONE.search(text)
    if match or "matrixone" in version_comment.lower():
        rest = match.group("rest") if match else ""
        numeric = re.fullmatch(r"\d+(?:\.\d+)*", rest)
        version = tuple(int(p) for p in rest.split(".")) if numeric else None
        return ServerInfo(MATRIXONE, version, text)
    dialect = MARIADB if "mariadb" in (text + " " + version_comment).lower() else MYSQL
    leading = _NUMERIC.match(text)
    version = tuple(int(p) for p in leading.group(1).split(".")) if leading else None
    return ServerInfo(dialect, version, text)

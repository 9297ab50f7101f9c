"""Server URLs: parsed into connection arguments, masked for printing, and which hosts are local."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import unquote, urlsplit

URL_SCHEMES = ("mysql", "mysql+pymysql", "matrixone", "mariadb")


def is_loopback(host: str) -> bool:
    """``host`` names this machine's loopback interface."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_url(url: str) -> dict[str, Any]:
    """Split a server URL into connection arguments; a clear ValueError names what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in URL_SCHEMES or not parts.hostname:
        raise ValueError(
            f"invalid server URL {mask_url(url)!r}: expected "
            "mysql://user:password@host:port/[database], e.g. mysql://root:111@127.0.0.1:6001/"
        )
    default_port = 6001 if parts.scheme == "matrixone" else 3306
    try:
        port = parts.port or default_port
    except ValueError as exc:
        raise ValueError(f"invalid server URL {mask_url(url)!r}: bad port ({exc})") from None
    database = parts.path.lstrip("/") or None
    return {
        "host": parts.hostname,
        "port": port,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
        "database": database,
    }


def mask_url(url: str) -> str:
    """``url`` with its password shown as ``***``: for anything that is printed."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[-1]
    return parts._replace(netloc=f"{user}:***@{host}").geturl()

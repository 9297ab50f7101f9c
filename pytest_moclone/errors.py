"""The errors the library raises.

Every message names the object and the cause; the server's own error (when there was one) stays
reachable as ``server_code`` / ``server_message`` and as ``__cause__``.
"""

from __future__ import annotations

from typing import Optional, TypeVar


class MocloneError(Exception):
    """Base of every error raised by pytest-moclone."""

    def __init__(
        self,
        message: str,
        *,
        server_code: Optional[int] = None,
        server_message: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.server_code = server_code
        self.server_message = server_message


E = TypeVar("E", bound="MocloneError")


def server_refused(cls: type[E], what: str, exc: MocloneError) -> E:
    """``cls`` saying "<what>: the server said (code) text", the server's code kept."""
    cause = exc.server_message or str(exc)
    if exc.server_code in (1007, 1050):  # already exists: say what to do about it
        reason = f"{cause} (use if_not_exists=True)"
    else:
        reason = f"the server said ({exc.server_code}) {cause}"
    return cls(f"{what}: {reason}", server_code=exc.server_code, server_message=exc.server_message)


class InvalidNameError(MocloneError, ValueError):
    """A database, table or snapshot name that could not be sent to SQL safely."""


class CloneError(MocloneError):
    """A clone could not be made."""


class SnapshotError(MocloneError):
    """A snapshot could not be created, found or dropped."""


class QueryError(MocloneError):
    """A plain statement sent through ``Client.execute`` failed."""


class ServerConnectionError(MocloneError, ConnectionError):
    """The server cannot be reached, or the connection to it was lost."""


class ServerStartError(MocloneError):
    """A private server the plugin started did not come up."""

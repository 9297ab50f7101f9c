"""The errors the library raises.

Every message names the object and the cause; the server's own error (when there was one) stays
reachable as ``server_code`` / ``server_message`` and as ``__cause__``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Optional, TypeVar


class MocloneError(Exception):
    """Base of every error raised by pytest-moclone."""

    def __init__(
        self,
        message: str,
        *,
        server_code: Optional[int] = None,
        server_message: Optional[str] = None,
        subject: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.server_code = server_code
        self.server_message = server_message
        #: The object a failed statement was about ("view shop.v1"), when the library knows it.
        self.subject = subject


E = TypeVar("E", bound="MocloneError")


def server_refused(cls: type[E], what: str, exc: MocloneError) -> E:
    """``cls`` saying "<what>: the server said (code) text", the server's code kept."""
    cause = exc.server_message or str(exc)
    if exc.server_code in (1007, 1050):  # already exists: say what to do about it
        reason = f"{cause} (use if_not_exists=True)"
    else:
        reason = f"the server said ({exc.server_code}) {cause}"
    if exc.subject:
        reason = f"{exc.subject}: {reason}"
    return cls(
        f"{what}: {reason}",
        server_code=exc.server_code,
        server_message=exc.server_message,
        subject=exc.subject,
    )


class InvalidNameError(MocloneError, ValueError):
    """A database, table or snapshot name that could not be sent to SQL safely."""


class CloneError(MocloneError):
    """A clone could not be made."""


class SnapshotError(MocloneError):
    """A snapshot could not be created, found or dropped."""


class InvalidCloneNameError(InvalidNameError, CloneError):
    """A bad name given to a ``client.clone`` call: catch it as either parent."""


class InvalidSnapshotNameError(InvalidNameError, SnapshotError):
    """A bad name given to a ``client.snapshots`` call: catch it as either parent."""


class QueryError(MocloneError):
    """A plain statement sent through ``Client.execute`` failed."""

    #: In a multi-statement round trip, the position of the statement that failed.
    statement_index: Optional[int] = None


class ServerConnectionError(MocloneError, ConnectionError):
    """The server cannot be reached, or the connection to it was lost."""


class CloneWarning(UserWarning):
    """A copy that cannot be exact for one object (named in the message): for instance a
    system-versioned table whose history the server cannot insert, or dynamic SQL naming the
    source database."""


class ServerStartError(MocloneError):
    """A private server the plugin started did not come up."""


_NAME_VARIANTS: dict[type[MocloneError], type[InvalidNameError]] = {
    CloneError: InvalidCloneNameError,
    SnapshotError: InvalidSnapshotNameError,
}

F = TypeVar("F", bound=Callable[..., Any])


def raises(kind: type[CloneError] | type[SnapshotError]) -> Callable[[F], F]:
    """Make a manager call raise only ``kind`` (or a lost connection), as the SDK's calls do.

    A bad name becomes the matching ``Invalid*NameError`` (still an ``InvalidNameError`` and a
    ``ValueError``); any other error of ours from lower down (a failed statement, a snapshot
    problem met while cloning) becomes ``kind`` with the same message, the original kept as
    ``__cause__``. ``ServerConnectionError`` passes through: a lost server is not the call's fault.
    """

    def wrap(call: F) -> F:
        @functools.wraps(call)
        def inner(*args: Any, **kwargs: Any) -> Any:
            try:
                return call(*args, **kwargs)
            except (ServerConnectionError, kind):
                raise
            except InvalidNameError as exc:
                raise _NAME_VARIANTS[kind](exc.message) from exc
            except MocloneError as exc:
                raise kind(
                    exc.message,
                    server_code=exc.server_code,
                    server_message=exc.server_message,
                    subject=exc.subject,
                ) from exc

        return inner  # type: ignore[return-value]

    return wrap

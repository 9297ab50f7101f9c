"""A server lost mid-run: recognised in a test's error, said in one line per test.

A test that meets a dead server gets one line (not PyMySQL's 70-line traceback), its teardown
adds no second error for the same cause, and the run stops: every later test would fail the same.
The error may be ours (``ServerConnectionError``), PyMySQL's own (a test on ``mo_clone_url``), or
wrapped by SQLAlchemy (``.orig``); a lost *connection* on a server that still answers (a test
that killed its own connection) is the test's business, not a lost server.
"""

from __future__ import annotations

from typing import Optional

from ..client import Client
from ..connection import is_connection_error
from ..errors import MocloneError, ServerConnectionError
from ..servers import RunningServer
from ..servers.pids import is_ours

#: Bounded: the probe of a dead server is refused at once; an unreachable host waits this long.
PROBE_SECONDS = 3.0


def lost_connection(exc: Optional[BaseException]) -> Optional[BaseException]:
    """The lost-connection error in ``exc``'s chain (causes, contexts, SQLAlchemy's ``.orig``)."""
    stack, seen = [exc], set()
    while stack:
        error = stack.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, ServerConnectionError) or is_connection_error(error):
            return error
        orig = getattr(error, "orig", None)
        stack += [error.__cause__, error.__context__]
        if isinstance(orig, BaseException):
            stack.append(orig)
    return None


def server_answers(server: RunningServer) -> bool:
    """A fresh connection to the server works (so a lost connection was only that one)."""
    if is_gone(server):
        return False
    try:
        Client.from_url(server.url, connect_timeout=PROBE_SECONDS).close()
    except MocloneError:
        return False
    return True


def is_gone(server: RunningServer) -> bool:
    """A private server whose process is no longer running (a URL's server cannot be told)."""
    return (
        server.kind in ("mariadb", "matrixone")
        and server.pid is not None
        and server.marker is not None
        and not is_ours(server.pid, server.marker)
    )


def what_went(server: RunningServer) -> str:
    """``the private MariaDB server (pid 123) is no longer running``, or the URL's server."""
    if server.kind in ("mariadb", "matrixone"):
        name = "MariaDB" if server.kind == "mariadb" else "MatrixOne"
        running = "is no longer running" if is_gone(server) else "does not answer"
        return f"the private {name} server the run started (pid {server.pid}) {running}"
    if server.kind == "docker":
        return "the MatrixOne container the run started does not answer"
    return f"the server at {server.masked_url} does not answer"


def lost_line(server: RunningServer, error: BaseException) -> str:
    """The one line a test that met the lost server reports."""
    return f"moclone: the database server went away: {what_went(server)}: {error}"

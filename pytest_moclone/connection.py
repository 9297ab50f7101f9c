"""The connection layer: one PyMySQL connection, and the executors that run statements on it.

An *executor* is where the dialects and managers send their SQL: a :class:`Connection` (autocommit)
or a :class:`Transaction` on it (one transaction). Everything above this module takes an executor
and nothing else, so the same clone code runs either way and never reaches around a session.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Optional, Protocol, Union

import pymysql
import pymysql.cursors
from pymysql.constants import CLIENT, SERVER_STATUS

from .errors import MocloneError, QueryError, ServerConnectionError
from .names import check_identifier
from .urls import URL_SCHEMES as URL_SCHEMES  # re-exported: the URL helpers lived here
from .urls import is_loopback
from .urls import mask_url as mask_url
from .urls import parse_url as parse_url
from .version import ServerInfo, parse_server_version

log = logging.getLogger("pytest_moclone")

Row = tuple[Any, ...]

# MySQL client errors that mean the server is gone, not that the statement was wrong.
_CONNECTION_ERRNOS = frozenset({2002, 2003, 2006, 2013, 2055})
# A deadlock victim's statement was rolled back whole: running it again is safe (1213 on MySQL,
# 20701 on MatrixOne, whose DDL can deadlock when several connections run it at once).
DEADLOCK_ERRNOS = frozenset({1213, 20701})
_DDL_TRIES = 8
#: The longest pause between two tries of a deadlocked DDL statement. Each pause is random (up to
#: 0.05 s, doubling per try, at most this): victims that all retried at once would meet again.
_DDL_BACKOFF_CAP = 2.0
#: Seconds a statement may take before the connection gives up on the server: a frozen server
#: then fails the statement with one clear message instead of hanging the run. The plugin sets
#: its own (``--mo-timeout``, 60 s; ``--mo-clone-timeout`` for clones and the golden's build).
DEFAULT_READ_TIMEOUT = 300.0


class Executor(Protocol):
    """Where statements run: a connection (autocommit) or a transaction on it."""

    @property
    def info(self) -> ServerInfo: ...

    @property
    def database(self) -> Optional[str]:
        """The current database (unqualified table names mean it)."""

    @property
    def datadir(self) -> Optional[Path]:
        """The server's data folder when this process owns the server (see tablespaces.py)."""

    @property
    def in_transaction(self) -> bool: ...

    def execute(self, sql: str, params: Optional[Sequence[Any]] = None) -> list[Row]: ...

    def query(
        self, sql: str, params: Optional[Sequence[Any]] = None
    ) -> tuple[list[str], list[Row]]: ...

    def query_many(self, statements: Sequence[str]) -> list[list[Row]]: ...

    def execute_script(self, statements: Sequence[str]) -> None: ...

    def execute_ddl(self, sql: str) -> None: ...

    def on_rollback(self, undo: Callable[[], None]) -> None: ...

    def describe(self) -> str: ...


def server_error(exc: BaseException) -> tuple[Optional[int], Optional[str]]:
    """The server's (code, text) out of a PyMySQL error, or (None, None)."""
    args: tuple[object, ...] = tuple(getattr(exc, "args", ()))
    if len(args) >= 2 and isinstance(args[0], int):
        return args[0], str(args[1])
    return None, None


def is_connection_error(exc: BaseException) -> bool:
    code, _ = server_error(exc)
    if isinstance(exc, pymysql.err.InterfaceError):
        return True
    return isinstance(exc, pymysql.err.OperationalError) and code in _CONNECTION_ERRNOS


class Connection:
    """One autocommit PyMySQL connection (MatrixOne refuses snapshot statements inside the
    implicit transaction PyMySQL would otherwise open). Connects at once, so a wrong address
    fails here with one clear message."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 3306,
        user: str = "root",
        password: str = "",
        database: Optional[str] = None,
        *,
        connect_timeout: float = 10.0,
        read_timeout: Optional[float] = DEFAULT_READ_TIMEOUT,
        datadir: Optional[Union[str, Path]] = None,
    ) -> None:
        if database is not None:
            check_identifier(database, "database name")
        self.host = host
        self.port = int(port)
        self.user = user
        self.password = password
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._datadir = Path(datadir) if datadir is not None else None
        self._database = database
        self._transaction: Optional[Transaction] = None
        self._conn = self._connect()
        version, comment = self._raw("SELECT version(), @@version_comment")[0]
        self._info = parse_server_version(str(version), str(comment or ""))

    def _connect(self) -> pymysql.connections.Connection[Any]:
        try:
            conn = pymysql.connect(
                host=self.host,
                port=self.port,
                user=self.user,
                password=self.password,
                database=self._database,
                autocommit=True,
                charset="utf8mb4",
                connect_timeout=self.connect_timeout,
                # the handshake is part of connecting: a frozen server fails it in this bound
                read_timeout=self.connect_timeout,
                write_timeout=self.connect_timeout,
                client_flag=CLIENT.MULTI_STATEMENTS,
                # PyMySQL's default tries TLS without verifying the server, which protects
                # nothing on a loopback address and costs every connection ~25 ms of client
                # set-up (a new SSL context): a test that connects once pays it once per test.
                ssl_disabled=is_loopback(self.host),
            )
            # then the statements' bound (PyMySQL reads these before every packet)
            conn._read_timeout = self.read_timeout  # type: ignore[attr-defined]
            conn._write_timeout = self.read_timeout  # type: ignore[attr-defined]
            return conn
        except pymysql.err.MySQLError as exc:
            code, text = server_error(exc)
            if is_connection_error(exc) or code is None:
                frozen = "timed out" in str(text or exc)
                raise ServerConnectionError(
                    f"cannot connect to {self.host}:{self.port} as {self.user!r}: {text or exc} "
                    + ("(is the server frozen or overloaded?)" if frozen else "(is it running?)"),
                    server_code=code,
                    server_message=text,
                ) from exc
            raise ServerConnectionError(
                f"the server at {self.host}:{self.port} refused the connection: ({code}) {text}",
                server_code=code,
                server_message=text,
            ) from exc

    # -- Executor ---------------------------------------------------------------------------
    @property
    def info(self) -> ServerInfo:
        return self._info

    @property
    def database(self) -> Optional[str]:
        return self._database

    @property
    def datadir(self) -> Optional[Path]:
        return self._datadir

    @property
    def in_transaction(self) -> bool:
        """A session is open, or (the server's last reply says) a ``BEGIN`` sent as a plain
        statement, as mo_txn_db does: statements that cannot run in a transaction then avoid it."""
        return self._transaction is not None or self._server_flag()

    def _server_flag(self) -> bool:
        status = int(getattr(self._conn, "server_status", 0))  # set by every reply; not typed
        return bool(status & SERVER_STATUS.SERVER_STATUS_IN_TRANS)

    def describe(self) -> str:
        return f"{self._info.describe()} at {self.host}:{self.port}"

    @property
    def server_id(self) -> int:
        """This connection's id on the server (``CONNECTION_ID()``), from the handshake."""
        return int(self._conn.thread_id())  # type: ignore[no-untyped-call]

    def execute(self, sql: str, params: Optional[Sequence[Any]] = None) -> list[Row]:
        """Run one statement and return its rows (an empty list for statements without rows)."""
        try:
            return self._raw(sql, params)
        except pymysql.err.MySQLError as exc:
            raise self.translate(exc, sql) from exc

    def query(
        self, sql: str, params: Optional[Sequence[Any]] = None
    ) -> tuple[list[str], list[Row]]:
        """Column names and rows (for output read by column name, such as SHOW)."""
        try:
            with self._conn.cursor() as cur:
                cur.execute(sql, params)
                rows = list(cur.fetchall() or ())
                names = [d[0] for d in cur.description or ()]
                while cur.nextset():
                    pass
                return names, rows
        except pymysql.err.MySQLError as exc:
            raise self.translate(exc, sql) from exc

    def query_many(self, statements: Sequence[str]) -> list[list[Row]]:
        """The rows of several statements, sent in one round trip."""
        if not statements:
            return []
        script = ";\n".join(statements)
        results: list[list[Row]] = []
        try:
            with self._conn.cursor() as cur:
                cur.execute(script)
                results.append(list(cur.fetchall() or ()))
                while cur.nextset():
                    results.append(list(cur.fetchall() or ()))
        except pymysql.err.MySQLError as exc:
            error = self.translate(exc, script)
            if isinstance(error, QueryError):
                error.statement_index = len(results)  # the statements before it all ran
            raise error from exc
        return results

    def execute_script(self, statements: Sequence[str]) -> None:
        """Run several statements in one round trip; stops at the first that fails."""
        if statements:
            self.query_many(statements)

    def execute_ddl(self, sql: str) -> None:
        """Run a DDL statement, again if it lost a deadlock (never inside a transaction, where
        the deadlock rolled back more than this statement)."""
        for attempt in range(_DDL_TRIES):
            try:
                self.execute(sql)
                return
            except QueryError as exc:
                retry = exc.server_code in DEADLOCK_ERRNOS and not self.in_transaction
                if not retry or attempt == _DDL_TRIES - 1:
                    raise
                time.sleep(random.uniform(0, min(_DDL_BACKOFF_CAP, 0.05 * 2**attempt)))

    def on_rollback(self, undo: Callable[[], None]) -> None:
        """Outside a transaction there is nothing to roll back: work done is kept."""

    def _raw(self, sql: str, params: Optional[Sequence[Any]] = None) -> list[Row]:
        with self._conn.cursor() as cur:
            cur.execute(sql, params)
            rows = cur.fetchall()
            while cur.nextset():
                pass
            return list(rows or ())

    def translate(self, exc: BaseException, sql: str) -> MocloneError:
        """A PyMySQL error as ours; a lost connection becomes one clear ServerConnectionError."""
        code, text = server_error(exc)
        if is_connection_error(exc) and "timed out" in str(text or exc):
            return ServerConnectionError(
                f"{self.describe()} did not answer within {self.read_timeout or 0:.0f} s "
                f"(is the server frozen or overloaded?): {text or exc!r}",
                server_code=code,
                server_message=text,
            )
        if is_connection_error(exc):
            return ServerConnectionError(
                f"lost the connection to {self.describe()} (did the server stop?): {text or exc!r}",
                server_code=code,
                server_message=text,
            )
        short = sql if len(sql) <= 200 else sql[:200] + "..."
        return QueryError(
            f"statement failed: ({code}) {text}\n  in: {short}",
            server_code=code,
            server_message=text,
        )

    # -- transactions and lifetime ----------------------------------------------------------
    def begin(self) -> Transaction:
        """Open the one transaction this connection may have (see :class:`Transaction`)."""
        if self._transaction is not None:
            raise MocloneError("a session is already open on this client; sessions do not nest")
        self.execute("BEGIN")
        self._transaction = Transaction(self)
        return self._transaction

    def _end(self, transaction: Transaction) -> None:
        if self._transaction is transaction:
            self._transaction = None

    def server_in_transaction(self) -> bool:
        """The server's own word, in its last reply's status flags, that a transaction is open
        on this connection (whoever opened it: a ``BEGIN`` sent through ``execute`` too)."""
        self.execute("SELECT 1")
        return self._server_flag()

    def ping(self) -> None:
        try:
            self._conn.ping(reconnect=False)
        except pymysql.err.MySQLError as exc:
            raise self.translate(exc, "ping") from exc

    def close(self) -> None:
        # Already closed, or the server is gone: either way nothing is left to release.
        with contextlib.suppress(Exception):
            self._conn.close()


class Transaction:
    """Statements inside one transaction of a connection; an executor like the connection.

    ``on_rollback`` remembers how to undo work the server cannot roll back (DDL commits at once on
    MySQL/MariaDB); :meth:`rollback` runs those steps after the server's ROLLBACK.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._undo: list[Callable[[], None]] = []
        self.started = time.monotonic()

    @property
    def info(self) -> ServerInfo:
        return self._connection.info

    @property
    def database(self) -> Optional[str]:
        return self._connection.database

    @property
    def datadir(self) -> Optional[Path]:
        return self._connection.datadir

    @property
    def in_transaction(self) -> bool:
        return True

    def describe(self) -> str:
        return self._connection.describe()

    def execute(self, sql: str, params: Optional[Sequence[Any]] = None) -> list[Row]:
        return self._connection.execute(sql, params)

    def query(
        self, sql: str, params: Optional[Sequence[Any]] = None
    ) -> tuple[list[str], list[Row]]:
        return self._connection.query(sql, params)

    def query_many(self, statements: Sequence[str]) -> list[list[Row]]:
        return self._connection.query_many(statements)

    def execute_script(self, statements: Sequence[str]) -> None:
        self._connection.execute_script(statements)

    def execute_ddl(self, sql: str) -> None:
        self._connection.execute(sql)  # no retry: a deadlock rolled back the whole transaction

    def on_rollback(self, undo: Callable[[], None]) -> None:
        self._undo.append(undo)

    def commit(self) -> None:
        self._connection._end(self)
        self._connection.execute("COMMIT")

    def rollback(self) -> None:
        self._connection._end(self)
        try:
            self._connection.execute("ROLLBACK")
        finally:
            for undo in reversed(self._undo):
                try:
                    undo()
                except MocloneError as exc:  # keep undoing the rest; the caller's error wins
                    log.warning("session rollback: could not undo a step: %s", exc)

"""A connected client over PyMySQL, and the session that runs several calls in one transaction.

The managers (``client.clone``, ``client.snapshots``) take an *executor*: the client itself
(autocommit) or a :class:`Session` (one transaction). That is the seam that lets the same clone code
run either way.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Protocol, Union
from urllib.parse import quote as urlquote
from urllib.parse import unquote, urlsplit

import pymysql
import pymysql.cursors
from pymysql.constants import CLIENT

from .errors import MocloneError, QueryError, ServerConnectionError
from .names import check_identifier, quote
from .version import ServerInfo, parse_server_version

if TYPE_CHECKING:
    from .clone import CloneManager
    from .dialects.base import Dialect
    from .snapshots import SnapshotManager

log = logging.getLogger("pytest_moclone")

Row = tuple[Any, ...]

# MySQL client errors that mean the server is gone, not that the statement was wrong.
_CONNECTION_ERRNOS = frozenset({2002, 2003, 2006, 2013, 2055})
# A deadlock victim's statement was rolled back whole: running it again is safe (1213 on MySQL,
# 20701 on MatrixOne, whose DDL can deadlock when several connections run it at once).
DEADLOCK_ERRNOS = frozenset({1213, 20701})
_DDL_TRIES = 5
_URL_SCHEMES = ("mysql", "mysql+pymysql", "matrixone", "mariadb")


class Executor(Protocol):
    """Where a manager's statements run: a client (autocommit) or a session (one transaction)."""

    @property
    def client(self) -> Client: ...

    @property
    def in_transaction(self) -> bool: ...

    def execute(self, sql: str, params: Optional[Sequence[Any]] = None) -> list[Row]: ...

    def execute_script(self, statements: Sequence[str]) -> None: ...

    def on_rollback(self, undo: Callable[[], None]) -> None: ...


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


class Client:
    """A connection to a MatrixOne, MySQL or MariaDB server.

    Connects at once (so a wrong URL fails here, with one clear message) and always in
    autocommit: MatrixOne refuses snapshot statements inside the implicit transaction PyMySQL
    would otherwise open.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 3306,
        user: str = "root",
        password: str = "",
        database: Optional[str] = None,
        *,
        connect_timeout: float = 10.0,
        read_timeout: Optional[float] = None,
        datadir: Optional[Union[str, Path]] = None,
    ) -> None:
        if database is not None:
            check_identifier(database, "database name")
        self.host = host
        self.port = int(port)
        self.user = user
        self.password = password
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self.datadir: Optional[Path] = Path(datadir) if datadir is not None else None
        """The server's data folder as this process sees it, for a server this process owns (the
        plugin's private MariaDB): emulated clones of large tables then copy InnoDB tablespace
        files instead of rows (docs/how-it-works.md). Leave it unset for anyone else's server."""
        self._conn = self._connect(database)
        self._database = database
        self._session: Optional[Session] = None
        version, comment = self._raw("SELECT version(), @@version_comment")[0]
        self.info: ServerInfo = parse_server_version(str(version), str(comment or ""))
        self._dialect_impl: Optional[Dialect] = None

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Client:
        """``mysql://user:password@host:port/database`` (also ``mysql+pymysql://``, ``matrixone://``)."""
        return cls(**parse_url(url), **kwargs)

    def _connect(self, database: Optional[str]) -> pymysql.connections.Connection[Any]:
        try:
            return pymysql.connect(
                host=self.host,
                port=self.port,
                user=self.user,
                password=self.password,
                database=database,
                autocommit=True,
                charset="utf8mb4",
                connect_timeout=self._connect_timeout,
                read_timeout=self._read_timeout,
                write_timeout=self._read_timeout,
                client_flag=CLIENT.MULTI_STATEMENTS,
            )
        except pymysql.err.MySQLError as exc:
            code, text = server_error(exc)
            if is_connection_error(exc) or code is None:
                raise ServerConnectionError(
                    f"cannot connect to {self.host}:{self.port} as {self.user!r}: {text or exc} "
                    "(is the server running? check --mo-url / MOCLONE_URL)",
                    server_code=code,
                    server_message=text,
                ) from exc
            raise ServerConnectionError(
                f"the server at {self.host}:{self.port} refused the connection: ({code}) {text}",
                server_code=code,
                server_message=text,
            ) from exc

    # -- what the server is ---------------------------------------------------------------
    @property
    def dialect(self) -> str:
        """``"matrixone"``, ``"mysql"`` or ``"mariadb"``, as the server says."""
        return self.info.dialect

    @property
    def server_version(self) -> Optional[tuple[int, ...]]:
        """The parsed version, e.g. ``(3, 0, 18)``; None for a MatrixOne development build."""
        return self.info.version

    @property
    def database(self) -> Optional[str]:
        """The database this client was connected to (its default for unqualified tables)."""
        return self._database

    @property
    def url(self) -> str:
        """A SQLAlchemy-style URL of this connection (``mysql+pymysql://...``)."""
        return self.url_for(self._database)

    def url_for(self, database: Optional[str], scheme: str = "mysql+pymysql") -> str:
        auth = urlquote(self.user, safe="")
        if self.password:
            auth += ":" + urlquote(self.password, safe="")
        return f"{scheme}://{auth}@{self.host}:{self.port}/{database or ''}"

    def connect_to(self, database: Optional[str]) -> Client:
        """A new client on the same server, connected to ``database``."""
        return Client(
            self.host,
            self.port,
            self.user,
            self.password,
            database,
            connect_timeout=self._connect_timeout,
            read_timeout=self._read_timeout,
            datadir=self.datadir,
        )

    @property
    def dialect_impl(self) -> Dialect:
        if self._dialect_impl is None:
            from .dialects import dialect_for

            self._dialect_impl = dialect_for(self.info)
        return self._dialect_impl

    # -- managers -------------------------------------------------------------------------
    @property
    def clone(self) -> CloneManager:
        from .clone import CloneManager

        return CloneManager(self)

    @property
    def snapshots(self) -> SnapshotManager:
        from .snapshots import SnapshotManager

        return SnapshotManager(self)

    # -- Executor -------------------------------------------------------------------------
    @property
    def client(self) -> Client:
        return self

    @property
    def in_transaction(self) -> bool:
        return self._session is not None

    def execute(self, sql: str, params: Optional[Sequence[Any]] = None) -> list[Row]:
        """Run one statement and return its rows (an empty list for statements without rows)."""
        try:
            return self._raw(sql, params)
        except pymysql.err.MySQLError as exc:
            raise self.translate(exc, sql) from exc

    def execute_ddl(self, sql: str) -> None:
        """Run a DDL statement, again if it lost a deadlock (outside a session only)."""
        for attempt in range(_DDL_TRIES):
            try:
                self.execute(sql)
                return
            except QueryError as exc:
                if exc.server_code not in DEADLOCK_ERRNOS or self.in_transaction:
                    raise
                if attempt == _DDL_TRIES - 1:
                    raise
                time.sleep(0.05 * 2**attempt)

    def drop_database(self, name: str) -> None:
        """``DROP DATABASE IF EXISTS``, with the name checked and quoted."""
        self.execute_ddl(
            f"DROP DATABASE IF EXISTS {quote(check_identifier(name, 'database name'))}"
        )

    def execute_script(self, statements: Sequence[str]) -> None:
        """Run several statements in one round trip; stops at the first that fails."""
        if not statements:
            return
        script = ";\n".join(statements)
        try:
            with self._conn.cursor() as cur:
                cur.execute(script)
                while cur.nextset():
                    pass
        except pymysql.err.MySQLError as exc:
            raise self.translate(exc, script) from exc

    def on_rollback(self, undo: Callable[[], None]) -> None:
        """Outside a session there is nothing to roll back: work done is kept."""

    def _raw(self, sql: str, params: Optional[Sequence[Any]] = None) -> list[Row]:
        with self._conn.cursor() as cur:
            cur.execute(sql, params)
            rows = cur.fetchall()
            while cur.nextset():
                pass
            return list(rows or ())

    def query(self, sql: str) -> tuple[list[str], list[Row]]:
        """Column names and rows (for output read by column name, such as SHOW)."""
        try:
            with self._conn.cursor() as cur:
                cur.execute(sql)
                rows = list(cur.fetchall() or ())
                return [d[0] for d in cur.description or ()], rows
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
            raise self.translate(exc, script) from exc
        return results

    def translate(self, exc: BaseException, sql: str) -> MocloneError:
        """A PyMySQL error as ours; a lost connection becomes one clear ServerConnectionError."""
        code, text = server_error(exc)
        if is_connection_error(exc):
            return ServerConnectionError(
                f"lost the connection to {self.info.describe()} at {self.host}:{self.port} "
                f"(did the server stop?): {text or exc!r}",
                server_code=code,
                server_message=text,
            )
        short = sql if len(sql) <= 200 else sql[:200] + "..."
        return QueryError(
            f"statement failed: ({code}) {text}\n  in: {short}",
            server_code=code,
            server_message=text,
        )

    # -- sessions and lifetime ------------------------------------------------------------
    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: commit when the block ends, roll back when it raises.

        On MatrixOne the clones inside are atomic (they roll back with the transaction). On
        MySQL/MariaDB every DDL commits implicitly, so the session instead drops what it created
        before re-raising; see docs/how-it-works.md.
        """
        if self._session is not None:
            raise MocloneError("a session is already open on this client; sessions do not nest")
        session = Session(self)
        self._session = session
        try:
            self._raw("BEGIN")
            yield session
        except BaseException:
            self._session = None
            session._rollback()
            raise
        else:
            self._session = None
            session._commit()

    def ping(self) -> None:
        try:
            self._conn.ping(reconnect=False)
        except pymysql.err.MySQLError as exc:
            raise self.translate(exc, "ping") from exc

    def close(self) -> None:
        # Already closed, or the server is gone: either way nothing is left to release.
        with contextlib.suppress(Exception):
            self._conn.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Client {self.info.describe()} at {self.host}:{self.port} db={self._database!r}>"


class Session:
    """Statements inside one transaction of a client's connection (see :meth:`Client.session`)."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._undo: list[Callable[[], None]] = []
        self.started = time.monotonic()

    @property
    def client(self) -> Client:
        return self._client

    @property
    def in_transaction(self) -> bool:
        return True

    @property
    def clone(self) -> CloneManager:
        from .clone import CloneManager

        return CloneManager(self._client, executor=self)

    @property
    def snapshots(self) -> SnapshotManager:
        from .snapshots import SnapshotManager

        return SnapshotManager(self._client, executor=self)

    def execute(self, sql: str, params: Optional[Sequence[Any]] = None) -> list[Row]:
        return self._client.execute(sql, params)

    def execute_script(self, statements: Sequence[str]) -> None:
        self._client.execute_script(statements)

    def on_rollback(self, undo: Callable[[], None]) -> None:
        """Remember how to undo work that the server cannot roll back (DDL on MySQL/MariaDB)."""
        self._undo.append(undo)

    def _commit(self) -> None:
        self._client.execute("COMMIT")

    def _rollback(self) -> None:
        try:
            self._client.execute("ROLLBACK")
        finally:
            for undo in reversed(self._undo):
                try:
                    undo()
                except MocloneError as exc:  # keep undoing the rest; the caller's error wins
                    log.warning("session rollback: could not undo a step: %s", exc)


def parse_url(url: str) -> dict[str, Any]:
    """Split a server URL into Client arguments; a clear ValueError names what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in _URL_SCHEMES or not parts.hostname:
        raise ValueError(
            f"invalid server URL {url!r}: expected mysql://user:password@host:port/[database], "
            "e.g. mysql://root:111@127.0.0.1:6001/"
        )
    default_port = 6001 if parts.scheme == "matrixone" else 3306
    try:
        port = parts.port or default_port
    except ValueError as exc:
        raise ValueError(f"invalid server URL {url!r}: bad port ({exc})") from None
    database = parts.path.lstrip("/") or None
    return {
        "host": parts.hostname,
        "port": port,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
        "database": database,
    }

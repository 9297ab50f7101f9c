"""``Client``: the library's front door, a facade over one connection, its dialect and managers.

``client.clone`` and ``client.snapshots`` run on the client's connection (autocommit);
``with client.session() as s: s.clone...`` runs them inside one transaction. Both are the same
managers over a different executor (connection.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional, Union
from urllib.parse import quote as urlquote

from .clone import CloneManager
from .connection import DEFAULT_READ_TIMEOUT, Connection, Executor, Row, Transaction, parse_url
from .dialects import Dialect, dialect_for
from .snapshots import SnapshotManager
from .version import ServerInfo


class Client:
    """A connection to a MatrixOne, MySQL or MariaDB server; see the module docstring.

    ``datadir`` is the server's data folder as this process sees it, for a server this process
    owns (the plugin's private MariaDB): emulated clones of large tables then copy InnoDB
    tablespace files instead of rows (docs/how-it-works.md). Leave it unset for anyone else's.
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
        read_timeout: Optional[float] = DEFAULT_READ_TIMEOUT,
        datadir: Optional[Union[str, Path]] = None,
        dialect: Optional[Dialect] = None,
    ) -> None:
        self.connection = Connection(
            host,
            port,
            user,
            password,
            database,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            datadir=datadir,
        )
        #: How this server clones, snapshots and diffs (chosen from what the server says).
        self.dialect: Dialect = dialect if dialect is not None else dialect_for(self.info)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Client:
        """``mysql://user:password@host:port/database`` (also ``mysql+pymysql://``, ``matrixone://``)."""
        return cls(**parse_url(url), **kwargs)

    # -- what the server is -----------------------------------------------------------------
    @property
    def info(self) -> ServerInfo:
        return self.connection.info

    @property
    def dialect_name(self) -> str:
        """``"matrixone"``, ``"mysql"`` or ``"mariadb"``, as the server says."""
        return self.info.dialect

    @property
    def server_version(self) -> Optional[tuple[int, ...]]:
        """The parsed version, e.g. ``(3, 0, 18)``; None for a MatrixOne development build."""
        return self.info.version

    @property
    def host(self) -> str:
        return self.connection.host

    @property
    def port(self) -> int:
        return self.connection.port

    @property
    def user(self) -> str:
        return self.connection.user

    @property
    def password(self) -> str:
        return self.connection.password

    @property
    def database(self) -> Optional[str]:
        """The database this client was connected to (its default for unqualified tables)."""
        return self.connection.database

    @property
    def datadir(self) -> Optional[Path]:
        return self.connection.datadir

    @property
    def url(self) -> str:
        """A SQLAlchemy-style URL of this connection (``mysql+pymysql://...``)."""
        return self.url_for(self.database)

    def url_for(self, database: Optional[str], scheme: str = "mysql+pymysql") -> str:
        auth = urlquote(self.user, safe="")
        if self.password:
            auth += ":" + urlquote(self.password, safe="")
        return f"{scheme}://{auth}@{self.host}:{self.port}/{database or ''}"

    def connect_to(
        self, database: Optional[str], *, read_timeout: Union[float, str, None] = "same"
    ) -> Client:
        """A new client on the same server, connected to ``database`` (sharing the dialect,
        whose caches of frozen snapshots then serve both); ``read_timeout`` as this one's
        unless given (clones of a huge golden may need longer than a query)."""
        c = self.connection
        return Client(
            c.host,
            c.port,
            c.user,
            c.password,
            database,
            connect_timeout=c.connect_timeout,
            read_timeout=c.read_timeout if isinstance(read_timeout, str) else read_timeout,
            datadir=c.datadir,
            dialect=self.dialect,
        )

    # -- managers and statements ------------------------------------------------------------
    @property
    def clone(self) -> CloneManager:
        return CloneManager(self.connection, self.dialect)

    @property
    def snapshots(self) -> SnapshotManager:
        return SnapshotManager(self.connection, self.dialect)

    def execute(self, sql: str, params: Optional[Sequence[Any]] = None) -> list[Row]:
        """Run one statement and return its rows (an empty list for statements without rows)."""
        return self.connection.execute(sql, params)

    def query(
        self, sql: str, params: Optional[Sequence[Any]] = None
    ) -> tuple[list[str], list[Row]]:
        """Column names and rows."""
        return self.connection.query(sql, params)

    def execute_script(self, statements: Sequence[str]) -> None:
        """Several statements in one round trip; stops at the first that fails."""
        self.connection.execute_script(statements)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: commit when the block ends, roll back when it raises.

        On MatrixOne the clones inside are atomic (they roll back with the transaction). On
        MySQL/MariaDB every DDL commits implicitly, so the session instead drops what it created
        before re-raising; see docs/how-it-works.md.
        """
        transaction = self.connection.begin()
        try:
            yield Session(transaction, self.dialect)
        except BaseException:
            transaction.rollback()
            raise
        transaction.commit()

    def ping(self) -> None:
        self.connection.ping()

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Client {self.connection.describe()} db={self.database!r}>"


class Session:
    """The managers and statements of one transaction (see :meth:`Client.session`)."""

    def __init__(self, executor: Executor, dialect: Dialect) -> None:
        self.executor = executor
        self.dialect = dialect

    @property
    def clone(self) -> CloneManager:
        return CloneManager(self.executor, self.dialect)

    @property
    def snapshots(self) -> SnapshotManager:
        return SnapshotManager(self.executor, self.dialect)

    def execute(self, sql: str, params: Optional[Sequence[Any]] = None) -> list[Row]:
        return self.executor.execute(sql, params)


__all__ = ["Client", "Session", "Transaction"]

"""SQLAlchemy on a moclone database (``pip install 'pytest-moclone[sqlalchemy]'``).

Engines speak ``mysql+pymysql`` (PyMySQL is already a dependency) to a :class:`Client`'s server
or a clone's URL; their URL hides the password whenever it is printed (SQLAlchemy's ``str(url)``).
A golden's tables are reflected once and used on every clone *by name*: a clone has the golden's
tables exactly, so the reflected :class:`~sqlalchemy.MetaData` carries no database name and runs
against whichever database its engine is connected to.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Optional, Union
from urllib.parse import unquote, urlsplit

import sqlalchemy
from sqlalchemy.engine import URL, Engine

from .client import Client

__all__ = ["create_engine", "disposing", "engine_url", "reflect"]

Source = Union[Client, str]


def engine_url(source: Source, database: Optional[str] = None) -> URL:
    """The ``mysql+pymysql`` URL of ``source`` (a client, or a ``mysql://`` / ``mysql+pymysql://``
    URL such as ``mo_clone_url``), on ``database`` (default: the source's own)."""
    if isinstance(source, Client):
        conn = source.connection
        host, port, user, password = conn.host, conn.port, conn.user, conn.password
        default = source.database
    else:
        parts = urlsplit(source)
        host, port = parts.hostname or "127.0.0.1", parts.port or 3306
        user, password = unquote(parts.username or "root"), unquote(parts.password or "")
        default = parts.path.strip("/") or None
    return URL.create(
        "mysql+pymysql",
        username=user,
        password=password or None,
        host=host,
        port=port,
        database=database if database is not None else default,
    )


def create_engine(source: Source, database: Optional[str] = None, **kwargs: Any) -> Engine:
    """An engine on ``database`` of ``source``'s server; ``kwargs`` go to SQLAlchemy."""
    return sqlalchemy.create_engine(engine_url(source, database), **kwargs)


@contextlib.contextmanager
def disposing(engine: Engine) -> Iterator[Engine]:
    """Use ``engine``; afterwards every connection it opened is closed, those still checked
    out too (``Engine.dispose`` alone closes only the idle ones): none outlives the block."""
    opened: list[Any] = []

    def remember(dbapi_connection: Any, record: Any) -> None:
        opened.append(dbapi_connection)

    sqlalchemy.event.listen(engine, "connect", remember)
    try:
        yield engine
    finally:
        engine.dispose()
        for connection in opened:
            with contextlib.suppress(Exception):  # already closed, or the server is gone
                connection.close()
        sqlalchemy.event.remove(engine, "connect", remember)


def reflect(source: Source, database: Optional[str] = None) -> sqlalchemy.MetaData:
    """The tables and views of ``database``, reflected without a schema name, so that they run
    on any database with the same tables (each clone of a golden)."""
    metadata = sqlalchemy.MetaData()
    with disposing(create_engine(source, database)) as engine:
        metadata.reflect(bind=engine, views=True)
    return metadata

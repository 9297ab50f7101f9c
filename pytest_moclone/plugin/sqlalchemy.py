"""SQLAlchemy fixtures, registered when SQLAlchemy is installed (the ``sqlalchemy`` extra).

``mo_metadata`` is the golden's schema, reflected once per process (per xdist worker) and shared
by every test; ``mo_engine`` and ``mo_session`` work on the test's own database (``mo_clone_db``)
and leave no connection behind: the engine is disposed, and any connection a test kept open is
closed, before the database is given back.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ..client import Client
from ..golden import Golden
from ..sqlalchemy import create_engine, disposing, reflect


@pytest.fixture(scope="session")
def mo_metadata(mo_client: Client, mo_golden: Golden) -> sqlalchemy.MetaData:
    """The golden's tables and views as SQLAlchemy ``MetaData``, reflected once and valid on
    every clone (by table name): ``Table`` objects for Core, or ``automap_base(metadata=...)``."""
    return reflect(mo_client, mo_golden.database)


@pytest.fixture
def mo_engine(mo_clone_db: Client) -> Iterator[Engine]:
    """An engine on this test's database; every connection it opened is closed after the test."""
    with disposing(create_engine(mo_clone_db)) as engine:
        yield engine


@pytest.fixture
def mo_session(mo_engine: Engine) -> Iterator[Session]:
    """An ORM session on this test's database; closed (its transaction rolled back) after."""
    with Session(mo_engine) as session:
        yield session

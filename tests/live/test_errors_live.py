"""Errors from a real server: typed, worded, with the server's own code kept."""

from __future__ import annotations

import re

import pytest
from conftest import MakeName

from pytest_moclone import Client, CloneError, QueryError, ServerConnectionError


def test_a_clone_the_server_refuses_keeps_its_code_and_leaves_nothing(
    admin: Client, fresh_name: MakeName
) -> None:
    source, other, copy = fresh_name("src"), fresh_name("other"), fresh_name("copy")
    admin.execute(f"CREATE DATABASE {source}")
    admin.execute(f"CREATE DATABASE {other}")
    admin.execute(f"CREATE TABLE {other}.t (id INT PRIMARY KEY)")
    admin.execute(f"CREATE TABLE {source}.x (id INT PRIMARY KEY)")
    admin.execute(f"CREATE VIEW {source}.v AS SELECT id FROM {other}.t")
    admin.execute(f"DROP TABLE {other}.t")  # the view now reads nothing
    with pytest.raises(CloneError) as info:
        admin.clone.clone_database(copy, source)
    error = info.value
    # the emulation names the object it was making (MatrixOne's one CLONE statement cannot)
    assert re.match(
        rf"cannot clone database '{source}' into '{copy}': (view v: )?the server said \(",
        str(error),
    )
    assert error.server_code is not None and error.server_message
    assert isinstance(error.__cause__, QueryError)
    assert admin.execute(
        "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = %s", (copy,)
    ) == [(0,)]


def test_a_failed_statement_is_a_query_error_with_the_servers_code(admin: Client) -> None:
    with pytest.raises(QueryError) as info:
        admin.execute("SELECT * FROM no_such_db_x.no_such_table")
    assert info.value.server_code is not None
    assert "no_such" in str(info.value)


def test_a_lost_connection_is_one_clear_connection_error(admin: Client) -> None:
    victim = admin.connect_to(None)
    connection_id = victim.execute("SELECT connection_id()")[0][0]
    admin.execute(f"KILL {int(connection_id)}")
    with pytest.raises(ServerConnectionError) as info:
        victim.execute("SELECT 1")
    assert isinstance(info.value, ConnectionError)
    assert "lost the connection to" in str(info.value) and "did the server stop?" in str(info.value)
    victim.close()


def test_an_unreachable_server_is_one_clear_connection_error() -> None:
    with pytest.raises(ServerConnectionError, match=r"cannot connect to 127\.0\.0\.1:1 as 'root'"):
        Client("127.0.0.1", 1, connect_timeout=2)

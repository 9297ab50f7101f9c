"""A drop never hangs: connections left on a test's database are ended first (and the test that
left them is named), and a lock wait is bounded by ``lock_wait_timeout`` and reported."""

from __future__ import annotations

import time

import pytest
from conftest import Inner, MakeName

from pytest_moclone import Client, CloneError


def _locked(admin: Client, fresh_name: MakeName, *, use_db: bool) -> tuple[str, Client]:
    db = fresh_name("busy")
    admin.execute(f"CREATE DATABASE {db}")
    admin.execute(f"CREATE TABLE {db}.t (id INT PRIMARY KEY)")
    admin.execute(f"INSERT INTO {db}.t VALUES (1)")
    holder = admin.connect_to(db if use_db else None)
    holder.execute("BEGIN")
    holder.execute(f"INSERT INTO {db}.t VALUES (2)")  # uncommitted: holds a lock on the table
    return db, holder


def test_a_drop_blocked_by_an_open_transaction_says_busy_within_its_bound(
    admin: Client, fresh_name: MakeName
) -> None:
    db, holder = _locked(admin, fresh_name, use_db=False)
    try:
        started = time.monotonic()
        with pytest.raises(CloneError, match=f"cannot drop database '{db}': it is busy") as info:
            admin.clone.drop(db, lock_wait_timeout=2)
        assert time.monotonic() - started < 15
        assert info.value.server_code in admin.dialect.lock_wait_codes
        assert admin.dialect.database_exists(admin.connection, db)
        # the session's own setting is back as it was
        assert int(admin.execute("SELECT @@session.lock_wait_timeout")[0][0]) > 2
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    admin.clone.drop(db, lock_wait_timeout=2)
    assert not admin.dialect.database_exists(admin.connection, db)


def test_ending_the_connections_on_a_database_frees_it_for_the_drop(
    admin: Client, fresh_name: MakeName
) -> None:
    db, holder = _locked(admin, fresh_name, use_db=True)
    try:
        assert admin.clone.end_connections(db) == 1
        started = time.monotonic()
        admin.clone.drop(db, lock_wait_timeout=10)
        assert time.monotonic() - started < 10
        assert not admin.dialect.database_exists(admin.connection, db)
    finally:
        holder.close()


LEAVES_A_LOCK = """
import pymysql

LEFT = []

def test_leaves_a_transaction_open(mo_clone_db):
    c = mo_clone_db
    other = pymysql.connect(host=c.host, port=c.port, user=c.user, password=c.password,
                            database=c.database, autocommit=False)
    other.cursor().execute("INSERT INTO users VALUES (3, 'left open')")  # never committed
    LEFT.append(other)  # still referenced: it stays open after the test

def test_after_it(mo_clone_db):
    assert mo_clone_db.execute("SELECT COUNT(*) FROM users") == [(2,)]
"""


@pytest.mark.parametrize("args", [[], ["--mo-pool=0"], ["--mo-no-reset"]])
def test_a_test_that_leaves_a_lock_on_its_database_does_not_hang_the_run(
    inner: Inner, args: list[str]
) -> None:
    inner.pytester.makepyfile(test_left=LEAVES_A_LOCK)
    started = time.monotonic()
    result = inner.run("-p", "no:randomly", *args)
    assert time.monotonic() - started < 60
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "1 test left connections open on their database (ended before it was dropped or "
            "reused; close them in the test): test_left.py::test_leaves_a_transaction_open (1)"
        ]
    )
    assert inner.leftovers() == []

"""The plugin seen from a user's suite: isolation, fixtures, the golden, the report."""

from __future__ import annotations

import pytest
from conftest import Inner

from pytest_moclone import Client

USERS_TESTS = """
def test_rename(mo_clone_db):
    mo_clone_db.execute("UPDATE users SET name='bob' WHERE id=1")
    assert mo_clone_db.execute("SELECT name FROM users WHERE id=1")[0][0] == "bob"

def test_untouched(mo_clone_db):
    assert mo_clone_db.execute("SELECT name FROM users WHERE id=1")[0][0] == "ada"

def test_delete_all(mo_clone_db):
    mo_clone_db.execute("DELETE FROM users")
    assert mo_clone_db.execute("SELECT COUNT(*) FROM users")[0][0] == 0

def test_still_two(mo_clone_db):
    assert mo_clone_db.execute("SELECT COUNT(*) FROM users")[0][0] == 2
"""


def test_each_test_gets_its_own_clone_of_the_golden(inner: Inner) -> None:
    inner.pytester.makepyfile(test_users=USERS_TESTS)
    result = inner.run("-p", "no:randomly")
    result.assert_outcomes(passed=4)
    assert inner.golden_builds() == 1


def test_nothing_is_left_after_a_passing_run(inner: Inner) -> None:
    inner.pytester.makepyfile(test_users=USERS_TESTS)
    inner.run().assert_outcomes(passed=4)
    assert inner.leftovers() == []


def test_nothing_is_left_after_a_failing_run(inner: Inner) -> None:
    inner.pytester.makepyfile(
        test_fail="""
        def test_fails(mo_clone_db):
            mo_clone_db.execute("INSERT INTO users VALUES (3, 'eve')")
            assert False, "on purpose"
        """
    )
    inner.run().assert_outcomes(failed=1)
    assert inner.leftovers() == []


def test_nothing_is_left_after_an_interrupted_run(inner: Inner) -> None:
    inner.pytester.makepyfile(
        test_interrupt="""
        def test_first(mo_clone_db):
            pass

        def test_interrupts(mo_clone_db):
            raise KeyboardInterrupt

        def test_never_runs(mo_clone_db):
            pass
        """
    )
    result = inner.run()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert inner.leftovers() == []


def test_summary_reports_clones_and_golden_build(inner: Inner) -> None:
    inner.pytester.makepyfile(test_users=USERS_TESTS)
    result = inner.run("--mo-no-reset")  # every test a fresh clone: 4 are made
    result.stdout.fnmatch_lines(
        [
            "*- moclone -*",
            "*golden built in * s",
            "4 clones made: median * ms, slowest * ms (*test_users.py::*)",
        ]
    )


def test_header_names_server_dialect_version_and_setting_sources(
    inner: Inner, admin: Client
) -> None:
    inner.pytester.makepyfile(test_users=USERS_TESTS)
    result = inner.run("--mo-keep-failed")
    dialect = {"mariadb": "MariaDB", "mysql": "MySQL", "matrixone": "MatrixOne"}[admin.dialect_name]
    result.stdout.fnmatch_lines(
        [
            f"moclone: server {dialect} * at {admin.host}:{admin.port} (from the URL)",
            "moclone: settings *mo_url=* (env MOCLONE_URL)*mo_prefix=* (env MOCLONE_PREFIX)*"
            "mo_keep_failed=True (cli)*",
        ]
    )


def test_clone_names_carry_prefix_run_and_worker(inner: Inner) -> None:
    inner.pytester.makepyfile(
        test_names="""
        import os, re
        def test_name(mo_clone_db):
            name = mo_clone_db.database
            prefix = os.environ["MOCLONE_PREFIX"]
            assert re.fullmatch(prefix + r"_[a-z0-9]+_main_\\d+", name), name
            assert len(name) <= 64
        """
    )
    inner.run().assert_outcomes(passed=1)


def test_clone_url_opens_the_same_clone(inner: Inner) -> None:
    inner.pytester.makepyfile(
        test_url="""
        from pytest_moclone import Client
        def test_url(mo_clone_db, mo_clone_url):
            assert mo_clone_url.startswith("mysql+pymysql://")
            mo_clone_db.execute("INSERT INTO users VALUES (7, 'via fixture')")
            other = Client.from_url(mo_clone_url)
            assert other.execute("SELECT name FROM users WHERE id = 7") == [("via fixture",)]
            other.close()
        """
    )
    inner.run().assert_outcomes(passed=1)


def test_clone_factory_makes_independent_clones(inner: Inner) -> None:
    inner.pytester.makepyfile(
        test_factory="""
        def test_two(mo_clone_factory):
            a, b = mo_clone_factory(), mo_clone_factory()
            assert a.database != b.database
            a.execute("DELETE FROM users")
            assert b.execute("SELECT COUNT(*) FROM users") == [(2,)]
        """
    )
    inner.run().assert_outcomes(passed=1)
    assert inner.leftovers() == []


def test_worker_db_is_shared_by_the_tests_of_a_worker(inner: Inner) -> None:
    inner.pytester.makepyfile(
        test_worker="""
        def test_a(mo_worker_db):
            mo_worker_db.execute("INSERT INTO users VALUES (3, 'kept for b')")

        def test_b(mo_worker_db):
            assert mo_worker_db.execute("SELECT name FROM users WHERE id = 3") == [("kept for b",)]
        """
    )
    inner.run("-p", "no:randomly").assert_outcomes(passed=2)
    assert inner.leftovers() == []


def test_golden_from_sql_files_named_in_the_ini(inner: Inner) -> None:
    inner.pytester.makeconftest("")
    inner.pytester.makefile(".sql", schema="CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(9));")
    inner.pytester.makefile(
        ".sql", data="-- comment; not a statement\nINSERT INTO t VALUES (1, 'a;b'), (2, 'c');"
    )
    inner.pytester.makeini("[pytest]\nmo_golden_sql = schema.sql data.sql\n")
    inner.pytester.makepyfile(
        test_sql="""
        def test_rows(mo_clone_db):
            assert mo_clone_db.execute("SELECT v FROM t ORDER BY id") == [("a;b",), ("c",)]
        """
    )
    inner.run().assert_outcomes(passed=1)


def test_keep_failed_keeps_the_clone_and_says_how_to_open_it(inner: Inner, admin: Client) -> None:
    inner.pytester.makepyfile(
        test_keep="""
        def test_fails(mo_clone_db):
            mo_clone_db.execute("INSERT INTO users VALUES (3, 'evidence')")
            assert False

        def test_passes(mo_clone_db):
            pass
        """
    )
    result = inner.run("--mo-keep-failed")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*- database changes -*",
            f"kept database {inner.prefix}_* (--mo-keep-failed); open it with:",
            f"    mysql -h {admin.host} -P {admin.port} -u * {inner.prefix}_*",
            "kept 1 database of failed tests (--mo-keep-failed):",
        ]
    )
    left = inner.leftovers()
    assert len(left) == 1, left
    assert admin.execute(f"SELECT name FROM `{left[0]}`.users WHERE id = 3") == [("evidence",)]

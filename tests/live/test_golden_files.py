"""Golden SQL files run as the mysql client runs them, inside the golden only, and a golden
built in autocommit and committed whatever the hook or the files left open."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from conftest import Inner, on_matrixone

from pytest_moclone import Client
from pytest_moclone.sqlfile import conditional_applies, version_number

DUMP = Path(__file__).parent.parent / "data" / "minishop.sql"


def _bystander(admin: Client, stem: str) -> str:
    """A real database of the user's, named like the dump's: it must come out untouched."""
    name = f"t_{stem}_{uuid.uuid4().hex[:6]}"
    admin.execute(f"CREATE DATABASE {name}")
    admin.execute(f"CREATE TABLE {name}.keep_me (id INT PRIMARY KEY)")
    admin.execute(f"INSERT INTO {name}.keep_me VALUES (7)")
    return name


def _untouched(admin: Client, name: str) -> None:
    tables = admin.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (name,)
    )
    assert [str(t[0]).lower() for t in tables] == ["keep_me"]
    assert admin.execute(f"SELECT id FROM {name}.keep_me") == [(7,)]


@pytest.mark.mariadb_only(reason="the dump's trigger and routines are MySQL syntax")
def test_a_mysqldump_file_is_a_golden_and_its_database_is_left_alone(
    inner: Inner, admin: Client
) -> None:
    real = _bystander(admin, "minishop")
    try:
        inner.pytester.makeconftest("")
        dump = DUMP.read_text(encoding="utf-8").replace("minishop", real)
        (inner.pytester.path / "dump.sql").write_text(dump, encoding="utf-8")
        inner.pytester.makepyfile(
            test_dump="""
            def test_tables_and_rows(mo_clone_db):
                rows = mo_clone_db.execute("SELECT name FROM customer ORDER BY id")
                assert rows == [("Ada",), ("Grace",), ("Linus; the 'kernel'",)]
                assert mo_clone_db.execute("SELECT title FROM product WHERE id = 3") == [
                    ("Lamp /* not a comment */",)
                ]

            def test_the_trigger_fires_into_the_clone(mo_clone_db):
                mo_clone_db.execute(
                    "INSERT INTO orders (customer_id, product_id, qty) VALUES (2, 1, 5)"
                )
                assert mo_clone_db.execute("SELECT stock FROM product WHERE id = 1") == [(95,)]
                assert mo_clone_db.execute("SELECT what FROM audit") == [("order 4; product 1",)]

            def test_routines_and_the_view(mo_clone_db):
                assert str(mo_clone_db.execute("SELECT order_total(3)")[0][0]) == "30.00"
                mo_clone_db.execute("CALL restock(2, 5)")
                assert mo_clone_db.execute("SELECT stock FROM product WHERE id = 2") == [(15,)]
                assert mo_clone_db.execute("SELECT COUNT(*) FROM order_lines") == [(3,)]

            def test_foreign_keys(mo_clone_db):
                mo_clone_db.execute("DELETE FROM product WHERE id = 2")  # ON DELETE CASCADE
                assert mo_clone_db.execute("SELECT COUNT(*) FROM orders") == [(2,)]
            """
        )
        inner.run("--mo-golden-sql=dump.sql").assert_outcomes(passed=4)
        _untouched(admin, real)
    finally:
        admin.clone.drop(real)


def test_a_file_that_leaves_autocommit_off_gives_a_full_golden(inner: Inner, admin: Client) -> None:
    real = _bystander(admin, "sakila")
    try:
        inner.pytester.makeconftest("")
        inner.pytester.makefile(
            ".sql",
            seed=f"""
            -- how Sakila's files start, and how its data file ends (AUTOCOMMIT off, no COMMIT)
            DROP SCHEMA IF EXISTS {real};
            CREATE SCHEMA {real};
            USE {real};
            /*!40101 SET NAMES utf8mb4 */;
            /*M!100100 SET @only_mariadb = 1 */;
            CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20));
            SET AUTOCOMMIT=0;
            INSERT INTO t VALUES (1, 'one;1'), (2, 'two');
            INSERT INTO {real}.t VALUES (3, '{real}.t');
            """,
        )
        inner.pytester.makepyfile(
            test_seed=f"""
            def test_every_row_is_there(mo_clone_db):
                assert mo_clone_db.execute("SELECT id, v FROM t ORDER BY id") == [
                    (1, "one;1"), (2, "two"), (3, "{real}.t")
                ]
                assert mo_clone_db.execute("SELECT @@autocommit")[0][0] in (1, "1", "on", "ON")
            """
        )
        inner.run("--mo-golden-sql=seed.sql").assert_outcomes(passed=1)
        _untouched(admin, real)
    finally:
        admin.clone.drop(real)


def test_a_hook_that_turns_autocommit_off_gives_a_full_golden(inner: Inner) -> None:
    inner.pytester.makeconftest(
        """
        def pytest_moclone_setup_golden(client):
            client.execute("SET autocommit = 0")
            client.execute("CREATE TABLE t (id INT PRIMARY KEY)")
            client.execute("INSERT INTO t VALUES (1), (2), (3)")
        """
    )
    inner.pytester.makepyfile(
        test_hook="""
        def test_rows(mo_clone_db):
            assert mo_clone_db.execute("SELECT COUNT(*) FROM t") == [(3,)]
        """
    )
    inner.run().assert_outcomes(passed=1)


def test_a_file_reaching_a_second_database_is_refused_with_one_message(
    inner: Inner, admin: Client
) -> None:
    other = _bystander(admin, "other")
    try:
        inner.pytester.makeconftest("")
        inner.pytester.makefile(
            ".sql",
            seed=f"USE shop;\nCREATE TABLE t (id INT PRIMARY KEY);\nDROP DATABASE {other};\n",
        )
        inner.pytester.makepyfile(
            test_seed="""
            def test_one(mo_clone_db):
                pass
            """
        )
        result = inner.run("--mo-golden-sql=seed.sql")
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines(
            [
                "moclone: the golden could not be built: golden SQL file *seed.sql, line 3: "
                f"'DROP DATABASE {other}' reaches database '{other}'*"
            ]
        )
        _untouched(admin, other)
    finally:
        admin.clone.drop(other)


def test_conditional_comments_resolve_as_this_server_resolves_them(admin: Client) -> None:
    number = version_number(admin.info)
    checked = 0
    for version in ("40101", "50699", "50700", "80000", "80030", "99999", "100000", "999999"):
        for marker in ("", "M"):
            try:
                rows = admin.execute(f"SELECT 1 /*{marker}!{version} + 1 */")
            except Exception:  # MatrixOne cannot parse 6-digit versions: skipped client-side
                assert on_matrixone(admin) and len(version) == 6
                continue
            runs = conditional_applies(bool(marker), version, admin.info.dialect, number)
            assert int(rows[0][0]) == (2 if runs else 1), (marker, version)
            checked += 1
    assert checked >= 10

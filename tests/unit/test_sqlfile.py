"""Golden SQL files as the mysql client reads them (sqlfile.py): no server needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_moclone.sqlfile import (
    SqlFileError,
    Statement,
    conditional_applies,
    database_statement,
    one_database,
    resolve_conditionals,
    split_statements,
    version_number,
)
from pytest_moclone.version import parse_server_version


def texts(sql: str) -> list[str]:
    return [s.text for s in split_statements(sql)]


def test_statements_split_on_semicolons_outside_quotes_and_comments() -> None:
    sql = "INSERT INTO t VALUES ('a;b', \"c;d\", `e;f`);\n-- a comment; here\nSELECT 1 # x;y\n;"
    assert texts(sql) == ["INSERT INTO t VALUES ('a;b', \"c;d\", `e;f`)", "SELECT 1"]


def test_escaped_and_doubled_quotes_stay_inside_the_string() -> None:
    assert texts(r"SELECT 'it''s; \'x;' ; SELECT 2") == [r"SELECT 'it''s; \'x;'", "SELECT 2"]


def test_block_comments_go_and_double_dash_needs_a_space() -> None:
    assert texts("SELECT 5--1 /* ; */;SELECT 3") == ["SELECT 5--1", "SELECT 3"]


def test_delimiter_blocks_keep_a_routine_body_whole() -> None:
    sql = (
        "DELIMITER ;;\n"
        "CREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\n  SELECT 2;\nEND ;;\n"
        "DELIMITER ;\n"
        "CALL p();\n"
    )
    assert texts(sql) == ["CREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\n  SELECT 2;\nEND", "CALL p()"]


def test_each_statement_knows_its_line() -> None:
    sql = "SELECT 1;\n\n-- note\nSELECT\n 2;\nDELIMITER $$\nSELECT 3$$\n"
    assert [(s.text, s.line) for s in split_statements(sql)] == [
        ("SELECT 1", 1),
        ("SELECT\n 2", 4),
        ("SELECT 3", 7),
    ]


def test_conditional_comments_are_kept_whole_even_with_a_semicolon_in_a_string() -> None:
    sql = "/*!40101 SET @x = ';' */;\n/*!50003 CREATE*/ /*!50017 DEFINER=`u`@`h`*/ TRIGGER x;"
    assert texts(sql) == [
        "/*!40101 SET @x = ';' */",
        "/*!50003 CREATE*/ /*!50017 DEFINER=`u`@`h`*/ TRIGGER x",
    ]


@pytest.mark.parametrize(
    ("mariadb_only", "version", "dialect", "server", "runs"),
    [
        (False, None, "mariadb", 101119, True),
        (False, "40101", "mariadb", 101119, True),
        (False, "50699", "mariadb", 101119, True),
        (False, "50700", "mariadb", 101119, False),  # MySQL 5.7+ only: MariaDB skips it
        (False, "80000", "mariadb", 101119, False),
        (False, "100000", "mariadb", 101119, True),
        (False, "101120", "mariadb", 101119, False),
        (True, "100100", "mariadb", 101119, True),
        (False, "80000", "matrixone", 80030, True),
        (False, "99999", "matrixone", 80030, True),  # MatrixOne ignores 5-digit numbers
        (True, "50700", "mariadb", 101119, True),
        (False, "100100", "matrixone", 80030, False),
        (True, "100100", "matrixone", 80030, False),
        (True, None, "mysql", 80036, False),
        (False, "50717", "mysql", 80036, True),
    ],
)
def test_a_conditional_comment_runs_where_that_server_runs_it(
    mariadb_only: bool, version: str | None, dialect: str, server: int, runs: bool
) -> None:
    assert conditional_applies(mariadb_only, version, dialect, server) is runs


def test_resolving_keeps_the_content_that_applies_and_drops_the_rest() -> None:
    sql = "CREATE DATABASE /*!32312 IF NOT EXISTS*/ `s` /*!80016 DEFAULT ENCRYPTION='N' */"
    assert resolve_conditionals(sql, "mariadb", 101119).split() == [
        "CREATE",
        "DATABASE",
        "IF",
        "NOT",
        "EXISTS",
        "`s`",
    ]
    assert "ENCRYPTION" in resolve_conditionals(sql, "mysql", 80036)
    assert resolve_conditionals("SELECT '/*!40101 x */'", "mariadb", 101119) == (
        "SELECT '/*!40101 x */'"
    )
    assert resolve_conditionals("/*!999999 SET @x=1 */", "mariadb", 101119) == ""


def test_the_version_number_a_server_is_compared_with() -> None:
    assert version_number(parse_server_version("10.11.19-MariaDB-0+deb12u1")) == 101119
    assert version_number(parse_server_version("8.0.30-MatrixOne-v4.2.0")) == 80030
    assert version_number(parse_server_version("8.0.36")) == 80036


def test_database_statements_are_recognised() -> None:
    assert database_statement("USE `sakila`") == ("USE", "sakila", "")
    assert database_statement("drop schema if exists sakila") == ("DROP", "sakila", "")
    assert database_statement("CREATE DATABASE  IF NOT EXISTS  `s` DEFAULT CHARSET x") == (
        "CREATE",
        "s",
        "DEFAULT CHARSET x",
    )
    assert database_statement("CREATE TABLE t (id INT)") is None


def stmts(*texts: str) -> list[Statement]:
    return [Statement(t, n) for n, t in enumerate(texts, 1)]


def test_the_dumps_database_is_mapped_onto_the_golden() -> None:
    got = one_database(
        stmts(
            "DROP SCHEMA IF EXISTS sakila",
            "CREATE SCHEMA sakila",
            "USE sakila",
            "CREATE TABLE t (id INT)",
            "CREATE VIEW v AS SELECT * FROM `sakila`.t JOIN sakila.u ON 'sakila.x' = 1",
        ),
        "golden_1",
        Path("dump.sql"),
    )
    assert [s.text for s in got] == [
        "CREATE TABLE t (id INT)",
        "CREATE VIEW v AS SELECT * FROM `golden_1`.t JOIN `golden_1`.u ON 'sakila.x' = 1",
    ]
    assert [s.line for s in got] == [4, 5]


def test_a_second_database_refuses_the_file_naming_file_line_and_statement() -> None:
    with pytest.raises(SqlFileError) as info:
        one_database(
            stmts("USE shop", "CREATE TABLE t (id INT)", "DROP DATABASE other"),
            "golden_1",
            Path("seed.sql"),
        )
    assert "golden SQL file seed.sql, line 3: 'DROP DATABASE other' reaches database 'other'" in (
        str(info.value)
    )


def test_the_goldens_own_name_is_never_dropped_or_left() -> None:
    got = one_database(
        stmts("DROP DATABASE golden_1", "USE golden_1", "SELECT 1"), "golden_1", Path("f.sql")
    )
    assert [s.text for s in got] == ["SELECT 1"]


def test_on_a_server_that_folds_names_the_mapping_folds_too() -> None:
    got = one_database(
        stmts("USE Shop", "USE shop", "SELECT * FROM SHOP.t"),
        "golden_1",
        Path("f.sql"),
        folds_names=True,
    )
    assert [s.text for s in got] == ["SELECT * FROM `golden_1`.t"]

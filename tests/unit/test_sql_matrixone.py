"""The exact SQL sent to MatrixOne, pinned (see docs/matrixone.md)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from pytest_moclone.dialects.base import SnapshotInfo
from pytest_moclone.dialects.matrixone import (
    clone_database_sql,
    clone_table_sql,
    create_snapshot_sql,
    drop_snapshot_sql,
    parse_show_snapshots,
)
from pytest_moclone.dialects.mysql import frozen_database_name
from pytest_moclone.names import TableName

SNAP = SnapshotInfo("snap1", "database", "src")


def test_clone_statements() -> None:
    assert clone_database_sql("dst", "src") == "CREATE DATABASE `dst` CLONE `src`"
    assert clone_database_sql("dst", "src", SNAP) == (
        "CREATE DATABASE `dst` CLONE `src` {SNAPSHOT = 'snap1'}"
    )
    assert clone_table_sql(TableName("t2", "db2"), TableName("t", "db1"), SNAP) == (
        "CREATE TABLE `db2`.`t2` CLONE `db1`.`t` {SNAPSHOT = 'snap1'}"
    )


def test_if_not_exists_is_never_sent_with_clone() -> None:
    assert "IF NOT EXISTS" not in clone_database_sql("d", "s", SNAP)
    assert "IF NOT EXISTS" not in clone_table_sql(TableName("a", "d"), TableName("b", "d"))


def test_snapshot_statements() -> None:
    assert create_snapshot_sql("s", "db", None) == "CREATE SNAPSHOT `s` FOR DATABASE `db`"
    assert create_snapshot_sql("s", "db", "t") == "CREATE SNAPSHOT `s` FOR TABLE `db` `t`"
    assert create_snapshot_sql("s", "db", None, account_level=True) == (
        "CREATE SNAPSHOT `s` FOR ACCOUNT"
    )
    assert drop_snapshot_sql("s") == "DROP SNAPSHOT `s`"


@pytest.mark.parametrize("case", [str.upper, str.lower])
def test_show_snapshots_is_read_by_name_in_either_case(case: Callable[[str], str]) -> None:
    columns = [
        case(c)
        for c in (
            "SNAPSHOT_NAME",
            "TIMESTAMP",
            "SNAPSHOT_LEVEL",
            "ACCOUNT_NAME",
            "DATABASE_NAME",
            "TABLE_NAME",
        )
    ]
    rows = [
        ("s2", "2026-11-25 03:35:45.282790622", "table", "sys", "db", "t"),
        ("s1", "2026-11-25 03:35:45.236795545", "database", "sys", "db", ""),
    ]
    found = parse_show_snapshots(columns, rows)
    assert [s.name for s in found] == ["s2", "s1"]
    assert found[0].table == "t" and found[1].table is None and found[1].level == "database"
    assert found[1].created_at == dt.datetime(2026, 11, 25, 3, 35, 45, 236795, dt.timezone.utc)


def test_show_snapshots_without_its_columns_is_an_error() -> None:
    with pytest.raises(ValueError, match="without the columns"):
        parse_show_snapshots(["name"], [])


def test_frozen_copies_of_long_snapshot_names_fit_in_64_characters() -> None:
    assert frozen_database_name("s") == "__mosnap_s"
    long_a, long_b = "a" * 64, "a" * 63 + "b"
    assert len(frozen_database_name(long_a)) <= 64
    assert frozen_database_name(long_a) != frozen_database_name(long_b)

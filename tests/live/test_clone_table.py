"""Table clones: within a database, across databases (``db.table``), from snapshots."""

from __future__ import annotations

import pytest
from conftest import MakeName, checksum

from pytest_moclone import Client, CloneError


def test_a_table_clone_within_its_database(admin: Client, shop: str) -> None:
    assert admin.clone.clone_table(f"{shop}.customers_copy", f"{shop}.customers") is True
    assert checksum(admin, shop, "customers_copy") == checksum(admin, shop, "customers")
    admin.execute(f"DELETE FROM {shop}.customers_copy")
    assert admin.execute(f"SELECT COUNT(*) FROM {shop}.customers") == [(3,)]


def test_a_table_clone_into_another_database(
    admin: Client, shop: str, fresh_name: MakeName
) -> None:
    other = fresh_name("other")
    admin.execute(f"CREATE DATABASE {other}")
    admin.clone.clone_table(f"{other}.orders", f"{shop}.orders")
    assert checksum(admin, other, "orders") == checksum(admin, shop, "orders")


def test_unqualified_names_mean_the_clients_database(admin: Client, shop: str) -> None:
    with admin.connect_to(shop) as db:
        db.clone.clone_table("orders_copy", "orders")
    assert admin.execute(f"SELECT COUNT(*) FROM {shop}.orders_copy") == [(3,)]


def test_a_table_clone_from_a_database_snapshot(
    admin: Client, shop: str, snapshot_name: MakeName
) -> None:
    snap = snapshot_name()
    admin.snapshots.create(snap, database=shop)
    admin.execute(f"DELETE FROM {shop}.orders WHERE total = 30")
    admin.clone.clone_table_with_snapshot(f"{shop}.orders_then", f"{shop}.orders", snap)
    assert admin.execute(f"SELECT COUNT(*) FROM {shop}.orders_then") == [(3,)]


def test_a_table_clone_from_a_table_snapshot(
    admin: Client, shop: str, snapshot_name: MakeName
) -> None:
    snap = snapshot_name()
    info = admin.snapshots.create(snap, database=shop, table="customers")
    assert (info.level, info.database, info.table) == ("table", shop, "customers")
    admin.execute(f"UPDATE {shop}.customers SET name = 'later'")
    admin.clone.clone_table(f"{shop}.customers_then", f"{shop}.customers", snapshot_name=snap)
    assert admin.execute(f"SELECT name FROM {shop}.customers_then WHERE id = 1") == [("Ada",)]


def test_if_not_exists_leaves_an_existing_tables_rows_untouched(admin: Client, shop: str) -> None:
    # MatrixOne v4.0.0-rc3..v4.2.0 would append the source's rows if IF NOT EXISTS were sent
    admin.clone.clone_table(f"{shop}.orders_copy", f"{shop}.orders")
    assert (
        admin.clone.clone_table(f"{shop}.orders_copy", f"{shop}.orders", if_not_exists=True)
        is False
    )
    assert admin.execute(f"SELECT COUNT(*), COUNT(DISTINCT id) FROM {shop}.orders_copy") == [(3, 3)]


def test_an_existing_target_table_is_an_error(admin: Client, shop: str) -> None:
    with pytest.raises(
        CloneError, match=rf"table {shop}\.orders already exists \(use if_not_exists=True\)"
    ):
        admin.clone.clone_table(f"{shop}.orders", f"{shop}.customers")


def test_a_missing_source_table_is_an_error(admin: Client, shop: str) -> None:
    with pytest.raises(CloneError, match=rf"source table {shop}\.nope does not exist"):
        admin.clone.clone_table(f"{shop}.x", f"{shop}.nope")


def test_a_missing_target_database_is_an_error(
    admin: Client, shop: str, fresh_name: MakeName
) -> None:
    missing = fresh_name("missing")
    with pytest.raises(CloneError, match=f"target database '{missing}' does not exist"):
        admin.clone.clone_table(f"{missing}.orders", f"{shop}.orders")


def test_a_snapshot_of_another_table_is_refused(
    admin: Client, shop: str, snapshot_name: MakeName
) -> None:
    snap = snapshot_name()
    admin.snapshots.create(snap, database=shop, table="customers")
    with pytest.raises(CloneError, match=f"snapshot '{snap}' is of table '{shop}.customers'"):
        admin.clone.clone_table(f"{shop}.o2", f"{shop}.orders", snapshot_name=snap)

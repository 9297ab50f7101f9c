"""Database clones against the real server: MatrixOne native, MySQL/MariaDB emulated."""

from __future__ import annotations

import threading

import pytest
from conftest import MakeName, checksum, on_matrixone

from pytest_moclone import Client, CloneError, InvalidNameError, QueryError


def test_the_clone_has_identical_data(admin: Client, shop: str, fresh_name: MakeName) -> None:
    copy = fresh_name("copy")
    assert admin.clone.clone_database(copy, shop) is True
    for table in ("customers", "orders"):
        assert checksum(admin, copy, table) == checksum(admin, shop, table)
        assert checksum(admin, copy, table)[0] > 0


def test_clone_and_source_are_independent_both_ways(
    admin: Client, shop: str, fresh_name: MakeName
) -> None:
    copy = fresh_name("copy")
    admin.clone.clone_database(copy, shop)
    admin.execute(f"DELETE FROM {copy}.orders")
    admin.execute(f"UPDATE {shop}.customers SET name = 'changed' WHERE id = 1")
    assert admin.execute(f"SELECT COUNT(*) FROM {shop}.orders") == [(3,)]
    assert admin.execute(f"SELECT name FROM {copy}.customers WHERE id = 1") == [("Ada",)]


def test_a_clone_from_a_snapshot_sees_the_data_as_it_was(
    admin: Client, shop: str, fresh_name: MakeName, snapshot_name: MakeName
) -> None:
    snap = snapshot_name()
    admin.snapshots.create(snap, database=shop)
    admin.execute(f"INSERT INTO {shop}.orders (customer_id, total) VALUES (3, 99)")
    then, now = fresh_name("then"), fresh_name("now")
    admin.clone.clone_database_with_snapshot(then, shop, snap)
    admin.clone.clone_database(now, shop)
    assert admin.execute(f"SELECT COUNT(*) FROM {then}.orders") == [(3,)]
    assert admin.execute(f"SELECT COUNT(*) FROM {now}.orders") == [(4,)]


def test_foreign_keys_point_at_the_clones_own_tables(
    admin: Client, shop: str, fresh_name: MakeName
) -> None:
    copy = fresh_name("copy")
    admin.clone.clone_database(copy, shop)
    admin.execute(f"INSERT INTO {shop}.customers (id, email, name) VALUES (50, 'new@x', 'n')")
    # customer 50 exists only in the source: the clone's key must refuse it
    with pytest.raises(QueryError):
        admin.execute(f"INSERT INTO {copy}.orders (customer_id, total) VALUES (50, 1)")
    admin.execute(f"INSERT INTO {copy}.customers (id, email, name) VALUES (60, 'c@x', 'c')")
    admin.execute(f"INSERT INTO {copy}.orders (customer_id, total) VALUES (60, 1)")
    create = admin.query(f"SHOW CREATE TABLE {copy}.orders")[1][0][1]
    assert "REFERENCES `customers`" in create  # same database, not the source's


def test_views_read_the_clone(admin: Client, shop: str, fresh_name: MakeName) -> None:
    copy = fresh_name("copy")
    admin.clone.clone_database(copy, shop)
    admin.execute(f"UPDATE {copy}.orders SET total = 500 WHERE id = 1")
    assert (1, "Ada", 500) in admin.execute(f"SELECT id, name, total FROM {copy}.big_orders")
    assert all(row[0] != 1 for row in admin.execute(f"SELECT id FROM {shop}.big_orders"))


def test_unique_keys_hold_in_the_clone(admin: Client, shop: str, fresh_name: MakeName) -> None:
    copy = fresh_name("copy")
    admin.clone.clone_database(copy, shop)
    with pytest.raises(QueryError):
        admin.execute(f"INSERT INTO {copy}.customers (email, name) VALUES ('ada@x.org', 'twin')")


def test_auto_increment_carries_over(admin: Client, shop: str, fresh_name: MakeName) -> None:
    admin.execute(f"INSERT INTO {shop}.customers (email, name) VALUES ('gone@x', 'gone')")
    admin.execute(f"DELETE FROM {shop}.customers WHERE email = 'gone@x'")  # next id is now 5
    copy = fresh_name("copy")
    admin.clone.clone_database(copy, shop)
    admin.execute(f"INSERT INTO {copy}.customers (email, name) VALUES ('next@x', 'next')")
    new_id = admin.execute(f"SELECT id FROM {copy}.customers WHERE email = 'next@x'")[0][0]
    if on_matrixone(admin):
        assert new_id > 4  # MatrixOne carries the counter over, but it jumps
    else:
        assert new_id == 5  # exactly the source's next value, not max(id) + 1


def test_comments_and_generated_columns_carry_over(
    admin: Client, shop: str, fresh_name: MakeName
) -> None:
    if on_matrixone(admin) and not admin.info.at_least(4, 0, 0):
        pytest.skip("MatrixOne 3.0 has no generated columns")
    admin.execute(f"CREATE TABLE {shop}.g (a INT PRIMARY KEY, b INT AS (a * 2) STORED)")
    admin.execute(f"INSERT INTO {shop}.g (a) VALUES (1), (2)")
    copy = fresh_name("copy")
    admin.clone.clone_database(copy, shop)
    assert admin.execute(f"SELECT a, b FROM {copy}.g ORDER BY a") == [(1, 2), (2, 4)]
    admin.execute(f"INSERT INTO {copy}.g (a) VALUES (5)")
    assert admin.execute(f"SELECT b FROM {copy}.g WHERE a = 5") == [(10,)]
    assert "COMMENT 'display name'" in admin.query(f"SHOW CREATE TABLE {copy}.customers")[1][0][1]


@pytest.mark.mariadb_only(
    reason="MatrixOne has no triggers or stored routines (CREATE TRIGGER is a syntax error)"
)
def test_triggers_and_routines_carry_over_and_use_the_clone(
    admin: Client, shop: str, fresh_name: MakeName
) -> None:
    with admin.connect_to(shop) as db:
        db.execute("CREATE TABLE audit (n INT)")
        db.execute(
            "CREATE TRIGGER count_orders AFTER INSERT ON orders FOR EACH ROW "
            "INSERT INTO audit VALUES (NEW.total)"
        )
        db.execute("CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 2")
        db.execute(
            "CREATE PROCEDURE add_order(c INT, t INT) BEGIN "
            "INSERT INTO orders (customer_id, total) VALUES (c, t); END"
        )
    copy = fresh_name("copy")
    admin.clone.clone_database(copy, shop)
    with admin.connect_to(copy) as db:
        db.execute("CALL add_order(2, 7)")
        assert db.execute("SELECT twice(21)") == [(42,)]
        assert db.execute("SELECT n FROM audit") == [(7,)]  # the clone's trigger, clone's table
    assert admin.execute(f"SELECT COUNT(*) FROM {shop}.audit") == [(0,)]


def test_if_not_exists_leaves_an_existing_target_untouched(
    admin: Client, shop: str, fresh_name: MakeName
) -> None:
    copy = fresh_name("copy")
    admin.clone.clone_database(copy, shop)
    admin.execute(f"DELETE FROM {copy}.orders")
    assert admin.clone.clone_database(copy, shop, if_not_exists=True) is False
    assert admin.execute(f"SELECT COUNT(*) FROM {copy}.orders") == [(0,)]


def test_an_existing_target_is_an_error_that_says_what_to_do(
    admin: Client, shop: str, fresh_name: MakeName
) -> None:
    copy = fresh_name("copy")
    admin.execute(f"CREATE DATABASE {copy}")
    with pytest.raises(CloneError) as info:
        admin.clone.clone_database(copy, shop)
    assert str(info.value) == (
        f"cannot clone database '{shop}' into '{copy}': database '{copy}' already exists "
        "(use if_not_exists=True)"
    )


def test_a_missing_source_raises_and_leaves_no_empty_database(
    admin: Client, fresh_name: MakeName
) -> None:
    missing, copy = fresh_name("missing"), fresh_name("copy")
    with pytest.raises(CloneError, match=f"source database '{missing}' does not exist"):
        admin.clone.clone_database(copy, missing)
    assert admin.execute(
        "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = %s", (copy,)
    ) == [(0,)]


def test_system_databases_are_refused(admin: Client, fresh_name: MakeName) -> None:
    with pytest.raises(InvalidNameError, match="system database"):
        admin.clone.clone_database(fresh_name("copy"), "mysql")
    with pytest.raises(InvalidNameError, match="system database"):
        admin.clone.clone_database("information_schema", "x")


@pytest.mark.parametrize("bad", ["a;drop database mysql", "x`y", "", "x" * 65])
def test_bad_names_are_refused_before_any_sql(admin: Client, shop: str, bad: str) -> None:
    with pytest.raises(InvalidNameError):
        admin.clone.clone_database(bad, shop)


def test_the_clone_is_native_only_on_matrixone(admin: Client) -> None:
    assert admin.clone.native is on_matrixone(admin)


def test_a_clone_made_beside_a_writer_is_consistent(admin: Client, fresh_name: MakeName) -> None:
    source = fresh_name("bank")
    admin.execute(f"CREATE DATABASE {source}")
    admin.execute(f"CREATE TABLE {source}.a (id INT PRIMARY KEY, bal INT)")
    admin.execute(f"CREATE TABLE {source}.b (id INT PRIMARY KEY, bal INT)")
    admin.execute(f"INSERT INTO {source}.a VALUES (1, 1000)")
    admin.execute(f"INSERT INTO {source}.b VALUES (1, 1000)")
    stop = threading.Event()

    def move_money() -> None:
        with Client.from_url(admin.url_for(None, scheme="mysql")) as writer:
            while not stop.is_set():
                with writer.session() as s:
                    s.execute(f"UPDATE {source}.a SET bal = bal - 1 WHERE id = 1")
                    s.execute(f"UPDATE {source}.b SET bal = bal + 1 WHERE id = 1")

    thread = threading.Thread(target=move_money)
    thread.start()
    try:
        for _ in range(5):
            copy = fresh_name("bankcopy")
            admin.clone.clone_database(copy, source)
            total = admin.execute(
                f"SELECT (SELECT bal FROM {copy}.a) + (SELECT bal FROM {copy}.b)"
            )[0][0]
            assert total == 2000
    finally:
        stop.set()
        thread.join()

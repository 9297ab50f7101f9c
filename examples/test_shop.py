"""The example suite: every test works on its own clone of the golden shop."""

from __future__ import annotations

import pytest

from pytest_moclone import Client, QueryError


def order_total(db: Client, order_id: int) -> int:
    return int(
        db.execute("SELECT total_cents FROM order_totals WHERE order_id = %s", (order_id,))[0][0]
    )


def test_golden_shop_is_there(mo_clone_db: Client) -> None:
    assert mo_clone_db.execute("SELECT COUNT(*) FROM customers") == [(3,)]
    assert order_total(mo_clone_db, 1) == 1999 + 2 * 899


def test_adding_a_line_changes_the_view(mo_clone_db: Client) -> None:
    mo_clone_db.execute("INSERT INTO order_lines VALUES (2, 4, 1)")
    assert order_total(mo_clone_db, 2) == 2599 + 899


def test_previous_test_left_no_trace(mo_clone_db: Client) -> None:
    assert order_total(mo_clone_db, 2) == 2599


def test_foreign_keys_hold_in_the_clone(mo_clone_db: Client) -> None:
    with pytest.raises(QueryError):
        mo_clone_db.execute("INSERT INTO orders (customer_id) VALUES (999)")


def test_emails_stay_unique(mo_clone_db: Client) -> None:
    with pytest.raises(QueryError):
        mo_clone_db.execute("INSERT INTO customers (email, name) VALUES ('ada@example.com', 'x')")


@pytest.mark.parametrize("status", ["paid", "shipped", "cancelled"])
def test_close_every_open_order(mo_clone_db: Client, status: str) -> None:
    mo_clone_db.execute("UPDATE orders SET status = %s WHERE status = 'open'", (status,))
    assert mo_clone_db.execute("SELECT COUNT(*) FROM orders WHERE status = 'open'") == [(0,)]


def test_a_second_clone_in_one_test(mo_clone_db: Client, mo_clone_factory) -> None:
    other = mo_clone_factory()
    other.execute("DELETE FROM order_lines")
    assert mo_clone_db.execute("SELECT COUNT(*) FROM order_lines") == [(4,)]

"""An example golden database, and how a suite adopts pytest-moclone.

Copy this file to your project's ``conftest.py`` (or import its hook from there). The hook runs
once per test run, on the golden database; every test that asks for ``mo_clone_db`` then gets its
own clone of it, in milliseconds, and the clone is dropped after the test.

Run the example suite with it: scripts/example.sh (or pytest examples, whose conftest.py
imports this hook).
"""

from __future__ import annotations

from pytest_moclone import Client

SCHEMA = [
    """CREATE TABLE customers (
        id INT PRIMARY KEY AUTO_INCREMENT,
        email VARCHAR(120) NOT NULL UNIQUE,
        name VARCHAR(80) NOT NULL
    )""",
    """CREATE TABLE products (
        id INT PRIMARY KEY AUTO_INCREMENT,
        sku VARCHAR(20) NOT NULL UNIQUE,
        title VARCHAR(120) NOT NULL,
        price_cents INT NOT NULL
    )""",
    """CREATE TABLE orders (
        id INT PRIMARY KEY AUTO_INCREMENT,
        customer_id INT NOT NULL,
        status VARCHAR(12) NOT NULL DEFAULT 'open',
        FOREIGN KEY (customer_id) REFERENCES customers (id)
    )""",
    """CREATE TABLE order_lines (
        order_id INT NOT NULL,
        product_id INT NOT NULL,
        quantity INT NOT NULL,
        PRIMARY KEY (order_id, product_id),
        FOREIGN KEY (order_id) REFERENCES orders (id),
        FOREIGN KEY (product_id) REFERENCES products (id)
    )""",
    """CREATE VIEW order_totals AS
        SELECT o.id AS order_id, o.customer_id, SUM(l.quantity * p.price_cents) AS total_cents
        FROM orders o
        JOIN order_lines l ON l.order_id = o.id
        JOIN products p ON p.id = l.product_id
        GROUP BY o.id, o.customer_id""",
]

DATA = [
    "INSERT INTO customers (email, name) VALUES "
    "('ada@example.com', 'Ada Lovelace'), ('grace@example.com', 'Grace Hopper'), "
    "('alan@example.com', 'Alan Turing')",
    "INSERT INTO products (sku, title, price_cents) VALUES "
    "('BK-001', 'Notes on the Analytical Engine', 1999), ('BK-002', 'COBOL at Sea', 2599), "
    "('BK-003', 'On Computable Numbers', 1499), ('MUG-01', 'Bug Mug', 899)",
    "INSERT INTO orders (customer_id, status) VALUES (1, 'paid'), (2, 'open'), (1, 'open')",
    "INSERT INTO order_lines VALUES (1, 1, 1), (1, 4, 2), (2, 2, 1), (3, 3, 3)",
]


def pytest_moclone_setup_golden(client: Client) -> None:
    """Build the golden shop once; ``client`` is connected to the golden database."""
    for statement in SCHEMA + DATA:
        client.execute(statement)

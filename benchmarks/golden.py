"""The benchmark golden: 20 related tables (foreign keys, a view, AUTO_INCREMENT, a trigger on
MySQL/MariaDB), its rows generated on the server so that a 1 M-row golden builds in seconds."""

from __future__ import annotations

from pytest_moclone import Client

TABLES = 20


def numbers(client: Client, count: int) -> str:
    """A server-side row source of 1..count, as a FROM clause with a column ``n``."""
    if client.dialect_name == "matrixone":
        return f"(SELECT result AS n FROM generate_series(1, {count}) g) s"
    return f"(SELECT seq AS n FROM seq_1_to_{count}) s"


def build(client: Client, database: str, rows: int) -> None:
    """Create ``database`` with ``rows`` rows spread over the 20 tables."""
    client.execute(f"CREATE DATABASE `{database}`")
    with client.connect_to(database) as db:
        fill(db, rows)


def fill(db: Client, rows: int) -> None:
    """Fill the database ``db`` is connected to (also the suite benchmark's golden hook)."""
    per_table = max(1, rows // TABLES)
    for i in range(TABLES):
        parent = (
            f", CONSTRAINT fk_{i:02d} FOREIGN KEY (parent_id) REFERENCES t{i - 1:02d} (id)"
            if i
            else ""
        )
        db.execute(
            f"CREATE TABLE t{i:02d} (id INT PRIMARY KEY AUTO_INCREMENT, parent_id INT, "
            f"name VARCHAR(40), amount DECIMAL(10, 2), created DATE, KEY ix_amount (amount)"
            f"{parent})"
        )
        db.execute(
            f"INSERT INTO t{i:02d} (id, parent_id, name, amount, created) "
            f"SELECT n, {'n' if i else 'NULL'}, CONCAT('name-', n), n % 1000, '2026-01-01' "
            f"FROM {numbers(db, per_table)}"
        )
    db.execute(
        "CREATE VIEW v_summary AS SELECT a.id, a.name, b.amount FROM t00 a "
        "JOIN t01 b ON b.parent_id = a.id"
    )
    if db.dialect_name != "matrixone":  # MatrixOne has no triggers
        db.execute("CREATE TABLE audit (id INT PRIMARY KEY AUTO_INCREMENT, n INT)")
        db.execute(
            "CREATE TRIGGER t19_audit AFTER INSERT ON t19 FOR EACH ROW "
            "INSERT INTO audit (n) VALUES (NEW.id)"
        )


def touch(client: Client, database: str) -> None:
    """What a typical failing test does: one insert, one update, one delete."""
    client.execute(f"INSERT INTO `{database}`.t05 (name, amount) VALUES ('new', 1)")
    client.execute(f"UPDATE `{database}`.t07 SET amount = amount + 1 WHERE id = 3")
    client.execute(f"DELETE FROM `{database}`.t19 WHERE id = 4")

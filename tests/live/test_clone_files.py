"""Clones of large tables as tablespace files, on the private MariaDB whose data folder we own.

The file route is taken for tables of at least ``tablespaces.MIN_BYTES``; these tests lower that
to 0 so that the small shop goes through it, and check what the SQL copy's tests check.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import MakeName, checksum

from pytest_moclone import Client, CloneError, QueryError
from pytest_moclone.dialects import tablespaces
from pytest_moclone.dialects.mysql import frozen_database_name
from pytest_moclone.dialects.mysql_plan import DatabasePlan, TablePlan, split_foreign_keys
from pytest_moclone.servers.mariadb import find_server

FILES_USED = "as tablespace files"


def _forced(client: Client) -> Client:
    client.dialect.file_copy_min_bytes = 0  # type: ignore[attr-defined]
    return client


@pytest.fixture
def files(admin: Client) -> Iterator[Client]:
    """A client that clones every table of a snapshot as files."""
    if admin.datadir is None or admin.dialect_name != "mariadb":
        pytest.skip(
            "tablespace files are copied only on a private MariaDB whose data folder this "
            f"process owns; this run's server is {admin.info.describe()} at "
            f"{admin.host}:{admin.port}"
        )
    with admin.connect_to(None) as client:
        yield _forced(client)


@pytest.fixture
def snapshot_of_shop(admin: Client, shop: str, snapshot_name: MakeName) -> str:
    """A shop with an AUTO_INCREMENT gap, a trigger and a routine, snapshotted."""
    with admin.connect_to(shop) as db:
        db.execute("INSERT INTO customers (email, name) VALUES ('gone@x', 'gone')")
        db.execute("DELETE FROM customers WHERE email = 'gone@x'")  # next id is now 5
        db.execute("CREATE TABLE audit (n INT)")
        db.execute(
            "CREATE TRIGGER count_orders AFTER INSERT ON orders FOR EACH ROW "
            "INSERT INTO audit VALUES (NEW.total)"
        )
        db.execute(
            "CREATE PROCEDURE add_order(c INT, t INT) BEGIN "
            "INSERT INTO orders (customer_id, total) VALUES (c, t); END"
        )
        db.execute(
            "CREATE TABLE notes (id INT PRIMARY KEY, twice INT AS (id * 2) STORED, "
            "next_id INT AS (id + 1) VIRTUAL, body LONGTEXT, CHECK (id > 0))"
        )
        db.execute("INSERT INTO notes (id, body) VALUES (1, REPEAT('long ', 20000)), (2, 'short')")
    snap = snapshot_name()
    admin.snapshots.create(snap, database=shop)
    return snap


def test_a_file_clone_carries_everything_over(
    files: Client,
    shop: str,
    snapshot_of_shop: str,
    fresh_name: MakeName,
    caplog: pytest.LogCaptureFixture,
) -> None:
    copy = fresh_name("files")
    with caplog.at_level(logging.DEBUG, logger="pytest_moclone"):
        files.clone.clone_database_with_snapshot(copy, shop, snapshot_of_shop)
    assert f"cloned 4 tables of {copy} {FILES_USED}" in caplog.text
    for table in ("customers", "orders", "notes"):
        assert checksum(files, copy, table) == checksum(files, shop, table)
    # generated columns, off-page text and CHECK constraints came along
    assert files.execute(
        f"SELECT id, twice, next_id, LENGTH(body) FROM {copy}.notes ORDER BY id"
    ) == [(1, 2, 2, 100000), (2, 4, 3, 5)]
    with pytest.raises(QueryError):
        files.execute(f"INSERT INTO {copy}.notes (id) VALUES (-1)")
    with files.connect_to(copy) as db:
        # foreign keys point at the clone's own tables
        assert "REFERENCES `customers`" in db.query("SHOW CREATE TABLE orders")[1][0][1]
        files.execute(f"INSERT INTO {shop}.customers (id, email, name) VALUES (50, 'n@x', 'n')")
        with pytest.raises(QueryError):
            db.execute("INSERT INTO orders (customer_id, total) VALUES (50, 1)")
        # AUTO_INCREMENT exactly (before a failed insert spends a value), unique keys, the view,
        # the trigger and the routine
        db.execute("INSERT INTO customers (email, name) VALUES ('next@x', 'next')")
        assert db.execute("SELECT id FROM customers WHERE email = 'next@x'") == [(5,)]
        with pytest.raises(QueryError):
            db.execute("INSERT INTO customers (email, name) VALUES ('ada@x.org', 'twin')")
        db.execute("CALL add_order(2, 70)")
        assert db.execute("SELECT n FROM audit") == [(70,)]
        assert ("Grace", 70) in db.execute("SELECT name, total FROM big_orders")
    assert files.execute(f"SELECT COUNT(*) FROM {shop}.audit") == [(0,)]


def test_file_clones_are_independent_of_each_other_and_the_snapshot(
    files: Client, shop: str, snapshot_of_shop: str, fresh_name: MakeName
) -> None:
    first, second = fresh_name("first"), fresh_name("second")
    files.clone.clone_database_with_snapshot(first, shop, snapshot_of_shop)
    files.execute(f"DELETE FROM {first}.orders")
    files.execute(f"UPDATE {first}.customers SET name = 'changed'")
    files.clone.clone_database_with_snapshot(second, shop, snapshot_of_shop)
    assert files.execute(f"SELECT COUNT(*) FROM {second}.orders") == [(3,)]
    assert files.execute(f"SELECT name FROM {second}.customers WHERE id = 1") == [("Ada",)]
    frozen = frozen_database_name(snapshot_of_shop)
    assert checksum(files, frozen, "orders") == checksum(files, shop, "orders")


def test_concurrent_file_clones_of_one_snapshot_take_turns(
    files: Client, shop: str, snapshot_of_shop: str, fresh_name: MakeName
) -> None:
    names = [fresh_name("par") for _ in range(4)]
    errors: list[BaseException] = []

    def clone(name: str) -> None:
        try:
            with files.connect_to(None) as own:
                _forced(own).clone.clone_database_with_snapshot(name, shop, snapshot_of_shop)
        except BaseException as exc:  # reported below, with the others
            errors.append(exc)

    threads = [threading.Thread(target=clone, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    for name in names:
        assert checksum(files, name, "orders") == checksum(files, shop, "orders")


def test_a_failed_file_copy_leaves_no_database(
    files: Client,
    shop: str,
    snapshot_of_shop: str,
    fresh_name: MakeName,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def disk_full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("pytest_moclone.dialects.tablespaces.shutil.copyfile", disk_full)
    copy = fresh_name("failed")
    with pytest.raises(CloneError, match=r"copying a tablespace file failed.*No space left"):
        files.clone.clone_database_with_snapshot(copy, shop, snapshot_of_shop)
    assert not files.execute(
        "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (copy,)
    )
    assert files.execute("SELECT @@session.foreign_key_checks") == [(1,)]


def test_a_data_folder_that_is_not_the_servers_is_caught_and_rows_are_copied(
    files: Client,
    shop: str,
    snapshot_of_shop: str,
    fresh_name: MakeName,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The snapshot's files seem to be there, but this is not the folder the server writes.
    frozen = frozen_database_name(snapshot_of_shop)
    assert files.datadir is not None
    shutil.copytree(files.datadir / frozen, tmp_path / frozen)
    with Client.from_url(files.url_for(None, scheme="mysql"), datadir=tmp_path) as wrong:
        _forced(wrong)
        first, second = fresh_name("wrong"), fresh_name("wrong")
        with caplog.at_level(logging.DEBUG, logger="pytest_moclone"):
            wrong.clone.clone_database_with_snapshot(first, shop, snapshot_of_shop)
            wrong.clone.clone_database_with_snapshot(second, shop, snapshot_of_shop)
    assert caplog.text.count("is not this server's data folder") == 1  # then not tried again
    assert FILES_USED not in caplog.text
    for name in (first, second):
        assert checksum(files, name, "orders") == checksum(files, shop, "orders")
    assert not (tmp_path / first).exists()


# -- what qualifies (pure) ---------------------------------------------------------------------
def _plan(tmp_path: Path, *tables: TablePlan, sizes: dict[str, int]) -> DatabasePlan:
    folder = tmp_path / "src"
    folder.mkdir()
    for name, size in sizes.items():
        (folder / f"{name}.ibd").write_bytes(b"\0" * size)
    return DatabasePlan("src", "utf8mb4", "utf8mb4_general_ci", list(tables))


def test_only_large_plain_innodb_tables_qualify(tmp_path: Path) -> None:
    create = "CREATE TABLE `{}` (\n  `id` int(11) NOT NULL\n) ENGINE=InnoDB"
    plain = TablePlan("big", create.format("big"), ("id",), "InnoDB")
    small = TablePlan("small", create.format("small"), ("id",), "InnoDB")
    fulltext = TablePlan("ft", "CREATE TABLE `ft` (\n  FULLTEXT KEY `f` (`t`)\n)", ("t",), "InnoDB")
    parted = TablePlan("parts", create.format("parts"), ("id",), "InnoDB", partitioned=True)
    myisam = TablePlan("old", create.format("old"), ("id",), "MyISAM")
    dashed = TablePlan("a-b", create.format("a-b"), ("id",), "InnoDB")
    versioned_sql = create.format("ver") + " WITH SYSTEM VERSIONING"
    versioned = TablePlan("ver", versioned_sql, ("id",), "InnoDB")
    missing = TablePlan("gone", create.format("gone"), ("id",), "InnoDB")
    tables = (plain, small, fulltext, parted, myisam, dashed, versioned)
    sizes = {t.name: 100 for t in tables} | {"small": 10}
    plan = _plan(tmp_path, *tables, missing, sizes=sizes)
    assert tablespaces.tables_to_copy(plan, tmp_path, "dst", 50) == ["big"]
    assert tablespaces.tables_to_copy(plan, tmp_path, "d-st", 50) == []  # file name encoded


def test_foreign_keys_are_split_off_and_put_back_whole() -> None:
    create = (
        "CREATE TABLE `orders` (\n"
        "  `id` int(11) NOT NULL,\n"
        "  `customer_id` int(11) NOT NULL,\n"
        "  PRIMARY KEY (`id`),\n"
        "  KEY `fk_customer` (`customer_id`),\n"
        "  CONSTRAINT `fk_customer` FOREIGN KEY (`customer_id`) REFERENCES `customers` (`id`) "
        "ON DELETE CASCADE,\n"
        "  CONSTRAINT `ck` CHECK (`id` > 0)\n"
        ") ENGINE=InnoDB DEFAULT CHARSET=latin1"
    )
    bare, keys = split_foreign_keys(create)
    assert keys == [
        "CONSTRAINT `fk_customer` FOREIGN KEY (`customer_id`) REFERENCES `customers` (`id`) "
        "ON DELETE CASCADE"
    ]
    assert bare == create.replace(keys[0].join(["  ", ",\n"]), "")
    plan = DatabasePlan("src", "latin1", "latin1_swedish_ci", [TablePlan("orders", create, ())])
    assert plan.foreign_key_statements("dst") == [f"ALTER TABLE `dst`.`orders` ADD {keys[0]}"]
    assert split_foreign_keys(bare) == (bare, [])


# -- through the plugin, on a private MariaDB of its own -------------------------------------------
BIG_GOLDEN = """
import logging, os

log = logging.getLogger("pytest_moclone")
log.setLevel(logging.DEBUG)
log.addHandler(logging.FileHandler(os.path.join(os.path.dirname(__file__), "moclone.log")))

def pytest_moclone_setup_golden(client):
    client.execute("CREATE TABLE parent (id INT PRIMARY KEY)")
    client.execute("INSERT INTO parent VALUES (1)")
    client.execute(
        "CREATE TABLE big (id INT PRIMARY KEY AUTO_INCREMENT, parent_id INT NOT NULL, "
        "pad VARCHAR(400), FOREIGN KEY (parent_id) REFERENCES parent (id))"
    )
    client.execute("INSERT INTO big (parent_id, pad) SELECT 1, REPEAT('x', 400) FROM seq_1_to_4000")
"""

BIG_TESTS = """
import pytest

@pytest.mark.parametrize("n", range(6))
def test_own_copy(mo_clone_db, mo_client, mo_golden, n):
    next_id = mo_client.execute(
        "SELECT auto_increment FROM information_schema.tables "
        "WHERE table_schema = %s AND table_name = 'big'", (mo_golden.database,)
    )[0][0]
    assert next_id > 4000  # a bulk insert reserves ids ahead
    assert mo_clone_db.execute("SELECT COUNT(*), MAX(id) FROM big") == [(4000, 4000)]
    mo_clone_db.execute("DELETE FROM big WHERE id > %s", (n,))
    mo_clone_db.execute("INSERT INTO big (parent_id, pad) VALUES (1, 'new')")
    assert mo_clone_db.execute("SELECT MAX(id) FROM big") == [(next_id,)]  # the golden's counter
"""


@pytest.mark.skipif(
    find_server() is None, reason="needs MariaDB's binaries (apt-get install mariadb-server)"
)
@pytest.mark.parametrize("flag", [None, "--mo-no-file-copy"])
def test_the_plugin_copies_files_on_its_private_mariadb_unless_told_not_to(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, flag: str | None
) -> None:
    for name in ("MOCLONE_URL", "MOCLONE_MO_BINARY", "MOCLONE_SERVER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MOCLONE_CACHE_DIR", str(pytester.path / ".moclone-cache"))
    pytester.makeconftest(BIG_GOLDEN)
    pytester.makepyfile(test_big=BIG_TESTS)
    args = ["-p", "no:cacheprovider", "-n", "2", "--mo-server", "mariadb"]
    result = pytester.runpytest_subprocess(*args, *([flag] if flag else []))
    result.assert_outcomes(passed=6)
    copied = (pytester.path / "moclone.log").read_text().count(FILES_USED)
    if flag is None:
        assert copied >= 6  # every test's clone (and the pools' spares)
    else:
        assert copied == 0


def test_a_session_that_fails_drops_its_file_clones(
    files: Client, shop: str, snapshot_of_shop: str, fresh_name: MakeName
) -> None:
    copy = fresh_name("session")
    with pytest.raises(RuntimeError, match="boom"), files.session() as s:
        s.clone.clone_database_with_snapshot(copy, shop, snapshot_of_shop)
        assert files.execute(f"SELECT COUNT(*) FROM {copy}.orders") == [(3,)]
        raise RuntimeError("boom")
    assert not files.execute(
        "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (copy,)
    )

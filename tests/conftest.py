"""Fixtures shared by the project's own tests.

The suite's server comes from the plugin itself: the private MariaDB it starts by default, or the
server ``MOCLONE_URL`` / ``MOCLONE_MO_BINARY`` names. Library tests make their own databases
through ``fresh_name``; plugin tests run small suites through ``pytester`` against the same
server (handed over as ``MOCLONE_URL``), each with its own prefix and records folder.

Layout: ``tests/unit`` holds pure tests (no server: ``pytest -m unit`` runs them alone) and
``tests/live`` everything that talks to a real server; each test gets the ``unit`` or ``live``
marker from its folder. A test of one backend's behaviour says so with
``@pytest.mark.matrixone_only(reason=...)`` or ``@pytest.mark.mariadb_only(reason=...)``; the
``backend_markers`` fixture below skips it elsewhere, with that reason.
"""

from __future__ import annotations

import itertools
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

from pytest_moclone import Client

_counter = itertools.count()


class MakeName(Protocol):
    """``fresh_name`` / ``snapshot_name``: a stem in (optional), a unique name out."""

    def __call__(self, stem: str = ...) -> str: ...


_HERE = Path(__file__).parent
_FOLDER_MARKERS = {"unit": _HERE / "unit", "live": _HERE / "live"}


# fixtures that reach the suite's server: a unit test asking for one is a collection error
SERVER_FIXTURES = frozenset(
    {"admin", "server_url", "fresh_name", "shop", "snapshot_name", "inner", "golden"}
    | {"mo_server", "mo_client", "mo_golden", "mo_clone_db", "mo_clone_url", "mo_clone_factory"}
    | {"mo_worker_db", "mo_txn_db"}
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """``unit`` or ``live`` from the test's folder, so ``-m unit`` runs without a server."""
    wrong = []
    for item in items:
        for marker, folder in _FOLDER_MARKERS.items():
            if item.path.is_relative_to(folder):
                item.add_marker(marker)
        if item.get_closest_marker("unit"):
            asks = SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ()))
            asks |= {m for m in BACKEND_MARKERS if item.get_closest_marker(m)}
            if asks:
                wrong.append(f"{item.nodeid} ({', '.join(sorted(asks))})")
    if wrong:
        raise pytest.UsageError(
            "unit tests need a server; move them to tests/live: " + "; ".join(wrong)
        )


# marker -> (the dialects it runs on, the default reason)
BACKEND_MARKERS: dict[str, tuple[frozenset[str], str]] = {
    "matrixone_only": (frozenset({"matrixone"}), "MatrixOne only"),
    "mariadb_only": (frozenset({"mariadb", "mysql"}), "MySQL/MariaDB only"),
}


@pytest.fixture(autouse=True)
def backend_markers(request: pytest.FixtureRequest) -> None:
    """Skip a ``matrixone_only`` / ``mariadb_only`` test on the other backend, with its reason.

    Asks for the server (``admin``) only when the test carries one of the markers, so unmarked
    tests, unit tests among them, never start one."""
    for name, (dialects, default) in BACKEND_MARKERS.items():
        marker = request.node.get_closest_marker(name)
        if marker is None:
            continue
        admin: Client = request.getfixturevalue("admin")
        if admin.dialect_name not in dialects:
            reason = marker.kwargs.get("reason", marker.args[0] if marker.args else default)
            pytest.skip(str(reason))


@pytest.fixture(scope="session")
def admin(request: pytest.FixtureRequest) -> Iterator[Client]:
    """An autocommit client on the suite's server (no database selected)."""
    if request.config.pluginmanager.hasplugin("moclone"):
        yield request.getfixturevalue("mo_client")
        return
    url = os.environ.get("MOCLONE_URL")  # run with -p no:moclone: the server must be named
    if not url:
        pytest.skip("the moclone plugin is disabled and MOCLONE_URL is not set")
    client = Client.from_url(url)
    yield client
    client.close()


@pytest.fixture(scope="session")
def server_url(admin: Client) -> str:
    return admin.url_for(None, scheme="mysql")


@pytest.fixture
def fresh_name(admin: Client) -> Iterator[MakeName]:
    """``fresh_name("src")`` -> a unique database name; every one is dropped after the test."""
    made: list[str] = []
    token = uuid.uuid4().hex[:6]

    def make(stem: str = "db") -> str:
        name = f"t_{stem}_{token}_{next(_counter)}"
        made.append(name)
        return name

    yield make
    for name in reversed(made):  # a later database may hold foreign keys into an earlier one
        admin.clone.drop(name)


def on_matrixone(client: Client) -> bool:
    return client.dialect_name == "matrixone"


GOLDEN_CONFTEST = """
import os
import shutil

def pytest_moclone_setup_golden(client):
    with open(os.path.join(os.path.dirname(__file__), "golden_builds.txt"), "a") as out:
        out.write(str(os.getpid()) + "\\n")
    client.execute("CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(50))")
    client.execute("INSERT INTO users VALUES (1, 'ada'), (2, 'grace')")
"""


class Inner:
    """A small suite run through the real plugin against the suite's server."""

    def __init__(self, pytester: pytest.Pytester, admin: Client, prefix: str) -> None:
        self.pytester = pytester
        self.admin = admin
        self.prefix = prefix

    def golden_builds(self) -> int:
        path = self.pytester.path / "golden_builds.txt"
        return len(path.read_text().splitlines()) if path.exists() else 0

    def leftover_databases(self) -> list[str]:
        rows = self.admin.execute(
            "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE %s",
            (f"%{self.prefix}%",),
        )
        return sorted(str(r[0]) for r in rows)

    def leftover_snapshots(self) -> list[str]:
        return sorted(s.name for s in self.admin.snapshots.list() if self.prefix in s.name)

    def leftovers(self) -> list[str]:
        """Databases and snapshots on the server whose names carry this suite's prefix."""
        return self.leftover_databases() + self.leftover_snapshots()

    def run(self, *args: str) -> pytest.RunResult:
        return self.pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


@pytest.fixture
def own_server(inner: Inner, admin: Client, monkeypatch: pytest.MonkeyPatch) -> Inner:
    """The inner run on the suite's MatrixOne, or on a private MariaDB of its own: the change
    signals that recycle databases need a data folder of the plugin's own."""
    if admin.dialect_name != "matrixone":
        monkeypatch.delenv("MOCLONE_URL")
        monkeypatch.setenv("MOCLONE_SERVER", "mariadb")
    return inner


@pytest.fixture
def inner(
    pytester: pytest.Pytester, admin: Client, server_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Inner]:
    """An inner suite with the golden of conftest_example-like users, a unique prefix and its
    own records folder; the test asserts on leftovers, and whatever is left is dropped after."""
    prefix = "p" + uuid.uuid4().hex[:8]
    monkeypatch.setenv("MOCLONE_URL", server_url)
    monkeypatch.setenv("MOCLONE_PREFIX", prefix)
    monkeypatch.setenv("MOCLONE_CACHE_DIR", str(pytester.path / ".moclone-cache"))
    monkeypatch.delenv("MOCLONE_MO_BINARY", raising=False)
    pytester.makeconftest(GOLDEN_CONFTEST)
    suite = Inner(pytester, admin, prefix)
    yield suite
    for name in suite.leftover_snapshots():
        admin.snapshots.drop(name, if_exists=True)
    for name in suite.leftover_databases():
        admin.clone.drop(name)


def checksum(client: Client, database: str, table: str) -> tuple[int, int]:
    """(rows, CRC32 sum over every column): identical data gives identical checksums."""
    columns = [
        str(r[0])
        for r in client.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            (database, table),
        )
    ]
    cols = ", ".join(f"COALESCE(`{c}`, '<null>')" for c in columns)
    count, total = client.execute(
        f"SELECT COUNT(*), SUM(CRC32(CONCAT_WS('|', {cols}))) FROM `{database}`.`{table}`"
    )[0]
    return int(count), int(total or 0)


def make_shop(admin: Client, database: str) -> None:
    """A small source database: two related tables, a unique key, a view, data."""
    admin.execute(f"CREATE DATABASE {database}")
    with admin.connect_to(database) as db:
        db.execute(
            "CREATE TABLE customers (id INT PRIMARY KEY AUTO_INCREMENT, "
            "email VARCHAR(60) NOT NULL, name VARCHAR(40) COMMENT 'display name', "
            "UNIQUE KEY uq_email (email))"
        )
        db.execute(
            "CREATE TABLE orders (id INT PRIMARY KEY AUTO_INCREMENT, customer_id INT NOT NULL, "
            "total INT NOT NULL, KEY ix_total (total), "
            "CONSTRAINT fk_customer FOREIGN KEY (customer_id) REFERENCES customers (id))"
        )
        db.execute(
            "INSERT INTO customers (email, name) VALUES "
            "('ada@x.org', 'Ada'), ('grace@x.org', 'Grace'), ('linus@x.org', 'Linus')"
        )
        db.execute("INSERT INTO orders (customer_id, total) VALUES (1, 10), (1, 20), (2, 30)")
        db.execute(
            "CREATE VIEW big_orders AS SELECT o.id, c.name, o.total FROM orders o "
            "JOIN customers c ON c.id = o.customer_id WHERE o.total >= 20"
        )


@pytest.fixture
def shop(admin: Client, fresh_name: MakeName) -> str:
    name = fresh_name("shop")
    make_shop(admin, name)
    return name


@pytest.fixture
def snapshot_name(admin: Client) -> Iterator[MakeName]:
    """``snapshot_name("s")`` -> a unique snapshot name; each is dropped after the test."""
    made: list[str] = []

    def make(stem: str = "s") -> str:
        name = f"t_{stem}_{uuid.uuid4().hex[:8]}"
        made.append(name)
        return name

    yield make
    for name in made:
        admin.snapshots.drop(name, if_exists=True)


def wait_until_dead(admin: Client, pid: int, within: float = 30.0) -> float:
    """Seconds until the registry says the run whose main process was ``pid`` is dead (its
    leases are the ones another machine would judge); fails after ``within`` seconds."""
    from pytest_moclone.connection import Connection
    from pytest_moclone.registry import Registry

    c = admin.connection
    registry = Registry(lambda: Connection(c.host, c.port, c.user, c.password), "probe", "test")
    started = time.monotonic()
    try:
        runs = {lease.run for lease in registry.leases() if lease.pid == pid}
        while True:
            alive = {lease.run for lease in registry.leases() if lease.alive} & runs
            if not alive:
                return time.monotonic() - started
            assert time.monotonic() - started < within, f"run {runs} still alive after {within} s"
            time.sleep(0.5)
    finally:
        registry.close()


#: For tests that start a private MariaDB of their own (to freeze or to fill with runs).
needs_mariadb_binaries = pytest.mark.skipif(
    not (shutil.which("mariadbd") or shutil.which("mariadbd", path="/usr/sbin")),
    reason="needs MariaDB's binaries (apt-get install mariadb-server) for a private server",
)

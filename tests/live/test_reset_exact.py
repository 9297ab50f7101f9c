"""A recycled database is exactly the golden: after every kind of write, the next test sees it.

An inner suite runs with a pool of one, so each test gets the database the previous test used,
made ready again (kept, some tables reset, or made afresh). After each mutating test a check
compares every table with the golden: the table list, each table's row count and checksum, and
its AUTO_INCREMENT. The summary must show that databases were kept and tables reset, or the
checks would prove nothing. On MariaDB the inner run uses a private server of its own (the
signals need its data folder); on MatrixOne the suite's server.
"""

from __future__ import annotations

import pytest
from conftest import Inner

from pytest_moclone import Client
from pytest_moclone.dialects.matrixone import PLAIN_DIFF_MAX_ROWS


def plain_clones_are_checked_whole(admin: Client) -> bool:
    """MatrixOne 3.0.x: tests' databases are plain clones, whose DIFF reads whole tables."""
    return admin.dialect_name == "matrixone" and not admin.clone.concurrent_branches


GOLDEN = """
import os

BIG_ROWS = int(os.environ.get("MOCLONE_TEST_BIG_ROWS", "1000000"))

MARIADB_ONLY = '''
CREATE TABLE log (id INT AUTO_INCREMENT PRIMARY KEY, msg VARCHAR(40));
CREATE TRIGGER other_logged AFTER UPDATE ON other FOR EACH ROW
    INSERT INTO log (msg) VALUES (CONCAT('other ', NEW.id));
CREATE PROCEDURE bump() UPDATE items SET v = v + 100 WHERE id = 2
'''

def pytest_moclone_setup_golden(client):
    mo = client.dialect_name == "matrixone"
    for sql in [
        "CREATE TABLE parent (id INT PRIMARY KEY, name VARCHAR(20))",
        "CREATE TABLE child_c (id INT PRIMARY KEY, pid INT, "
        "FOREIGN KEY (pid) REFERENCES parent (id) ON DELETE CASCADE)",
        "CREATE TABLE child_n (id INT PRIMARY KEY, pid INT NULL, "
        "FOREIGN KEY (pid) REFERENCES parent (id) ON DELETE SET NULL)",
        "CREATE TABLE items (id INT PRIMARY KEY AUTO_INCREMENT, v INT, s VARCHAR(20), "
        "UNIQUE KEY uq_s (s))",
        "CREATE TABLE other (id INT PRIMARY KEY, v INT)",
        "CREATE TABLE big (id INT PRIMARY KEY, v INT)",
        "INSERT INTO parent VALUES (1, 'a'), (2, 'b'), (3, 'c')",
        "INSERT INTO child_c VALUES (1, 1), (2, 1), (3, 2)",
        "INSERT INTO child_n VALUES (1, 2), (2, 3)",
        "INSERT INTO items (v, s) VALUES (1, 'x'), (2, 'y'), (3, 'z')",
        "INSERT INTO other VALUES (1, 1), (2, 2)",
        f"INSERT INTO big SELECT result, result FROM generate_series(1, {BIG_ROWS}) g"
        if mo else f"INSERT INTO big SELECT seq, seq FROM seq_1_to_{BIG_ROWS}",
    ]:
        client.execute(sql)
    if not mo:
        for sql in MARIADB_ONLY.split(";"):
            client.execute(sql)
"""

CHECKS = """
import pytest
from pytest_moclone import Client

def state(client, db):
    tables = sorted(str(r[0]) for r in client.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (db,)))
    out = {"tables": tables}
    for t in tables:
        if t == "big":
            out[t] = client.execute(f"SELECT COUNT(*), SUM(v), MIN(v), MAX(v) FROM {db}.big")[0]
            continue
        cols = [str(r[0]) for r in client.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position", (db, t))]
        expr = ", ".join(f"IFNULL(`{c}`, 'null')" for c in cols)
        out[t] = client.execute(
            f"SELECT COUNT(*), SUM(CRC32(CONCAT_WS('|', {expr}))) FROM {db}.`{t}`")[0]
    out["auto_increment"] = client.execute(
        "SELECT table_name, auto_increment FROM information_schema.tables "
        "WHERE table_schema = %s ORDER BY table_name", (db,))
    return out

FIRST = {}

def check(mo_clone_db, mo_golden, mo_client):
    ours = state(mo_clone_db, mo_clone_db.database)
    theirs = state(mo_client, mo_golden.database)
    ai_ours, ai_theirs = ours.pop("auto_increment"), theirs.pop("auto_increment")
    assert ours == theirs
    if mo_client.dialect_name == "matrixone":
        # AUTO_INCREMENT jumps in any clone: it must be what a fresh clone of the golden has
        if not FIRST:
            FIRST.update(dict(ai_ours))
        assert dict(ai_ours) == FIRST
    else:
        assert ai_ours == ai_theirs

def only_mariadb(client):
    if client.dialect_name == "matrixone":
        pytest.skip("MatrixOne has no triggers or stored procedures")
"""

CASES = {
    "read_only": 'mo_clone_db.execute("SELECT * FROM items")',
    "insert_update_delete": (
        "mo_clone_db.execute(\"INSERT INTO items (v, s) VALUES (9, 'w')\")\n"
        '    mo_clone_db.execute("UPDATE items SET v = 7 WHERE id = 1")\n'
        '    mo_clone_db.execute("DELETE FROM other WHERE id = 2")'
    ),
    "trigger": 'only_mariadb(mo_clone_db)\n    mo_clone_db.execute("UPDATE other SET v = 5")',
    "cascade": 'mo_clone_db.execute("DELETE FROM parent WHERE id = 1")',
    "set_null": 'mo_clone_db.execute("DELETE FROM parent WHERE id = 2")',
    "procedure": 'only_mariadb(mo_clone_db)\n    mo_clone_db.execute("CALL bump()")',
    "second_connection": (
        "other = Client.from_url(mo_clone_url)  # left open: the recycler ends it\n"
        '    other.execute("UPDATE items SET v = 42 WHERE id = 3")'
    ),
    "truncate": 'mo_clone_db.execute("TRUNCATE TABLE other")',
    "alter": 'mo_clone_db.execute("ALTER TABLE other ADD COLUMN x INT")',
    "drop_create_rename": (
        'mo_clone_db.execute("DROP TABLE other")\n'
        '    mo_clone_db.execute("CREATE TABLE newt (a INT)")\n'
        '    mo_clone_db.execute("RENAME TABLE child_n TO child_n2")'
    ),
    "rolled_back_insert": (
        'mo_clone_db.execute("BEGIN")\n'
        "    mo_clone_db.execute(\"INSERT INTO items (v, s) VALUES (5, 'q')\")\n"
        '    mo_clone_db.execute("ROLLBACK")'
    ),
    "duplicate_key": (
        "with pytest.raises(Exception):\n"
        "        mo_clone_db.execute(\"INSERT INTO items (v, s) VALUES (5, 'x')\")"
    ),
    "undone_by_a_second_change": (
        'mo_clone_db.execute("UPDATE items SET v = v + 1 WHERE id = 1")\n'
        '    mo_clone_db.execute("UPDATE items SET v = v - 1 WHERE id = 1")'
    ),
    "one_row_of_a_million": 'mo_clone_db.execute("UPDATE big SET v = -1 WHERE id = 500000")',
}


def inner_suite() -> str:
    lines = [CHECKS]
    for case, body in CASES.items():
        lines.append(f"def test_{case}(mo_clone_db, mo_clone_url):\n    {body}\n")
        lines.append(
            f"def test_{case}_then_golden(mo_clone_db, mo_golden, mo_client):\n"
            "    check(mo_clone_db, mo_golden, mo_client)\n"
        )
    return "\n".join(lines)


@pytest.fixture
def reset_suite(own_server: Inner, admin: Client, monkeypatch: pytest.MonkeyPatch) -> Inner:
    if plain_clones_are_checked_whole(admin):  # a bigger table: fresh clones, nothing to prove
        monkeypatch.setenv("MOCLONE_TEST_BIG_ROWS", str(PLAIN_DIFF_MAX_ROWS))
    own_server.pytester.makeconftest(GOLDEN)
    own_server.pytester.makepyfile(test_a=inner_suite(), test_b=inner_suite())
    return own_server


def _assert_recycled(result: pytest.RunResult) -> None:
    result.stdout.fnmatch_lines(["databases for * tests: * kept (*), * with tables reset (*)"])


def test_each_test_sees_the_golden_after_any_write(reset_suite: Inner) -> None:
    result = reset_suite.run("-p", "no:randomly", "--mo-pool", "1", "test_a.py")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0 and outcomes.get("error", 0) == 0, result.stdout.str()
    assert outcomes["passed"] + outcomes.get("skipped", 0) == len(CASES) * 2
    _assert_recycled(result)


def test_each_test_sees_the_golden_under_xdist(reset_suite: Inner) -> None:
    result = reset_suite.run("-n", "2", "--dist", "loadfile", "--mo-pool", "1")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0 and outcomes.get("error", 0) == 0, result.stdout.str()
    assert outcomes["passed"] >= len(CASES) * 2 * 2 - 8
    _assert_recycled(result)


def test_a_golden_too_big_to_check_without_lineage_gets_fresh_clones(
    inner: Inner, admin: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On MatrixOne 3.0.x a check would read every row of a big table: a fresh clone is cheaper.
    The same suite with one row fewer in its big table is recycled."""
    if not plain_clones_are_checked_whole(admin):
        pytest.skip("tests' databases have lineage or other signals here: their check is cheap")
    inner.pytester.makeconftest(
        "import os\n"
        "def pytest_moclone_setup_golden(client):\n"
        "    client.execute('CREATE TABLE big (id INT PRIMARY KEY)')\n"
        "    client.execute('INSERT INTO big SELECT result FROM generate_series(1, '\n"
        "                   + os.environ['MOCLONE_TEST_BIG_ROWS'] + ') g')\n"
    )
    inner.pytester.makepyfile(
        test_big="import pytest\n@pytest.mark.parametrize('n', range(3))\n"
        "def test_a(mo_clone_db, n):\n"
        "    assert mo_clone_db.execute('SELECT COUNT(*) FROM big')[0][0] >= 10000\n"
    )
    monkeypatch.setenv("MOCLONE_TEST_BIG_ROWS", str(PLAIN_DIFF_MAX_ROWS + 1))
    result = inner.run("--mo-pool", "1")
    result.assert_outcomes(passed=3)
    assert "databases for" not in result.stdout.str()  # no test's database was kept or reset
    monkeypatch.setenv("MOCLONE_TEST_BIG_ROWS", str(PLAIN_DIFF_MAX_ROWS))
    result = inner.run("--mo-pool", "1")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["databases for 3 tests: * kept (*)"])

"""mo_txn_db: a test inside a transaction rolled back after it, and exactly the golden again.

The same golden and writes as test_reset_exact.py, each through mo_txn_db, and after each one a
check that the next test sees the golden exactly (table list, row counts and checksums,
AUTO_INCREMENT). Writes the rollback cannot undo (another connection's, a COMMIT, DDL, a moved
AUTO_INCREMENT) must be detected and reset; the summary must show rolled-back databases, or the
checks would prove nothing, and each test that ended its transaction gets a warning naming it.
"""

from __future__ import annotations

import pytest
from conftest import Inner
from test_reset_exact import CASES, CHECKS, GOLDEN

TXN_CASES = {
    case: body.replace("Client.from_url(mo_clone_url)", "Client.from_url(mo_txn_db.url)").replace(
        "mo_clone_db", "mo_txn_db"
    )
    for case, body in CASES.items()
} | {
    # MatrixOne 4.2.0 refuses ALTER and RENAME inside an explicit transaction (20105 / 20101):
    # the test sees the server's error; the next test must still see the golden
    "alter": "refused_on_matrixone(mo_txn_db, 'ALTER TABLE other ADD COLUMN x INT')",
    "drop_create_rename": (
        'mo_txn_db.execute("DROP TABLE other")\n'
        '    mo_txn_db.execute("CREATE TABLE newt (a INT)")\n'
        "    refused_on_matrixone(mo_txn_db, 'RENAME TABLE child_n TO child_n2')"
    ),
    "commit": (
        'mo_txn_db.execute("INSERT INTO other VALUES (3, 3)")\n    mo_txn_db.execute("COMMIT")'
    ),
    "update_only": 'mo_txn_db.execute("UPDATE other SET v = v + 10")',
}
#: Cases where the test ends the transaction itself on every server (COMMIT, or BEGIN inside it).
ENDS_TRANSACTION = ("commit", "rolled_back_insert")


REFUSED = """
def refused_on_matrixone(client, sql):  # 4.2.0 refuses, 3.0.18 runs it
    try:
        client.execute(sql)
    except Exception as exc:
        assert client.dialect_name == "matrixone" and "2010" in str(exc), exc
"""


def inner_suite() -> str:
    lines = [CHECKS.replace("def check(mo_clone_db,", "def check(mo_txn_db,") + REFUSED]
    lines[0] = lines[0].replace(
        "ours = state(mo_clone_db, mo_clone_db.database)",
        "ours = state(mo_txn_db, mo_txn_db.database)",
    )
    for case, body in TXN_CASES.items():
        lines.append(f"def test_{case}(mo_txn_db):\n    {body}\n")
        lines.append(
            f"def test_{case}_then_golden(mo_txn_db, mo_golden, mo_client):\n"
            "    check(mo_txn_db, mo_golden, mo_client)\n"
        )
    return "\n".join(lines)


@pytest.fixture
def txn_suite(own_server: Inner) -> Inner:
    own_server.pytester.makeconftest(GOLDEN)
    own_server.pytester.makepyfile(test_a=inner_suite(), test_b=inner_suite())
    return own_server


def _assert_outcomes(result: pytest.RunResult, files: int, *, serial: bool = True) -> None:
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0 and outcomes.get("error", 0) == 0, result.stdout.str()
    assert outcomes["passed"] + outcomes.get("skipped", 0) == len(TXN_CASES) * 2 * files
    result.stdout.fnmatch_lines(
        ["mo_txn_db: * tests rolled back, * ended their transaction themselves*"]
    )
    warned = result.stdout.str().split("warnings summary")[-1].split("Docs:")[0]
    for case in ENDS_TRANSACTION if serial else ():  # the tests that got the (same) warning
        assert f"::test_{case}\n" in warned, warned
    result.stdout.fnmatch_lines(["*mo_txn_db: the test ended its transaction*"])


def test_each_test_sees_the_golden_after_any_write(txn_suite: Inner) -> None:
    result = txn_suite.run("-p", "no:randomly", "-rw", "--mo-pool", "1", "test_a.py")
    _assert_outcomes(result, 1)


def test_each_test_sees_the_golden_under_xdist(txn_suite: Inner) -> None:
    result = txn_suite.run("-n", "2", "--dist", "loadfile", "-rw", "--mo-pool", "1")
    _assert_outcomes(result, 2, serial=False)  # xdist counts warnings per file


def test_a_test_that_only_wrote_in_its_transaction_is_rolled_back(own_server: Inner) -> None:
    """Nothing is copied when a test only updated rows through its own connection."""
    inner = own_server
    inner.pytester.makeconftest(GOLDEN.split("MARIADB_ONLY")[0] + GOLDEN_SMALL)
    inner.pytester.makepyfile(
        test_u="""
def test_one(mo_txn_db):
    mo_txn_db.execute("UPDATE t SET v = v + 1")

def test_two(mo_txn_db):
    assert mo_txn_db.execute("SELECT SUM(v) FROM t")[0][0] == 6
    mo_txn_db.execute("DELETE FROM t")

def test_three(mo_txn_db):
    assert mo_txn_db.execute("SELECT SUM(v) FROM t")[0][0] == 6
"""
    )
    result = inner.run("-p", "no:randomly", "--mo-pool", "1")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        ["databases for 3 tests: 1 fresh clone (*), 2 kept (*)", "mo_txn_db: 3 tests rolled back"]
    )


GOLDEN_SMALL = """
def pytest_moclone_setup_golden(client):
    client.execute("CREATE TABLE t (id INT PRIMARY KEY, v INT)")
    client.execute("INSERT INTO t VALUES (1, 1), (2, 2), (3, 3)")
"""


def test_a_failed_test_shows_its_uncommitted_changes(own_server: Inner) -> None:
    """The failure diff is read inside the test's transaction, before the rollback."""
    inner = own_server
    inner.pytester.makeconftest(GOLDEN_SMALL)
    inner.pytester.makepyfile(
        test_f="""
def test_fails(mo_txn_db):
    mo_txn_db.execute("INSERT INTO t VALUES (9, 9)")
    mo_txn_db.execute("UPDATE t SET v = 20 WHERE id = 2")
    assert False

def test_next_sees_the_golden(mo_txn_db):
    assert mo_txn_db.execute("SELECT COUNT(*), SUM(v) FROM t")[0] == (3, 6)
"""
    )
    result = inner.run("-p", "no:randomly", "--mo-keep-failed")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*- database changes -*", "*  t  +1 inserted  ~1 updated  -0 deleted"]
    )
    assert "kept database" not in result.stdout.str()  # nothing is left to keep after a rollback

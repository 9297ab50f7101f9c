"""``client.clone.verify``: objects by kind and every table's rows, clone against source; and the
plugin's check of the first clone of the golden before any test runs."""

from __future__ import annotations

import pytest
from conftest import Inner, MakeName, on_matrixone

from pytest_moclone import Client


@pytest.mark.parametrize("with_snapshot", [False, True])
def test_a_faithful_clone_has_no_differences(
    admin: Client, shop: str, fresh_name: MakeName, snapshot_name: MakeName, with_snapshot: bool
) -> None:
    copy, snap = fresh_name("copy"), None
    if with_snapshot:
        snap = snapshot_name()
        admin.snapshots.create(snap, database=shop)
    admin.clone.clone_database(copy, shop, snapshot_name=snap)
    assert admin.clone.verify(copy, shop, snapshot_name=snap) == []


def test_each_difference_is_named(admin: Client, shop: str, fresh_name: MakeName) -> None:
    copy = fresh_name("copy")
    admin.clone.clone_database(copy, shop)
    admin.execute(f"UPDATE {copy}.customers SET name = 'changed' WHERE id = 1")
    admin.execute(f"DROP VIEW {copy}.big_orders")
    admin.execute(f"CREATE TABLE {copy}.extra (id INT PRIMARY KEY)")
    found = [str(d) for d in admin.clone.verify(copy, shop)]
    assert len(found) == 3, found
    assert found[0].startswith(f"view {shop}.big_orders: missing in the clone")
    assert found[1].startswith(f"table {copy}.extra: in the clone but not in the source")
    assert found[2].startswith(f"table {shop}.customers: rows differ: the source has 3 (checksum ")


SET_GOLDEN = """
def pytest_moclone_setup_golden(client):
    client.execute("CREATE TABLE film (id INT PRIMARY KEY, "
                   "features SET('Trailers','Deleted Scenes'))")
    client.execute("INSERT INTO film VALUES (1, 'Deleted Scenes,Trailers')")
"""

ONE_TEST = """
def test_one(mo_clone_db):
    assert mo_clone_db.execute("SELECT COUNT(*) FROM film") == [(1,)]
"""


def test_the_first_clone_is_checked_before_any_test(inner: Inner, admin: Client) -> None:
    """MatrixOne 4.2.0 lower-cases SET labels in a clone: the run stops with one message naming
    the table, the server's limit and the fix; --mo-no-verify runs the tests anyway. Elsewhere
    the clone is faithful and the tests run."""
    inner.pytester.makeconftest(SET_GOLDEN)
    inner.pytester.makepyfile(test_one=ONE_TEST)
    result = inner.run()
    if on_matrixone(admin) and admin.info.at_least(4, 0, 0):
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines(
            [
                "moclone: the golden could not be built: the first clone of the golden is not the "
                "golden on MatrixOne 4.2.0: table *.film: rows differ*lower-cases SET labels*"
                "column features*(--mo-no-verify runs the tests anyway)"
            ]
        )
        inner.run("--mo-no-verify").assert_outcomes(passed=1)
    else:
        result.assert_outcomes(passed=1)
    assert inner.leftovers() == []

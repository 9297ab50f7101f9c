"""client.clone.diff: what a database changed against its golden, as typed data."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import on_matrixone

from pytest_moclone import Client, CloneError


@pytest.fixture
def golden(admin: Client, fresh_name, snapshot_name) -> tuple[str, str, Callable[[], str]]:
    """(golden database, its snapshot, a factory of branches of it)."""
    db, snap = fresh_name("golden"), snapshot_name("golden")
    admin.execute(f"CREATE DATABASE {db}")
    with admin.connect_to(db) as g:
        g.execute("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10), n INT)")
        g.execute("CREATE TABLE nk (a INT, b VARCHAR(5))")
        g.execute("CREATE TABLE ck (a INT, b INT, v VARCHAR(5), PRIMARY KEY (a, b))")
        g.execute("CREATE TABLE quiet (id INT PRIMARY KEY)")
        g.execute("INSERT INTO t VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3)")
        g.execute("INSERT INTO nk VALUES (1, 'x'), (1, 'x'), (2, 'y')")
        g.execute("INSERT INTO ck VALUES (1, 1, 'p'), (1, 2, 'q')")
        g.execute("INSERT INTO quiet VALUES (1)")
    admin.snapshots.create(snap, database=db)

    def branch() -> str:
        name = fresh_name("branch")
        admin.clone.branch_database(name, db, snap)
        return name

    return db, snap, branch


def test_an_untouched_copy_has_no_changes(admin: Client, golden) -> None:
    db, snap, branch = golden
    diff = admin.clone.diff(branch(), db, snap)
    assert diff.is_empty and diff.tables == [] and diff.created == []


def test_insert_update_and_delete_are_named_with_their_values(admin: Client, golden) -> None:
    db, snap, branch = golden
    copy = branch()
    admin.execute(f"INSERT INTO {copy}.t VALUES (4, 'd', 4)")
    admin.execute(f"UPDATE {copy}.t SET v = 'B' WHERE id = 2")  # only the case changes
    admin.execute(f"DELETE FROM {copy}.t WHERE id = 3")
    diff = admin.clone.diff(copy, db, snap)
    assert [t.table for t in diff.tables] == ["t"]
    t = diff.tables[0]
    assert (t.inserted_count, t.updated_count, t.deleted_count) == (1, 1, 1)
    assert t.key == ("id",)
    assert t.inserted == [{"id": 4, "v": "d", "n": 4}]
    assert t.deleted == [{"id": 3, "v": "c", "n": 3}]
    assert t.updated == [({"id": 2, "v": "b", "n": 2}, {"id": 2, "v": "B", "n": 2})]


def test_a_composite_key_identifies_the_updated_row(admin: Client, golden) -> None:
    db, snap, branch = golden
    copy = branch()
    admin.execute(f"UPDATE {copy}.ck SET v = 'Q' WHERE a = 1 AND b = 2")
    (ck,) = admin.clone.diff(copy, db, snap).tables
    assert ck.key == ("a", "b") and ck.updated_count == 1
    assert ck.updated == [({"a": 1, "b": 2, "v": "q"}, {"a": 1, "b": 2, "v": "Q"})]


def test_a_table_without_a_key_is_compared_whole(admin: Client, golden) -> None:
    db, snap, branch = golden
    copy = branch()
    admin.execute(f"UPDATE {copy}.nk SET b = 'z' WHERE a = 2")
    admin.execute(f"INSERT INTO {copy}.nk VALUES (1, 'x')")  # a third copy of a duplicate
    (nk,) = admin.clone.diff(copy, db, snap).tables
    assert nk.key == ()
    if admin.clone.lineage_diff:  # MatrixOne's lineage sees the update as one
        assert (nk.inserted_count, nk.updated_count, nk.deleted_count) == (1, 1, 0)
        assert nk.updated == [(None, {"a": 2, "b": "z"})]
        assert nk.inserted == [{"a": 1, "b": "x"}]
    else:  # whole rows with multiplicity: the update is a delete and an insert
        assert (nk.inserted_count, nk.updated_count, nk.deleted_count) == (2, 0, 1)
        assert sorted(map(str, nk.inserted)) == sorted(
            map(str, [{"a": 1, "b": "x"}, {"a": 2, "b": "z"}])
        )
        assert nk.deleted == [{"a": 2, "b": "y"}]


def test_created_dropped_and_altered_tables(admin: Client, golden) -> None:
    db, snap, branch = golden
    copy = branch()
    admin.execute(f"CREATE TABLE {copy}.scratch (x INT)")
    admin.execute(f"DROP TABLE {copy}.quiet")
    admin.execute(f"ALTER TABLE {copy}.ck ADD COLUMN extra INT")
    diff = admin.clone.diff(copy, db, snap)
    assert (diff.created, diff.dropped, diff.altered) == (["scratch"], ["quiet"], ["ck"])


def test_counts_are_exact_when_rows_are_bounded(admin: Client, golden) -> None:
    db, snap, branch = golden
    copy = branch()
    admin.execute(f"DELETE FROM {copy}.t")
    (t,) = admin.clone.diff(copy, db, snap, max_rows=2).tables
    assert t.deleted_count == 3 and len(t.deleted) == 2 and t.truncated


def test_a_diff_against_a_missing_database_is_an_error(admin: Client, golden, fresh_name) -> None:
    db, _snap, _branch = golden
    missing = fresh_name("missing")
    with pytest.raises(CloneError, match=f"database '{missing}' does not exist"):
        admin.clone.diff(missing, db)


def test_lineage_is_native_on_matrixone_only(admin: Client) -> None:
    assert admin.clone.lineage_diff is (on_matrixone(admin) and admin.info.at_least(3, 0, 5))

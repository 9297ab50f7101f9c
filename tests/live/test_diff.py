"""client.clone.diff: what a database changed against its golden, as typed data."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import MakeName, on_matrixone

from pytest_moclone import Client, CloneError

Golden = tuple[str, str, Callable[[], str]]
"""(golden database, its snapshot, a factory of branches of it)"""


@pytest.fixture
def golden(admin: Client, fresh_name: MakeName, snapshot_name: MakeName) -> Golden:
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


def test_an_untouched_copy_has_no_changes(admin: Client, golden: Golden) -> None:
    db, snap, branch = golden
    diff = admin.clone.diff(branch(), db, snap)
    assert diff.is_empty and diff.tables == [] and diff.created == []


def test_insert_update_and_delete_are_named_with_their_values(
    admin: Client, golden: Golden
) -> None:
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


def test_a_composite_key_identifies_the_updated_row(admin: Client, golden: Golden) -> None:
    db, snap, branch = golden
    copy = branch()
    admin.execute(f"UPDATE {copy}.ck SET v = 'Q' WHERE a = 1 AND b = 2")
    (ck,) = admin.clone.diff(copy, db, snap).tables
    assert ck.key == ("a", "b") and ck.updated_count == 1
    assert ck.updated == [({"a": 1, "b": 2, "v": "q"}, {"a": 1, "b": 2, "v": "Q"})]


def test_a_table_without_a_key_is_compared_whole(admin: Client, golden: Golden) -> None:
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


def test_created_dropped_and_altered_tables(admin: Client, golden: Golden) -> None:
    db, snap, branch = golden
    copy = branch()
    admin.execute(f"CREATE TABLE {copy}.scratch (x INT)")
    admin.execute(f"DROP TABLE {copy}.quiet")
    admin.execute(f"ALTER TABLE {copy}.ck ADD COLUMN extra INT")
    diff = admin.clone.diff(copy, db, snap)
    assert (diff.created, diff.dropped, diff.altered) == (["scratch"], ["quiet"], ["ck"])


def test_counts_are_exact_when_rows_are_bounded(admin: Client, golden: Golden) -> None:
    db, snap, branch = golden
    copy = branch()
    admin.execute(f"DELETE FROM {copy}.t")
    (t,) = admin.clone.diff(copy, db, snap, max_rows=2).tables
    assert t.deleted_count == 3 and len(t.deleted) == 2 and t.truncated


def test_a_diff_against_a_missing_database_is_an_error(
    admin: Client, golden: Golden, fresh_name: MakeName
) -> None:
    db, _snap, _branch = golden
    missing = fresh_name("missing")
    with pytest.raises(CloneError, match=f"database '{missing}' does not exist"):
        admin.clone.diff(missing, db)


def test_lineage_is_native_on_matrixone_only(admin: Client) -> None:
    assert admin.clone.lineage_diff is (on_matrixone(admin) and admin.info.at_least(3, 0, 5))


def test_a_plain_clone_is_compared_in_sql_with_the_same_result(
    admin: Client, golden: Golden, fresh_name: MakeName
) -> None:
    db, snap, _branch = golden
    copy = fresh_name("clone")
    admin.clone.clone_database(copy, db, snap)  # no lineage on MatrixOne: the SQL comparison
    admin.execute(f"INSERT INTO {copy}.t VALUES (4, 'd', 4)")
    admin.execute(f"UPDATE {copy}.t SET n = NULL WHERE id = 1")
    admin.execute(f"DELETE FROM {copy}.t WHERE id = 3")
    (t,) = admin.clone.diff(copy, db, snap).tables
    assert (t.inserted, t.deleted) == ([{"id": 4, "v": "d", "n": 4}], [{"id": 3, "v": "c", "n": 3}])
    assert t.updated == [({"id": 1, "v": "a", "n": 1}, {"id": 1, "v": "a", "n": None})]


def test_a_diff_inside_a_session_sees_the_sessions_own_changes(
    admin: Client, golden: Golden
) -> None:
    # MatrixOne v4.2.0 runs DATA BRANCH DIFF in a transaction without seeing its uncommitted
    # rows, v3.0.18 refuses it: inside a session the tables are compared in SQL.
    db, snap, branch = golden
    copy = branch()
    with admin.session() as session:
        session.execute(f"INSERT INTO {copy}.t VALUES (5, 'e', 5)")
        (t,) = session.clone.diff(copy, db, snap).tables
        assert t.inserted == [{"id": 5, "v": "e", "n": 5}] and t.inserted_count == 1


def test_a_copy_diffed_against_another_database_than_its_source(
    admin: Client, golden: Golden, fresh_name: MakeName
) -> None:
    db, snap, branch = golden
    twin = fresh_name("twin")
    admin.clone.clone_database(twin, db, snap)  # same rows, but not the branch's ancestor
    copy = branch()
    admin.execute(f"DELETE FROM {copy}.t WHERE id = 1")
    (t,) = admin.clone.diff(copy, twin).tables  # on MatrixOne: no lineage to twin, so SQL
    assert (t.inserted_count, t.updated_count, t.deleted_count) == (0, 0, 1)
    assert t.deleted == [{"id": 1, "v": "a", "n": 1}]


def test_a_golden_changed_after_the_copy_shows_against_its_present_state(
    admin: Client, golden: Golden
) -> None:
    db, snap, branch = golden
    copy = branch()
    admin.execute(f"UPDATE {db}.t SET v = 'now' WHERE id = 1")
    (t,) = admin.clone.diff(copy, db).tables  # no snapshot: the golden as it is now
    assert t.updated == [({"id": 1, "v": "now", "n": 1}, {"id": 1, "v": "a", "n": 1})]
    assert admin.clone.diff(copy, db, snap).is_empty  # and nothing against the snapshot


def test_an_added_index_makes_the_table_altered_and_says_how(admin: Client, golden: Golden) -> None:
    db, snap, branch = golden
    copy = branch()
    admin.execute(f"CREATE INDEX ix_n ON {copy}.t (n)")
    diff = admin.clone.diff(copy, db, snap)
    assert diff.altered == ["t"] and diff.tables == []
    assert diff.altered_details == {"t": ["index `ix_n` (n) added"]}


def test_rows_of_a_table_with_an_added_column(admin: Client, golden: Golden) -> None:
    db, snap, branch = golden
    copy = branch()
    admin.execute(f"ALTER TABLE {copy}.t ADD COLUMN extra INT")
    admin.execute(f"UPDATE {copy}.t SET v = 'X' WHERE id = 1")
    diff = admin.clone.diff(copy, db, snap)
    assert diff.altered == ["t"]
    (detail,) = diff.altered_details["t"]
    assert detail.startswith("column `extra` added: int")
    (t,) = diff.tables
    if on_matrixone(admin) and not admin.info.at_least(4, 0, 0):
        # v3.0.18 gives the altered table a new id without lineage, and cannot DIFF it
        assert t.note == "definition changed: rows not compared"
        assert (t.inserted_count, t.updated_count, t.deleted_count) == (0, 0, 0)
        return
    assert (t.inserted_count, t.updated_count, t.deleted_count) == (0, 1, 0)
    ((old, new),) = t.updated
    assert (old or {})["v"] == "a" and new["v"] == "X" and new["id"] == 1


@pytest.mark.mariadb_only(
    reason="the bucketed comparison is for MySQL/MariaDB (MatrixOne uses DATA BRANCH)"
)
def test_a_large_changed_table_is_compared_only_in_its_changed_buckets(
    admin: Client,
    golden: Golden,
    fresh_name: MakeName,
    snapshot_name: MakeName,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pytest_moclone.connection import Connection
    from pytest_moclone.dialects import narrowing
    from pytest_moclone.dialects.mysql import frozen_database_name

    db = fresh_name("big")
    admin.execute(f"CREATE DATABASE {db}")
    admin.execute(f"CREATE TABLE {db}.n (id INT PRIMARY KEY, v VARCHAR(10), x INT)")
    admin.execute(f"CREATE TABLE {db}.s (k VARCHAR(10) PRIMARY KEY, v VARCHAR(10))")
    admin.execute(f"CREATE TABLE {db}.w (a INT, b VARCHAR(10))")  # no key: hash of whole rows
    admin.execute(f"INSERT INTO {db}.n SELECT seq, CONCAT('v', seq), seq FROM {db}.seq_1_to_200")
    admin.execute(f"INSERT INTO {db}.s SELECT CONCAT('k', seq), 'v' FROM {db}.seq_1_to_200")
    admin.execute(f"INSERT INTO {db}.w SELECT seq % 50, 'w' FROM {db}.seq_1_to_200")
    snap = snapshot_name("big")
    admin.snapshots.create(snap, database=db)
    frozen = frozen_database_name(snap)
    admin.execute(f"ANALYZE TABLE {frozen}.n, {frozen}.s, {frozen}.w")  # row estimates
    monkeypatch.setattr(narrowing, "NARROW_FROM_ROWS", 10)
    monkeypatch.setattr(narrowing, "ROWS_PER_BUCKET", 4)
    copy = fresh_name("bigcopy")
    admin.clone.clone_database(copy, db, snap)
    admin.execute(f"INSERT INTO {copy}.n VALUES (500, 'new', 1), (-3, 'neg', 1)")
    admin.execute(f"UPDATE {copy}.n SET v = 'V7' WHERE id = 7")  # only the case changes
    admin.execute(f"UPDATE {copy}.n SET x = NULL WHERE id = 150")
    admin.execute(f"DELETE FROM {copy}.n WHERE id = 99")
    admin.execute(f"UPDATE {copy}.s SET v = NULL WHERE k = 'k42'")
    admin.execute(f"DELETE FROM {copy}.w WHERE a = 7 LIMIT 1")
    issued: list[str] = []
    execute = Connection.execute

    def spy(self: Connection, sql: str, params=None):  # type: ignore[no-untyped-def]
        issued.append(sql)
        return execute(self, sql, params)

    monkeypatch.setattr(Connection, "execute", spy)
    diff = admin.clone.diff(copy, db, snap, max_rows=10)
    narrowed = [sql for sql in issued if "(SELECT" in sql and "LEFT JOIN" in sql]
    assert any(" BETWEEN " in sql for sql in narrowed)  # integer key: ranges of it
    assert any("WEIGHT_STRING" in sql for sql in narrowed)  # text key: hash classes of it
    assert any("IFNULL" in sql for sql in issued if "UNION ALL" in sql)  # no key: of the rows
    n, s, w = diff.tables
    assert sorted(r["id"] for r in n.inserted) == [-3, 500]
    assert sorted((new["id"], old and old["v"], new["v"], new["x"]) for old, new in n.updated) == [
        (7, "v7", "V7", 7),
        (150, "v150", "v150", None),
    ]
    assert n.deleted == [{"id": 99, "v": "v99", "x": 99}]
    assert s.updated == [({"k": "k42", "v": "v"}, {"k": "k42", "v": None})]
    assert (w.inserted_count, w.deleted_count, w.deleted) == (0, 1, [{"a": 7, "b": "w"}])


@pytest.mark.matrixone_only(reason="the native DATA BRANCH diff: MatrixOne 3.0.5 or later only")
def test_many_native_changes_keep_exact_counts_with_bounded_rows(
    admin: Client, golden: Golden, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not admin.clone.lineage_diff:
        pytest.skip("the native DATA BRANCH diff: MatrixOne 3.0.5 or later only")
    from pytest_moclone.dialects import matrixone_diff

    db, snap, branch = golden
    copy = branch()
    admin.execute(f"INSERT INTO {copy}.t VALUES (4, 'd', 4), (5, 'e', 5), (6, 'f', 6)")
    admin.execute(f"DELETE FROM {copy}.t WHERE id = 1")
    monkeypatch.setattr(matrixone_diff, "ROWS_READ_AT_MOST", 2)  # OUTPUT LIMIT 2
    (t,) = admin.clone.diff(copy, db, snap).tables
    assert (t.inserted_count, t.deleted_count) == (3, 1)
    assert len(t.inserted) + len(t.deleted) == 2 and t.truncated
    assert t.note == "rows shown are from the first 2 changes the server listed"
    monkeypatch.setattr(matrixone_diff, "ROWS_SCANNED_AT_MOST", 3)  # too many to read rows
    (t,) = admin.clone.diff(copy, db, snap).tables
    assert (t.inserted_count, t.deleted_count, t.inserted, t.deleted) == (3, 1, [], [])
    assert t.note == "counts only: rows are read when at most 3 changed"

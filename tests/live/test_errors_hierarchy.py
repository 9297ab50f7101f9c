"""One exception hierarchy, caught the way the SDK's are (docs/errors.md): each manager call
raises its own kind (``CloneError`` / ``SnapshotError``), a bad name is that kind *and* an
``InvalidNameError``, and a failed clone names the object the server refused."""

from __future__ import annotations

import pytest
from conftest import MakeName, on_matrixone

from pytest_moclone import Client, CloneError, InvalidNameError, SnapshotError


def test_a_bad_name_in_a_clone_call_is_a_clone_error_and_a_value_error(admin: Client) -> None:
    for call in (
        lambda: admin.clone.clone_database("bad-name", "x"),
        lambda: admin.clone.clone_table("x.t", "x.bad-name"),
        lambda: admin.clone.clone_database("a", "b", snapshot_name="Capital"),
        lambda: admin.clone.drop("mysql"),
    ):
        with pytest.raises(CloneError) as info:
            call()
        assert isinstance(info.value, InvalidNameError)
        assert isinstance(info.value, ValueError)


def test_a_bad_name_in_a_snapshot_call_is_a_snapshot_error(admin: Client) -> None:
    for call in (
        lambda: admin.snapshots.create("Golden", database="x"),
        lambda: admin.snapshots.create("ok_name", database="bad-db"),
        lambda: admin.snapshots.get("no such"),
        lambda: admin.snapshots.drop("x;y"),
    ):
        with pytest.raises(SnapshotError) as info:
            call()
        assert isinstance(info.value, InvalidNameError)


def test_getting_a_missing_snapshot_raises_snapshot_error(
    admin: Client, snapshot_name: MakeName
) -> None:
    name = snapshot_name()
    with pytest.raises(SnapshotError, match=f"snapshot '{name}' does not exist"):
        admin.snapshots.get(name)
    assert admin.snapshots.exists(name) is False


@pytest.mark.mariadb_only(reason="the emulated copy runs statements of its own, one per object")
def test_a_clone_the_server_refuses_names_the_object(admin: Client, fresh_name: MakeName) -> None:
    source, other, copy = fresh_name("src"), fresh_name("other"), fresh_name("copy")
    admin.execute(f"CREATE DATABASE {source}")
    admin.execute(f"CREATE DATABASE {other}")
    admin.execute(f"CREATE TABLE {other}.t (id INT PRIMARY KEY)")
    admin.execute(f"CREATE VIEW {source}.v_broken AS SELECT id FROM {other}.t")
    admin.execute(f"DROP TABLE {other}.t")
    with pytest.raises(CloneError) as info:
        admin.clone.clone_database(copy, source)
    assert f"cannot clone database '{source}' into '{copy}': view v_broken: the server said" in str(
        info.value
    )
    assert info.value.subject == "view v_broken"


def _view_and_sequence(admin: Client, db: str) -> None:
    admin.execute(f"CREATE DATABASE {db}")
    admin.execute(f"CREATE TABLE {db}.t (id INT PRIMARY KEY)")
    admin.execute(f"CREATE VIEW {db}.v AS SELECT id FROM {db}.t")
    admin.execute(f"CREATE SEQUENCE {db}.seq1")


def test_clone_table_refuses_a_view_and_a_sequence_naming_them(
    admin: Client, fresh_name: MakeName
) -> None:
    db = fresh_name("kinds")
    _view_and_sequence(admin, db)
    for source, kind in (("v", "view"), ("seq1", "sequence")):
        with pytest.raises(CloneError, match=rf"{db}\.{source} is a {kind}, not a base table"):
            admin.clone.clone_table(f"{db}.copy_{source}", f"{db}.{source}")
    assert not admin.execute(
        "SELECT 1 FROM information_schema.tables "
        "WHERE table_schema = %s AND table_name LIKE 'copy%%'",
        (db,),
    )


def test_clone_table_from_a_snapshot_refuses_a_view(
    admin: Client, fresh_name: MakeName, snapshot_name: MakeName
) -> None:
    db = fresh_name("kinds")
    admin.execute(f"CREATE DATABASE {db}")
    admin.execute(f"CREATE TABLE {db}.t (id INT PRIMARY KEY)")
    admin.execute(f"CREATE VIEW {db}.v AS SELECT id FROM {db}.t")
    snap = snapshot_name()
    admin.snapshots.create(snap, database=db)
    with pytest.raises(CloneError, match=rf"{db}\.v is a view, not a base table"):
        admin.clone.clone_table(f"{db}.copy_v", f"{db}.v", snapshot_name=snap)


def test_mixed_case_names_compare_as_the_server_compares_them(
    admin: Client, fresh_name: MakeName, snapshot_name: MakeName
) -> None:
    source, copy, again = fresh_name("Src"), fresh_name("x_Copy"), fresh_name("b")
    admin.execute(f"CREATE DATABASE {source}")
    admin.execute(f"CREATE TABLE {source}.Tab (Id INT PRIMARY KEY)")
    admin.execute(f"INSERT INTO {source}.Tab VALUES (1), (2)")
    assert admin.clone.clone_database(copy, source, if_not_exists=True) is True
    assert admin.clone.clone_database(copy, source, if_not_exists=True) is False
    assert admin.clone.clone_database(again, copy) is True
    assert admin.execute(f"SELECT COUNT(*) FROM {again}.Tab") == [(2,)]
    assert admin.clone.clone_table(f"{source}.Tab2", f"{source}.Tab") is True
    assert admin.clone.clone_table(f"{source}.Tab2", f"{source}.Tab", if_not_exists=True) is False
    snap = snapshot_name()
    admin.snapshots.create(snap, database=source)
    assert admin.clone.clone_table(f"{source}.Tab3", f"{source}.Tab", snapshot_name=snap)
    if on_matrixone(admin):  # names fold: the upper-cased name is the same database
        third = fresh_name("third")
        assert admin.clone.clone_database(third, source.upper(), snapshot_name=snap) is True
        assert admin.execute(f"SELECT COUNT(*) FROM {third}.tab") == [(2,)]

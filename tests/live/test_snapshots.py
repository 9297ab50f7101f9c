"""Snapshots: native on MatrixOne, frozen copies listed in a registry on MySQL/MariaDB."""

from __future__ import annotations

import pytest
from conftest import MakeName

from pytest_moclone import Client, CloneError, InvalidNameError, SnapshotError
from pytest_moclone.dialects.mysql import frozen_database_name


def test_create_find_list_and_drop(admin: Client, shop: str, snapshot_name: MakeName) -> None:
    first, second = snapshot_name("a"), snapshot_name("b")
    info = admin.snapshots.create(first, database=shop)
    assert (info.name, info.level, info.database, info.table) == (first, "database", shop, None)
    admin.snapshots.create(second, database=shop)
    assert admin.snapshots.exists(first) and admin.snapshots.get(second) is not None
    names = [s.name for s in admin.snapshots.list()]
    assert names.index(second) < names.index(first)  # newest first
    assert admin.snapshots.drop(first) is True
    assert not admin.snapshots.exists(first)


def test_dropping_a_missing_snapshot(admin: Client, snapshot_name: MakeName) -> None:
    name = snapshot_name()
    with pytest.raises(SnapshotError, match=f"cannot drop snapshot '{name}': it does not exist"):
        admin.snapshots.drop(name)
    assert admin.snapshots.drop(name, if_exists=True) is False


def test_a_taken_name_is_refused(admin: Client, shop: str, snapshot_name: MakeName) -> None:
    name = snapshot_name()
    admin.snapshots.create(name, database=shop)
    with pytest.raises(SnapshotError, match=f"snapshot '{name}' already exists"):
        admin.snapshots.create(name, database=shop)


def test_a_snapshot_of_a_missing_database_is_refused(
    admin: Client, snapshot_name: MakeName, fresh_name: MakeName
) -> None:
    missing = fresh_name("missing")
    with pytest.raises(SnapshotError, match=f"database '{missing}' does not exist"):
        admin.snapshots.create(snapshot_name(), database=missing)


def test_capitals_are_refused_naming_the_lower_case_form(admin: Client, shop: str) -> None:
    with pytest.raises(InvalidNameError, match="use 'golden_snap'"):
        admin.snapshots.create("Golden_Snap", database=shop)


def test_a_clone_from_a_missing_snapshot_says_so(
    admin: Client, shop: str, fresh_name: MakeName, snapshot_name: MakeName
) -> None:
    name = snapshot_name()
    with pytest.raises(CloneError, match=f"snapshot '{name}' does not exist"):
        admin.clone.clone_database_with_snapshot(fresh_name("copy"), shop, name)


def test_a_snapshot_of_another_database_is_refused(
    admin: Client, shop: str, fresh_name: MakeName, snapshot_name: MakeName
) -> None:
    other = fresh_name("other")
    admin.execute(f"CREATE DATABASE {other}")
    name = snapshot_name()
    admin.snapshots.create(name, database=other)
    with pytest.raises(CloneError, match=f"snapshot '{name}' is of database '{other}'"):
        admin.clone.clone_database(fresh_name("copy"), shop, snapshot_name=name)


@pytest.mark.mariadb_only(
    reason="MatrixOne snapshots are native: there are no frozen copies to mistake"
)
def test_a_lookalike_database_is_never_taken_for_a_snapshot(
    admin: Client, shop: str, snapshot_name: MakeName
) -> None:
    name = snapshot_name()
    lookalike = frozen_database_name(name)
    admin.execute(f"CREATE DATABASE {lookalike}")
    try:
        assert not admin.snapshots.exists(name)
        with pytest.raises(
            SnapshotError, match=f"database '{lookalike}' exists but is not a snapshot"
        ):
            admin.snapshots.create(name, database=shop)
        assert admin.snapshots.drop(name, if_exists=True) is False
        assert admin.execute(
            "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = %s", (lookalike,)
        ) == [(1,)]
    finally:
        admin.execute(f"DROP DATABASE {lookalike}")


@pytest.mark.matrixone_only(reason="SHOW SNAPSHOTS and mo_catalog.mo_snapshots are MatrixOne's")
def test_show_snapshots_and_the_catalog_agree(
    admin: Client, shop: str, snapshot_name: MakeName
) -> None:
    name = snapshot_name()
    admin.snapshots.create(name, database=shop)
    outside = next(s for s in admin.snapshots.list() if s.name == name)  # SHOW SNAPSHOTS
    with admin.session() as session:
        inside = next(s for s in session.snapshots.list() if s.name == name)  # the catalog
        assert session.snapshots.exists(name)
    assert (
        (outside.level, outside.database) == (inside.level, inside.database) == ("database", shop)
    )
    assert outside.created_at is not None and inside.created_at is not None
    assert abs((outside.created_at - inside.created_at).total_seconds()) < 1

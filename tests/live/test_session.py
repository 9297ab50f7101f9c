"""Sessions: several calls in one transaction; what a failed session leaves (nothing)."""

from __future__ import annotations

import pytest
from conftest import MakeName

from pytest_moclone import Client, CloneError, MocloneError, SnapshotError


def exists(admin: Client, database: str) -> bool:
    rows = admin.execute(
        "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = %s", (database,)
    )
    return rows == [(1,)]


def test_a_session_that_succeeds_keeps_its_clones(
    admin: Client, shop: str, fresh_name: MakeName
) -> None:
    a, b = fresh_name("a"), fresh_name("b")
    with admin.session() as s:
        s.clone.clone_database(a, shop)
        s.clone.clone_database(b, shop)
    assert exists(admin, a) and exists(admin, b)


def test_a_failed_clone_undoes_the_sessions_earlier_clones(
    admin: Client, shop: str, fresh_name: MakeName
) -> None:
    a, b, missing = fresh_name("a"), fresh_name("b"), fresh_name("missing")
    with pytest.raises(CloneError, match="does not exist"), admin.session() as s:
        s.clone.clone_database(a, shop)
        s.clone.clone_database(b, missing)
    assert not exists(admin, a) and not exists(admin, b)


def test_an_unrelated_exception_undoes_the_sessions_clones(
    admin: Client, shop: str, fresh_name: MakeName
) -> None:
    a = fresh_name("a")
    with pytest.raises(RuntimeError), admin.session() as s:
        s.clone.clone_database(a, shop)
        s.clone.clone_table(f"{shop}.orders_copy", f"{shop}.orders")
        raise RuntimeError("the caller changed its mind")
    assert not exists(admin, a)
    assert admin.execute(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s "
        "AND table_name = 'orders_copy'",
        (shop,),
    ) == [(0,)]


def test_snapshots_are_read_but_not_made_inside_a_session(
    admin: Client, shop: str, snapshot_name: MakeName
) -> None:
    name = snapshot_name()
    admin.snapshots.create(name, database=shop)
    with admin.session() as s:
        assert s.snapshots.exists(name)
        assert name in [x.name for x in s.snapshots.list()]
        with pytest.raises(SnapshotError, match="cannot be created inside a session"):
            s.snapshots.create(snapshot_name(), database=shop)
        with pytest.raises(SnapshotError, match="cannot be dropped inside a session"):
            s.snapshots.drop(name)


def test_sessions_do_not_nest(admin: Client) -> None:
    with admin.session(), pytest.raises(MocloneError, match="do not nest"), admin.session():
        pass


@pytest.mark.matrixone_only(
    reason="only MatrixOne clones inside a transaction; MySQL DDL commits at once"
)
def test_matrixone_clones_are_transactional(admin: Client, shop: str, fresh_name: MakeName) -> None:
    a = fresh_name("a")
    with admin.connect_to(None) as other:
        with admin.session() as s:
            s.clone.clone_database(a, shop)
            assert not exists(other, a)  # not visible outside the transaction yet
        assert exists(other, a)

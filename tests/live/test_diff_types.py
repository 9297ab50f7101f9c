"""The failure diff handles every column type: geometry as WKT, JSON, BLOBs cut, SET/ENUM; and
never reports a table as altered, or a row as changed, when it was not."""

from __future__ import annotations

import pytest
from conftest import MakeName, on_matrixone

from pytest_moclone import Client
from pytest_moclone.diff import format_diff


def _geometry_usable(admin: Client) -> bool:
    return not on_matrixone(admin) or admin.info.at_least(4, 0, 0)  # 3.0.18 stores only NULL


@pytest.mark.parametrize("branch", [False, True])
def test_every_column_type_diffs(
    admin: Client, fresh_name: MakeName, snapshot_name: MakeName, branch: bool
) -> None:
    if branch and not admin.clone.lineage_diff:
        pytest.skip("the native DATA BRANCH diff: MatrixOne 3.0.5 or later only")
    src, copy, snap = fresh_name("src"), fresh_name("copy"), snapshot_name()
    admin.execute(f"CREATE DATABASE {src}")
    admin.execute(
        f"CREATE TABLE {src}.film (id INT PRIMARY KEY, rating ENUM('G','PG','R'), "
        "features SET('Trailers','Deleted Scenes'), title VARCHAR(20))"
    )
    admin.execute(
        f"CREATE TABLE {src}.place (id INT PRIMARY KEY, p GEOMETRY, j JSON, b BLOB, untouched INT)"
    )
    admin.execute(
        f"INSERT INTO {src}.film VALUES (1, 'PG', 'Deleted Scenes,Trailers', 'ada'), "
        "(2, 'G', 'Trailers', 'bob')"
    )
    point = "ST_GeomFromText('POINT(1 2)')" if _geometry_usable(admin) else "NULL"
    admin.execute(
        f"INSERT INTO {src}.place VALUES (1, {point}, '{{\"a\": 1}}', REPEAT('x', 300), 1), "
        "(2, NULL, NULL, NULL, 2)"
    )
    admin.snapshots.create(snap, database=src)
    make = admin.clone.branch_database if branch else admin.clone.clone_database
    make(copy, src, snapshot_name=snap)
    admin.execute(f"UPDATE {copy}.film SET rating = 'R' WHERE id = 1")
    moved = "ST_GeomFromText('POINT(3 4)')" if _geometry_usable(admin) else "NULL"
    admin.execute(
        f"UPDATE {copy}.place SET p = {moved}, j = '{{\"a\": 2}}', b = REPEAT('y', 300) "
        "WHERE id = 1"
    )
    diff = admin.clone.diff(copy, src, snapshot_name=snap)
    assert diff.altered == [] and diff.created == [] and diff.dropped == []
    film, place = diff.table("film"), diff.table("place")
    assert film is not None and place is not None
    assert (film.updated_count, film.inserted_count, film.deleted_count) == (1, 0, 0)
    assert place.updated_count == 1
    text = format_diff(diff)
    assert "rating: 'PG' -> 'R'" in text
    assert "features" not in text  # unchanged, though MatrixOne 4.2.0 lower-cases SET labels
    assert "title" not in text and "untouched" not in text
    assert """j: '{"a": 1}' -> '{"a": 2}'""" in text or """j: '{"a":1}' -> '{"a":2}'""" in text
    assert "(300 bytes)" in text
    if _geometry_usable(admin):
        assert "p: 'POINT(1 2)' -> 'POINT(3 4)'" in text


def test_an_untouched_clone_of_every_type_has_no_changes(
    admin: Client, fresh_name: MakeName, snapshot_name: MakeName
) -> None:
    src, copy, snap = fresh_name("src"), fresh_name("copy"), snapshot_name()
    admin.execute(f"CREATE DATABASE {src}")
    admin.execute(
        f"CREATE TABLE {src}.t (id INT PRIMARY KEY, s SET('Trailers','Deleted Scenes'), "
        "e ENUM('Small','LARGE'), p GEOMETRY, j JSON)"
    )
    point = "ST_GeomFromText('POINT(1 2)')" if _geometry_usable(admin) else "NULL"
    admin.execute(f"INSERT INTO {src}.t VALUES (1, 'Deleted Scenes', 'LARGE', {point}, '[1]')")
    admin.snapshots.create(snap, database=src)
    admin.clone.clone_database(copy, src, snapshot_name=snap)
    assert admin.clone.diff(copy, src, snapshot_name=snap).is_empty

"""The MySQL/MariaDB emulation copies everything a database holds, behaving as the source does,
and nothing in the copy points back at the source (docs/how-it-works.md)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any, Optional

import pymysql
import pytest
from conftest import Inner, MakeName

from pytest_moclone import Client, CloneWarning, QueryError

pytestmark = pytest.mark.mariadb_only(
    reason="MariaDB's sequences, system versioning, events, triggers and SQL routines"
)


def build_source(admin: Client, src: str) -> None:
    statements = [
        f"CREATE DATABASE {src}",
        f"CREATE TABLE {src}.t (id INT PRIMARY KEY, name VARCHAR(20))",
        f"CREATE TABLE {src}.log (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(60))",
        f"CREATE SEQUENCE {src}.seq NOCACHE",
        f"CREATE SEQUENCE {src}.seq_cached",
        f"CREATE TABLE {src}.d (id INT PRIMARY KEY DEFAULT nextval({src}.seq), v INT)",
        f"CREATE TABLE {src}.vt (id INT PRIMARY KEY, x INT) WITH SYSTEM VERSIONING",
        f"INSERT INTO {src}.t VALUES (1, 'ada'), (2, 'grace')",
        f"INSERT INTO {src}.vt VALUES (1, 1)",
        f"UPDATE {src}.vt SET x = 2",
        f"UPDATE {src}.vt SET x = 3",
        f"SELECT nextval({src}.seq), nextval({src}.seq), nextval({src}.seq)",
        f"SELECT nextval({src}.seq_cached)",
        f"CREATE TRIGGER {src}.t_log AFTER INSERT ON {src}.t FOR EACH ROW "
        f"INSERT INTO {src}.log (what) VALUES (CONCAT('t ', NEW.id))",
        "SET SESSION sql_mode = CONCAT(@@sql_mode, ',PIPES_AS_CONCAT')",
        f"CREATE FUNCTION {src}.shout(a VARCHAR(20)) RETURNS VARCHAR(40) DETERMINISTIC "
        "RETURN UPPER(a) || ' L'",
        "SET SESSION sql_mode = DEFAULT",
        f"CREATE PROCEDURE {src}.note(w VARCHAR(20)) INSERT INTO {src}.log (what) VALUES (w)",
        f"CREATE SQL SECURITY INVOKER VIEW {src}.v_invoker AS SELECT id, name FROM {src}.t",
        f"CREATE VIEW {src}.v_charset AS SELECT _utf8mb3'x' AS a, id FROM {src}.t",
        f"CREATE VIEW {src}.v_seq AS SELECT next_not_cached_value FROM {src}.seq",
        f"CREATE EVENT {src}.nightly ON SCHEDULE EVERY 1 DAY DO "
        f"INSERT INTO {src}.log (what) VALUES ('event')",
    ]
    for sql in statements:
        admin.execute(sql)


def state(admin: Client, db: str) -> dict[str, Any]:
    """Row counts and CHECKSUM TABLE of every table, and the sequences' next values."""
    tables = [
        str(r[0])
        for r in admin.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = %s AND table_type <> 'VIEW' ORDER BY table_name",
            (db,),
        )
    ]
    found: dict[str, Any] = {}
    for table in tables:
        count = admin.execute(f"SELECT COUNT(*) FROM {db}.{table}")[0][0]
        checksum = admin.execute(f"CHECKSUM TABLE {db}.{table}")[0][1]
        found[table] = (count, checksum)
    return found


@pytest.fixture(params=["direct", "snapshot"])
def pair(
    request: pytest.FixtureRequest, admin: Client, fresh_name: MakeName, snapshot_name: MakeName
) -> Iterator[tuple[str, str]]:
    """(source, clone): the clone made straight from the source, or from a snapshot of it."""
    src, copy = fresh_name("src"), fresh_name("copy")
    build_source(admin, src)
    if request.param == "direct":
        admin.clone.clone_database(copy, src)
    else:
        snap = snapshot_name()
        admin.snapshots.create(snap, database=src)
        admin.clone.clone_database(copy, src, snapshot_name=snap)
    yield src, copy


def test_every_object_is_in_the_clone(admin: Client, pair: tuple[str, str]) -> None:
    src, copy = pair

    def objects(db: str) -> list[tuple[str, str]]:
        rows = admin.execute(
            "SELECT table_name, table_type FROM information_schema.tables "
            "WHERE table_schema = %s UNION ALL "
            "SELECT routine_name, routine_type FROM information_schema.routines "
            "WHERE routine_schema = %s UNION ALL "
            "SELECT trigger_name, 'TRIGGER' FROM information_schema.triggers "
            "WHERE trigger_schema = %s UNION ALL "
            "SELECT event_name, 'EVENT' FROM information_schema.events WHERE event_schema = %s",
            (db, db, db, db),
        )
        return sorted((str(n), str(k)) for n, k in rows)

    assert objects(copy) == objects(src)
    assert len(objects(src)) == 13


def test_nothing_in_the_clone_points_back_at_the_source(
    admin: Client, pair: tuple[str, str]
) -> None:
    src, copy = pair
    before = state(admin, src)
    admin.execute(f"INSERT INTO {copy}.t VALUES (3, 'linus')")  # the trigger writes a log row
    admin.execute(f"CALL {copy}.note('from the clone')")
    admin.execute(f"INSERT INTO {copy}.d (v) VALUES (9)")  # DEFAULT nextval(seq)
    admin.execute(f"UPDATE {copy}.vt SET x = 4")
    admin.execute(f"SELECT nextval({copy}.seq_cached)")
    assert state(admin, src) == before
    assert admin.execute(f"SELECT what FROM {copy}.log ORDER BY id") == [
        ("t 3",),
        ("from the clone",),
    ]
    assert admin.execute(f"SELECT COUNT(*) FROM {src}.log") == [(0,)]
    defaults = admin.execute(
        "SELECT column_default FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = 'd' AND column_name = 'id'",
        (copy,),
    )
    assert src not in str(defaults[0][0]) and copy in str(defaults[0][0])


def test_a_sequence_continues_from_the_sources_value(admin: Client, pair: tuple[str, str]) -> None:
    src, copy = pair
    assert admin.execute(f"SELECT nextval({copy}.seq)") == [(4,)]  # NOCACHE: exactly the next
    golden_last = admin.execute(f"SELECT lastval({src}.seq_cached)")
    assert int(admin.execute(f"SELECT nextval({copy}.seq_cached)")[0][0]) > int(
        golden_last[0][0] or 1
    )
    assert admin.execute(f"SELECT COUNT(*) FROM {copy}.v_seq") == [(1,)]  # a view over it


def test_a_routine_runs_under_its_own_sql_mode(admin: Client, pair: tuple[str, str]) -> None:
    src, copy = pair
    assert admin.execute(f"SELECT {src}.shout('ada')") == [("ADA L",)]
    assert admin.execute(f"SELECT {copy}.shout('ada')") == [("ADA L",)]
    modes = admin.execute(
        "SELECT routine_schema, sql_mode FROM information_schema.routines "
        "WHERE routine_name = 'shout' AND routine_schema IN (%s, %s) ORDER BY routine_schema = %s",
        (src, copy, copy),
    )
    assert modes[0][1] == modes[1][1] and "PIPES_AS_CONCAT" in str(modes[1][1])


def test_a_versioned_table_keeps_its_history(admin: Client, pair: tuple[str, str]) -> None:
    src, copy = pair
    query = "SELECT id, x, row_start, row_end FROM {}.vt FOR SYSTEM_TIME ALL ORDER BY row_start"
    assert admin.execute(query.format(copy)) == admin.execute(query.format(src))
    assert len(admin.execute(query.format(copy))) == 3


def test_events_are_copied_disabled(admin: Client, pair: tuple[str, str]) -> None:
    src, copy = pair
    rows = admin.execute(
        "SELECT event_schema, status FROM information_schema.events WHERE event_name = 'nightly' "
        "AND event_schema IN (%s, %s) ORDER BY event_schema = %s",
        (src, copy, copy),
    )
    assert [str(r[1]) for r in rows] == ["ENABLED", "DISABLED"]


def test_a_view_keeps_its_charset_introducer(admin: Client, pair: tuple[str, str]) -> None:
    src, copy = pair
    rows = admin.execute(
        "SELECT table_schema, character_set_name FROM information_schema.columns "
        "WHERE table_name = 'v_charset' AND column_name = 'a' AND table_schema IN (%s, %s) "
        "ORDER BY table_schema = %s",
        (src, copy, copy),
    )
    assert [str(r[1]) for r in rows] == ["utf8mb3", "utf8mb3"]


def _select_as(admin: Client, user: str, password: str, sql: str) -> Optional[int]:
    """The error code a user gets for ``sql`` (None when it runs)."""
    conn = pymysql.connect(host=admin.host, port=admin.port, user=user, password=password)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
        return None
    except pymysql.err.MySQLError as exc:
        return int(exc.args[0])
    finally:
        conn.close()


def test_an_invoker_view_refuses_a_user_without_rights(
    admin: Client, pair: tuple[str, str]
) -> None:
    src, copy = pair
    user, password = f"u{uuid.uuid4().hex[:8]}", "pw_" + uuid.uuid4().hex[:6]
    admin.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'")
    try:
        for db in (src, copy):
            admin.execute(f"GRANT SELECT ON {db}.v_invoker TO '{user}'@'%'")
        assert _select_as(admin, user, password, f"SELECT * FROM {src}.v_invoker") == 1356
        assert _select_as(admin, user, password, f"SELECT * FROM {copy}.v_invoker") == 1356
    finally:
        admin.execute(f"DROP USER '{user}'@'%'")


def test_dynamic_sql_naming_the_source_is_warned_about(admin: Client, fresh_name: MakeName) -> None:
    src, copy = fresh_name("src"), fresh_name("copy")
    admin.execute(f"CREATE DATABASE {src}")
    admin.execute(f"CREATE TABLE {src}.log (what VARCHAR(60))")
    admin.execute(
        f"CREATE PROCEDURE {src}.dyn() BEGIN "
        f"PREPARE s FROM 'INSERT INTO {src}.log VALUES (1)'; EXECUTE s; END"
    )
    with pytest.warns(CloneWarning, match=f"procedure dyn names database {src} inside a string"):
        admin.clone.clone_database(copy, src)


def test_a_failed_object_leaves_no_clone(admin: Client, fresh_name: MakeName) -> None:
    src, copy = fresh_name("src"), fresh_name("copy")
    admin.execute(f"CREATE DATABASE {src}")
    admin.execute(f"CREATE TABLE {src}.t (id INT PRIMARY KEY)")
    admin.execute(f"CREATE VIEW {src}.v AS SELECT id FROM {src}.t")
    admin.execute(f"DROP TABLE {src}.t")
    with pytest.raises(Exception, match="view v: the server said"):
        admin.clone.clone_database(copy, src)
    with pytest.raises(QueryError):
        admin.execute(f"SELECT 1 FROM {copy}.v")


SEQUENCE_GOLDEN = """
def pytest_moclone_setup_golden(client):
    client.execute("CREATE TABLE t (id INT PRIMARY KEY)")
    client.execute("CREATE SEQUENCE seq NOCACHE")
    client.execute("CREATE TABLE vt (id INT PRIMARY KEY, x INT) WITH SYSTEM VERSIONING")
    client.execute("INSERT INTO vt VALUES (1, 1)")
    client.execute("SELECT nextval(seq), nextval(seq)")
"""

SEQUENCE_TESTS = """
import pytest

@pytest.mark.parametrize("n", range(3))
def test_the_sequence_and_history_are_the_goldens(mo_clone_db, n):
    assert mo_clone_db.execute("SELECT nextval(seq)") == [(3,)]
    assert mo_clone_db.execute("SELECT COUNT(*) FROM vt FOR SYSTEM_TIME ALL") == [(1,)]
    mo_clone_db.execute("UPDATE vt SET x = x + 1")
"""


def test_a_recycled_database_never_keeps_a_moved_sequence_or_new_history(
    inner: Inner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Change signals see no sequence or history writes: such a database is made afresh."""
    monkeypatch.delenv("MOCLONE_URL")  # the signals need a private server of the run's own
    monkeypatch.setenv("MOCLONE_SERVER", "mariadb")
    inner.pytester.makeconftest(SEQUENCE_GOLDEN)
    inner.pytester.makepyfile(test_seq=SEQUENCE_TESTS)
    inner.run("-p", "no:randomly", "--mo-pool", "1").assert_outcomes(passed=3)

"""What a user sees when the server dies mid-run, or when they press Ctrl-C.

One line per test that met the dead server (not PyMySQL's traceback), no second error at its
teardown, nothing about --mo-url for a private server they never configured; Ctrl-C drops the
interrupted test's database before the server is stopped, and exits with pytest's code 2.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Inner, needs_mariadb_binaries

KILLS_THROUGH_THE_CLIENT = """
import os, signal, time

def test_kills_the_server(mo_clone_db, mo_server):
    os.kill(mo_server.pid, signal.SIGKILL)
    time.sleep(0.5)
    mo_clone_db.execute("SELECT COUNT(*) FROM users")

def test_would_need_the_server(mo_clone_db):
    pass
"""

KILLS_THROUGH_PYMYSQL = """
import os, signal, time
from urllib.parse import urlsplit
import pymysql

def test_kills_the_server(mo_clone_url, mo_server):
    url = urlsplit(mo_clone_url)
    conn = pymysql.connect(host=url.hostname, port=url.port, user=url.username,
                           database=url.path.strip("/"))
    os.kill(mo_server.pid, signal.SIGKILL)
    time.sleep(0.5)
    conn.cursor().execute("SELECT COUNT(*) FROM users")

def test_would_need_the_server(mo_clone_db):
    pass
"""

KILLS_THROUGH_SQLALCHEMY = """
import os, signal, time
from sqlalchemy import text

def test_kills_the_server(mo_engine, mo_server):
    with mo_engine.connect() as conn:
        os.kill(mo_server.pid, signal.SIGKILL)
        time.sleep(0.5)
        conn.execute(text("SELECT COUNT(*) FROM users"))

def test_would_need_the_server(mo_clone_db):
    pass
"""

INTERRUPTED = """
import os, signal, time

def test_first(mo_clone_db):
    pass

def test_interrupted(mo_clone_db):
    mo_clone_db.execute("INSERT INTO users VALUES (3, 'linus')")
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(5)

def test_never_run(mo_clone_db):
    pass
"""


def private_run(inner: Inner, monkeypatch: pytest.MonkeyPatch, *args: str) -> pytest.RunResult:
    monkeypatch.delenv("MOCLONE_URL")
    return inner.pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:randomly", "--mo-server=mariadb", *args, timeout=180
    )


def records_left(inner: Inner) -> list[str]:
    """The ownership records still in the inner run's cache folder (one line per object)."""
    folder = Path(inner.pytester.path / ".moclone-cache" / "records")
    return [line for path in folder.glob("*.jsonl") for line in path.read_text().splitlines()]


@needs_mariadb_binaries
@pytest.mark.parametrize(
    "tests",
    [KILLS_THROUGH_THE_CLIENT, KILLS_THROUGH_PYMYSQL, KILLS_THROUGH_SQLALCHEMY],
    ids=["client", "pymysql", "sqlalchemy"],
)
def test_a_killed_private_server_is_one_line_for_the_test_that_met_it(
    inner: Inner, monkeypatch: pytest.MonkeyPatch, tests: str
) -> None:
    inner.pytester.makepyfile(test_killer=tests)
    result = private_run(inner, monkeypatch, "--mo-pool=0")
    out = result.stdout.str() + result.stderr.str()
    result.assert_outcomes(failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "moclone: the database server went away: the private MariaDB server the run started "
            "(pid *) is no longer running: *",
            "*is no longer running: it stopped during the run; its databases went with its data "
            "folder",
            "! moclone: the database server went away*",  # the run stops, like -x
        ]
    )
    assert "Traceback" not in out and "pymysql/connections.py" not in out, out
    assert "sqlalchemy/" not in out, out
    assert "ERROR at teardown" not in out and "could not clean up" not in out, out
    assert "--mo-url" not in out and "MOCLONE_URL" not in out, out
    assert len(result.stdout.lines) < 30, out
    assert records_left(inner) == []


@needs_mariadb_binaries
@pytest.mark.parametrize("pool", ["0", "2"])
def test_ctrl_c_drops_the_test_database_before_the_private_server_stops(
    inner: Inner, monkeypatch: pytest.MonkeyPatch, pool: str
) -> None:
    inner.pytester.makepyfile(test_interrupted=INTERRUPTED)
    result = private_run(inner, monkeypatch, f"--mo-pool={pool}")
    out = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.INTERRUPTED, out
    assert "Traceback" not in out and "could not clean up" not in out, out
    result.stdout.fnmatch_lines(["*KeyboardInterrupt*", "*1 passed*"])
    assert "test_never_run" not in out
    assert records_left(inner) == []  # every database the run made was dropped, and forgotten


def test_ctrl_c_on_a_url_server_leaves_nothing_on_it(inner: Inner) -> None:
    inner.pytester.makepyfile(test_interrupted=INTERRUPTED)
    result = inner.run("-p", "no:randomly")
    out = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.INTERRUPTED, out
    assert "Traceback" not in out, out
    assert inner.leftovers() == []


@needs_mariadb_binaries
@pytest.mark.parametrize("pool", ["0", "2"])
def test_tests_in_flight_fail_clearly_and_the_run_stops(
    inner: Inner, monkeypatch: pytest.MonkeyPatch, pool: str
) -> None:
    tests = KILLS_THROUGH_THE_CLIENT + "\ndef test_would_need_it_too(mo_clone_db):\n    pass\n"
    inner.pytester.makepyfile(test_killer=tests)
    result = private_run(inner, monkeypatch, f"--mo-pool={pool}")
    out = result.stdout.str()
    result.stdout.fnmatch_lines(["*lost the connection to MariaDB * (did the server stop?)*"])
    assert "the database server went away" in out
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 1, out
    assert outcomes.get("passed", 0) == 0, out
    assert "test_would_need_it_too PASSED" not in out

"""A private server that dies mid-run: clear failures, a stopped run, no hang."""

from __future__ import annotations

import shutil

import pytest
from conftest import Inner

KILLER = """
import os, signal, time

def test_kills_the_server(mo_clone_db, mo_server):
    os.kill(mo_server.pid, signal.SIGKILL)
    time.sleep(0.5)
    mo_clone_db.execute("SELECT COUNT(*) FROM users")

def test_would_need_the_server(mo_clone_db):
    pass

def test_would_need_it_too(mo_clone_db):
    pass
"""


@pytest.mark.skipif(
    not (shutil.which("mariadbd") or shutil.which("mariadbd", path="/usr/sbin")),
    reason="needs MariaDB's binaries (apt-get install mariadb-server) for a private server",
)
@pytest.mark.parametrize("pool", ["0", "2"])
def test_tests_in_flight_fail_clearly_and_the_run_stops(
    inner: Inner, monkeypatch: pytest.MonkeyPatch, pool: str
) -> None:
    monkeypatch.delenv("MOCLONE_URL")
    inner.pytester.makepyfile(test_killer=KILLER)
    result = inner.pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        "--mo-server=mariadb",
        f"--mo-pool={pool}",
        timeout=180,
    )
    out = result.stdout.str()
    result.stdout.fnmatch_lines(["*lost the connection to MariaDB * (did the server stop?)*"])
    assert "the database server went away" in out
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 1, out
    assert outcomes.get("passed", 0) == 0, out
    assert "test_would_need_it_too PASSED" not in out

"""A server that freezes (SIGSTOP) mid-run: one clear message within a bounded time, no hang."""

from __future__ import annotations

import shutil
import time

import pytest
from conftest import Inner

FREEZER = """
import os, signal

def test_freezes_the_server(mo_clone_db, mo_server):
    os.kill(mo_server.pid, signal.SIGSTOP)
    mo_clone_db.execute("SELECT COUNT(*) FROM users")

def test_would_need_the_server(mo_clone_db):
    pass
"""


@pytest.mark.skipif(
    not (shutil.which("mariadbd") or shutil.which("mariadbd", path="/usr/sbin")),
    reason="needs MariaDB's binaries (apt-get install mariadb-server) for a private server",
)
def test_a_frozen_server_fails_the_run_clearly_within_the_timeout(
    inner: Inner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MOCLONE_URL")  # a private MariaDB of its own, to freeze
    inner.pytester.makepyfile(test_freezer=FREEZER)
    started = time.monotonic()
    result = inner.pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:randomly", "--mo-server=mariadb", "--mo-timeout=3",
        timeout=120,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    out = result.stdout.str() + result.stderr.str()
    assert elapsed < 60, f"took {elapsed:.0f} s"
    result.assert_outcomes(failed=1, errors=1)  # its teardown too; the second never ran
    assert "did not answer within 3 s (is the server frozen or overloaded?)" in out, out
    assert "INTERNALERROR" not in out and "Traceback" not in out

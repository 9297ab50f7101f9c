"""A server that freezes (SIGSTOP) mid-run: one clear message within a bounded time, no hang."""

from __future__ import annotations

import contextlib
import os
import signal
import time

import pytest
from conftest import Inner, needs_mariadb_binaries

FREEZER = """
import os, signal, time

def test_freezes_the_server(mo_clone_db, mo_server):
    with open("frozen_at", "w") as out:
        out.write(f"{time.time()!r} {mo_server.pid}")
    os.kill(mo_server.pid, signal.SIGSTOP)
    while open(f"/proc/{mo_server.pid}/stat").read().split(")")[-1].split()[0] != "T":
        time.sleep(0.01)  # stopped for sure: else the query may still be answered
    mo_clone_db.execute("SELECT COUNT(*) FROM users")

def test_would_need_the_server(mo_clone_db):
    pass
"""


@needs_mariadb_binaries
def test_a_frozen_server_fails_the_run_clearly_within_the_timeout(
    inner: Inner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MOCLONE_URL")  # a private MariaDB of its own, to freeze
    inner.pytester.makepyfile(test_freezer=FREEZER)
    frozen = inner.pytester.path / "frozen_at"
    try:
        result = inner.pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "-p", "no:randomly", "--mo-server=mariadb",
            "--mo-timeout=3", "-o", "faulthandler_timeout=100", timeout=300,
        )  # fmt: skip
    finally:  # never leave the frozen server behind, whatever happened
        if frozen.exists():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(frozen.read_text().split()[1]), signal.SIGKILL)
    ended = time.time()
    out = result.stdout.str() + result.stderr.str()
    frozen_at = float(frozen.read_text().split()[0])
    # from the freeze to the run's end (the server's start under load is not what is bounded)
    assert ended - frozen_at < 60, f"took {ended - frozen_at:.0f} s after the freeze:\n{out}"
    result.assert_outcomes(failed=1)  # one line, no second error at teardown; the next never ran
    assert "did not answer within 3 s (is the server frozen or overloaded?)" in out, out
    assert "INTERNALERROR" not in out and "Traceback" not in out

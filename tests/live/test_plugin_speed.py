"""The pool and golden reuse, through the real plugin (and the pool's scheduling on its own)."""

from __future__ import annotations

import os
import shutil
import time

import pytest
from conftest import Inner

from pytest_moclone import Client

TESTS = """
import pytest

@pytest.mark.parametrize("n", range(5))
def test_isolated(mo_clone_db, n):
    assert mo_clone_db.execute("SELECT COUNT(*) FROM users") == [(2,)]
    mo_clone_db.execute("DELETE FROM users")
"""


@pytest.mark.parametrize("pool", ["0", "1", "3"])
def test_isolation_and_cleanup_hold_with_any_pool_size(inner: Inner, pool: str) -> None:
    inner.pytester.makepyfile(test_pool=TESTS)
    result = inner.run(f"--mo-pool={pool}")
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["tests waited for their database: median * ms, slowest * ms"])
    assert inner.leftovers() == []


def test_a_background_failure_surfaces_in_the_test_that_needed_the_clone(inner: Inner) -> None:
    inner.pytester.makepyfile(
        test_break="""
        import pytest

        def test_break_the_golden(mo_clone_db, mo_client, mo_golden):
            mo_client.snapshots.drop(mo_golden.snapshot)
            mo_client.execute(f"DROP DATABASE {mo_golden.database}")

        @pytest.mark.parametrize("n", range(4))
        def test_later(mo_clone_db, n):
            pass
        """
    )
    result = inner.run("--mo-pool=1", "-p", "no:randomly")
    outcomes = result.parseoutcomes()
    assert outcomes.get("errors", 0) >= 1, result.stdout.str()
    result.stdout.fnmatch_lines(["*moclone: cannot clone database*"])
    assert inner.leftovers() == []


def _reuse_run(inner: Inner, *args: str) -> pytest.RunResult:
    inner.pytester.makepyfile(test_users="def test_a(mo_clone_db):\n    pass\n")
    result = inner.run("--mo-reuse", *args)
    result.assert_outcomes(passed=1)
    return result


def test_reuse_keeps_the_golden_for_the_next_run(inner: Inner) -> None:
    _reuse_run(inner)
    assert inner.golden_builds() == 1
    kept = inner.leftovers()
    assert any("_golden_" in n for n in kept) and any("_snap_" in n for n in kept), kept
    _reuse_run(inner)
    assert inner.golden_builds() == 1  # found, not built
    assert inner.leftovers() == kept


def test_a_changed_golden_is_rebuilt_and_the_old_one_kept_for_a_day(inner: Inner) -> None:
    """The old golden may be another branch's that comes back: it goes only once unused for
    a day (plugin/goldens.py, unit-tested in tests/unit/test_stale_goldens.py)."""
    _reuse_run(inner)
    first = inner.leftovers()
    inner.pytester.makeconftest(
        inner.pytester.path.joinpath("conftest.py").read_text() + "\n# changed\n"
    )
    _reuse_run(inner)
    assert inner.golden_builds() == 2
    second = inner.leftovers()
    assert set(first) < set(second), (first, second)


def test_rebuild_forces_a_build(inner: Inner) -> None:
    _reuse_run(inner)
    _reuse_run(inner, "--mo-rebuild")
    assert inner.golden_builds() == 2


def test_reuse_under_xdist_builds_once(inner: Inner, admin: Client) -> None:
    inner.pytester.makepyfile(
        test_many="""
        import pytest
        @pytest.mark.parametrize("n", range(4))
        def test_a(mo_clone_db, n):
            pass
        """
    )
    inner.run("--mo-reuse", "-n", "2").assert_outcomes(passed=4)
    inner.run("--mo-reuse", "-n", "2").assert_outcomes(passed=4)
    assert inner.golden_builds() == 1


def _private_server_args(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Run the inner suite on a private server of the same kind as the outer pass's."""
    monkeypatch.delenv("MOCLONE_URL")
    binary = os.environ.get("MOCLONE_MO_BINARY")
    if binary:
        monkeypatch.setenv("MOCLONE_MO_BINARY", binary)
        return ["--mo-server=matrixone"]
    if not (shutil.which("mariadbd") or shutil.which("mariadbd", path="/usr/sbin")):
        pytest.skip("needs MariaDB's binaries (apt-get install mariadb-server)")
    return ["--mo-server=mariadb"]


def test_reuse_keeps_a_private_servers_data_and_golden(
    inner: Inner, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = _private_server_args(monkeypatch)
    inner.pytester.makepyfile(
        test_users="def test_a(mo_clone_db):\n    assert mo_clone_db.execute('SELECT 1')\n"
    )
    first = inner.run("--mo-reuse", *args)
    first.assert_outcomes(passed=1)
    second = inner.run("--mo-reuse", *args)
    second.assert_outcomes(passed=1)
    assert inner.golden_builds() == 1  # the restarted server still had it
    second.stdout.fnmatch_lines(["server: private * data kept in *, started in * s"])
    kept = list((inner.pytester.path / ".moclone-cache" / "data").iterdir())
    assert [p for p in kept if p.is_dir()], kept


def test_clones_slower_than_the_tests_do_not_pile_up_undropped() -> None:
    # The pool only schedules: its make and drop are plain callables here, so that the clone can
    # be made slower than the test, as a 1 M-row golden's is.
    from pytest_moclone.pool import ClonePool
    from pytest_moclone.recycle import FRESH, Ready

    alive: set[str] = set()
    most = 0
    counter = iter(range(1000))

    def make(_client: object) -> Ready:
        nonlocal most
        time.sleep(0.02)  # slower than the 'test' below
        name = f"c{next(counter)}"
        alive.add(name)
        most = max(most, len(alive))
        return Ready(name, FRESH, 0.02)

    pool = ClonePool(
        size=2,
        connect=lambda: _Closable(),  # type: ignore[arg-type,return-value]
        make=make,
        drop=lambda _client, name: alive.discard(name),
    )
    pool.start()
    try:
        for _ in range(40):
            ready = pool.take()
            time.sleep(0.002)
            pool.give_back(ready)  # no recycle: each is dropped
    finally:
        pool.close()
    assert alive == set()
    assert most <= 2 * pool.size + 2  # ready + being made + the drop backlog it tolerates


class _Closable:
    def close(self) -> None:
        pass
